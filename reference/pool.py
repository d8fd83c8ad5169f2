"""2-D max and average pooling, channels-last (NHWC).

Windows are (kh, kw) with strides (sh, sw) and dilations (dh, dw): the window at output (i, j)
reads the taps (i*sh + a*dh - top, j*sw + b*dw - left) for a < kh, b < kw, with ``eff = (k - 1)
* d + 1`` the span of a window. Padding is "VALID" (none), "SAME" (TensorFlow's rule, see
:func:`reference.conv.resolve_padding`: output ceil(in / stride), the smaller half of the
padding before) or explicit ``[[top, bottom], [left, right]]``. Padded positions never win a max:
max pooling pads with -inf.

``ceil_mode`` (torch's rule, stated here as the oracle's convention): the output size per dim is
``ceil((in + before + after - eff) / stride) + 1`` instead of the floor, less one where that last
window would start at or past ``in + before`` in padded coordinates (a window must start inside
the left padding or the input; torch drops one that would start in the right padding, see its
MaxPool2d note and pytorch/pytorch#46929). A last window that runs past the padded end reads
nothing there: the extra positions, :func:`pool_geometry`'s ``extra``, are absent (-inf for max,
neither summed nor counted for average). Under SAME padding ceil_mode changes nothing (SAME's
windows already end at the padded end).

Average pooling divides each window's sum by

- ``count_include_pad=False`` (TensorFlow's SAME average, the catalogue's behaviour before the
  param): the number of real (unpadded) elements in the window;
- ``count_include_pad=True`` (torch's default): the number of window taps within the padded
  extent ``[-before, in + after)`` (the taps past it that ceil_mode adds are not counted, as in
  torch's avg_pool2d);
- ``divisor_override=d`` (torch): d, whatever the window holds (it overrides both).

Undilated, every window holds at least one real element: SAME's total padding is below the
window span, explicit pads are drawn at most half the kernel (torch's limit), and ceil_mode's last
window starts inside the input. A dilated window can put every tap in the padding (a small input
under SAME or explicit pads): its max is then -inf with no gradient, and its average over real
elements 0 / 0 (nan). The catalogue draws no such window (conformance/ops/conv.py falls back to
dilation 1 there).

Vectorised: windows are strided views; gradients are scattered back with one slice-add per window
offset (max pooling: one ``np.add.at`` over all windows), never a Python loop over positions.

Empty inputs: a batch of 0 or zero channels pools to an empty output (torch, TensorFlow and JAX
take a batch of 0; TensorFlow and JAX zero channels, which torch refuses), and a spatial side of 0
under SAME padding has no output position (TensorFlow and JAX; torch refuses). The gradient is
then an empty array of x's shape.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from reference._grad import Grad, f64
from reference.conv import Padding, resolve_padding


def pool_geometry(in_sizes: Sequence[int], window: Sequence[int], stride: Sequence[int],
                  dilation: Sequence[int], padding: Padding, ceil_mode: bool = False
                  ) -> tuple[list[tuple[int, int]], list[int]]:
    """The explicit ``(before, after)`` padding per spatial dim and, with ``ceil_mode``, the
    ``extra`` positions past the padded end that the last window reaches (absent elements)."""
    pads = resolve_padding(padding, in_sizes, window, stride, dilation)
    extra = [0] * len(pads)
    if ceil_mode:
        for i, (n, k, s, d, (b, a)) in enumerate(zip(in_sizes, window, stride, dilation, pads)):
            eff = (k - 1) * d + 1
            span = n + b + a - eff
            if span < 0:
                continue  # no window at all
            out = -(-span // s) + 1
            if (out - 1) * s >= n + b:  # it would start in the right padding: dropped
                out -= 1
            extra[i] = max(0, (out - 1) * s + eff - (n + b + a))
    return pads, extra


def _geometry(x, window, stride, dilation, padding, ceil_mode):
    window, stride = tuple(int(k) for k in window), tuple(int(s) for s in stride)
    dilation = tuple(int(d) for d in dilation)
    if isinstance(padding, str) and padding not in ("VALID", "SAME"):
        raise ValueError(f"pooling padding must be 'VALID', 'SAME' or explicit pairs, got {padding!r}")
    pads, extra = pool_geometry(x.shape[1:3], window, stride, dilation, padding, ceil_mode)
    return window, stride, dilation, pads, extra


def _padded(x, pads, extra, fill):
    """x padded by ``pads`` with ``fill`` and by ``extra`` more (absent: also ``fill``) after."""
    return np.pad(x, [(0, 0), *((b, a + e) for (b, a), e in zip(pads, extra)), (0, 0)], constant_values=fill)


def _windows(xp, window, stride, dilation, empty_side: bool = False):
    """(N, Ho, Wo, C, kh, kw) strided view of the padded input's dilated windows. When a padded
    side is shorter than the window span and the input has a spatial side of 0 (``empty_side``:
    SAME padding of an empty side), there is no output position along it: an empty array."""
    eff = tuple((k - 1) * d + 1 for k, d in zip(window, dilation))
    if empty_side and any(n < e for n, e in zip(xp.shape[1:3], eff)):
        out = [(n - e) // s + 1 if n >= e else 0 for n, e, s in zip(xp.shape[1:3], eff, stride)]
        return np.zeros((xp.shape[0], *out, xp.shape[3], *window))
    win = sliding_window_view(xp, eff, axis=(1, 2))
    return win[:, :: stride[0], :: stride[1], :, :: dilation[0], :: dilation[1]]


def _cover(window, stride, dilation=(1, 1)) -> int:
    """The most windows one input element can fall in (the longest sum behind a gradient): per
    dim at most the kernel's taps and at most ceil(span / stride)."""
    return int(np.prod([min(k, -(-((k - 1) * d + 1) // s)) for k, s, d in zip(window, stride, dilation)]))


def _crop(dxp, x, pads):
    return dxp[:, pads[0][0] : pads[0][0] + x.shape[1], pads[1][0] : pads[1][0] + x.shape[2]]


def max_pool2d(x, *, window=(2, 2), stride=(2, 2), padding="VALID", dilation=(1, 1), ceil_mode=False):
    """z[n, i, j, c] = max over the window's taps (i*sh + a*dh - top, j*sw + b*dw - left) of
    x[n, ., ., c]; padded and absent taps are -inf."""
    (x,) = f64(x)
    window, stride, dilation, pads, extra = _geometry(x, window, stride, dilation, padding, ceil_mode)
    xp = _padded(x, pads, extra, -np.inf)
    return _windows(xp, window, stride, dilation, 0 in x.shape[1:3]).max(axis=(-2, -1))


def max_pool2d_vjp(x, dz, *, window=(2, 2), stride=(2, 2), padding="VALID", dilation=(1, 1), ceil_mode=False):
    """dx[n, h, w, c] = sum of dz[n, i, j, c] over the windows whose maximum is x[n, h, w, c].

    The maximum of a window is unique away from ties (accuracy cases keep values distinct; a tie
    is a kink, where the oracle picks the first maximum in row-major window order). Magnitude:
    the same scatter of |dz|.
    """
    (x, dz) = f64(x, dz)
    window, stride, dilation, pads, extra = _geometry(x, window, stride, dilation, padding, ceil_mode)
    xp = _padded(x, pads, extra, -np.inf)
    win = _windows(xp, window, stride, dilation, 0 in x.shape[1:3])
    n, ho, wo, c = win.shape[:4]
    terms = _cover(window, stride, dilation)
    if win.size == 0:
        empty = np.zeros(x.shape)
        return {"x": Grad(empty, empty.copy(), terms=terms)}
    arg = win.reshape(n, ho, wo, c, window[0] * window[1]).argmax(axis=-1)
    di, dj = np.divmod(arg, window[1])
    ni, ii, jj, ci = np.meshgrid(np.arange(n), np.arange(ho), np.arange(wo), np.arange(c), indexing="ij")
    rows, cols = ii * stride[0] + di * dilation[0], jj * stride[1] + dj * dilation[1]

    def scatter(v):
        dxp = np.zeros(xp.shape)
        np.add.at(dxp, (ni, rows, cols, ci), v)
        return _crop(dxp, x, pads)

    return {"x": Grad(scatter(dz), scatter(np.abs(dz)), terms=terms)}


def pool_divisor(in_sizes: Sequence[int], window: Sequence[int], stride: Sequence[int], dilation: Sequence[int],
                 padding: Padding, ceil_mode: bool = False, count_include_pad: bool = False,
                 divisor_override: int | None = None) -> np.ndarray:
    """Each average window's divisor, shape (1, Ho, Wo, 1): the real elements in it, the taps
    within the padded extent (``count_include_pad``) or ``divisor_override`` (module docstring)."""
    pads, extra = pool_geometry(in_sizes, window, stride, dilation, padding, ceil_mode)
    ones = np.ones((1, *in_sizes, 1))
    if count_include_pad:
        inside = np.pad(ones, [(0, 0), *pads, (0, 0)], constant_values=1.0)
        mask = np.pad(inside, [(0, 0), *((0, e) for e in extra), (0, 0)])
    else:
        mask = _padded(ones, pads, extra, 0.0)
    counts = _windows(mask, tuple(window), tuple(stride), tuple(dilation), 0 in in_sizes).sum(axis=(-2, -1))
    if divisor_override is not None:
        if int(divisor_override) < 1:
            raise ValueError(f"divisor_override must be a positive int, got {divisor_override!r}")
        return np.full(counts.shape, float(divisor_override))
    return counts


def avg_pool2d(x, *, window=(2, 2), stride=(2, 2), padding="VALID", dilation=(1, 1), ceil_mode=False,
               count_include_pad=False, divisor_override=None):
    """z[n, i, j, c] = (sum of the real elements of the window) / (the window's divisor)."""
    (x,) = f64(x)
    window, stride, dilation, pads, extra = _geometry(x, window, stride, dilation, padding, ceil_mode)
    xp = _padded(x, pads, extra, 0.0)
    total = _windows(xp, window, stride, dilation, 0 in x.shape[1:3]).sum(axis=(-2, -1))
    return total / pool_divisor(x.shape[1:3], window, stride, dilation, padding, ceil_mode,
                                count_include_pad, divisor_override)


def avg_pool2d_vjp(x, dz, *, window=(2, 2), stride=(2, 2), padding="VALID", dilation=(1, 1), ceil_mode=False,
                   count_include_pad=False, divisor_override=None):
    """dx[n, h, w, c] = sum over the windows holding (h, w) of dz[n, i, j, c] / divisor[i, j].

    Magnitude: the same sum of |dz| / divisor (one rounding for the division, then the sum).
    """
    (x, dz) = f64(x, dz)
    window, stride, dilation, pads, extra = _geometry(x, window, stride, dilation, padding, ceil_mode)
    share = dz / pool_divisor(x.shape[1:3], window, stride, dilation, padding, ceil_mode,
                              count_include_pad, divisor_override)
    ho, wo = share.shape[1:3]
    padded = (x.shape[0], x.shape[1] + sum(pads[0]) + extra[0], x.shape[2] + sum(pads[1]) + extra[1], x.shape[3])

    def scatter(v):
        dxp = np.zeros(padded)
        if share.size == 0:  # no output position, batch or channel: nothing flows back
            return _crop(dxp, x, pads)
        for a, b in itertools.product(range(window[0]), range(window[1])):
            r, c = a * dilation[0], b * dilation[1]
            dxp[:, r : r + stride[0] * (ho - 1) + 1 : stride[0], c : c + stride[1] * (wo - 1) + 1 : stride[1]] += v
        return _crop(dxp, x, pads)

    return {"x": Grad(scatter(share), scatter(np.abs(share)), terms=_cover(window, stride, dilation))}
