"""jax mappings of the shape family (see ../mapping.py)."""

import jax.numpy as jnp
from jax import lax

from conformance.adapters.mapping import direct, impl

TABLE = {
    "gather": direct("jnp.take", axis="axis", describes=("indices_from_end",)),
    "take_along_axis": direct("jnp.take_along_axis", axis="axis", describes=("indices_from_end",)),
    "where": direct("jnp.where"),
    "cumprod": direct("jnp.cumprod", axis="axis"),
    "sort": direct("jnp.sort", axis="axis", descending="descending"),
    "roll": direct("jnp.roll", "x", "shift", axis="axis"),
}


@impl("jnp.reshape")
def reshape(x, shape):
    return jnp.reshape(x, tuple(shape))


@impl("jnp.transpose(x, perm)")
def transpose(x, perm):
    return jnp.transpose(x, tuple(perm))


@impl("jnp.concatenate([x, y], axis)")
def concat(x, y, axis):
    return jnp.concatenate([x, y], axis=axis)


@impl("jnp.stack([x, y], axis)")
def stack(x, y, axis):
    return jnp.stack([x, y], axis=axis)


@impl("x[b:e:s, ...] (jnp indexing: lax.slice + lax.rev)")
def strided_slice(x, begin, end, strides):
    return x[tuple(slice(b, e, s) for b, e, s in zip(begin, end, strides))]


@impl("jnp.pad(x, paddings, mode='constant', constant_values=value)")
def pad_constant(x, paddings, value):
    return jnp.pad(x, [(int(b), int(a)) for b, a in paddings], mode="constant", constant_values=value)


@impl("jnp.pad(x, paddings, mode='reflect')")
def pad_reflect(x, paddings):
    return jnp.pad(x, [(int(b), int(a)) for b, a in paddings], mode="reflect")


@impl("jnp.tile")
def tile(x, reps):
    return jnp.tile(x, tuple(reps))


@impl("jnp.broadcast_to")
def broadcast_to(x, shape):
    return jnp.broadcast_to(x, tuple(shape))


@impl("jax.lax.cumsum(x, axis, reverse=reverse)")
def cumsum(x, axis, reverse):
    return lax.cumsum(x, axis=axis % x.ndim, reverse=reverse)


@impl("jnp.flip(x, axes)")
def flip(x, axes):
    return jnp.flip(x, tuple(axes))


@impl("jnp.concatenate([x, y, w], axis)")
def concat3(x, y, w, axis):
    return jnp.concatenate([x, y, w], axis=axis)


@impl("jnp.stack([x, y, w], axis)")
def stack3(x, y, w, axis):
    return jnp.stack([x, y, w], axis=axis)
