"""Convolution (cross-correlation, as every framework computes it), channels-last.

Layout: x is (N, *spatial, C) and w is (*kernel, C // groups, O), the layout of the seed's
``tf.nn.conv2d`` (NHWC / HWIO). The forward is

    z[n, o, g*Og + p] = sum_{k, c} xpad[n, o*stride + k*dilation, g*Cg + c] * w[k, c, g*Og + p]

where o and k run over the spatial and kernel positions. Padding is ``"VALID"`` (none),
``"SAME"`` (TensorFlow's rule: output size ceil(in / stride), total padding
``max((out - 1) * stride + (k - 1) * dilation + 1 - in, 0)``, the smaller half *before*, so an odd
total puts the extra element after) or explicit ``[(before, after), ...]`` per spatial dim.

Everything is vectorised: windows are strided views, sums are einsums, and dx is scattered back
with one slice-add per kernel offset (never a Python loop over output positions).
"""

from __future__ import annotations

import itertools
import string
from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from reference._grad import Grad, f64

Padding = str | Sequence[Sequence[int]]


def resolve_padding(
    padding: Padding,
    in_sizes: Sequence[int],
    kernel: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
) -> list[tuple[int, int]]:
    """Explicit ``(before, after)`` padding per spatial dim for VALID, SAME or explicit padding."""
    if isinstance(padding, str):
        if padding == "VALID":
            return [(0, 0)] * len(in_sizes)
        if padding == "SAME":
            pads = []
            for n, k, s, d in zip(in_sizes, kernel, stride, dilation):
                out = -(-n // s)
                total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
                pads.append((total // 2, total - total // 2))
            return pads
        raise ValueError(f"padding must be 'VALID', 'SAME' or explicit pairs, got {padding!r}")
    pads = [(int(a), int(b)) for a, b in padding]
    if len(pads) != len(in_sizes) or any(a < 0 or b < 0 for a, b in pads):
        raise ValueError(f"explicit padding {padding!r} needs one non-negative pair per spatial dim")
    return pads


def _windows(x, kernel, stride, dilation, pads):
    """Strided view (N, *out, C, *kernel) of the padded input, plus the padded array."""
    nd = len(kernel)
    xp = np.pad(x, [(0, 0), *pads, (0, 0)])
    eff = [(k - 1) * d + 1 for k, d in zip(kernel, dilation)]
    if any(e > n for e, n in zip(eff, xp.shape[1:-1])):
        raise ValueError(f"dilated kernel {eff} larger than padded input {xp.shape[1:-1]}")
    win = sliding_window_view(xp, eff, axis=tuple(range(1, nd + 1)))
    sl = (
        (slice(None),)
        + tuple(slice(None, None, s) for s in stride)
        + (slice(None),)
        + tuple(slice(None, None, d) for d in dilation)
    )
    return win[sl], xp


def _letters(nd: int) -> tuple[str, str]:
    """Einsum letters for output positions and kernel offsets."""
    pool = [c for c in string.ascii_letters if c not in "ngcpz"]
    return "".join(pool[:nd]), "".join(pool[nd : 2 * nd])


def _grouped(win, w, groups):
    n, *rest = win.shape
    nd = (len(rest) - 1) // 2
    out, c, kern = rest[:nd], rest[nd], rest[nd + 1 :]
    if c % groups or w.shape[-1] % groups or w.shape[-2] * groups != c:
        raise ValueError(f"channels {c}, filter {w.shape} and groups {groups} do not agree")
    win_g = win.reshape(n, *out, groups, c // groups, *kern)
    w_g = w.reshape(*kern, c // groups, groups, w.shape[-1] // groups)
    return win_g, w_g


def conv(x, w, *, stride=None, dilation=None, padding: Padding = "VALID", groups: int = 1):
    """N-d channels-last grouped convolution (see the module docstring)."""
    x, w = f64(x, w)
    nd = x.ndim - 2
    kernel = w.shape[:nd]
    stride = tuple(stride or (1,) * nd)
    dilation = tuple(dilation or (1,) * nd)
    pads = resolve_padding(padding, x.shape[1:-1], kernel, stride, dilation)
    win, _ = _windows(x, kernel, stride, dilation, pads)
    win_g, w_g = _grouped(win, w, groups)
    o, k = _letters(nd)
    z = np.einsum(f"n{o}gc{k},{k}cgp->n{o}gp", win_g, w_g, optimize=True)
    return z.reshape(*z.shape[:-2], -1)


def conv_vjp(x, w, dz, *, stride=None, dilation=None, padding: Padding = "VALID", groups: int = 1):
    """dw = correlation of the input windows with dz; dx = dz times w scattered back over windows.

    dw[k, c, p] = sum_{n, o} xpad[n, o*stride + k*dilation, c] * dz[n, o, p]
    dx[n, i, c] = sum_{o, k : o*stride + k*dilation - pad = i} sum_p dz[n, o, p] * w[k, c, p]
    (both per group). Magnitudes are the same sums over absolute values.
    """
    x, w, dz = f64(x, w, dz)
    nd = x.ndim - 2
    kernel = w.shape[:nd]
    stride = tuple(stride or (1,) * nd)
    dilation = tuple(dilation or (1,) * nd)
    pads = resolve_padding(padding, x.shape[1:-1], kernel, stride, dilation)
    win, xp = _windows(x, kernel, stride, dilation, pads)
    win_g, w_g = _grouped(win, w, groups)
    n, out = x.shape[0], win.shape[1 : nd + 1]
    dz_g = dz.reshape(n, *out, groups, -1)
    o, k = _letters(nd)

    def dw_of(a, b):
        return np.einsum(f"n{o}gc{k},n{o}gp->{k}cgp", a, b, optimize=True).reshape(w.shape)

    def dx_of(a, b):
        dwin = np.einsum(f"n{o}gp,{k}cgp->n{o}gc{k}", a, b, optimize=True)
        dwin = dwin.reshape(n, *out, x.shape[-1], *kernel)
        dxp = np.zeros(xp.shape)
        for offs in itertools.product(*(range(kk) for kk in kernel)):
            target = tuple(
                slice(kk * d, kk * d + s * (m - 1) + 1, s)
                for kk, d, s, m in zip(offs, dilation, stride, out)
            )
            dxp[(slice(None),) + target + (slice(None),)] += dwin[(Ellipsis,) + offs]
        crop = tuple(slice(lo, lo + size) for (lo, _), size in zip(pads, x.shape[1:-1]))
        return dxp[(slice(None),) + crop + (slice(None),)]

    out_per_group = w.shape[-1] // groups
    taps = int(np.prod(kernel))
    return {
        "x": Grad(dx_of(dz_g, w_g), dx_of(np.abs(dz_g), np.abs(w_g)), terms=out_per_group * taps),
        "w": Grad(dw_of(win_g, dz_g), dw_of(np.abs(win_g), np.abs(dz_g)), terms=n * int(np.prod(out))),
    }


def conv2d(x, w, *, stride=(1, 1), dilation=(1, 1), padding: Padding = "VALID"):
    """2-D convolution, NHWC input and HWIO filter (the seed's ``tf.nn.conv2d``)."""
    return conv(x, w, stride=stride, dilation=dilation, padding=padding)


def conv2d_vjp(x, w, dz, *, stride=(1, 1), dilation=(1, 1), padding: Padding = "VALID"):
    """Gradients of :func:`conv2d` for x and w; see :func:`conv_vjp`."""
    return conv_vjp(x, w, dz, stride=stride, dilation=dilation, padding=padding)
