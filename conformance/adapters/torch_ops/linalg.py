"""torch mappings of the linalg family (see ../mapping.py).

torch's CPU LAPACK-backed ops have no float16/bfloat16 kernels: those targets are claimed
unsupported, with torch's message, in conformance/unsupported.toml. cholesky and eigvalsh are
defined on sym(x) = (x + x^T)/2: torch reads one triangle, so the mapping symmetrises explicitly
(an exact operation) before the torch call.
"""

import torch

from conformance.adapters.mapping import direct, impl

TABLE = {
    "matmul": direct("torch.matmul"),
    "einsum": direct("torch.einsum", "equation", "x", "y"),
    "einsum_unary": direct("torch.einsum", "equation", "x"),
    "inv": direct("torch.linalg.inv"),
    "det": direct("torch.linalg.det"),
    "solve": direct("torch.linalg.solve"),
    "svdvals": direct("torch.linalg.svdvals"),
    "diagonal": direct("torch.diagonal", offset="offset", const={"dim1": -2, "dim2": -1}),
}


def _sym(x):
    return (x + x.mT) / 2


@impl("torch.linalg.slogdet(x).logabsdet")
def slogdet(x):
    return torch.linalg.slogdet(x).logabsdet


@impl("torch.linalg.solve_triangular(a or a.mT, b, upper=..., unitriangular=unit_diagonal)")
def triangular_solve(a, b, lower, transpose, unit_diagonal):
    # t^T z = b: pass the transposed view, whose read triangle is the opposite one
    if transpose:
        return torch.linalg.solve_triangular(a.mT, b, upper=lower, unitriangular=unit_diagonal)
    return torch.linalg.solve_triangular(a, b, upper=not lower, unitriangular=unit_diagonal)


@impl("torch.linalg.cholesky((x + x.mT) / 2)", composite=True)
def cholesky(x):
    return torch.linalg.cholesky(_sym(x))


@impl("torch.linalg.eigvalsh((x + x.mT) / 2)", composite=True)
def eigvalsh(x):
    return torch.linalg.eigvalsh(_sym(x))


@impl("torch.diagonal(x, offset, dim1=-2, dim2=-1).sum(-1) (torch.trace takes a 2-D input and no offset)",
      composite=True)
def trace(x, offset):
    return torch.diagonal(x, offset, dim1=-2, dim2=-1).sum(-1)
