"""One example, end to end: oracle, adapter, comparison, record. No framework code here."""

from __future__ import annotations

import math
import time
import traceback
from dataclasses import dataclass
from typing import Any

import numpy as np

from conformance import layouts
from conformance.adapters.base import CompileFailed, Unsupported
from conformance.case import Case
from conformance.claims import claim_record
from conformance.compare import check_output, compare, figures_json, screen, verdict
from conformance.dtypes import get_dtype
from conformance.modes import default_mode
from conformance.opspec import OpSpec
from conformance.outcome import CELL_ORDER, FAILING
from conformance.records import SCHEMA_VERSION, encode_array
from conformance.tolerances import Tolerances

# Records of passing examples carry their inputs inline up to this many elements in all.
INLINE_PASS_ELEMENTS = 256
# Non-pass records always carry their inputs, up to this many elements.
INLINE_MAX_ELEMENTS = 200_000
STATUS_RANK = {s: i for i, s in enumerate(CELL_ORDER)}
# the record's phase for an error the framework's compiler raised (the suite keeps it over
# generate/final; a shrink step stays a shrink step)
COMPILE_PHASE = "compile"
CALL_STATS = ("compiles",)


@dataclass(frozen=True)
class Target:
    """One cell of the matrix: op x framework x device x dtype x precision mode x execution mode.

    ``mode`` "" is the framework's default mode (conformance/modes.py); the id names the mode only
    where it is not the default, so a default run's ids are those of before modes existed."""

    op: str
    framework: str
    device: str
    dtype: str
    precision: str = "default"
    mode: str = ""

    def __post_init__(self) -> None:
        if not self.mode:
            object.__setattr__(self, "mode", default_mode(self.framework))

    @property
    def id(self) -> str:
        tail = "" if self.mode == default_mode(self.framework) else f"-{self.mode}"
        return f"{self.op}-{self.framework}-{self.device}-{self.dtype}-{self.precision}{tail}"

    def key(self) -> dict[str, str]:
        return {
            "op": self.op, "framework": self.framework, "device": self.device,
            "dtype": self.dtype, "precision": self.precision, "mode": self.mode,
        }


def json_params(params: dict[str, Any]) -> dict[str, Any]:
    """Params as JSON values (tuples become lists)."""
    def conv(v):
        if isinstance(v, (tuple, list)):
            return [conv(x) for x in v]
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        if isinstance(v, np.generic):
            return v.item()
        return v
    return {k: conv(v) for k, v in params.items()}


def base_record(target: Target, *, run_id: str, framework_version: str, spec: OpSpec | None) -> dict[str, Any]:
    return {
        "schema": SCHEMA_VERSION,
        "run_id": run_id,
        **target.key(),
        "family": spec.family if spec else None,
        "framework_version": framework_version,
    }


class Checker:
    """Runs cases of one target: the oracle, the adapter, the comparison, the record.

    What every case of the target shares (the record's fixed fields, the dtype, the budget) is
    worked out once, here, not per value set.
    """

    def __init__(self, target: Target, spec: OpSpec, adapter: Any, tolerances: Tolerances, *, run_id: str,
                 framework_version: str) -> None:
        self.target, self.spec, self.adapter = target, spec, adapter
        self.dtype = get_dtype(target.dtype)
        self.budget = tolerances.budget(target.op, target.framework, target.device, target.dtype, target.precision)
        self.base = base_record(target, run_id=run_id, framework_version=framework_version, spec=spec)
        self.claim: Any = None  # the unsupported claim a probed target runs under (the suite sets it)
        self.probe_unsupported = False  # --probe-unsupported: run the cases a claim covers (the suite sets it)
        # the params-scoped claims on the target (conformance/claims.py): each covers some of its cases
        self.case_claims: tuple[Any, ...] = tuple(getattr(adapter, "case_claims", lambda *a: ())(
            spec, target.dtype, target.device))
        # an adapter that declares execution modes is told the target's (conformance/modes.py)
        self.call_kwargs: dict[str, Any] = {"mode": target.mode} if getattr(adapter, "modes", None) else {}
        # an adapter that declares memory layouts is told the case's where it applies (conformance/layouts.py)
        self.layouts: tuple[str, ...] = tuple(getattr(adapter, "layouts", ()) or ())

    def layout_of(self, case: Case) -> str:
        """The layout the framework gets the case's inputs in: the case's, where the adapter can
        present it and it applies to one of the inputs; else contiguous."""
        if case.layout in self.layouts and any(layouts.applies(case.layout, v.ndim, v.size)
                                               for v in case.inputs.values()):
            return case.layout
        return layouts.CONTIGUOUS

    def budget_of(self, name: str, grad: Any) -> float:
        return self.budget.for_terms(grad.terms)

    @staticmethod
    def case_fields(case: Case) -> dict[str, Any]:
        """The record's description of a case's structure (the same for all its value sets)."""
        fields = {
            "case_family": case.family, "shapes": case.shapes, "cotangent_shape": list(case.cotangent.shape),
            "params": json_params(case.params), "seed": case.seed, "scale": case.scale,
            "distribution": case.distribution,
        }
        if case.family == "accuracy":
            fields["regime"] = case.regime
        if case.kink is not None:
            fields["kink"] = case.kink
        if case.meta.get("special"):
            fields["special"] = case.meta["special"]
            fields["oracle_holds"] = case.meta.get("holds")
        return fields

    def call(self, case: Case, fields: dict[str, Any] | None = None) -> Call:
        """The oracle and the adapter on ``case``: the record so far (with its verdict already when
        the framework raised or answered malformed) and both gradients when they are to be compared.
        ``fields`` are the case's :meth:`case_fields` when the caller has them (every value set of a
        structure shares them)."""
        rec = {**self.base, **(fields if fields is not None else self.case_fields(case))}
        if case.value_set:
            rec["value_set"] = case.value_set
        layout = self.layout_of(case)
        kwargs = dict(self.call_kwargs)
        if case.family == "accuracy":
            rec["layout"] = layout
        if layout != layouts.CONTIGUOUS:
            kwargs["layout"] = layout
        claim = next((c for c in self.case_claims if c.covers_params(case.params)), None)
        if claim is not None:  # the framework raises for these params (a claim says so): recorded, or probed
            rec["claim"] = claim_record(claim, probed=self.probe_unsupported)
            if not self.probe_unsupported:
                rec.update(status="unsupported", message=claim.reason, max_abs_err=None, max_rel_err=None,
                           bound_ratio=None, max_ulp=None)
                return Call(rec)
        t0 = time.perf_counter()
        with np.errstate(all="ignore"):  # special values: the oracle evaluates them with IEEE semantics
            ref = self.spec.reference_vjp(**case.oracle_inputs(), dz=case.cotangent.astype(np.float64), **case.params)
        t1 = time.perf_counter()
        rec["oracle_s"] = seconds(t1 - t0)
        target = self.target
        try:
            try:
                got = self.adapter.vjp(self.spec, dict(case.inputs), dict(case.params), case.cotangent,
                                       dtype=target.dtype, device=target.device, **kwargs)
            finally:
                rec["adapter_s"] = seconds(time.perf_counter() - t1)  # the framework's call alone
                self._call_stats(rec)
        except Unsupported as e:
            rec.update(status="unsupported", message=str(e))
        except CompileFailed as e:  # the framework's compiler raised: a finding, recorded in phase 'compile'
            cause = e.__cause__ or e
            tb = traceback.format_exception(type(cause), cause, cause.__traceback__, limit=-3)
            rec.update(status="error", error_type=type(cause).__name__, phase=COMPILE_PHASE,
                       message=f"compile ({target.mode}): {type(cause).__name__}: {cause}",
                       traceback="".join(tb)[-2000:])
        except Exception as e:  # the framework raised: recorded, the run goes on
            tb = traceback.format_exception(type(e), e, e.__traceback__, limit=-3)
            rec.update(status="error", error_type=type(e).__name__, message=f"{type(e).__name__}: {e}",
                       traceback="".join(tb)[-2000:])
        else:
            problem = check_output(got, ref, self.dtype)
            if problem:
                rec.update(status="bad-output", message=problem)
            else:
                return Call(rec, got, ref)
        return Call(rec)

    def _call_stats(self, rec: dict[str, Any]) -> None:
        """What the adapter says of its last call (``call_stats()``, optional): ``compiles``, the
        programs a compiled mode built for it (0: a cached one served)."""
        stats = getattr(self.adapter, "call_stats", None)
        if stats is None or not self.call_kwargs:
            return
        try:
            rec.update({k: v for k, v in stats().items() if k in CALL_STATS})
        except Exception:  # best effort: a statistic never fails an example
            pass

    def judge(self, call: Call, outputs: dict[str, Any] | None = None) -> dict[str, Any]:
        """The call's record, complete: the comparison's figures and verdict where there are
        gradients to compare (see :func:`attach_repro` for its inputs)."""
        rec = call.rec
        if call.got is not None and not call.judged:
            if outputs is not None:
                outputs.update(got=call.got, ref=call.ref)
            with np.errstate(all="ignore"):
                fig = compare(call.got, call.ref, self.dtype, self.budget_of)
            rec.update(figures_json(fig))
            rec["assert_close"].update(rtol=self.dtype.rtol, atol=self.dtype.atol)
            rec["status"] = verdict(fig)
            call.judged = True
        rec.setdefault("message", None)
        for k in ("max_abs_err", "max_rel_err", "max_ulp", "bound_ratio"):
            rec.setdefault(k, None)
        return rec

    def run(self, case: Case, fields: dict[str, Any] | None = None,
            outputs: dict[str, Any] | None = None) -> dict[str, Any]:
        """The record of ``case`` without its inputs (see :func:`attach_repro`)."""
        return self.judge(self.call(case, fields), outputs)

    def verdicts(self, calls: list[Call]) -> list[tuple[str, float]]:
        """(verdict, ratio to budget) of each of a structure's value sets, the comparison's own:
        the value sets that reached a comparison are screened together (:func:`compare.screen`, one
        pass over their stacked gradients); where it cannot (a non-finite value), each is judged."""
        out: list[tuple[str, float] | None] = [None] * len(calls)
        open_ = [j for j, c in enumerate(calls) if c.got is not None and not c.judged]
        screened = None
        if len(open_) > 1:
            with np.errstate(all="ignore"):
                screened = screen([calls[j].got for j in open_], [calls[j].ref for j in open_], self.dtype,
                                  self.budget_of)
        if screened is not None:
            for j, (ratio, budget) in zip(open_, screened):
                out[j] = ("fail" if ratio > budget else "pass", min(ratio / budget if budget else ratio, 1e6))
        for j, c in enumerate(calls):
            if out[j] is None:
                rec = self.judge(c)
                out[j] = (rec["status"], ratio_to_budget(rec))
        return out  # type: ignore[return-value]


@dataclass
class Call:
    """One case through the oracle and the adapter, before the comparison (Checker.call)."""

    rec: dict[str, Any]
    got: Any = None  # the framework's gradients, when well-formed: still to be compared
    ref: Any = None  # the oracle's
    judged: bool = False


def run_example(
    target: Target,
    spec: OpSpec,
    case: Case,
    adapter: Any,
    tolerances: Tolerances,
    *,
    run_id: str,
    framework_version: str,
    outputs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run the oracle and the adapter on ``case`` and return its Outcome record, inputs attached
    where it needs them to be reproduced.

    ``outputs``, when given, receives the framework's gradients (``got``) and the oracle's
    (``ref``) for callers that need more than the record (the convention probe).
    """
    checker = Checker(target, spec, adapter, tolerances, run_id=run_id, framework_version=framework_version)
    rec = checker.run(case, outputs=outputs)
    attach_repro(rec, case)
    return rec


# Of a structure's value sets, the record that speaks for it: the worst verdict (in the cells'
# order), then the largest ratio to budget, then the first.
def worst_value_set(records: list[dict[str, Any]]) -> int:
    """Index of the value set whose record stands for the structure example (see above)."""
    return min(range(len(records)), key=lambda j: (STATUS_RANK.get(records[j]["status"], len(STATUS_RANK)),
                                                   -ratio_to_budget(records[j]), j))


def structure_record(rec: dict[str, Any], k: int, statuses: list[str], calls: list[Call]) -> dict[str, Any]:
    """The record of a structure example of K value sets: the worst value set's own record
    (figures, verdict, inputs), with K, the verdict of every value set that ran counted (all K but
    after a timeout), and the framework's and the oracle's time over them (the other value sets'
    records that are written leave theirs out)."""
    counts: dict[str, int] = {}
    for s in statuses:
        counts[s] = counts.get(s, 0) + 1
    rec["values_per_case"] = k
    rec["value_set"] = rec.get("value_set", 0)
    rec["value_statuses"] = counts
    for key in ("oracle_s", "adapter_s"):
        rec[key] = seconds(sum(c.rec.get(key) or 0.0 for c in calls))
    if any("compiles" in c.rec for c in calls):  # the programs compiled for the whole structure
        rec["compiles"] = sum(int(c.rec.get("compiles") or 0) for c in calls)
    return rec


def seconds(s: float) -> float:
    """A duration for a record: to a tenth of a microsecond (finer is timer noise, and bytes in
    every record)."""
    return round(s, 7)


def attach_repro(rec: dict[str, Any], case: Case, limit: int | None = None) -> None:
    """Inline the exact inputs and cotangent when the record needs them to be reproduced (up to
    ``limit`` elements; by default a small pass's or any failure's)."""
    size = sum(a.size for a in case.inputs.values()) + case.cotangent.size
    if limit is None:
        limit = INLINE_PASS_ELEMENTS if rec.get("status") == "pass" else INLINE_MAX_ELEMENTS
    if size <= limit:
        rec["repro"] = {
            "inputs": {k: encode_array(v) for k, v in case.inputs.items()},
            "cotangent": encode_array(case.cotangent),
        }


def ratio_to_budget(rec: dict[str, Any]) -> float:
    """How far a record is toward its budget (for Hypothesis ``target``); finite."""
    br, budget = rec.get("bound_ratio"), rec.get("budget") or 0.0
    if br is None:
        return 1e6 if rec.get("status") in FAILING else 0.0
    return min(float(br) / budget if budget else float(br), 1e6)


def failure_message(rec: dict[str, Any], repro_hint: str = "") -> str:
    """A failure that explains itself: where, what shapes and params, the worst element."""
    head = (
        f"{rec['op']} on {rec['framework']} {rec.get('framework_version', '')} "
        f"device={rec['device']} dtype={rec['dtype']} precision={rec['precision']}"
        f"{' mode=' + str(rec['mode']) if rec.get('mode') else ''}: {rec['status']}"
    )
    lines = [head, f"  shapes {rec.get('shapes')} cotangent {rec.get('cotangent_shape')} params {rec.get('params')}"]
    if rec.get("message"):
        lines.append(f"  {rec['message']}")
    if rec.get("bound_ratio") is not None or rec["status"] == "fail":
        br = rec.get("bound_ratio")
        lines.append(
            f"  bound_ratio {_fmt(br)} > budget {_fmt(rec.get('budget'))}; "
            f"max_abs_err {_fmt(rec.get('max_abs_err'))}, max_rel_err {_fmt(rec.get('max_rel_err'))}, "
            f"max_ulp {_fmt(rec.get('max_ulp'))}"
        )
    w = rec.get("worst")
    if w:
        idx = ", ".join(str(i) for i in w["index"])
        lines.append(
            f"  worst element d{w['input']}[{idx}]: got {w['got']!r}, oracle {w['want']!r}, "
            f"abs err {_fmt(w['abs_err'])}, magnitude {_fmt(w['magnitude'])}, {_fmt(w['ulp'])} ulp"
        )
    nf = rec.get("nonfinite")
    if nf:
        lines.append(
            f"  non-finite on the {nf['side']} side: d{nf['input']}{nf['index']} got {nf['got']}, "
            f"oracle {nf['want']} ({nf['count']} element(s))"
        )
    lines.append(f"  seed {rec.get('seed')} scale {rec.get('scale')} {rec.get('distribution')}")
    if repro_hint:
        lines.append(f"  repro: {repro_hint}")
    return "\n".join(lines)


def _fmt(x: Any) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, float):
        return f"{x:.4g}" if math.isfinite(x) else str(x)
    return str(x)
