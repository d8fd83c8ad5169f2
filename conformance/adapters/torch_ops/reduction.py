"""PyTorch mappings of the reduction family (see ../mapping.py).

``axis`` arrives as an int, a tuple/list of ints or None (all axes); torch takes ``dim`` as an
int or a tuple, and None is passed as the explicit tuple of every axis.
"""

import torch

from conformance.adapters.mapping import direct, impl

TABLE = {
    "softmax": direct("torch.softmax", dim="axis"),
    "log_softmax": direct("torch.log_softmax", dim="axis"),
}


def dims(axis, ndim):
    """torch's ``dim`` for the catalogue's ``axis`` (None: every axis, spelled out)."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int):
        return axis
    return tuple(int(a) for a in axis)


@impl("torch.sum(x, dim, keepdim)")
def sum_(x, axis, keepdims):
    return torch.sum(x, dim=dims(axis, x.ndim), keepdim=keepdims)


@impl("torch.mean(x, dim, keepdim)")
def mean(x, axis, keepdims):
    return torch.mean(x, dim=dims(axis, x.ndim), keepdim=keepdims)


@impl("torch.prod(x, dim, keepdim) (several axes: reduced axes moved last and flattened first)", composite=True)
def prod(x, axis, keepdims):
    d = dims(axis, x.ndim)
    if isinstance(d, int):
        return torch.prod(x, dim=d, keepdim=keepdims)
    if x.ndim == 0:  # a 0-d input: its own product (permute() takes no empty dims)
        return torch.prod(x)
    # torch.prod takes one int dim only: flatten the reduced axes into one
    axes = sorted(a % x.ndim for a in d)
    kept = [a for a in range(x.ndim) if a not in axes]
    flat = x.permute(*kept, *axes).reshape(*[x.shape[a] for a in kept], -1)
    z = torch.prod(flat, dim=-1)
    if keepdims:
        z = z.reshape([1 if a in axes else x.shape[a] for a in range(x.ndim)])
    return z


@impl("torch.amax(x, dim, keepdim)")
def max_(x, axis, keepdims):
    return torch.amax(x, dim=dims(axis, x.ndim), keepdim=keepdims)


@impl("torch.amin(x, dim, keepdim)")
def min_(x, axis, keepdims):
    return torch.amin(x, dim=dims(axis, x.ndim), keepdim=keepdims)


@impl("torch.logsumexp(x, dim, keepdim)")
def logsumexp(x, axis, keepdims):
    return torch.logsumexp(x, dim=dims(axis, x.ndim), keepdim=keepdims)


@impl("torch.var(x, dim, correction=ddof, keepdim)")
def var(x, axis, keepdims, ddof):
    return torch.var(x, dim=dims(axis, x.ndim), correction=ddof, keepdim=keepdims)


@impl("torch.std(x, dim, correction=ddof, keepdim)")
def std(x, axis, keepdims, ddof):
    return torch.std(x, dim=dims(axis, x.ndim), correction=ddof, keepdim=keepdims)


@impl("torch.linalg.vector_norm(x, ord=2, dim, keepdim)")
def l2_norm(x, axis, keepdims):
    return torch.linalg.vector_norm(x, ord=2, dim=dims(axis, x.ndim), keepdim=keepdims)


@impl("torch.linalg.vector_norm(x, ord=float(ord), dim, keepdim)")
def vector_norm(x, ord, axis, keepdims):
    return torch.linalg.vector_norm(x, ord=float(ord), dim=dims(axis, x.ndim), keepdim=keepdims)
