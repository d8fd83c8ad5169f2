"""Softmax family over one axis."""

from __future__ import annotations

import numpy as np

from reference._grad import Grad, f64


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """s_i = exp(x_i - max x) / sum_j exp(x_j - max x) along ``axis``."""
    (x,) = f64(x)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def softmax_vjp(x: np.ndarray, dz: np.ndarray, axis: int = -1) -> dict[str, Grad]:
    """dx = s * (dz - s.dz), where s.dz is the dot product along ``axis``.

    Magnitude: the expression on absolute values, ``s * (|dz| + s.|dz|)``, with each s scaled by
    its own conditioning ``1 + |x - max x|`` (the shifted exponent is rounded before exp).
    """
    (x, dz) = f64(x, dz)
    s = softmax(x, axis)
    sdz = np.sum(s * dz, axis=axis, keepdims=True)
    cond = 1.0 + np.abs(x - x.max(axis=axis, keepdims=True))
    abs_dz = np.abs(dz)
    s_abs = np.sum(s * abs_dz, axis=axis, keepdims=True)
    mag = s * cond * (abs_dz + s_abs) + s * np.sum(s * cond * abs_dz, axis=axis, keepdims=True)
    # a flushed (subnormal) s_i moves dx_i by up to |dz_i - s.dz| times the flushed amount
    tiny = 1.0 + abs_dz + s_abs
    return {"x": Grad(s * (dz - sdz), mag, terms=x.shape[axis], tiny=tiny)}
