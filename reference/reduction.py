"""Reductions over one axis, several axes or all of them, and log_softmax.

Notation: ``axis`` is an int, a tuple of ints (any order, negative allowed) or None (all axes);
A is the set of reduced axes and N the number of elements reduced into each output (the product
of the reduced sides). ``keepdims`` keeps the reduced axes with size 1. ``sum``, ``max`` and ``min`` shadow the
builtins in this module (use ``builtins.max`` etc.). ``dz`` has the output's
shape; ``dzb`` is dz broadcast back over A to the input's shape. Every VJP below has the form
``dx = dzb * (something per element)``; no cotangent element feeds more than its own group.
"""

from __future__ import annotations

import builtins

import numpy as np

from reference._grad import Grad, f64
from reference.special_functions import log_sum_exp_parts


def reduced_axes(axis, ndim: int) -> tuple[int, ...]:
    """The reduced axes as sorted non-negative ints (``axis`` int, tuple/list or None)."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    axes = sorted({int(a) % builtins.max(ndim, 1) for a in axis})
    return tuple(axes)


def group_size(shape: tuple[int, ...], axis) -> int:
    """N: how many elements each output reduces."""
    return int(np.prod([shape[a] for a in reduced_axes(axis, len(shape))], dtype=np.int64))


def _back(dz: np.ndarray, axes: tuple[int, ...], keepdims: bool, shape: tuple[int, ...]) -> np.ndarray:
    """dz broadcast back to the input's shape (the reduced axes restored first if dropped)."""
    dz = np.asarray(dz, dtype=np.float64)
    if not keepdims:
        dz = np.expand_dims(dz, axes)
    return np.broadcast_to(dz, shape)


def _keep(a: np.ndarray, axes: tuple[int, ...], keepdims: bool) -> np.ndarray:
    return a if keepdims else np.squeeze(a, axis=axes)


# ---------------------------------------------------------------- sum, mean, prod


def sum(x: np.ndarray, axis=None, keepdims: bool = False) -> np.ndarray:  # catalogue name, shadows the builtin
    """z = sum of x over the reduced axes."""
    (x,) = f64(x)
    return np.sum(x, axis=reduced_axes(axis, x.ndim), keepdims=keepdims)


def sum_vjp(x: np.ndarray, dz: np.ndarray, axis=None, keepdims: bool = False) -> dict[str, Grad]:
    """dx = dzb (dz copied to every element of its group; exact in any dtype)."""
    (x,) = f64(x)
    axes = reduced_axes(axis, x.ndim)
    dx = np.array(_back(dz, axes, keepdims, x.shape))
    return {"x": Grad(dx, np.abs(dx))}


def mean(x: np.ndarray, axis=None, keepdims: bool = False) -> np.ndarray:
    """z = (1/N) * sum of x over the reduced axes."""
    (x,) = f64(x)
    return np.mean(x, axis=reduced_axes(axis, x.ndim), keepdims=keepdims)


def mean_vjp(x: np.ndarray, dz: np.ndarray, axis=None, keepdims: bool = False) -> dict[str, Grad]:
    """dx = dzb / N."""
    (x,) = f64(x)
    axes = reduced_axes(axis, x.ndim)
    dx = _back(dz, axes, keepdims, x.shape) / group_size(x.shape, axes)
    return {"x": Grad(dx, np.abs(dx))}


def _others_product(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """prod_{j != i} x_j within each group, without dividing (exact where some x_j == 0)."""
    nd = x.ndim
    last = tuple(range(nd - len(axes), nd))
    moved = np.moveaxis(x, axes, last)
    flat = moved.reshape(*moved.shape[: nd - len(axes)], -1)
    ones = np.ones(flat.shape[:-1] + (1,))
    left = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    right = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    return np.moveaxis((left * right).reshape(moved.shape), last, axes)


def prod(x: np.ndarray, axis=None, keepdims: bool = False) -> np.ndarray:
    """z = product of x over the reduced axes."""
    (x,) = f64(x)
    return np.prod(x, axis=reduced_axes(axis, x.ndim), keepdims=keepdims)


def prod_vjp(x: np.ndarray, dz: np.ndarray, axis=None, keepdims: bool = False) -> dict[str, Grad]:
    """dx_i = dzb * prod_{j != i} x_j (the product of the *other* elements of the group).

    Magnitude: a product of N - 1 factors has relative rounding error ~ (N - 1) u whichever way it
    is formed (z / x_i, or exclusive cumulative products), so the magnitude is |dx| itself and
    terms = N.
    """
    (x,) = f64(x)
    axes = reduced_axes(axis, x.ndim)
    dx = _back(dz, axes, keepdims, x.shape) * _others_product(x, axes)
    return {"x": Grad(dx, np.abs(dx), terms=group_size(x.shape, axes))}


# ---------------------------------------------------------------- max, min


def max(x: np.ndarray, axis=None, keepdims: bool = False) -> np.ndarray:  # catalogue name, shadows the builtin
    """z = largest element of each group."""
    (x,) = f64(x)
    return np.max(x, axis=reduced_axes(axis, x.ndim), keepdims=keepdims)


def min(x: np.ndarray, axis=None, keepdims: bool = False) -> np.ndarray:  # catalogue name, shadows the builtin
    """z = smallest element of each group."""
    (x,) = f64(x)
    return np.min(x, axis=reduced_axes(axis, x.ndim), keepdims=keepdims)


def _chooser_vjp(x, dz, axis, keepdims, pick) -> dict[str, Grad]:
    (x,) = f64(x)
    axes = reduced_axes(axis, x.ndim)
    z = pick(x, axis=axes, keepdims=True)
    hit = (x == z).astype(np.float64)
    count = np.sum(hit, axis=axes, keepdims=True)
    dx = _back(dz, axes, keepdims, x.shape) * hit / count
    return {"x": Grad(dx, np.abs(dx))}


def max_vjp(x: np.ndarray, dz: np.ndarray, axis=None, keepdims: bool = False) -> dict[str, Grad]:
    """dx = dzb at the position of each group's maximum, 0 elsewhere (exact).

    Ties are a kink: any convex combination of dz over the tied maxima is a valid subgradient;
    the oracle splits dz evenly (accuracy cases never have ties).
    """
    return _chooser_vjp(x, dz, axis, keepdims, np.max)


def min_vjp(x: np.ndarray, dz: np.ndarray, axis=None, keepdims: bool = False) -> dict[str, Grad]:
    """dx = dzb at the position of each group's minimum, 0 elsewhere (exact; ties as for max)."""
    return _chooser_vjp(x, dz, axis, keepdims, np.min)


# ---------------------------------------------------------------- logsumexp, log_softmax


def _shifted(x: np.ndarray, axes: tuple[int, ...]):
    """max m, exp(x - m), S = sum exp(x - m) and log S over the axes (all keepdims; log S
    accurate where S is close to 1, see log_sum_exp_parts)."""
    return log_sum_exp_parts(x, axes)


def logsumexp(x: np.ndarray, axis=None, keepdims: bool = False) -> np.ndarray:
    """z = log sum exp(x) over the reduced axes = m + log sum exp(x - m), m the group's max."""
    (x,) = f64(x)
    axes = reduced_axes(axis, x.ndim)
    m, _, _, log_s = _shifted(x, axes)
    return _keep(m + log_s, axes, keepdims)


def logsumexp_vjp(x: np.ndarray, dz: np.ndarray, axis=None, keepdims: bool = False) -> dict[str, Grad]:
    """dx = dzb * softmax(x) over the reduced axes, i.e. dzb * exp(x - z).

    Magnitude: |dzb| * s * (1 + |z| + |x - z|): the framework forms exp of an argument carrying
    an absolute rounding error of u * (|z| + |x - z|) when it reuses the rounded output z (or
    u * |x - m| when it shifts by the max), which becomes a relative error of exp. terms = N.
    tiny: a subnormal s flushed to zero moves dx by |dzb| per smallest normal.
    """
    (x,) = f64(x)
    axes = reduced_axes(axis, x.ndim)
    m, e, s, log_s = _shifted(x, axes)
    z = m + log_s
    p = e / s
    dzb = _back(dz, axes, keepdims, x.shape)
    cond = 1.0 + np.abs(z) + np.abs(x - z)
    return {"x": Grad(dzb * p, np.abs(dzb) * p * cond, terms=group_size(x.shape, axes),
                      tiny=1.0 + np.abs(dzb))}


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """y_i = x_i - log sum_j exp(x_j) along ``axis`` = (x_i - m) - log S, S = sum exp(x_j - m)."""
    (x,) = f64(x)
    m, _, _, log_s = _shifted(x, (axis,))
    return (x - m) - log_s


def log_softmax_vjp(x: np.ndarray, dz: np.ndarray, axis: int = -1) -> dict[str, Grad]:
    """dx = dz - s * sum(dz), with s = softmax(x, axis) = exp(y) and the sum along ``axis``.

    Magnitude: |dz| + s * cond * sum|dz|, where cond = 1 + |x - m| + log S bounds the rounding of
    the exponent s is formed from (exp of the rounded output y, or of x - m). terms = length of
    the axis. tiny: a flushed subnormal s moves dx by sum|dz| per smallest normal.
    """
    (x, dz) = f64(x, dz)
    m, e, s, log_s = _shifted(x, (axis,))
    p = e / s
    dx = dz - p * np.sum(dz, axis=axis, keepdims=True)
    abs_sum = np.sum(np.abs(dz), axis=axis, keepdims=True)
    cond = 1.0 + np.abs(x - m) + log_s
    return {"x": Grad(dx, np.abs(dz) + p * cond * abs_sum, terms=x.shape[axis], tiny=1.0 + abs_sum)}


# ---------------------------------------------------------------- var, std, l2_norm


def _centred(x: np.ndarray, axes: tuple[int, ...]):
    """c = x - mean, and a = |c| + mean|x|: the absolute rounding scale of the computed c (the
    subtraction rounds |c|, the mean carries an error of order u * mean|x|)."""
    c = x - np.mean(x, axis=axes, keepdims=True)
    return c, np.abs(c) + np.mean(np.abs(x), axis=axes, keepdims=True)


def var(x: np.ndarray, axis=None, keepdims: bool = False, ddof: int = 0) -> np.ndarray:
    """v = sum (x - mean)^2 / (N - ddof) over the reduced axes."""
    (x,) = f64(x)
    axes = reduced_axes(axis, x.ndim)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.var(x, axis=axes, ddof=ddof, keepdims=keepdims)


def var_vjp(x: np.ndarray, dz: np.ndarray, axis=None, keepdims: bool = False, ddof: int = 0) -> dict[str, Grad]:
    """dx = dzb * 2 (x - mean) / (N - ddof).

    Magnitude: 2 |dzb| (|x - mean| + mean|x|) / (N - ddof): the centring x - mean cancels, and
    its absolute error is of order u * (|x - mean| + mean|x|). terms = N.
    """
    (x,) = f64(x)
    axes = reduced_axes(axis, x.ndim)
    n = group_size(x.shape, axes)
    c, a = _centred(x, axes)
    dzb = _back(dz, axes, keepdims, x.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = 2.0 / (n - ddof)
        return {"x": Grad(dzb * c * k, np.abs(dzb) * a * abs(k), terms=n)}


def std(x: np.ndarray, axis=None, keepdims: bool = False, ddof: int = 0) -> np.ndarray:
    """s = sqrt(var(x, ddof)) over the reduced axes."""
    return np.sqrt(var(x, axis, keepdims, ddof))


def std_vjp(x: np.ndarray, dz: np.ndarray, axis=None, keepdims: bool = False, ddof: int = 0) -> dict[str, Grad]:
    """dx = dzb * (x - mean) / ((N - ddof) * s), s = std(x, ddof).

    Magnitude: |dzb| / ((N - ddof) s) * (a + |x - mean| * kappa) with a = |x - mean| + mean|x|
    (the centring's rounding scale) and kappa = 1 + sum(|x - mean| a) / sum (x - mean)^2, the
    relative conditioning of the computed s (a common factor of every element). terms = N.
    tiny: an absolute error of one smallest normal in the sum of squares ss = sum (x - mean)^2
    (subnormal squares flushed) moves dx by |dx| / (2 ss).

    At zero variance with N >= 2 (all elements equal) std is not differentiable (a kink; the
    oracle takes the subgradient 0 there). With a single element (N = 1, ddof = 0) std is the
    constant 0, so the gradient is exactly 0 (the same formula's value).
    """
    (x,) = f64(x)
    axes = reduced_axes(axis, x.ndim)
    n = group_size(x.shape, axes)
    c, a = _centred(x, axes)
    dzb = _back(dz, axes, keepdims, x.shape)
    ss = np.sum(c * c, axis=axes, keepdims=True)
    flat = ss == 0
    ss = np.where(flat, 1.0, ss)
    s = np.sqrt(ss / (n - ddof))
    kappa = 1.0 + np.sum(np.abs(c) * a, axis=axes, keepdims=True) / ss
    scale = np.where(flat, 0.0, np.abs(dzb) / ((n - ddof) * s))
    dx = np.where(flat, 0.0, dzb * c / ((n - ddof) * s))
    tiny = 1.0 + np.abs(dx) / ss
    return {"x": Grad(dx, scale * (a + np.abs(c) * kappa), terms=n, tiny=tiny)}


def l2_norm(x: np.ndarray, axis=None, keepdims: bool = False) -> np.ndarray:
    """n = sqrt(sum x^2) over the reduced axes (the Euclidean / Frobenius norm)."""
    (x,) = f64(x)
    return np.sqrt(np.sum(x * x, axis=reduced_axes(axis, x.ndim), keepdims=keepdims))


def l2_norm_vjp(x: np.ndarray, dz: np.ndarray, axis=None, keepdims: bool = False) -> dict[str, Grad]:
    """dx = dzb * x / n.

    Magnitude: |dzb| |x| / n (a sum of squares has no cancellation; n's relative error grows
    with N only, hence terms = N). tiny: an absolute error of one smallest normal in the sum of
    squares (subnormal squares flushed) moves dx by |dzb| |x| / (2 n^3). At the zero vector the
    norm is not differentiable (a kink; the oracle takes the subgradient 0 there).
    """
    (x,) = f64(x)
    axes = reduced_axes(axis, x.ndim)
    dzb = _back(dz, axes, keepdims, x.shape)
    n = np.sqrt(np.sum(x * x, axis=axes, keepdims=True))
    zero = n == 0
    n = np.where(zero, 1.0, n)
    dx = np.where(zero, 0.0, dzb * x / n)
    tiny = np.where(zero, 1.0, 1.0 + np.abs(dzb) * np.abs(x) / n**3)
    return {"x": Grad(dx, np.abs(dx), terms=group_size(x.shape, axes), tiny=tiny)}


# ---------------------------------------------------------------------------------------------
# softmax (one of the seed's four ops), beside log_softmax

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
