"""``vjp-conformance repro``: a standalone Python script that reproduces one record.

The script needs only the record's framework and NumPy (ml_dtypes for bfloat16):

- the record's exact inputs, params and cotangent, inline (float64 literals that round-trip,
  cast to the test dtype);
- the op's call exactly as the built-in adapter maps it: the mapping function and the helpers it
  uses are copied from the adapter's source (``conformance/adapters/<fw>_ops``), read as text,
  never imported; where that cannot be done the script imports the mapping and says so;
- the framework's VJP in the adapter's own steps (``torch.autograd.grad``,
  ``tf.GradientTape().gradient(output_gradients=)``, ``jax.jit`` of ``jax.vjp``): one small template
  per built-in framework (conformance/report/repro_templates.py), which must follow its adapter's
  ``vjp`` (tests/test_repro.py runs the scripts and requires the adapter's figures exactly);
- the oracle's gradient, rounding magnitude and budget, computed now with the NumPy reference and
  inlined, and the suite's own ``compare``/``verdict`` (copied from conformance/compare.py), so the
  script prints the record's figures (max_abs_err, max_rel_err, max_ulp, bound_ratio) from the
  same code, next to the recorded ones.

A framework from a third-party adapter gets a script that loads that adapter (and so needs
vjp-conformance and the adapter's package). Nothing here imports a framework.
"""

from __future__ import annotations

import argparse
import ast
import copy
import functools
import json
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
from conformance.records import check_schema, decode_array, open_text, recall_run, record_files
from conformance.registry import get_op
from conformance.report.repro_templates import FRAMEWORKS, MAIN, PLUGIN
from conformance.tolerances import Tolerances

ROOT = Path(__file__).resolve().parent.parent
OPS_PACKAGES = {"torch": "conformance.adapters.torch_ops", "tensorflow": "conformance.adapters.tf_ops",
                "jax": "conformance.adapters.jax_ops"}
LOCAL_PACKAGES = ("conformance", "reference")
DROPPED_DECORATORS = ("impl",)
# names the script itself defines: a copied mapping must not redefine them
RESERVED = {"np", "inf", "nan", "SimpleNamespace", "FRAMEWORK", "OP", "DTYPE", "DTYPE_NAME", "DTYPE_INFO", "DEVICE",
            "PRECISION", "INPUTS", "PARAMS", "COTANGENT", "DIFFERENTIABLE", "ORACLE", "BUDGETS", "RECORDED",
            "RECORDED_MESSAGE", "op", "framework_vjp", "check_output", "report", "ADAPTER", "TF_DEVICE"}


class ReproError(Exception):
    """The record cannot be found or reproduced; the message says why."""


# -- finding the record ----------------------------------------------------------------------------
def _scan(files: list[Path], record_id: str) -> dict[str, Any] | None:
    for f in files:
        with open_text(f) as fh:
            for line in fh:
                if record_id in line:
                    try:
                        rec = json.loads(line)
                    except ValueError:
                        continue
                    if rec.get("record_id") == record_id:
                        check_schema(rec, f"{f}")
                        return rec
    return None


def find_record(ref: str, *, run_dir: str | None = None, out: str = "reports",
                index: int | None = None) -> tuple[dict[str, Any], Path]:
    """The record and the directory it was read from: a record id searched under ``run_dir`` or
    every run under ``out`` (its own run first), or line ``index`` (0-based) of a results file."""
    path = Path(ref)
    if index is not None or path.is_file():
        if not path.is_file():
            raise ReproError(f"{ref}: no such results file")
        if index is None:
            raise ReproError(f"{ref} is a results file: say which record with --index N (0-based line number)")
        with open_text(path) as fh:
            for n, line in enumerate(fh):
                if n == index:
                    rec = json.loads(line)
                    check_schema(rec, f"{path}:{n}")
                    return rec, path.parent
        raise ReproError(f"{path} has no line {index} (0-based)")
    if ref.count("/") != 2:
        raise ReproError(f"{ref!r} is neither a record id (run-id/worker/n) nor a results file")
    run_id = ref.split("/")[0]
    if run_dir:
        dirs = [Path(run_dir)]
    else:
        base = Path(out)
        own = base / run_id
        dirs = [own] + (sorted(d for d in base.iterdir() if d.is_dir() and d != own) if base.is_dir() else [])
        remembered = recall_run(run_id)  # the run wherever it was written, from any folder
        if remembered is not None and remembered.resolve() not in {d.resolve() for d in dirs if d.exists()}:
            dirs.insert(0, remembered)
    for d in dirs:
        if d.is_dir():
            rec = _scan(record_files(d), ref)
            if rec is not None:
                return rec, d
    looked = ", ".join(str(d) for d in dirs if d.is_dir()) or f"{out} (no such folder)"
    raise ReproError(f"record {ref} not found (looked in {looked}); pass --run-dir with the folder that holds "
                     f"run {run_id}'s run.json, or --out with the folder it was written under")


def manifest_for(rec: dict[str, Any], base: Path, known: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """run.json of the record's run: ``known`` when it is that run's, else ``base/run.json`` or, in a
    merged directory, ``base/runs/<run-id>/run.json``."""
    run_id = rec.get("run_id")
    if known and known.get("run_id") == run_id:
        return known
    for p in (Path(base) / "run.json", Path(base) / "runs" / str(run_id) / "run.json"):
        if p.exists():
            m = json.loads(p.read_text(encoding="utf-8"))
            if m.get("run_id") == run_id:
                return m
    return None


# -- the adapter's mapping, copied from its source --------------------------------------------------
class _Unresolvable(Exception):
    pass


@functools.cache
def _module(name: str) -> tuple[str, dict[str, ast.stmt], dict[str, tuple[str, str | None, str]]] | None:
    """Source text, top-level definitions and imports (local name -> module, attr, statement)."""
    base = ROOT.joinpath(*name.split("."))
    path = base.with_suffix(".py") if base.with_suffix(".py").exists() else base / "__init__.py"
    if not path.exists():
        return None
    text = path.read_text(encoding="utf-8")
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    defs: dict[str, ast.stmt] = {}
    imports: dict[str, tuple[str, str | None, str]] = {}
    for node in ast.parse(text).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            defs[node.name] = node
        elif isinstance(node, ast.Assign):
            defs.update({t.id: node for t in node.targets if isinstance(t, ast.Name)})
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            defs[node.target.id] = node
        elif isinstance(node, ast.Import):
            for a in node.names:
                local = a.asname or a.name.split(".")[0]
                imports[local] = (a.name, None, f"import {a.name}" + (f" as {a.asname}" if a.asname else ""))
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            mod = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(up + ([mod] if mod else []))
            for a in node.names:
                imports[a.asname or a.name] = (mod, a.name, f"from {mod} import {a.name}"
                                               + (f" as {a.asname}" if a.asname else ""))
    return text, defs, imports


def _dropped(node: ast.stmt) -> bool:
    """The adapter's ``@impl(...)`` decorators are left out (the copy is the plain function)."""
    decorators = getattr(node, "decorator_list", [])
    return bool(decorators) and all(
        isinstance(d, ast.Call) and isinstance(d.func, ast.Name) and d.func.id in DROPPED_DECORATORS
        for d in decorators)


def _source(text: str, node: ast.stmt) -> str:
    """A definition's source. Functions lose their signature's annotations (the names they use are
    not copied) and the adapter's @impl; classes (dataclasses need theirs) are copied as written."""
    lines = text.splitlines()
    if not isinstance(node, ast.FunctionDef):
        start = node.decorator_list[0].lineno if getattr(node, "decorator_list", None) else node.lineno
        return "\n".join(lines[start - 1:node.end_lineno])
    if node.body[0].lineno == node.lineno:  # a one-line function: keep it whole
        return str(ast.get_source_segment(text, node))
    args = copy.deepcopy(node.args)
    for a in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
        if a is not None:
            a.annotation = None
    sig = ast.FunctionDef(name=node.name, args=args, body=[ast.Pass()], returns=None, type_params=[],
                          decorator_list=[] if _dropped(node) else node.decorator_list, lineno=1, col_offset=0)
    header = ast.unparse(sig).rsplit("\n", 1)[0]
    first = min([node.body[0].lineno] + [n.lineno for n in ast.walk(node.body[0]) if hasattr(n, "lineno")])
    while first - 2 > node.lineno - 1 and lines[first - 2].strip().startswith("#"):
        first -= 1  # comments just above the first statement belong to the body
    return header + "\n" + "\n".join(lines[first - 1:node.end_lineno])


def _names_used(node: ast.stmt) -> list[str]:
    """Names a definition reads (annotations and dropped decorators left out)."""
    if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
        parts: list[ast.AST] = list(node.body)
        if not _dropped(node):
            parts += node.decorator_list
        if isinstance(node, ast.FunctionDef):
            parts += [d for d in node.args.defaults + node.args.kw_defaults if d is not None]
        else:
            parts += node.bases
    else:
        parts = [node.value] if getattr(node, "value", None) is not None else []
    seen: dict[str, None] = {}
    for part in parts:
        for n in ast.walk(part):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
                seen.setdefault(n.id, None)
    return list(seen)


class _Copier:
    """Collects a definition and everything it needs, dependencies first."""

    def __init__(self) -> None:
        self.blocks: dict[str, tuple[str, str | None]] = {}  # name -> (module, source)
        self.order: list[str] = []
        self.imports: list[str] = []

    def need(self, module: str, name: str) -> None:
        parsed = _module(module)
        if parsed is None:
            raise _Unresolvable(f"no source for {module}")
        text, defs, imports = parsed
        if name in defs:
            if name in self.blocks:
                if self.blocks[name][0] != module:
                    raise _Unresolvable(f"{name} is defined in two modules")
                return
            if name in RESERVED:
                raise _Unresolvable(f"{name} clashes with the script's own names")
            node = defs[name]
            self.blocks[name] = (module, None)
            for dep in _names_used(node):
                if dep in defs or dep in imports:
                    self.need(module, dep)
            self.blocks[name] = (module, _source(text, node))
            self.order.append(name)
        elif name in imports:
            mod, attr, stmt = imports[name]
            if mod.split(".")[0] not in LOCAL_PACKAGES:
                if stmt not in self.imports:
                    self.imports.append(stmt)
            elif attr is None:
                raise _Unresolvable(f"{name} is a module of the project ({mod})")
            else:
                self.need(mod, attr)
                if attr != name:
                    self.blocks[name] = (module, f"{name} = {attr}")
                    self.order.append(name)
        else:
            raise _Unresolvable(f"{name} not found in {module}")


def _is_mapping(node: ast.stmt) -> bool:
    """A function decorated with ``@impl(...)`` (how adapters declare a mapping)."""
    return isinstance(node, ast.FunctionDef) and any(
        isinstance(d, ast.Call) and getattr(d.func, "id", None) == "impl" for d in node.decorator_list)


def _find_mapping(framework: str, op: str) -> tuple[str, str] | None:
    """(module, function name) of the built-in adapter's ``@impl`` mapping of ``op`` (the function
    is named after the op, with a trailing ``_`` where the name would shadow a builtin)."""
    package = OPS_PACKAGES[framework]
    for path in sorted(ROOT.joinpath(*package.split(".")).glob("*.py")):
        module = f"{package}.{path.stem}"
        parsed = _module(module)
        if parsed is None:
            continue
        for name in (op, op + "_"):
            node = parsed[1].get(name)
            if node is not None and _is_mapping(node):
                return module, name
    return None


def _copied(copier: _Copier) -> str:
    return "\n\n\n".join(str(copier.blocks[n][1]) for n in copier.order)


@functools.cache
def mapping_source(framework: str, op: str, taken: frozenset[str] = frozenset()) -> tuple[tuple[str, ...], str]:
    """(import lines, code defining ``op``) for a built-in framework's mapping of ``op``; ``taken``
    are names the script already defines."""
    found = _find_mapping(framework, op)
    if found is None:
        raise ReproError(f"the {framework} adapter has no mapping for {op}")
    module, fn = found
    copier = _Copier()
    try:
        copier.need(module, fn)
        clash = sorted(set(copier.blocks) & taken)
        if clash:
            raise _Unresolvable(f"{', '.join(clash)} clash with the comparison's names")
    except _Unresolvable as e:
        return (), (f"# The {framework} adapter's mapping of {op} could not be copied as standalone code ({e}),\n"
                    f"# so this script imports it: it needs vjp-conformance installed.\n"
                    f"from {module} import {fn} as _mapped\n\nop = _mapped.fn\n")
    where = module.replace(".", "/") + ".py"
    code = (f"# The op exactly as the vjp-conformance {framework} adapter calls it: copied from\n"
            f"# {where} (and the helpers it uses), its @impl decorator left out.\n\n{_copied(copier)}\n\n\nop = {fn}\n")
    return tuple(copier.imports), code


@functools.cache
def comparison_source() -> tuple[tuple[str, ...], str, frozenset[str]]:
    """(import lines, code, names defined) of the suite's own ``compare`` and ``verdict``."""
    copier = _Copier()
    try:
        for name in ("compare", "verdict"):
            copier.need("conformance.compare", name)
    except _Unresolvable as e:  # a change in compare.py that this copier cannot follow
        raise ReproError(f"cannot copy the suite's comparison: {e}") from None
    code = ("# The suite's own comparison, copied from conformance/compare.py: the same figures as\n"
            "# the record, from the same code.\n\n" + _copied(copier) + "\n")
    return tuple(copier.imports), code, frozenset(copier.blocks)


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

    cmp_imports, cmp_code, cmp_names = comparison_source()
    if is_builtin(framework, manifest):
        prelude, imports, strict, template = FRAMEWORKS[framework]
        map_imports, op_code = mapping_source(framework, spec.name, cmp_names | RESERVED)
        needs = f"{framework} and NumPy" + (" (and ml_dtypes for bfloat16)" if dtype.name == "bfloat16" else "")
    else:
        prelude, imports, strict, template, map_imports = [], [], [], PLUGIN, ()
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
        f"precision {precision}: recorded status {rec.get('status')}.",
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
    ]
    if precision == "strict" and strict:
        out += ["", "# precision mode 'strict': no TF32, no reduced-precision reductions", *strict]
    if rec.get("message"):
        out += ["", "# recorded message:", *(f"#   {m}" for m in str(rec["message"]).splitlines()[:20])]
    out += ["", "INPUTS = {"]
    out += [f"    {k!r}: {array_literal(v, '.astype(DTYPE)', '    ')}," for k, v in inputs.items()]
    out += ["}", f"PARAMS = {params!r}", f"COTANGENT = {array_literal(cotangent, '.astype(DTYPE)', '')}",
            f"DIFFERENTIABLE = {list(spec.differentiable)!r}", "", "", op_code.rstrip("\n"), "", "",
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
