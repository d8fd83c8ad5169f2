"""The special-values family: ±0, ±inf, NaN, subnormals and values near overflow.

Kept apart from accuracy cases. Every single-input elementwise op gets the generic IEEE set
below (its oracle is evaluated there in float64 with IEEE semantics, which is what it holds the
true gradient to be: e.g. log'(0) = +inf, sqrt'(0) = +inf, relu'(nan) = nan); ops declare further
cases with ``OpSpec.specials`` (softmax with -inf logits, division by zero...).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
from hypothesis import Phase, find, settings
from hypothesis import strategies as st

from conformance.case import Case, as_oracle, in_dtype
from conformance.dtypes import DType, get_dtype
from conformance.opspec import OpSpec, Special

UNARY_FAMILIES = ("elementwise",)


def _subnormal(d: DType) -> float:
    return d.smallest_normal * 2.0 ** -(d.mantissa_bits // 2)


GENERIC = (
    Special("zero", {"x": lambda d: np.array([0.0, -0.0])}, "IEEE evaluation of f'(±0) (inf or nan where f' is)"),
    Special("inf", {"x": lambda d: np.array([np.inf, -np.inf])}, "the limit of f' at ±inf where it exists, else nan"),
    Special("nan", {"x": lambda d: np.array([np.nan])}, "nan: no gradient at an undefined input"),
    Special("subnormal", {"x": lambda d: np.array([_subnormal(d), -_subnormal(d)])},
            "f' at the subnormal value itself (flush-to-zero is judged by the tiny term)"),
    Special("near-overflow", {"x": lambda d: np.array([d.max / 8, -d.max / 8])},
            "f' at max/8, rounded to the dtype (inf where the true gradient overflows it)"),
)


def is_unary_elementwise(spec: OpSpec) -> bool:
    return spec.family in UNARY_FAMILIES and len(spec.inputs) == 1 and spec.inputs[0].name == "x"


@cache
def minimal_params(op_name: str) -> tuple[tuple[str, Any], ...]:
    """The op's simplest parameters: Hypothesis's minimal example of its structure."""
    from conformance.registry import get_op

    spec = get_op(op_name)

    @st.composite
    def structure(draw):
        return spec.structure(draw, np.random.default_rng(0))

    found = find(structure(), lambda _: True,
                 settings=settings(database=None, phases=[Phase.generate, Phase.shrink], max_examples=1))
    return tuple(found.params.items())


def kink_at_zero(spec: OpSpec) -> bool:
    """Whether a declared kink sits at x = 0 (then ±0 is the convention probe's business)."""
    for k in spec.kinks:
        x = k.inputs.get("x")
        if x is not None and any(np.asarray(x, dtype=np.float64)[tuple(i)] == 0.0 for i in k.at.get("x", [])):
            return True
    return False


def specials_of(spec: OpSpec) -> tuple[Special, ...]:
    generic: tuple[Special, ...] = ()
    if is_unary_elementwise(spec):
        generic = tuple(s for s in GENERIC if not (s.name == "zero" and kink_at_zero(spec)))
    return generic + tuple(spec.specials)


def exact_case(spec: OpSpec, values: dict[str, Any], params: dict[str, Any], dtype: str, family: str,
               **extra: Any) -> Case:
    """A fixed (not drawn) case: these input values in ``dtype`` and an all-ones cotangent of the
    output's shape. Used by the special-values family, the convention probe and the witnesses. A
    param the case leaves out takes the oracle's default (``OpSpec.param_defaults``)."""
    params = {**spec.param_defaults, **params}
    d = get_dtype(dtype)
    inputs = {name: in_dtype(v(d) if callable(v) else v, d.numpy) for name, v in values.items()}
    with np.errstate(all="ignore"):
        out = np.asarray(spec.reference(**{k: as_oracle(v) for k, v in inputs.items()}, **params))
    return Case(spec.name, dtype, inputs, dict(params), np.ones(out.shape, dtype=d.numpy), family=family, **extra)


def special_case(spec: OpSpec, special: Special, dtype: str) -> Case:
    params = dict(special.params)
    if not params and is_unary_elementwise(spec):
        params = dict(minimal_params(spec.name))
    return exact_case(spec, special.inputs, params, dtype, "special",
                      meta={"special": special.name, "holds": special.holds})
