"""jax mappings of the shape family (see ../mapping.py)."""

import jax.numpy as jnp
from jax import lax

from conformance.adapters.mapping import impl


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


@impl("jnp.take(x, indices, axis=axis)")
def gather(x, indices, axis):
    return jnp.take(x, indices, axis=axis)


@impl("jnp.take_along_axis")
def take_along_axis(x, indices, axis):
    return jnp.take_along_axis(x, indices, axis=axis)


@impl("jnp.where(cond, x, y)")
def where(cond, x, y):
    return jnp.where(cond, x, y)


@impl("jax.lax.cumsum(x, axis, reverse=reverse)")
def cumsum(x, axis, reverse):
    return lax.cumsum(x, axis=axis % x.ndim, reverse=reverse)


@impl("jnp.cumprod(x, axis)")
def cumprod(x, axis):
    return jnp.cumprod(x, axis=axis)


@impl("jnp.sort(x, axis)")
def sort(x, axis):
    return jnp.sort(x, axis=axis)


@impl("jnp.flip(x, axes)")
def flip(x, axes):
    return jnp.flip(x, tuple(axes))


@impl("jnp.roll(x, shift, axis)")
def roll(x, shift, axis):
    return jnp.roll(x, shift, axis=axis)
