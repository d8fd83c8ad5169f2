"""OpSpecs of the shape family: data movement, slicing, padding, gathers, where, scans, sort.

Index and condition inputs are non-differentiable; their values come from the structure
function (``Structure.values``). Gathers always hold repeated indices, so their gradients
accumulate.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from conformance.opspec import InputSpec, Kink, Special, spec_factory
from conformance.strategies import Structure, axis, broadcast_shapes, choice, distinct_along, kink_margin, shape
from reference import shape as ref

REGIMES = ("small", "tails", "long", "large", "empty", "scalar")  # the family's size regimes (conformance.regimes)
_spec = spec_factory("shape", ref, REGIMES)

X = InputSpec("x")
Y = InputSpec("y")
W = InputSpec("w")
INDICES = InputSpec("indices", domain="index", differentiable=False)
COND = InputSpec("cond", domain="bool", differentiable=False)
INDEX_DTYPES = (np.int32, np.int64)


def _prime_factors(n: int) -> list[int]:
    out, p = [], 2
    while p * p <= n:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    return out + ([n] if n > 1 else [])


def _reshape(draw, rng) -> Structure:
    s = shape(draw)
    size = int(np.prod(s))
    ndim = draw(st.integers(1, 4))
    target = [1] * ndim
    if size == 0:  # an empty input: a size-0 side somewhere, the others as drawn (no -1: ambiguous)
        target[draw(st.integers(0, ndim - 1))] = 0
        for i in range(ndim):
            target[i] = target[i] and draw(st.integers(1, 3))
        return Structure({"x": s}, {"shape": target})
    for f in _prime_factors(size):
        target[draw(st.integers(0, ndim - 1))] *= f
    if draw(st.booleans()):
        target[draw(st.integers(0, ndim - 1))] = -1
    return Structure({"x": s}, {"shape": target})


def _transpose(draw, rng) -> Structure:
    s = shape(draw)
    return Structure({"x": s}, {"perm": list(draw(st.permutations(range(len(s)))))})


def _concat(draw, rng) -> Structure:
    s = shape(draw)
    ax = axis(draw, len(s))
    t = list(s)
    t[ax] = draw(st.integers(1, 5))
    return Structure({"x": s, "y": tuple(t)}, {"axis": ax})


def _concat3(draw, rng) -> Structure:
    s = shape(draw)
    ax = axis(draw, len(s))
    y, w = list(s), list(s)
    y[ax], w[ax] = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    return Structure({"x": s, "y": tuple(y), "w": tuple(w)}, {"axis": ax})


def _stack3(draw, rng) -> Structure:
    s = shape(draw, max_dims=3)
    ax = draw(st.integers(-(len(s) + 1), len(s)))
    return Structure({"x": s, "y": s, "w": s}, {"axis": ax})


def _stack(draw, rng) -> Structure:
    s = shape(draw, max_dims=3)
    ax = draw(st.integers(-(len(s) + 1), len(s)))
    return Structure({"x": s, "y": s}, {"axis": ax})


def _slice_len(n: int, b, e, s) -> int:
    return len(range(*slice(b, e, s).indices(n)))


def _strided_slice(draw, rng) -> Structure:
    s = shape(draw)
    begin, end, strides = [], [], []
    for n in s:
        step = choice(draw, (1, 2, 3, -1, -2, -3))
        b = draw(st.none() | st.integers(-n - 1, n))
        e = draw(st.none() | st.integers(-n - 1, n))
        if _slice_len(n, b, e, step) == 0:  # keep every axis non-empty
            b, e = None, None
        begin.append(b)
        end.append(e)
        strides.append(step)
    return Structure({"x": s}, {"begin": begin, "end": end, "strides": strides})


def _pad_constant(draw, rng) -> Structure:
    s = shape(draw)
    pads = [[draw(st.integers(0, 2)), draw(st.integers(0, 2))] for _ in s]
    return Structure({"x": s}, {"paddings": pads, "value": choice(draw, (0.0, -1.5, 2.0))})


def _pad_reflect(draw, rng) -> Structure:
    s = shape(draw)
    pads = [[draw(st.integers(0, min(2, n - 1))), draw(st.integers(0, min(2, n - 1)))] for n in s]
    return Structure({"x": s}, {"paddings": pads})


def _tile(draw, rng) -> Structure:
    s = shape(draw, max_dims=3, max_side=4)
    reps = [draw(st.integers(1, 3)) for _ in s]
    return Structure({"x": s}, {"reps": reps})


def _broadcast_to(draw, rng) -> Structure:
    target = shape(draw)
    keep = draw(st.integers(0, len(target)))
    xs = tuple(1 if draw(st.booleans()) else n for n in target[len(target) - keep :])
    return Structure({"x": xs}, {"shape": list(target)})


def _indices(rng, n: int, idx_shape: tuple[int, ...], dtype, axis: int = 0, from_end: bool = False) -> np.ndarray:
    """Random indices in [0, n) with at least one repeat along ``axis`` (where it has 2+).
    ``from_end``: about half of them (the first always) written as i - n, NumPy's negative form,
    so a repeat may name one element both ways."""
    if n == 0:  # (idx_shape is empty then)
        return np.zeros(idx_shape, dtype=dtype)
    idx = rng.integers(0, n, size=idx_shape)
    if idx_shape[axis] >= 2:
        first = np.take(idx, [0], axis=axis)
        sl = [slice(None)] * len(idx_shape)
        sl[axis] = slice(1, 2)
        idx[tuple(sl)] = first
    if from_end and idx.size:
        back = rng.random(idx_shape) < 0.5
        back.flat[0] = True
        idx = np.where(back, idx - n, idx)
    return idx.astype(dtype)


# indices_from_end: False first (where shrinking ends); True writes some indices as i - n
INDEX_FORMS = (False, True)


def _gather(draw, rng) -> Structure:
    s = shape(draw, max_dims=3)
    ax = axis(draw, len(s))
    idx_shape = shape(draw, max_dims=2, max_side=6)
    if s[ax] == 0:  # nothing to gather from: no indices
        idx_shape = (0, *idx_shape[1:])
    dt = choice(draw, INDEX_DTYPES)
    from_end = choice(draw, INDEX_FORMS)
    idx = _indices(rng, s[ax], idx_shape, dt, from_end=from_end)
    return Structure({"x": s, "indices": idx_shape}, {"axis": ax, "indices_from_end": from_end}, {"indices": idx})


def _take_along_axis(draw, rng) -> Structure:
    s = shape(draw)
    ax = axis(draw, len(s))
    idx_shape = list(s)
    idx_shape[ax] = draw(st.integers(1, 6)) if s[ax] else 0  # nothing to take from: no indices
    dt = choice(draw, INDEX_DTYPES)
    from_end = choice(draw, INDEX_FORMS)
    idx = _indices(rng, s[ax], tuple(idx_shape), dt, axis=ax, from_end=from_end)
    return Structure({"x": s, "indices": tuple(idx_shape)}, {"axis": ax, "indices_from_end": from_end},
                     {"indices": idx})


def _where(draw, rng) -> Structure:
    c, x, y = broadcast_shapes(draw, 3)
    return Structure({"cond": c, "x": x, "y": y}, {}, {"cond": rng.random(c) < 0.5})


def _cumsum(draw, rng) -> Structure:
    s = shape(draw)
    return Structure({"x": s}, {"axis": axis(draw, len(s)), "reverse": draw(st.booleans())})


def _cumprod(draw, rng) -> Structure:
    s = shape(draw)
    # away from zero and bounded: |x| in [10^-0.5, 10^0.5], so products of up to 5 factors stay
    # normal and finite in every dtype (float16 included); random signs
    mags = 10.0 ** rng.uniform(-0.5, 0.5, s)
    x = np.where(rng.random(s) < 0.5, -mags, mags)
    return Structure({"x": s}, {"axis": axis(draw, len(s))}, {"x": x})


def _flip(draw, rng) -> Structure:
    s = shape(draw)
    nd = len(s)
    axes = draw(st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True))
    axes = [a - nd if draw(st.booleans()) else a for a in axes]
    return Structure({"x": s}, {"axes": axes})


def _sort(draw, rng) -> Structure:
    s = shape(draw)
    return Structure({"x": s}, {"axis": axis(draw, len(s)), "descending": choice(draw, (False, True))})


def _roll(draw, rng) -> Structure:
    """One axis (shift and axis ints) first; else 2 or 3 distinct axes, each with its shift (tuples)."""
    s = shape(draw)
    k = choice(draw, range(1, min(3, len(s)) + 1))
    if k == 1:
        return Structure({"x": s}, {"shift": draw(st.integers(-7, 7)), "axis": axis(draw, len(s))})
    axes = draw(st.lists(st.integers(0, len(s) - 1), min_size=k, max_size=k, unique=True))
    axes = tuple(a - len(s) if draw(st.booleans()) else a for a in axes)
    shifts = tuple(draw(st.integers(-7, 7)) for _ in axes)
    return Structure({"x": s}, {"shift": shifts, "axis": axes})


def _sort_avoid(values, params, dtype):
    out = dict(values)
    out["x"] = distinct_along(values["x"], params["axis"], kink_margin(dtype))
    return out


CUMPROD_ZEROS = Special(
    "zeros",
    {"x": np.array([[2.0, 0.0, 3.0, -0.5], [1.5, 0.0, -0.0, 2.0], [0.0, 4.0, 0.5, -1.0]])},
    "dx_k = sum_{i >= k} dz_i prod_{j <= i, j != k} x_j holds at zeros: finite, with a single zero's "
    "own gradient the product of the others (here 5 for x[0, 1]), no division",
    params={"axis": -1},
)

SORT_TIE = Kink(
    "tie",
    "tied values: the tied outputs' cotangents may go to the tied inputs in any one-to-one order "
    "(or any split of their sum among them); untied elements get their own output's dz",
    inputs={"x": np.array([[2.0, -1.0, 2.0, 0.5]])},
    params={"axis": -1},
    at={"x": [[0, 0], [0, 2]]},
)

OPS = [
    _spec(
        name="reshape",
        inputs=(X,),
        structure=_reshape,
        formula="dx = reshape(dz, x.shape)",
        params=("shape",),
    ),
    _spec(
        name="transpose",
        inputs=(X,),
        structure=_transpose,
        formula="dx = transpose(dz, argsort(perm))",
        params=("perm",),
    ),
    _spec(
        name="concat",
        regimes=REGIMES[:-1],  # no 0-d: concatenation needs an axis, and every framework refuses a 0-d input
        inputs=(X, Y),
        structure=_concat,
        formula="dx = dz[..., :nx, ...],  dy = dz[..., nx:, ...]  along axis",
        params=("axis",),
        notes="Two inputs, x then y.",
    ),
    _spec(
        name="stack",
        inputs=(X, Y),
        structure=_stack,
        formula="dx = dz[..., 0, ...],  dy = dz[..., 1, ...]  along the new axis",
        params=("axis",),
        notes="Two inputs of one shape; axis indexes the output (-(ndim+1) .. ndim).",
    ),
    _spec(
        name="concat3",
        regimes=REGIMES[:-1],  # no 0-d: as concat
        inputs=(X, Y, W),
        structure=_concat3,
        formula="dx, dy, dw = dz split along axis at nx and nx + ny",
        params=("axis",),
        notes="Three inputs, x, y then w: concat of more than two (an OpSpec's inputs are a fixed tuple, "
        "so n = 3 is its own op).",
    ),
    _spec(
        name="stack3",
        inputs=(X, Y, W),
        structure=_stack3,
        formula="dx, dy, dw = dz[..., 0, ...], dz[..., 1, ...], dz[..., 2, ...]  along the new axis",
        params=("axis",),
        notes="Three inputs of one shape (x, y, w); axis indexes the output (-(ndim+1) .. ndim).",
    ),
    _spec(
        name="strided_slice",
        inputs=(X,),
        structure=_strided_slice,
        formula="dx = zeros_like(x); dx[b0:e0:s0, ...] = dz",
        params=("begin", "end", "strides"),
        notes="Python slice semantics per axis: None = open, negative indices from the end, "
        "out-of-range bounds clamp, negative strides walk backwards.",
    ),
    _spec(
        name="pad_constant",
        regimes=REGIMES[:-1],  # no 0-d: TensorFlow and JAX refuse the empty paddings list of a 0-d input
        inputs=(X,),
        structure=_pad_constant,
        formula="dx = dz[before_0 : before_0 + n_0, ...]",
        params=("paddings", "value"),
        notes="paddings[d] = (before, after) for every axis d.",
    ),
    _spec(
        name="pad_reflect",
        # no empty: mirroring a size-0 side is refused by all three, and a size-0 input padded elsewhere
        # is refused by torch and TensorFlow
        # no 0-d: TensorFlow and JAX refuse the empty paddings list of a 0-d input (torch takes it)
        regimes=("small", "tails", "long", "large"),
        inputs=(X,),
        structure=_pad_reflect,
        formula="dx = dz's centre plus the mirrored pads added back onto their sources, axis by axis",
        params=("paddings",),
        notes="Mirror without repeating the edge (numpy 'reflect', TF 'REFLECT'); each pad < size.",
    ),
    _spec(
        name="tile",
        inputs=(X,),
        structure=_tile,
        formula="dx = sum over copies: reshape(dz, (r0, n0, r1, n1, ...)).sum(r axes)",
        params=("reps",),
        notes="len(reps) == x.ndim.",
    ),
    _spec(
        name="broadcast_to",
        inputs=(X,),
        structure=_broadcast_to,
        formula="dx = dz summed over broadcast dims",
        params=("shape",),
    ),
    _spec(
        name="gather",
        regimes=REGIMES[:-1],  # no 0-d: torch, TensorFlow and JAX disagree on an axis of a 0-d input
        inputs=(X, INDICES),
        structure=_gather,
        formula="dx[.., j, ..] = sum_{i: indices[i] = j} dz[.., i, ..]  (scatter-add)",
        params=("axis", "indices_from_end"),
        notes="take(x, indices, axis); indices (int32 or int64, rank 1-2) always repeat; indices_from_end: some "
        "written as i - n (NumPy's negative indices; the values say which, the flag names the draw).",
    ),
    _spec(
        name="take_along_axis",
        regimes=REGIMES[:-1],  # no 0-d: torch, TensorFlow and JAX disagree on an axis of a 0-d input
        inputs=(X, INDICES),
        structure=_take_along_axis,
        formula="dx[a, j, b] = sum_{i: indices[a, i, b] = j} dz[a, i, b]  (scatter-add along axis)",
        params=("axis", "indices_from_end"),
        notes="indices has x's shape except along axis; values repeat along axis; indices_from_end: some "
        "written as i - n (NumPy's negative indices).",
    ),
    _spec(
        name="where",
        inputs=(COND, X, Y),
        structure=_where,
        formula="dx = unbroadcast(dz * cond),  dy = unbroadcast(dz * (1 - cond))",
        notes="cond, x and y broadcast together.",
    ),
    _spec(
        name="cumsum",
        regimes=REGIMES[:-1],  # no 0-d: TensorFlow and JAX refuse an axis of a 0-d input (torch takes 0 or -1)
        inputs=(X,),
        structure=_cumsum,
        formula="dx = reverse_cumsum(dz, axis)  (reverse=True: dx = cumsum(dz, axis))",
        params=("axis", "reverse"),
    ),
    _spec(
        name="cumprod",
        # no tails, long or large: |x| in [0.32, 3.2] keeps products of at most 5 factors in range
        # (no 0-d either: TensorFlow and JAX refuse an axis of a 0-d input, torch takes 0 or -1)
        regimes=("small", "empty"),
        inputs=(X,),
        structure=_cumprod,
        formula="dx_k = sum_{i >= k} dz_i * prod_{j <= i, j != k} x_j  (= reverse_cumsum(dz * z)_k / x_k, x_k != 0)",
        params=("axis",),
        specials=(CUMPROD_ZEROS,),
        notes="Accuracy cases keep |x| in [0.32, 3.2] (away from zero, no overflow); inputs with "
        "zeros belong to a special family. The oracle needs no division, so zeros are exact.",
    ),
    _spec(
        name="sort",
        # no 0-d: torch sorts a 0-d input along axis 0 or -1, JAX and TensorFlow refuse the axis; no long
        # or large: accuracy cases need every value distinct along the axis, with room, and float16
        # has too few values for thousands of them
        regimes=("small", "tails", "empty"),
        inputs=(X,),
        structure=_sort,
        formula="dx[perm[i]] = dz[i]  along axis,  perm = argsort(x) (reversed when descending)",
        params=("axis", "descending"),
        kinks=(SORT_TIE,),
        avoid=_sort_avoid,
        notes="Ascending values (descending False, first) or descending. Ties are kinks; accuracy cases keep "
        "values distinct along axis.",
    ),
    _spec(
        name="flip",
        regimes=REGIMES[:-1],  # no 0-d: flip needs at least one axis
        inputs=(X,),
        structure=_flip,
        formula="dx = flip(dz, axes)",
        params=("axes",),
    ),
    _spec(
        name="roll",
        regimes=REGIMES[:-1],  # no 0-d: torch, TensorFlow and JAX all refuse to roll a 0-d input along an axis
        inputs=(X,),
        structure=_roll,
        formula="dx = roll(dz, -shift, axis)",
        params=("shift", "axis"),
        notes="One axis (int shift and axis) first, else 2 or 3 distinct axes with a shift each (tuples).",
    ),
]
