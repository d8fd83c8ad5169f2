"""The tolerance model catches gradients wrong by a small amount and never flags a right one.

Planted adapters (NumPy, no framework) each compute a matmul or softmax gradient in a specific
wrong or right way; every example goes through the real comparison (conformance.execute).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.case import Case
from conformance.dtypes import get_dtype
from conformance.execute import Target, run_example
from conformance.registry import get_op
from conformance.tolerances import Tolerances
from tests import examples

TOL = Tolerances.load()


class Oracle:
    """The oracle's float64 gradient rounded once to the test dtype: the best any framework can do."""

    name = "planted"
    api_version = 1

    def version(self):
        return "0"

    def devices(self):
        return ["cpu"]

    def supports(self, op, dtype, device):
        return True

    def exact(self, op, inputs, params, cotangent):
        ins = {k: v.astype(np.float64) for k, v in inputs.items()}
        return {k: g.value for k, g in op.reference_vjp(**ins, dz=cotangent.astype(np.float64), **params).items()}

    def vjp(self, op, inputs, params, cotangent, *, dtype, device):
        dt = get_dtype(dtype).numpy
        return {k: v.astype(dt) for k, v in self.exact(op, inputs, params, cotangent).items()}


class ThroughFloat16(Oracle):
    """Computed in float16 when float32 was asked."""

    def vjp(self, op, inputs, params, cotangent, *, dtype, device):
        return {k: v.astype(np.float16).astype(get_dtype(dtype).numpy)
                for k, v in self.exact(op, inputs, params, cotangent).items()}


class FewUlpsTimesK(Oracle):
    """Each element off by 4 ulps per term of the reduction (an accumulation bug)."""

    def vjp(self, op, inputs, params, cotangent, *, dtype, device):
        d = get_dtype(dtype)
        k = inputs["x"].shape[-1] if op.name == "matmul" else 1
        return {n: (v * (1 + 4 * k * d.unit_roundoff)).astype(d.numpy)
                for n, v in self.exact(op, inputs, params, cotangent).items()}


class SignErrorOnOneElement(Oracle):
    def vjp(self, op, inputs, params, cotangent, *, dtype, device):
        out = super().vjp(op, inputs, params, cotangent, dtype=dtype, device=device)
        for v in out.values():
            i = np.unravel_index(np.argmax(np.abs(v.astype(np.float64))), v.shape)
            v[i] = -v[i]
        return out


class ReorderedSum(Oracle):
    """Right, in float32 arithmetic, but summing the contraction one term at a time, backwards."""

    def vjp(self, op, inputs, params, cotangent, *, dtype, device):
        dt = get_dtype(dtype).numpy
        x, y, dz = inputs["x"], inputs["y"], cotangent
        dx = np.zeros(x.shape, dt)
        for j in reversed(range(dz.shape[-1])):  # dx[i, k] = sum_j dz[i, j] * y[k, j]
            dx = (dx + (dz[:, j:j + 1] * y[:, j][None, :]).astype(dt)).astype(dt)
        dy = np.zeros(y.shape, dt)
        for i in reversed(range(dz.shape[0])):  # dy[k, j] = sum_i x[i, k] * dz[i, j]
            dy = (dy + (x[i][:, None] * dz[i][None, :]).astype(dt)).astype(dt)
        return {"x": dx, "y": dy}


def matmul_case(seed: int, m: int, k: int, n: int, positive: bool, dtype: str = "float32") -> Case:
    rng = np.random.default_rng(seed)
    draw = (lambda *s: rng.uniform(0.1, 1.0, s)) if positive else (lambda *s: rng.standard_normal(s))
    dt = get_dtype(dtype).numpy
    return Case("matmul", dtype, {"x": draw(m, k).astype(dt), "y": draw(k, n).astype(dt)}, {},
                draw(m, n).astype(dt), seed)


def verdict(adapter, case: Case) -> dict:
    t = Target(case.op, "planted", "cpu", case.dtype)
    return run_example(t, get_op(case.op), case, adapter, TOL, run_id="t", framework_version="0")


shapes = st.tuples(st.integers(1, 6), st.integers(16, 200), st.integers(1, 6))


@settings(max_examples=examples(40), deadline=None)
@given(seed=st.integers(0, 2**32 - 1), mkn=shapes, positive=st.booleans())
def test_correct_and_reordered_sums_are_never_flagged(seed, mkn, positive):
    case = matmul_case(seed, *mkn, positive)
    for adapter in (Oracle(), ReorderedSum()):
        rec = verdict(adapter, case)
        assert rec["status"] == "pass", (type(adapter).__name__, rec["bound_ratio"], rec["budget"])


@settings(max_examples=examples(25), deadline=None)
@given(seed=st.integers(0, 2**32 - 1), mkn=shapes, positive=st.booleans())
def test_float16_arithmetic_for_float32_is_caught(seed, mkn, positive):
    rec = verdict(ThroughFloat16(), matmul_case(seed, *mkn, positive))
    assert rec["status"] == "fail" and rec["bound_ratio"] > 100 * rec["budget"]


@settings(max_examples=examples(25), deadline=None)
@given(seed=st.integers(0, 2**32 - 1), mkn=shapes)
def test_few_ulps_times_reduction_length_is_caught(seed, mkn):
    # positive data: no cancellation, so an accumulation error shows at its full size
    rec = verdict(FewUlpsTimesK(), matmul_case(seed, *mkn, positive=True))
    assert rec["status"] == "fail", (rec["bound_ratio"], rec["budget"])


@settings(max_examples=examples(25), deadline=None)
@given(seed=st.integers(0, 2**32 - 1), mkn=shapes, positive=st.booleans(),
       dtype=st.sampled_from(["float16", "bfloat16", "float32", "float64"]))
def test_sign_error_on_one_element_is_caught(seed, mkn, positive, dtype):
    rec = verdict(SignErrorOnOneElement(), matmul_case(seed, *mkn, positive, dtype))
    assert rec["status"] == "fail"
    assert rec["worst"]["want"] == pytest.approx(-rec["worst"]["got"], rel=1e-2)


def test_figures_of_a_known_error():
    case = matmul_case(0, 2, 3, 2, positive=True, dtype="float64")
    rec = verdict(SignErrorOnOneElement(), case)
    exact = Oracle().exact(get_op("matmul"), case.inputs, {}, case.cotangent)
    for name, grad in exact.items():  # the flipped element is the largest: error 2|g|, relative error 2
        assert rec["per_input"][name]["max_abs_err"] == pytest.approx(2 * np.abs(grad).max())
        assert rec["per_input"][name]["max_rel_err"] == pytest.approx(2.0)
    assert rec["max_abs_err"] == max(p["max_abs_err"] for p in rec["per_input"].values())
    w = rec["worst"]
    assert w["got"] == pytest.approx(-w["want"]) and w["input"] in ("x", "y")
    assert rec["assert_close"]["passed"] is False
    assert rec["max_ulp"] > 1e15


def test_oracle_rounded_once_passes_every_dtype_with_room():
    for dtype in ("float16", "bfloat16", "float32", "float64"):
        rec = verdict(Oracle(), matmul_case(1, 3, 50, 4, positive=False, dtype=dtype))
        assert rec["status"] == "pass" and rec["bound_ratio"] <= 1.0, (dtype, rec["bound_ratio"])


@settings(max_examples=examples(150), deadline=None)
@given(dtype=st.sampled_from(["float16", "bfloat16", "float32", "float64"]),
       shape=st.lists(st.integers(1, 5), max_size=3).map(tuple), seed=st.integers(0, 2**32 - 1),
       zeros=st.booleans(), array_tiny=st.booleans(), off_by=st.sampled_from([0.0, 1.0, 100.0]))
def test_all_finite_shortcut_gives_the_general_paths_figures(dtype, shape, seed, zeros, array_tiny, off_by):
    """compare() takes a shorter route when everything is finite; it must agree bit for bit with
    the general route (which also handles inf, NaN and undefined magnitudes)."""
    from conformance.compare import _finite_figures, _general_figures
    from reference import Grad

    d = get_dtype(dtype)
    rng = np.random.default_rng(seed)
    want = rng.standard_normal(shape) * 10.0 ** rng.uniform(-3, 3)
    if zeros:
        want = np.where(rng.random(shape) < 0.3, 0.0, want)
    magnitude = np.abs(want) * rng.uniform(1, 3, shape) * (rng.random(shape) < 0.8)
    tiny = rng.uniform(0, 2, shape) * (rng.random(shape) < 0.5) if array_tiny else 1.0
    grad = Grad(want, magnitude, terms=3, tiny=tiny)
    got = (want * (1 + off_by * d.unit_roundoff * rng.standard_normal(shape))).astype(d.numpy).astype(np.float64)
    with np.errstate(all="ignore"):
        want_rounded = want.astype(d.numpy).astype(np.float64)
        fast = _finite_figures(got, want, want_rounded, grad, d)
        general = _general_figures(got, want, want_rounded, grad, d, np.isfinite(got), np.isfinite(want_rounded))
    assert general[5] is None
    for a, b in zip(fast, general[:5]):
        assert np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True)
