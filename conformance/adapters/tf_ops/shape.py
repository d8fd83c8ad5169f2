"""tf mappings of the shape family (see ../mapping.py)."""

import tensorflow as tf

from conformance.adapters.mapping import impl


@impl("tf.reshape")
def reshape(x, shape):
    return tf.reshape(x, list(shape))


@impl("tf.transpose(x, perm)")
def transpose(x, perm):
    return tf.transpose(x, perm=list(perm))


@impl("tf.concat([x, y], axis)")
def concat(x, y, axis):
    return tf.concat([x, y], axis=axis)


@impl("tf.stack([x, y], axis)")
def stack(x, y, axis):
    return tf.stack([x, y], axis=axis)


@impl("x[b:e:s, ...] (tf.strided_slice)")
def strided_slice(x, begin, end, strides):
    return x[tuple(slice(b, e, s) for b, e, s in zip(begin, end, strides))]


@impl("tf.pad(x, paddings, mode='CONSTANT', constant_values=value)")
def pad_constant(x, paddings, value):
    return tf.pad(x, [[int(b), int(a)] for b, a in paddings], mode="CONSTANT", constant_values=value)


@impl("tf.pad(x, paddings, mode='REFLECT')")
def pad_reflect(x, paddings):
    return tf.pad(x, [[int(b), int(a)] for b, a in paddings], mode="REFLECT")


@impl("tf.tile")
def tile(x, reps):
    return tf.tile(x, list(reps))


@impl("tf.broadcast_to")
def broadcast_to(x, shape):
    return tf.broadcast_to(x, list(shape))


@impl("tf.gather(x, indices, axis=axis)")
def gather(x, indices, axis):
    return tf.gather(x, indices, axis=axis)


@impl("tf.experimental.numpy.take_along_axis")
def take_along_axis(x, indices, axis):
    return tf.experimental.numpy.take_along_axis(x, indices, axis=axis)


@impl("tf.where(cond, x, y)")
def where(cond, x, y):
    return tf.where(cond, x, y)


@impl("tf.math.cumsum(x, axis, reverse=reverse)")
def cumsum(x, axis, reverse):
    return tf.math.cumsum(x, axis=axis, reverse=reverse)


@impl("tf.math.cumprod(x, axis)")
def cumprod(x, axis):
    return tf.math.cumprod(x, axis=axis)


@impl("tf.sort(x, axis)")
def sort(x, axis):
    return tf.sort(x, axis=axis)


@impl("tf.reverse(x, axes)")
def flip(x, axes):
    return tf.reverse(x, axis=list(axes))


@impl("tf.roll(x, shift, axis)")
def roll(x, shift, axis):
    return tf.roll(x, shift=shift, axis=axis)
