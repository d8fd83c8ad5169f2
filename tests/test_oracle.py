"""The oracle tested hardest: every reference VJP against finite differences of its own forward.

Generic over the registry: a new op is checked by adding its OpSpec. Two checks per example:
the inner-product identity <t, vjp(dz)> == <J t, dz> on random directions t, and, for small
inputs, the full Jacobian column by column. Cases stay well away from kinks (float16's margin).
The same checks over empty (size-0) and 0-d inputs, which the catalogue does not draw yet, run
on a fixed catalogue of edge cases in tests/test_oracle_edges.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.registry import all_ops, get_op
from conformance.strategies import cases
from tests import examples
from tests.oracle_fd import (
    H,
    directional_derivative,
    element_scale,
    fd_dot,
    jacobian_dz_columns,
    sensitivity,
)

OPS = sorted(all_ops())
# A finite difference whose error bound exceeds this fraction of the check's scale cannot tell a
# right gradient from a wrong one: such a case fails as inconclusive instead of passing.
FD_INFORMATIVE = 1e-3
FD = settings(max_examples=examples(15), deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)


def _draw(data, name, regime=None):
    spec = get_op(name)
    case = data.draw(cases(spec, "float64", scales=(1.0, 0.1, 3.0), kink_dtype="float16", regime=regime),
                     label="case")
    inputs = case.oracle_inputs()
    dz = case.cotangent.astype(np.float64)
    return spec, inputs, case.params, dz


@pytest.mark.parametrize("name", OPS)
@FD
@given(data=st.data())
def test_inner_product_identity(name, data):
    _inner_product_identity(name, data)


# every op in every size regime it declares beyond small (those draw small half the time anyway)
REGIME_CASES = [(name, r) for name in OPS for r in get_op(name).regimes[1:]]


@pytest.mark.parametrize(("name", "regime"), REGIME_CASES)
@settings(max_examples=examples(4), deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
@given(data=st.data())
def test_inner_product_identity_in_every_regime(name, regime, data):
    _inner_product_identity(name, data, regime)


def _inner_product_identity(name, data, regime=None):
    spec, inputs, params, dz = _draw(data, name, regime)
    grads = spec.reference_vjp(**inputs, dz=dz, **params)
    assert sorted(grads) == sorted(spec.differentiable)
    if all(inputs[n].size == 0 for n in spec.differentiable):  # empty inputs: empty gradients, nothing to move
        assert all(grads[n].value.shape == inputs[n].shape for n in spec.differentiable)
        return
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="direction seed"))
    direction = {n: rng.standard_normal(inputs[n].shape) * element_scale(inputs[n]) for n in spec.differentiable}
    fd = fd_dot(spec, inputs, params, direction, dz, sensitivity(inputs, grads))
    lhs = sum(float(np.sum(direction[n] * grads[n].value)) for n in spec.differentiable)
    rhs = fd.dot(dz)
    scale = sum(float(np.sum(np.abs(direction[n]) * grads[n].magnitude)) for n in spec.differentiable)
    scale = max(scale, float(np.sum(np.abs(fd.value * dz))), 1e-300)
    # the finite difference's own error (truncation estimated from a second, coarser
    # extrapolation, plus rounding): it must be small enough for the check to mean something
    fd_error = fd.dot_error(dz)
    assert fd.dot_truncation(dz) <= FD_INFORMATIVE * scale + fd.dot_rounding(dz), (
        f"{name}: finite differences inconclusive (error bound {fd_error:.3g} at step {fd.step:.3g}, "
        f"scale {scale:.3g}): the case is too close to a kink or pole for any step")
    assert abs(lhs - rhs) <= 1e-6 * scale + fd_error, (
        f"{name}: <t, vjp(dz)> = {lhs!r} but <J t, dz> = {rhs!r} (scale {scale:.3g}, "
        f"fd error bound {fd_error:.3g} at step {fd.step:.3g})")


@pytest.mark.parametrize("name", OPS)
@FD
@given(data=st.data())
def test_full_jacobian_on_small_inputs(name, data):
    spec, inputs, params, dz = _draw(data, name)
    grads = spec.reference_vjp(**inputs, dz=dz, **params)
    for n in spec.differentiable:
        if inputs[n].size > 48 or dz.size > 256:
            continue  # the inner-product test covers large inputs
        want, truncation, rounding = jacobian_dz_columns(spec, inputs, params, n, dz, sensitivity(inputs, grads))
        got = grads[n].value
        size = grads[n].magnitude + np.abs(want)
        assert np.all(truncation <= FD_INFORMATIVE * size + rounding), (
            f"{name} d{n}: finite differences inconclusive (truncation bounds {truncation.max():.3g})")
        tol = 1e-6 * size + truncation + rounding
        bad = np.abs(got - want) > tol
        assert not bad.any(), (
            f"{name} d{n}: oracle differs from J^T dz at {np.argwhere(bad)[:3].tolist()}: "
            f"got {got[bad][:3]}, finite differences {want[bad][:3]}"
        )


@pytest.mark.parametrize("name", OPS)
@settings(max_examples=examples(10), deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_magnitude_bounds_value(name, data):
    """The rounding magnitude is finite, at least |gradient|, and terms is a positive count."""
    spec, inputs, params, dz = _draw(data, name)
    for n, g in spec.reference_vjp(**inputs, dz=dz, **params).items():
        assert g.value.shape == inputs[n].shape, f"{name} d{n}: shape {g.value.shape} != input {inputs[n].shape}"
        assert np.all(np.isfinite(g.magnitude)), f"{name} d{n}: non-finite magnitude"
        assert np.all(g.magnitude >= np.abs(g.value) * (1 - 1e-12)), f"{name} d{n}: magnitude below |value|"
        assert int(g.terms) >= 1


def test_finite_differences_catch_a_broken_reference():
    """Meta test: a VJP missing one term (softmax without -s.dz) fails the identity check."""
    import dataclasses

    from reference.reduction import softmax

    def broken_vjp(x, dz, axis=-1):
        from reference import Grad

        s = softmax(x, axis)
        return {"x": Grad(s * dz, np.abs(s * dz))}

    spec = dataclasses.replace(get_op("softmax"), reference_vjp=broken_vjp)
    rng = np.random.default_rng(0)
    x, dz = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    t = rng.standard_normal((3, 4)) * element_scale(x)
    lhs = float(np.sum(t * spec.reference_vjp(x=x, dz=dz, axis=-1)["x"].value))
    fd = fd_dot(spec, {"x": x}, {"axis": -1}, {"x": t}, dz,
                sensitivity({"x": x}, get_op("softmax").reference_vjp(x=x, dz=dz, axis=-1)))
    rhs = fd.dot(dz)
    good = float(np.sum(t * get_op("softmax").reference_vjp(x=x, dz=dz, axis=-1)["x"].value))
    assert abs(good - rhs) < 1e-8 * abs(rhs) + 1e-12
    assert abs(lhs - rhs) > 1e-3 * abs(rhs)
    assert fd.dot_error(dz) < 1e-6 * abs(lhs - rhs), "the error bound must stay far below a missing term"
    # the fixed-step difference agrees here (no pole, no kink)
    fixed = float(np.sum(directional_derivative(spec, {"x": x}, {"axis": -1}, {"x": t}, H) * dz))
    assert abs(fixed - rhs) < 1e-8 * abs(rhs)


# ---------------------------------------------------------------------------------------------
# draws that once failed with random seeds, kept as plain tests (truth from mpmath)

# test_inner_product_identity[tan] drew these (float16-rounded by tan's avoid(), which keeps
# every x 0.1 from a pole): 26.59375 is 0.1098 from the pole 17 pi / 2. A step fixed at 1e-4 of
# |x| moved it by up to ~1e-2, and the Richardson difference missed <J t, dz> by 3e-6 of the
# scale; the oracle (1 / cos^2) was right.
TAN_NEAR_POLES = np.array([
    [-2.111328125, -1.6708984375, 1.0859375, -0.031341552734375],
    [-1.3427734375, 24.109375, -0.46923828125, 0.033477783203125],
    [0.16162109375, -20.71875, 14.625, -0.79150390625],
    [0.0673828125, -0.05169677734375, 26.59375, -0.04681396484375],
])


def _mp_sum(values) -> float:
    mp = pytest.importorskip("mpmath")
    return float(mp.fsum(values))


def test_tan_next_to_a_pole_the_step_resolves_it():
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 40
    spec, x = get_op("tan"), TAN_NEAR_POLES
    rng = np.random.default_rng(3)
    for _ in range(5):
        dz = rng.standard_normal(x.shape)
        t = rng.standard_normal(x.shape) * element_scale(x)
        truth = _mp_sum(mp.mpf(d) * mp.mpf(v) / mp.cos(mp.mpf(a)) ** 2
                        for d, v, a in zip(dz.flat, t.flat, x.flat))
        g = spec.reference_vjp(x=x, dz=dz)["x"]
        scale = float(np.sum(np.abs(t) * g.magnitude))
        fd = fd_dot(spec, {"x": x}, {}, {"x": t}, dz, sensitivity({"x": x}, {"x": g}))
        assert abs(fd.dot(dz) - truth) <= fd.dot_error(dz), "the bound must cover the difference's error"
        assert fd.dot_error(dz) <= 1e-8 * scale, "and stay far below the check's 1e-6"
        assert abs(float(np.sum(t * g.value)) - truth) <= 1e-13 * scale


# test_full_jacobian_on_small_inputs[sparse_softmax_cross_entropy] drew a confident row: the
# loss log(1 + exp(-21.39)) = 5.1e-10 came out of (x - max) - log(S), S = 1 + 5e-10 rounded, with
# only 7 correct digits, so the finite difference of dloss/dlogits[0, 1] (2.2968e-10) read
# 2.3171e-10. The oracle's forward was wrong; it now takes log S = log1p(S - 1).
CONFIDENT = np.array([[21.306511249300282, -0.08120823899225511]])


def test_confident_log_softmax_keeps_every_digit():
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 40
    from reference import normloss, reduction

    a, b = (mp.mpf(v) for v in CONFIDENT[0])
    log_s = mp.log1p(mp.exp(b - a))  # log S, S = sum exp(x - max)
    u = 2.0**-53
    # (got, truth, relative condition number sum |x_i| |df/dx_i| / |f|): a backward-stable
    # float64 evaluation is within a few u times (1 + condition) of the truth, never u / log S
    cond = float(abs(a) + abs(b))
    checks = [
        (normloss.sparse_softmax_cross_entropy(CONFIDENT, np.array([0])), log_s, cond),
        (normloss.sparse_softmax_cross_entropy(CONFIDENT, np.array([1])), a - b + log_s, 1.0),
        (normloss.softmax_cross_entropy(CONFIDENT, np.array([[1.0, 0.0]])), log_s, cond),
        (reduction.log_softmax(CONFIDENT)[0, 0], -log_s, cond),
        (reduction.logsumexp(np.array([0.0, -30.0])), mp.log1p(mp.exp(-30)), 30.0),
        (reduction.logsumexp(np.array([[0.0, 0.0, -40.0]]), axis=1)[0], mp.log(2 + mp.exp(-40)), 1.0),
    ]
    for got, want, condition in checks:
        assert abs(float(got) - float(want)) <= 4 * u * (1 + condition) * abs(float(want)), (float(got), float(want))


def test_confident_cross_entropy_gradient_matches_finite_differences():
    spec = get_op("sparse_softmax_cross_entropy")
    inputs, dz = {"logits": CONFIDENT, "labels": np.array([0])}, np.array(0.4463745723640113)
    g = spec.reference_vjp(**inputs, dz=dz)["logits"]
    want, truncation, rounding = jacobian_dz_columns(spec, inputs, {}, "logits", dz,
                                                     sensitivity(inputs, {"logits": g}))
    assert np.all(np.abs(g.value - want) <= 1e-6 * (g.magnitude + np.abs(want)) + truncation + rounding)
    assert abs(want[0, 1] - 2.296840792e-10) < 1e-18  # dz / B * softmax(logits)[1], by mpmath


# the bound fd_dot reports covers its true error (mpmath) where the function curves fast at the
# scale of the step: next to poles, at the edge of log1p's domain, far up exp
@pytest.mark.parametrize(("op", "x", "derivative"), [
    ("tan", 26.59375, lambda mp, v: 1 / mp.cos(v) ** 2),
    ("tan", -1.6708984375, lambda mp, v: 1 / mp.cos(v) ** 2),
    ("tan", 1.4707963267948966, lambda mp, v: 1 / mp.cos(v) ** 2),
    ("log1p", -0.96875, lambda mp, v: 1 / (1 + v)),
    ("log", 0.01, lambda mp, v: 1 / v),
    ("reciprocal", 0.0123, lambda mp, v: -1 / v**2),
    ("rsqrt", 0.0123, lambda mp, v: -mp.mpf(1) / 2 * v ** mp.mpf(-1.5)),
    ("exp", 8.3, lambda mp, v: mp.exp(v)),
    ("softplus", -30.0, lambda mp, v: 1 / (1 + mp.exp(-v))),
])
def test_finite_difference_error_bound_holds(op, x, derivative):
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 40
    spec = get_op(op)
    xs = np.array([x])
    for t_size in (1.0, 3.0, -2.5):
        t = np.array([t_size]) * element_scale(xs)
        dz = np.ones(1)
        fd = fd_dot(spec, {"x": xs}, {}, {"x": t}, dz, sensitivity({"x": xs}, spec.reference_vjp(x=xs, dz=dz)))
        truth = float(derivative(mp, mp.mpf(x)) * mp.mpf(float(t[0])))
        assert abs(fd.dot(dz) - truth) <= fd.dot_error(dz), (fd.dot(dz), truth, fd.dot_error(dz), fd.step)
        assert fd.dot_error(dz) <= 1e-7 * abs(truth)
