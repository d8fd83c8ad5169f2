"""Finite-difference machinery for testing the oracle against its own forward (float64)."""

from __future__ import annotations

import numpy as np

from conformance.opspec import OpSpec


def directional_derivative(spec: OpSpec, inputs: dict, params: dict, direction: dict, h: float) -> np.ndarray:
    """Central difference (f(x + h t) - f(x - h t)) / 2h with a 4th-order Richardson step."""

    def f(eps):
        moved = {k: (v + eps * direction[k] if k in direction else v) for k, v in inputs.items()}
        return np.asarray(spec.reference(**moved, **params), dtype=np.float64)

    d1 = (f(h) - f(-h)) / (2 * h)
    d2 = (f(2 * h) - f(-2 * h)) / (4 * h)
    return (4 * d1 - d2) / 3


H = 1e-4  # relative step: each element moves by about H times its own size


def element_scale(x: np.ndarray) -> np.ndarray:
    """Per-element step scale: the element's own size, floored at 1% of the input's mean size, so
    a small element near a kink (the norm of a tiny vector) is not stepped across by a large one's
    step."""
    a = np.abs(np.asarray(x, dtype=np.float64))
    floor = 1e-2 * (float(a.mean()) if a.size else 1.0) or 1e-2
    return np.maximum(a, floor)


def jacobian_columns(spec: OpSpec, inputs: dict, params: dict, name: str) -> np.ndarray:
    """d out / d inputs[name], one column per element of that input, by central differences."""
    x = inputs[name]
    scale = element_scale(x)
    cols = []
    for i in range(x.size):
        t = np.zeros_like(x, dtype=np.float64)
        t.flat[i] = scale.flat[i]
        cols.append(directional_derivative(spec, inputs, params, {name: t}, H).ravel() / scale.flat[i])
    return np.stack(cols, axis=1) if cols else np.zeros((0, 0))
