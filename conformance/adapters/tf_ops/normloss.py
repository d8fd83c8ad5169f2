"""TensorFlow mappings of the normloss family (see ../mapping.py).

TensorFlow has no layer/batch/group/RMS-norm function outside Keras: the normalisations are
composed from tf.nn.moments and tf.nn.batch_normalization (what Keras's layers call; eps inside
the rsqrt, population variance). The tf.nn losses return per-example values; the adapter reduces them as the
catalogue's reduction says. mse and huber have no tf.nn op and are composed (Keras's formulas).
"""

import tensorflow as tf

from conformance.adapters.losses import reduce_loss
from conformance.adapters.mapping import impl


def _normalize(x, axes, gamma, beta, eps):
    mean, variance = tf.nn.moments(x, axes=list(axes), keepdims=True)
    return tf.nn.batch_normalization(x, mean, variance, offset=beta, scale=gamma, variance_epsilon=eps)


@impl("tf.nn.moments over the trailing dims + tf.nn.batch_normalization", composite=True)
def layer_norm(x, gamma, beta, axis, eps):
    return _normalize(x, [int(a) % x.shape.rank for a in axis], gamma, beta, eps)


@impl("tf.nn.moments over all but the channel axis + tf.nn.batch_normalization; inference mode: "
      "tf.nn.batch_normalization with running_mean, running_var", composite=True)
def batch_norm(x, gamma, beta, eps, training, running_mean, running_var):
    if training:
        return _normalize(x, range(x.shape.rank - 1), gamma, beta, eps)
    mean = tf.constant(running_mean, dtype=x.dtype)
    variance = tf.constant(running_var, dtype=x.dtype)
    return tf.nn.batch_normalization(x, mean, variance, offset=beta, scale=gamma, variance_epsilon=eps)


@impl("x * tf.math.rsqrt(tf.reduce_mean(tf.square(x), trailing axes, keepdims=True) + eps) * gamma", composite=True)
def rms_norm(x, gamma, eps, axis):
    axes = [int(a) % x.shape.rank for a in axis]
    return x * tf.math.rsqrt(tf.reduce_mean(tf.square(x), axis=axes, keepdims=True) + eps) * gamma


@impl("reshape to (N, ..., G, C/G) + tf.nn.moments + tf.nn.batch_normalization", composite=True)
def group_norm(x, gamma, beta, groups, eps):
    rank = x.shape.rank
    shape = tf.shape(x)  # sizes as a tensor: a tf.function with relaxed sizes knows none of them
    per_group = [groups, shape[-1] // groups]  # not -1: reshape cannot infer a size of an empty tensor
    xg = tf.reshape(x, tf.concat([shape[:-1], per_group], axis=0))
    axes = [*range(1, rank - 1), rank]
    y = _normalize(xg, axes, tf.reshape(gamma, per_group), tf.reshape(beta, per_group), eps)
    return tf.reshape(y, shape)


def _reduce(losses, reduction, count=None):
    return reduce_loss(losses, reduction, tf.reduce_sum, tf.reduce_mean, count)


def _constant(values, like):
    return tf.constant(values, dtype=like.dtype)


@impl("tf.nn.softmax_cross_entropy_with_logits(labels (1 - eps) + eps / K, logits), reduced; with class "
      "weights -sum(w t tf.nn.log_softmax(logits)) (the fused op takes label rows that sum to 1, and has no "
      "weights)", composite=True)
def softmax_cross_entropy(logits, labels, reduction, weight, label_smoothing):
    if label_smoothing:
        labels = labels * (1 - label_smoothing) + label_smoothing / logits.shape[-1]
    if weight is None:
        losses = tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    else:
        losses = -tf.reduce_sum(_constant(weight, logits) * labels * tf.nn.log_softmax(logits), axis=-1)
    return _reduce(losses, reduction)


@impl("tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits), reduced; ignore_index: the ignored "
      "rows' labels set to 0 and their losses masked out (tf.nn has no ignore_index)", composite=True)
def sparse_softmax_cross_entropy(logits, labels, reduction, ignore_index):
    if ignore_index is None:
        return _reduce(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits), reduction)
    kept = tf.not_equal(labels, ignore_index)
    safe = tf.where(kept, labels, tf.zeros_like(labels))
    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=safe, logits=logits)
    losses = tf.where(kept, losses, tf.zeros_like(losses))
    return _reduce(losses, reduction, tf.reduce_sum(tf.cast(kept, logits.dtype)))


@impl("tf.nn.sigmoid_cross_entropy_with_logits(labels, logits), or tf.nn.weighted_cross_entropy_with_logits("
      "labels, logits, pos_weight) with pos_weight, reduced")
def sigmoid_binary_cross_entropy(logits, labels, reduction, pos_weight):
    if pos_weight is None:
        losses = tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits)
    else:
        losses = tf.nn.weighted_cross_entropy_with_logits(labels=labels, logits=logits,
                                                          pos_weight=_constant(pos_weight, logits))
    return _reduce(losses, reduction)


@impl("tf.math.squared_difference(pred, target), reduced", composite=True)
def mse(pred, target, reduction):
    return _reduce(tf.math.squared_difference(pred, target), reduction)


@impl("tf.where(|d| <= delta, d^2 / 2, delta (|d| - delta / 2)), d = pred - target, reduced", composite=True)
def huber(pred, target, delta, reduction):
    # not tf.compat.v1.losses.huber_loss: it casts to float32 whatever the input dtype, and its
    # min/subtract form differentiates to delta + (q - delta), losing relative accuracy for |d| << delta
    d = pred - target
    a = tf.abs(d)
    return _reduce(tf.where(a <= delta, 0.5 * d * d, delta * (a - 0.5 * delta)), reduction)
