"""OpSpecs of the reduction family: sum, mean, prod, max, min, logsumexp, var, std, l2_norm and
vector_norm (of order ``ord``) over one axis, several axes or all of them (``axis`` an int, a tuple
or None, with ``keepdims``), and softmax (the seed's) and log_softmax over one axis."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from conformance.opspec import InputSpec, Kink, OpSpec, spec_factory
from conformance.strategies import Structure, axis, choice, distinct_along, extreme_apart, kink_margin, shape
from reference import reduction as R

X = InputSpec("x")
PARAMS = ("axis", "keepdims")
# prod reduces at most this many elements into one output, its inputs have magnitudes in
# [0.6, 1.6]: products stay within 1.6^12 ~ 281 and 0.6^12 ~ 2e-3 (float16's range).
PROD_MAX_GROUP = 12


def _axis_param(draw, ndim: int):
    """An int axis, a non-empty tuple of distinct axes (any order, some negative) or None (the
    only one of them for a 0-d input: TensorFlow and JAX refuse an axis of a 0-d array)."""
    if ndim == 0:
        return None
    kind = choice(draw, ("int", "tuple", "none"))
    if kind == "int":
        return axis(draw, ndim)
    if kind == "none":
        return None
    chosen = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    return tuple(a - ndim if draw(st.booleans()) else a for a in chosen)


def _reduce(draw, rng, *, max_group: int | None = None, min_group: int = 1, nonempty: bool = False) -> Structure:
    """A reduction's structure: a shape and axes; ``max_group`` caps the elements reduced into one
    output, ``min_group`` raises a non-empty group to that many, ``nonempty`` (max, min: no
    identity) moves the reduction off a size-0 side."""
    s = list(shape(draw))
    ax = _axis_param(draw, len(s))
    axes = R.reduced_axes(ax, len(s))
    if max_group is not None:  # cap the group size by shrinking reduced sides
        left = max_group
        for a in axes:
            s[a] = min(s[a], left)
            left //= max(s[a], 1)
    if nonempty and axes and R.group_size(tuple(s), axes) == 0:  # an empty group has no max
        sides = [i for i, n in enumerate(s) if n > 0]
        if not sides:
            s.append(1)
            sides = [len(s) - 1]
        ax, axes = sides[-1], (sides[-1],)
    if axes and 0 < R.group_size(tuple(s), axes) < min_group:
        s[axes[0]] = min_group
    return Structure({"x": tuple(s)}, {"axis": ax, "keepdims": draw(st.booleans())})


def _plain(draw, rng) -> Structure:
    return _reduce(draw, rng)


def _chooser(draw, rng) -> Structure:
    return _reduce(draw, rng, nonempty=True)


def _prod(draw, rng) -> Structure:
    return _reduce(draw, rng, max_group=PROD_MAX_GROUP)


def _with_ddof(draw, structure: Structure) -> Structure:
    n = R.group_size(structure.shapes["x"], structure.params["axis"])
    structure.params["ddof"] = choice(draw, (0, 1)) if n >= 2 else 0
    return structure


def _var(draw, rng) -> Structure:
    return _with_ddof(draw, _reduce(draw, rng))


def _std(draw, rng) -> Structure:
    # N >= 2: std of one element is the constant 0, probed as a kink-like point instead
    return _with_ddof(draw, _reduce(draw, rng, min_group=2))


# vector_norm's orders: 2 first (l2_norm's, where shrinking ends); the infinite ones as strings, so
# that records, summaries and repro scripts stay JSON (the oracle and the adapters read float(ord))
VECTOR_ORDS = (2, 1, "inf", "-inf", 3, 0.5)
# ord 0.5 reduces at most this many elements into one output: its gradient sign(x) (n / |x|)^(1/2)
# does not change with the scale of x, and n = (sum |x|^(1/2))^2 >= N^2 m with every |x| >= m (the
# kink margin, 0.03 in float16), so a long group's gradient and norm leave float16's range whatever
# the values: 64 elements keep n within a few thousand there.
HALF_ORDER_MAX_GROUP = 64


def _vector_norm(draw, rng) -> Structure:
    """A reduction of order ``ord``; the infinite orders, which have no identity (torch refuses
    an empty group for both), move the reduction off a size-0 side as max and min do; ord 0.5
    reduces at most HALF_ORDER_MAX_GROUP elements into one output."""
    order = choice(draw, VECTOR_ORDS)
    structure = _reduce(draw, rng, nonempty=order in ("inf", "-inf"),
                        max_group=HALF_ORDER_MAX_GROUP if order == 0.5 else None)
    structure.params["ord"] = order
    return structure


def _one_axis(draw, rng) -> Structure:
    s = shape(draw)
    return Structure({"x": s}, {"axis": axis(draw, len(s))})


def _prod_values(values, params, dtype):
    """Magnitudes mapped into [0.6, 1.6] (sign kept, relative sizes ordered): away from 0, and
    products of up to PROD_MAX_GROUP of them stay in every dtype's range."""
    x = np.asarray(values["x"], dtype=np.float64)
    a = np.abs(x) / np.maximum(np.abs(x).max(initial=0.0), 1e-300)
    return {**values, "x": np.where(x < 0, -1.0, 1.0) * (0.6 + a)}


def _unique_max(values, params, dtype):
    """No tie for the maximum of a reduced group."""
    return {**values, "x": extreme_apart(values["x"], params["axis"], kink_margin(dtype))}


def _unique_min(values, params, dtype):
    """No tie for the minimum of a reduced group."""
    return {**values, "x": extreme_apart(values["x"], params["axis"], kink_margin(dtype), largest=False)}


def _std_avoid(values, params, dtype):
    """Each group's standard deviation at least kink_margin * max|x| of the group (zero variance,
    all elements equal, is a kink) and at least 4 sqrt(smallest normal) of the dtype (sqrt near
    0: below it the variance underflows float16). Deviations from the mean are scaled up where
    needed, the mean kept; typical groups are left as drawn."""
    x = np.asarray(values["x"], dtype=np.float64)
    if x.size == 0:
        return dict(values)
    axes = R.reduced_axes(params["axis"], x.ndim)
    m = x.mean(axis=axes, keepdims=True)
    c = x - m
    s = np.sqrt(np.mean(c * c, axis=axes, keepdims=True))
    big = np.abs(x).max(axis=axes, keepdims=True)
    floor = np.maximum(4.0 * np.sqrt(dtype.smallest_normal), kink_margin(dtype) * big)
    if np.any(s == 0):  # an all-equal group: give it a spread first
        c = np.where(s == 0, distinct_along(x, params["axis"], kink_margin(dtype)) - m, c)
        s = np.sqrt(np.mean(c * c, axis=axes, keepdims=True))
    grow = np.where(s < floor, floor / np.where(s > 0, s, 1.0), 1.0)
    return {**values, "x": m + c * grow}


def _not_zero_vector(values, params, dtype):
    """Each group's largest |x| at least the kink margin (the norm is not differentiable at 0)."""
    x = np.array(values["x"], dtype=np.float64)
    axes = R.reduced_axes(params["axis"], x.ndim)
    m = kink_margin(dtype)
    big = np.abs(x).max(axis=axes, keepdims=True) if x.size else np.zeros(())
    first = np.zeros(x.shape, dtype=bool)
    first[tuple(slice(0, 1) if i in axes else slice(None) for i in range(x.ndim))] = True
    x = np.where(first & (big < m), np.where(x < 0, -m, m), x)
    return {**values, "x": x}


def _groups(x: np.ndarray, axis) -> tuple[tuple[int, ...], np.ndarray]:
    """The reduced axes and a mask of each group's first element (an empty mask for empty x)."""
    axes = R.reduced_axes(axis, x.ndim)
    first = np.zeros(x.shape, dtype=bool)
    first[tuple(slice(0, 1) if i in axes else slice(None) for i in range(x.ndim))] = True
    return axes, first


def _vector_norm_values(values, params, dtype):
    """Per order, in range and then off the kinks by the dtype's margin m:

    - every finite p but 1: where S = sum |x|^p or the norm n = S^(1/p) would pass max / 2^8 of
      the dtype, the group is first scaled down by a power of 2 (float16's sums of cubes, and the
      norm of order 0.5, S^2: the gradient is representable, S or n is not); ord 1's gradient,
      sign(x), depends on neither;
    - p = 1 and p = 0.5: every |x_i| >= m (|x| is not differentiable at 0; for p < 1 its power's
      derivative is unbounded there);
    - p = inf: the group's largest |x| at least m and unique with room (ties are kinks);
    - p = -inf: the group's smallest |x| unique with room and at least m (ties, and 0, are kinks);
    - p = 2 and p = 3: not the zero vector (a group's largest |x| at least m).
    """
    x = np.array(values["x"], dtype=np.float64)
    if x.size == 0:
        return dict(values)
    p = R.vector_ord(params["ord"])
    m = kink_margin(dtype)
    axes, first = _groups(x, params["axis"])
    sign = np.where(x < 0, -1.0, 1.0)
    a = np.abs(x)
    if np.isfinite(p) and p != 1:
        s = np.sum(a**p, axis=axes, keepdims=True)
        limit = dtype.max / 2.0**8
        with np.errstate(divide="ignore"):  # an all-zero group (raised below) needs no scaling
            # halving x divides S by 2^p and n by 2
            over = np.maximum(np.log2(s / limit) / p, np.log2(s ** (1.0 / p) / limit))
        a = a * 2.0 ** -np.ceil(np.maximum(over, 0.0))
    if p in (1.0, 0.5):
        a = np.maximum(a, m)
    elif p == -np.inf:
        a = -extreme_apart(-a, params["axis"], m)  # the smallest unique (it may now be below m) ...
        low = a.min(axis=axes, keepdims=True)
        a = a + np.maximum(0.0, m - low)  # ... then the group shifted up, its gaps kept
    else:  # inf, 2, 3: not the zero vector
        big = a.max(axis=axes, keepdims=True)
        a = np.where(first & (big < m), m, a)
        if p == np.inf:
            a = extreme_apart(a, params["axis"], m)
    return {**values, "x": sign * a}


_TIE = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.5]])


def _chooser_kink(which: str) -> Kink:
    x = _TIE if which == "max" else -_TIE
    return Kink(
        "tie",
        f"any convex combination of dz over the tied {which}ima (split evenly, or all to one of them)",
        inputs={"x": x},
        params={"axis": 1, "keepdims": False},
        at={"x": [[0, 1], [0, 2], [1, 0], [1, 1]]},
    )


REGIMES = ("small", "tails", "long", "large", "empty", "scalar")  # the family's size regimes (conformance.regimes)
_make = spec_factory("reduction", R, REGIMES)


def _spec(name, structure, formula, *, params=PARAMS, **kw) -> OpSpec:
    return _make(name, (X,), structure, formula, params=params, **kw)


DZB = "dzb = dz broadcast back over the reduced axes"

OPS = [
    _spec("sum", _plain, f"dx = dzb  ({DZB})"),
    _spec("mean", _plain, f"dx = dzb / N  ({DZB}, N elements per output)"),
    _spec(
        "prod", _prod, f"dx_i = dzb * prod_{{j != i}} x_j  ({DZB})",
        # groups of at most PROD_MAX_GROUP elements: no tail, long or large group
        regimes=("small", "empty", "scalar"),
        avoid=_prod_values,
        notes="Accuracy inputs are mapped to magnitudes in [0.6, 1.6] (sign kept) and at most "
              f"{PROD_MAX_GROUP} elements are reduced into one output, so products stay in range; "
              "zeros belong to the special-values family.",
    ),
    _spec("max", _chooser, f"dx = dzb where x is its group's maximum, else 0  ({DZB})",
          kinks=(_chooser_kink("max"),), avoid=_unique_max),
    _spec("min", _chooser, f"dx = dzb where x is its group's minimum, else 0  ({DZB})",
          kinks=(_chooser_kink("min"),), avoid=_unique_min),
    _spec("logsumexp", _plain, f"dx = dzb * softmax(x) over the reduced axes = dzb * exp(x - z)  ({DZB})"),
    _spec(
        "var", _var, f"dx = dzb * 2 (x - mean) / (N - ddof)  ({DZB})", params=(*PARAMS, "ddof"),
        notes="ddof in {0, 1} with N > ddof.",
    ),
    _spec(
        "std", _std, f"dx = dzb * (x - mean) / ((N - ddof) * s),  s = std(x, ddof)  ({DZB})",
        regimes=REGIMES[:-1],  # no 0-d: one element's std is the constant 0, probed as a kink
        params=(*PARAMS, "ddof"),
        kinks=(
            Kink(
                "zero variance",
                "all elements equal: not differentiable; any P v / sqrt(N - ddof) times dz with |v| <= 1 "
                "and P the centring projection is a subgradient (0 is the natural choice)",
                inputs={"x": np.array([[2.0, 2.0, 2.0], [-0.5, -0.5, -0.5]])},
                params={"axis": 1, "keepdims": False, "ddof": 0},
                at={"x": [[0, 0], [0, 1], [0, 2], [1, 0]]},
            ),
            Kink(
                "one element",
                "N = 1, ddof = 0: std is the constant 0, so the gradient is exactly 0 (differentiable, "
                "but sqrt'(0) * 0 gives NaN in a naive chain rule)",
                inputs={"x": np.array([[1.5], [-2.0]])},
                params={"axis": 1, "keepdims": False, "ddof": 0},
                at={"x": [[0, 0], [1, 0]]},
            ),
        ),
        avoid=_std_avoid,
        notes="ddof in {0, 1}; accuracy cases reduce N >= 2 distinct elements (zero variance is a kink; "
              "N = 1 is probed as the 'one element' point) with std >= 4 sqrt(smallest normal) of the dtype "
              "(below it the variance underflows float16).",
    ),
    _spec(
        "l2_norm", _plain, f"dx = dzb * x / n,  n = sqrt(sum x^2) over the reduced axes  ({DZB})",
        kinks=(
            Kink(
                "x=0",
                "the zero vector: any g with |g| <= 1 times dz is a subgradient (0 is the natural choice)",
                inputs={"x": np.zeros((2, 3))},
                params={"axis": 1, "keepdims": False},
                at={"x": [[0, 0], [0, 1], [1, 2]]},
            ),
        ),
        avoid=_not_zero_vector,
    ),
    _spec(
        "vector_norm", _vector_norm,
        f"ord p: dx = dzb * sign(x) * (|x| / n)^(p-1),  n = (sum |x|^p)^(1/p) (p = 2: x / n, p = 1: sign(x)); "
        f"inf / -inf: dzb * sign(x) at the largest / smallest |x|, else 0  ({DZB})",
        params=("ord", *PARAMS),
        kinks=(
            Kink("x=0", "the zero vector (ord 2): any g with |g| <= 1 times dz is a subgradient (0 is the natural "
                 "choice)", inputs={"x": np.zeros((2, 3))}, params={"ord": 2, "axis": 1, "keepdims": False},
                 at={"x": [[0, 0], [0, 1], [1, 2]]}),
            Kink("x=0 (ord 3)", "the zero vector (ord 3): any g with |g|_(3/2) <= 1 (the dual norm) times dz is a "
                 "subgradient (0 is the natural choice)", inputs={"x": np.zeros((2, 3))},
                 params={"ord": 3, "axis": 1, "keepdims": False}, at={"x": [[0, 0], [0, 1], [1, 2]]}),
            Kink("x_i=0 (ord 1)", "|x_i| at 0: any value in [-1, 1] times dz (0, sign(0), is the natural choice)",
                 inputs={"x": np.array([[0.0, 1.5, -2.0], [0.0, 0.0, 3.0]])},
                 params={"ord": 1, "axis": 1, "keepdims": False}, at={"x": [[0, 0], [1, 0], [1, 1]]}),
            Kink("tie (ord inf)", "tied largest |x_j|: any convex combination of sign(x_j) dz over them (split "
                 "evenly, or all to one)", inputs={"x": np.array([[1.0, -3.0, 3.0], [2.0, 2.0, 0.5]])},
                 params={"ord": "inf", "axis": 1, "keepdims": False}, at={"x": [[0, 1], [0, 2], [1, 0], [1, 1]]}),
            Kink("tie (ord -inf)", "tied smallest |x_j|: any convex combination of sign(x_j) dz over them",
                 inputs={"x": np.array([[1.0, -0.5, 0.5], [2.0, 2.0, 4.0]])},
                 params={"ord": "-inf", "axis": 1, "keepdims": False}, at={"x": [[0, 1], [0, 2], [1, 0], [1, 1]]}),
            Kink("x_i=0 (ord -inf)", "a smallest |x_i| of 0: any value in [-1, 1] times dz there, 0 elsewhere "
                 "(0 is the natural choice)", inputs={"x": np.array([[0.0, 1.0, -2.0], [0.5, 0.0, 1.5]])},
                 params={"ord": "-inf", "axis": 1, "keepdims": False}, at={"x": [[0, 0], [1, 1]]}),
        ),
        avoid=_vector_norm_values,
        notes="ord in (2, 1, inf, -inf, 3, 0.5), the infinite orders drawn as the strings 'inf' and '-inf'; "
              f"no empty group for the infinite orders (torch refuses them), at most {HALF_ORDER_MAX_GROUP} elements "
              "per output for ord 0.5 (its gradient grows with N whatever the scale). Accuracy inputs keep off the "
              "kinks (see the oracle) and, for finite orders, keep sum |x|^p and the norm in the dtype's range. "
              "An element at 0 with ord 0.5 is kept off too but not probed as a kink: the derivative of |x|^(1/2) is "
              "unbounded there, so there is no subgradient for a framework to choose.",
    ),
    # softmax and log_softmax: no 0-d (TensorFlow and JAX refuse an axis of a 0-d input, torch takes 0 or -1)
    _spec("softmax", _one_axis, "dx = s * (dz - s.dz),  s = softmax(x, axis), s.dz summed along axis",
          params=("axis",), seed=True, regimes=REGIMES[:-1]),
    _spec(
        "log_softmax", _one_axis, "dx = dz - s * sum(dz),  s = softmax(x, axis), sum along axis",
        params=("axis",), regimes=REGIMES[:-1],
    ),
]
