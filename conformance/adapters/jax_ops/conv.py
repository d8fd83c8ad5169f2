"""jax mappings of the conv family (see ../mapping.py). The catalogue's channels-last layouts are
XLA dimension numbers (NWC/WIO, NHWC/HWIO, NDHWC/DHWIO)."""

import jax.numpy as jnp
import numpy as np
from jax import lax

from conformance.adapters.mapping import impl
from reference.conv import resolve_padding, transpose_geometry

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


def _transpose(x, w, stride, dilation, padding, output_padding):
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
    return lax.conv_transpose(
        x, w, strides=tuple(stride), padding=lhs_pads, rhs_dilation=tuple(dilation),
        dimension_numbers=DIMS[2], transpose_kernel=True,
    )


@impl("jax.lax.conv_general_dilated (NWC/WIO)")
def conv1d(x, w, stride, dilation, padding):
    return _conv(x, w, stride, dilation, padding)


@impl("jax.lax.conv_general_dilated (NDHWC/DHWIO)")
def conv3d(x, w, stride, dilation, padding):
    return _conv(x, w, stride, dilation, padding)


@impl("jax.lax.conv_general_dilated(feature_group_count=groups) (NHWC/HWIO)")
def grouped_conv2d(x, w, stride, dilation, padding, groups):
    return _conv(x, w, stride, dilation, padding, groups)


@impl("jax.lax.conv_general_dilated(feature_group_count=C) with filter (kh, kw, 1, C*M)")
def depthwise_conv2d(x, w, stride, dilation, padding):
    return _depthwise(x, w, stride, dilation, padding)


TRANSPOSE_CALL = "jax.lax.conv_transpose(transpose_kernel=True, explicit padding of the dilated input)"


@impl(TRANSPOSE_CALL)
def conv2d_transpose(x, w, stride, dilation, padding, output_padding):
    return _transpose(x, w, stride, dilation, padding, output_padding)


BIAS_CALL = " + bias"


@impl("jax.lax.conv_general_dilated (NWC/WIO)" + BIAS_CALL, composite=True)
def conv1d_bias(x, w, bias, stride, dilation, padding):
    return _conv(x, w, stride, dilation, padding) + bias


@impl("jax.lax.conv_general_dilated (NHWC/HWIO)" + BIAS_CALL, composite=True)
def conv2d_bias(x, w, bias, stride, dilation, padding):
    return _conv(x, w, stride, dilation, padding) + bias


@impl("jax.lax.conv_general_dilated (NDHWC/DHWIO)" + BIAS_CALL, composite=True)
def conv3d_bias(x, w, bias, stride, dilation, padding):
    return _conv(x, w, stride, dilation, padding) + bias


@impl("jax.lax.conv_general_dilated(feature_group_count=groups)" + BIAS_CALL, composite=True)
def grouped_conv2d_bias(x, w, bias, stride, dilation, padding, groups):
    return _conv(x, w, stride, dilation, padding, groups) + bias


@impl("jax.lax.conv_general_dilated(feature_group_count=C)" + BIAS_CALL, composite=True)
def depthwise_conv2d_bias(x, w, bias, stride, dilation, padding):
    return _depthwise(x, w, stride, dilation, padding) + bias


@impl(TRANSPOSE_CALL + BIAS_CALL, composite=True)
def conv2d_transpose_bias(x, w, bias, stride, dilation, padding, output_padding):
    return _transpose(x, w, stride, dilation, padding, output_padding) + bias


def _init(value, dtype):
    """A concrete (NumPy) init value: lax.reduce_window recognises the max / add monoid, whose
    primitives have VJPs, only from a concrete identity; a jnp array is a tracer under jax.jit and
    selects the generic reduce_window, which cannot be differentiated."""
    return np.array(value, dtype)


def _pool_args(x, window, stride, padding):
    pads = resolve_padding(padding, x.shape[1:3], window, stride, (1, 1))
    return (1, *window, 1), (1, *stride, 1), ((0, 0), *pads, (0, 0))


@impl("jax.lax.reduce_window(x, -inf, lax.max) (NHWC)")
def max_pool2d(x, window, stride, padding):
    dims, strides, pads = _pool_args(x, window, stride, padding)
    return lax.reduce_window(x, _init(-np.inf, x.dtype), lax.max, dims, strides, pads)


@impl("jax.lax.reduce_window(x, 0, lax.add) / reduce_window of ones (count of real elements)", composite=True)
def avg_pool2d(x, window, stride, padding):
    dims, strides, pads = _pool_args(x, window, stride, padding)
    total = lax.reduce_window(x, _init(0, x.dtype), lax.add, dims, strides, pads)
    count = lax.reduce_window(jnp.ones((1, *x.shape[1:3], 1), x.dtype), _init(0, x.dtype), lax.add,
                              dims, strides, pads)
    return total / count
