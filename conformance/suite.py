"""The conformance suite: generic tests over op x framework x device x dtype x precision.

- ``test_vjp``: accuracy cases drawn by Hypothesis, steered by ``target()`` toward the worst
  bound ratio, shrunk to a minimal case on failure.
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

from conformance.case import Case
from conformance.claims import Claim, claim_record
from conformance.compare import json_number
from conformance.execute import (
    Target,
    attach_repro,
    base_record,
    failure_message,
    json_params,
    ratio_to_budget,
    run_example,
)
from conformance.opspec import OpSpec
from conformance.outcome import FAILING, PASSING, VerdictFailure
from conformance.registry import get_op
from conformance.session import Session
from conformance.specials import exact_case, special_case
from conformance.strategies import cases
from conformance.timeouts import ExampleTimeout, time_limit
from conformance.witness import witness_case


def _ready(sess: Session, t: Target) -> tuple[OpSpec, Any, str, Claim | None]:
    """The op, the adapter, its version and the unsupported claim the target is probed under
    (``--probe-unsupported``; else None); skips (recording why) when the target cannot run."""
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
    return spec, av.adapter, version, claim


def _run(sess: Session, t: Target, spec: OpSpec, adapter: Any, version: str, case: Case, phase: str,
         outputs: dict[str, Any] | None = None, claim: Claim | None = None) -> dict[str, Any]:
    """One example and its record. Under a probed claim the record names the claim, and an
    example the framework raises on is ``unsupported`` with the framework's own message."""
    inflight: dict[str, Any] = {"nodeid": t.id, "shapes": case.shapes, "params": json_params(case.params),
                                "seed": case.seed, "phase": phase, "case_family": case.family}
    if case.meta.get("witness"):
        inflight["witness"] = case.meta["witness"]  # a crash of the witness is the entry's to claim
    if claim is not None:
        inflight["claim"] = claim_record(claim, probed=True)  # a crash under the probe says so
    sess.writer.mark_inflight(inflight)
    try:
        with time_limit(sess.timeout):
            rec = run_example(t, spec, case, adapter, sess.tolerances, run_id=sess.run_id,
                              framework_version=version, outputs=outputs)
    except ExampleTimeout as e:
        rec = base_record(t, run_id=sess.run_id, framework_version=version, spec=spec)
        rec.update(status="timeout", message=str(e), shapes=case.shapes, params=json_params(case.params),
                   cotangent_shape=list(case.cotangent.shape), seed=case.seed, scale=case.scale,
                   distribution=case.distribution, case_family=case.family, max_abs_err=None,
                   max_rel_err=None, bound_ratio=None, max_ulp=None)
        attach_repro(rec, case)
    rec["phase"] = phase
    if case.meta.get("witness"):
        rec["witness"] = case.meta["witness"]
    if claim is not None:
        rec["claim"] = claim_record(claim, probed=True)
        if rec["status"] == "error":  # the claim holds: the framework raised, as it says
            rec["status"] = "unsupported"
    sess.expectations.apply(rec)
    return rec


def _raise_if_failing(sess: Session, rec: dict[str, Any]) -> None:
    if rec["status"] in FAILING:
        raise VerdictFailure(failure_message(rec, f"vjp-conformance repro {rec['record_id']} --run-dir {sess.run_dir}"))


def test_vjp(vjp_target: Target, vjp_session: Session) -> None:
    sess = vjp_session
    if "accuracy" not in sess.selection.families:
        pytest.skip("accuracy family not selected")
    spec, adapter, version, claim = _ready(sess, vjp_target)
    state = {"failed": False, "n": 0}
    sel = sess.selection

    @settings(settings.get_profile(f"vjp-{sel.profile}"),
              **({"max_examples": sel.max_examples} if sel.max_examples else {}))
    # the seed leaves out framework, device and precision: every framework, the CPU and the GPU,
    # strict and default precision start from the same cases (target() may steer them apart)
    @seed(zlib.crc32(f"{sel.seed}:{vjp_target.op}:{vjp_target.dtype}".encode()))
    @given(case=cases(spec, vjp_target.dtype))
    def check(case: Case) -> None:
        phase = "final" if current_build_context().is_final else ("shrink" if state["failed"] else "generate")
        rec = _run(sess, vjp_target, spec, adapter, version, case, phase, claim=claim)
        rec["example"] = state["n"]
        rec["targeted"] = True  # every accuracy example is steered by target() below
        state["n"] += 1
        sess.write(rec)
        target(ratio_to_budget(rec), label="bound_ratio / budget")
        if rec["status"] in FAILING:
            state["failed"] = True
        _raise_if_failing(sess, rec)

    check()


def test_special_values(vjp_special: tuple[Target, Any], vjp_session: Session) -> None:
    t, special = vjp_special
    sess = vjp_session
    spec, adapter, version, claim = _ready(sess, t)
    rec = _run(sess, t, spec, adapter, version, special_case(spec, special, t.dtype), "generate", claim=claim)
    sess.write(rec)
    _raise_if_failing(sess, rec)


def test_witness(vjp_witness: tuple[Target, Any], vjp_session: Session) -> None:
    """The exact case that pins a known failure: the entry's state comes from here."""
    t, witness = vjp_witness
    sess = vjp_session
    spec, adapter, version, claim = _ready(sess, t)
    case = witness_case(spec, witness)
    attempts = 0
    while True:  # a fault that shows only some of the time: up to `repeat` attempts, until it does
        attempts += 1
        rec = _run(sess, t, spec, adapter, version, case, "generate", claim=claim)
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
    spec, adapter, version, claim = _ready(sess, t)
    case = kink_case(spec, kink, t.dtype)
    outputs: dict[str, Any] = {}
    rec = _run(sess, t, spec, adapter, version, case, "generate", outputs, claim)
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


