"""JAX mappings of the normloss family (see ../mapping.py).

jax.numpy / jax.nn have no normalisation layers or losses (those live in Flax and Optax): the
normalisations use jax.nn.standardize with algorithm="stable" (the two-pass variance; its default
"fast" one is mean(x^2) - mean(x)^2) followed by the affine map, and the losses are composed from
jax.nn.log_softmax / log_sigmoid and jnp reductions (the formulas Optax uses).
"""

import jax
import jax.numpy as jnp
from jax import lax

from conformance.adapters.losses import reduce_loss
from conformance.adapters.mapping import impl


def _standardize(x, axes, eps):
    return jax.nn.standardize(x, axis=tuple(axes), epsilon=eps, algorithm="stable")


@impl("jax.nn.standardize(x, trailing axes, epsilon=eps, algorithm='stable') * gamma + beta", composite=True)
def layer_norm(x, gamma, beta, axis, eps):
    return _standardize(x, [int(a) % x.ndim for a in axis], eps) * gamma + beta


@impl("jax.nn.standardize(x, all but the channel axis, epsilon=eps, algorithm='stable') * gamma + beta; "
      "inference mode: jax.nn.standardize(x, mean=running_mean, variance=running_var, epsilon=eps) * gamma + beta",
      composite=True)
def batch_norm(x, gamma, beta, eps, training, running_mean, running_var):
    if training:
        return _standardize(x, range(x.ndim - 1), eps) * gamma + beta
    mean = jnp.asarray(running_mean, dtype=x.dtype)
    variance = jnp.asarray(running_var, dtype=x.dtype)
    return jax.nn.standardize(x, axis=-1, mean=mean, variance=variance, epsilon=eps) * gamma + beta


@impl("x * lax.rsqrt(jnp.mean(jnp.square(x), trailing axes, keepdims=True) + eps) * gamma", composite=True)
def rms_norm(x, gamma, eps, axis):
    axes = tuple(int(a) % x.ndim for a in axis)
    return x * lax.rsqrt(jnp.mean(jnp.square(x), axis=axes, keepdims=True) + eps) * gamma


@impl("reshape to (N, ..., G, C/G) + jax.nn.standardize(algorithm='stable') * gamma + beta", composite=True)
def group_norm(x, gamma, beta, groups, eps):
    c = x.shape[-1]
    xg = x.reshape(*x.shape[:-1], groups, c // groups)
    y = _standardize(xg, [*range(1, x.ndim - 1), x.ndim], eps)
    return (y * gamma.reshape(groups, c // groups) + beta.reshape(groups, c // groups)).reshape(x.shape)


def _reduce(losses, reduction, count=None):
    return reduce_loss(losses, reduction, jnp.sum, jnp.mean, count)


@impl("-jnp.sum(w (labels (1 - eps) + eps / K) * jax.nn.log_softmax(logits), -1), reduced", composite=True)
def softmax_cross_entropy(logits, labels, reduction, weight, label_smoothing):
    if label_smoothing:
        labels = labels * (1 - label_smoothing) + label_smoothing / logits.shape[-1]
    if weight is not None:
        labels = labels * jnp.asarray(weight, dtype=logits.dtype)
    return _reduce(-jnp.sum(labels * jax.nn.log_softmax(logits, axis=-1), axis=-1), reduction)


@impl("-jnp.take_along_axis(jax.nn.log_softmax(logits), labels[:, None], -1), ignored rows masked out, reduced",
      composite=True)
def sparse_softmax_cross_entropy(logits, labels, reduction, ignore_index):
    kept = jnp.ones(labels.shape, dtype=bool) if ignore_index is None else labels != ignore_index
    safe = jnp.where(kept, labels, 0)
    losses = -jnp.take_along_axis(jax.nn.log_softmax(logits, axis=-1), safe[:, None], axis=-1)[:, 0]
    losses = jnp.where(kept, losses, 0)
    return _reduce(losses, reduction, None if ignore_index is None else jnp.sum(kept.astype(logits.dtype)))


@impl("-(p labels * jax.nn.log_sigmoid(x) + (1 - labels) * jax.nn.log_sigmoid(-x)), reduced", composite=True)
def sigmoid_binary_cross_entropy(logits, labels, reduction, pos_weight):
    positive = labels if pos_weight is None else labels * jnp.asarray(pos_weight, dtype=logits.dtype)
    return _reduce(-(positive * jax.nn.log_sigmoid(logits) + (1 - labels) * jax.nn.log_sigmoid(-logits)), reduction)


@impl("jnp.square(pred - target), reduced", composite=True)
def mse(pred, target, reduction):
    return _reduce(jnp.square(pred - target), reduction)


@impl("jnp.where(|d| <= delta, d^2 / 2, delta (|d| - delta / 2)), d = pred - target, reduced", composite=True)
def huber(pred, target, delta, reduction):
    d = pred - target
    a = jnp.abs(d)
    return _reduce(jnp.where(a <= delta, 0.5 * d * d, delta * (a - 0.5 * delta)), reduction)
