"""jax mappings of the attention family (see ../mapping.py). The catalogue's attention layout
(B, T, N, H) is jax's own."""

import jax

from conformance.adapters.mapping import impl


@impl("jax.nn.dot_product_attention(q, k, v, scale=scale, is_causal=causal)")
def scaled_dot_product_attention(q, k, v, causal, scale):
    return jax.nn.dot_product_attention(q, k, v, scale=scale, is_causal=causal)


@impl("jax.image.resize(x, (N, *size, C), method='linear', antialias=False)")
def resize_bilinear(x, size):
    shape = (x.shape[0], int(size[0]), int(size[1]), x.shape[3])
    return jax.image.resize(x, shape, method="linear", antialias=False)
