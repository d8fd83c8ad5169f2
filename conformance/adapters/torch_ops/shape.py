"""torch mappings of the shape family (see ../mapping.py)."""

import torch
import torch.nn.functional as F

from conformance.adapters.mapping import direct, impl

TABLE = {
    "where": direct("torch.where"),
    "cumprod": direct("torch.cumprod", dim="axis"),
    "roll": direct("torch.roll", shifts="shift", dims="axis"),
}


@impl("torch.reshape")
def reshape(x, shape):
    return torch.reshape(x, tuple(shape))


@impl("torch.permute")
def transpose(x, perm):
    return torch.permute(x, tuple(perm))


@impl("torch.cat([x, y], dim=axis)")
def concat(x, y, axis):
    return torch.cat([x, y], dim=axis)


@impl("torch.stack([x, y], dim=axis)")
def stack(x, y, axis):
    return torch.stack([x, y], dim=axis)


@impl("x[b:e:s, ...] (positive steps; a negative step is the ascending slice then torch.flip)", composite=True)
def strided_slice(x, begin, end, strides):
    """torch slicing takes only positive steps: a negative-step slice selects the same elements
    as the ascending slice from its last element to its first, flipped."""
    index, flips = [], []
    for d, (b, e, s) in enumerate(zip(begin, end, strides)):
        start, stop, step = slice(b, e, s).indices(x.shape[d])
        if step > 0:
            index.append(slice(start, stop, step))
            continue
        count = len(range(start, stop, step))
        last = start + step * (count - 1)
        index.append(slice(last, start + 1, -step))
        flips.append(d)
    z = x[tuple(index)]
    return torch.flip(z, flips) if flips else z


def _flat_pads(paddings):
    """[(before, after)] per axis -> F.pad's flat list, last axis first."""
    return [int(p) for pair in reversed(paddings) for p in pair]


@impl("torch.nn.functional.pad(x, pads, mode='constant', value=value)")
def pad_constant(x, paddings, value):
    return F.pad(x, _flat_pads(paddings), mode="constant", value=value)


@impl("torch.nn.functional.pad(mode='reflect') one axis at a time (axis moved last, 2-D view)", composite=True)
def pad_reflect(x, paddings):
    """F.pad's reflect mode pads only the last 1-3 dims of 2-D to 5-D inputs: pad each axis as
    the last dim of a 2-D view."""
    z = x
    for d, (b, a) in enumerate(paddings):
        if not (b or a):
            continue
        moved = torch.movedim(z, d, -1)
        flat = F.pad(moved.reshape(-1, moved.shape[-1]), [int(b), int(a)], mode="reflect")
        z = torch.movedim(flat.reshape(*moved.shape[:-1], flat.shape[-1]), -1, d)
    return z


@impl("torch.tile")
def tile(x, reps):
    return torch.tile(x, tuple(reps))


@impl("torch.broadcast_to")
def broadcast_to(x, shape):
    return torch.broadcast_to(x, tuple(shape))


@impl("x[..., indices, ...] (advanced indexing on axis, aten::index)")
def gather(x, indices, axis, indices_from_end):
    # indexing takes negative indices itself (indices_from_end only names how they were written)
    ax = axis % x.ndim
    return x[(slice(None),) * ax + (indices.long(),)]


@impl("torch.take_along_dim(x, indices, axis) (torch.gather after counting negative indices from the end)")
def take_along_axis(x, indices, axis, indices_from_end):
    # torch.gather refuses negative indices (RuntimeError: index -1 is out of bounds);
    # take_along_dim, torch's take_along_axis, takes them as NumPy does
    return torch.take_along_dim(x, indices.long(), axis)


@impl("torch.cumsum (reverse: torch.flip, torch.cumsum, torch.flip)", composite=True)
def cumsum(x, axis, reverse):
    if reverse:
        return torch.flip(torch.cumsum(torch.flip(x, (axis,)), dim=axis), (axis,))
    return torch.cumsum(x, dim=axis)


@impl("torch.sort(x, dim=axis, descending=descending).values")
def sort(x, axis, descending):
    return torch.sort(x, dim=axis, descending=descending).values


@impl("torch.flip")
def flip(x, axes):
    return torch.flip(x, tuple(axes))


@impl("torch.cat([x, y, w], dim=axis)")
def concat3(x, y, w, axis):
    return torch.cat([x, y, w], dim=axis)


@impl("torch.stack([x, y, w], dim=axis)")
def stack3(x, y, w, axis):
    return torch.stack([x, y, w], dim=axis)
