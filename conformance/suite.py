"""The conformance suite: one generic test over op x framework x device x dtype x precision.

Run it with ``vjp-conformance run`` or ``pytest --pyargs conformance.suite [--vjp-... options]``.
"""

from __future__ import annotations

import zlib

import pytest
from hypothesis import given, seed, settings, target
from hypothesis.control import current_build_context

from conformance.execute import FAILING, Target, failure_message, ratio_to_budget, run_example
from conformance.registry import get_op
from conformance.session import Session
from conformance.strategies import cases
from conformance.timeouts import ExampleTimeout, time_limit


def test_vjp(vjp_target: Target, vjp_session: Session) -> None:
    sess = vjp_session
    av = sess.adapter_for(vjp_target)
    if not av.available:
        pytest.skip(f"not run: {vjp_target.framework} unavailable ({av.reason})")
    spec = get_op(vjp_target.op)
    adapter = av.adapter
    version = sess.framework_version(vjp_target)
    supported = adapter.supports(spec, vjp_target.dtype, vjp_target.device)
    if supported is not True:
        reason = supported or f"{vjp_target.framework} does not support this combination"
        rec = {"status": "unsupported", "message": str(reason)}
        sess.write(_unsupported_record(sess, vjp_target, version, spec, rec))
        pytest.skip(f"unsupported: {reason}")
    sess.prepare(vjp_target)
    state = {"failed": False, "n": 0}
    sel = sess.selection

    @settings(settings.get_profile(f"vjp-{sel.profile}"),
              **({"max_examples": sel.max_examples} if sel.max_examples else {}))
    @seed(zlib.crc32(f"{sel.seed}:{vjp_target.id}".encode()))
    @given(case=cases(spec, vjp_target.dtype))
    def check(case):
        phase = "final" if current_build_context().is_final else ("shrink" if state["failed"] else "generate")
        sess.writer.mark_inflight({"nodeid": vjp_target.id, "shapes": case.shapes, "params": str(case.params),
                                   "seed": case.seed, "phase": phase})
        try:
            with time_limit(sess.timeout):
                rec = run_example(vjp_target, spec, case, adapter, sess.tolerances, run_id=sess.run_id,
                                  framework_version=version)
        except ExampleTimeout as e:
            rec = _timeout_record(sess, vjp_target, version, spec, case, str(e))
        rec["phase"] = phase
        rec["example"] = state["n"]
        rec["targeted"] = True
        state["n"] += 1
        sess.write(rec)
        target(ratio_to_budget(rec), label="bound_ratio / budget")
        if rec["status"] in FAILING:
            state["failed"] = True
            raise AssertionError(failure_message(
                rec, f"vjp-conformance repro {rec['record_id']} --run-dir {sess.run_dir}"))

    check()


def _unsupported_record(sess, t, version, spec, extra):
    from conformance.execute import base_record

    rec = base_record(t, run_id=sess.run_id, framework_version=version, spec=spec)
    rec.update(extra, phase="generate", max_abs_err=None, max_rel_err=None, bound_ratio=None, max_ulp=None)
    return rec


def _timeout_record(sess, t, version, spec, case, message):
    from conformance.execute import attach_repro, base_record, json_params

    rec = base_record(t, run_id=sess.run_id, framework_version=version, spec=spec)
    rec.update(status="timeout", message=message, shapes=case.shapes, params=json_params(case.params),
               cotangent_shape=list(case.cotangent.shape), seed=case.seed, scale=case.scale,
               distribution=case.distribution, case_family=case.family,
               max_abs_err=None, max_rel_err=None, bound_ratio=None, max_ulp=None)
    attach_repro(rec, case)
    return rec
