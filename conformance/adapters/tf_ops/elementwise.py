"""TensorFlow mappings of the elementwise family (see ../mapping.py)."""

import tensorflow as tf

from conformance.adapters.mapping import impl


@impl("tf.negative")
def neg(x):
    return tf.negative(x)


@impl("tf.abs")
def abs(x):
    return tf.abs(x)


@impl("tf.square")
def square(x):
    return tf.square(x)


@impl("tf.sqrt")
def sqrt(x):
    return tf.sqrt(x)


@impl("tf.math.rsqrt")
def rsqrt(x):
    return tf.math.rsqrt(x)


@impl("tf.math.reciprocal")
def reciprocal(x):
    return tf.math.reciprocal(x)


@impl("tf.exp")
def exp(x):
    return tf.exp(x)


@impl("tf.math.expm1")
def expm1(x):
    return tf.math.expm1(x)


@impl("tf.math.log")
def log(x):
    return tf.math.log(x)


@impl("tf.math.log1p")
def log1p(x):
    return tf.math.log1p(x)


@impl("tf.sin")
def sin(x):
    return tf.sin(x)


@impl("tf.cos")
def cos(x):
    return tf.cos(x)


@impl("tf.tan")
def tan(x):
    return tf.tan(x)


@impl("tf.tanh")
def tanh(x):
    return tf.tanh(x)


@impl("tf.math.erf")
def erf(x):
    return tf.math.erf(x)


@impl("tf.math.log_sigmoid")
def log_sigmoid(x):
    return tf.math.log_sigmoid(x)


@impl("tf.nn.relu")
def relu(x):
    return tf.nn.relu(x)


@impl("tf.nn.relu6")
def relu6(x):
    return tf.nn.relu6(x)


@impl("tf.nn.leaky_relu(x, alpha=slope)")
def leaky_relu(x, slope):
    return tf.nn.leaky_relu(x, alpha=slope)


@impl("tf.nn.elu (alpha = 1); alpha != 1: tf.where(x > 0, tf.nn.elu(x), alpha * tf.nn.elu(x))", composite=True)
def elu(x, alpha):
    # tf.nn.elu has no alpha; Keras' elu(x, alpha) composes it the same way
    e = tf.nn.elu(x)
    return e if alpha == 1.0 else tf.where(x > 0, e, alpha * e)


@impl("tf.nn.selu")
def selu(x):
    return tf.nn.selu(x)


@impl('tf.nn.gelu(x, approximate=(approximate == "tanh"))')
def gelu(x, approximate):
    return tf.nn.gelu(x, approximate=approximate == "tanh")


@impl("tf.nn.silu")
def silu(x):
    return tf.nn.silu(x)


@impl("tf.math.softplus")
def softplus(x):
    return tf.math.softplus(x)


@impl("tf.nn.softsign")
def softsign(x):
    return tf.nn.softsign(x)


@impl("tf.clip_by_value(x, lo, hi)")
def clip(x, lo, hi):
    return tf.clip_by_value(x, lo, hi)


@impl("tf.add")
def add(x, y):
    return tf.add(x, y)


@impl("tf.subtract")
def subtract(x, y):
    return tf.subtract(x, y)


@impl("tf.multiply")
def multiply(x, y):
    return tf.multiply(x, y)


@impl("tf.divide")
def divide(x, y):
    return tf.divide(x, y)


@impl("tf.pow")
def pow(x, y):
    return tf.pow(x, y)


@impl("tf.maximum")
def maximum(x, y):
    return tf.maximum(x, y)


@impl("tf.minimum")
def minimum(x, y):
    return tf.minimum(x, y)


@impl("tf.math.atan2(y=x, x=y)")
def atan2(x, y):
    return tf.math.atan2(x, y)


@impl("tf.math.squared_difference")
def squared_difference(x, y):
    return tf.math.squared_difference(x, y)
