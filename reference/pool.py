"""2-D max and average pooling, channels-last (NHWC), as tf.nn.max_pool2d / tf.nn.avg_pool2d.

Windows are (kh, kw) with strides (sh, sw); padding is "VALID" (none) or "SAME" (TensorFlow's
rule, see :func:`reference.conv.resolve_padding`: output ceil(in / stride), the smaller half of
the padding before). Padded positions never take part: max pooling pads with -inf, and average
pooling divides each window's sum by the number of *real* elements in it (TensorFlow's SAME
convention; torch's ``count_include_pad=False``). With SAME every window holds at least one real
element, because the total padding is below the window size.

Vectorised: windows are strided views; gradients are scattered back with one slice-add per window
offset (max pooling: one ``np.add.at`` over all windows), never a Python loop over positions.

Empty inputs: a batch of 0 or zero channels pools to an empty output (torch, TensorFlow and JAX
take a batch of 0; TensorFlow and JAX zero channels, which torch refuses), and a spatial side of 0
under SAME padding has no output position (TensorFlow and JAX; torch refuses). The gradient is
then an empty array of x's shape.
"""

from __future__ import annotations

import itertools

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from reference._grad import Grad, f64
from reference.conv import resolve_padding


def _geometry(x, window, stride, padding):
    window, stride = tuple(int(k) for k in window), tuple(int(s) for s in stride)
    if isinstance(padding, str) and padding not in ("VALID", "SAME"):
        raise ValueError(f"pooling padding must be 'VALID' or 'SAME', got {padding!r}")
    pads = resolve_padding(padding, x.shape[1:3], window, stride, (1, 1))
    return window, stride, pads


def _windows(xp, window, stride, empty_side: bool = False):
    """(N, Ho, Wo, C, kh, kw) strided view of the padded input. When a padded side is shorter
    than the window and the input has a spatial side of 0 (``empty_side``: SAME padding of an
    empty side), there is no output position along it: an empty array."""
    if empty_side and any(n < k for n, k in zip(xp.shape[1:3], window)):
        out = [(n - k) // s + 1 if n >= k else 0 for n, k, s in zip(xp.shape[1:3], window, stride)]
        return np.zeros((xp.shape[0], *out, xp.shape[3], *window))
    win = sliding_window_view(xp, window, axis=(1, 2))
    return win[:, :: stride[0], :: stride[1]]


def _cover(window, stride) -> int:
    """The most windows one input element can fall in (the longest sum behind a gradient)."""
    return int(np.prod([-(-k // s) for k, s in zip(window, stride)]))


def max_pool2d(x, *, window=(2, 2), stride=(2, 2), padding="VALID"):
    """z[n, i, j, c] = max over the window at (i*sh - pad_top, j*sw - pad_left) of x[n, ., ., c]."""
    (x,) = f64(x)
    window, stride, pads = _geometry(x, window, stride, padding)
    xp = np.pad(x, [(0, 0), *pads, (0, 0)], constant_values=-np.inf)
    return _windows(xp, window, stride, 0 in x.shape[1:3]).max(axis=(-2, -1))


def max_pool2d_vjp(x, dz, *, window=(2, 2), stride=(2, 2), padding="VALID"):
    """dx[n, h, w, c] = sum of dz[n, i, j, c] over the windows whose maximum is x[n, h, w, c].

    The maximum of a window is unique away from ties (accuracy cases keep values distinct; a tie
    is a kink, where the oracle picks the first maximum in row-major window order). Magnitude:
    the same scatter of |dz|.
    """
    (x, dz) = f64(x, dz)
    window, stride, pads = _geometry(x, window, stride, padding)
    xp = np.pad(x, [(0, 0), *pads, (0, 0)], constant_values=-np.inf)
    win = _windows(xp, window, stride, 0 in x.shape[1:3])
    n, ho, wo, c = win.shape[:4]
    if win.size == 0:
        empty = np.zeros(x.shape)
        return {"x": Grad(empty, empty.copy(), terms=_cover(window, stride))}
    arg = win.reshape(n, ho, wo, c, window[0] * window[1]).argmax(axis=-1)
    di, dj = np.divmod(arg, window[1])
    ni, ii, jj, ci = np.meshgrid(np.arange(n), np.arange(ho), np.arange(wo), np.arange(c), indexing="ij")
    rows, cols = ii * stride[0] + di, jj * stride[1] + dj

    def scatter(v):
        dxp = np.zeros(xp.shape)
        np.add.at(dxp, (ni, rows, cols, ci), v)
        return dxp[:, pads[0][0] : pads[0][0] + x.shape[1], pads[1][0] : pads[1][0] + x.shape[2]]

    return {"x": Grad(scatter(dz), scatter(np.abs(dz)), terms=_cover(window, stride))}


def _counts(x, window, stride, pads):
    """Number of real (unpadded) elements in each window, shape (1, Ho, Wo, 1)."""
    ones = np.pad(np.ones((1, *x.shape[1:3], 1)), [(0, 0), *pads, (0, 0)])
    return _windows(ones, window, stride, 0 in x.shape[1:3]).sum(axis=(-2, -1))


def avg_pool2d(x, *, window=(2, 2), stride=(2, 2), padding="VALID"):
    """z[n, i, j, c] = (sum of the real elements of the window) / (their count); padding excluded."""
    (x,) = f64(x)
    window, stride, pads = _geometry(x, window, stride, padding)
    xp = np.pad(x, [(0, 0), *pads, (0, 0)])
    return _windows(xp, window, stride, 0 in x.shape[1:3]).sum(axis=(-2, -1)) / _counts(x, window, stride, pads)


def avg_pool2d_vjp(x, dz, *, window=(2, 2), stride=(2, 2), padding="VALID"):
    """dx[n, h, w, c] = sum over the windows holding (h, w) of dz[n, i, j, c] / count[i, j].

    Magnitude: the same sum of |dz| / count (one rounding for the division, then the sum).
    """
    (x, dz) = f64(x, dz)
    window, stride, pads = _geometry(x, window, stride, padding)
    share = dz / _counts(x, window, stride, pads)
    ho, wo = share.shape[1:3]
    padded = (x.shape[0], x.shape[1] + sum(pads[0]), x.shape[2] + sum(pads[1]), x.shape[3])

    def scatter(v):
        dxp = np.zeros(padded)
        if share.size == 0:  # no output position, batch or channel: nothing flows back
            return dxp[:, pads[0][0] : pads[0][0] + x.shape[1], pads[1][0] : pads[1][0] + x.shape[2]]
        for a, b in itertools.product(range(window[0]), range(window[1])):
            dxp[:, a : a + stride[0] * (ho - 1) + 1 : stride[0], b : b + stride[1] * (wo - 1) + 1 : stride[1]] += v
        return dxp[:, pads[0][0] : pads[0][0] + x.shape[1], pads[1][0] : pads[1][0] + x.shape[2]]

    return {"x": Grad(scatter(share), scatter(np.abs(share)), terms=_cover(window, stride))}
