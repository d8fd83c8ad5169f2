"""tf mappings of the attention family (see ../mapping.py)."""

import numpy as np
import tensorflow as tf

from conformance.adapters.base import Unsupported
from conformance.adapters.mapping import impl
from reference.attention import tiled


def _tiled(pattern, q, k, dtype):
    """The (R, C) mask or bias pattern tiled over the (T, S) logits: a constant when the lengths
    are known, else gathered from the dynamic shape (a tf.function traced with relaxed sizes)."""
    t, s = q.shape[1], k.shape[1]
    if t is not None and s is not None:
        return tf.constant(tiled(pattern, t, s, dtype))
    p = tf.constant(np.asarray(pattern, dtype=dtype))
    rows = tf.range(tf.shape(q)[1]) % p.shape[0]
    cols = tf.range(tf.shape(k)[1]) % p.shape[1]
    return tf.gather(tf.gather(p, rows, axis=0), cols, axis=1)


@impl("softmax(tf.einsum('btnh,bsnh->bnts', q, k) * scale + bias, masked by tf.where; mask and bias patterns "
      "tiled over (T, S)) then tf.einsum with v",
      composite=True)
def scaled_dot_product_attention(q, k, v, causal, scale, mask, bias):
    # TensorFlow has no fused attention op (Keras's MultiHeadAttention is a layer with its own weights)
    t, s = q.shape[1], k.shape[1]
    logits = tf.einsum("btnh,bsnh->bnts", q, k) * tf.constant(scale, dtype=q.dtype)
    if bias is not None:
        logits = logits + tf.cast(_tiled(bias, q, k, np.float64), q.dtype)
    if mask is not None:
        logits = tf.where(_tiled(mask, q, k, bool), logits, tf.constant(-np.inf, dtype=q.dtype))
    if causal:
        if t is not None and s is not None:
            valid = np.tril(np.ones((t, s), dtype=bool))
        else:  # a tf.function traced with relaxed sizes: the same mask, from the dynamic shape
            valid = tf.linalg.band_part(tf.ones([tf.shape(q)[1], tf.shape(k)[1]], tf.bool), -1, 0)
        logits = tf.where(valid, logits, tf.constant(-np.inf, dtype=q.dtype))
    return tf.einsum("bnts,bsnh->btnh", tf.nn.softmax(logits, axis=-1), v)


@impl("tf.cast(tf.image.resize(x, size, method='bilinear', antialias=antialias), x.dtype) (half-pixel centres); "
      "tf.compat.v1.image.resize_bilinear(x, size, align_corners=align_corners, "
      "half_pixel_centers=half_pixel_centers) for corners aligned and asymmetric")
def resize_bilinear(x, size, align_corners, half_pixel_centers, antialias):
    if antialias and not (half_pixel_centers and not align_corners):
        raise Unsupported("antialiased bilinear resizing is defined with half-pixel centres only")
    # ResizeBilinear returns float32 whatever the input dtype (its output is float); the cast gives
    # the catalogue's output dtype back
    size = [int(s) for s in size]
    if half_pixel_centers and not align_corners:
        z = tf.image.resize(x, size, method="bilinear", antialias=bool(antialias))
    else:
        z = tf.compat.v1.image.resize_bilinear(x, size, align_corners=bool(align_corners),
                                               half_pixel_centers=bool(half_pixel_centers))
    return tf.cast(z, x.dtype)
