"""JAX mappings of the normloss family (see ../mapping.py).

jax.numpy / jax.nn have no normalisation layers or losses (those live in Flax and Optax): the
normalisations use jax.nn.standardize with algorithm="stable" (the two-pass variance; its default
"fast" one is mean(x^2) - mean(x)^2) followed by the affine map, and the losses are composed from
jax.nn.log_softmax / log_sigmoid and jnp reductions (the formulas Optax uses).
"""

import jax
import jax.numpy as jnp
from jax import lax

from conformance.adapters.mapping import impl


def _standardize(x, axes, eps):
    return jax.nn.standardize(x, axis=tuple(axes), epsilon=eps, algorithm="stable")


@impl("jax.nn.standardize(x, trailing axes, epsilon=eps, algorithm='stable') * gamma + beta", composite=True)
def layer_norm(x, gamma, beta, axis, eps):
    return _standardize(x, [int(a) % x.ndim for a in axis], eps) * gamma + beta


@impl("jax.nn.standardize(x, all but the channel axis, epsilon=eps, algorithm='stable') * gamma + beta",
      composite=True)
def batch_norm(x, gamma, beta, eps):
    return _standardize(x, range(x.ndim - 1), eps) * gamma + beta


@impl("x * lax.rsqrt(jnp.mean(jnp.square(x), -1, keepdims=True) + eps) * gamma", composite=True)
def rms_norm(x, gamma, eps):
    return x * lax.rsqrt(jnp.mean(jnp.square(x), axis=-1, keepdims=True) + eps) * gamma


@impl("reshape to (N, ..., G, C/G) + jax.nn.standardize(algorithm='stable') * gamma + beta", composite=True)
def group_norm(x, gamma, beta, groups, eps):
    c = x.shape[-1]
    xg = x.reshape(*x.shape[:-1], groups, c // groups)
    y = _standardize(xg, [*range(1, x.ndim - 1), x.ndim], eps)
    return (y * gamma.reshape(groups, c // groups) + beta.reshape(groups, c // groups)).reshape(x.shape)


@impl("-jnp.mean(jnp.sum(labels * jax.nn.log_softmax(logits), -1))", composite=True)
def softmax_cross_entropy(logits, labels):
    return -jnp.mean(jnp.sum(labels * jax.nn.log_softmax(logits, axis=-1), axis=-1))


@impl("-jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), labels[:, None], -1))", composite=True)
def sparse_softmax_cross_entropy(logits, labels):
    return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits, axis=-1), labels[:, None], axis=-1))


@impl("jnp.mean(-(labels * jax.nn.log_sigmoid(x) + (1 - labels) * jax.nn.log_sigmoid(-x)))", composite=True)
def sigmoid_binary_cross_entropy(logits, labels):
    return jnp.mean(-(labels * jax.nn.log_sigmoid(logits) + (1 - labels) * jax.nn.log_sigmoid(-logits)))


@impl("jnp.mean(jnp.square(pred - target))", composite=True)
def mse(pred, target):
    return jnp.mean(jnp.square(pred - target))


@impl("jnp.mean(jnp.where(|d| <= delta, d^2 / 2, delta (|d| - delta / 2))), d = pred - target", composite=True)
def huber(pred, target, delta):
    d = pred - target
    a = jnp.abs(d)
    return jnp.mean(jnp.where(a <= delta, 0.5 * d * d, delta * (a - 0.5 * delta)))
