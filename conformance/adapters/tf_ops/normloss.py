"""TensorFlow mappings of the normloss family (see ../mapping.py).

TensorFlow has no layer/batch/group/RMS-norm function outside Keras: the normalisations are
composed from tf.nn.moments and tf.nn.batch_normalization (what Keras's layers call; eps inside
the rsqrt, population variance). The tf.nn losses return per-example values; the adapter takes
their mean explicitly. mse and huber have no tf.nn op and are composed (Keras's formulas).
"""

import tensorflow as tf

from conformance.adapters.mapping import impl


def _normalize(x, axes, gamma, beta, eps):
    mean, variance = tf.nn.moments(x, axes=list(axes), keepdims=True)
    return tf.nn.batch_normalization(x, mean, variance, offset=beta, scale=gamma, variance_epsilon=eps)


@impl("tf.nn.moments over the trailing dims + tf.nn.batch_normalization", composite=True)
def layer_norm(x, gamma, beta, axis, eps):
    return _normalize(x, [int(a) % x.shape.rank for a in axis], gamma, beta, eps)


@impl("tf.nn.moments over all but the channel axis + tf.nn.batch_normalization", composite=True)
def batch_norm(x, gamma, beta, eps):
    return _normalize(x, range(x.shape.rank - 1), gamma, beta, eps)


@impl("x * tf.math.rsqrt(tf.reduce_mean(tf.square(x), -1, keepdims=True) + eps) * gamma", composite=True)
def rms_norm(x, gamma, eps):
    return x * tf.math.rsqrt(tf.reduce_mean(tf.square(x), axis=-1, keepdims=True) + eps) * gamma


@impl("reshape to (N, ..., G, C/G) + tf.nn.moments + tf.nn.batch_normalization", composite=True)
def group_norm(x, gamma, beta, groups, eps):
    shape = x.shape.as_list()
    c = shape[-1]
    xg = tf.reshape(x, [*shape[:-1], groups, c // groups])
    axes = [*range(1, len(shape) - 1), len(shape)]
    y = _normalize(xg, axes, tf.reshape(gamma, [groups, c // groups]), tf.reshape(beta, [groups, c // groups]), eps)
    return tf.reshape(y, shape)


@impl("tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels, logits))")
def softmax_cross_entropy(logits, labels):
    return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits))


@impl("tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))")
def sparse_softmax_cross_entropy(logits, labels):
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))


@impl("tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels, logits))")
def sigmoid_binary_cross_entropy(logits, labels):
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))


@impl("tf.reduce_mean(tf.math.squared_difference(pred, target))", composite=True)
def mse(pred, target):
    return tf.reduce_mean(tf.math.squared_difference(pred, target))


@impl("tf.reduce_mean(tf.where(|d| <= delta, d^2 / 2, delta (|d| - delta / 2))), d = pred - target",
      composite=True)
def huber(pred, target, delta):
    # not tf.compat.v1.losses.huber_loss: it casts to float32 whatever the input dtype, and its
    # min/subtract form differentiates to delta + (q - delta), losing relative accuracy for |d| << delta
    d = pred - target
    a = tf.abs(d)
    return tf.reduce_mean(tf.where(a <= delta, 0.5 * d * d, delta * (a - 0.5 * delta)))
