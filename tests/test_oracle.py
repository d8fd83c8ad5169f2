"""The oracle tested hardest: every reference VJP against finite differences of its own forward.

Generic over the registry: a new op is checked by adding its OpSpec. Two checks per example:
the inner-product identity <t, vjp(dz)> == <J t, dz> on random directions t, and, for small
inputs, the full Jacobian column by column. Cases stay well away from kinks (float16's margin).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.registry import all_ops, get_op
from conformance.strategies import cases
from tests.oracle_fd import H, directional_derivative, element_scale, jacobian_columns

OPS = sorted(all_ops())
FD = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)


def forward(spec, inputs, params):
    return np.asarray(spec.reference(**inputs, **params), dtype=np.float64)


def _draw(data, name):
    spec = get_op(name)
    case = data.draw(cases(spec, "float64", scales=(1.0, 0.1, 3.0), kink_dtype="float16"), label="case")
    inputs = case.oracle_inputs()
    dz = case.cotangent.astype(np.float64)
    return spec, inputs, case.params, dz


@pytest.mark.parametrize("name", OPS)
@FD
@given(data=st.data())
def test_inner_product_identity(name, data):
    spec, inputs, params, dz = _draw(data, name)
    grads = spec.reference_vjp(**inputs, dz=dz, **params)
    assert sorted(grads) == sorted(spec.differentiable)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="direction seed"))
    direction = {n: rng.standard_normal(inputs[n].shape) * element_scale(inputs[n]) for n in spec.differentiable}
    jt = directional_derivative(spec, inputs, params, direction, H)
    lhs = sum(float(np.sum(direction[n] * grads[n].value)) for n in spec.differentiable)
    rhs = float(np.sum(jt * dz))
    scale = sum(float(np.sum(np.abs(direction[n]) * grads[n].magnitude)) for n in spec.differentiable)
    scale = max(scale, float(np.sum(np.abs(jt * dz))), 1e-300)
    # the finite difference's own rounding: each f(x ± Ht) is off by ~u|f|, divided by 2H
    fd_noise = 4 * 2.0**-52 * float(np.sum(np.abs(dz) * np.abs(forward(spec, inputs, params)))) / H
    assert abs(lhs - rhs) <= 1e-6 * scale + fd_noise, (
        f"{name}: <t, vjp(dz)> = {lhs!r} but <J t, dz> = {rhs!r} (scale {scale:.3g}, fd noise {fd_noise:.3g})")


@pytest.mark.parametrize("name", OPS)
@FD
@given(data=st.data())
def test_full_jacobian_on_small_inputs(name, data):
    spec, inputs, params, dz = _draw(data, name)
    grads = spec.reference_vjp(**inputs, dz=dz, **params)
    for n in spec.differentiable:
        if inputs[n].size > 48 or dz.size > 256:
            continue  # the inner-product test covers large inputs
        jac = jacobian_columns(spec, inputs, params, n)
        want = (dz.ravel() @ jac).reshape(inputs[n].shape) if jac.size else np.zeros(inputs[n].shape)
        got = grads[n].value
        fd_noise = 4 * 2.0**-52 * float(np.sum(np.abs(dz) * np.abs(forward(spec, inputs, params)))) / (
            H * element_scale(inputs[n]))
        tol = 1e-6 * (grads[n].magnitude + np.abs(want)) + fd_noise
        bad = np.abs(got - want) > tol
        assert not bad.any(), (
            f"{name} d{n}: oracle differs from J^T dz at {np.argwhere(bad)[:3].tolist()}: "
            f"got {got[bad][:3]}, finite differences {want[bad][:3]}"
        )


@pytest.mark.parametrize("name", OPS)
@settings(max_examples=10, deadline=None, database=None)
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

    from reference.softmax import softmax

    def broken_vjp(x, dz, axis=-1):
        from reference import Grad

        s = softmax(x, axis)
        return {"x": Grad(s * dz, np.abs(s * dz))}

    spec = dataclasses.replace(get_op("softmax"), reference_vjp=broken_vjp)
    rng = np.random.default_rng(0)
    x, dz = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    t = rng.standard_normal((3, 4)) * element_scale(x)
    lhs = float(np.sum(t * spec.reference_vjp(x=x, dz=dz, axis=-1)["x"].value))
    rhs = float(np.sum(directional_derivative(spec, {"x": x}, {"axis": -1}, {"x": t}, H) * dz))
    good = float(np.sum(t * get_op("softmax").reference_vjp(x=x, dz=dz, axis=-1)["x"].value))
    assert abs(good - rhs) < 1e-8 * abs(rhs) + 1e-12
    assert abs(lhs - rhs) > 1e-3 * abs(rhs)
