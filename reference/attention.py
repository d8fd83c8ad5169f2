"""Attention and image resampling: scaled dot-product attention and bilinear resize.

Layouts are channels-last, like the rest of the catalogue:

- attention: q is (B, T, N, H) (batch, query positions, heads, head size), k and v are
  (B, S, N, H) (the layout of ``jax.nn.dot_product_attention``);
- images: x is (N, H, W, C).

Masks and biases are (R, C) nested tuples tiled over the (T, S) logits: entry (t, s) is
``mask[t % R][s % C]`` (:func:`tiled`). A small case gives the whole (T, S) mask (R = T, C = S);
a long key axis or a large case gives a short pattern, so a case's params stay a few dozen
values whatever its sides.

Causal attention with T != S is top-left aligned: query t sees keys 0..t (torch's ``is_causal``,
``jax.nn.dot_product_attention``'s ``is_causal`` and Keras's ``use_causal_mask`` all build
``tril(ones(T, S))``), so every query sees key 0 and queries t >= S see every key.

Empty sides (torch 2.13, TensorFlow 2.21 and JAX 0.10.2 agree unless said): an empty batch,
query length, head count or head size gives an empty output; no keys (S = 0) leaves every
query's softmax empty, so z = 0 (the empty sum of values) and dq = 0 (JAX raises on zero heads,
torch and TensorFlow do not). A resize to an output side of 0 gives an empty output and dx = 0
(JAX; torch and TensorFlow refuse it); zero channels or an empty batch resize to empty outputs
(zero channels: JAX only). Resizing an image with a side of 0 raises ValueError: there is
nothing to sample, and all three refuse it.
"""

from __future__ import annotations

import numpy as np

from reference._grad import Grad, f64

# ---------------------------------------------------------------------------------------------
# scaled dot-product attention


def causal_mask(t: int, s: int) -> np.ndarray:
    """valid[i, j] = j <= i: query i sees keys 0..i (top-left aligned, as torch's ``is_causal``
    and jax's ``is_causal`` both define it when T != S). Every row sees key 0."""
    return np.tril(np.ones((t, s), dtype=bool))


def tiled(pattern, t: int, s: int, dtype=np.float64) -> np.ndarray:
    """The (T, S) array of an (R, C) pattern (nested tuples) repeated over the logits: entry
    (i, j) is ``pattern[i % R][j % C]``; a (T, S) pattern is itself."""
    p = np.asarray(pattern, dtype=dtype)
    if p.ndim != 2:
        raise ValueError(f"a mask or bias pattern is 2-D (R, C), got shape {p.shape}")
    if t == 0 or s == 0:
        return np.zeros((t, s), dtype=dtype)
    if p.shape[0] == 0 or p.shape[1] == 0:
        raise ValueError(f"an empty {p.shape} pattern cannot tile ({t}, {s}) logits")
    return p[np.arange(t) % p.shape[0]][:, np.arange(s) % p.shape[1]]


def _valid(t: int, s: int, causal: bool, mask) -> np.ndarray:
    """The (T, S) keys each query sees: the causal mask and the boolean ``mask`` (True: attend)."""
    valid = causal_mask(t, s) if causal else np.ones((t, s), dtype=bool)
    return valid if mask is None else valid & tiled(mask, t, s, bool)


def _bias(t: int, s: int, bias) -> np.ndarray:
    """The additive (T, S) mask added to the scaled logits (zeros for None)."""
    return np.zeros((t, s)) if bias is None else tiled(bias, t, s)


def _attention_probs(q, k, causal, scale, mask, bias):
    """Logits (B, N, T, S), the validity mask and the probabilities (masked entries exactly 0)."""
    t, s = q.shape[1], k.shape[1]
    logits = scale * np.einsum("btnh,bsnh->bnts", q, k) + _bias(t, s, bias)
    valid = _valid(t, s, causal, mask)
    shifted = np.where(valid, logits, -np.inf)
    m = shifted.max(axis=-1, keepdims=True, initial=-np.inf)
    e = np.where(valid, np.exp(np.where(valid, logits - m, 0.0)), 0.0)
    p = e / e.sum(axis=-1, keepdims=True)
    return logits, m, valid, p


def scaled_dot_product_attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, causal: bool, scale: float,
                                 mask=None, bias=None) -> np.ndarray:
    """z[b,t,n,:] = sum_s P[b,n,t,s] v[b,s,n,:], P = softmax_s(scale * q[b,t,n,:].k[b,s,n,:] + bias[t,s])
    over the keys s the query sees (all, or s <= t when ``causal``, and where the boolean
    ``mask[t][s]`` is True). mask and bias are (R, C) nested tuples tiled over (T, S)
    (:func:`tiled`), or None."""
    q, k, v = f64(q, k, v)
    _, _, _, p = _attention_probs(q, k, causal, scale, mask, bias)
    return np.einsum("bnts,bsnh->btnh", p, v)


def scaled_dot_product_attention_vjp(q: np.ndarray, k: np.ndarray, v: np.ndarray, dz: np.ndarray,
                                     causal: bool, scale: float, mask=None, bias=None) -> dict[str, Grad]:
    """dv = P^T dz;  dP = dz v^T;  dS = P * (dP - rowsum(P * dP));  dq = scale * dS k;
    dk = scale * dS^T q   (per batch and head; the masks are constants).

    Magnitude: the same expressions on absolute values with P replaced by its envelope
    Pc + P * rowsum(Pc), Pc = P * (1 + |S - max S| + scale |q|.|k| + |bias|): the shifted logit is
    rounded before exp (|S - max S|) and each logit is a rounded dot product (scale |q|.|k|) plus
    the bias; a logit error e_j changes P_j by P_j (e_j - sum P e). tiny: a flushed P entry moves
    dv by sum |dz| and dq, dk by scale (1 + |dP| + |rowsum|) |k| (|q|).
    """
    q, k, v, dz = f64(q, k, v, dz)
    logits, m, valid, p = _attention_probs(q, k, causal, scale, mask, bias)
    dp = np.einsum("btnh,bsnh->bnts", dz, v)
    ds = p * (dp - np.sum(p * dp, axis=-1, keepdims=True))
    dq = scale * np.einsum("bnts,bsnh->btnh", ds, k)
    dk = scale * np.einsum("bnts,btnh->bsnh", ds, q)
    dv = np.einsum("bnts,btnh->bsnh", p, dz)

    aq, ak, av, adz = np.abs(q), np.abs(k), np.abs(v), np.abs(dz)
    a = abs(scale) * np.einsum("btnh,bsnh->bnts", aq, ak) + np.abs(_bias(q.shape[1], k.shape[1], bias))
    cond = np.where(valid, 1.0 + np.abs(np.where(valid, logits - m, 0.0)) + a, 0.0)
    pc = p * cond
    penv = pc + p * pc.sum(axis=-1, keepdims=True)
    dpm = np.einsum("btnh,bsnh->bnts", adz, av)
    rm = np.sum(penv * dpm, axis=-1, keepdims=True)
    dsm = penv * (dpm + rm)
    mag_dq = abs(scale) * np.einsum("bnts,bsnh->btnh", dsm, ak)
    mag_dk = abs(scale) * np.einsum("bnts,btnh->bsnh", dsm, aq)
    mag_dv = np.einsum("bnts,btnh->bsnh", penv, adz)

    flush = np.where(valid, 1.0 + dpm + rm, 0.0)
    tiny_dq = 1.0 + abs(scale) * np.einsum("bnts,bsnh->btnh", flush, ak)
    tiny_dk = 1.0 + abs(scale) * np.einsum("bnts,btnh->bsnh", flush, aq)
    tiny_dv = 1.0 + np.einsum("ts,btnh->bsnh", valid.astype(np.float64), adz)

    t, s, h = q.shape[1], k.shape[1], q.shape[3]
    return {
        "q": Grad(dq, mag_dq, terms=max(1, s, h), tiny=tiny_dq),
        "k": Grad(dk, mag_dk, terms=max(1, t, s, h), tiny=tiny_dk),
        "v": Grad(dv, mag_dv, terms=max(1, t), tiny=tiny_dv),
    }


# ---------------------------------------------------------------------------------------------
# bilinear resize
#
# Three coordinate conventions map output pixel o of a side resized from ``in`` to ``out`` to a
# source position src (then interpolated between floor(src) and floor(src) + 1, clamped to the
# image):
#
# - half-pixel centres (half_pixel_centers=True, the default): src = (o + 0.5) in / out - 0.5,
#   clamped to [0, in - 1]: torch's align_corners=False, tf.image.resize, jax.image.resize;
# - align_corners=True: src = o (in - 1) / (out - 1) (0 when out = 1): the corner pixels' centres
#   meet (torch's align_corners=True, tf.compat.v1.image.resize_bilinear(align_corners=True));
# - asymmetric (both False): src = o in / out, clamped to in - 1: TensorFlow 1's legacy default
#   (tf.compat.v1.image.resize_bilinear(half_pixel_centers=False)); torch has no such mode.
#
# align_corners and half_pixel_centers together are refused (TensorFlow raises; no framework
# defines it).

COORDINATES = {(False, True): "half_pixel", (True, False): "align_corners", (False, False): "asymmetric"}


def coordinates(align_corners: bool, half_pixel_centers: bool) -> str:
    """The convention's name for a flag pair: half_pixel, align_corners or asymmetric."""
    key = (bool(align_corners), bool(half_pixel_centers))
    if key not in COORDINATES:
        raise ValueError("resize_bilinear with align_corners and half_pixel_centers both True is undefined "
                         "(TensorFlow refuses it, torch and JAX have no such mode)")
    return COORDINATES[key]


def source_positions(in_size: int, out_size: int, align_corners: bool = False,
                     half_pixel_centers: bool = True) -> np.ndarray:
    """The unclamped source position of each output pixel under the convention the flags name."""
    o = np.arange(out_size, dtype=np.float64)
    kind = coordinates(align_corners, half_pixel_centers)
    if kind == "half_pixel":
        return (o + 0.5) * (in_size / out_size) - 0.5
    if kind == "align_corners":
        return o * ((in_size - 1) / (out_size - 1)) if out_size > 1 else np.zeros(out_size)
    return o * (in_size / out_size)


def bilinear_weights(in_size: int, out_size: int, align_corners: bool = False, half_pixel_centers: bool = True,
                     antialias: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The interpolation matrix W (out, in) of one side as its nonzero entries (rows, cols,
    weights) with their rounding envelope: W[rows[i], cols[i]] += weights[i] (entries may repeat).

    Without antialiasing, output pixel o samples the input at src (:func:`source_positions`),
    clamped to [0, in - 1]; it takes (1 - f) of pixel floor(src) and f of pixel floor(src) + 1
    (clamped), f = src - floor(src): downsampling interpolates the two nearest pixels too.
    Envelope ``1 + |src|`` on both neighbours: a position computed in a dtype with unit roundoff u
    is off by about u (1 + |src|), which moves both weights by that much.

    With antialiasing (half-pixel centres only; torch's antialias=True, tf.image.resize's and
    jax.image.resize's): the triangle kernel widened by k = max(in / out, 1), w_j proportional to
    max(0, 1 - |j - src| / k) over the image's pixels j, normalised to sum 1 (upsampling: the
    plain bilinear weights). Envelope: a position off by u (1 + |src|) moves each weight by at
    most (1 + |src|) / sum_j max(0, ...) twice (the kernel and its normaliser), and the
    normaliser, a sum of n terms, rounds each weight by n of its own units.
    """
    src = source_positions(in_size, out_size, align_corners, half_pixel_centers)
    if antialias:
        if coordinates(align_corners, half_pixel_centers) != "half_pixel":
            raise ValueError("resize_bilinear antialiases with half-pixel centres only (torch, TensorFlow and JAX "
                             "define no other)")
        k = max(in_size / out_size, 1.0)
        width = int(np.ceil(2 * k)) + 2
        cols = np.floor(src - k).astype(np.int64)[:, None] + np.arange(width)[None, :]
        raw = np.where((cols >= 0) & (cols < in_size), np.maximum(0.0, 1.0 - np.abs(cols - src[:, None]) / k), 0.0)
        total = raw.sum(axis=1, keepdims=True)
        keep = raw > 0
        w = raw / total
        n = keep.sum(axis=1, keepdims=True)
        e = 2.0 * (1.0 + np.abs(src[:, None])) / total + n * w
        rows = np.broadcast_to(np.arange(out_size)[:, None], raw.shape)
        return rows[keep], cols[keep], w[keep], e[keep]
    c = np.clip(src, 0.0, in_size - 1)
    lo = np.floor(c).astype(np.int64)
    hi = np.minimum(lo + 1, in_size - 1)
    frac = c - lo
    o = np.arange(out_size)
    env = 1.0 + np.abs(src)
    return (np.concatenate([o, o]), np.concatenate([lo, hi]), np.concatenate([1.0 - frac, frac]),
            np.concatenate([env, env]))


def dense(entries: tuple[np.ndarray, ...], out_size: int, in_size: int, which: int = 2) -> np.ndarray:
    """The (out, in) matrix of :func:`bilinear_weights`' entries: its weights (``which`` 2) or
    its envelope (3). For tests and small cases: the oracle applies the entries directly."""
    m = np.zeros((out_size, in_size))
    np.add.at(m, (entries[0], entries[1]), entries[which])
    return m


def _resize_weights(in_size: int, out_size: int, align_corners: bool, half_pixel_centers: bool,
                    antialias: bool) -> tuple[np.ndarray, ...]:
    """:func:`bilinear_weights`, with an output side of 0 (no pixel: no entries) and a refusal of
    an input side of 0."""
    coordinates(align_corners, half_pixel_centers)
    if in_size == 0:
        raise ValueError("resize_bilinear of an image with a side of 0 is not drawn: there is nothing to "
                         "sample, and torch, TensorFlow and JAX all refuse it")
    if out_size == 0:
        empty = np.zeros(0)
        return empty.astype(np.int64), empty.astype(np.int64), empty, empty
    return bilinear_weights(in_size, out_size, align_corners, half_pixel_centers, antialias)


def _apply(x: np.ndarray, axis: int, targets: np.ndarray, sources: np.ndarray, weights: np.ndarray,
           size: int) -> np.ndarray:
    """out[..., t, ...] = sum over entries i with targets[i] = t of weights[i] x[..., sources[i], ...]
    along ``axis`` (size ``size``): one sparse matrix product, O(entries x the other sides)."""
    xm = np.moveaxis(x, axis, 0)
    out = np.zeros((size,) + xm.shape[1:])
    np.add.at(out, targets, xm[sources] * weights.reshape((-1,) + (1,) * (xm.ndim - 1)))
    return np.moveaxis(out, 0, axis)


def _forward(x: np.ndarray, h: tuple, w: tuple, size, which: int = 2) -> np.ndarray:
    """The resize of x (or, transposed, its VJP) with the sides' entries ``h`` and ``w``."""
    rows = _apply(x, 1, h[0], h[1], h[which], int(size[0]))
    return _apply(rows, 2, w[0], w[1], w[which], int(size[1]))


def _transposed(dz: np.ndarray, h: tuple, w: tuple, in_shape, which: tuple[int, int] = (2, 2)) -> np.ndarray:
    rows = _apply(dz, 1, h[1], h[0], h[which[0]], in_shape[1])
    return _apply(rows, 2, w[1], w[0], w[which[1]], in_shape[2])


def resize_bilinear(x: np.ndarray, size, align_corners: bool = False, half_pixel_centers: bool = True,
                    antialias: bool = False) -> np.ndarray:
    """z[n, o, p, c] = sum_{h, w} Wh[o, h] Ww[p, w] x[n, h, w, c], size = (out height, out width),
    Wh and Ww from :func:`bilinear_weights` (the flags' convention, antialiased or not)."""
    (x,) = f64(x)
    h = _resize_weights(x.shape[1], int(size[0]), align_corners, half_pixel_centers, antialias)
    w = _resize_weights(x.shape[2], int(size[1]), align_corners, half_pixel_centers, antialias)
    return _forward(x, h, w, size)


def resize_bilinear_vjp(x: np.ndarray, dz: np.ndarray, size, align_corners: bool = False,
                        half_pixel_centers: bool = True, antialias: bool = False) -> dict[str, Grad]:
    """dx[n, h, w, c] = sum_{o, p} Wh[o, h] Ww[p, w] dz[n, o, p, c] (the transposed resize).

    Magnitude: the same sum on |dz| plus the first-order effect of rounded sample positions,
    (Eh . Ww + Wh . Ew) on |dz|; terms: the most output pixels any input pixel feeds.
    """
    x, dz = f64(x, dz)
    h = _resize_weights(x.shape[1], int(size[0]), align_corners, half_pixel_centers, antialias)
    w = _resize_weights(x.shape[2], int(size[1]), align_corners, half_pixel_centers, antialias)
    ah = (h[0], h[1], np.abs(h[2]), h[3])
    aw = (w[0], w[1], np.abs(w[2]), w[3])
    adz = np.abs(dz)
    dx = _transposed(dz, h, w, x.shape)
    mag = _transposed(adz, ah, aw, x.shape) + _transposed(adz, ah, aw, x.shape, (3, 2)) \
        + _transposed(adz, ah, aw, x.shape, (2, 3))
    feeds = [int(np.bincount(e[1][e[2] != 0], minlength=1).max(initial=1)) for e in (h, w)]
    return {"x": Grad(dx, mag, terms=max(feeds[0] * feeds[1], 1))}
