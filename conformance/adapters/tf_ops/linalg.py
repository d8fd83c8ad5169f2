"""tf mappings of the linalg family (see ../mapping.py).

TensorFlow's CPU linalg kernels are registered for half only for MatrixInverse and for no op for
bfloat16 (the op definitions reject it); the others raise NotFoundError / InvalidArgumentError,
declared unsupported with TensorFlow's message. cholesky and eigvalsh are defined on
sym(x) = (x + x^T)/2: TensorFlow reads the lower triangle (and its eigvalsh gradient is lower
triangular), so the mapping symmetrises explicitly (an exact operation) before the call.
"""

import tensorflow as tf

from conformance.adapters.mapping import impl

_BF16 = "op definition allows T in {half, float, double, complex64, complex128} only (InvalidArgumentError)"


def _no_half(op: str, bf16: str = _BF16) -> dict[str, str]:
    return {
        "float16": f"tensorflow 2.21 CPU: no {op} kernel registered for half (NotFoundError)",
        "bfloat16": f"tensorflow 2.21: {op} {bf16}",
    }


def _sym(x):
    return (x + tf.linalg.matrix_transpose(x)) / 2


@impl("tf.einsum(equation, x, y)")
def einsum(x, y, equation):
    return tf.einsum(equation, x, y)


@impl("tf.einsum(equation, x)")
def einsum_unary(x, equation):
    return tf.einsum(equation, x)


@impl("tf.linalg.inv", unsupported_dtypes={"bfloat16": f"tensorflow 2.21: MatrixInverse {_BF16}"})
def inv(x):
    return tf.linalg.inv(x)


@impl("tf.linalg.det", unsupported_dtypes=_no_half("MatrixDeterminant"))
def det(x):
    return tf.linalg.det(x)


@impl("tf.linalg.slogdet(x)[1]", unsupported_dtypes=_no_half("LogMatrixDeterminant"))
def slogdet(x):
    return tf.linalg.slogdet(x)[1]


@impl("tf.linalg.solve(a, b)", unsupported_dtypes=_no_half("MatrixSolve"))
def solve(a, b):
    return tf.linalg.solve(a, b)


@impl("tf.linalg.triangular_solve(a, b, lower=lower, adjoint=transpose)",
      unsupported_dtypes=_no_half("MatrixTriangularSolve", "has no kernel registered for bfloat16 (NotFoundError)"))
def triangular_solve(a, b, lower, transpose):
    return tf.linalg.triangular_solve(a, b, lower=lower, adjoint=transpose)


@impl("tf.linalg.cholesky((x + x^T) / 2)", composite=True, unsupported_dtypes=_no_half("Cholesky"))
def cholesky(x):
    return tf.linalg.cholesky(_sym(x))


@impl("tf.linalg.eigvalsh((x + x^T) / 2)", composite=True, unsupported_dtypes=_no_half("SelfAdjointEigV2"))
def eigvalsh(x):
    return tf.linalg.eigvalsh(_sym(x))


@impl("tf.linalg.svd(x, compute_uv=False)", unsupported_dtypes=_no_half("Svd"))
def svdvals(x):
    return tf.linalg.svd(x, compute_uv=False)
