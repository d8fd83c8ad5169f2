"""The conformance suite: generic tests over op x framework x device x dtype x precision.

- ``test_vjp``: accuracy cases: Hypothesis draws a structure (shapes, params, scale, distribution,
  seed), then K value sets (inputs and cotangent from seeds derived from it; K is the profile's or
  ``--values-per-case``) run through the same adapter call, so a compiled program and its kernels
  serve all K. One record per structure carries the worst value set's figures and inputs; every
  other value set that does not pass gets its own. ``target()`` steers toward the worst bound
  ratio; a failure shrinks to a minimal structure, its failing value set reproducible from the seed.
- ``test_special_values``: the special-values family (±0, ±inf, NaN, subnormals, near overflow).
- ``test_witness``: the exact cases that pin each known failure (``[[expect.witness]]``).
- ``test_convention``: each declared kink, evaluated exactly there; records the subgradient the
  framework chose (verdict ``convention``).

Run with ``vjp-conformance run`` or ``pytest --pyargs conformance.suite [--vjp-... options]``.
No framework appears here: differences live in adapters and in the expectations file.
"""

from __future__ import annotations

import zlib
from typing import Any

import pytest
from hypothesis import given, seed, settings, target
from hypothesis.control import current_build_context

from conformance import regimes
from conformance.case import Case
from conformance.claims import Claim, claim_record
from conformance.compare import json_number
from conformance.execute import (
    COMPILE_PHASE,
    INLINE_PASS_ELEMENTS,
    Call,
    Checker,
    Target,
    attach_repro,
    base_record,
    failure_message,
    json_params,
    ratio_to_budget,
    structure_record,
    worst_value_set,
)
from conformance.opspec import OpSpec
from conformance.outcome import FAILING, PASSING, VerdictFailure
from conformance.registry import get_op
from conformance.selection import PROFILES
from conformance.session import Session
from conformance.specials import exact_case, special_case
from conformance.strategies import StructureExample, structures
from conformance.timeouts import ExampleTimeout, limit_for, time_limit
from conformance.witness import witness_case


def _ready(sess: Session, t: Target) -> Checker:
    """The target's checker (op, adapter, version, and the unsupported claim it is probed under with
    ``--probe-unsupported``); skips (recording why) when the target cannot run."""
    av = sess.adapter_for(t)
    if not av.available:
        pytest.skip(f"not run: {t.framework} unavailable ({av.reason})")
    spec = get_op(t.op)
    version = sess.framework_version(t)
    supported = av.adapter.supports(spec, t.dtype, t.device)
    claim: Claim | None = getattr(supported, "claim", None)  # a ClaimedReason: the claim's reason
    if supported is not True and not (claim is not None and sess.selection.probe_unsupported):
        reason = str(supported or f"{t.framework} does not support this combination")
        rec = base_record(t, run_id=sess.run_id, framework_version=version, spec=spec)
        rec.update(status="unsupported", message=reason, phase="generate", max_abs_err=None, max_rel_err=None,
                   bound_ratio=None, max_ulp=None)
        if claim is not None:
            rec["claim"] = claim_record(claim, probed=False)
        sess.write(rec)
        pytest.skip(f"unsupported: {reason}")
    sess.prepare(t)
    checker = Checker(t, spec, av.adapter, sess.tolerances, run_id=sess.run_id, framework_version=version)
    checker.claim = claim
    checker.probe_unsupported = sess.selection.probe_unsupported
    return checker


def _under_claim(checker: Checker, rec: dict[str, Any]) -> dict[str, Any]:
    """A record of a target probed under its claim names the claim, and an example the framework
    raised on is ``unsupported`` with the framework's own message (the claim holds); so is a case
    probed under a params-scoped claim (``Checker.call`` names that one)."""
    if checker.claim is not None:
        rec["claim"] = claim_record(checker.claim, probed=True)
    if (rec.get("claim") or {}).get("probed") and rec["status"] == "error":
        rec["status"] = "unsupported"
    return rec


def _call(sess: Session, checker: Checker, case: Case, inflight: dict[str, Any],
          fields: dict[str, Any] | None = None) -> Call:
    """The oracle and the adapter on ``case`` under the time limit (the comparison comes after)."""
    if checker.claim is not None:
        inflight["claim"] = claim_record(checker.claim, probed=True)  # a crash under the probe says so
    # a small case's exact values go in the note too, so the record of a worker that dies on it has a
    # repro (a crash cannot be shrunk: it is the first case that crashed); a larger one says its seed
    inflight.pop("repro", None)
    inflight["cotangent_shape"] = list(case.cotangent.shape)
    attach_repro(inflight, case, limit=INLINE_PASS_ELEMENTS)
    sess.writer.mark_inflight(inflight)
    try:
        with time_limit(limit_for(sess.timeout, checker.target.mode)):
            return checker.call(case, fields)
    except ExampleTimeout as e:
        rec = {**checker.base, **(fields if fields is not None else checker.case_fields(case))}
        rec.update(status="timeout", message=str(e), max_abs_err=None, max_rel_err=None, bound_ratio=None,
                   max_ulp=None)
        if case.value_set:
            rec["value_set"] = case.value_set
        return Call(rec)


def _run(sess: Session, checker: Checker, case: Case, phase: str,
         outputs: dict[str, Any] | None = None) -> dict[str, Any]:
    """One fixed case (special, witness, convention): its complete record, expectations applied."""
    t = checker.target
    inflight = {"nodeid": t.id, "shapes": case.shapes, "params": json_params(case.params),
                "seed": case.seed, "phase": phase, "case_family": case.family}
    if case.meta.get("witness"):
        inflight["witness"] = case.meta["witness"]  # a crash of the witness is the entry's to claim
    rec = checker.judge(_call(sess, checker, case, inflight), outputs)
    attach_repro(rec, case)
    set_phase(rec, phase)
    if case.meta.get("witness"):
        rec["witness"] = case.meta["witness"]
    sess.expectations.apply(_under_claim(checker, rec))
    return rec


def _value_sets(sess: Session, checker: Checker, example: StructureExample, k: int,
                phase: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """K value sets of one structure example through the target's adapter: the structure's own
    record (its worst value set's, inputs attached) and the records of its other value sets that
    did not pass (inputs attached, their time left to the structure's record)."""
    first = example.first
    # the same for every value set: the record's description of the structure, the in-flight note
    fields = checker.case_fields(first)
    inflight = {"nodeid": checker.target.id, "shapes": fields["shapes"], "params": fields["params"],
                "seed": first.seed, "phase": phase, "case_family": first.family, "values_per_case": k}
    if "regime" in fields:
        inflight["regime"] = fields["regime"]
    cases, calls = [], []
    for j in range(k):  # K value sets through the same adapter call: one program, one kernel choice
        cases.append(example.case(j))
        inflight["value_set"] = j
        calls.append(_call(sess, checker, cases[-1], inflight, fields))
        if calls[-1].rec.get("status") == "timeout":
            break  # a hung framework: the next value sets would each hang for the whole limit too
    verdicts = checker.verdicts(calls)
    # a record for every value set that did not pass, else for the one nearest its budget
    written = [j for j, (status, _) in enumerate(verdicts) if status != "pass"] or [
        min(range(len(calls)), key=lambda j: (-verdicts[j][1], j))]
    recs = []
    for j in written:
        rec = checker.judge(calls[j])
        set_phase(rec, phase)
        recs.append(sess.expectations.apply(_under_claim(checker, rec)))
        attach_repro(rec, cases[j])
    statuses = [status for status, _ in verdicts]
    for j, rec in zip(written, recs):
        statuses[j] = rec["status"]  # an expected failure is known
    worst = worst_value_set(recs)
    head = structure_record(recs[worst], k, statuses, calls)
    others = [rec for rec in recs if rec is not head]
    for rec in others:
        rec["value_set"] = rec.get("value_set", 0)
        for key in ("oracle_s", "adapter_s"):  # counted in the structure's record
            rec.pop(key, None)
    return head, others


def set_phase(rec: dict[str, Any], phase: str) -> None:
    """The record's phase: Hypothesis's (generate, shrink, final), but an error the framework's
    compiler raised keeps ``compile`` outside shrinking."""
    if rec.get("phase") == COMPILE_PHASE and phase != "shrink":
        return
    rec["phase"] = phase


def _raise_if_failing(sess: Session, rec: dict[str, Any]) -> None:
    if rec["status"] in FAILING:
        raise VerdictFailure(failure_message(rec, f"vjp-conformance repro {rec['record_id']} --run-dir {sess.run_dir}"))


def test_vjp(vjp_target: Target, vjp_session: Session) -> None:
    sess = vjp_session
    if "accuracy" not in sess.selection.families:
        pytest.skip("accuracy family not selected")
    checker = _ready(sess, vjp_target)
    state = {"failed": False, "n": 0}
    sel = sess.selection
    k = sel.values_per_structure
    profile = PROFILES[sel.profile]
    failures: list[BaseException] = []
    # every size regime the op declares gets its own examples (regimes.examples_per_regime), so each
    # is drawn in every target; a failing regime is reported after the others have run too
    n_examples = sel.max_examples or profile.max_examples
    offset = checker.spec.dtypes.index(vjp_target.dtype) * (n_examples // 2) if vjp_target.dtype in \
        checker.spec.dtypes else 0
    for regime, n in regimes.examples_per_regime(checker.spec.regimes, n_examples, offset):
        state["failed"] = False
        try:
            _check_regime(sess, checker, state, regime, n, k, profile.max_elements)
        except Exception as e:
            failures.append(e)
    if failures:
        raise failures[0]


def _check_regime(sess: Session, checker: Checker, state: dict[str, Any], regime: str, n: int, k: int,
                  max_elements: int) -> None:
    """``n`` structure examples of the target in one size regime (Hypothesis's, shrinking within it)."""
    sel, t = sess.selection, checker.target
    # the seed leaves out framework, device and precision: every framework, the CPU and the GPU,
    # strict and default precision start from the same cases (target() may steer them apart)
    key = f"{sel.seed}:{t.op}:{t.dtype}" + ("" if regime == "small" else f":{regime}")

    @settings(settings.get_profile(f"vjp-{sel.profile}"), max_examples=n)
    @seed(zlib.crc32(key.encode()))
    @given(example=structures(checker.spec, t.dtype, max_elements=max_elements, regime=regime))
    def check(example: StructureExample) -> None:
        phase = "final" if current_build_context().is_final else ("shrink" if state["failed"] else "generate")
        head, others = _value_sets(sess, checker, example, k, phase)
        head["example"] = state["n"]
        head["targeted"] = True  # every accuracy example is steered by target() below
        state["n"] += 1
        sess.write(head)
        for rec in others:  # every other value set that did not pass: its own record
            rec.update(example=head["example"], values_per_case=k, value_set_of=head["record_id"])
            sess.write(rec)
        target(ratio_to_budget(head), label="bound_ratio / budget")
        if head["status"] in FAILING:
            state["failed"] = True
        _raise_if_failing(sess, head)

    # The run keeps no example database (settings: database=None), so Hypothesis's database key
    # is never used; without a key given, it hashes the test's source (inspect, tokenize) on every
    # call of a fresh closure like this one: ~1 ms per target and regime. Hypothesis's own find()
    # sets the key the same way.
    check._hypothesis_internal_database_key = None  # type: ignore[attr-defined]
    check()


def test_special_values(vjp_special: tuple[Target, Any], vjp_session: Session) -> None:
    t, special = vjp_special
    sess = vjp_session
    checker = _ready(sess, t)
    rec = _run(sess, checker, special_case(checker.spec, special, t.dtype), "generate")
    sess.write(rec)
    _raise_if_failing(sess, rec)


def test_witness(vjp_witness: tuple[Target, Any], vjp_session: Session) -> None:
    """The exact case that pins a known failure: the entry's state comes from here."""
    t, witness = vjp_witness
    sess = vjp_session
    checker = _ready(sess, t)
    case = witness_case(checker.spec, witness)
    attempts = 0
    while True:  # a fault that shows only some of the time: up to `repeat` attempts, until it does
        attempts += 1
        rec = _run(sess, checker, case, "generate")
        if rec["status"] not in PASSING or attempts >= witness.repeat:
            break
    rec["witness_attempts"] = attempts
    if witness.note:
        rec["witness_note"] = witness.note
    sess.write(rec)
    _raise_if_failing(sess, rec)


def test_convention(vjp_kink: tuple[Target, Any], vjp_session: Session) -> None:
    t, kink = vjp_kink
    sess = vjp_session
    checker = _ready(sess, t)
    case = kink_case(checker.spec, kink, t.dtype)
    outputs: dict[str, Any] = {}
    rec = _run(sess, checker, case, "generate", outputs)
    rec["kink"] = kink.name
    rec["kink_description"] = kink.description
    if "got" in outputs:
        rec["choice"] = {name: [json_number(outputs["got"][name][tuple(i)]) for i in idx]
                         for name, idx in kink.at.items()}
        rec["oracle_choice"] = {name: [json_number(outputs["ref"][name].value[tuple(i)]) for i in idx]
                                for name, idx in kink.at.items()}
        if rec["status"] in ("pass", "fail"):
            rec["status"] = "convention"
    sess.write(rec)
    _raise_if_failing(sess, rec)


def kink_case(spec: OpSpec, kink: Any, dtype: str) -> Case:
    return exact_case(spec, kink.inputs, kink.params, dtype, "convention", kink=kink.name)


