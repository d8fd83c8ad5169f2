"""Magnitudes checked from above: a magnitude too large loosens the op's budget by the same factor
and hides real errors, and no other test would notice (the finite-difference tests check values,
and the rounding tests check that magnitudes are not too small).

The property, for every op of the registry: a gradient computed through float16 when float32 was
asked (a relative error of float16's unit roundoff, 2**-11) must fail float32's budget
somewhere among the drawn cases. That holds exactly when, for some element,
``|value| / magnitude > budget * u32 / u16``: the magnitude may exceed |value| (it is the same
expression on absolute values, so cancellation makes it larger), but not everywhere by more than
the factor that would hide a float16-sized error.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from conformance.dtypes import get_dtype
from conformance.opspec import OpSpec
from conformance.registry import all_ops, get_op
from conformance.strategies import cases
from conformance.tolerances import Tolerances

U32, U16 = get_dtype("float32").unit_roundoff, get_dtype("float16").unit_roundoff
DRAWS = 40
TOLERANCES = Tolerances.load()


def tightness(spec: OpSpec, vjp: Callable[..., Any] | None = None) -> tuple[float, float]:
    """(max over drawn float32 cases and elements of |value| / magnitude, the least such figure
    at which a float16-sized error fails the op's float32 budget)."""
    vjp = vjp or spec.reference_vjp
    seen: list[tuple[float, float]] = []

    @settings(max_examples=DRAWS, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(case=cases(spec, "float32"))
    def draw(case):
        with np.errstate(all="ignore"):
            ref = vjp(**case.oracle_inputs(), dz=case.cotangent.astype(np.float64), **case.params)
        for g in ref.values():
            value = np.abs(np.asarray(g.value, dtype=np.float64))
            magnitude = np.broadcast_to(np.asarray(g.magnitude, dtype=np.float64), value.shape)
            ok = (magnitude > 0) & np.isfinite(magnitude) & np.isfinite(value)
            if ok.any():
                budget = TOLERANCES.budget(spec.name, "any", "cpu", "float32").for_terms(g.terms)
                seen.append((float((value[ok] / magnitude[ok]).max()), budget * U32 / U16))

    draw()
    assert seen, f"{spec.name}: no drawn case had a positive finite magnitude"
    return max(t for t, _ in seen), min(n for _, n in seen)


@pytest.mark.parametrize("op", list(all_ops()))
def test_magnitude_is_tight_enough_that_a_float16_gradient_fails(op: str) -> None:
    tight, need = tightness(get_op(op))
    assert tight > need, (f"{op}: over {DRAWS} cases |value|/magnitude never passed {tight:.3g}, so an error of "
                          f"float16's size would pass float32's budget (needs > {need:.3g}): is the magnitude "
                          "too large?")


def _inflated(spec: OpSpec, factor: float) -> Callable[..., Any]:
    def vjp(**kwargs: Any) -> Any:
        out = spec.reference_vjp(**kwargs)
        return {k: dataclasses.replace(g, magnitude=np.asarray(g.magnitude) * factor) for k, g in out.items()}
    return vjp


@pytest.mark.parametrize("op", ["exp", "matmul", "softmax", "conv2d", "sum"])
def test_a_magnitude_inflated_a_millionfold_is_caught(op: str) -> None:
    """The check above can fail: the issue's mutation (exp's magnitude times 1e6) and others."""
    spec = get_op(op)
    tight, need = tightness(spec, _inflated(spec, 1e6))
    assert tight <= need
