"""jax mappings of the linalg family (see ../mapping.py).

jax's CPU LAPACK custom calls exist for float32/float64 only: getrf, potrf, syevd and gesdd raise
NotImplementedError "Unsupported dtype float16/bfloat16"; those targets are claimed unsupported,
with jax's message, in conformance/unsupported.toml. det is not claimed: jnp.linalg.det has
closed forms for 2x2 and 3x3 that run in any dtype, and larger matrices go through LU and raise
(recorded as errors). jnp.linalg.cholesky and jnp.linalg.eigvalsh symmetrise their input
(symmetrize_input=True, their default, passed explicitly): they compute the catalogue's
f(sym(x)) themselves.
"""

import jax
import jax.numpy as jnp

from conformance.adapters.mapping import direct, impl

TABLE = {
    "matmul": direct("jnp.matmul"),
    "einsum": direct("jnp.einsum", "equation", "x", "y"),
    "einsum_unary": direct("jnp.einsum", "equation", "x"),
    "inv": direct("jnp.linalg.inv"),
    "det": direct("jnp.linalg.det"),
    "solve": direct("jnp.linalg.solve"),
    "cholesky": direct("jnp.linalg.cholesky", const={"symmetrize_input": True}),
    "eigvalsh": direct("jnp.linalg.eigvalsh", const={"symmetrize_input": True}),
    "svdvals": direct("jnp.linalg.svdvals"),
    "diagonal": direct("jnp.diagonal", offset="offset", const={"axis1": -2, "axis2": -1}),
    "trace": direct("jnp.trace", offset="offset", const={"axis1": -2, "axis2": -1}),
}


@impl("jnp.linalg.slogdet(x).logabsdet")
def slogdet(x):
    return jnp.linalg.slogdet(x).logabsdet


@impl("jax.scipy.linalg.solve_triangular(a, b, trans=transpose, lower=lower, unit_diagonal=unit_diagonal)")
def triangular_solve(a, b, lower, transpose, unit_diagonal):
    return jax.scipy.linalg.solve_triangular(a, b, trans=1 if transpose else 0, lower=lower,
                                             unit_diagonal=unit_diagonal)
