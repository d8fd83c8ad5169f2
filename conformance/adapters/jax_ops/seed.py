"""JAX mappings of the seed's ops."""

import jax  # noqa: F401 (the TABLE rows call jax.nn.*)
import jax.numpy as jnp  # noqa: F401 (the TABLE rows call jnp.*)
from jax import lax

from conformance.adapters.mapping import direct, impl

TABLE = {
    "sigmoid": direct("jax.nn.sigmoid"),
    "softmax": direct("jax.nn.softmax", axis="axis"),
    "matmul": direct("jnp.matmul"),
}


DIMS = {1: ("NWC", "WIO", "NWC"), 2: ("NHWC", "HWIO", "NHWC"), 3: ("NDHWC", "DHWIO", "NDHWC")}


def lax_padding(padding):
    return padding if isinstance(padding, str) else [tuple(p) for p in padding]


@impl("jax.lax.conv_general_dilated (NHWC/HWIO)")
def conv2d(x, w, stride, dilation, padding):
    return lax.conv_general_dilated(
        x, w, window_strides=tuple(stride), padding=lax_padding(padding),
        rhs_dilation=tuple(dilation), dimension_numbers=DIMS[2],
    )
