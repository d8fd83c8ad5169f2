"""JAX mappings of the elementwise family (see ../mapping.py)."""

import jax
import jax.numpy as jnp
import jax.scipy.special

from conformance.adapters.mapping import direct, impl

TABLE = {
    "sigmoid": direct("jax.nn.sigmoid"),
    "neg": direct("jnp.negative"),
    "abs": direct("jnp.abs"),
    "square": direct("jnp.square"),
    "sqrt": direct("jnp.sqrt"),
    "rsqrt": direct("jax.lax.rsqrt"),
    "reciprocal": direct("jnp.reciprocal"),
    "exp": direct("jnp.exp"),
    "expm1": direct("jnp.expm1"),
    "log": direct("jnp.log"),
    "log1p": direct("jnp.log1p"),
    "sin": direct("jnp.sin"),
    "cos": direct("jnp.cos"),
    "tan": direct("jnp.tan"),
    "tanh": direct("jnp.tanh"),
    "erf": direct("jax.scipy.special.erf"),
    "log_sigmoid": direct("jax.nn.log_sigmoid"),
    "relu": direct("jax.nn.relu"),
    "relu6": direct("jax.nn.relu6"),
    "hardswish": direct("jax.nn.hard_swish"),
    "leaky_relu": direct("jax.nn.leaky_relu", negative_slope="slope"),
    "elu": direct("jax.nn.elu", alpha="alpha"),
    "selu": direct("jax.nn.selu"),
    "silu": direct("jax.nn.silu"),
    "softsign": direct("jax.nn.soft_sign"),
    "clip": direct("jnp.clip", "x", "lo", "hi"),
    "add": direct("jnp.add"),
    "subtract": direct("jnp.subtract"),
    "multiply": direct("jnp.multiply"),
    "divide": direct("jnp.divide"),
    "pow": direct("jnp.power"),
    "maximum": direct("jnp.maximum"),
    "minimum": direct("jnp.minimum"),
    "atan2": direct("jnp.arctan2"),
}


@impl('jax.nn.gelu(x, approximate=(approximate == "tanh"))')
def gelu(x, approximate):
    # jax.nn.gelu defaults to the tanh approximation: the flag is always passed explicitly
    return jax.nn.gelu(x, approximate=approximate == "tanh")


@impl("jnp.square(x - y)", composite=True)
def squared_difference(x, y):
    return jnp.square(x - y)


@impl("jax.nn.softplus(beta x) / beta; with a threshold jnp.where(beta x > threshold, x, ...) "
      "(jax.nn.softplus has neither parameter)", composite=True)
def softplus(x, beta, threshold):
    z = jax.nn.softplus(beta * x) / beta
    return z if threshold is None else jnp.where(beta * x > threshold, x, z)
