"""The value a reference VJP hands back for one input, and helpers shared by the oracle."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Grad:
    """Gradient of one input with the figures the tolerance model needs.

    value:     the exact-arithmetic gradient evaluated in float64.
    magnitude: elementwise scale of the rounding error a correct float implementation can make,
               so that ``|got - value| <= c * u * magnitude`` for a small ``c``. It is never
               smaller than ``|value|``.
    terms:     the longest reduction (number of summed products) behind any element; rounding
               error of a correct implementation grows with it.
    tiny:      sensitivity of each element to an absolute error of one smallest-normal in an
               intermediate value: flush-to-zero of subnormal intermediates (XLA, GPUs) may
               move the result by ``tiny * smallest_normal``. A scalar or an array.
    """

    value: np.ndarray
    magnitude: np.ndarray
    terms: int = 1
    tiny: np.ndarray | float = 1.0

    def __post_init__(self) -> None:
        if self.value.shape != self.magnitude.shape:
            raise ValueError(
                f"Grad value shape {self.value.shape} != magnitude shape {self.magnitude.shape}"
            )


def unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``g`` over the dimensions that broadcasting added or stretched to reach its shape."""
    shape = tuple(shape)
    lead = g.ndim - len(shape)
    if lead < 0:
        raise ValueError(f"cannot unbroadcast shape {g.shape} to the larger shape {shape}")
    if lead:
        g = g.sum(axis=tuple(range(lead)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if stretched:
        g = g.sum(axis=stretched, keepdims=True)
    return g.reshape(shape)


def broadcast_factor(out_shape: tuple[int, ...], shape: tuple[int, ...]) -> int:
    """How many output elements each element of an input of ``shape`` feeds by broadcasting, at
    least 1 (a Grad's terms: an empty output feeds nothing back, and sums nothing)."""
    return max(1, int(np.prod(out_shape, dtype=np.int64) // max(1, int(np.prod(shape, dtype=np.int64)))))


def f64(*arrays: np.ndarray) -> list[np.ndarray]:
    """The arrays as float64 (the oracle always computes in float64)."""
    return [np.asarray(a, dtype=np.float64) for a in arrays]


def ieee(fn):
    """Evaluate ``fn`` with IEEE semantics: overflow, 0/0 and the like give inf/nan silently."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with np.errstate(all="ignore"):
            return fn(*args, **kwargs)

    return wrapper
