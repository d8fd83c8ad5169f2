"""torch mappings of the conv family (see ../mapping.py). Inputs arrive channels-last (NHWC and
(*kernel, I, O) filters); torch wants channels-first and (O, I, *kernel)."""

import torch
import torch.nn.functional as F

from conformance.adapters.mapping import impl
from reference.conv import resolve_padding, transpose_geometry


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


def _transpose(x, w, bias, stride, dilation, padding, output_padding):
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
    weight = w.permute(3, 2, 0, 1).contiguous()  # (kh, kw, O, C) -> torch's (in=C, out=O, kh, kw)
    z = F.conv_transpose2d(
        channels_first(x), weight, bias, stride=tuple(stride), padding=tuple(sym),
        output_padding=tuple(extra), dilation=tuple(dilation),
    )
    return channels_last(z[(slice(None), slice(None), *crops)])


@impl("torch.nn.functional.conv1d (NCW/OIW, explicit F.pad)")
def conv1d(x, w, stride, dilation, padding):
    return _conv(x, w, None, stride, dilation, padding)


@impl("torch.nn.functional.conv1d(bias=bias) (NCW/OIW, explicit F.pad)")
def conv1d_bias(x, w, bias, stride, dilation, padding):
    return _conv(x, w, bias, stride, dilation, padding)


@impl("torch.nn.functional.conv2d(bias=bias) (NCHW/OIHW, explicit F.pad)")
def conv2d_bias(x, w, bias, stride, dilation, padding):
    return _conv(x, w, bias, stride, dilation, padding)


@impl("torch.nn.functional.conv3d (NCDHW/OIDHW, explicit F.pad)")
def conv3d(x, w, stride, dilation, padding):
    return _conv(x, w, None, stride, dilation, padding)


@impl("torch.nn.functional.conv3d(bias=bias) (NCDHW/OIDHW, explicit F.pad)")
def conv3d_bias(x, w, bias, stride, dilation, padding):
    return _conv(x, w, bias, stride, dilation, padding)


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
    "torch.nn.functional.conv_transpose2d(padding=min(before, after), output_padding) "
    "+ slice off asymmetric padding"
)


@impl(TRANSPOSE_CALL, composite=True)
def conv2d_transpose(x, w, stride, dilation, padding, output_padding):
    return _transpose(x, w, None, stride, dilation, padding, output_padding)


@impl(TRANSPOSE_CALL.replace("(padding", "(bias=bias, padding"), composite=True)
def conv2d_transpose_bias(x, w, bias, stride, dilation, padding, output_padding):
    return _transpose(x, w, bias, stride, dilation, padding, output_padding)


def _pool_pads(x, window, stride, padding):
    """(symmetric torch padding or None, F.pad list) for the catalogue's VALID / SAME."""
    pads = resolve_padding(padding, x.shape[1:3], window, stride, (1, 1))
    if all(b == a for b, a in pads):
        return tuple(b for b, _ in pads), None
    return (0, 0), [p for pair in reversed(pads) for p in pair]


@impl("torch.nn.functional.max_pool2d (asymmetric SAME: F.pad with -inf first)", composite=True)
def max_pool2d(x, window, stride, padding):
    sym, flat = _pool_pads(x, window, stride, padding)
    xc = channels_first(x)
    if flat is not None:
        xc = F.pad(xc, flat, value=float("-inf"))
    return channels_last(F.max_pool2d(xc, tuple(window), tuple(stride), padding=sym))


@impl(
    "torch.nn.functional.avg_pool2d(count_include_pad=False) (asymmetric SAME: "
    "F.pad + avg_pool2d(divisor_override=1) / count of real elements)",
    composite=True,
)
def avg_pool2d(x, window, stride, padding):
    sym, flat = _pool_pads(x, window, stride, padding)
    xc = channels_first(x)
    if flat is None:
        z = F.avg_pool2d(xc, tuple(window), tuple(stride), padding=sym, count_include_pad=False)
        return channels_last(z)
    # torch pads symmetrically only; the window sum over an explicitly padded input divided by
    # the number of real elements in each window is TensorFlow's SAME average
    with torch.no_grad():
        ones = F.pad(torch.ones_like(xc[:1, :1]), flat)
        count = F.avg_pool2d(ones, tuple(window), tuple(stride), divisor_override=1)
    total = F.avg_pool2d(F.pad(xc, flat), tuple(window), tuple(stride), divisor_override=1)
    return channels_last(total / count)
