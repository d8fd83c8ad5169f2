"""OpSpecs of the linalg family: the seed's matmul, einsum, inverse, determinants, solves, factorisations.

Matrix inputs of the factorisation and solve ops are drawn well conditioned by the op's
structure function (Structure.values), never by the generic value strategies:

- general square matrices: U diag(s) V^T with U, V Haar-random orthogonal (so det's sign is
  random) and s log-uniform in [0.5, 2] times a drawn scale (1, 0.1 or 10): 2-norm condition
  number at most 4;
- symmetric positive definite: Q diag(s) Q^T, s as above;
- symmetric with distinct eigenvalues: Q diag(w) Q^T, w spread over [-2, 2] (times the scale)
  on a jittered grid, neighbours at least 2/n apart;
- rectangular with distinct singular values: U diag(s) V^T with thin orthonormal U, V and s on a
  jittered grid in [0.5, 2.5], at least 1/k apart;
- triangular systems: a diagonal of magnitude in [1, 2] (random sign), a strict triangle of
  entries at most 0.5/n, and the triangle that is not read filled with large noise (so an
  implementation that reads it shows up).

Right-hand sides and einsum operands use the generic value strategies (all scales and
distributions). Batch shapes are (), (b,) or (b1, b2) with sides up to 3.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from conformance.opspec import InputSpec, Kink, spec_factory
from conformance.strategies import (
    Structure,
    away_from,
    batch_dims,
    batch_size,
    choice,
    distinct_along,
    kink_margin,
    side,
    signature_shapes,
)
from reference import linalg as lm

REGIMES = ("small", "tails", "large", "batch", "empty")  # the family's size regimes (conformance.regimes)
_spec = spec_factory("linalg", lm, REGIMES)

X = InputSpec("x")
MATRIX_SCALES = (1.0, 0.1, 10.0)

EINSUM_EQUATIONS = (
    "ij,jk->ik",  # matrix product
    "bij,bjk->bik",  # batched matrix product
    "i,j->ij",  # outer product
    "ij,ij->",  # full contraction (Frobenius inner product)
    "ij,j->i",  # matrix-vector product
    "bij,bkj->bik",  # batched product with the second operand transposed
    "bnqd,bnkd->bnqk",  # attention logits
)
EINSUM_UNARY_EQUATIONS = (
    "ii->",  # trace
    "ii->i",  # diagonal
    "bii->b",  # batched trace
    "ij->ji",  # transpose
    "ij->",  # sum of all elements
    "ij->j",  # column sums
    "bij->bji",  # batched transpose
)


# ---------------------------------------------------------------------------------------------
# matrix generators (float64, before rounding to the test dtype)


def _orthogonal(rng, batch, n, k=None) -> np.ndarray:
    """Haar-random (batch, n, k) with orthonormal columns (k <= n; k = n when None)."""
    q, r = np.linalg.qr(rng.standard_normal((*batch, n, n)))
    q = q * np.sign(np.einsum("...ii->...i", r))[..., None, :]
    return q[..., : (n if k is None else k)]


def _log_uniform(rng, shape, lo=0.5, hi=2.0) -> np.ndarray:
    return np.exp(rng.uniform(np.log(lo), np.log(hi), shape))


def _grid(rng, batch, k, lo, hi) -> np.ndarray:
    """k distinct values in [lo, hi]: a grid of k cells with one jittered value per cell, each at
    least a quarter cell from the cell's edges (neighbours at least half a cell apart)."""
    cell = (hi - lo) / k
    return lo + cell * (np.arange(k) + rng.uniform(0.25, 0.75, (*batch, k)))


def _general(rng, batch, n, scale) -> np.ndarray:
    u, v = _orthogonal(rng, batch, n), _orthogonal(rng, batch, n)
    s = _log_uniform(rng, (*batch, n)) * scale
    return (u * s[..., None, :]) @ lm.T(v)


def _symmetric(rng, batch, n, w) -> np.ndarray:
    q = _orthogonal(rng, batch, n)
    a = (q * w[..., None, :]) @ lm.T(q)
    return lm.sym(a)  # exactly symmetric, so rounding to any dtype keeps it symmetric


def _triangular_system(rng, batch, n, lower, scale) -> np.ndarray:
    d = rng.uniform(1.0, 2.0, (*batch, n)) * rng.choice([-1.0, 1.0], (*batch, n))
    strict = rng.uniform(-0.5, 0.5, (*batch, n, n)) / n
    noise = rng.standard_normal((*batch, n, n)) * 10.0
    if lower:
        a = np.tril(strict, -1) + np.triu(noise, 1)
    else:
        a = np.triu(strict, 1) + np.tril(noise, -1)
    a = a + d[..., None] * np.eye(n)
    return a * scale


# ---------------------------------------------------------------------------------------------
# structures


def _matmul(draw, rng) -> Structure:
    x, y = signature_shapes(draw, "(m,k),(k,n)->(m,n)")
    return Structure({"x": x, "y": y})


def _einsum(draw, rng) -> Structure:
    eq = choice(draw, EINSUM_EQUATIONS)
    (a, b), _ = lm._parse(eq)
    sizes = {c: batch_size(draw, 1, 3) if c == "b" else side(draw, 1, 5, of=2) for c in sorted(set(a + b))}
    return Structure({"x": tuple(sizes[c] for c in a), "y": tuple(sizes[c] for c in b)}, {"equation": eq})


def _einsum_unary(draw, rng) -> Structure:
    eq = choice(draw, EINSUM_UNARY_EQUATIONS)
    (a,), _ = lm._parse(eq)
    sizes = {c: batch_size(draw, 1, 3) if c == "b" else side(draw, 1, 5, of=2) for c in sorted(set(a))}
    return Structure({"x": tuple(sizes[c] for c in a)}, {"equation": eq})


def _square(draw, rng) -> Structure:
    batch, n = batch_dims(draw), side(draw, 1, 5, of=2)
    scale = choice(draw, MATRIX_SCALES)
    return Structure({"x": (*batch, n, n)}, values={"x": _general(rng, batch, n, scale)})


def _det_square(draw, rng) -> Structure:
    """As _square, with the scale spread over the sides beyond 5: det(x) grows like scale^n, so a
    129 x 129 matrix of scale 10 would overflow every dtype; this keeps |det| within scale^5 times
    the spectrum's own product."""
    batch, n = batch_dims(draw), side(draw, 1, 5, of=2)
    scale = choice(draw, MATRIX_SCALES) ** (min(n, 5) / n)
    return Structure({"x": (*batch, n, n)}, values={"x": _general(rng, batch, n, scale)})


def _solve(draw, rng) -> Structure:
    batch, n, k = batch_dims(draw), side(draw, 1, 5, of=2), draw(st.integers(1, 4))
    scale = choice(draw, MATRIX_SCALES)
    return Structure({"a": (*batch, n, n), "b": (*batch, n, k)}, values={"a": _general(rng, batch, n, scale)})


def _triangular_solve(draw, rng) -> Structure:
    batch, n, k = batch_dims(draw), side(draw, 1, 5, of=2), draw(st.integers(1, 4))
    lower, transpose = draw(st.booleans()), draw(st.booleans())
    unit_diagonal = choice(draw, (False, True))
    scale = choice(draw, MATRIX_SCALES)
    return Structure(
        {"a": (*batch, n, n), "b": (*batch, n, k)},
        {"lower": lower, "transpose": transpose, "unit_diagonal": unit_diagonal},
        # a unit diagonal is not scaled: the read strict triangle stays at scale 1 (entries <= 0.5/n
        # against the diagonal's 1), as well conditioned as the scaled non-unit systems
        values={"a": _triangular_system(rng, batch, n, lower, 1.0 if unit_diagonal else scale)},
    )


def _spd(draw, rng) -> Structure:
    batch, n = batch_dims(draw), side(draw, 1, 5, of=2)
    scale = choice(draw, MATRIX_SCALES)
    s = _log_uniform(rng, (*batch, n)) * scale
    return Structure({"x": (*batch, n, n)}, values={"x": _symmetric(rng, batch, n, s)})


def _eigvalsh(draw, rng) -> Structure:
    batch, n = batch_dims(draw), side(draw, 1, 5, of=2)
    scale = choice(draw, MATRIX_SCALES)
    w = rng.permuted(_grid(rng, batch, n, -2.0, 2.0), axis=-1) * scale
    return Structure({"x": (*batch, n, n)}, values={"x": _symmetric(rng, batch, n, w)})


def _svdvals(draw, rng) -> Structure:
    batch, m, n = batch_dims(draw), side(draw, 1, 5, of=2), side(draw, 1, 5, of=2)
    scale = choice(draw, MATRIX_SCALES)
    k = min(m, n)
    s = rng.permuted(_grid(rng, batch, k, 0.5, 2.5), axis=-1) * scale
    u, v = _orthogonal(rng, batch, m, k), _orthogonal(rng, batch, n, k)
    return Structure({"x": (*batch, m, n)}, values={"x": (u * s[..., None, :]) @ lm.T(v)})


# ---------------------------------------------------------------------------------------------
# keeping spectra off their kinks (ties; zero singular values)


def _avoid_eigvalsh(values, params, dtype):
    a = lm.sym(values["x"])
    w, q = np.linalg.eigh(a)
    w = distinct_along(w, -1, kink_margin(dtype))  # relative to the spectrum's largest |w|
    return {**values, "x": lm.sym((q * w[..., None, :]) @ lm.T(q))}


def _avoid_svdvals(values, params, dtype):
    x = values["x"]
    u, s, vh = np.linalg.svd(x, full_matrices=False)
    scale = float(s.max(initial=0.0))
    s = np.abs(away_from(distinct_along(s, -1, kink_margin(dtype)), [0.0], kink_margin(dtype) * scale))
    return {**values, "x": (u * s[..., None, :]) @ vh}


EIGVALSH_TIE = Kink(
    "tie",
    "two equal eigenvalues: the sorted eigenvalues are not differentiable there; any V diag(dz) V^T "
    "with V an orthonormal eigenbasis is a valid gradient (with dz equal on the tie, as the probe's "
    "all-ones dz is, every choice gives V V^T = I)",
    inputs={"x": np.array([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 1.0]])},
    at={"x": [[0, 0], [0, 1], [1, 0], [1, 1]]},
)
SVDVALS_ZERO = Kink(
    "zero",
    "a zero singular value (|.| at 0): for x = diag(1, 0) and dz = (1, 1) the valid gradients are "
    "diag(1, c) with c in [-1, 1]",
    inputs={"x": np.array([[1.0, 0.0], [0.0, 0.0]])},
    at={"x": [[1, 1], [0, 1], [1, 0]]},
)
SVDVALS_TIE = Kink(
    "tie",
    "two equal singular values: any U diag(dz) V^T over singular bases is valid (with dz = (1, 1) "
    "at x = I every choice gives I)",
    inputs={"x": np.array([[1.0, 0.0], [0.0, 1.0]])},
    at={"x": [[0, 0], [0, 1], [1, 0], [1, 1]]},
)


def _diagonal(draw, rng) -> Structure:
    """A batch of (m, n) matrices, m and n drawn apart (non-square), and an offset whose diagonal
    is non-empty: -(m - 1) .. n - 1 (0 first, where shrinking ends). Values are generic."""
    batch, m, n = batch_dims(draw), side(draw, 1, 5, of=2), side(draw, 1, 5, of=2)
    offset = draw(st.integers(-(m - 1), n - 1)) if draw(st.booleans()) else 0
    return Structure({"x": (*batch, m, n)}, {"offset": offset})


# ---------------------------------------------------------------------------------------------

OPS = [
    _spec("matmul", (X, InputSpec("y")), _matmul,
          "dx = dz @ y^T,  dy = x^T @ dz  (summed over broadcast batch dims)", seed=True),
    _spec(
        name="einsum",
        inputs=(X, InputSpec("y")),
        regimes=("small", "tails", "large"),  # a batch (and an empty one) only in the equations with b
        structure=_einsum,
        formula='dx = einsum("<out>,<y>-><x>", dz, y),  dy = einsum("<out>,<x>-><y>", dz, x)',
        params=("equation",),
        notes="two operands, explicit '->' output; equations: " + ", ".join(EINSUM_EQUATIONS)
        + ". Single-operand equations are einsum_unary.",
    ),
    _spec(
        name="einsum_unary",
        inputs=(X,),
        regimes=("small", "tails", "large"),  # a batch (and an empty one) only in the equations with b
        structure=_einsum_unary,
        formula="dx = dz embedded on the diagonal of repeated letters, broadcast over summed letters",
        params=("equation",),
        notes="one operand; equations: " + ", ".join(EINSUM_UNARY_EQUATIONS) + " (trace, diagonal, "
        "batched trace, transpose, sum, column sums, batched transpose). The gradient is exact.",
    ),
    _spec(
        name="inv",
        inputs=(X,),
        structure=_square,
        formula="dx = -z^T dz z^T,  z = x^-1",
        notes="x = U diag(s) V^T, s in [0.5, 2] times a scale of 1, 0.1 or 10 (cond <= 4). "
        "Magnitude uses env(x^-1) = |x^-1| + |x^-1||x||x^-1|.",
    ),
    _spec(
        name="det",
        inputs=(X,),
        structure=_det_square,
        formula="dx = dz * det(x) * x^-T",
        notes="x as for inv (random determinant sign). Magnitude adds the determinant's relative "
        "condition tr(|x^-1||x|).",
    ),
    _spec(
        name="slogdet",
        inputs=(X,),
        structure=_square,
        formula="dx = dz * x^-T   (gradient of the logabsdet output; sign is piecewise constant)",
        notes="the op's output is logabsdet = log|det x|; x as for inv (both determinant signs).",
    ),
    _spec(
        name="solve",
        inputs=(InputSpec("a"), InputSpec("b")),
        structure=_solve,
        formula="db = a^-T dz,  da = -db z^T,  z = a^-1 b",
        notes="a (..., n, n) as for inv; b (..., n, k), k >= 1 (always a matrix right-hand side), same "
        "batch shape, generic values.",
    ),
    _spec(
        name="triangular_solve",
        inputs=(InputSpec("a"), InputSpec("b")),
        structure=_triangular_solve,
        formula="z = op(t)^-1 b, t = tril(a) or triu(a) (unit diagonal: ones on it), op(t) = t or t^T;  "
        "db = op(t)^-T dz,  da = triangle((-db z^T), transposed when op is t^T), strict when unit_diagonal",
        params=("lower", "transpose", "unit_diagonal"),
        notes="only the `lower` (else upper) triangle of a is read, diagonal included (unit_diagonal False, "
        "first) or taken as ones and never read (unit_diagonal True: the gradient is zero there too); "
        "`transpose` solves t^T z = b. The gradient is zero in the triangle not read. a has a diagonal "
        "of magnitude [1, 2], a strict triangle of entries <= 0.5/n, and noise of size 10 in the other "
        "triangle; all times a scale of 1, 0.1 or 10 (scale 1 with a unit diagonal).",
    ),
    _spec(
        name="cholesky",
        inputs=(X,),
        structure=_spd,
        formula="dx = sym(L^-T phi(L^T dz) L^-1),  L L^T = sym(x) = (x + x^T)/2,  phi = tril with halved diagonal",
        notes="defined on sym(x) for any square x, so the gradient is symmetric; tests draw symmetric "
        "positive definite x = Q diag(s) Q^T (s in [0.5, 2] times the scale), for which reading one "
        "triangle (torch, tf) and symmetrising (jax) agree.",
    ),
    _spec(
        name="eigvalsh",
        inputs=(X,),
        structure=_eigvalsh,
        formula="dx = V diag(dz) V^T,  sym(x) = V diag(w) V^T, w ascending",
        kinks=(EIGVALSH_TIE,),
        avoid=_avoid_eigvalsh,
        notes="eigenvalues of sym(x) (any square x; symmetric gradient). Tests draw symmetric x with "
        "distinct eigenvalues on a jittered grid over [-2, 2] times the scale.",
    ),
    _spec(
        name="svdvals",
        inputs=(X,),
        structure=_svdvals,
        formula="dx = U diag(dz) V^T  (thin SVD, singular values descending)",
        kinks=(SVDVALS_ZERO, SVDVALS_TIE),
        avoid=_avoid_svdvals,
        notes="x (..., m, n), m and n in 1..5; distinct singular values on a jittered grid over "
        "[0.5, 2.5] times the scale.",
    ),
    _spec(
        name="diagonal",
        inputs=(X,),
        structure=_diagonal,
        formula="dx = zeros_like(x) with dz on the offset diagonal,  z[..., i] = x[..., i, i + offset] (offset >= 0)",
        params=("offset",),
        notes="x (..., m, n), m and n in 1..5 drawn apart (non-square included); offset in -(m-1) .. n-1 (a "
        "non-empty diagonal: TensorFlow's diag_part refuses one off the matrix), 0 half the time. Exact.",
    ),
    _spec(
        name="trace",
        inputs=(X,),
        structure=_diagonal,
        formula="dx = dz on the offset diagonal, 0 elsewhere,  z = sum_i x[..., i, i + offset] (offset >= 0)",
        params=("offset",),
        notes="x and offset as for diagonal. Exact.",
    ),
]
