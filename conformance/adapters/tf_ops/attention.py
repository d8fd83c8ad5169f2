"""tf mappings of the attention family (see ../mapping.py)."""

import numpy as np
import tensorflow as tf

from conformance.adapters.mapping import impl


@impl("softmax(tf.einsum('btnh,bsnh->bnts', q, k) * scale + bias, masked by tf.where) then tf.einsum with v",
      composite=True)
def scaled_dot_product_attention(q, k, v, causal, scale, mask, bias):
    # TensorFlow has no fused attention op (Keras's MultiHeadAttention is a layer with its own weights)
    logits = tf.einsum("btnh,bsnh->bnts", q, k) * tf.constant(scale, dtype=q.dtype)
    if bias is not None:
        logits = logits + tf.constant(bias, dtype=q.dtype)
    if mask is not None:
        logits = tf.where(tf.constant(mask, dtype=tf.bool), logits, tf.constant(-np.inf, dtype=q.dtype))
    if causal:
        t, s = q.shape[1], k.shape[1]
        if t is not None and s is not None:
            valid = np.tril(np.ones((t, s), dtype=bool))
        else:  # a tf.function traced with relaxed sizes: the same mask, from the dynamic shape
            valid = tf.linalg.band_part(tf.ones([tf.shape(q)[1], tf.shape(k)[1]], tf.bool), -1, 0)
        logits = tf.where(valid, logits, tf.constant(-np.inf, dtype=q.dtype))
    return tf.einsum("bnts,bsnh->btnh", tf.nn.softmax(logits, axis=-1), v)


@impl("tf.cast(tf.image.resize(x, size, method='bilinear', antialias=False), x.dtype)")
def resize_bilinear(x, size):
    # tf.image.resize returns float32 for bilinear whatever the input dtype (ResizeBilinear's output
    # is float); the cast gives the catalogue's output dtype back
    z = tf.image.resize(x, [int(s) for s in size], method="bilinear", antialias=False)
    return tf.cast(z, x.dtype)
