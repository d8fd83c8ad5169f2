"""The seed's four ops: sigmoid, softmax, matmul, conv2d."""

from __future__ import annotations

from hypothesis import strategies as st

from conformance.opspec import InputSpec, OpSpec
from conformance.strategies import Structure, axis, choice, shape, signature_shapes
from reference import activations, conv, linalg, softmax

X = InputSpec("x")


def _sigmoid(draw, rng) -> Structure:
    return Structure({"x": shape(draw)})


def _softmax(draw, rng) -> Structure:
    s = shape(draw)
    return Structure({"x": s}, {"axis": axis(draw, len(s))})


def _matmul(draw, rng) -> Structure:
    x, y = signature_shapes(draw, "(m,k),(k,n)->(m,n)")
    return Structure({"x": x, "y": y})


def _conv2d(draw, rng) -> Structure:
    n, c, o = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = choice(draw, ["VALID", "SAME", "explicit"])
    if padding == "explicit":
        padding = [[draw(st.integers(0, 2)), draw(st.integers(0, 2))] for _ in range(2)]
    # the input must hold at least one dilated kernel window
    h = draw(st.integers((kh - 1) * dilation[0] + 1, (kh - 1) * dilation[0] + 6))
    w = draw(st.integers((kw - 1) * dilation[1] + 1, (kw - 1) * dilation[1] + 6))
    params = {"stride": stride, "dilation": dilation, "padding": padding}
    return Structure({"x": (n, h, w, c), "w": (kh, kw, c, o)}, params)


OPS = [
    OpSpec(
        name="sigmoid",
        family="activation",
        inputs=(X,),
        structure=_sigmoid,
        reference=activations.sigmoid,
        reference_vjp=activations.sigmoid_vjp,
        formula="dx = dz * s * (1 - s),  s = sigmoid(x)",
    ),
    OpSpec(
        name="softmax",
        family="softmax",
        inputs=(X,),
        structure=_softmax,
        reference=softmax.softmax,
        reference_vjp=softmax.softmax_vjp,
        formula="dx = s * (dz - s.dz),  s = softmax(x, axis), s.dz summed along axis",
        params=("axis",),
    ),
    OpSpec(
        name="matmul",
        family="linalg",
        inputs=(X, InputSpec("y")),
        structure=_matmul,
        reference=linalg.matmul,
        reference_vjp=linalg.matmul_vjp,
        formula="dx = dz @ y^T,  dy = x^T @ dz  (summed over broadcast batch dims)",
    ),
    OpSpec(
        name="conv2d",
        family="conv",
        inputs=(X, InputSpec("w")),
        structure=_conv2d,
        reference=conv.conv2d,
        reference_vjp=conv.conv2d_vjp,
        formula="dw = conv2d(x, dz) (windows of x correlated with dz);  dx = dz scattered back through w",
        params=("stride", "dilation", "padding"),
        notes="NHWC input, HWIO filter; SAME padding is TensorFlow's (extra element after).",
    ),
]
