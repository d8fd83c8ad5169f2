"""The repro script for one record: a standalone Python program that needs only the record's
framework and NumPy (ml_dtypes for bfloat16) and prints the record's figures for this run next to
the recorded ones.

It holds, in this order:

- the record's exact inputs, params and cotangent, inline (float64 literals that round-trip, cast
  to the test dtype);
- the built-in adapter's own code, copied verbatim from its repro section (the VJP step
  ``framework_vjp``, its conversions and device lookup, the ``STRICT_PRECISION`` flags and
  ``set_precision_flags``), and the op's mapping as the adapter calls it (copier.py);
- ``reproduce()``: the strict flags where the record's precision is strict, then ``framework_vjp``
  of the op on the record's inputs (templates.py);
- the oracle's gradient, rounding magnitude and budget, computed now with the NumPy reference and
  inlined, and the suite's own ``compare``/``verdict`` (copied from conformance/compare.py), so the
  script prints the record's figures (max_abs_err, max_rel_err, max_ulp, bound_ratio) from the
  same code;
- the driver (templates.py).

A framework from a third-party adapter gets a script that loads that adapter (and so needs
vjp-conformance and the adapter's package). Nothing here imports a framework.
"""

from __future__ import annotations

import argparse
import math
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import numpy as np

from conformance import __version__
from conformance.adapters import BUILTIN, ENTRY_POINT_GROUP
from conformance.case import Case
from conformance.dtypes import get_dtype
from conformance.modes import default_mode
from conformance.records import decode_array
from conformance.registry import get_op
from conformance.repro.copier import OPS_PACKAGES, adapter_section, comparison_source, mapping_source
from conformance.repro.find import ReproError, find_record, manifest_for
from conformance.repro.templates import BEFORE_IMPORTS, BUILTIN_REPRODUCE, MAIN, PLUGIN, RESERVED
from conformance.tolerances import Tolerances


# -- array literals --------------------------------------------------------------------------------
def _float_literal(x: float) -> str:
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return repr(x)


def _wrap(items: list[str], indent: str = "    ", width: int = 110) -> str:
    lines, cur = [], ""
    for it in items:
        if cur and len(cur) + len(it) + 2 > width:
            lines.append(cur + ",")
            cur = ""
        cur = f"{cur}, {it}" if cur else it
    lines.append(cur)
    return ("\n" + indent).join(lines)


def array_literal(a: np.ndarray, cast: str = "", indent: str = "    ") -> str:
    """``np.array([...]).astype(...).reshape(...)``: exact values as Python literals."""
    a = np.asarray(a)
    flat = a.reshape(-1)
    if a.dtype.kind == "b":
        items, base, cast = [str(bool(v)) for v in flat], "bool_", ""
    elif a.dtype.kind in "iu":
        items, base, cast = [str(int(v)) for v in flat], a.dtype.name, ""
    else:
        items, base = [_float_literal(float(v)) for v in flat.astype(np.float64)], "float64"
    body = _wrap(items, indent + "    ")
    return f"np.array([\n{indent}    {body}\n{indent}], dtype=np.{base}){cast}.reshape({tuple(a.shape)!r})"


# -- the script ------------------------------------------------------------------------------------
def _adapter_ref(framework: str, manifest: dict[str, Any] | None) -> str | None:
    """Where a third-party adapter came from (``package.module:attr``), from the run's manifest."""
    source = str((((manifest or {}).get("environment") or {}).get("frameworks") or {}).get(framework, {})
                 .get("source", ""))
    if source.startswith("--adapter "):
        return source[len("--adapter "):]
    if source.startswith("entry point "):
        name = source[len("entry point "):]
        return next((ep.value for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name), None)
    return None


def is_builtin(framework: str, manifest: dict[str, Any] | None) -> bool:
    fws = ((manifest or {}).get("environment") or {}).get("frameworks") or {}
    if framework in fws:
        return fws[framework].get("source") == "builtin" and framework in OPS_PACKAGES
    return framework in OPS_PACKAGES and framework in BUILTIN


def _shaped(a: np.ndarray, shape: list[int] | None) -> np.ndarray:
    """The array in the record's own shape: encoding once stored 0-d arrays as shape (1,)."""
    if shape is not None and a.size == int(np.prod(shape, dtype=np.int64)):
        return a.reshape(shape)
    return a


def _namespace(fields: dict[str, str], indent: str = "") -> str:
    body = "".join(f"\n{indent}    {k}={v}," for k, v in fields.items())
    return f"SimpleNamespace({body}\n{indent})"


def build_script(rec: dict[str, Any], manifest: dict[str, Any] | None = None) -> str:
    """The standalone script for ``rec`` (see the module's docstring)."""
    rid = rec.get("record_id", "?")
    if rec.get("status") == "unsupported":
        raise ReproError(f"record {rid} is 'unsupported' ({rec.get('message')}): nothing ran, nothing to reproduce")
    repro = rec.get("repro")
    if not repro:
        raise ReproError(f"record {rid} carries no inputs: passing examples keep them only when small; "
                         f"rerun its target with --seed {rec.get('seed')} to get them")
    try:
        spec = get_op(str(rec.get("op")))
    except ValueError as e:
        raise ReproError(f"record {rid}: {e} (the record comes from another catalogue)") from None
    framework, dtype = str(rec["framework"]), get_dtype(str(rec["dtype"]))
    precision = str(rec.get("precision") or "default")
    mode = str(rec.get("mode") or default_mode(framework))
    shapes = rec.get("shapes") or {}
    params = rec.get("params") or {}
    try:
        inputs = {i.name: _shaped(decode_array(repro["inputs"][i.name]), shapes.get(i.name)) for i in spec.inputs}
        cotangent = _shaped(decode_array(repro["cotangent"]), rec.get("cotangent_shape"))
        case = Case(spec.name, dtype.name, inputs, params, cotangent)
        with np.errstate(all="ignore"):  # special values: the oracle evaluates them with IEEE semantics
            ref = spec.reference_vjp(**case.oracle_inputs(), dz=cotangent.astype(np.float64), **params)
    except Exception as e:  # a record this catalogue's oracle cannot take (the op changed since the run)
        raise ReproError(f"record {rid}: the oracle cannot evaluate its inputs ({type(e).__name__}: {e}); "
                         "was it made with another version of the catalogue?") from None
    budget = Tolerances.load().budget(spec.name, framework, rec["device"], dtype.name, precision)
    per_input = rec.get("per_input") or {}

    cmp_imports, cmp_code, cmp_names = comparison_source(RESERVED)
    if is_builtin(framework, manifest):
        section = adapter_section(framework)
        clash = sorted(section.names & (RESERVED | cmp_names))
        if clash:
            raise ReproError(f"{section.where}: its repro section redefines {', '.join(clash)}, which the script "
                             "defines itself")
        prelude, imports, template = BEFORE_IMPORTS.get(framework, []), section.imports, BUILTIN_REPRODUCE
        map_imports, op_code = mapping_source(framework, spec.name, cmp_names | RESERVED | section.names)
        steps = (f"# The vjp-conformance {framework} adapter's own code, copied verbatim from its repro section\n"
                 f"# ({section.where}): the VJP step, what it uses, the strict-precision flags.\n\n"
                 f"{section.code}\n")
        needs = f"{framework} and NumPy" + (" (and ml_dtypes for bfloat16)" if dtype.name == "bfloat16" else "")
    else:
        prelude, imports, template, map_imports, steps = [], (), PLUGIN, (), ""
        op_code = (f"# {framework!r} comes from a third-party adapter: the script calls it as the suite did.\n"
                   f"ADAPTER = {_adapter_ref(framework, manifest)!r}\n")
        needs = f"vjp-conformance and the package of the third-party adapter that provides {framework!r}"
    wanted = ["from types import SimpleNamespace", "import numpy as np", *imports, *map_imports, *cmp_imports]
    wanted += ["import ml_dtypes"] if dtype.name == "bfloat16" else []
    wanted = [s for s in dict.fromkeys(wanted) if s not in prelude]
    stdlib = sorted(s for s in wanted if s.split()[1].split(".")[0] in sys.stdlib_module_names)
    lines = ["from __future__ import annotations", "", *prelude, *([""] if prelude else []), *stdlib, "",
             *sorted(s for s in wanted if s not in stdlib)]
    dtype_expr = "ml_dtypes.bfloat16" if dtype.name == "bfloat16" else f"np.{dtype.name}"
    out = [
        "#!/usr/bin/env python3",
        f'"""Reproduce vjp-conformance record {rid}.',
        "",
        f"{spec.name} on {framework} {rec.get('framework_version', '')}, device {rec['device']}, dtype {dtype.name}, "
        f"precision {precision}, mode {mode}: recorded status {rec.get('status')}.",
        f"VJP the oracle uses: {spec.formula}",
        "",
        f"Needs only {needs}. Inputs, params and cotangent are the record's exact values; the oracle's",
        "gradient and rounding magnitude were computed by vjp-conformance's NumPy reference (float64) and are",
        f"inlined below. Generated by vjp-conformance {__version__}.",
        '"""',
        "",
        *lines,
        "",
        'inf, nan = float("inf"), float("nan")',
        f"FRAMEWORK = {framework!r}",
        f"OP = {spec.name!r}",
        f"DTYPE_NAME = {dtype.name!r}",
        f"DTYPE = {dtype_expr}",
        f"DEVICE = {str(rec['device'])!r}",
        f"PRECISION = {precision!r}",
        f"MODE = {mode!r}",
        # the memory layout the framework got the inputs in (conformance/layouts.py; contiguous: no argument)
        f"LAYOUT_ARGS = {({'layout': rec['layout']} if rec.get('layout', 'contiguous') != 'contiguous' else {})!r}",
    ]
    if rec.get("message"):
        out += ["", "# recorded message:", *(f"#   {m}" for m in str(rec["message"]).splitlines()[:20])]
    out += ["", "INPUTS = {"]
    out += [f"    {k!r}: {array_literal(v, '.astype(DTYPE)', '    ')}," for k, v in inputs.items()]
    out += ["}", f"PARAMS = {params!r}", f"COTANGENT = {array_literal(cotangent, '.astype(DTYPE)', '')}",
            f"DIFFERENTIABLE = {list(spec.differentiable)!r}", "", "", *([steps, ""] if steps else []),
            op_code.rstrip("\n"), "", "",
            template.strip("\n"), "", "", "# The oracle's numbers for these inputs (NumPy reference, float64).",
            "DTYPE_INFO = " + _namespace({
                "name": "DTYPE_NAME", "numpy": "np.dtype(DTYPE)", "mantissa_bits": repr(dtype.mantissa_bits),
                "unit_roundoff": repr(dtype.unit_roundoff), "smallest_normal": repr(dtype.smallest_normal),
                "max": repr(dtype.max), "rtol": repr(dtype.rtol), "atol": repr(dtype.atol)}),
            "ORACLE = {"]
    budgets = {}
    for name, g in ref.items():
        b = (per_input.get(name) or {}).get("budget")
        budgets[name] = float(b) if b is not None else budget.for_terms(g.terms)
        tiny = array_literal(np.asarray(g.tiny), "", "        ") if np.ndim(g.tiny) else repr(float(g.tiny))
        out.append(f"    {name!r}: " + _namespace({
            "value": array_literal(g.value, "", "        "), "magnitude": array_literal(g.magnitude, "", "        "),
            "terms": repr(int(g.terms)), "tiny": tiny}, "    ") + ",")
    figures = {k: rec.get(k) for k in ("max_abs_err", "max_rel_err", "max_ulp", "bound_ratio", "budget", "status")}
    if rec.get("status") == "known" and rec.get("expected_status"):
        figures["status"] = f"known ({rec['expected_status']}, expectation {(rec.get('expectation') or {}).get('id')})"
    message = str(rec.get("message") or "").splitlines()[0][:300] if rec.get("message") else ""
    out += ["}", f"BUDGETS = {budgets!r}", f"RECORDED = {figures!r}", f"RECORDED_MESSAGE = {message!r}", "", "",
            cmp_code.rstrip("\n"), "", "",
            MAIN.strip("\n"), ""]
    return "\n".join(out)


def main(args: argparse.Namespace) -> int:
    rec, base = find_record(args.record, run_dir=args.run_dir, out=args.out, index=args.index)
    text = build_script(rec, manifest_for(rec, base))
    if getattr(args, "output", None):
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    else:
        print(text, end="")
    return 0
