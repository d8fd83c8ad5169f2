"""tf mappings of the conv family (see ../mapping.py). The catalogue's layouts are TensorFlow's
(NWC / NHWC / NDHWC inputs, (*kernel, I, O) filters, (kh, kw, O, C) for conv2d_transpose).

TensorFlow's CPU kernels reject several of the catalogue's cases; each function below says which
and composes the case from other public ops, calling the single op wherever the kernel runs it.
"""

import tensorflow as tf

from conformance.adapters.mapping import impl
from conformance.adapters.tf_ops.onednn import grouped_conv_path
from reference.conv import resolve_padding, transpose_geometry
from reference.pool import pool_geometry


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


def _strided(z, stride):
    return z[(slice(None),) + tuple(slice(None, None, s) for s in stride) + (slice(None),)]


def _pad(x, pads):
    return tf.pad(x, [[0, 0], *[list(p) for p in pads], [0, 0]])


def _conv3d(x, w, stride, dilation, padding):
    """tf.nn.conv3d (explicit padding: tf.pad first). With dilation the seed's conv_nd composite
    (CPU Conv3D supports only dilation 1; tf.nn.convolution's dilated path is space-to-batch).

    tf.nn.convolution is not used for the undilated case: on 5-D input it calls Conv3D with
    data_format=None, and in eager mode the Conv3D gradient then fails reading that attribute
    ("'NoneType' object has no attribute 'decode'", nn_grad._Conv3DGrad, TF 2.21).
    """
    if any(d != 1 for d in dilation):
        return conv_nd(x, w, stride, dilation, padding)
    if not isinstance(padding, str):
        x = _pad(x, resolve_padding(padding, x.shape[1:-1], w.shape[:3], stride, dilation))
        padding = "VALID"
    return tf.nn.conv3d(x, w, strides=[1, *stride, 1], padding=padding, data_format="NDHWC")


def _per_group(conv, x, w, groups, **kw):
    """``conv`` on each group on its own (tf.split of x's channels and w's output channels,
    tf.concat of the results)."""
    xs = tf.split(x, groups, axis=-1)
    ws = tf.split(w, groups, axis=-1)
    return tf.concat([conv(xg, wg, **kw) for xg, wg in zip(xs, ws)], axis=-1)


def _grouped(x, w, stride, dilation, padding, groups):
    """tf.nn.convolution infers the groups from the filter's input depth. TensorFlow's own CPU
    backprop of a grouped convolution raises "Gradients for grouped convolutions are not supported
    on CPU"; only oneDNN's has one, and oneDNN runs only where TensorFlow turned it on and takes the
    dtype on this CPU (onednn.py). grouped_conv_path decides, asking TensorFlow: natively where the
    backprop exists, otherwise each group convolved on its own (tf.split, conv_nd, tf.concat)."""
    if grouped_conv_path(x.dtype, x.device)["path"] == "native":
        return conv_nd(x, w, stride, dilation, padding)
    return _per_group(conv_nd, x, w, groups, stride=stride, dilation=dilation, padding=padding)


def _grouped1d(x, w, stride, dilation, padding, groups):
    """conv1d with groups: each group convolved on its own, on every CPU (TensorFlow's CPU grouped
    backprop exists only under oneDNN; the 1-D op keeps one path whatever this process has)."""
    if groups == 1:
        return conv_nd(x, w, stride, dilation, padding)
    return _per_group(conv_nd, x, w, groups, stride=stride, dilation=dilation, padding=padding)


def _grouped3d(x, w, stride, dilation, padding, groups):
    """Conv3D has no grouped form on the CPU: with groups, each group convolved on its own."""
    if groups == 1:
        return _conv3d(x, w, stride, dilation, padding)
    return _per_group(_conv3d, x, w, groups, stride=stride, dilation=dilation, padding=padding)


def _depthwise(x, w, stride, dilation, padding):
    """tf.nn.depthwise_conv2d. It refuses strides > 1 together with dilation > 1, and the CPU
    kernels refuse unequal row and column strides ("Current implementation only supports equal
    length strides in the row and column dimensions": DepthwiseConv2dNative in float64, its
    backprop in every dtype unless oneDNN takes the case); those cases pad by the catalogue's rule,
    run a stride-1 (dilated) VALID depthwise convolution and take every stride-th output."""
    dilated = any(d != 1 for d in dilation)
    if stride[0] == stride[1] and not (dilated and stride[0] != 1):
        if not isinstance(padding, str):
            padding = [[0, 0], *[list(p) for p in padding], [0, 0]]
        return tf.nn.depthwise_conv2d(x, w, [1, *stride, 1], padding, dilations=list(dilation))
    pads = resolve_padding(padding, x.shape[1:3], w.shape[:2], stride, dilation)
    z = tf.nn.depthwise_conv2d(_pad(x, pads), w, [1, 1, 1, 1], "VALID", dilations=list(dilation))
    return _strided(z, stride)


def _dilate_filter(w, dilation):
    """Insert dilation - 1 zeros between the taps of the two kernel dims (tf.concat + reshape)."""
    for axis, d in enumerate(dilation):
        if d == 1:
            continue
        k = w.shape[axis]
        shape = list(w.shape)
        w = tf.expand_dims(w, axis + 1)
        zeros = tf.zeros([*shape[: axis + 1], d - 1, *shape[axis + 1 :]], w.dtype)
        w = tf.concat([w, zeros], axis=axis + 1)
        w = tf.reshape(w, [*shape[:axis], k * d, *shape[axis + 1 :]])
        w = w[(slice(None),) * axis + (slice(0, (k - 1) * d + 1),)]
    return w


def _grouped_transpose(x, w, stride, dilation, padding, output_padding, groups):
    """tf.nn.conv2d_transpose has no groups: with groups, each group's channels (x's C // groups,
    w's last axis likewise) transposed on their own, the outputs concatenated."""
    if groups == 1:
        return _transpose(x, w, stride, dilation, padding, output_padding)
    return _per_group(_transpose, x, w, groups, stride=stride, dilation=dilation, padding=padding,
                      output_padding=output_padding)


def _transpose(x, w, stride, dilation, padding, output_padding):
    """tf.nn.conv2d_transpose with the catalogue's output shape; explicit padding as tf's explicit
    [[0, 0], [top, bottom], [left, right], [0, 0]]. The CPU Conv2DBackpropInput rejects dilation > 1
    ("Current CPU implementations do not yet support dilation rates larger than 1"), so a dilated
    filter is spelled out with zeros between its taps and convolved undilated (same sums)."""
    out, pads = transpose_geometry(x.shape[1:-1], w.shape[:2], stride, dilation, padding, output_padding)
    if not isinstance(padding, str):
        padding = [[0, 0], *[list(p) for p in pads], [0, 0]]
    return tf.nn.conv2d_transpose(
        x, _dilate_filter(w, dilation), [x.shape[0], *out, w.shape[2]], strides=[1, *stride, 1], padding=padding,
    )


CONV_CALL = "tf.nn.convolution (dilated: tf.pad + stride-1 dilated conv + strided slice)"
CONV3D_CALL = (
    "tf.nn.conv3d (explicit: tf.pad first; dilated: tf.pad + stride-1 dilated tf.nn.convolution + slice; "
    "groups: tf.split + one per group + tf.concat)"
)
CONV1D_CALL = CONV_CALL + "; groups: tf.split + one per group + tf.concat"
GROUPED_CALL = (
    "tf.nn.convolution with a grouped filter where TensorFlow has its backprop (CPU: oneDNN on and taking the "
    "dtype); otherwise tf.split + tf.nn.convolution per group + tf.concat"
)
DEPTHWISE_CALL = (
    "tf.nn.depthwise_conv2d (stride with dilation, or unequal strides: tf.pad + stride-1 "
    "depthwise + strided slice)"
)
TRANSPOSE_CALL = (
    "tf.nn.conv2d_transpose(output_shape) (dilated: zeros inserted into the filter; groups: tf.split + one per "
    "group + tf.concat)"
)
BIAS_CALL = " + tf.nn.bias_add"


@impl(CONV1D_CALL, composite=True)
def conv1d(x, w, stride, dilation, padding, groups):
    return _grouped1d(x, w, stride, dilation, padding, groups)


@impl(CONV3D_CALL, composite=True)
def conv3d(x, w, stride, dilation, padding, groups):
    return _grouped3d(x, w, stride, dilation, padding, groups)


@impl(GROUPED_CALL, composite=True)
def grouped_conv2d(x, w, stride, dilation, padding, groups):
    return _grouped(x, w, stride, dilation, padding, groups)


@impl(DEPTHWISE_CALL, composite=True)
def depthwise_conv2d(x, w, stride, dilation, padding):
    return _depthwise(x, w, stride, dilation, padding)


@impl(TRANSPOSE_CALL, composite=True, static_shapes=True)
def conv2d_transpose(x, w, stride, dilation, padding, output_padding, groups):
    return _grouped_transpose(x, w, stride, dilation, padding, output_padding, groups)


@impl(CONV1D_CALL + BIAS_CALL, composite=True)
def conv1d_bias(x, w, bias, stride, dilation, padding, groups):
    return tf.nn.bias_add(_grouped1d(x, w, stride, dilation, padding, groups), bias)


@impl(CONV_CALL + BIAS_CALL, composite=True)
def conv2d_bias(x, w, bias, stride, dilation, padding):
    return tf.nn.bias_add(conv_nd(x, w, stride, dilation, padding), bias)


@impl(CONV3D_CALL + BIAS_CALL, composite=True)
def conv3d_bias(x, w, bias, stride, dilation, padding, groups):
    return tf.nn.bias_add(_grouped3d(x, w, stride, dilation, padding, groups), bias)


@impl(GROUPED_CALL + BIAS_CALL, composite=True)
def grouped_conv2d_bias(x, w, bias, stride, dilation, padding, groups):
    return tf.nn.bias_add(_grouped(x, w, stride, dilation, padding, groups), bias)


@impl(DEPTHWISE_CALL + BIAS_CALL, composite=True)
def depthwise_conv2d_bias(x, w, bias, stride, dilation, padding):
    return tf.nn.bias_add(_depthwise(x, w, stride, dilation, padding), bias)


@impl(TRANSPOSE_CALL + BIAS_CALL, composite=True, static_shapes=True)
def conv2d_transpose_bias(x, w, bias, stride, dilation, padding, output_padding, groups):
    return tf.nn.bias_add(_grouped_transpose(x, w, stride, dilation, padding, output_padding, groups), bias)


# ops whose path depends on the process (oneDNN on or off, the dtypes it takes on this CPU), with
# the function that says which path a dtype takes on a device (the adapter's describe reports it)
CPU_DEPENDENT_PATHS = {"grouped_conv2d": grouped_conv_path, "grouped_conv2d_bias": grouped_conv_path}


def _dilated_pool(xp, window, stride, dilation, kind):
    """tf.nn.pool refuses strides > 1 with dilation > 1: a stride-1 dilated VALID pool of the padded
    input, then every stride-th output (the same windows)."""
    z = tf.nn.pool(xp, list(window), kind, strides=[1, 1], padding="VALID", dilations=list(dilation))
    return _strided(z, stride)


def _explicit(pads, extra):
    return [[0, 0], *[[b, a + e] for (b, a), e in zip(pads, extra)], [0, 0]]


@impl(
    "tf.nn.max_pool2d (explicit padding and ceil_mode: its explicit padding, the extra on the after side; dilated: "
    "tf.pad with -inf + stride-1 dilated tf.nn.pool + strided slice)",
    composite=True, static_shapes=True,  # the padding and divisors follow from the input's sizes
)
def max_pool2d(x, window, stride, padding, dilation, ceil_mode):
    if any(d != 1 for d in dilation):
        pads, extra = pool_geometry(x.shape[1:3], window, stride, dilation, padding, ceil_mode)
        xp = tf.pad(x, _explicit(pads, extra), constant_values=float("-inf"))
        return _dilated_pool(xp, window, stride, dilation, "MAX")
    if isinstance(padding, str) and not ceil_mode:
        return tf.nn.max_pool2d(x, list(window), list(stride), padding)
    pads, extra = pool_geometry(x.shape[1:3], window, stride, dilation, padding, ceil_mode)
    return tf.nn.max_pool2d(x, list(window), list(stride), _explicit(pads, extra))


@impl(
    "tf.nn.avg_pool2d (SAME divides by the real elements of each window; explicit padding, ceil_mode, "
    "count_include_pad, divisor_override: tf.pad + VALID avg_pool2d (dilated: stride-1 tf.nn.pool + strided "
    "slice) times window size / the window divisors)",
    composite=True, static_shapes=True,  # the padding and divisors follow from the input's sizes
)
def avg_pool2d(x, window, stride, padding, dilation, ceil_mode, count_include_pad, divisor_override):
    dilated = any(d != 1 for d in dilation)
    if not dilated and isinstance(padding, str) and not ceil_mode and not count_include_pad \
            and divisor_override is None:
        return tf.nn.avg_pool2d(x, list(window), list(stride), padding)
    pads, extra = pool_geometry(x.shape[1:3], window, stride, dilation, padding, ceil_mode)
    xp = tf.pad(x, _explicit(pads, extra))
    if dilated:
        mean = _dilated_pool(xp, window, stride, dilation, "AVG")
    else:
        mean = tf.nn.avg_pool2d(xp, list(window), list(stride), "VALID")
    size = float(window[0] * window[1])
    if divisor_override is not None:
        divisor = tf.constant(float(divisor_override), tf.float64)
    else:  # the divisors: window sums of a mask of the counted positions
        ones = tf.ones([1, *x.shape[1:3], 1], tf.float64)
        if count_include_pad:
            mask = tf.pad(tf.pad(ones, _explicit(pads, (0, 0)), constant_values=1.0), _explicit([(0, 0)] * 2, extra))
        else:
            mask = tf.pad(ones, _explicit(pads, extra))
        windows = _dilated_pool(mask, window, stride, dilation, "AVG") if dilated else \
            tf.nn.avg_pool2d(mask, list(window), list(stride), "VALID")
        divisor = windows * size  # a factor of exactly 1 where a window divides by its size
    return mean * tf.cast(size / divisor, x.dtype)
