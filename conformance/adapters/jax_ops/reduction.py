"""JAX mappings of the reduction family (see ../mapping.py).

``axis`` arrives as an int, a tuple/list of ints or None (all axes); jax.numpy takes an int, a
tuple or None.
"""

import jax
import jax.numpy as jnp

from conformance.adapters.mapping import direct, impl

TABLE = {
    "softmax": direct("jax.nn.softmax", axis="axis"),
    "log_softmax": direct("jax.nn.log_softmax", axis="axis"),
}


def axes(axis):
    return axis if axis is None or isinstance(axis, int) else tuple(int(a) for a in axis)


@impl("jnp.sum(x, axis, keepdims)")
def sum_(x, axis, keepdims):
    return jnp.sum(x, axis=axes(axis), keepdims=keepdims)


@impl("jnp.mean(x, axis, keepdims)")
def mean(x, axis, keepdims):
    return jnp.mean(x, axis=axes(axis), keepdims=keepdims)


@impl("jnp.prod(x, axis, keepdims)")
def prod(x, axis, keepdims):
    return jnp.prod(x, axis=axes(axis), keepdims=keepdims)


@impl("jnp.max(x, axis, keepdims)")
def max_(x, axis, keepdims):
    return jnp.max(x, axis=axes(axis), keepdims=keepdims)


@impl("jnp.min(x, axis, keepdims)")
def min_(x, axis, keepdims):
    return jnp.min(x, axis=axes(axis), keepdims=keepdims)


@impl("jax.nn.logsumexp(x, axis, keepdims)")
def logsumexp(x, axis, keepdims):
    return jax.nn.logsumexp(x, axis=axes(axis), keepdims=keepdims)


@impl("jnp.var(x, axis, ddof=ddof, keepdims)")
def var(x, axis, keepdims, ddof):
    return jnp.var(x, axis=axes(axis), ddof=ddof, keepdims=keepdims)


@impl("jnp.std(x, axis, ddof=ddof, keepdims)")
def std(x, axis, keepdims, ddof):
    return jnp.std(x, axis=axes(axis), ddof=ddof, keepdims=keepdims)


@impl("jnp.linalg.vector_norm(x, ord=2, axis, keepdims)")
def l2_norm(x, axis, keepdims):
    return jnp.linalg.vector_norm(x, ord=2, axis=axes(axis), keepdims=keepdims)


@impl("jnp.linalg.vector_norm(x, ord=float(ord), axis, keepdims)")
def vector_norm(x, ord, axis, keepdims):
    return jnp.linalg.vector_norm(x, ord=float(ord), axis=axes(axis), keepdims=keepdims)
