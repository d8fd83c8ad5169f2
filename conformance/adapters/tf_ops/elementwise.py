"""TensorFlow mappings of the elementwise family (see ../mapping.py)."""

import tensorflow as tf

from conformance.adapters.mapping import direct, impl

TABLE = {
    "sigmoid": direct("tf.sigmoid"),
    "neg": direct("tf.negative"),
    "abs": direct("tf.abs"),
    "square": direct("tf.square"),
    "sqrt": direct("tf.sqrt"),
    "rsqrt": direct("tf.math.rsqrt"),
    "reciprocal": direct("tf.math.reciprocal"),
    "exp": direct("tf.exp"),
    "expm1": direct("tf.math.expm1"),
    "log": direct("tf.math.log"),
    "log1p": direct("tf.math.log1p"),
    "sin": direct("tf.sin"),
    "cos": direct("tf.cos"),
    "tan": direct("tf.tan"),
    "tanh": direct("tf.tanh"),
    "erf": direct("tf.math.erf"),
    "log_sigmoid": direct("tf.math.log_sigmoid"),
    "relu": direct("tf.nn.relu"),
    "relu6": direct("tf.nn.relu6"),
    "leaky_relu": direct("tf.nn.leaky_relu", alpha="slope"),
    "selu": direct("tf.nn.selu"),
    "silu": direct("tf.nn.silu"),
    "softsign": direct("tf.nn.softsign"),
    "clip": direct("tf.clip_by_value", "x", "lo", "hi"),
    "add": direct("tf.add"),
    "subtract": direct("tf.subtract"),
    "multiply": direct("tf.multiply"),
    "divide": direct("tf.divide"),
    "pow": direct("tf.pow"),
    "maximum": direct("tf.maximum"),
    "minimum": direct("tf.minimum"),
    "atan2": direct("tf.math.atan2", note="TensorFlow names its arguments (y, x)"),
    "squared_difference": direct("tf.math.squared_difference"),
}


@impl("tf.nn.elu (alpha = 1); alpha != 1: tf.where(x > 0, tf.nn.elu(x), alpha * tf.nn.elu(x))", composite=True)
def elu(x, alpha):
    # tf.nn.elu has no alpha; Keras' elu(x, alpha) composes it the same way
    e = tf.nn.elu(x)
    return e if alpha == 1.0 else tf.where(x > 0, e, alpha * e)


@impl("x * tf.nn.relu6(x + 3) / 6", composite=True)
def hardswish(x):
    # TensorFlow has no hard-swish op (tf.nn has none; Keras' hard_swish composes it the same way)
    return x * tf.nn.relu6(x + 3.0) / 6.0


@impl('tf.nn.gelu(x, approximate=(approximate == "tanh"))')
def gelu(x, approximate):
    return tf.nn.gelu(x, approximate=approximate == "tanh")


@impl("tf.math.softplus(beta x) / beta; with a threshold tf.where(beta x > threshold, x, ...) "
      "(tf.math.softplus has neither parameter)", composite=True)
def softplus(x, beta, threshold):
    z = tf.math.softplus(beta * x) / beta
    return z if threshold is None else tf.where(beta * x > threshold, x, z)
