"""jax mappings of the conv family (see ../mapping.py). The catalogue's channels-last layouts are
XLA dimension numbers (NWC/WIO, NHWC/HWIO, NDHWC/DHWIO)."""

import jax.numpy as jnp
import numpy as np
from jax import lax

from conformance.adapters.mapping import impl
from reference.conv import transpose_geometry
from reference.pool import pool_geometry

DIMS = {1: ("NWC", "WIO", "NWC"), 2: ("NHWC", "HWIO", "NHWC"), 3: ("NDHWC", "DHWIO", "NDHWC")}


def lax_padding(padding):
    return padding if isinstance(padding, str) else [tuple(p) for p in padding]


@impl("jax.lax.conv_general_dilated (NHWC/HWIO)")
def conv2d(x, w, stride, dilation, padding):
    return lax.conv_general_dilated(
        x, w, window_strides=tuple(stride), padding=lax_padding(padding),
        rhs_dilation=tuple(dilation), dimension_numbers=DIMS[2],
    )


def _conv(x, w, stride, dilation, padding, groups=1):
    return lax.conv_general_dilated(
        x, w, window_strides=tuple(stride), padding=lax_padding(padding), rhs_dilation=tuple(dilation),
        dimension_numbers=DIMS[w.ndim - 2], feature_group_count=groups,
    )


def _depthwise(x, w, stride, dilation, padding):
    """(kh, kw, C, M) -> the grouped filter (kh, kw, 1, C*M): output channel c*M + m in group c."""
    kh, kw, c, m = w.shape
    return _conv(x, w.reshape(kh, kw, 1, c * m), stride, dilation, padding, groups=c)


def _transpose(x, w, stride, dilation, padding, output_padding, groups=1):
    """lax.conv_transpose(transpose_kernel=True): the gradient of conv_general_dilated w.r.t. its
    input, with w the forward (HWIO) filter. Its explicit padding applies to the stride-dilated
    input: (eff - 1 - before, eff - 1 - after + extra), extra being how far the catalogue's output
    (plus the forward padding) reaches past the full output (in - 1) * stride + eff."""
    out, pads = transpose_geometry(x.shape[1:-1], w.shape[:2], stride, dilation, padding, output_padding)
    lhs_pads = []
    for n, k, s, d, o, (b, a) in zip(x.shape[1:-1], w.shape[:2], stride, dilation, out, pads):
        eff = (k - 1) * d + 1
        extra = b + o + a - ((n - 1) * s + eff)
        lhs_pads.append((eff - 1 - b, eff - 1 - a + extra))
    if groups != 1:
        return _grouped_transpose(x, w, stride, dilation, lhs_pads, groups)
    return lax.conv_transpose(
        x, w, strides=tuple(stride), padding=lhs_pads, rhs_dilation=tuple(dilation),
        dimension_numbers=DIMS[2], transpose_kernel=True,
    )


def _grouped_transpose(x, w, stride, dilation, lhs_pads, groups):
    """lax.conv_transpose has no groups; it is conv_general_dilated of the stride-dilated input with
    the spatially flipped filter, inputs and outputs swapped. Grouped, the swap is per group: the
    forward filter (kh, kw, Og, groups * Cg) becomes (kh, kw, Cg, groups * Og), output channel
    g*Og + p reading w[flipped k, p, g*Cg + c], with feature_group_count=groups."""
    kh, kw, og, c = w.shape
    rhs = w.reshape(kh, kw, og, groups, c // groups).transpose(0, 1, 4, 3, 2).reshape(kh, kw, c // groups, groups * og)
    return lax.conv_general_dilated(
        x, rhs[::-1, ::-1], window_strides=(1, 1), padding=lhs_pads, lhs_dilation=tuple(stride),
        rhs_dilation=tuple(dilation), dimension_numbers=DIMS[2], feature_group_count=groups,
    )


@impl("jax.lax.conv_general_dilated(feature_group_count=groups) (NWC/WIO)")
def conv1d(x, w, stride, dilation, padding, groups):
    return _conv(x, w, stride, dilation, padding, groups)


@impl("jax.lax.conv_general_dilated(feature_group_count=groups) (NDHWC/DHWIO)")
def conv3d(x, w, stride, dilation, padding, groups):
    return _conv(x, w, stride, dilation, padding, groups)


@impl("jax.lax.conv_general_dilated(feature_group_count=groups) (NHWC/HWIO)")
def grouped_conv2d(x, w, stride, dilation, padding, groups):
    return _conv(x, w, stride, dilation, padding, groups)


@impl("jax.lax.conv_general_dilated(feature_group_count=C) with filter (kh, kw, 1, C*M)")
def depthwise_conv2d(x, w, stride, dilation, padding):
    return _depthwise(x, w, stride, dilation, padding)


TRANSPOSE_CALL = (
    "jax.lax.conv_transpose(transpose_kernel=True, explicit padding of the dilated input) (groups, which "
    "conv_transpose lacks: conv_general_dilated(lhs_dilation=stride, feature_group_count=groups) with the "
    "flipped filter, in and out swapped per group)"
)


@impl(TRANSPOSE_CALL, composite=True)
def conv2d_transpose(x, w, stride, dilation, padding, output_padding, groups):
    return _transpose(x, w, stride, dilation, padding, output_padding, groups)


BIAS_CALL = " + bias"


@impl("jax.lax.conv_general_dilated(feature_group_count=groups) (NWC/WIO)" + BIAS_CALL, composite=True)
def conv1d_bias(x, w, bias, stride, dilation, padding, groups):
    return _conv(x, w, stride, dilation, padding, groups) + bias


@impl("jax.lax.conv_general_dilated (NHWC/HWIO)" + BIAS_CALL, composite=True)
def conv2d_bias(x, w, bias, stride, dilation, padding):
    return _conv(x, w, stride, dilation, padding) + bias


@impl("jax.lax.conv_general_dilated(feature_group_count=groups) (NDHWC/DHWIO)" + BIAS_CALL, composite=True)
def conv3d_bias(x, w, bias, stride, dilation, padding, groups):
    return _conv(x, w, stride, dilation, padding, groups) + bias


@impl("jax.lax.conv_general_dilated(feature_group_count=groups)" + BIAS_CALL, composite=True)
def grouped_conv2d_bias(x, w, bias, stride, dilation, padding, groups):
    return _conv(x, w, stride, dilation, padding, groups) + bias


@impl("jax.lax.conv_general_dilated(feature_group_count=C)" + BIAS_CALL, composite=True)
def depthwise_conv2d_bias(x, w, bias, stride, dilation, padding):
    return _depthwise(x, w, stride, dilation, padding) + bias


@impl(TRANSPOSE_CALL + BIAS_CALL, composite=True)
def conv2d_transpose_bias(x, w, bias, stride, dilation, padding, output_padding, groups):
    return _transpose(x, w, stride, dilation, padding, output_padding, groups) + bias


def _init(value, dtype):
    """A concrete (NumPy) init value: lax.reduce_window recognises the max / add monoid, whose
    primitives have VJPs, only from a concrete identity; a jnp array is a tracer under jax.jit and
    selects the generic reduce_window, which cannot be differentiated."""
    return np.array(value, dtype)


def _pool_args(x, window, stride, padding, dilation, ceil_mode):
    """reduce_window's window, strides, padding (the catalogue's, plus ceil_mode's extra after) and
    window dilation, and the pads and extra themselves."""
    pads, extra = pool_geometry(x.shape[1:3], window, stride, dilation, padding, ceil_mode)
    lax_pads = ((0, 0), *((b, a + e) for (b, a), e in zip(pads, extra)), (0, 0))
    return (1, *window, 1), (1, *stride, 1), lax_pads, (1, *dilation, 1), pads, extra


def _dilated_max(x, window, stride, dilation, lax_pads):
    """The max over each dilated window as jnp.max over its taps, each tap a strided lax.slice of
    the -inf padded input: JAX 0.10.2 has no VJP for a dilated max reduce_window
    ("VJP not implemented for select_and_gather (MaxPool) with window dilation")."""
    xp = jnp.pad(x, lax_pads, constant_values=-np.inf)
    out = [max(0, (n - (k - 1) * d - 1) // s + 1) for n, k, s, d in zip(xp.shape[1:3], window, stride, dilation)]
    taps = []
    for a in range(window[0]):
        for b in range(window[1]):
            start = (0, a * dilation[0], b * dilation[1], 0)
            limit = (xp.shape[0], start[1] + (out[0] - 1) * stride[0] + 1, start[2] + (out[1] - 1) * stride[1] + 1,
                     xp.shape[3])
            taps.append(lax.slice(xp, start, tuple(max(lo, hi) for lo, hi in zip(start, limit)),
                                  (1, *stride, 1)))
    return jnp.max(jnp.stack(taps), axis=0)


@impl(
    "jax.lax.reduce_window(x, -inf, lax.max) (NHWC; ceil_mode: more -inf padding after; dilated: jnp.max over "
    "the window's taps, strided lax.slice-s of the -inf padded input)",
    composite=True,
)
def max_pool2d(x, window, stride, padding, dilation, ceil_mode):
    dims, strides, pads, wdil, _, _ = _pool_args(x, window, stride, padding, dilation, ceil_mode)
    if any(d != 1 for d in dilation):
        return _dilated_max(x, tuple(window), tuple(stride), tuple(dilation), pads)
    return lax.reduce_window(x, _init(-np.inf, x.dtype), lax.max, dims, strides, pads)


@impl(
    "jax.lax.reduce_window(x, 0, lax.add, window_dilation) / the window divisors (reduce_window of a mask of the "
    "counted positions, or divisor_override)",
    composite=True,
)
def avg_pool2d(x, window, stride, padding, dilation, ceil_mode, count_include_pad, divisor_override):
    dims, strides, lax_pads, wdil, pads, extra = _pool_args(x, window, stride, padding, dilation, ceil_mode)
    total = lax.reduce_window(x, _init(0, x.dtype), lax.add, dims, strides, lax_pads, window_dilation=wdil)
    if divisor_override is not None:
        return total / divisor_override
    ones = jnp.ones((1, *x.shape[1:3], 1), x.dtype)
    if count_include_pad:  # the padding counts, ceil_mode's extra does not
        mask = jnp.pad(ones, ((0, 0), *pads, (0, 0)), constant_values=1)
        mask_pads = ((0, 0), *((0, e) for e in extra), (0, 0))
    else:
        mask, mask_pads = ones, lax_pads
    count = lax.reduce_window(mask, _init(0, x.dtype), lax.add, dims, strides, mask_pads, window_dilation=wdil)
    return total / count
