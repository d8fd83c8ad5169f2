"""jax mappings of the attention family (see ../mapping.py). The catalogue's attention layout
(B, T, N, H) is jax's own."""

import jax
import jax.numpy as jnp

from conformance.adapters.base import Unsupported
from conformance.adapters.mapping import impl
from reference.attention import tiled


@impl("jax.nn.dot_product_attention(q, k, v, bias, mask, scale=scale, is_causal=causal) (mask and bias "
      "patterns tiled to (T, S), passed as (1, 1, T, S))")
def scaled_dot_product_attention(q, k, v, causal, scale, mask, bias):
    t, s = q.shape[1], k.shape[1]
    mask = None if mask is None else jnp.asarray(tiled(mask, t, s, bool)).reshape(1, 1, t, s)
    bias = None if bias is None else jnp.asarray(tiled(bias, t, s), dtype=q.dtype).reshape(1, 1, t, s)
    return jax.nn.dot_product_attention(q, k, v, bias=bias, mask=mask, scale=scale, is_causal=causal)


def _scale_translation(in_size: int, out_size: int, align_corners: bool) -> tuple[float, float]:
    """jax.image.scale_and_translate's (scale, translation) for one side: its output pixel o
    samples (o + 0.5 - translation) / scale - 0.5, so src = o * a needs scale = 1 / a and
    translation = 0.5 (1 - scale), a = (in - 1) / (out - 1) (corners aligned) or in / out
    (asymmetric). A side of one input pixel is constant (any scale samples it); one output pixel
    with corners aligned samples src = 0 (scale 1, translation 0)."""
    if in_size == 1:
        return float(out_size), 0.0
    if align_corners and out_size == 1:
        return 1.0, 0.0
    scale = (out_size - 1) / (in_size - 1) if align_corners else out_size / in_size
    return scale, 0.5 * (1.0 - scale)


@impl("jax.image.resize(x, (N, *size, C), method='linear', antialias=antialias) (half-pixel centres); corners "
      "aligned and asymmetric: jax.image.scale_and_translate(x edge-padded by one pixel at the far side, "
      "scale, translation, method='linear', antialias=False)", composite=True)
def resize_bilinear(x, size, align_corners, half_pixel_centers, antialias):
    if antialias and not (half_pixel_centers and not align_corners):
        raise Unsupported("antialiased bilinear resizing is defined with half-pixel centres only")
    shape = (x.shape[0], int(size[0]), int(size[1]), x.shape[3])
    if half_pixel_centers and not align_corners:
        return jax.image.resize(x, shape, method="linear", antialias=bool(antialias))
    # jax.image has no align_corners: scale_and_translate places the samples, and zeroes those past
    # half a pixel beyond the image (asymmetric upsampling by more than 2 reaches there), so the
    # image gets one more copy of its last row and column, which the clamped formula reads instead
    (sh, th), (sw, tw) = (_scale_translation(x.shape[d], shape[d], bool(align_corners)) for d in (1, 2))
    padded = jnp.pad(x, ((0, 0), (0, 1), (0, 1), (0, 0)), mode="edge")
    return jax.image.scale_and_translate(padded, shape, (1, 2), jnp.array([sh, sw], dtype=jnp.float64),
                                         jnp.array([th, tw], dtype=jnp.float64), method="linear", antialias=False)
