"""Reductions over one axis, several axes or all of them, and log_softmax.

Notation: ``axis`` is an int, a tuple of ints (any order, negative allowed) or None (all axes);
A is the set of reduced axes and N the number of elements reduced into each output (the product
of the reduced sides). ``keepdims`` keeps the reduced axes with size 1. ``sum``, ``max`` and ``min`` shadow the
builtins in this module (use ``builtins.max`` etc.). ``dz`` has the output's
shape; ``dzb`` is dz broadcast back over A to the input's shape. Every VJP below has the form
``dx = dzb * (something per element)``; no cotangent element feeds more than its own group.

Edge cases, as the frameworks define them (torch 2.13, TensorFlow 2.21, JAX 0.10.2):

- An empty group (N = 0, a reduced side of size 0) reduces to the reduction's identity or its
  limit, as all three frameworks give it: sum 0, prod 1, logsumexp -inf, l2_norm 0 (and
  vector_norm of a finite order), and mean, var and std nan (0 / 0). The gradient of an
  empty input is an empty array of its shape.
  ``max`` and ``min`` of an empty group raise ValueError: torch and JAX refuse them (no
  identity); only TensorFlow answers, with -inf / +inf. So do vector_norm's infinite orders
  (torch refuses both; JAX refuses -inf, gives 0 for inf; TensorFlow gives -inf for inf).
- A 0-d input reduced over axis 0 or -1 (an int or a 1-tuple) is one element: torch accepts
  it and returns a 0-d result whatever ``keepdims`` says; TensorFlow and JAX refuse any axis on
  a 0-d input, so the oracle follows torch. ``axis=None`` reduces the 0-d input as one element
  in all three. Any other axis, out of range or repeated, raises ValueError, as everywhere.
- var and std with N <= ddof (one element and ddof = 1, or an empty group) are nan, and so is
  their gradient (torch and JAX; TensorFlow's mapping divides by N - ddof in Python and raises).
"""

from __future__ import annotations

import builtins
from fractions import Fraction

import numpy as np

from reference._grad import Grad, f64
from reference.special_functions import log_sum_exp_parts


def reduced_axes(axis, ndim: int) -> tuple[int, ...]:
    """The reduced axes as sorted non-negative ints (``axis`` int, tuple/list or None).

    Every axis must lie in [-ndim, ndim) and appear once (ValueError otherwise). On a 0-d input
    axis 0 and -1 name its one element (torch's rule): the reduced axes are then ``()``.
    """
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    given = [int(a) for a in axis]
    if ndim == 0:
        if any(a not in (0, -1) for a in given) or len(given) > 1:
            raise ValueError(f"axis {axis!r} on a 0-d input: only 0 or -1 (one of them, once) name its "
                             "element (torch's rule; TensorFlow and JAX refuse any axis there)")
        return ()
    bad = [a for a in given if not -ndim <= a < ndim]
    if bad:
        raise ValueError(f"axis {bad[0]} is out of range for an input of rank {ndim}")
    axes = sorted({a % ndim for a in given})
    if len(axes) != len(given):
        raise ValueError(f"axis {axis!r} names an axis twice (rank {ndim})")
    return tuple(axes)


def group_size(shape: tuple[int, ...], axis) -> int:
    """N: how many elements each output reduces (0 for an empty group, 1 on a 0-d input)."""
    return int(np.prod([shape[a] for a in reduced_axes(axis, len(shape))], dtype=np.int64))


def _terms(shape: tuple[int, ...], axes: tuple[int, ...]) -> int:
    """The Grad's terms: N, at least 1 (an empty group sums nothing, and feeds no element)."""
    return builtins.max(1, group_size(shape, axes))


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
    axes = reduced_axes(axis, x.ndim)
    if group_size(x.shape, axes) == 0:  # 0 / 0 (without NumPy's empty-slice warning)
        return np.full(np.shape(np.sum(x, axis=axes, keepdims=keepdims)), np.nan)
    return np.mean(x, axis=axes, keepdims=keepdims)


def mean_vjp(x: np.ndarray, dz: np.ndarray, axis=None, keepdims: bool = False) -> dict[str, Grad]:
    """dx = dzb / N."""
    (x,) = f64(x)
    axes = reduced_axes(axis, x.ndim)
    dx = _back(dz, axes, keepdims, x.shape) / group_size(x.shape, axes)
    return {"x": Grad(dx, np.abs(dx))}


def _others_product(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """prod_{j != i} x_j within each group, without dividing (exact where some x_j == 0)."""
    nd = x.ndim
    if x.size == 0:
        return np.ones(x.shape)
    last = tuple(range(nd - len(axes), nd))
    moved = np.moveaxis(x, axes, last)
    flat = moved.reshape(*moved.shape[: nd - len(axes)], group_size(x.shape, axes))
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
    return {"x": Grad(dx, np.abs(dx), terms=_terms(x.shape, axes))}


# ---------------------------------------------------------------- max, min


def _chooser_axes(x: np.ndarray, axis, which: str) -> tuple[int, ...]:
    axes = reduced_axes(axis, x.ndim)
    if group_size(x.shape, axes) == 0:
        raise ValueError(f"{which} over an empty group (a reduced side of size 0, input shape {x.shape}) is "
                         f"not drawn: frameworks refuse it (torch and JAX raise, there is no identity; only "
                         f"TensorFlow answers, with {'-inf' if which == 'max' else '+inf'})")
    return axes


def max(x: np.ndarray, axis=None, keepdims: bool = False) -> np.ndarray:  # catalogue name, shadows the builtin
    """z = largest element of each group (an empty group raises ValueError: see the module)."""
    (x,) = f64(x)
    return np.max(x, axis=_chooser_axes(x, axis, "max"), keepdims=keepdims)


def min(x: np.ndarray, axis=None, keepdims: bool = False) -> np.ndarray:  # catalogue name, shadows the builtin
    """z = smallest element of each group (an empty group raises ValueError: see the module)."""
    (x,) = f64(x)
    return np.min(x, axis=_chooser_axes(x, axis, "min"), keepdims=keepdims)


def _chooser_vjp(x, dz, axis, keepdims, pick) -> dict[str, Grad]:
    (x,) = f64(x)
    axes = _chooser_axes(x, axis, "max" if pick is np.max else "min")
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
    return {"x": Grad(dzb * p, np.abs(dzb) * p * cond, terms=_terms(x.shape, axes),
                      tiny=1.0 + np.abs(dzb))}


def _softmax_axes(x: np.ndarray, axis: int) -> tuple[int, ...]:
    """``axis`` as reduced axes: ``(axis,)``, or ``()`` on a 0-d input (axis 0 or -1: softmax of
    one element, torch's rule; TensorFlow and JAX refuse a 0-d input)."""
    return reduced_axes(int(axis), x.ndim)


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """y_i = x_i - log sum_j exp(x_j) along ``axis`` = (x_i - m) - log S, S = sum exp(x_j - m).
    An empty axis gives an empty output; a 0-d input (axis 0 or -1) gives 0 (torch)."""
    (x,) = f64(x)
    m, _, _, log_s = _shifted(x, _softmax_axes(x, axis))
    return (x - m) - log_s


def log_softmax_vjp(x: np.ndarray, dz: np.ndarray, axis: int = -1) -> dict[str, Grad]:
    """dx = dz - s * sum(dz), with s = softmax(x, axis) = exp(y) and the sum along ``axis``.

    Magnitude: |dz| + s * cond * sum|dz|, where cond = 1 + |x - m| + log S bounds the rounding of
    the exponent s is formed from (exp of the rounded output y, or of x - m). terms = length of
    the axis. tiny: a flushed subnormal s moves dx by sum|dz| per smallest normal.
    """
    (x, dz) = f64(x, dz)
    axes = _softmax_axes(x, axis)
    m, e, s, log_s = _shifted(x, axes)
    p = e / s
    dx = dz - p * np.sum(dz, axis=axes, keepdims=True)
    abs_sum = np.sum(np.abs(dz), axis=axes, keepdims=True)
    cond = 1.0 + np.abs(x - m) + log_s
    return {"x": Grad(dx, np.abs(dz) + p * cond * abs_sum, terms=_terms(x.shape, axes), tiny=1.0 + abs_sum)}


# ---------------------------------------------------------------- var, std, l2_norm


def _centred(x: np.ndarray, axes: tuple[int, ...]):
    """c = x - mean, and a = |c| + mean|x|: the absolute rounding scale of the computed c (the
    subtraction rounds |c|, the mean carries an error of order u * mean|x|)."""
    c = x - np.mean(x, axis=axes, keepdims=True)
    return c, np.abs(c) + np.mean(np.abs(x), axis=axes, keepdims=True)


def var(x: np.ndarray, axis=None, keepdims: bool = False, ddof: int = 0) -> np.ndarray:
    """v = sum (x - mean)^2 / (N - ddof) over the reduced axes (nan where N <= ddof)."""
    (x,) = f64(x)
    axes = reduced_axes(axis, x.ndim)
    if group_size(x.shape, axes) <= ddof:  # 0 / 0 (without NumPy's warning)
        return np.full(np.shape(np.sum(x, axis=axes, keepdims=keepdims)), np.nan)
    return np.var(x, axis=axes, ddof=ddof, keepdims=keepdims)


def _undefined(x: np.ndarray, n: int) -> dict[str, Grad]:
    """The gradient where N <= ddof: nan (torch and JAX), with no rounding claim (nan)."""
    nan = np.full(x.shape, np.nan)
    return {"x": Grad(nan, nan.copy(), terms=builtins.max(1, n))}


def var_vjp(x: np.ndarray, dz: np.ndarray, axis=None, keepdims: bool = False, ddof: int = 0) -> dict[str, Grad]:
    """dx = dzb * 2 (x - mean) / (N - ddof); nan where N <= ddof.

    Magnitude: 2 |dzb| (|x - mean| + mean|x|) / (N - ddof): the centring x - mean cancels, and
    its absolute error is of order u * (|x - mean| + mean|x|). terms = N.
    """
    (x,) = f64(x)
    axes = reduced_axes(axis, x.ndim)
    n = group_size(x.shape, axes)
    if n <= ddof:
        return _undefined(x, n)
    c, a = _centred(x, axes)
    dzb = _back(dz, axes, keepdims, x.shape)
    k = 2.0 / (n - ddof)
    return {"x": Grad(dzb * c * k, np.abs(dzb) * a * k, terms=n)}


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
    oracle takes the subgradient 0 there). With a single element (N = 1, ddof = 0; a 0-d input
    too) std is the constant 0, so the gradient is exactly 0 (the same formula's value). Where
    N <= ddof, std is nan and so is its gradient (torch and JAX).
    """
    (x,) = f64(x)
    axes = reduced_axes(axis, x.ndim)
    n = group_size(x.shape, axes)
    if n <= ddof:
        return _undefined(x, n)
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
    return {"x": Grad(dx, np.abs(dx), terms=_terms(x.shape, axes), tiny=tiny)}


# ---------------------------------------------------------------- vector_norm (ord)


def vector_ord(ord) -> float:
    """The norm's order as a float: a number, or ``"inf"`` / ``"-inf"`` (how the catalogue draws the
    infinite orders, so that records and summaries stay JSON). Orders below 1 other than -inf are
    allowed down to p > 0 (0.5: a quasi-norm); 0 (the count of non-zeros, gradient 0 almost
    everywhere) and negative finite orders raise ValueError."""
    p = float(ord)
    if np.isnan(p) or (p <= 0 and p != -np.inf):
        raise ValueError(f"vector_norm: ord {ord!r} is not drawn (p > 0, inf or -inf)")
    return p


def _extreme_axes(x: np.ndarray, axis, p: float) -> tuple[int, ...]:
    axes = reduced_axes(axis, x.ndim)
    if np.isinf(p) and group_size(x.shape, axes) == 0:
        raise ValueError(f"vector_norm with ord {p} over an empty group (input shape {x.shape}) is not drawn: "
                         "torch refuses both infinite orders there (no identity), JAX refuses -inf and "
                         "gives 0 for inf, TensorFlow gives -inf for inf (its reduce_max)")
    return axes


def vector_norm(x: np.ndarray, ord=2, axis=None, keepdims: bool = False) -> np.ndarray:
    """n = (sum |x|^p)^(1/p) over the reduced axes for a finite order p > 0 (p = 2: l2_norm,
    p = 1: sum |x|); p = inf: max |x|, p = -inf: min |x| (an empty group raises ValueError for
    both, see :func:`_extreme_axes`; for finite p an empty group's norm is 0)."""
    (x,) = f64(x)
    p = vector_ord(ord)
    axes = _extreme_axes(x, axis, p)
    a = np.abs(x)
    if p == np.inf:
        return np.max(a, axis=axes, keepdims=keepdims)
    if p == -np.inf:
        return np.min(a, axis=axes, keepdims=keepdims)
    if p == 2:
        return l2_norm(x, axis, keepdims)
    if p == 1:
        return np.sum(a, axis=axes, keepdims=keepdims)
    return np.sum(a**p, axis=axes, keepdims=keepdims) ** (1.0 / p)


def vector_norm_vjp(x: np.ndarray, dz: np.ndarray, ord=2, axis=None, keepdims: bool = False) -> dict[str, Grad]:
    """By order p (dzb: dz broadcast over the reduced axes):

    - p = 2: dx = dzb * x / n, l2_norm's VJP (and figures) exactly.
    - p = 1: dx = dzb * sign(x), exact. Kink: an element at 0, where any value in [-1, 1] times
      dz is a subgradient; the oracle takes sign(0) = 0.
    - p = inf / -inf: dx = dzb * sign(x) at the element of largest / smallest |x| of each group,
      0 elsewhere, exact. Kinks: ties in |x| (any convex combination over the tied elements of
      sign(x_j) dz; the oracle splits evenly) and, for -inf, a smallest |x| of 0 (any value in
      [-1, 1] times dz there; the oracle gives 0).
    - other p > 0: dx = dzb * sign(x) * (|x| / n)^(p - 1). Magnitude |dx| (1 + |p - 1|): the
      ratio's power turns the relative error of n (grown with N, hence terms = N) and of the
      powers into (p - 1) times as much; where 1/p is not a binary fraction (p = 3) a framework
      raises S = sum |x|^p to the rounded 1/p, which moves n by |ln S| u / p (S = 1e-12: 9 u),
      so |dx| |p - 1| |ln S| / p is added. tiny: an absolute error of one smallest normal in
      S = sum |x|^p (flushed subnormal powers) moves dx by |dx| |p - 1| / (p S). Kinks: the zero
      vector (n = 0; the oracle gives 0). For p < 1 an element at 0 is no kink but a point
      where the derivative of |x|^p is unbounded (no finite subgradient, nothing to probe);
      the oracle gives 0 there, and accuracy cases keep off it.
    """
    (x,) = f64(x)
    p = vector_ord(ord)
    if p == 2:
        return l2_norm_vjp(x, dz, axis, keepdims)
    axes = _extreme_axes(x, axis, p)
    dzb = _back(dz, axes, keepdims, x.shape)
    a = np.abs(x)
    sign = np.sign(x)
    if p == 1:
        dx = dzb * sign
        return {"x": Grad(dx, np.abs(dx))}
    if np.isinf(p):
        n = (np.max if p > 0 else np.min)(a, axis=axes, keepdims=True)
        hit = (a == n).astype(np.float64)
        dx = dzb * sign * hit / np.sum(hit, axis=axes, keepdims=True)
        return {"x": Grad(dx, np.abs(dx))}
    s = np.sum(a**p, axis=axes, keepdims=True)
    zero = s == 0
    n = np.where(zero, 1.0, s ** (1.0 / p))
    with np.errstate(divide="ignore"):
        ratio = np.where(a == 0, 0.0, (a / n) ** (p - 1.0))
    dx = np.where(zero, 0.0, dzb * sign * ratio)
    cond = 1.0 + abs(p - 1.0)
    if Fraction(1.0 / p) * Fraction(p) != 1:  # 1/p is rounded (p = 3): n = S^(1/p) is off by |ln S| u / p
        cond = cond + abs(p - 1.0) / p * np.abs(np.log(np.where(zero, 1.0, s)))
    mag = np.abs(dx) * cond
    tiny = 1.0 + np.abs(dx) * abs(p - 1.0) / (p * np.where(zero, 1.0, s))
    return {"x": Grad(dx, mag, terms=_terms(x.shape, axes), tiny=tiny)}


# ---------------------------------------------------------------------------------------------
# softmax (one of the seed's four ops), beside log_softmax

def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """s_i = exp(x_i - max x) / sum_j exp(x_j - max x) along ``axis``. An empty axis gives an
    empty output; a 0-d input (axis 0 or -1) gives 1 (torch; TensorFlow and JAX refuse it)."""
    (x,) = f64(x)
    axes = _softmax_axes(x, axis)
    e = np.exp(x - np.max(x, axis=axes, keepdims=True, initial=-np.inf))
    return e / e.sum(axis=axes, keepdims=True)


def softmax_vjp(x: np.ndarray, dz: np.ndarray, axis: int = -1) -> dict[str, Grad]:
    """dx = s * (dz - s.dz), where s.dz is the dot product along ``axis``.

    Magnitude: the expression on absolute values, ``s * (|dz| + s.|dz|)``, with each s scaled by
    its own conditioning ``1 + |x - max x|`` (the shifted exponent is rounded before exp).
    """
    (x, dz) = f64(x, dz)
    axes = _softmax_axes(x, axis)
    s = softmax(x, axis)
    sdz = np.sum(s * dz, axis=axes, keepdims=True)
    cond = 1.0 + np.abs(x - np.max(x, axis=axes, keepdims=True, initial=-np.inf))
    abs_dz = np.abs(dz)
    s_abs = np.sum(s * abs_dz, axis=axes, keepdims=True)
    mag = s * cond * (abs_dz + s_abs) + s * np.sum(s * cond * abs_dz, axis=axes, keepdims=True)
    # a flushed (subnormal) s_i moves dx_i by up to |dz_i - s.dz| times the flushed amount
    tiny = 1.0 + abs_dz + s_abs
    return {"x": Grad(s * (dz - sdz), mag, terms=_terms(x.shape, axes), tiny=tiny)}
