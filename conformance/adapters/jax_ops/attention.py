"""jax mappings of the attention family (see ../mapping.py). The catalogue's attention layout
(B, T, N, H) is jax's own."""

import jax
import jax.numpy as jnp

from conformance.adapters.mapping import impl


@impl("jax.nn.dot_product_attention(q, k, v, bias, mask, scale=scale, is_causal=causal) (mask and bias "
      "(T, S) as (1, 1, T, S))")
def scaled_dot_product_attention(q, k, v, causal, scale, mask, bias):
    t, s = q.shape[1], k.shape[1]
    mask = None if mask is None else jnp.asarray(mask, dtype=bool).reshape(1, 1, t, s)
    bias = None if bias is None else jnp.asarray(bias, dtype=q.dtype).reshape(1, 1, t, s)
    return jax.nn.dot_product_attention(q, k, v, bias=bias, mask=mask, scale=scale, is_causal=causal)


@impl("jax.image.resize(x, (N, *size, C), method='linear', antialias=False)")
def resize_bilinear(x, size):
    shape = (x.shape[0], int(size[0]), int(size[1]), x.shape[3])
    return jax.image.resize(x, shape, method="linear", antialias=False)
