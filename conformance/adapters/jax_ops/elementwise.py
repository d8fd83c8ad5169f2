"""JAX mappings of the elementwise family (see ../mapping.py)."""

import jax
import jax.numpy as jnp
import jax.scipy.special

from conformance.adapters.mapping import impl


@impl("jnp.negative")
def neg(x):
    return jnp.negative(x)


@impl("jnp.abs")
def abs(x):
    return jnp.abs(x)


@impl("jnp.square")
def square(x):
    return jnp.square(x)


@impl("jnp.sqrt")
def sqrt(x):
    return jnp.sqrt(x)


@impl("jax.lax.rsqrt")
def rsqrt(x):
    return jax.lax.rsqrt(x)


@impl("jnp.reciprocal")
def reciprocal(x):
    return jnp.reciprocal(x)


@impl("jnp.exp")
def exp(x):
    return jnp.exp(x)


@impl("jnp.expm1")
def expm1(x):
    return jnp.expm1(x)


@impl("jnp.log")
def log(x):
    return jnp.log(x)


@impl("jnp.log1p")
def log1p(x):
    return jnp.log1p(x)


@impl("jnp.sin")
def sin(x):
    return jnp.sin(x)


@impl("jnp.cos")
def cos(x):
    return jnp.cos(x)


@impl("jnp.tan")
def tan(x):
    return jnp.tan(x)


@impl("jnp.tanh")
def tanh(x):
    return jnp.tanh(x)


@impl("jax.scipy.special.erf")
def erf(x):
    return jax.scipy.special.erf(x)


@impl("jax.nn.log_sigmoid")
def log_sigmoid(x):
    return jax.nn.log_sigmoid(x)


@impl("jax.nn.relu")
def relu(x):
    return jax.nn.relu(x)


@impl("jax.nn.relu6")
def relu6(x):
    return jax.nn.relu6(x)


@impl("jax.nn.leaky_relu(x, negative_slope=slope)")
def leaky_relu(x, slope):
    return jax.nn.leaky_relu(x, negative_slope=slope)


@impl("jax.nn.elu(x, alpha=alpha)")
def elu(x, alpha):
    return jax.nn.elu(x, alpha=alpha)


@impl("jax.nn.selu")
def selu(x):
    return jax.nn.selu(x)


@impl('jax.nn.gelu(x, approximate=(approximate == "tanh"))')
def gelu(x, approximate):
    # jax.nn.gelu defaults to the tanh approximation: the flag is always passed explicitly
    return jax.nn.gelu(x, approximate=approximate == "tanh")


@impl("jax.nn.silu")
def silu(x):
    return jax.nn.silu(x)


@impl("jax.nn.softplus")
def softplus(x):
    return jax.nn.softplus(x)


@impl("jax.nn.soft_sign")
def softsign(x):
    return jax.nn.soft_sign(x)


@impl("jnp.clip(x, lo, hi)")
def clip(x, lo, hi):
    return jnp.clip(x, lo, hi)


@impl("jnp.add")
def add(x, y):
    return jnp.add(x, y)


@impl("jnp.subtract")
def subtract(x, y):
    return jnp.subtract(x, y)


@impl("jnp.multiply")
def multiply(x, y):
    return jnp.multiply(x, y)


@impl("jnp.divide")
def divide(x, y):
    return jnp.divide(x, y)


@impl("jnp.power")
def pow(x, y):
    return jnp.power(x, y)


@impl("jnp.maximum")
def maximum(x, y):
    return jnp.maximum(x, y)


@impl("jnp.minimum")
def minimum(x, y):
    return jnp.minimum(x, y)


@impl("jnp.arctan2(x, y)")
def atan2(x, y):
    return jnp.arctan2(x, y)


@impl("jnp.square(x - y)", composite=True)
def squared_difference(x, y):
    return jnp.square(x - y)
