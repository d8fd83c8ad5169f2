"""Elementwise activations.

Notation as in the seed: ``z = f(x)`` elementwise, ``dz`` the cotangent, ``dx = dz * f'(x)``.
"""

from __future__ import annotations

import numpy as np

from reference._grad import Grad, f64


def sigmoid(x: np.ndarray) -> np.ndarray:
    """z_i = 1 / (1 + exp(-x_i)), evaluated without overflow for large |x|."""
    (x,) = f64(x)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_vjp(x: np.ndarray, dz: np.ndarray) -> dict[str, Grad]:
    """dx = dz * s * (1 - s) with s = sigmoid(x).

    Magnitude: frameworks form ``s * (1 - s)`` from the rounded output s, so the subtraction
    contributes ``|dz| * s * (1 + s)``.
    """
    (dz,) = f64(dz)
    s = sigmoid(x)
    # 1 - s computed as sigmoid(-x) keeps full relative accuracy for large x.
    one_minus_s = sigmoid(-np.asarray(x, dtype=np.float64))
    # s itself is subnormal for very negative x; flushing it moves dx by |dz| per smallest normal
    return {"x": Grad(dz * s * one_minus_s, np.abs(dz) * s * (1.0 + s), tiny=1.0 + np.abs(dz))}
