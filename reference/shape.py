"""Shape and indexing ops: data movement, gathers, selection, scans and sort.

Most of these ops only move data, so their VJPs move the cotangent back (dx is dz permuted,
sliced or scattered) and are exact in every dtype: the magnitude is ``|dx|``. Where the VJP
accumulates (repeated gather indices, tile, broadcast, reflect padding, cumsum, cumprod) the
magnitude is the same accumulation over absolute values and ``terms`` counts the summands.

Everything is vectorised: scatters are ``np.add.at`` or 0/1 matrices contracted along one axis,
never a Python loop over elements.

Empty and 0-d inputs, as the frameworks take them (torch 2.13, TensorFlow 2.21, JAX 0.10.2): every
op here moves an empty input to an empty output, and the gradient of an empty input is an empty
array of its shape. The scans, sort and flip take a 0-d input with axis 0 or -1 as one element
(torch's rule; TensorFlow takes it for flip too, JAX for none): z = x and dx = dz. Padding a 0-d
input with no paddings is the identity (torch). Where no framework takes a case the oracle
raises ValueError saying so: roll of a 0-d input (all three refuse an axis there), gather from a
0-d x (no axis to index), and reflect padding of a side of size 0 (nothing to mirror).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from reference._grad import Grad, broadcast_factor, f64, unbroadcast


def _exact(value: np.ndarray) -> Grad:
    """A gradient that is pure data movement of dz: exact, magnitude |value|."""
    return Grad(value, np.abs(value), terms=1)


def _slices(begin, end, strides) -> tuple[slice, ...]:
    return tuple(slice(b, e, s) for b, e, s in zip(begin, end, strides))


def _scalar_axis(x: np.ndarray, axis: int, op: str) -> bool:
    """Whether ``x`` is 0-d, after checking that ``axis`` names its one element (0 or -1, torch's
    rule for scans, sort and flip); any other axis on a 0-d input raises ValueError."""
    if np.ndim(x):
        return False
    if int(axis) not in (0, -1):
        raise ValueError(f"{op} of a 0-d input: axis {axis} is out of range (only 0 or -1 name its element)")
    return True


# --------------------------------------------------------------------------- reshape / transpose


def reshape(x: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """z = x reshaped (row-major order) to ``shape``; one entry may be -1."""
    (x,) = f64(x)
    return np.reshape(x, tuple(shape))


def reshape_vjp(x: np.ndarray, dz: np.ndarray, shape: Sequence[int]) -> dict[str, Grad]:
    """dx = reshape(dz, x.shape)."""
    (dz,) = f64(dz)
    return {"x": _exact(dz.reshape(np.shape(x)))}


def transpose(x: np.ndarray, perm: Sequence[int]) -> np.ndarray:
    """z = x with its axes permuted: z.shape[i] = x.shape[perm[i]]."""
    (x,) = f64(x)
    return np.transpose(x, tuple(perm))


def transpose_vjp(x: np.ndarray, dz: np.ndarray, perm: Sequence[int]) -> dict[str, Grad]:
    """dx = transpose(dz, argsort(perm)) (the inverse permutation)."""
    (dz,) = f64(dz)
    return {"x": _exact(np.transpose(dz, tuple(int(i) for i in np.argsort(perm))))}


# --------------------------------------------------------------------------- concat / stack


def concat(x: np.ndarray, y: np.ndarray, axis: int) -> np.ndarray:
    """z = [x, y] joined along ``axis`` (other dims equal)."""
    x, y = f64(x, y)
    return np.concatenate([x, y], axis=axis)


def concat_vjp(x: np.ndarray, y: np.ndarray, dz: np.ndarray, axis: int) -> dict[str, Grad]:
    """dx = dz[..., :nx, ...], dy = dz[..., nx:, ...] along ``axis``, nx = x.shape[axis]."""
    (dz,) = f64(dz)
    nx = np.shape(x)[axis]
    dx, dy = np.split(dz, [nx], axis=axis)
    return {"x": _exact(dx), "y": _exact(dy)}


def stack(x: np.ndarray, y: np.ndarray, axis: int) -> np.ndarray:
    """z = x and y (same shape) stacked along a new axis at position ``axis`` of the output."""
    x, y = f64(x, y)
    return np.stack([x, y], axis=axis)


def stack_vjp(x: np.ndarray, y: np.ndarray, dz: np.ndarray, axis: int) -> dict[str, Grad]:
    """dx = take(dz, 0, axis), dy = take(dz, 1, axis)."""
    (dz,) = f64(dz)
    return {"x": _exact(np.take(dz, 0, axis=axis)), "y": _exact(np.take(dz, 1, axis=axis))}


def concat3(x: np.ndarray, y: np.ndarray, w: np.ndarray, axis: int) -> np.ndarray:
    """z = [x, y, w] joined along ``axis`` (other dims equal): concat of three inputs."""
    x, y, w = f64(x, y, w)
    return np.concatenate([x, y, w], axis=axis)


def concat3_vjp(x: np.ndarray, y: np.ndarray, w: np.ndarray, dz: np.ndarray, axis: int) -> dict[str, Grad]:
    """dx, dy, dw = dz split along ``axis`` at nx and nx + ny (exact)."""
    (dz,) = f64(dz)
    nx, ny = np.shape(x)[axis], np.shape(y)[axis]
    dx, dy, dw = np.split(dz, [nx, nx + ny], axis=axis)
    return {"x": _exact(dx), "y": _exact(dy), "w": _exact(dw)}


def stack3(x: np.ndarray, y: np.ndarray, w: np.ndarray, axis: int) -> np.ndarray:
    """z = x, y and w (one shape) stacked along a new axis at position ``axis`` of the output."""
    x, y, w = f64(x, y, w)
    return np.stack([x, y, w], axis=axis)


def stack3_vjp(x: np.ndarray, y: np.ndarray, w: np.ndarray, dz: np.ndarray, axis: int) -> dict[str, Grad]:
    """dx, dy, dw = take(dz, 0, axis), take(dz, 1, axis), take(dz, 2, axis) (exact)."""
    (dz,) = f64(dz)
    return {k: _exact(np.take(dz, i, axis=axis)) for i, k in enumerate(("x", "y", "w"))}


# --------------------------------------------------------------------------- slicing and padding


def strided_slice(x: np.ndarray, begin: Sequence, end: Sequence, strides: Sequence[int]) -> np.ndarray:
    """z = x[b0:e0:s0, b1:e1:s1, ...] with Python slice semantics per axis (None = open end,
    negative indices count from the end, out-of-range bounds clamp, negative strides walk back)."""
    (x,) = f64(x)
    return x[_slices(begin, end, strides)]


def strided_slice_vjp(
    x: np.ndarray, dz: np.ndarray, begin: Sequence, end: Sequence, strides: Sequence[int]
) -> dict[str, Grad]:
    """dx = zeros like x with dx[slices] = dz (each element is selected at most once)."""
    (dz,) = f64(dz)
    dx = np.zeros(np.shape(x))
    dx[_slices(begin, end, strides)] = dz
    return {"x": _exact(dx)}


def _crop(paddings, shape) -> tuple[slice, ...]:
    return tuple(slice(int(b), int(b) + n) for (b, _), n in zip(paddings, shape))


def pad_constant(x: np.ndarray, paddings: Sequence[Sequence[int]], value: float = 0.0) -> np.ndarray:
    """z = x with paddings[d] = (before, after) elements equal to ``value`` added on each axis d."""
    (x,) = f64(x)
    if x.ndim == 0:  # no axis to pad (torch: the identity; TensorFlow and JAX refuse)
        _no_paddings(paddings)
        return x.copy()
    return np.pad(x, [(int(b), int(a)) for b, a in paddings], mode="constant", constant_values=value)


def _no_paddings(paddings) -> None:
    if len(paddings):
        raise ValueError(f"paddings {paddings!r} for a 0-d input: it has no axis to pad")


def pad_constant_vjp(
    x: np.ndarray, dz: np.ndarray, paddings: Sequence[Sequence[int]], value: float = 0.0
) -> dict[str, Grad]:
    """dx = dz[before_0 : before_0 + n_0, ...] (the padding is a constant: no gradient flows)."""
    (dz,) = f64(dz)
    if np.ndim(x) == 0:
        _no_paddings(paddings)
        return {"x": _exact(dz.copy())}
    return {"x": _exact(dz[_crop(paddings, np.shape(x))])}


def _check_reflect(n: int, before: int, after: int) -> None:
    if n == 0 and (before or after):
        raise ValueError("reflect padding of a side of size 0 is not drawn: there is nothing to mirror, and "
                         "torch, TensorFlow and JAX all refuse it")


def _reflect_sources(n: int, before: int, after: int) -> np.ndarray:
    """The source index in x of every padded position -before .. n + after - 1.

    Reflect padding mirrors about the edge element without repeating it (numpy ``reflect``,
    TensorFlow ``REFLECT``): position -k takes x[k] and position n-1+k takes x[n-1-k].
    """
    _check_reflect(n, before, after)
    j = np.arange(-before, n + after)
    return np.where(j < 0, -j, np.where(j > n - 1, 2 * (n - 1) - j, j))


def _scatter_back(g: np.ndarray, src: np.ndarray, n: int, axis: int) -> np.ndarray:
    """out[i] = sum of g[j] over the positions j whose source is i, along ``axis`` (an index
    scatter: linear in the size, where a dense source matrix would be quadratic)."""
    moved = np.moveaxis(g, axis, 0)
    out = np.zeros((n, *moved.shape[1:]))
    np.add.at(out, src, moved)
    return np.moveaxis(out, 0, axis)


def pad_reflect(x: np.ndarray, paddings: Sequence[Sequence[int]]) -> np.ndarray:
    """z = x mirrored at each edge without repeating the edge: paddings[d] = (before, after), each
    smaller than x.shape[d]; z[-k] = x[k], z[n-1+k] = x[n-1-k] along every padded axis.

    A side of size 0 takes only zero padding (JAX pads the other sides of such an empty input;
    torch and TensorFlow refuse that, and all three refuse to mirror an empty side). A 0-d input
    with no paddings is the identity (torch)."""
    (x,) = f64(x)
    if x.ndim == 0:
        _no_paddings(paddings)
        return x.copy()
    for (b, a), n in zip(paddings, x.shape):
        _check_reflect(n, int(b), int(a))
    return np.pad(x, [(int(b), int(a)) for b, a in paddings], mode="reflect")


def pad_reflect_vjp(x: np.ndarray, dz: np.ndarray, paddings: Sequence[Sequence[int]]) -> dict[str, Grad]:
    """dx = dz with every padded element's cotangent added back onto its mirror source, axis by
    axis: each padded position's cotangent goes to its mirror source (an index scatter per axis).

    An element receives at most 3 cotangents per axis (itself, its mirror before, its mirror
    after); magnitude is the same accumulation of |dz|, terms the largest number of summands.
    """
    (dz,) = f64(dz)
    g, m = dz, np.abs(dz)
    if np.ndim(x) == 0:
        _no_paddings(paddings)
        return {"x": _exact(dz.copy())}
    terms = 1
    for d, ((b, a), n) in enumerate(zip(paddings, np.shape(x))):
        src = _reflect_sources(n, int(b), int(a))
        terms *= int(np.bincount(src, minlength=1).max(initial=1))
        g, m = _scatter_back(g, src, n, d), _scatter_back(m, src, n, d)
    return {"x": Grad(g, m, terms=terms)}


# --------------------------------------------------------------------------- tile / broadcast_to


def tile(x: np.ndarray, reps: Sequence[int]) -> np.ndarray:
    """z = x repeated reps[d] times along each axis d (the catalogue draws len(reps) == x.ndim;
    a shorter or longer reps is padded with leading 1s on the shorter side, NumPy's, torch's and
    JAX's rule, so a 0-d x with reps (2,) gives two copies)."""
    (x,) = f64(x)
    return np.tile(x, tuple(reps))


def tile_vjp(x: np.ndarray, dz: np.ndarray, reps: Sequence[int]) -> dict[str, Grad]:
    """dx = sum over the prod(reps) copies: dz viewed as (r0, n0, r1, n1, ...) summed over r.
    A rep of 0 leaves no copy: dx = 0."""
    (dz,) = f64(dz)
    shape = np.shape(x)
    nd = max(len(shape), len(reps))
    full = (1,) * (nd - len(shape)) + tuple(shape)
    reps = (1,) * (nd - len(reps)) + tuple(int(r) for r in reps)
    split = [v for r, n in zip(reps, full) for v in (r, n)]
    copies = tuple(range(0, 2 * nd, 2))
    dx = dz.reshape(split).sum(axis=copies).reshape(shape)
    mag = np.abs(dz).reshape(split).sum(axis=copies).reshape(shape)
    return {"x": Grad(dx, mag, terms=max(1, int(np.prod(reps, dtype=np.int64))))}


def broadcast_to(x: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """z = x broadcast (NumPy rules) to ``shape``."""
    (x,) = f64(x)
    return np.broadcast_to(x, tuple(shape)).copy()


def broadcast_to_vjp(x: np.ndarray, dz: np.ndarray, shape: Sequence[int]) -> dict[str, Grad]:
    """dx = dz summed over the dims broadcasting added or stretched."""
    (dz,) = f64(dz)
    xs = np.shape(x)
    return {
        "x": Grad(unbroadcast(dz, xs), unbroadcast(np.abs(dz), xs), terms=broadcast_factor(dz.shape, xs))
    }


# --------------------------------------------------------------------------- gathers


def _max_repeat(indices: np.ndarray, n: int, axis: int | None = None) -> int:
    """Largest number of times one index value occurs (along ``axis``, or overall)."""
    idx = np.asarray(indices, dtype=np.int64)
    if idx.size == 0:
        return 1
    if axis is None:
        return int(np.bincount(idx.ravel(), minlength=n).max())
    onehot = np.moveaxis(idx, axis, -1)[..., None] == np.arange(n)
    return max(1, int(onehot.sum(axis=-2).max()))


def _from_end(indices: np.ndarray, n: int) -> np.ndarray:
    """Indices into an axis of length n with negative ones counted from the end, as the forward
    (np.take, np.take_along_axis) and the frameworks read them: -1 is n - 1."""
    idx = np.asarray(indices, dtype=np.int64)
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise IndexError(f"index out of range for an axis of length {n}: {idx.min()}..{idx.max()}")
    return np.where(idx < 0, idx + n, idx)


def gather(x: np.ndarray, indices: np.ndarray, axis: int, indices_from_end: bool = False) -> np.ndarray:
    """z = take(x, indices, axis): z[a, i..., b] = x[a, indices[i...], b], with a the dims before
    ``axis`` and b those after (indices in [-n, n) with n = x.shape[axis], negative ones counted
    from the end; repeats allowed). A 0-d x has no axis to gather along: ValueError.
    ``indices_from_end`` says how the case wrote its indices (some as i - n): the values decide,
    the flag is for the record (and a claim on a framework that refuses negative indices)."""
    (x,) = f64(x)
    _gather_axis(x.shape, axis)
    return np.take(x, np.asarray(indices), axis=axis)


def _gather_axis(shape: tuple[int, ...], axis: int) -> int:
    if not shape:
        raise ValueError("gather from a 0-d x is not drawn: it has no axis to index, and the catalogue's "
                         "mappings refuse it (torch indexing, tf.gather, jnp.take)")
    return int(axis) % len(shape)


def gather_vjp(x: np.ndarray, indices: np.ndarray, dz: np.ndarray, axis: int,
               indices_from_end: bool = False) -> dict[str, Grad]:
    """dx[a, j, b] = sum over i with indices[i] = j of dz[a, i, b] (a scatter-add: repeated
    indices accumulate). Magnitude: the same scatter of |dz|; terms: the most repeats of one index."""
    (dz,) = f64(dz)
    shape = np.shape(x)
    ax = _gather_axis(shape, axis)
    n = shape[ax]
    idx = _from_end(indices, n)
    # dz is (a..., i..., b...): bring the index dims to the front, flatten them
    lead = tuple(range(ax, ax + idx.ndim))
    d = np.moveaxis(dz, lead, tuple(range(idx.ndim))).reshape((idx.size,) + shape[:ax] + shape[ax + 1 :])
    dx = np.zeros((n,) + d.shape[1:])
    mag = np.zeros_like(dx)
    np.add.at(dx, idx.ravel(), d)
    np.add.at(mag, idx.ravel(), np.abs(d))
    dx, mag = np.moveaxis(dx, 0, ax), np.moveaxis(mag, 0, ax)
    return {"x": Grad(dx, mag, terms=_max_repeat(idx, n))}


def take_along_axis(x: np.ndarray, indices: np.ndarray, axis: int, indices_from_end: bool = False) -> np.ndarray:
    """z[a, i, b] = x[a, indices[a, i, b], b]: indices has x's rank and shape except along
    ``axis`` (any length there; values in [-n, n), negative ones from the end; repeats allowed).
    A 0-d x takes a 0-d index 0 or -1 along axis 0 or -1: z = x (torch.gather's rule; TensorFlow
    and JAX refuse a 0-d x). ``indices_from_end``: as for :func:`gather`, for the record."""
    (x,) = f64(x)
    if _scalar_take(x, indices, axis):
        return x.copy()
    return np.take_along_axis(x, np.asarray(indices), axis=axis)


def _scalar_take(x: np.ndarray, indices: np.ndarray, axis: int) -> bool:
    """Whether x is 0-d (after checking that indices and axis pick its one element)."""
    if not _scalar_axis(x, axis, "take_along_axis"):
        return False
    idx = np.asarray(indices)
    if idx.ndim != 0:
        raise ValueError(f"take_along_axis of a 0-d x needs 0-d indices, got shape {idx.shape}")
    _from_end(idx, 1)
    return True


def take_along_axis_vjp(x: np.ndarray, indices: np.ndarray, dz: np.ndarray, axis: int,
                        indices_from_end: bool = False) -> dict[str, Grad]:
    """dx[a, j, b] = sum over i with indices[a, i, b] = j of dz[a, i, b] (scatter-add along
    ``axis``). Magnitude: the scatter of |dz|; terms: the most repeats of one index in a line."""
    (dz,) = f64(dz)
    if _scalar_take(np.asarray(x), indices, axis):
        return {"x": _exact(dz.copy())}
    shape = np.shape(x)
    ax = axis % len(shape)
    n = shape[ax]
    idx = _from_end(indices, n)
    # one-hot (..., i, ..., j) contraction over i, vectorised: onehot[a, i, b, j] = indices == j
    onehot = (idx[..., None] == np.arange(n)).astype(np.float64)
    dx = np.moveaxis(np.sum(dz[..., None] * onehot, axis=ax), -1, ax)
    mag = np.moveaxis(np.sum(np.abs(dz)[..., None] * onehot, axis=ax), -1, ax)
    return {"x": Grad(dx, mag, terms=_max_repeat(idx, n, ax))}


# --------------------------------------------------------------------------- where


def where(cond: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """z = x where cond else y; cond, x and y broadcast together."""
    x, y = f64(x, y)
    return np.where(np.asarray(cond, dtype=bool), x, y)


def where_vjp(cond: np.ndarray, x: np.ndarray, y: np.ndarray, dz: np.ndarray) -> dict[str, Grad]:
    """dx = unbroadcast(dz * cond), dy = unbroadcast(dz * not cond) (summed over broadcast dims)."""
    (dz,) = f64(dz)
    c = np.asarray(cond, dtype=bool)
    out = dz.shape
    gx, gy = np.where(c, dz, 0.0), np.where(c, 0.0, dz)
    xs, ys = np.shape(x), np.shape(y)
    return {
        "x": Grad(unbroadcast(gx, xs), unbroadcast(np.abs(gx), xs), terms=broadcast_factor(out, xs)),
        "y": Grad(unbroadcast(gy, ys), unbroadcast(np.abs(gy), ys), terms=broadcast_factor(out, ys)),
    }


# --------------------------------------------------------------------------- scans


def _rcumsum(a: np.ndarray, axis: int) -> np.ndarray:
    """Reverse (suffix) cumulative sum along ``axis``."""
    return np.flip(np.cumsum(np.flip(a, axis), axis=axis), axis)


def cumsum(x: np.ndarray, axis: int, reverse: bool = False) -> np.ndarray:
    """z_i = sum_{k <= i} x_k along ``axis`` (reverse: sum_{k >= i} x_k); z = x for a 0-d x."""
    (x,) = f64(x)
    if _scalar_axis(x, axis, "cumsum"):
        return x.copy()
    return _rcumsum(x, axis) if reverse else np.cumsum(x, axis=axis)


def cumsum_vjp(x: np.ndarray, dz: np.ndarray, axis: int, reverse: bool = False) -> dict[str, Grad]:
    """dx_k = sum_{i >= k} dz_i (reverse: sum_{i <= k} dz_i): the cumsum in the other direction.
    Magnitude: the same scan of |dz|; terms: the axis length."""
    (dz,) = f64(dz)
    if _scalar_axis(np.asarray(x), axis, "cumsum"):
        return {"x": _exact(dz.copy())}
    scan = (lambda a: np.cumsum(a, axis=axis)) if reverse else (lambda a: _rcumsum(a, axis))
    return {"x": Grad(scan(dz), scan(np.abs(dz)), terms=max(1, dz.shape[axis]))}


def cumprod(x: np.ndarray, axis: int) -> np.ndarray:
    """z_i = prod_{k <= i} x_k along ``axis``; z = x for a 0-d x."""
    (x,) = f64(x)
    if _scalar_axis(x, axis, "cumprod"):
        return x.copy()
    return np.cumprod(x, axis=axis)


def _cumprod_partials(x: np.ndarray, axis: int) -> np.ndarray:
    """A[..., k, i] = d z_i / d x_k = prod_{j <= i, j != k} x_j for i >= k, else 0 (axis moved
    last), formed as products of x with the excluded factors set to one: no division, so exact
    when x holds zeros."""
    xm = np.moveaxis(x, axis, -1)
    n = xm.shape[-1]
    k = np.arange(n)[:, None, None]
    i = np.arange(n)[None, :, None]
    j = np.arange(n)[None, None, :]
    keep = (j <= i) & (j != k)  # (k, i, j)
    factors = np.where(keep, xm[..., None, None, :], 1.0)
    return np.where(i[..., 0] >= k[..., 0], np.prod(factors, axis=-1), 0.0)


def cumprod_vjp(x: np.ndarray, dz: np.ndarray, axis: int) -> dict[str, Grad]:
    """dx_k = sum_{i >= k} dz_i * prod_{j <= i, j != k} x_j (= sum_{i >= k} dz_i z_i / x_k when no
    x is zero; evaluated here without division, so zeros in x are exact).

    Magnitude: sum_{i >= k} |dz_i| prod_{j <= i, j != k} |x_j|: every product is formed to
    relative accuracy (a few u per factor) whatever the implementation (suffix scans, or
    reverse cumsum of dz * z divided by x); terms: the axis length.
    """
    x, dz = f64(x, dz)
    if _scalar_axis(x, axis, "cumprod"):
        return {"x": _exact(dz.copy())}
    a = _cumprod_partials(x, axis)
    dzm = np.moveaxis(dz, axis, -1)[..., None, :]
    dx = np.moveaxis(np.sum(a * dzm, axis=-1), -1, axis)
    mag = np.moveaxis(np.sum(np.abs(a) * np.abs(dzm), axis=-1), -1, axis)
    return {"x": Grad(dx, mag, terms=max(1, x.shape[axis]))}


# --------------------------------------------------------------------------- sort / flip / roll


def _sort_order(x: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    """The permutation that sorts x along ``axis`` (ascending, or descending: its reverse; only
    ties, a kink, could tell a stable descending sort from it)."""
    perm = np.argsort(x, axis=axis, kind="stable")
    return np.flip(perm, axis=axis) if descending else perm


def sort(x: np.ndarray, axis: int, descending: bool = False) -> np.ndarray:
    """z = the values of x sorted along ``axis``, ascending (or ``descending``); z = x for a 0-d x."""
    (x,) = f64(x)
    if _scalar_axis(x, axis, "sort"):
        return x.copy()
    return np.take_along_axis(x, _sort_order(x, axis, descending), axis=axis)


def sort_vjp(x: np.ndarray, dz: np.ndarray, axis: int, descending: bool = False) -> dict[str, Grad]:
    """dx[perm[i]] = dz[i] along ``axis``, perm the sorting permutation (argsort(x), reversed
    when ``descending``; undefined at ties: a kink)."""
    x, dz = f64(x, dz)
    if _scalar_axis(x, axis, "sort"):
        return {"x": _exact(dz.copy())}
    perm = _sort_order(x, axis, descending)
    dx = np.zeros_like(dz)
    np.put_along_axis(dx, perm, dz, axis=axis)
    return {"x": _exact(dx)}


def flip(x: np.ndarray, axes: Sequence[int]) -> np.ndarray:
    """z = x reversed along each axis in ``axes``; z = x for a 0-d x (axes 0 or -1: torch and
    TensorFlow; JAX refuses)."""
    (x,) = f64(x)
    return np.flip(x, _flip_axes(x, axes))


def _flip_axes(x: np.ndarray, axes: Sequence[int]) -> tuple[int, ...]:
    if np.ndim(x) == 0:
        for a in axes:
            _scalar_axis(x, a, "flip")
        return ()
    return tuple(axes)


def flip_vjp(x: np.ndarray, dz: np.ndarray, axes: Sequence[int]) -> dict[str, Grad]:
    """dx = flip(dz, axes)."""
    (dz,) = f64(dz)
    return {"x": _exact(np.flip(dz, _flip_axes(np.asarray(x), axes)).copy())}


def roll(x: np.ndarray, shift: int | tuple[int, ...], axis: int | tuple[int, ...]) -> np.ndarray:
    """z_i = x_{(i - shift) mod n} along ``axis`` (an empty axis: z = x, empty); ``shift`` and
    ``axis`` may be equal-length tuples (each axis rolled by its shift). A 0-d x raises
    ValueError: torch, TensorFlow and JAX all refuse an axis on it."""
    (x,) = f64(x)
    _roll_axis(x)
    return np.roll(x, shift, axis=axis)


def _roll_axis(x: np.ndarray) -> None:
    if np.ndim(x) == 0:
        raise ValueError("roll of a 0-d input along an axis is not drawn: torch, TensorFlow and JAX all refuse it")


def roll_vjp(x: np.ndarray, dz: np.ndarray, shift: int | tuple[int, ...],
             axis: int | tuple[int, ...]) -> dict[str, Grad]:
    """dx = roll(dz, -shift, axis) (each shift negated)."""
    (dz,) = f64(dz)
    _roll_axis(np.asarray(x))
    return {"x": _exact(np.roll(dz, -np.asarray(shift), axis=axis))}
