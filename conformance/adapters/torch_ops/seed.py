"""PyTorch mappings of the seed's ops. Inputs arrive in the catalogue layout (NHWC / HWIO)."""

import torch  # noqa: F401 (the TABLE rows call torch.*)
import torch.nn.functional as F

from conformance.adapters.mapping import direct, impl
from reference.conv import resolve_padding

TABLE = {
    "sigmoid": direct("torch.sigmoid"),
    "softmax": direct("torch.softmax", dim="axis"),
    "matmul": direct("torch.matmul"),
}


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
