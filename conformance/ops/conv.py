"""OpSpecs of the conv family: 1-D / 3-D, grouped, depthwise and transposed convolution, a bias
variant of each (and of the seed's conv2d), and 2-D max / average pooling. conv1d, conv3d and
conv2d_transpose draw groups (1 first); the pools draw dilation, explicit padding and ceil_mode,
the average count_include_pad and divisor_override (the old behaviour first).

Every op is channels-last (NWC / NHWC / NDHWC inputs, filters (*kernel, C // groups, O)) like the
seed's conv2d. Shapes stay small (N <= 2, spatial sides <= 6, channels <= 4) so the float64
oracle and three frameworks stay fast.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from hypothesis import strategies as st

from conformance.opspec import InputSpec, Kink, OpSpec, spec_factory
from conformance.strategies import Structure, batch_size, choice, distinct_along, kink_margin, side
from reference import conv, pool

REGIMES = ("small", "tails", "large", "batch", "empty")  # the family's size regimes (conformance.regimes)
_spec = spec_factory("conv", conv, REGIMES)
_pool_spec = spec_factory("conv", pool, REGIMES)

X, W, BIAS = InputSpec("x"), InputSpec("w"), InputSpec("bias")
CONV_PARAMS = ("stride", "dilation", "padding")
PADDING_NOTE = (
    "Padding: 'VALID', 'SAME' (TensorFlow's rule: output ceil(in / stride), the odd extra pad "
    "element after) or explicit [[before, after], ...] per spatial dim."
)


def _padding(draw, nd: int):
    padding = choice(draw, ["VALID", "SAME", "explicit"])
    if padding == "explicit":
        padding = [[draw(st.integers(0, 2)), draw(st.integers(0, 2))] for _ in range(nd)]
    return padding


def _window_params(draw, nd: int, max_kernel: int, max_stride: int, max_side: int):
    """Kernel, stride, dilation, padding and input sides that hold one dilated kernel window."""
    kernel = tuple(draw(st.integers(1, max_kernel)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, max_stride)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    eff = [(k - 1) * d + 1 for k, d in zip(kernel, dilation)]
    sides = tuple(side(draw, e, max(e, max_side), of=nd) for e in eff)
    params = {"stride": stride, "dilation": dilation, "padding": _padding(draw, nd)}
    return kernel, sides, params


def _conv2d(draw, rng) -> Structure:
    """The seed's conv2d: strides and dilations 1..2, VALID / SAME / explicit padding."""
    n, c, o = batch_size(draw), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = choice(draw, ["VALID", "SAME", "explicit"])
    if padding == "explicit":
        padding = [[draw(st.integers(0, 2)), draw(st.integers(0, 2))] for _ in range(2)]
    # the input must hold at least one dilated kernel window
    h = side(draw, (kh - 1) * dilation[0] + 1, (kh - 1) * dilation[0] + 6, of=2)
    w = side(draw, (kw - 1) * dilation[1] + 1, (kw - 1) * dilation[1] + 6, of=2)
    params = {"stride": stride, "dilation": dilation, "padding": padding}
    return Structure({"x": (n, h, w, c), "w": (kh, kw, c, o)}, params)


def _channels(draw, max_channels: int, grouped: bool) -> tuple[int, int, int]:
    """groups (1 first, the ungrouped op), and input and output channels that are multiples of it,
    each at most ``max_channels``; with groups 1 the draws of the ungrouped structure."""
    groups = draw(st.integers(1, max_channels)) if grouped else 1
    per = max_channels // groups
    return groups, groups * draw(st.integers(1, per)), groups * draw(st.integers(1, per))


def _conv(nd: int, max_kernel: int = 3, max_side: int = 6, max_channels: int = 4, grouped: bool = False):
    def structure(draw, rng) -> Structure:
        n = batch_size(draw)
        groups, c, o = _channels(draw, max_channels, grouped)
        kernel, sides, params = _window_params(draw, nd, max_kernel, 2 if nd == 3 else 3, max_side)
        if grouped:
            params["groups"] = groups
        return Structure({"x": (n, *sides, c), "w": (*kernel, c // groups, o)}, params)

    return structure


def _grouped(draw, rng) -> Structure:
    groups = draw(st.integers(2, 4))
    cg = draw(st.integers(1, 4 // groups))
    og = draw(st.integers(1, 4 // groups))
    n = batch_size(draw)
    kernel, sides, params = _window_params(draw, 2, 3, 2, 6)
    params["groups"] = groups
    return Structure({"x": (n, *sides, groups * cg), "w": (*kernel, cg, groups * og)}, params)


def _depthwise(draw, rng) -> Structure:
    n, c, m = batch_size(draw), draw(st.integers(1, 4)), draw(st.integers(1, 2))
    kernel, sides, params = _window_params(draw, 2, 3, 2, 6)
    return Structure({"x": (n, *sides, c), "w": (*kernel, c, m)}, params)


def _transpose(draw, rng) -> Structure:
    n = batch_size(draw)
    groups, c, o = _channels(draw, 4, grouped=True)
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(2))
    stride = tuple(draw(st.integers(1, 2)) for _ in range(2))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(2))
    output_padding = tuple(draw(st.integers(0, s - 1)) for s in stride)
    sides = tuple(side(draw, 1, 4, of=2) for _ in range(2))
    padding = choice(draw, ["VALID", "SAME", "explicit"])
    if padding == "explicit":
        padding = []
        for k, d, s, q, m in zip(kernel, dilation, stride, output_padding, sides):
            eff = (k - 1) * d + 1
            # pads up to the dilated kernel's reach (beyond it the output would be cut), and an
            # output of at least one element: (m - 1) * s + eff - before - after + q >= 1
            before = draw(st.integers(0, min(2, eff - 1)))
            after = draw(st.integers(0, min(2, eff - 1, (m - 1) * s + eff - before + q - 1)))
            padding.append([before, after])
    params = {"stride": stride, "dilation": dilation, "padding": padding, "output_padding": output_padding,
              "groups": groups}
    return Structure({"x": (n, *sides, c), "w": (*kernel, o // groups, c)}, params)


def _tapless_window(sides, window, stride, dilation, padding, ceil_mode) -> bool:
    """Whether some window's taps all fall in the padding (dilated windows can skip a small input,
    under SAME or explicit pads): its max would be -inf and its real-element average 0 / 0."""
    if 0 in sides:
        return False
    return bool(np.min(pool.pool_divisor(sides, window, stride, dilation, padding, ceil_mode)) == 0)


def _pool(average: bool):
    """Pooling structures: window, stride and dilation (1..2; the first value, 1, is the old
    behaviour), padding VALID / SAME / explicit symmetric pads of at most half the kernel (torch's
    limit, so that torch pads natively and its ceil_mode sees the same pads), ceil_mode (True
    only where it can change the output: not under SAME), and for the average count_include_pad
    and divisor_override. Dilation falls back to 1 where a dilated window would read only padding."""

    def structure(draw, rng) -> Structure:
        n, c = batch_size(draw), draw(st.integers(1, 3))
        window = tuple(draw(st.integers(1, 3)) for _ in range(2))
        stride = tuple(draw(st.integers(1, 3)) for _ in range(2))
        dilation = tuple(draw(st.integers(1, 2)) for _ in range(2))
        padding = choice(draw, ["VALID", "SAME", "explicit"])
        if padding == "explicit":
            padding = [[p, p] for p in (draw(st.integers(0, k // 2)) for k in window)]
        # drawn under SAME too, where it changes nothing (reference/pool.py) and is left False: a
        # branch that skipped the draw would make SAME's examples shorter, so shrinking would end there
        ceil_mode = choice(draw, [False, True]) and padding != "SAME"
        eff = [(k - 1) * d + 1 for k, d in zip(window, dilation)]
        pads = padding if isinstance(padding, list) else [[0, 0]] * 2
        # the (padded) input holds one window; SAME needs no element (it pads up to one window)
        lows = [1 if padding == "SAME" else max(1, e - b - a) for e, (b, a) in zip(eff, pads)]
        sides = tuple(side(draw, lo, max(lo, 6), of=2) for lo in lows)
        if dilation != (1, 1) and _tapless_window(sides, window, stride, dilation, padding, ceil_mode):
            dilation = (1, 1)  # no window may read padding only (-inf / 0-of-0); undilated, none does
        params = {"window": window, "stride": stride, "padding": padding, "dilation": dilation, "ceil_mode": ceil_mode}
        if average:
            params["count_include_pad"] = choice(draw, [False, True])
            params["divisor_override"] = choice(draw, [None, 1, 3])
        return Structure({"x": (n, *sides, c)}, params)

    return structure


def _with_bias(structure, out_channels):
    """The structure of the bias variant: the same draw plus a bias of the output channels."""

    def biased(draw, rng) -> Structure:
        s = structure(draw, rng)
        s.shapes["bias"] = (out_channels(s.shapes["w"], s.params.get("groups", 1)),)
        return s

    return biased


def _max_pool_avoid(values, params, dtype):
    """Distinct values in every (n, c) plane: no window can hold a tie."""
    return {**values, "x": distinct_along(values["x"], (1, 2), kink_margin(dtype))}


MAX_POOL_TIE = Kink(
    "tie",
    "dz of a window may go to any convex combination of its tied maxima (frameworks route it to one)",
    inputs={"x": np.ones((1, 2, 2, 1))},
    params={"window": (2, 2), "stride": (2, 2), "padding": "VALID"},
    at={"x": [[0, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 1, 1, 0]]},
)

CONV_FORMULA = "dw = windows of x correlated with dz;  dx = dz scattered back through w"

BASE = [
    _spec("conv2d", (X, W), _conv2d,
          "dw = conv2d(x, dz) (windows of x correlated with dz);  dx = dz scattered back through w",
          params=CONV_PARAMS, notes="NHWC input, HWIO filter; SAME padding is TensorFlow's (extra element after).",
          seed=True),
    _spec(
        name="conv1d",
        inputs=(X, W),
        structure=_conv(1, grouped=True),
        formula=CONV_FORMULA + "  (1-D; within each group)",
        params=(*CONV_PARAMS, "groups"),
        notes="NWC input, WIO filter (W, C // groups, O), grouped as grouped_conv2d. " + PADDING_NOTE,
    ),
    _spec(
        name="conv3d",
        inputs=(X, W),
        structure=_conv(3, max_kernel=2, max_side=4, max_channels=3, grouped=True),
        formula=CONV_FORMULA + "  (3-D; within each group)",
        params=(*CONV_PARAMS, "groups"),
        notes="NDHWC input, DHWIO filter (D, H, W, C // groups, O), grouped as grouped_conv2d. " + PADDING_NOTE,
    ),
    _spec(
        name="grouped_conv2d",
        inputs=(X, W),
        structure=_grouped,
        formula=CONV_FORMULA + ", within each group",
        params=(*CONV_PARAMS, "groups"),
        notes=(
            "NHWC input with C = groups * Cg channels, filter (kh, kw, Cg, O), O = groups * Og; output "
            "channels g*Og .. g*Og + Og - 1 see input channels g*Cg .. g*Cg + Cg - 1 (torch's and "
            "XLA's feature_group_count grouping). " + PADDING_NOTE
        ),
    ),
    _spec(
        name="depthwise_conv2d",
        inputs=(X, W),
        structure=_depthwise,
        formula="dw[k, c, m] = windows of x[..., c] correlated with dz[..., c*M + m];  "
        "dx[..., c] = sum_m dz[..., c*M + m] scattered back through w[k, c, m]",
        params=CONV_PARAMS,
        notes=(
            "tf.nn.depthwise_conv2d's layout: NHWC input, filter (kh, kw, C, M) with channel multiplier "
            "M; output channel c*M + m is channel c correlated with w[:, :, c, m]. Equals grouped "
            "convolution with groups = C and the filter reshaped to (kh, kw, 1, C*M). " + PADDING_NOTE
        ),
    ),
    _spec(
        name="conv2d_transpose",
        inputs=(X, W),
        structure=_transpose,
        formula="dx = conv2d(dz, w) (the forward convolution);  dw = conv2d's filter gradient with input dz "
        "and cotangent x",
        params=(*CONV_PARAMS, "output_padding", "groups"),
        # no large: the output is stride^2 times the input, so a large input makes a huge oracle case;
        # its large side is its cotangent's in the tails regime's 129 x stride
        regimes=("small", "tails", "batch", "empty"),
        notes=(
            "The adjoint of conv2d w.r.t. its input (tf.nn.conv2d_transpose, torch conv_transpose2d). "
            "x is (N, H, W, C), w is (kh, kw, O, C) (tf's layout: the HWIO filter of the conv2d that maps "
            "the O-channel output back to x). Output size per dim, with eff = (k - 1) * dilation + 1 "
            "and 0 <= output_padding < stride: explicit [before, after] / VALID: "
            "(in - 1) * stride + eff - before - after + output_padding (torch's rule, with asymmetric "
            "padding allowed); SAME: (in - 1) * stride + 1 + output_padding, padded by TensorFlow's SAME "
            "rule on that output size (output_padding = stride - 1 gives tf's default in * stride). "
            "Explicit pads stay within the dilated kernel's reach (<= eff - 1). With groups, w is "
            "(kh, kw, O // groups, C), the grouped conv2d's filter: output channel g*Og + p sees input "
            "channels g*Cg .. g*Cg + Cg - 1 (torch conv_transpose2d(groups), weight (C, Og, kh, kw))."
        ),
    ),
    _pool_spec(
        name="max_pool2d",
        # no large: accuracy cases keep every (n, c) plane's values distinct (no tie in any window), and
        # float16 has too few values for a plane of 64k of them
        regimes=("small", "tails", "batch", "empty"),
        inputs=(X,),
        structure=_pool(average=False),
        formula="dx = dz routed to the maximum of each window (summed where windows overlap)",
        params=("window", "stride", "padding", "dilation", "ceil_mode"),
        kinks=(MAX_POOL_TIE,),
        avoid=_max_pool_avoid,
        notes=(
            "NHWC; window (kh, kw), stride (sh, sw), dilation (dh, dw), padding VALID, SAME (TensorFlow's "
            "rule) or explicit symmetric [[p, p], [q, q]] with p <= kh // 2 (torch's limit); padded "
            "positions are -inf and never chosen. ceil_mode is torch's (reference/pool.py states the "
            "rule: a last window must start inside the input or the left padding). Accuracy cases keep "
            "values distinct within each (n, c) plane so no window holds a tie."
        ),
    ),
    _pool_spec(
        name="avg_pool2d",
        inputs=(X,),
        structure=_pool(average=True),
        formula="dx = sum over the windows holding x of dz / count(window)",
        params=("window", "stride", "padding", "dilation", "ceil_mode", "count_include_pad", "divisor_override"),
        notes=(
            "NHWC; window (kh, kw), stride (sh, sw), dilation (dh, dw), padding VALID, SAME (TensorFlow's "
            "rule) or explicit symmetric pads (at most half the kernel), ceil_mode as for max_pool2d. "
            "Each window's divisor: the number of unpadded elements in it (count_include_pad=False, the "
            "first value: TensorFlow's SAME average), the taps within the padded extent "
            "(count_include_pad=True, torch's default) or divisor_override. torch's avg_pool2d has no "
            "dilation: its mapping composes the dilated case (a depthwise conv2d with a ones filter)."
        ),
    ),
]


CONV2D_BIAS = _spec(
    name="conv2d_bias",
    inputs=(X, W, BIAS),
    structure=_with_bias(_conv(2), lambda w, g: w[-1]),
    formula=CONV_FORMULA + ";  dbias = dz summed over batch and spatial positions",
    params=CONV_PARAMS,
    notes="The seed's conv2d (NHWC / HWIO) plus bias[o] on output channel o. " + PADDING_NOTE,
)


def _bias_variant(spec: OpSpec, out_channels) -> OpSpec:
    return replace(
        spec,
        name=spec.name + "_bias",
        inputs=(*spec.inputs, BIAS),
        structure=_with_bias(spec.structure, out_channels),
        reference=getattr(conv, spec.name + "_bias"),
        reference_vjp=getattr(conv, spec.name + "_bias_vjp"),
        formula=spec.formula + ";  dbias = dz summed over batch and spatial positions",
        notes=f"{spec.name} plus bias[o] on output channel o. " + spec.notes,
    )


_BY_NAME = {spec.name: spec for spec in BASE}
BIASED = [
    CONV2D_BIAS,
    _bias_variant(_BY_NAME["conv1d"], lambda w, g: w[-1]),
    _bias_variant(_BY_NAME["conv3d"], lambda w, g: w[-1]),
    _bias_variant(_BY_NAME["grouped_conv2d"], lambda w, g: w[-1]),
    _bias_variant(_BY_NAME["depthwise_conv2d"], lambda w, g: w[-2] * w[-1]),
    _bias_variant(_BY_NAME["conv2d_transpose"], lambda w, g: w[-2] * g),
]

OPS = [*BASE, *BIASED]
