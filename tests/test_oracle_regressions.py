"""Minimal inputs on which the oracle was once wrong or raised, checked against the truth worked
out by hand (never against the oracle itself)."""

from __future__ import annotations

import numpy as np
import pytest

from reference import shape as S


def test_take_along_axis_vjp_counts_negative_indices_from_the_end() -> None:
    # x = [1, 2, 3], indices = [-1]: z = [3], so dz = [1] lands on x[2]; the oracle once gave [0, 0, 0]
    g = S.take_along_axis_vjp(np.array([1.0, 2.0, 3.0]), np.array([-1]), np.array([1.0]), axis=0)["x"]
    assert g.value.tolist() == [0.0, 0.0, 1.0]
    assert g.magnitude.tolist() == [0.0, 0.0, 1.0]


def test_gather_vjp_scatters_negative_and_repeated_indices() -> None:
    # take(x, [-1, 0, 2], axis 1) on a (2, 3) x: columns 2, 0 and 2 again
    x = np.zeros((2, 3))
    dz = np.array([[1.0, 2.0, 4.0], [8.0, 16.0, 32.0]])
    g = S.gather_vjp(x, np.array([-1, 0, 2]), dz, axis=1)["x"]
    assert g.value.tolist() == [[2.0, 0.0, 5.0], [16.0, 0.0, 40.0]]
    assert g.terms == 2  # column 2 receives two contributions
    assert np.array_equal(S.gather(np.arange(6.0).reshape(2, 3), np.array([-1]), 1), [[2.0], [5.0]])


def test_out_of_range_indices_are_refused_with_the_range() -> None:
    with pytest.raises(IndexError, match="axis of length 3"):
        S.gather_vjp(np.zeros(3), np.array([3]), np.ones(1), axis=0)
    with pytest.raises(IndexError, match="axis of length 3"):
        S.take_along_axis_vjp(np.zeros(3), np.array([-4]), np.ones(1), axis=0)


# ---------------------------------------------------------------------------------------------
# empty (size-0) and 0-d inputs, and 1-D matmul operands (issue 16): each input once made the
# oracle raise or answer with the wrong shape. Truths are closed forms: an empty sum is 0, an
# empty product 1, the reduction of one element is that element, and so on.

def _op(name: str):
    from conformance.registry import get_op

    return get_op(name)


def _both(name: str, inputs: dict, params: dict, dz: np.ndarray | None = None):
    """The op's forward and its VJP (dz: ones of the output's shape unless given)."""
    spec = _op(name)
    with np.errstate(all="ignore"):
        z = np.asarray(spec.reference(**inputs, **params))
    grads = spec.reference_vjp(**inputs, dz=np.ones(z.shape) if dz is None else dz, **params)
    for n, g in grads.items():
        assert g.value.shape == np.shape(inputs[n]) == g.magnitude.shape, (name, n, g.value.shape)
        assert g.terms >= 1, (name, n, g.terms)
    return z, grads


@pytest.mark.parametrize("shape", [(0, 0), (2, 0, 0)])
def test_inverse_and_determinants_of_0x0_matrices(shape) -> None:
    x = np.zeros(shape)
    batch = shape[:-2]
    z, g = _both("inv", {"x": x}, {})
    assert z.shape == shape and g["x"].value.shape == shape
    z, g = _both("det", {"x": x}, {})
    assert z.shape == batch and np.all(z == 1.0)  # the empty product
    z, g = _both("slogdet", {"x": x}, {})
    assert z.shape == batch and np.all(z == 0.0)  # log 1


@pytest.mark.parametrize(("a", "b"), [((0, 0), (0, 2)), ((0, 0), (0, 0)), ((2, 0, 0), (2, 0, 1)),
                                      ((0, 3, 3), (0, 3, 2))])
def test_solve_with_no_unknowns(a, b) -> None:
    z, g = _both("solve", {"a": np.zeros(a), "b": np.zeros(b)}, {})
    assert z.shape == b


def test_solve_with_no_right_hand_sides_has_zero_matrix_gradient() -> None:
    a = np.array([[2.0, 0.5, 0.0], [0.0, 1.0, 0.25], [0.1, 0.0, 3.0]])
    z, g = _both("solve", {"a": a, "b": np.zeros((3, 0))}, {})
    assert z.shape == (3, 0)
    assert np.array_equal(g["a"].value, np.zeros((3, 3)))  # da = -db z^T, a sum over no columns


def test_reductions_over_an_empty_axis_take_the_identity() -> None:
    x = np.zeros((2, 0))
    for name, want in (("sum", 0.0), ("prod", 1.0), ("logsumexp", -np.inf), ("l2_norm", 0.0)):
        for keep, shape in ((False, (2,)), (True, (2, 1))):
            z, g = _both(name, {"x": x}, {"axis": 1, "keepdims": keep})
            assert z.shape == shape and np.all(z == want), (name, keep, z)
            assert g["x"].value.shape == (2, 0)
    for name in ("mean", "var", "std"):
        extra = {} if name == "mean" else {"ddof": 0}
        z, g = _both(name, {"x": x}, {"axis": 1, "keepdims": False, **extra})
        assert z.shape == (2,) and np.all(np.isnan(z)), name  # 0 / 0
    z, _ = _both("prod", {"x": np.zeros((0, 3))}, {"axis": 1, "keepdims": True})
    assert z.shape == (0, 1)
    z, _ = _both("logsumexp", {"x": np.zeros((0,))}, {"axis": None, "keepdims": False})
    assert z.shape == () and z == -np.inf


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_and_min_of_an_empty_axis_are_refused(name) -> None:
    with pytest.raises(ValueError, match="torch and JAX raise"):
        _op(name).reference(x=np.zeros((2, 0)), axis=1, keepdims=False)
    with pytest.raises(ValueError, match="empty group"):
        _op(name).reference_vjp(x=np.zeros((2, 0)), dz=np.ones(2), axis=1, keepdims=False)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_over_an_empty_axis_is_empty(name) -> None:
    for shape, axis in (((2, 0), -1), ((0,), 0)):
        z, g = _both(name, {"x": np.zeros(shape)}, {"axis": axis})
        assert z.shape == shape and g["x"].value.shape == shape


@pytest.mark.parametrize("name", ["var", "std"])
def test_var_and_std_with_as_many_elements_as_ddof_are_nan(name) -> None:
    # v = sum (x - mean)^2 / (N - ddof) = 0 / 0 at N = ddof = 1: undefined, and so is its gradient
    x = np.array([[1.5], [-2.0]])
    z, g = _both(name, {"x": x}, {"axis": 1, "keepdims": False, "ddof": 1})
    assert z.shape == (2,) and np.all(np.isnan(z))
    assert np.all(np.isnan(g["x"].value))
    z, g = _both(name, {"x": np.array(0.5)}, {"axis": None, "keepdims": False, "ddof": 1})
    assert np.isnan(z) and np.isnan(g["x"].value)


# every convolution and pooling op with a batch of 0: the output is empty, dx is empty, and the
# filter and bias gradients are sums over no position: exactly 0
G1 = {"stride": (1,), "dilation": (1,), "padding": "VALID"}
G2 = {"stride": (1, 1), "dilation": (1, 1), "padding": "VALID"}
G3 = {"stride": (1, 1, 1), "dilation": (1, 1, 1), "padding": "VALID"}
BATCH_0 = [
    ("conv1d", (0, 4, 2), (2, 2, 3), G1, (0, 3, 3)),
    ("conv2d", (0, 4, 4, 2), (2, 2, 2, 3), G2, (0, 3, 3, 3)),
    ("conv2d", (0, 4, 4, 2), (2, 2, 2, 3), {**G2, "padding": "SAME"}, (0, 4, 4, 3)),
    ("conv3d", (0, 3, 3, 3, 2), (2, 2, 2, 2, 3), G3, (0, 2, 2, 2, 3)),
    ("grouped_conv2d", (0, 4, 4, 4), (2, 2, 2, 4), {**G2, "groups": 2}, (0, 3, 3, 4)),
    ("depthwise_conv2d", (0, 4, 4, 2), (2, 2, 2, 3), G2, (0, 3, 3, 6)),
    ("conv2d_transpose", (0, 3, 3, 2), (2, 2, 4, 2), {**G2, "output_padding": (0, 0)}, (0, 4, 4, 4)),
]


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize(("name", "xs", "ws", "params", "zs"), BATCH_0,
                         ids=[f"{c[0]}-{c[3]['padding']}" for c in BATCH_0])
def test_convolutions_of_an_empty_batch(name, xs, ws, params, zs, bias) -> None:
    inputs = {"x": np.zeros(xs), "w": np.ones(ws)}
    if bias:
        name, inputs["bias"] = name + "_bias", np.ones(zs[-1])
    z, g = _both(name, inputs, params)
    assert z.shape == zs
    assert np.array_equal(g["w"].value, np.zeros(ws))
    if bias:
        assert np.array_equal(g["bias"].value, np.zeros(zs[-1]))


@pytest.mark.parametrize("name", ["max_pool2d", "avg_pool2d"])
@pytest.mark.parametrize(("xs", "padding", "zs"), [
    ((0, 4, 4, 2), "VALID", (0, 2, 2, 2)), ((0, 5, 5, 2), "SAME", (0, 3, 3, 2)),  # a batch of 0
    ((2, 4, 4, 0), "VALID", (2, 2, 2, 0)),  # zero channels
    ((2, 0, 4, 2), "SAME", (2, 0, 2, 2)),  # a side of 0: no output position along it
])
def test_pooling_of_empty_inputs(name, xs, padding, zs) -> None:
    z, g = _both(name, {"x": np.zeros(xs)}, {"window": (2, 2), "stride": (2, 2), "padding": padding})
    assert z.shape == zs


def test_convolution_of_zero_channels_is_the_bias() -> None:
    # z = sum over no input channel = 0, plus the bias; dbias = dz summed over batch and positions
    dz = np.arange(54.0).reshape(2, 3, 3, 3)
    bias = np.array([0.5, -1.0, 2.0])
    z, g = _both("conv2d_bias", {"x": np.zeros((2, 4, 4, 0)), "w": np.zeros((2, 2, 0, 3)), "bias": bias}, G2, dz)
    assert np.array_equal(z, np.broadcast_to(bias, (2, 3, 3, 3)))
    assert np.array_equal(g["bias"].value, dz.sum(axis=(0, 1, 2)))


@pytest.mark.parametrize(("name", "ws", "params"), [
    ("conv2d", (2, 2, 2, 0), G2), ("depthwise_conv2d", (2, 2, 2, 0), G2),
    ("grouped_conv2d", (2, 2, 1, 0), {**G2, "groups": 2}),
])
def test_convolution_to_zero_output_channels_feeds_back_zeros(name, ws, params) -> None:
    z, g = _both(name, {"x": np.ones((2, 4, 4, 2)), "w": np.zeros(ws)}, params)
    assert z.shape == (2, 3, 3, 0)
    assert np.array_equal(g["x"].value, np.zeros((2, 4, 4, 2)))


def test_depthwise_convolution_of_zero_channels() -> None:
    # groups = C = 0: TensorFlow computes the empty convolution; the oracle does too
    z, g = _both("depthwise_conv2d", {"x": np.zeros((2, 4, 4, 0)), "w": np.zeros((2, 2, 0, 2))}, G2)
    assert z.shape == (2, 3, 3, 0)


X0 = 1.25  # a 0-d input; reducing it over axis 0 or -1 reduces one element (torch's rule)


@pytest.mark.parametrize(("name", "value", "derivative"), [
    ("sum", X0, 1.0), ("mean", X0, 1.0), ("prod", X0, 1.0), ("max", X0, 1.0), ("min", X0, 1.0),
    ("logsumexp", X0, 1.0), ("l2_norm", abs(X0), 1.0),
])
@pytest.mark.parametrize("axis", [0, -1, (0,), (-1,), None])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_of_a_0d_input_reduce_one_element(name, value, derivative, axis, keepdims) -> None:
    z, g = _both(name, {"x": np.array(X0)}, {"axis": axis, "keepdims": keepdims}, np.array(0.75))
    assert z.shape == () and z == value
    assert g["x"].value.shape == () and g["x"].value == 0.75 * derivative


@pytest.mark.parametrize("name", ["var", "std"])
@pytest.mark.parametrize("axis", [0, -1, None])
def test_var_and_std_of_a_0d_input(name, axis) -> None:
    # one element: var = std = 0 with ddof 0 (std's gradient is then 0: std is the constant 0),
    # 0 / 0 with ddof 1
    z, g = _both(name, {"x": np.array(X0)}, {"axis": axis, "keepdims": False, "ddof": 0})
    assert z.shape == () and z == 0.0 and g["x"].value == 0.0
    z, g = _both(name, {"x": np.array(X0)}, {"axis": axis, "keepdims": True, "ddof": 1})
    assert z.shape == () and np.isnan(z) and np.isnan(g["x"].value)


def test_a_0d_input_has_no_other_axis() -> None:
    for axis in (1, -2, (0, -1)):
        with pytest.raises(ValueError, match="0-d input"):
            _op("sum").reference(x=np.array(X0), axis=axis, keepdims=False)
    with pytest.raises(ValueError, match="out of range"):
        _op("sum").reference(x=np.zeros((2, 3)), axis=2, keepdims=False)


@pytest.mark.parametrize("axis", [0, -1])
def test_softmax_of_a_0d_input(axis) -> None:
    # softmax of one element is 1 and log_softmax 0, whatever x: both gradients are 0
    z, g = _both("softmax", {"x": np.array(X0)}, {"axis": axis}, np.array(0.75))
    assert z.shape == () and z == 1.0 and g["x"].value == 0.0
    z, g = _both("log_softmax", {"x": np.array(X0)}, {"axis": axis}, np.array(0.75))
    assert z.shape == () and z == 0.0 and g["x"].value == 0.0


@pytest.mark.parametrize(("name", "params"), [
    ("sort", {}), ("cumsum", {"reverse": False}), ("cumsum", {"reverse": True}), ("cumprod", {}),
])
@pytest.mark.parametrize("axis", [0, -1])
def test_scans_and_sort_of_a_0d_input_are_the_identity(name, params, axis) -> None:
    z, g = _both(name, {"x": np.array(X0)}, {"axis": axis, **params}, np.array(0.75))
    assert z.shape == () and z == X0  # cumsum once answered shape (1,)
    assert g["x"].value.shape == () and g["x"].value == 0.75


@pytest.mark.parametrize("axes", [[0], [-1], []])
def test_flip_of_a_0d_input_is_the_identity(axes) -> None:
    z, g = _both("flip", {"x": np.array(X0)}, {"axes": axes}, np.array(0.75))
    assert z.shape == () and z == X0 and g["x"].value == 0.75


def test_roll_and_gather_of_a_0d_input_are_refused() -> None:
    with pytest.raises(ValueError, match="refuse"):
        _op("roll").reference(x=np.array(X0), shift=1, axis=0)
    with pytest.raises(ValueError, match="0-d x"):
        S.gather(np.array(X0), np.array(0), axis=0)
    with pytest.raises(ValueError, match="0-d x"):
        S.gather_vjp(np.array(X0), np.array(0), np.array(1.0), axis=0)


def test_gather_with_a_0d_index_and_take_along_axis_of_a_0d_x() -> None:
    z, g = _both("gather", {"x": np.array([1.0, 2.0, 3.0]), "indices": np.array(-1)}, {"axis": 0}, np.array(0.75))
    assert z.shape == () and z == 3.0 and g["x"].value.tolist() == [0.0, 0.0, 0.75]
    z, g = _both("take_along_axis", {"x": np.array(X0), "indices": np.array(0)}, {"axis": -1}, np.array(0.75))
    assert z.shape == () and z == X0 and g["x"].value == 0.75


def test_pad_reflect_of_an_empty_axis() -> None:
    z, g = _both("pad_reflect", {"x": np.zeros((2, 0))}, {"paddings": [[0, 0], [0, 0]]})
    assert z.shape == (2, 0)
    z, g = _both("pad_reflect", {"x": np.zeros((3, 0))}, {"paddings": [[1, 1], [0, 0]]})
    assert z.shape == (5, 0)
    with pytest.raises(ValueError, match="nothing to mirror"):
        S.pad_reflect(np.zeros((2, 0)), [[0, 0], [1, 0]])


def test_padding_a_0d_input_with_no_paddings_is_the_identity() -> None:
    for name, extra in (("pad_constant", {"value": 2.0}), ("pad_reflect", {})):
        z, g = _both(name, {"x": np.array(X0)}, {"paddings": [], **extra}, np.array(0.75))
        assert z.shape == () and z == X0 and g["x"].value == 0.75


def test_tile_of_a_0d_input_promotes_it() -> None:
    z, g = _both("tile", {"x": np.array(X0)}, {"reps": [2, 3]}, np.arange(6.0).reshape(2, 3))
    assert np.array_equal(z, np.full((2, 3), X0)) and g["x"].value == 15.0


MATMUL_1D = [((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((3,), (2, 3, 4)), ((2, 4, 3), (3,)), ((0,), (0,)),
             ((0,), (0, 2)), ((3,), (3, 0))]


@pytest.mark.parametrize(("xs", "ys"), MATMUL_1D)
def test_matmul_with_1d_operands(xs, ys) -> None:
    # NumPy's rule: a 1-D x is a row, a 1-D y a column, and that unit side is dropped from z.
    # The gradients, by hand: z = sum_k x_k y_k..., so dx and dy contract dz with the other operand
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal(xs), rng.standard_normal(ys)
    letters = {1: "k", 2: "ik", 3: "bik"}[len(xs)], {1: "k", 2: "kj", 3: "bkj"}[len(ys)]
    out = "".join(c for c in "bij" if c in letters[0] + letters[1] and c != "k")
    eq = f"{letters[0]},{letters[1]}->{out}"
    dz = rng.standard_normal(np.einsum(eq, x, y).shape)
    z, g = _both("matmul", {"x": x, "y": y}, {}, dz)
    assert z.shape == dz.shape
    assert np.allclose(z, np.einsum(eq, x, y), rtol=1e-14, atol=1e-14)
    assert np.allclose(g["x"].value, np.einsum(f"{out},{letters[1]}->{letters[0]}", dz, y), rtol=1e-13, atol=1e-14)
    assert np.allclose(g["y"].value, np.einsum(f"{out},{letters[0]}->{letters[1]}", dz, x), rtol=1e-13, atol=1e-14)


def test_attention_over_no_keys_is_zero() -> None:
    # every query's softmax over no key is empty: z = the empty sum of values = 0, and dq = 0
    q = np.ones((1, 2, 1, 3))
    for causal in (False, True):
        z, g = _both("scaled_dot_product_attention", {"q": q, "k": np.zeros((1, 0, 1, 3)), "v": np.zeros((1, 0, 1, 3))},
                     {"causal": causal, "scale": 0.5})
        assert np.array_equal(z, np.zeros((1, 2, 1, 3))) and np.array_equal(g["q"].value, np.zeros(q.shape))


def test_resize_to_a_side_of_0() -> None:
    z, g = _both("resize_bilinear", {"x": np.ones((2, 3, 3, 1))}, {"size": (0, 4)})
    assert z.shape == (2, 0, 4, 1) and np.array_equal(g["x"].value, np.zeros((2, 3, 3, 1)))
    with pytest.raises(ValueError, match="nothing to sample"):
        _op("resize_bilinear").reference(x=np.zeros((1, 0, 3, 1)), size=(2, 2))


def test_cross_entropy_over_no_classes_is_zero() -> None:
    z, g = _both("softmax_cross_entropy", {"logits": np.zeros((2, 0)), "labels": np.zeros((2, 0))}, {})
    assert z == 0.0  # -(1/B) sum over no class


def test_normalisation_of_an_empty_batch_has_zero_scale_gradients() -> None:
    # dgamma = sum of dz xhat and dbeta = sum of dz over no element: 0
    z, g = _both("batch_norm", {"x": np.zeros((0, 3)), "gamma": np.ones(3), "beta": np.zeros(3)}, {"eps": 1e-3})
    assert z.shape == (0, 3)
    assert np.array_equal(g["gamma"].value, np.zeros(3)) and np.array_equal(g["beta"].value, np.zeros(3))
    z, g = _both("group_norm", {"x": np.zeros((2, 0, 2)), "gamma": np.ones(2), "beta": np.zeros(2)},
                 {"groups": 1, "eps": 1e-3})
    assert np.array_equal(g["gamma"].value, np.zeros(2))
