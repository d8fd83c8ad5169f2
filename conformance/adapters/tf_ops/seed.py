"""TensorFlow mappings of the seed's ops (the catalogue's layout is TensorFlow's NHWC / HWIO)."""

import tensorflow as tf

from conformance.adapters.mapping import direct, impl
from reference.conv import resolve_padding

TABLE = {
    "sigmoid": direct("tf.sigmoid"),
    "softmax": direct("tf.nn.softmax", axis="axis"),
    "matmul": direct("tf.linalg.matmul"),
}


def conv_nd(x, w, stride, dilation, padding, groups=1):
    """Channels-last convolution with the catalogue's semantics.

    TensorFlow's CPU kernels reject dilation > 1 in the backward pass and strides > 1 together
    with dilations > 1, so with dilation the adapter composes: explicit tf.pad by the catalogue's
    rule (TensorFlow SAME included), a stride-1 dilated VALID tf.nn.convolution, then a strided
    slice of its output. Explicit padding is a tf.pad before a VALID convolution (tf.nn.convolution
    takes only the padding names). Otherwise it is one tf.nn.convolution call.
    """
    nd = len(w.shape) - 2
    if all(d == 1 for d in dilation) and isinstance(padding, str):
        return tf.nn.convolution(x, w, strides=list(stride), padding=padding)
    pads = resolve_padding(padding, x.shape[1:-1], w.shape[:nd], stride, dilation)
    xp = tf.pad(x, [[0, 0], *[list(p) for p in pads], [0, 0]])
    z = tf.nn.convolution(xp, w, strides=1, padding="VALID", dilations=list(dilation))
    return z[(slice(None),) + tuple(slice(None, None, s) for s in stride) + (slice(None),)]


@impl("tf.nn.convolution (dilated: tf.pad + stride-1 dilated conv + strided slice)", composite=True)
def conv2d(x, w, stride, dilation, padding):
    return conv_nd(x, w, stride, dilation, padding)
