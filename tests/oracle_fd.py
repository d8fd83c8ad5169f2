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


def step_for(inputs: dict, names) -> float:
    scale = max([float(np.abs(inputs[n]).max(initial=0.0)) for n in names] + [1.0])
    return 1e-4 * scale


def jacobian_columns(spec: OpSpec, inputs: dict, params: dict, name: str, h: float) -> np.ndarray:
    """d out / d inputs[name], one column per element of that input, by central differences."""
    x = inputs[name]
    cols = []
    for i in range(x.size):
        t = np.zeros_like(x)
        t.flat[i] = 1.0
        cols.append(directional_derivative(spec, inputs, params, {name: t}, h).ravel())
    return np.stack(cols, axis=1) if cols else np.zeros((0, 0))
