"""The seed's four worked examples, with their exact inputs, against the oracle and (where
installed) each framework. TensorFlow 2.21 on CPU gives the numbers quoted in the seed issue."""

from __future__ import annotations

import numpy as np
import pytest

from conformance.adapters import BUILTIN, load
from conformance.registry import get_op
from reference.activations import sigmoid_vjp
from reference.conv import conv2d_vjp
from reference.linalg import matmul_vjp
from reference.reduction import softmax_vjp

X3 = np.array([3.0, 4.0, 5.0])
DZ3 = np.array([1.0, 2.0, 3.0])
XM = np.array([[3.0, 4.0], [5.0, 6.0]])
YM = np.array([[4.0, 5.0], [6.0, 7.0]])
DZM = np.array([[1.0, 2.0], [3.0, 4.0]])
XC = np.array([[3.0, 4, 5, 6], [4, 5, 6, 7], [5, 6, 7, 8], [6, 7, 8, 9]])
WC = np.array([[1.0, 2.0], [3.0, 4.0]])
DZC = np.array([[1.0, 1, 1], [2, 2, 2], [3, 3, 3]])

TF_SIGMOID = [0.04517666, 0.03532547, 0.0199441]
TF_SOFTMAX = [-0.14181706, -0.14077029, 0.28258762]
U32 = 2.0**-24


def assert_float32_result(printed, grad, digits=8):
    """A float32 framework result, printed to ``digits`` decimals, is within what float32
    rounding explains (a few u * magnitude, the oracle's own tolerance model) of the oracle."""
    err = np.abs(np.asarray(printed) - grad.value)
    allowed = 4 * U32 * grad.magnitude + 0.5 * 10.0**-digits
    assert np.all(err <= allowed), (err, allowed)


def test_sigmoid_example():
    g = sigmoid_vjp(X3, DZ3)["x"]
    assert_float32_result(TF_SIGMOID, g)  # TF computed in float32: s * (1 - s) loses bits of 1 - s
    dx = g.value
    s = 1 / (1 + np.exp(-X3))
    np.testing.assert_allclose(dx, DZ3 * s * (1 - s), rtol=1e-13)


def test_softmax_example():
    g = softmax_vjp(X3, DZ3)["x"]
    assert_float32_result(TF_SOFTMAX, g)
    dx = g.value
    assert abs(dx.sum()) < 1e-15  # softmax's VJP is orthogonal to the all-ones direction


def test_matmul_example():
    g = matmul_vjp(XM, YM, DZM)
    np.testing.assert_array_equal(g["x"].value, [[14, 20], [32, 46]])
    np.testing.assert_array_equal(g["y"].value, XM.T @ DZM)


def test_conv2d_example():
    g = conv2d_vjp(XC[None, :, :, None], WC[:, :, None, None], DZC[None, :, :, None])
    np.testing.assert_array_equal(g["w"].value[:, :, 0, 0], [[96, 114], [114, 132]])
    # the seed's solution: dw is the convolution of x with dz
    from reference.conv import conv2d

    np.testing.assert_array_equal(
        g["w"].value[:, :, 0, 0], conv2d(XC[None, :, :, None], DZC[:, :, None, None])[0, :, :, 0]
    )


CASES = {
    "sigmoid": ({"x": X3}, {}, DZ3, "x", TF_SIGMOID),
    "softmax": ({"x": X3}, {"axis": -1}, DZ3, "x", TF_SOFTMAX),
    "matmul": ({"x": XM, "y": YM}, {}, DZM, "x", [[14, 20], [32, 46]]),
    "conv2d": ({"x": XC[None, :, :, None], "w": WC[:, :, None, None]},
               {"stride": (1, 1), "dilation": (1, 1), "padding": "VALID"}, DZC[None, :, :, None], "w",
               [[[[96]], [[114]]], [[[114]], [[132]]]]),
}


@pytest.mark.parametrize("framework", list(BUILTIN))
@pytest.mark.parametrize("op", list(CASES))
def test_seed_example_through_framework(framework, op):
    av = load(BUILTIN[framework], framework, "builtin")
    if not av.available:
        pytest.skip(f"{framework} unavailable: {av.reason}")
    inputs, params, dz, wrt, want = CASES[op]
    got = av.adapter.vjp(get_op(op), {k: v.astype(np.float32) for k, v in inputs.items()}, params,
                         dz.astype(np.float32), dtype="float32", device="cpu")
    assert got[wrt].dtype == np.float32 and got[wrt].shape == inputs[wrt].shape
    ref = get_op(op).reference_vjp(**inputs, dz=dz, **params)[wrt]
    assert_float32_result(got[wrt].astype(np.float64), ref, digits=12)
    np.testing.assert_allclose(got[wrt], np.asarray(want).reshape(got[wrt].shape), rtol=1e-5)
