"""jax mappings of the linalg family (see ../mapping.py).

jax's CPU LAPACK custom calls exist for float32/float64 only: getrf, potrf, syevd and gesdd raise
NotImplementedError "Unsupported dtype float16/bfloat16", declared unsupported. det keeps its
low-precision mapping: jnp.linalg.det has closed forms for 2x2 and 3x3 that run in any dtype,
and larger matrices go through LU and raise (recorded as errors). jnp.linalg.cholesky and
jnp.linalg.eigvalsh symmetrise their input by default (symmetrize_input=True): they compute the
catalogue's f(sym(x)) themselves.
"""

import jax
import jax.numpy as jnp

from conformance.adapters.mapping import impl


def _no_half(call: str) -> dict[str, str]:
    return {dt: f"jax 0.10 CPU: {call} raises NotImplementedError 'Unsupported dtype {dt}' (no LAPACK kernel)"
            for dt in ("float16", "bfloat16")}


@impl("jnp.einsum(equation, x, y)")
def einsum(x, y, equation):
    return jnp.einsum(equation, x, y)


@impl("jnp.einsum(equation, x)")
def einsum_unary(x, equation):
    return jnp.einsum(equation, x)


@impl("jnp.linalg.inv", unsupported_dtypes=_no_half("jnp.linalg.inv (LU)"))
def inv(x):
    return jnp.linalg.inv(x)


@impl("jnp.linalg.det")
def det(x):
    return jnp.linalg.det(x)


@impl("jnp.linalg.slogdet(x).logabsdet", unsupported_dtypes=_no_half("jnp.linalg.slogdet (LU)"))
def slogdet(x):
    return jnp.linalg.slogdet(x).logabsdet


@impl("jnp.linalg.solve(a, b)", unsupported_dtypes=_no_half("jnp.linalg.solve (LU)"))
def solve(a, b):
    return jnp.linalg.solve(a, b)


@impl("jax.scipy.linalg.solve_triangular(a, b, trans=transpose, lower=lower)")
def triangular_solve(a, b, lower, transpose):
    return jax.scipy.linalg.solve_triangular(a, b, trans=1 if transpose else 0, lower=lower)


@impl("jnp.linalg.cholesky (symmetrize_input=True)", unsupported_dtypes=_no_half("jnp.linalg.cholesky (potrf)"))
def cholesky(x):
    return jnp.linalg.cholesky(x)


@impl("jnp.linalg.eigvalsh (symmetrize_input=True)", unsupported_dtypes=_no_half("jnp.linalg.eigvalsh (syevd)"))
def eigvalsh(x):
    return jnp.linalg.eigvalsh(x)


@impl("jnp.linalg.svdvals", unsupported_dtypes=_no_half("jnp.linalg.svdvals (gesdd)"))
def svdvals(x):
    return jnp.linalg.svdvals(x)
