"""Linear algebra."""

from __future__ import annotations

import numpy as np

from reference._grad import Grad, broadcast_factor, f64, unbroadcast


def matmul(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """z[..., i, j] = sum_k x[..., i, k] * y[..., k, j], batch dimensions broadcast."""
    x, y = f64(x, y)
    return np.matmul(x, y)


def matmul_vjp(x: np.ndarray, y: np.ndarray, dz: np.ndarray) -> dict[str, Grad]:
    """dx = dz @ y^T and dy = x^T @ dz, each summed back over the batch dims it was broadcast on."""
    x, y, dz = f64(x, y, dz)
    yt, xt = np.swapaxes(y, -1, -2), np.swapaxes(x, -1, -2)
    dx = unbroadcast(dz @ yt, x.shape)
    dy = unbroadcast(xt @ dz, y.shape)
    mx = unbroadcast(np.abs(dz) @ np.abs(yt), x.shape)
    my = unbroadcast(np.abs(xt) @ np.abs(dz), y.shape)
    n, m = dz.shape[-1], dz.shape[-2]
    return {
        "x": Grad(dx, mx, terms=n * broadcast_factor(dz.shape[:-2], x.shape[:-2])),
        "y": Grad(dy, my, terms=m * broadcast_factor(dz.shape[:-2], y.shape[:-2])),
    }
