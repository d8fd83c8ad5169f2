"""tf mappings of the shape family (see ../mapping.py)."""

import tensorflow as tf

from conformance.adapters.mapping import direct, impl

TABLE = {
    "gather": direct("tf.gather", axis="axis", describes=("indices_from_end",)),
    "take_along_axis": direct("tf.experimental.numpy.take_along_axis", axis="axis",
                              describes=("indices_from_end",)),
    "where": direct("tf.where"),
    "cumsum": direct("tf.math.cumsum", axis="axis", reverse="reverse"),
    "cumprod": direct("tf.math.cumprod", axis="axis"),
    "roll": direct("tf.roll", shift="shift", axis="axis"),
}


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


@impl("tf.reverse(x, axes)")
def flip(x, axes):
    return tf.reverse(x, axis=list(axes))


@impl("tf.sort(x, axis, direction='DESCENDING' if descending else 'ASCENDING')")
def sort(x, axis, descending):
    return tf.sort(x, axis=axis, direction="DESCENDING" if descending else "ASCENDING")


@impl("tf.concat([x, y, w], axis)")
def concat3(x, y, w, axis):
    return tf.concat([x, y, w], axis=axis)


@impl("tf.stack([x, y, w], axis)")
def stack3(x, y, w, axis):
    return tf.stack([x, y, w], axis=axis)
