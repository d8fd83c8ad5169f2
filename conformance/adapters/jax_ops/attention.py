"""jax mappings of the attention family (see ../mapping.py). The catalogue's attention layout
(B, T, N, H) is jax's own."""

import jax

from conformance.adapters.mapping import direct, impl

TABLE = {
    "scaled_dot_product_attention": direct("jax.nn.dot_product_attention", scale="scale", is_causal="causal"),
}


@impl("jax.image.resize(x, (N, *size, C), method='linear', antialias=False)")
def resize_bilinear(x, size):
    shape = (x.shape[0], int(size[0]), int(size[1]), x.shape[3])
    return jax.image.resize(x, shape, method="linear", antialias=False)
