"""JAX mappings of the seed's ops."""

import jax
import jax.numpy as jnp
from jax import lax

from conformance.adapters.mapping import impl


@impl("jax.nn.sigmoid")
def sigmoid(x):
    return jax.nn.sigmoid(x)


@impl("jax.nn.softmax(x, axis=axis)")
def softmax(x, axis):
    return jax.nn.softmax(x, axis=axis)


@impl("jnp.matmul")
def matmul(x, y):
    return jnp.matmul(x, y)


DIMS = {1: ("NWC", "WIO", "NWC"), 2: ("NHWC", "HWIO", "NHWC"), 3: ("NDHWC", "DHWIO", "NDHWC")}


def lax_padding(padding):
    return padding if isinstance(padding, str) else [tuple(p) for p in padding]


@impl("jax.lax.conv_general_dilated (NHWC/HWIO)")
def conv2d(x, w, stride, dilation, padding):
    return lax.conv_general_dilated(
        x, w, window_strides=tuple(stride), padding=lax_padding(padding),
        rhs_dilation=tuple(dilation), dimension_numbers=DIMS[2],
    )
