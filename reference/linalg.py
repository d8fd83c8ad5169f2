"""Linear algebra: matmul (the seed's), einsum, inverse, determinants, solves, factorisations,
spectra.

Conventions shared by every op here:

- Matrices are the last two axes; any leading axes are a batch (no broadcasting between inputs:
  a solve's ``a`` and ``b`` share their batch shape).
- ``T(m)`` is the transpose of the last two axes.
- Ops that frameworks define on a symmetric matrix (``cholesky``, ``eigvalsh``) are defined here
  on ``sym(x) = (x + T(x)) / 2`` for *any* square ``x``; their gradient is therefore symmetric.
  The tests draw symmetric ``x``, for which ``sym(x) = x`` exactly in every dtype.

Magnitudes (the rounding-error scale, see reference._grad.Grad) follow one rule: evaluate the
VJP on absolute values and replace every intermediate that a framework must *compute inexactly
first* by its error envelope:

- an inverse or a solve with ``A`` (LU with partial pivoting, or triangular substitution):
  ``env(A^-1) = |A^-1| + |A^-1| B |A^-1|`` (the second term is the first-order error of a
  componentwise backward-stable inverse: ``(A + dA)^-1 - A^-1 = -A^-1 dA A^-1`` with
  ``|dA| <= c u B``, B = P|L||U| for LU, |A| for a triangular A); its norm ratio to
  ``|A^-1|`` is the (Skeel) condition number of ``A`` times the elimination's growth;
- a determinant: relative error ``u * tr(|A^-1| P|L||U|)`` (from ``det(A + dA) = det(A)(1 +
  tr(A^-1 dA))``);
- eigen- or singular vectors: computed as V (I + Theta) with Theta antisymmetric and
  ``|Theta_ij| <= c u ||A||_F / |w_i - w_j|`` (first-order perturbation theory); the gradient
  V diag(dz) V^T then moves by V (Theta D - D Theta) V^T, so the magnitude gets
  ``||A||_F |dz_i - dz_j| / |w_i - w_j|`` between each pair (zero for an exact tie with equal
  cotangents, where the gradient does not depend on the basis).

The test strategies draw well-conditioned matrices (singular values in [0.5, 2], eigenvalue gaps
of at least a quarter of the spectrum's spread over its size), so these factors stay small.

Empty matrices, as torch, TensorFlow and JAX define them: a 0x0 matrix has inverse 0x0,
determinant 1 (the empty product; JAX's det raises on it, torch and TensorFlow give 1) and log|det|
0; a solve with n = 0 or k = 0 gives an empty z; factorisations and spectra of 0x0 are empty; an
empty batch gives an empty batch. Gradients of empty inputs are empty, those of non-empty inputs
that feed an empty output are zeros, and ``terms`` is at least 1.
"""

from __future__ import annotations

import numpy as np

from reference._grad import Grad, broadcast_factor, f64, unbroadcast


def matmul(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """z[..., i, j] = sum_k x[..., i, k] * y[..., k, j], batch dimensions broadcast.

    NumPy's (and torch's, and JAX's) rule for a 1-D operand: a 1-D x is a row (1, k) and a 1-D y
    a column (k, 1), and that unit dimension is dropped from z (two 1-D operands give the 0-d dot
    product). TensorFlow's matmul takes rank >= 2 only. With k = 0, z is zeros (an empty sum).
    """
    x, y = f64(x, y)
    return np.matmul(x, y)


def matmul_vjp(x: np.ndarray, y: np.ndarray, dz: np.ndarray) -> dict[str, Grad]:
    """dx = dz @ y^T and dy = x^T @ dz, each summed back over the batch dims it was broadcast on.

    A 1-D operand is promoted as the forward promotes it (x to a row, y to a column), dz gets the
    dropped unit dimension back, and each gradient is reshaped to its operand's shape. terms: the
    length of each gradient's sum (z's columns for dx, rows for dy) times the broadcast copies.
    """
    x, y, dz = f64(x, y, dz)
    x2 = x[None, :] if x.ndim == 1 else x
    y2 = y[:, None] if y.ndim == 1 else y
    dz2 = dz
    if x.ndim == 1:
        dz2 = dz2[..., None, :] if y.ndim > 1 else dz2[..., None]
    if y.ndim == 1:
        dz2 = dz2[..., None]
    yt, xt = np.swapaxes(y2, -1, -2), np.swapaxes(x2, -1, -2)
    dx = unbroadcast(dz2 @ yt, x2.shape).reshape(x.shape)
    dy = unbroadcast(xt @ dz2, y2.shape).reshape(y.shape)
    mx = unbroadcast(np.abs(dz2) @ np.abs(yt), x2.shape).reshape(x.shape)
    my = unbroadcast(np.abs(xt) @ np.abs(dz2), y2.shape).reshape(y.shape)
    n, m = dz2.shape[-1], dz2.shape[-2]
    return {
        "x": Grad(dx, mx, terms=max(1, n * broadcast_factor(dz2.shape[:-2], x2.shape[:-2]))),
        "y": Grad(dy, my, terms=max(1, m * broadcast_factor(dz2.shape[:-2], y2.shape[:-2]))),
    }


# ---------------------------------------------------------------------------------------------
# beyond matmul: einsum, inverse, determinants, solves, factorisations, spectra

# ---------------------------------------------------------------------------------------------
# helpers


def T(m: np.ndarray) -> np.ndarray:
    """Transpose of the last two axes."""
    return np.swapaxes(m, -1, -2)


def _n(x: np.ndarray) -> int:
    """A square op's terms: the matrix side n, at least 1 (a 0x0 matrix sums nothing)."""
    return max(1, x.shape[-1])


def sym(x: np.ndarray) -> np.ndarray:
    """(x + x^T) / 2 over the last two axes."""
    return 0.5 * (x + T(x))


def lu_abs(a: np.ndarray) -> np.ndarray:
    """P |L| |U| for the partial-pivoting LU factorisation A = P L U (batched).

    The componentwise backward error of LU, and of the solves and inverses built on it, is
    |dA| <= c n u P|L||U| (Higham, Accuracy and Stability, Thm 9.3); it dominates |A| and can
    exceed it by far in an element that cancels during elimination. The loop runs over the at
    most n pivot steps, vectorised over the batch.
    """
    batch, n = a.shape[:-2], a.shape[-1]
    if a.size == 0:
        return np.zeros(a.shape)
    u = np.array(a, dtype=np.float64).reshape(-1, n, n)
    m = u.shape[0]
    low = np.zeros_like(u)
    perm = np.tile(np.arange(n), (m, 1))
    rows = np.arange(m)
    for k in range(n):
        p = k + np.argmax(np.abs(u[:, k:, k]), axis=-1)
        for arr in (u, low):
            arr[rows, k], arr[rows, p] = arr[rows, p].copy(), arr[rows, k].copy()
        perm[rows, k], perm[rows, p] = perm[rows, p].copy(), perm[rows, k].copy()
        piv = u[:, k, k]
        with np.errstate(divide="ignore", invalid="ignore"):
            mult = np.where(piv[:, None] != 0, u[:, k + 1 :, k] / piv[:, None], 0.0)
        low[:, k + 1 :, k] = mult
        u[:, k + 1 :, :] -= mult[..., None] * u[:, k, None, :]
    low[:, np.arange(n), np.arange(n)] = 1.0
    lu = np.abs(low) @ np.abs(np.triu(u))
    out = np.empty_like(lu)
    out[rows[:, None], perm] = lu  # row i of L U is row perm[i] of A
    return out.reshape(*batch, n, n)


def inv_envelope(a: np.ndarray, a_inv: np.ndarray, triangular: bool = False) -> np.ndarray:
    """|A^-1| + |A^-1| B |A^-1|: the inverse with the first-order error of computing it, where B
    is the componentwise backward error scale: P|L||U| of A's LU factorisation, or |A| for a
    triangular A (substitution is componentwise backward stable with |dT| <= c n u |T|)."""
    ai = np.abs(a_inv)
    return ai + ai @ (np.abs(a) if triangular else lu_abs(a)) @ ai


def _parse(equation: str) -> tuple[list[str], str]:
    lhs, out = equation.replace(" ", "").split("->")
    return lhs.split(","), out


def _sizes(subscripts: list[str], arrays: list[np.ndarray]) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for sub, a in zip(subscripts, arrays):
        if len(sub) != a.ndim:
            raise ValueError(f"subscripts {sub!r} do not match an operand of rank {a.ndim}")
        for c, n in zip(sub, a.shape):
            sizes[c] = n
    return sizes


# ---------------------------------------------------------------------------------------------
# einsum


def einsum(x: np.ndarray, y: np.ndarray, equation: str) -> np.ndarray:
    """z = einsum(equation, x, y) for an explicit two-operand equation ``"ab,bc->ac"``.

    No letter repeats within one operand (diagonals are einsum_unary's), and every letter of
    each operand appears in the output or in the other operand (no operand-private sums).
    """
    x, y = f64(x, y)
    return np.einsum(equation, x, y)


def einsum_vjp(x: np.ndarray, y: np.ndarray, dz: np.ndarray, equation: str) -> dict[str, Grad]:
    """dx = einsum("<out>,<y>-><x>", dz, y) and dy = einsum("<out>,<x>-><y>", dz, x).

    Each gradient contracts dz with the other operand over every letter the receiving operand
    lacks; terms is the product of those letters' sizes. Magnitudes: the same einsums on |dz|,
    |x|, |y|.
    """
    x, y, dz = f64(x, y, dz)
    (a, b), out = _parse(equation)
    sizes = _sizes([a, b], [x, y])
    grads = {}
    for name, mine, other, other_val in (("x", a, b, y), ("y", b, a, x)):
        if len(set(mine)) != len(mine) or not set(mine) <= set(out) | set(other):
            raise ValueError(f"einsum {equation!r}: operand {mine!r} repeats or privately sums a letter")
        eq = f"{out},{other}->{mine}"
        value = np.einsum(eq, dz, other_val)
        mag = np.einsum(eq, np.abs(dz), np.abs(other_val))
        summed = (set(out) | set(other)) - set(mine)
        terms = int(np.prod([sizes[c] for c in summed], dtype=np.int64)) if summed else 1
        grads[name] = Grad(value, mag, terms=max(terms, 1))
    return grads


def einsum_unary(x: np.ndarray, equation: str) -> np.ndarray:
    """z = einsum(equation, x) for one operand: trace ``"ii->"``, diagonal ``"ii->i"``, batched
    trace ``"bii->b"``, transpose ``"ij->ji"``, sums ``"ij->"`` / ``"ij->j"``."""
    (x,) = f64(x)
    return np.einsum(equation, x)


def einsum_unary_vjp(x: np.ndarray, dz: np.ndarray, equation: str) -> dict[str, Grad]:
    """dx[idx] = dz[idx restricted to the output letters] where every repeated letter of the
    input takes equal index values, else 0 (a diagonal embedding of dz, broadcast over summed
    letters). No arithmetic: the gradient is exact (magnitude |dx|, terms 1)."""
    x, dz = f64(x, dz)
    (a,), out = _parse(equation)
    if len(a) != x.ndim:
        raise ValueError(f"subscripts {a!r} do not match an operand of rank {x.ndim}")
    idx = np.indices(x.shape)
    first: dict[str, int] = {}
    on_diag = np.ones(x.shape, dtype=bool)
    for d, c in enumerate(a):
        if c in first:
            on_diag &= idx[d] == idx[first[c]]
        else:
            first[c] = d
    picked = dz[tuple(idx[first[c]] for c in out)] if out else dz[()]
    dx = np.where(on_diag, picked, 0.0)
    return {"x": Grad(dx, np.abs(dx), terms=1)}


# ---------------------------------------------------------------------------------------------
# inverse and determinants


def inv(x: np.ndarray) -> np.ndarray:
    """z = x^-1 (batched)."""
    (x,) = f64(x)
    return np.linalg.inv(x)


def inv_vjp(x: np.ndarray, dz: np.ndarray) -> dict[str, Grad]:
    """dx = -z^T dz z^T with z = x^-1.

    Magnitude: env(z)^T |dz| env(z)^T with env(z) = |z| + |z| P|L||U| |z| (the computed
    inverse's error envelope); terms n.
    """
    x, dz = f64(x, dz)
    z = np.linalg.inv(x)
    zt = T(z)
    env_t = T(inv_envelope(x, z))
    return {"x": Grad(-zt @ dz @ zt, env_t @ np.abs(dz) @ env_t, terms=_n(x))}


def det(x: np.ndarray) -> np.ndarray:
    """z = det(x) (batched)."""
    (x,) = f64(x)
    return np.linalg.det(x)


def det_vjp(x: np.ndarray, dz: np.ndarray) -> dict[str, Grad]:
    """dx = dz * det(x) * x^-T.

    Magnitude: |dz det(x)| (env(x^-1)^T + rho |x^-1|^T), rho = tr(|x^-1| P|L||U|) the relative
    condition of the computed determinant; terms n.
    """
    x, dz = f64(x, dz)
    d = np.linalg.det(x)
    z = np.linalg.inv(x)
    rho = np.sum(np.abs(z) * T(lu_abs(x)), axis=(-1, -2))
    c = (dz * d)[..., None, None]
    mag = np.abs(c) * (T(inv_envelope(x, z)) + rho[..., None, None] * T(np.abs(z)))
    return {"x": Grad(c * T(z), mag, terms=_n(x))}


def slogdet(x: np.ndarray) -> np.ndarray:
    """z = log|det(x)| (the logabsdet output of slogdet; the sign output is piecewise constant
    and has no gradient)."""
    (x,) = f64(x)
    return np.linalg.slogdet(x)[1]


def slogdet_vjp(x: np.ndarray, dz: np.ndarray) -> dict[str, Grad]:
    """dx = dz * x^-T. Magnitude |dz| env(x^-1)^T; terms n."""
    x, dz = f64(x, dz)
    z = np.linalg.inv(x)
    c = dz[..., None, None]
    return {"x": Grad(c * T(z), np.abs(c) * T(inv_envelope(x, z)), terms=_n(x))}


# ---------------------------------------------------------------------------------------------
# solves


def solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """z = a^-1 b; a is (..., n, n), b is (..., n, k) with the same batch shape."""
    a, b = f64(a, b)
    return np.linalg.solve(a, b)


def solve_vjp(a: np.ndarray, b: np.ndarray, dz: np.ndarray) -> dict[str, Grad]:
    """db = a^-T dz and da = -db z^T, z = a^-1 b.

    Magnitudes: |db| <= env(a^-1)^T |dz|; z's envelope env(a^-1) |b|; da's their outer product
    over the k columns. terms max(n, k).
    """
    a, b, dz = f64(a, b, dz)
    z = np.linalg.solve(a, b)
    db = np.linalg.solve(T(a), dz)
    env = inv_envelope(a, np.linalg.inv(a))
    mag_db = T(env) @ np.abs(dz)
    mag_da = mag_db @ T(env @ np.abs(b))
    terms = max(1, a.shape[-1], b.shape[-1])
    return {"a": Grad(-db @ T(z), mag_da, terms=terms), "b": Grad(db, mag_db, terms=terms)}


def _triangle(a: np.ndarray, lower: bool, unit_diagonal: bool = False) -> np.ndarray:
    """The lower or upper triangle of a, diagonal included (``unit_diagonal``: excluded, so the
    diagonal of the result is zero)."""
    k = 1 if unit_diagonal else 0
    return np.tril(a, -k) if lower else np.triu(a, k)


def _read_triangle(a: np.ndarray, lower: bool, unit_diagonal: bool) -> np.ndarray:
    """The triangular matrix a solve reads: its triangle, with ones on the diagonal when
    ``unit_diagonal`` (a's own diagonal is never read then)."""
    t = _triangle(a, lower, unit_diagonal)
    return t + np.eye(a.shape[-1]) if unit_diagonal else t


def triangular_solve(a: np.ndarray, b: np.ndarray, lower: bool, transpose: bool,
                     unit_diagonal: bool = False) -> np.ndarray:
    """z = op(t)^-1 b with t the lower (``lower``) or upper triangle of a, diagonal included, or
    replaced by ones when ``unit_diagonal`` (the other triangle, and then the diagonal, are never
    read), and op(t) = t^T when ``transpose`` else t."""
    a, b = f64(a, b)
    t = _read_triangle(a, lower, unit_diagonal)
    return np.linalg.solve(T(t) if transpose else t, b)


def triangular_solve_vjp(a: np.ndarray, b: np.ndarray, dz: np.ndarray, lower: bool, transpose: bool,
                         unit_diagonal: bool = False) -> dict[str, Grad]:
    """db = op(t)^-T dz;  dM = -db z^T;  da = triangle(dM^T if transpose else dM) (zero in the
    triangle that is not read, and on the diagonal when ``unit_diagonal``). Magnitudes as for
    solve with env(op(t)^-1); terms max(n, k)."""
    a, b, dz = f64(a, b, dz)
    t = _read_triangle(a, lower, unit_diagonal)
    m = T(t) if transpose else t
    z = np.linalg.solve(m, b)
    db = np.linalg.solve(T(m), dz)
    dm = -db @ T(z)
    env = inv_envelope(m, np.linalg.inv(m), triangular=True)
    mag_db = T(env) @ np.abs(dz)
    mag_dm = mag_db @ T(env @ np.abs(b))
    if transpose:
        dm, mag_dm = T(dm), T(mag_dm)
    terms = max(1, a.shape[-1], b.shape[-1])
    return {
        "a": Grad(_triangle(dm, lower, unit_diagonal), _triangle(mag_dm, lower, unit_diagonal), terms=terms),
        "b": Grad(db, mag_db, terms=terms),
    }


# ---------------------------------------------------------------------------------------------
# factorisations and spectra of symmetric matrices


def _phi(m: np.ndarray) -> np.ndarray:
    """Lower triangle with the diagonal halved."""
    out = np.tril(m)
    return out - 0.5 * np.einsum("...ii->...i", m)[..., None] * np.eye(m.shape[-1])


def cholesky(x: np.ndarray) -> np.ndarray:
    """z = L, lower triangular with positive diagonal and L L^T = sym(x) = (x + x^T) / 2."""
    (x,) = f64(x)
    return np.linalg.cholesky(sym(x))


def cholesky_vjp(x: np.ndarray, dz: np.ndarray) -> dict[str, Grad]:
    """dx = sym(G), G = L^-T phi(L^T dz) L^-1, phi = lower triangle with the diagonal halved.

    Magnitude: sym of env(L^-1)^T tril(env(L)^T |dz|) env(L^-1), where env(L^-1) is the
    triangular inverse's envelope and env(L) = |L| + |L| tril(|L^-1| |L| |L^T| |L^-T|) is the
    computed factor's (backward error |dA| <= c u |L||L^T|, dL = L phi(L^-1 dA L^-T)); terms n.
    """
    x, dz = f64(x, dz)
    L = np.linalg.cholesky(sym(x))
    Li = np.linalg.inv(L)
    g = T(Li) @ _phi(T(L) @ dz) @ Li
    aL, aLi = np.abs(L), np.abs(Li)
    env_Li = inv_envelope(L, Li, triangular=True)
    env_L = aL + aL @ np.tril(aLi @ aL @ T(aL) @ T(aLi))
    mag_g = T(env_Li) @ np.tril(T(env_L) @ np.abs(dz)) @ env_Li
    return {"x": Grad(sym(g), sym(mag_g), terms=_n(x))}


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den with 0 / 0 = 0 (an exact tie with equal cotangents contributes nothing)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(num == 0, 0.0, num / den)


def eigvalsh(x: np.ndarray) -> np.ndarray:
    """z = eigenvalues of sym(x) in ascending order."""
    (x,) = f64(x)
    return np.linalg.eigvalsh(sym(x))


def eigvalsh_vjp(x: np.ndarray, dz: np.ndarray) -> dict[str, Grad]:
    """dx = V diag(dz) V^T, sym(x) = V diag(w) V^T (distinct eigenvalues; already symmetric).

    Magnitude: |V| (diag(|dz|) + C + J|D| + |D|J) |V|^T with C_ij = ||sym(x)||_F |dz_i - dz_j| /
    |w_i - w_j| (i != j) and J all ones: computed eigenvectors are V (I + Theta + S), Theta
    antisymmetric with |Theta_ij| <= c u ||A|| / |w_i - w_j| and S symmetric with |S_ij| <= c n u
    (loss of orthogonality); they move the gradient by V (Theta D - D Theta + S D + D S) V^T, whose
    (i, j) entry is Theta_ij (dz_j - dz_i) + S_ij (dz_i + dz_j). Terms n.
    """
    x, dz = f64(x, dz)
    a = sym(x)
    w, v = np.linalg.eigh(a)
    e = np.linalg.norm(a, axis=(-2, -1))[..., None, None]
    c = e * _ratio(np.abs(dz[..., :, None] - dz[..., None, :]), np.abs(w[..., :, None] - w[..., None, :]))
    av = np.abs(v)
    value = v @ (dz[..., :, None] * T(v))
    adz = np.abs(dz)
    mag = av @ (adz[..., :, None] * np.eye(w.shape[-1]) + c + adz[..., :, None] + adz[..., None, :]) @ T(av)
    return {"x": Grad(value, mag, terms=_n(x))}


def svdvals(x: np.ndarray) -> np.ndarray:
    """z = singular values of x (..., m, n) in descending order, min(m, n) of them."""
    (x,) = f64(x)
    return np.linalg.svd(x, compute_uv=False)


def svdvals_vjp(x: np.ndarray, dz: np.ndarray) -> dict[str, Grad]:
    """dx = U diag(dz) V^T with the thin SVD x = U diag(s) V^T (distinct, non-zero s).

    Magnitude: |U| (diag(|dz|) + C + J|D| + |D|J) |V|^T plus, for m != n, the pull of the extra
    null space (J all ones: loss of orthogonality of the computed U and V, c n u per entry).
    Computed singular vectors are U (I + Theta_U), V (I + Theta_V) with
    Theta_U_ij = (s_j E_ij + s_i E_ji) / (s_j^2 - s_i^2), Theta_V_ij = (s_i E_ij + s_j E_ji) /
    (s_j^2 - s_i^2), |E| <= c u ||x||_F; the gradient moves by U (Theta_U D - D Theta_V) V^T, bounded
    entrywise by C_ij = ||x||_F (|dz_i - dz_j| / |s_i - s_j| + 2 max(|dz_i|, |dz_j|) / (s_i + s_j)).
    With m > n (n > m) the left (right) vectors also lean into the null space by up to
    c u ||x||_F / s_i, adding ||x||_F |dz_i| / s_i times |v_i| (|u_i|) on every row (column).
    Terms min(m, n).
    """
    x, dz = f64(x, dz)
    u, s, vh = np.linalg.svd(x, full_matrices=False)
    m, n = x.shape[-2:]
    k = s.shape[-1]
    e = np.linalg.norm(x, axis=(-2, -1))
    adz = np.abs(dz)
    si, sj = s[..., :, None], s[..., None, :]
    off = ~np.eye(k, dtype=bool)
    c = e[..., None, None] * (
        _ratio(np.abs(dz[..., :, None] - dz[..., None, :]), np.abs(si - sj))
        + _ratio(2 * np.maximum(adz[..., :, None], adz[..., None, :]), si + sj)
    )
    c = np.where(off, c, 0.0) + adz[..., :, None] * np.eye(k) + adz[..., :, None] + adz[..., None, :]
    au, avh = np.abs(u), np.abs(vh)
    mag = au @ c @ avh
    if m != n:
        lean = e[..., None] * _ratio(adz, s)  # (..., k)
        if m > n:
            mag = mag + np.sum(lean[..., :, None] * avh, axis=-2)[..., None, :]
        else:
            mag = mag + np.sum(au * lean[..., None, :], axis=-1)[..., :, None]
    value = u @ (dz[..., :, None] * vh)
    return {"x": Grad(value, mag, terms=max(1, min(m, n)))}


# ---------------------------------------------------------------------------------------------
# diagonal and trace with an offset, of any (..., m, n)


def _diagonal_index(shape: tuple[int, ...], offset: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of the ``offset`` diagonal of an (m, n) matrix: (i, i + offset) for
    offset >= 0, (i - offset, i) below; empty where the diagonal leaves the matrix (as torch and
    JAX give it; TensorFlow's diag_part refuses such an offset, so none is drawn)."""
    if len(shape) < 2:
        raise ValueError(f"a diagonal needs a matrix (..., m, n); got shape {shape}")
    m, n = shape[-2], shape[-1]
    offset = int(offset)
    k = max(0, min(m, n - offset) if offset >= 0 else min(m + offset, n))
    i = np.arange(k)
    return (i, i + offset) if offset >= 0 else (i - offset, i)


def diagonal(x: np.ndarray, offset: int = 0) -> np.ndarray:
    """z[..., i] = x[..., r_i, c_i] along the ``offset`` diagonal of the last two axes (offset > 0
    above the main diagonal, < 0 below); z has shape (..., k), k its length (0 off the matrix)."""
    (x,) = f64(x)
    rows, cols = _diagonal_index(x.shape, offset)
    return x[..., rows, cols]


def diagonal_vjp(x: np.ndarray, dz: np.ndarray, offset: int = 0) -> dict[str, Grad]:
    """dx = zeros with dz written onto the ``offset`` diagonal (exact: a copy)."""
    (x, dz) = f64(x, dz)
    rows, cols = _diagonal_index(x.shape, offset)
    dx = np.zeros(x.shape)
    dx[..., rows, cols] = dz
    return {"x": Grad(dx, np.abs(dx))}


def trace(x: np.ndarray, offset: int = 0) -> np.ndarray:
    """z[...] = sum_i x[..., r_i, c_i] over the ``offset`` diagonal of the last two axes (0 where
    that diagonal is empty); the matrix may be non-square."""
    return np.sum(diagonal(x, offset), axis=-1)


def trace_vjp(x: np.ndarray, dz: np.ndarray, offset: int = 0) -> dict[str, Grad]:
    """dx = dz (broadcast along the diagonal) on the ``offset`` diagonal, 0 elsewhere (exact)."""
    (x, dz) = f64(x, dz)
    rows, cols = _diagonal_index(x.shape, offset)
    dx = np.zeros(x.shape)
    dx[..., rows, cols] = dz[..., None]
    return {"x": Grad(dx, np.abs(dx))}
