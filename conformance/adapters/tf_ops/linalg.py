"""tf mappings of the linalg family (see ../mapping.py).

TensorFlow's CPU linalg kernels are registered for half only for MatrixInverse and for no op for
bfloat16 (the op definitions reject it): those targets are claimed unsupported, with TensorFlow's
message, in conformance/unsupported.toml. cholesky and eigvalsh are defined on
sym(x) = (x + x^T)/2: TensorFlow reads the lower triangle (and its eigvalsh gradient is lower
triangular), so the mapping symmetrises explicitly (an exact operation) before the call.
"""

import tensorflow as tf

from conformance.adapters.mapping import direct, impl

TABLE = {
    "matmul": direct("tf.linalg.matmul"),
    "einsum": direct("tf.einsum", "equation", "x", "y"),
    "einsum_unary": direct("tf.einsum", "equation", "x"),
    "inv": direct("tf.linalg.inv"),
    "det": direct("tf.linalg.det"),
    "solve": direct("tf.linalg.solve"),
    "svdvals": direct("tf.linalg.svd", const={"compute_uv": False}),
    "diagonal": direct("tf.linalg.diag_part", k="offset"),
}


def _sym(x):
    return (x + tf.linalg.matrix_transpose(x)) / 2


@impl("tf.linalg.slogdet(x)[1]")
def slogdet(x):
    return tf.linalg.slogdet(x)[1]


@impl("tf.linalg.cholesky((x + x^T) / 2)", composite=True)
def cholesky(x):
    return tf.linalg.cholesky(_sym(x))


@impl("tf.linalg.eigvalsh((x + x^T) / 2)", composite=True)
def eigvalsh(x):
    return tf.linalg.eigvalsh(_sym(x))


@impl("tf.linalg.triangular_solve(a, b, lower, adjoint=transpose); unit_diagonal: a's diagonal set to ones "
      "first with tf.linalg.set_diag (triangular_solve has no unit-diagonal option)")
def triangular_solve(a, b, lower, transpose, unit_diagonal):
    if unit_diagonal:
        a = tf.linalg.set_diag(a, tf.ones_like(tf.linalg.diag_part(a)))
    return tf.linalg.triangular_solve(a, b, lower=lower, adjoint=transpose)


@impl("tf.linalg.trace(x) (offset 0); tf.reduce_sum(tf.linalg.diag_part(x, k=offset), -1) (tf.linalg.trace "
      "has no offset)", composite=True)
def trace(x, offset):
    if offset == 0:
        return tf.linalg.trace(x)
    return tf.reduce_sum(tf.linalg.diag_part(x, k=offset), axis=-1)
