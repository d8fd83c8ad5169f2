"""torch mappings of the conv family (see ../mapping.py). Inputs arrive channels-last (NHWC and
(*kernel, I, O) filters); torch wants channels-first and (O, I, *kernel)."""

import torch
import torch.nn.functional as F

from conformance.adapters.mapping import impl
from reference.conv import resolve_padding, transpose_geometry
from reference.pool import pool_geometry


def channels_first(x):
    """(N, *spatial, C) -> (N, C, *spatial)."""
    return x.permute(0, x.ndim - 1, *range(1, x.ndim - 1))


def channels_last(x):
    return x.permute(0, *range(2, x.ndim), 1)


def filter_oi(w):
    """(*kernel, I, O) -> (O, I, *kernel), contiguous as a model's weights are.

    Left as a permuted view, torch 2.13's CPU slow_conv2d backward raises "grad_weight must be
    contiguous" when the input is a permuted view too (docs/findings.md).
    """
    nd = w.ndim - 2
    return w.permute(nd + 1, nd, *range(nd)).contiguous()


def explicit_pad(x_cl, w, stride, dilation, padding):
    """Pad a channels-first tensor by the catalogue's padding rule (TensorFlow SAME included)."""
    nd = w.ndim - 2
    pads = resolve_padding(padding, x_cl.shape[2:], w.shape[:nd], stride, dilation)
    flat = [p for pair in reversed(pads) for p in pair]  # F.pad wants the last dim first
    return F.pad(x_cl, flat) if any(flat) else x_cl


@impl("torch.nn.functional.conv2d (NCHW/OIHW, explicit F.pad)")
def conv2d(x, w, stride, dilation, padding):
    xc = explicit_pad(channels_first(x), w, stride, dilation, padding)
    return channels_last(F.conv2d(xc, filter_oi(w), stride=tuple(stride), dilation=tuple(dilation)))

CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


def _conv(x, w, bias, stride, dilation, padding, groups=1):
    """F.conv{1,2,3}d on the channels-first input padded by the catalogue's rule (F.pad)."""
    nd = w.ndim - 2
    xc = explicit_pad(channels_first(x), w, stride, dilation, padding)
    z = CONV[nd](xc, filter_oi(w), bias, stride=tuple(stride), dilation=tuple(dilation), groups=groups)
    return channels_last(z)


def _depthwise(x, w, bias, stride, dilation, padding):
    """(kh, kw, C, M) -> the grouped filter (kh, kw, 1, C*M): output channel c*M + m in group c."""
    kh, kw, c, m = w.shape
    return _conv(x, w.reshape(kh, kw, 1, c * m), bias, stride, dilation, padding, groups=c)


def _transpose(x, w, bias, stride, dilation, padding, output_padding, groups=1):
    """F.conv_transpose2d with the symmetric part of the padding; slices cut the asymmetric rest.

    Without padding, conv_transpose2d's output is the 'full' one, (in - 1) * stride + eff per
    dim. padding=p drops p from each end and output_padding=q appends q; the catalogue wants the
    positions [before, before + out) of the full output (zero-extended past its end).
    """
    out, pads = transpose_geometry(x.shape[1:-1], w.shape[:2], stride, dilation, padding, output_padding)
    sym, extra, crops = [], [], []
    for n, k, s, d, o, (b, a) in zip(x.shape[1:-1], w.shape[:2], stride, dilation, out, pads):
        full = (n - 1) * s + (k - 1) * d + 1
        p = min(b, a)
        q = max(0, b + o + p - full)
        sym.append(p)
        extra.append(q)
        crops.append(slice(b - p, b - p + o))
    weight = w.permute(3, 2, 0, 1).contiguous()  # (kh, kw, Og, C) -> torch's (in=C, out/groups=Og, kh, kw)
    z = F.conv_transpose2d(
        channels_first(x), weight, bias, stride=tuple(stride), padding=tuple(sym),
        output_padding=tuple(extra), groups=groups, dilation=tuple(dilation),
    )
    return channels_last(z[(slice(None), slice(None), *crops)])


@impl("torch.nn.functional.conv1d(groups=groups) (NCW/OIW, explicit F.pad)")
def conv1d(x, w, stride, dilation, padding, groups):
    return _conv(x, w, None, stride, dilation, padding, groups)


@impl("torch.nn.functional.conv1d(bias=bias, groups=groups) (NCW/OIW, explicit F.pad)")
def conv1d_bias(x, w, bias, stride, dilation, padding, groups):
    return _conv(x, w, bias, stride, dilation, padding, groups)


@impl("torch.nn.functional.conv2d(bias=bias) (NCHW/OIHW, explicit F.pad)")
def conv2d_bias(x, w, bias, stride, dilation, padding):
    return _conv(x, w, bias, stride, dilation, padding)


@impl("torch.nn.functional.conv3d(groups=groups) (NCDHW/OIDHW, explicit F.pad)")
def conv3d(x, w, stride, dilation, padding, groups):
    return _conv(x, w, None, stride, dilation, padding, groups)


@impl("torch.nn.functional.conv3d(bias=bias, groups=groups) (NCDHW/OIDHW, explicit F.pad)")
def conv3d_bias(x, w, bias, stride, dilation, padding, groups):
    return _conv(x, w, bias, stride, dilation, padding, groups)


@impl("torch.nn.functional.conv2d(groups=groups) (NCHW/OIHW, explicit F.pad)")
def grouped_conv2d(x, w, stride, dilation, padding, groups):
    return _conv(x, w, None, stride, dilation, padding, groups)


@impl("torch.nn.functional.conv2d(bias=bias, groups=groups) (NCHW/OIHW, explicit F.pad)")
def grouped_conv2d_bias(x, w, bias, stride, dilation, padding, groups):
    return _conv(x, w, bias, stride, dilation, padding, groups)


@impl("torch.nn.functional.conv2d(groups=C) with filter (C*M, 1, kh, kw) (explicit F.pad)")
def depthwise_conv2d(x, w, stride, dilation, padding):
    return _depthwise(x, w, None, stride, dilation, padding)


@impl("torch.nn.functional.conv2d(bias=bias, groups=C) with filter (C*M, 1, kh, kw) (explicit F.pad)")
def depthwise_conv2d_bias(x, w, bias, stride, dilation, padding):
    return _depthwise(x, w, bias, stride, dilation, padding)


TRANSPOSE_CALL = (
    "torch.nn.functional.conv_transpose2d(padding=min(before, after), output_padding, groups) "
    "+ slice off asymmetric padding"
)


@impl(TRANSPOSE_CALL, composite=True)
def conv2d_transpose(x, w, stride, dilation, padding, output_padding, groups):
    return _transpose(x, w, None, stride, dilation, padding, output_padding, groups)


@impl(TRANSPOSE_CALL.replace("(padding", "(bias=bias, padding"), composite=True)
def conv2d_transpose_bias(x, w, bias, stride, dilation, padding, output_padding, groups):
    return _transpose(x, w, bias, stride, dilation, padding, output_padding, groups)


def _pool_geometry(x, window, stride, dilation, padding, ceil_mode):
    """The catalogue's pads and ceil_mode extra (reference.pool.pool_geometry), and whether torch
    takes them natively: symmetric pads of at most half the kernel (torch's limit)."""
    pads, extra = pool_geometry(x.shape[1:3], window, stride, dilation, padding, ceil_mode)
    native = all(b == a and 2 * b <= k for (b, a), k in zip(pads, window))
    return pads, extra, native


def _flat(pads, extra=(0, 0)):
    """F.pad's list (last dim first) for (before, after) pads plus ``extra`` after."""
    return [p for (b, a), e in reversed(list(zip(pads, extra))) for p in (b, a + e)]


@impl(
    "torch.nn.functional.max_pool2d(padding, dilation, ceil_mode) (pads torch refuses, asymmetric or over half the "
    "kernel: F.pad with -inf first, ceil_mode's extra as more -inf)",
    composite=True,
)
def max_pool2d(x, window, stride, padding, dilation, ceil_mode):
    pads, extra, native = _pool_geometry(x, window, stride, dilation, padding, ceil_mode)
    xc = channels_first(x)
    kw = {"kernel_size": tuple(window), "stride": tuple(stride), "dilation": tuple(dilation)}
    if native:
        z = F.max_pool2d(xc, padding=tuple(b for b, _ in pads), ceil_mode=bool(ceil_mode), **kw)
    else:
        z = F.max_pool2d(F.pad(xc, _flat(pads, extra), value=float("-inf")), **kw)
    return channels_last(z)


def _window_sums(xc, window, stride, dilation):
    """The sum of each window: avg_pool2d(divisor_override=1), or with dilation (which torch's
    avg_pool2d lacks) a depthwise conv2d with a ones filter."""
    if all(d == 1 for d in dilation):
        return F.avg_pool2d(xc, tuple(window), tuple(stride), divisor_override=1)
    c = xc.shape[1]
    ones = torch.ones((c, 1, *window), dtype=xc.dtype, device=xc.device)
    return F.conv2d(xc, ones, stride=tuple(stride), dilation=tuple(dilation), groups=c)


@impl(
    "torch.nn.functional.avg_pool2d(padding, ceil_mode, count_include_pad, divisor_override) (dilation, which "
    "avg_pool2d lacks, or pads it refuses: window sums (avg_pool2d(divisor_override=1), dilated: depthwise "
    "conv2d with a ones filter) of the F.pad-ded input / the window divisors)",
    composite=True,
)
def avg_pool2d(x, window, stride, padding, dilation, ceil_mode, count_include_pad, divisor_override):
    pads, extra, native = _pool_geometry(x, window, stride, dilation, padding, ceil_mode)
    xc = channels_first(x)
    if native and all(d == 1 for d in dilation):
        z = F.avg_pool2d(xc, tuple(window), tuple(stride), padding=tuple(b for b, _ in pads),
                         ceil_mode=bool(ceil_mode), count_include_pad=bool(count_include_pad),
                         divisor_override=divisor_override)
        return channels_last(z)
    total = _window_sums(F.pad(xc, _flat(pads, extra)), window, stride, dilation)
    if divisor_override is not None:
        return channels_last(total / divisor_override)
    with torch.no_grad():  # the divisors: window sums of a mask of the counted positions
        ones = torch.ones_like(xc[:1, :1])
        if count_include_pad:
            mask = F.pad(F.pad(ones, _flat(pads), value=1.0), _flat([(0, 0), (0, 0)], extra))
        else:
            mask = F.pad(ones, _flat(pads, extra))
        count = _window_sums(mask, window, stride, dilation)
    return channels_last(total / count)
