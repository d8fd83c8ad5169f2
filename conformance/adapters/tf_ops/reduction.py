"""TensorFlow mappings of the reduction family (see ../mapping.py).

``axis`` arrives as an int, a tuple/list of ints or None (all axes); TensorFlow's reductions
take all three (a tuple as a list).
"""

import tensorflow as tf

from conformance.adapters.mapping import direct, impl

TABLE = {
    "softmax": direct("tf.nn.softmax", axis="axis"),
    "log_softmax": direct("tf.nn.log_softmax", axis="axis"),
}


def axes(axis):
    return axis if axis is None or isinstance(axis, int) else [int(a) for a in axis]


def group_size(x, axis):
    """N, the number of elements reduced into each output: a Python int where the shape is static
    (always, eagerly), else a float64 tensor (a tf.function traced with relaxed sizes)."""
    shape = x.shape.as_list()
    if axis is None:
        picked = range(len(shape))
    elif isinstance(axis, int):
        picked = [axis]
    else:
        picked = axis
    dims = sorted({int(a) % len(shape) for a in picked})
    if any(shape[a] is None for a in dims):
        return tf.cast(tf.reduce_prod(tf.gather(tf.shape(x), dims)), tf.float64)
    n = 1
    for a in dims:
        n *= shape[a]
    return n


def ddof_scale(n, ddof, dtype):
    """N / (N - ddof) in the input's dtype, computed in float64 (a Python float or a float64 tensor)."""
    if isinstance(n, int):
        return tf.constant(n / (n - ddof), dtype=dtype)
    return tf.cast(n / (n - ddof), dtype)


@impl("tf.reduce_sum(x, axis, keepdims)")
def sum_(x, axis, keepdims):
    return tf.reduce_sum(x, axis=axes(axis), keepdims=keepdims)


@impl("tf.reduce_mean(x, axis, keepdims)")
def mean(x, axis, keepdims):
    return tf.reduce_mean(x, axis=axes(axis), keepdims=keepdims)


@impl("tf.reduce_prod(x, axis, keepdims)")
def prod(x, axis, keepdims):
    return tf.reduce_prod(x, axis=axes(axis), keepdims=keepdims)


@impl("tf.reduce_max(x, axis, keepdims)")
def max_(x, axis, keepdims):
    return tf.reduce_max(x, axis=axes(axis), keepdims=keepdims)


@impl("tf.reduce_min(x, axis, keepdims)")
def min_(x, axis, keepdims):
    return tf.reduce_min(x, axis=axes(axis), keepdims=keepdims)


@impl("tf.reduce_logsumexp(x, axis, keepdims)")
def logsumexp(x, axis, keepdims):
    return tf.reduce_logsumexp(x, axis=axes(axis), keepdims=keepdims)


@impl("tf.math.reduce_variance(x, axis, keepdims) (population; ddof=1: times N / (N - 1))", composite=True)
def var(x, axis, keepdims, ddof):
    v = tf.math.reduce_variance(x, axis=axes(axis), keepdims=keepdims)
    if ddof:
        n = group_size(x, axis)
        v = v * ddof_scale(n, ddof, x.dtype)
    return v


@impl("tf.math.reduce_std(x, axis, keepdims) (ddof=1: tf.sqrt(reduce_variance * N / (N - 1)))", composite=True)
def std(x, axis, keepdims, ddof):
    if not ddof:
        return tf.math.reduce_std(x, axis=axes(axis), keepdims=keepdims)
    n = group_size(x, axis)
    return tf.sqrt(tf.math.reduce_variance(x, axis=axes(axis), keepdims=keepdims)
                   * ddof_scale(n, ddof, x.dtype))


@impl("tf.math.reduce_euclidean_norm(x, axis, keepdims)")
def l2_norm(x, axis, keepdims):
    return tf.math.reduce_euclidean_norm(x, axis=axes(axis), keepdims=keepdims)


@impl("tf.norm(x, ord=float(ord), axis, keepdims) (several axes: moved last and flattened first, tf.norm "
      "reads a pair of axes as a matrix norm; ord -inf, which tf.norm refuses: tf.reduce_min(tf.abs(x)))",
      composite=True)
def vector_norm(x, ord, axis, keepdims):
    p = float(ord)
    if p == -float("inf"):
        return tf.reduce_min(tf.abs(x), axis=axes(axis), keepdims=keepdims)
    if axis is None or isinstance(axis, int) or len(axis) == 1:
        one = axis if axis is None or isinstance(axis, int) else int(axis[0])
        return tf.norm(x, ord=p, axis=one, keepdims=keepdims)
    ndim = len(x.shape)
    reduced = sorted({int(a) % ndim for a in axis})
    kept = [a for a in range(ndim) if a not in reduced]
    lead = tf.gather(tf.shape(x), tf.constant(kept, tf.int32))
    flat = tf.reshape(tf.transpose(x, kept + reduced), tf.concat([lead, [-1]], 0))
    z = tf.norm(flat, ord=p, axis=-1)
    if keepdims:
        z = tf.reshape(z, [1 if a in reduced else tf.shape(x)[a] for a in range(ndim)])
    return z
