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

Beside the seed's ``conv2d``: 1-D and 3-D (NWC/WIO, NDHWC/DHWIO), grouped, depthwise, transposed,
and a variant of each with a bias added per output channel, all built on :func:`conv` and
:func:`conv_vjp`. conv1d, conv3d and conv2d_transpose take ``groups`` too (default 1), grouped as
grouped_conv2d is.

Depthwise convolution uses the filter layout of ``tf.nn.depthwise_conv2d``: w is (kh, kw, C, M)
with channel multiplier M, and output channel ``c * M + m`` is input channel c correlated with
``w[:, :, c, m]``. It is the grouped convolution with groups = C and the filter reshaped to
(kh, kw, 1, C * M).

The transposed convolution is defined as the adjoint of a convolution with respect to its input
(``tf.nn.conv2d_transpose`` with an explicit output shape, ``torch.nn.functional.conv_transpose2d``
with ``output_padding``): see :func:`conv2d_transpose`.

Empty sides are sums over nothing: a batch of 0, zero input channels (z = 0, plus the bias),
zero output channels, or a spatial side of 0 under SAME padding (no output positions) give an
empty or zero output, empty gradients for empty inputs and zero gradients for the others.
Frameworks take these unevenly (torch 2.13, TensorFlow 2.21, JAX 0.10.2): all three take a batch
of 0, and JAX every other case but one, a depthwise convolution of zero channels (groups = 0),
which TensorFlow alone takes (the oracle computes it as the empty convolution it is). TensorFlow
refuses zero input channels, and zero output channels in conv3d and conv2d_transpose; torch
refuses zero output channels, a SAME-padded side of 0 and zero channels in conv2d_transpose,
and answers zero input channels with no output channel at all (a wrong shape).
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
    """Strided view (N, *out, C, *kernel) of the padded input, plus the padded array. A spatial
    side of 0 padded to less than the kernel (SAME padding of an empty side) has no output
    position: the view is then an empty array."""
    nd = len(kernel)
    xp = np.pad(x, [(0, 0), *pads, (0, 0)])
    eff = [(k - 1) * d + 1 for k, d in zip(kernel, dilation)]
    if any(e > n for e, n in zip(eff, xp.shape[1:-1])):
        if 0 in x.shape[1:-1]:
            out = [(n - e) // s + 1 if n >= e else 0 for n, e, s in zip(xp.shape[1:-1], eff, stride)]
            return np.zeros((x.shape[0], *out, x.shape[-1], *kernel)), xp
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
    return z.reshape(*z.shape[:-2], w.shape[-1])


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
    dz_g = dz.reshape(n, *out, groups, w.shape[-1] // groups)
    o, k = _letters(nd)

    def dw_of(a, b):
        return np.einsum(f"n{o}gc{k},n{o}gp->{k}cgp", a, b, optimize=True).reshape(w.shape)

    def dx_of(a, b):
        dwin = np.einsum(f"n{o}gp,{k}cgp->n{o}gc{k}", a, b, optimize=True)
        dwin = dwin.reshape(n, *out, x.shape[-1], *kernel)
        dxp = np.zeros(xp.shape)
        offsets = itertools.product(*(range(kk) for kk in kernel)) if dwin.size else ()
        for offs in offsets:  # none when nothing flows back (no output position, batch or channel)
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
        "x": Grad(dx_of(dz_g, w_g), dx_of(np.abs(dz_g), np.abs(w_g)), terms=max(1, out_per_group * taps)),
        "w": Grad(dw_of(win_g, dz_g), dw_of(np.abs(win_g), np.abs(dz_g)), terms=max(1, n * int(np.prod(out)))),
    }


def conv2d(x, w, *, stride=(1, 1), dilation=(1, 1), padding: Padding = "VALID"):
    """2-D convolution, NHWC input and HWIO filter (the seed's ``tf.nn.conv2d``)."""
    return conv(x, w, stride=stride, dilation=dilation, padding=padding)


def conv2d_vjp(x, w, dz, *, stride=(1, 1), dilation=(1, 1), padding: Padding = "VALID"):
    """Gradients of :func:`conv2d` for x and w; see :func:`conv_vjp`."""
    return conv_vjp(x, w, dz, stride=stride, dilation=dilation, padding=padding)


# ---------------------------------------------------------------------------------------------
# more convolutions: 1-D and 3-D, grouped, depthwise, transposed, with bias

def _bias_grad(dz: np.ndarray) -> Grad:
    """dbias[o] = sum over batch and spatial positions of dz[..., o]; magnitude sum |dz|."""
    axes = tuple(range(dz.ndim - 1))
    terms = int(np.prod(dz.shape[:-1], dtype=np.int64))
    return Grad(dz.sum(axis=axes), np.abs(dz).sum(axis=axes), terms=max(terms, 1))


def _plus_bias(z: np.ndarray, bias: np.ndarray) -> np.ndarray:
    (bias,) = f64(bias)
    return z + bias


# ---------------------------------------------------------------------------------------------
# 1-D and 3-D convolution


def conv1d(x, w, *, stride=(1,), dilation=(1,), padding: Padding = "VALID", groups: int = 1):
    """1-D convolution, NWC input and WIO filter:
    z[n, o, p] = sum_{k, c} xpad[n, o*stride + k*dilation, c] * w[k, c, p]; with groups, w is
    (kw, C // groups, O) and output channel g*Og + p sees input channels g*Cg .. g*Cg + Cg - 1."""
    return conv(x, w, stride=stride, dilation=dilation, padding=padding, groups=groups)


def conv1d_vjp(x, w, dz, *, stride=(1,), dilation=(1,), padding: Padding = "VALID", groups: int = 1):
    """dw = windows of x correlated with dz; dx = dz scattered back through w (see conv_vjp)."""
    return conv_vjp(x, w, dz, stride=stride, dilation=dilation, padding=padding, groups=groups)


def conv3d(x, w, *, stride=(1, 1, 1), dilation=(1, 1, 1), padding: Padding = "VALID", groups: int = 1):
    """3-D convolution, NDHWC input and DHWIO filter (the n-d sum of :func:`conv1d`, grouped alike)."""
    return conv(x, w, stride=stride, dilation=dilation, padding=padding, groups=groups)


def conv3d_vjp(x, w, dz, *, stride=(1, 1, 1), dilation=(1, 1, 1), padding: Padding = "VALID", groups: int = 1):
    """Gradients of :func:`conv3d` for x and w; see :func:`reference.conv.conv_vjp`."""
    return conv_vjp(x, w, dz, stride=stride, dilation=dilation, padding=padding, groups=groups)


# ---------------------------------------------------------------------------------------------
# grouped and depthwise 2-D convolution


def grouped_conv2d(x, w, *, stride=(1, 1), dilation=(1, 1), padding: Padding = "VALID", groups: int = 2):
    """Grouped 2-D convolution: C = groups * Cg input channels, w is (kh, kw, Cg, O) with
    O = groups * Og, and output channel g*Og + p sees only input channels g*Cg .. g*Cg + Cg - 1:
    z[n, o, g*Og + p] = sum_{k, c < Cg} xpad[n, o*stride + k*dilation, g*Cg + c] * w[k, c, g*Og + p]."""
    return conv(x, w, stride=stride, dilation=dilation, padding=padding, groups=groups)


def grouped_conv2d_vjp(x, w, dz, *, stride=(1, 1), dilation=(1, 1), padding: Padding = "VALID", groups: int = 2):
    """dw, dx as for conv2d, within each group (see :func:`reference.conv.conv_vjp`)."""
    return conv_vjp(x, w, dz, stride=stride, dilation=dilation, padding=padding, groups=groups)


def _depthwise_filter(x, w):
    """x, the filter as a grouped one (kh, kw, 1, C * M), and the groups (C; 1 for C = 0, where
    the grouped form is the empty (kh, kw, 0, 0) filter with one group)."""
    (x, w) = f64(x, w)
    kh, kw, c, m = w.shape
    if x.shape[-1] != c:
        raise ValueError(f"depthwise filter {w.shape} needs {c} input channels, x has {x.shape[-1]}")
    if c == 0:
        return x, w.reshape(kh, kw, 0, 0), 1
    return x, w.reshape(kh, kw, 1, c * m), c


def depthwise_conv2d(x, w, *, stride=(1, 1), dilation=(1, 1), padding: Padding = "VALID"):
    """Depthwise 2-D convolution (``tf.nn.depthwise_conv2d``): w is (kh, kw, C, M) and
    z[n, o, c*M + m] = sum_k xpad[n, o*stride + k*dilation, c] * w[k, c, m]."""
    x, wg, c = _depthwise_filter(x, w)
    return conv(x, wg, stride=stride, dilation=dilation, padding=padding, groups=c)


def depthwise_conv2d_vjp(x, w, dz, *, stride=(1, 1), dilation=(1, 1), padding: Padding = "VALID"):
    """dw[k, c, m] = sum_{n, o} xpad[n, o*stride + k*dilation, c] * dz[n, o, c*M + m];
    dx = dz[..., c*M + m] scattered back through w[k, c, m], summed over m and k."""
    x, wg, c = _depthwise_filter(x, w)
    g = conv_vjp(x, wg, dz, stride=stride, dilation=dilation, padding=padding, groups=c)
    shape = np.shape(w)
    dw = g["w"]
    return {"x": g["x"], "w": Grad(dw.value.reshape(shape), dw.magnitude.reshape(shape), terms=dw.terms)}


# ---------------------------------------------------------------------------------------------
# transposed 2-D convolution


def transpose_geometry(in_sizes, kernel, stride, dilation, padding: Padding, output_padding):
    """Output sizes and the forward convolution's explicit padding of a transposed convolution.

    With eff = (k - 1) * dilation + 1, the output size is
      explicit (b, a) and VALID (0, 0): (in - 1) * stride + eff - b - a + output_padding,
      SAME:                             (in - 1) * stride + 1 + output_padding,
    with 0 <= output_padding < stride, so that the forward convolution of an output-sized input
    with that padding has exactly ``in`` positions (SAME: ceil(out / stride) = in; its padding is
    TensorFlow's SAME rule applied to the output size). output_padding = stride - 1 with SAME
    gives in * stride, the default of tf.nn.conv2d_transpose / Keras.
    """
    nd = len(in_sizes)
    stride, dilation, output_padding = (tuple(v) for v in (stride, dilation, output_padding))
    if not all(0 <= q < s for q, s in zip(output_padding, stride)):
        raise ValueError(f"output_padding {output_padding} must satisfy 0 <= output_padding < stride {stride}")
    if isinstance(padding, str) and padding == "SAME":
        out = [(n - 1) * s + 1 + q for n, s, q in zip(in_sizes, stride, output_padding)]
    else:
        explicit = resolve_padding(padding, [1] * nd, kernel, stride, dilation)
        out = [
            (n - 1) * s + (k - 1) * d + 1 - b - a + q
            for n, k, s, d, (b, a), q in zip(in_sizes, kernel, stride, dilation, explicit, output_padding)
        ]
    if any(o < 1 for o in out):
        raise ValueError(f"transposed convolution output sizes {out} must be positive")
    pads = resolve_padding(padding, out, kernel, stride, dilation)
    for o, n, k, s, d, (b, a) in zip(out, in_sizes, kernel, stride, dilation, pads):
        if (o + b + a - (k - 1) * d - 1) // s + 1 != n:
            raise ValueError(f"output size {o} with padding {(b, a)} does not convolve back to {n}")
    return out, pads


def conv2d_transpose(x, w, *, stride=(1, 1), dilation=(1, 1), padding: Padding = "VALID", output_padding=(0, 0),
                     groups: int = 1):
    """Transposed 2-D convolution: the adjoint (gradient w.r.t. its input) of conv2d.

    x is (N, H, W, C) and w is (kh, kw, O, C), the layout of tf.nn.conv2d_transpose: w is the
    HWIO filter of the forward conv2d that maps O channels to C. With J(y) = conv2d(y, w; stride,
    dilation, pads) for y of shape (N, Ho, Wo, O) (sizes and pads: :func:`transpose_geometry`),
    z = J^T x, i.e.
        z[n, i, o] = sum_{j, k, c : j*stride + k*dilation - before = i} x[n, j, c] * w[k, o, c].

    With groups, J is the grouped conv2d (its filter (kh, kw, O // groups, C)): w is
    (kh, kw, Og, C), the output has O = groups * Og channels, and output channel g*Og + p sees
    input channels g*Cg .. g*Cg + Cg - 1 (torch's conv_transpose2d(groups) with its weight
    (C, Og, kh, kw)).
    """
    (x, w) = f64(x, w)
    out, pads = transpose_geometry(x.shape[1:-1], w.shape[:2], stride, dilation, padding, output_padding)
    y = np.zeros((x.shape[0], *out, w.shape[2] * groups))
    return conv_vjp(y, w, x, stride=stride, dilation=dilation, padding=pads, groups=groups)["x"].value


def conv2d_transpose_vjp(x, w, dz, *, stride=(1, 1), dilation=(1, 1), padding: Padding = "VALID",
                         output_padding=(0, 0), groups: int = 1):
    """z = J_w^T x is linear in x and in w, and <J_w^T x, dz> = <x, conv2d(dz, w)>, so

        dx = conv2d(dz, w; stride, dilation, pads)            (the forward convolution of dz)
        dw = conv2d's filter gradient with input dz and cotangent x:
             dw[k, o, c] = sum_{n, j} dzpad[n, j*stride + k*dilation, o] * x[n, j, c].

    Both within each group. Magnitudes are the same sums over absolute values.
    """
    (x, w, dz) = f64(x, w, dz)
    out, pads = transpose_geometry(x.shape[1:-1], w.shape[:2], stride, dilation, padding, output_padding)
    kw = {"stride": stride, "dilation": dilation, "padding": pads, "groups": groups}
    dx = conv(dz, w, **kw)
    dx_mag = conv(np.abs(dz), np.abs(w), **kw)
    taps = int(np.prod(w.shape[:2]))
    dw = conv_vjp(dz, w, x, **kw)["w"]
    return {"x": Grad(dx, dx_mag, terms=max(1, taps * w.shape[2])), "w": dw}


# ---------------------------------------------------------------------------------------------
# the same convolutions plus a bias per output channel: z = conv(...) + bias, dbias = sum dz


def conv1d_bias(x, w, bias, *, stride=(1,), dilation=(1,), padding: Padding = "VALID",
                groups: int = 1):
    """:func:`conv1d` plus ``bias[o]`` on output channel o."""
    return _plus_bias(conv1d(x, w, stride=stride, dilation=dilation, padding=padding, groups=groups), bias)


def conv1d_bias_vjp(x, w, bias, dz, *, stride=(1,), dilation=(1,), padding: Padding = "VALID",
                    groups: int = 1):
    """dx, dw as for :func:`conv1d_vjp`; dbias = dz summed over batch and spatial positions."""
    (dz,) = f64(dz)
    g = conv1d_vjp(x, w, dz, stride=stride, dilation=dilation, padding=padding, groups=groups)
    return {**g, "bias": _bias_grad(dz)}


def conv2d_bias(x, w, bias, *, stride=(1, 1), dilation=(1, 1), padding: Padding = "VALID"):
    """The seed's conv2d (NHWC / HWIO) plus ``bias[o]`` on output channel o."""
    return _plus_bias(conv(x, w, stride=stride, dilation=dilation, padding=padding), bias)


def conv2d_bias_vjp(x, w, bias, dz, *, stride=(1, 1), dilation=(1, 1), padding: Padding = "VALID"):
    """dx, dw as for conv2d; dbias = dz summed over batch and spatial positions."""
    (dz,) = f64(dz)
    return {**conv_vjp(x, w, dz, stride=stride, dilation=dilation, padding=padding), "bias": _bias_grad(dz)}


def conv3d_bias(x, w, bias, *, stride=(1, 1, 1), dilation=(1, 1, 1), padding: Padding = "VALID",
                groups: int = 1):
    """:func:`conv3d` plus ``bias[o]`` on output channel o."""
    return _plus_bias(conv3d(x, w, stride=stride, dilation=dilation, padding=padding, groups=groups), bias)


def conv3d_bias_vjp(x, w, bias, dz, *, stride=(1, 1, 1), dilation=(1, 1, 1), padding: Padding = "VALID",
                    groups: int = 1):
    """dx, dw as for :func:`conv3d_vjp`; dbias = dz summed over batch and spatial positions."""
    (dz,) = f64(dz)
    g = conv3d_vjp(x, w, dz, stride=stride, dilation=dilation, padding=padding, groups=groups)
    return {**g, "bias": _bias_grad(dz)}


def grouped_conv2d_bias(x, w, bias, *, stride=(1, 1), dilation=(1, 1), padding: Padding = "VALID", groups: int = 2):
    """:func:`grouped_conv2d` plus ``bias[o]`` on output channel o."""
    z = grouped_conv2d(x, w, stride=stride, dilation=dilation, padding=padding, groups=groups)
    return _plus_bias(z, bias)


def grouped_conv2d_bias_vjp(x, w, bias, dz, *, stride=(1, 1), dilation=(1, 1), padding: Padding = "VALID",
                            groups: int = 2):
    """dx, dw as for :func:`grouped_conv2d_vjp`; dbias = dz summed over batch and spatial positions."""
    (dz,) = f64(dz)
    g = grouped_conv2d_vjp(x, w, dz, stride=stride, dilation=dilation, padding=padding, groups=groups)
    return {**g, "bias": _bias_grad(dz)}


def depthwise_conv2d_bias(x, w, bias, *, stride=(1, 1), dilation=(1, 1), padding: Padding = "VALID"):
    """:func:`depthwise_conv2d` plus ``bias[c*M + m]`` on output channel c*M + m (bias has C*M)."""
    return _plus_bias(depthwise_conv2d(x, w, stride=stride, dilation=dilation, padding=padding), bias)


def depthwise_conv2d_bias_vjp(x, w, bias, dz, *, stride=(1, 1), dilation=(1, 1), padding: Padding = "VALID"):
    """dx, dw as for :func:`depthwise_conv2d_vjp`; dbias = dz summed over batch and spatial positions."""
    (dz,) = f64(dz)
    g = depthwise_conv2d_vjp(x, w, dz, stride=stride, dilation=dilation, padding=padding)
    return {**g, "bias": _bias_grad(dz)}


def conv2d_transpose_bias(x, w, bias, *, stride=(1, 1), dilation=(1, 1), padding: Padding = "VALID",
                          output_padding=(0, 0), groups: int = 1):
    """:func:`conv2d_transpose` plus ``bias[o]`` on output channel o (bias has O = groups * w.shape[2])."""
    z = conv2d_transpose(x, w, stride=stride, dilation=dilation, padding=padding, output_padding=output_padding,
                         groups=groups)
    return _plus_bias(z, bias)


def conv2d_transpose_bias_vjp(x, w, bias, dz, *, stride=(1, 1), dilation=(1, 1), padding: Padding = "VALID",
                              output_padding=(0, 0), groups: int = 1):
    """dx, dw as for :func:`conv2d_transpose_vjp`; dbias = dz summed over batch and spatial positions."""
    (dz,) = f64(dz)
    g = conv2d_transpose_vjp(x, w, dz, stride=stride, dilation=dilation, padding=padding,
                             output_padding=output_padding, groups=groups)
    return {**g, "bias": _bias_grad(dz)}
