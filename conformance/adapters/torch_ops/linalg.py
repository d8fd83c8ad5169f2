"""torch mappings of the linalg family (see ../mapping.py).

torch's CPU LAPACK-backed ops have no float16/bfloat16 kernels: they raise "not implemented for
'Half'" / "Low precision dtypes not supported"; those dtypes are declared unsupported with the
message torch gives. cholesky and eigvalsh are defined on sym(x) = (x + x^T)/2: torch reads one
triangle, so the mapping symmetrises explicitly (an exact operation) before the torch call.
"""

import torch

from conformance.adapters.mapping import impl


def _no_half(message: str) -> dict[str, str]:
    return {dt: f"torch 2.13 CPU: {message} for {dt}" for dt in ("float16", "bfloat16")}


def _sym(x):
    return (x + x.mT) / 2


@impl("torch.einsum(equation, x, y)")
def einsum(x, y, equation):
    return torch.einsum(equation, x, y)


@impl("torch.einsum(equation, x)")
def einsum_unary(x, equation):
    return torch.einsum(equation, x)


@impl("torch.linalg.inv", unsupported_dtypes=_no_half("linalg.inv: Low precision dtypes not supported"))
def inv(x):
    return torch.linalg.inv(x)


@impl("torch.linalg.det", unsupported_dtypes=_no_half('"lu_cpu" not implemented'))
def det(x):
    return torch.linalg.det(x)


@impl("torch.linalg.slogdet(x).logabsdet",
      unsupported_dtypes=_no_half("linalg.slogdet: Low precision dtypes not supported"))
def slogdet(x):
    return torch.linalg.slogdet(x).logabsdet


@impl("torch.linalg.solve(a, b)", unsupported_dtypes=_no_half('"lu_cpu" not implemented'))
def solve(a, b):
    return torch.linalg.solve(a, b)


@impl("torch.linalg.solve_triangular(a or a.mT, b, upper=...)",
      unsupported_dtypes=_no_half('"triangular_solve_cpu" not implemented'))
def triangular_solve(a, b, lower, transpose):
    # t^T z = b: pass the transposed view, whose read triangle is the opposite one
    if transpose:
        return torch.linalg.solve_triangular(a.mT, b, upper=lower)
    return torch.linalg.solve_triangular(a, b, upper=not lower)


@impl("torch.linalg.cholesky((x + x.mT) / 2)", composite=True,
      unsupported_dtypes=_no_half('"cholesky_cpu" not implemented'))
def cholesky(x):
    return torch.linalg.cholesky(_sym(x))


@impl("torch.linalg.eigvalsh((x + x.mT) / 2)", composite=True,
      unsupported_dtypes=_no_half('"linalg_eigh_cpu" not implemented'))
def eigvalsh(x):
    return torch.linalg.eigvalsh(_sym(x))


@impl("torch.linalg.svdvals", unsupported_dtypes=_no_half('"linalg_svd_cpu" not implemented'))
def svdvals(x):
    return torch.linalg.svdvals(x)
