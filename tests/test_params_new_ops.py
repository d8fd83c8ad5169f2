"""The parameters of issue 16 that the catalogue did not draw, as new ops: vector_norm of order
``ord`` (2, 1, inf, -inf, 3, 0.5), diagonal and trace with an ``offset`` on non-square matrices,
and concat3 / stack3 (three inputs). As in tests/test_params.py: :data:`REACH` lists, per op and
parameter, the values its structure must draw (the first where shrinking ends), and :data:`CASES`
are fixed cases at each value where the oracle's gradient must agree with finite differences of
its own forward and satisfy the inner-product identity (the checks of tests/test_oracle_edges.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

from conformance.dtypes import get_dtype
from conformance.ops.reduction import HALF_ORDER_MAX_GROUP, VECTOR_ORDS
from conformance.registry import get_op
from conformance.strategies import cases, kink_margin
from reference import reduction as R
from tests import examples
from tests.test_oracle_edges import Edge, check_finite_differences, check_inner_product, check_well_formed

REACH: dict[tuple[str, str], tuple[Any, ...]] = {
    ("vector_norm", "ord"): VECTOR_ORDS,
    ("vector_norm", "keepdims"): (False, True),
    ("diagonal", "offset"): (0, 1, -1, 3, -3),
    ("trace", "offset"): (0, 2, -2, 4, -4),
    ("concat3", "axis"): (0, -1, 1, -2),
    ("stack3", "axis"): (0, -1, 1, -2),
    ("gather", "indices_from_end"): (False, True),
    ("take_along_axis", "indices_from_end"): (False, True),
}

FIND = settings(max_examples=2000, database=None, suppress_health_check=list(HealthCheck))


@pytest.mark.parametrize(("op", "param", "value"), [(op, p, v) for (op, p), vs in REACH.items() for v in vs],
                         ids=lambda v: repr(v))
def test_every_declared_value_is_drawn(op: str, param: str, value: Any) -> None:
    spec = get_op(op)
    assert param in spec.params, f"{op}: {param} is not a declared param"
    case = find(cases(spec, "float64"), lambda c: c.params[param] == value and type(c.params[param]) is type(value),
                settings=FIND)
    assert case.params[param] == value


def test_the_first_value_is_where_shrinking_ends() -> None:
    """The minimal example of each op (in the small regime, shrunk: the phases are named so that a
    profile without the shrink phase cannot hand back the first example generated instead)."""
    shrunk = settings(database=None, phases=[Phase.generate, Phase.shrink])
    for (op, param), values in REACH.items():
        case = find(cases(get_op(op), "float64", regime="small"), lambda c: True, settings=shrunk)
        assert case.params[param] == values[0], (op, param, case.params)


@pytest.mark.parametrize("op", ["diagonal", "trace"])
def test_non_square_matrices_are_drawn(op: str) -> None:
    """Wide and tall matrices, and an offset diagonal of each."""
    spec = get_op(op)
    for wanted in (lambda m, n, k: m < n and k > 0, lambda m, n, k: m > n and k < 0):
        case = find(cases(spec, "float64"),
                    lambda c, wanted=wanted: wanted(*c.inputs["x"].shape[-2:], c.params["offset"]), settings=FIND)
        m, n = case.inputs["x"].shape[-2:]
        assert -(m - 1) <= case.params["offset"] <= n - 1  # a non-empty diagonal


def test_three_inputs_of_distinct_lengths_are_concatenated() -> None:
    case = find(cases(get_op("concat3"), "float64"),
                lambda c: len({c.inputs[k].shape[c.params["axis"]] for k in ("x", "y", "w")}) == 3, settings=FIND)
    shapes = [case.inputs[k].shape for k in ("x", "y", "w")]
    ax = case.params["axis"] % len(shapes[0])
    assert all(s[:ax] + s[ax + 1:] == shapes[0][:ax] + shapes[0][ax + 1:] for s in shapes)


def _norm_cases() -> list[Edge]:
    x = np.array([[0.7, -1.9, 0.3, 2.6], [-1.2, 0.45, -3.1, 0.8], [2.2, -0.6, 1.4, -0.25]])
    out = []
    for order in VECTOR_ORDS:
        for axis, keep in ((1, False), (0, True), ((0, 1), False), (None, True), ((-1, 0), True)):
            out.append(Edge("vector_norm", f"ord={order},axis={axis},keep={keep}", {"x": x.shape},
                            {"ord": order, "axis": axis, "keepdims": keep}, {"x": x}))
        out.append(Edge("vector_norm", f"ord={order},0-d", {"x": ()}, {"ord": order, "axis": None, "keepdims": False},
                        {"x": np.array(-1.3)}))
    return out


def _diagonal_cases() -> list[Edge]:
    rng = np.random.default_rng(5)
    out = []
    for xs in ((3, 5), (5, 2), (2, 3, 4), (1, 4)):
        m, n = xs[-2:]
        for offset in sorted({0, 1 - m, n - 1, min(1, n - 1), max(-1, 1 - m)}):
            for op in ("diagonal", "trace"):
                out.append(Edge(op, f"{xs},offset={offset}", {"x": xs}, {"offset": offset},
                                {"x": rng.standard_normal(xs)}))
    return out


def _join_cases() -> list[Edge]:
    out = [Edge("concat3", f"axis={ax}", {"x": xs, "y": ys, "w": ws}, {"axis": ax})
           for xs, ys, ws, ax in (((2, 3), (1, 3), (4, 3), 0), ((2, 3), (2, 1), (2, 2), -1),
                                  ((2, 1, 3), (2, 4, 3), (2, 2, 3), 1))]
    out += [Edge("stack3", f"{xs},axis={ax}", {"x": xs, "y": xs, "w": xs}, {"axis": ax})
            for xs, ax in (((2, 3), 0), ((2, 3), -1), ((2, 3), 1), ((4,), -2), ((), 0))]
    return out


CASES = _norm_cases() + _diagonal_cases() + _join_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_oracle_at_each_value_matches_finite_differences(case: Edge) -> None:
    spec = get_op(case.op)
    check_well_formed(spec, case)
    check_finite_differences(spec, case)
    check_inner_product(spec, case)


def test_vector_norm_of_order_2_is_l2_norm() -> None:
    """The same forward and the same Grad (value, magnitude, terms, tiny) as l2_norm."""
    x = np.random.default_rng(1).standard_normal((3, 4))
    dz = np.random.default_rng(2).standard_normal((3,))
    assert np.array_equal(R.vector_norm(x, 2, 1), R.l2_norm(x, 1))
    a, b = R.vector_norm_vjp(x, dz, 2, 1)["x"], R.l2_norm_vjp(x, dz, 1)["x"]
    assert np.array_equal(a.value, b.value) and np.array_equal(a.magnitude, b.magnitude)
    assert a.terms == b.terms and np.array_equal(a.tiny, b.tiny)


def test_vector_norm_orders_agree_with_numpy() -> None:
    x = np.array([[0.5, -2.0, 1.5], [3.0, -0.25, -1.0]])
    for order in VECTOR_ORDS:
        p = float(order)
        assert np.allclose(R.vector_norm(x, order, 1), np.linalg.norm(x, ord=p, axis=1), rtol=1e-15, atol=0)
    assert np.array_equal(R.vector_norm(x, "inf", None), 3.0) and np.array_equal(R.vector_norm(x, "-inf", None), 0.25)


@pytest.mark.parametrize("order", [0, -1, -0.5, "nan"])
def test_vector_norm_refuses_orders_it_does_not_draw(order: Any) -> None:
    with pytest.raises(ValueError, match="not drawn"):
        R.vector_norm(np.ones(3), order)


def test_vector_norm_kinks_take_the_stated_subgradient() -> None:
    """At each declared kink the oracle gives what its description calls the natural choice: 0
    at the zero vector and at |x_i| = 0 (ord 1, ord -inf), an even split over ties (inf, -inf)."""
    spec = get_op("vector_norm")
    names = {k.name for k in spec.kinks}
    assert names == {"x=0", "x=0 (ord 3)", "x_i=0 (ord 1)", "tie (ord inf)", "tie (ord -inf)", "x_i=0 (ord -inf)"}
    for kink in spec.kinks:
        x = kink.inputs["x"]
        z = spec.reference(x, **kink.params)
        g = spec.reference_vjp(x, dz=np.ones(np.shape(z)), **kink.params)["x"].value
        at = tuple(np.array(kink.at["x"]).T)
        if kink.name.startswith("tie"):
            assert np.allclose(np.abs(g[at]), 0.5, rtol=0, atol=0), kink.name
            assert np.all(np.sign(g[at]) == np.sign(x[at]))
        else:
            assert np.all(g[at] == 0), kink.name


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
@settings(max_examples=examples(30), deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_vector_norm_values_keep_off_the_kinks_and_in_range(dtype: str, data: Any) -> None:
    """Every drawn case, as rounded to the test dtype: for ord 1 and 0.5 no |x_i| below the kink
    margin, for inf and -inf a unique extreme |x| with room (and, for -inf, not 0), for 2 and 3
    not the zero vector; for every finite order but 1 (whose gradient is sign(x)) sum |x|^p and the
    norm within the dtype's range, and for ord 0.5 at most HALF_ORDER_MAX_GROUP elements a group."""
    case = data.draw(cases(get_op("vector_norm"), dtype))
    x = case.oracle_inputs()["x"]
    if x.size == 0:
        return
    d = get_dtype(dtype)
    m = kink_margin(d) / 2  # rounding to the dtype may take off up to half an ulp of the pushed value
    p = float(case.params["ord"])
    axes = R.reduced_axes(case.params["axis"], x.ndim)
    a = np.moveaxis(np.abs(x), axes, tuple(range(x.ndim - len(axes), x.ndim)))
    a = a.reshape(*a.shape[: x.ndim - len(axes)], -1)
    if p in (1.0, 0.5):
        assert np.all(a >= m)
    elif np.isinf(p):
        s = np.sort(a if p > 0 else -a, axis=-1)
        if a.shape[-1] >= 2:
            assert np.all(s[..., -1] > s[..., -2])
        if p < 0:
            assert np.all(a.min(axis=-1) >= m)
    else:
        assert np.all(a.max(axis=-1) >= m)
    if np.isfinite(p) and p != 1:
        total = np.sum(a**p, axis=-1)
        assert np.all(total <= d.max) and np.all(total ** (1 / p) <= d.max)
    if p == 0.5:
        assert a.shape[-1] <= HALF_ORDER_MAX_GROUP


def test_trace_is_the_sum_of_the_offset_diagonal() -> None:
    x = np.arange(24.0).reshape(2, 3, 4)
    for offset in range(-2, 4):
        assert np.array_equal(get_op("trace").reference(x, offset=offset),
                              np.trace(x, offset=offset, axis1=-2, axis2=-1))
        assert np.array_equal(get_op("diagonal").reference(x, offset=offset),
                              np.diagonal(x, offset=offset, axis1=-2, axis2=-1))
    g = get_op("trace").reference_vjp(x, dz=np.array([1.0, 2.0]), offset=2)["x"].value
    assert np.array_equal(g[1], 2.0 * np.eye(3, 4, k=2)) and np.array_equal(g[0], np.eye(3, 4, k=2))


def test_concat3_and_stack3_split_the_cotangent() -> None:
    x, y, w = np.ones((2, 1)), np.ones((2, 2)), np.ones((2, 3))
    dz = np.arange(12.0).reshape(2, 6)
    g = get_op("concat3").reference_vjp(x, y, w, dz=dz, axis=1)
    assert [g[k].value.tolist() for k in ("x", "y", "w")] == [[[0.0], [6.0]], [[1.0, 2.0], [7.0, 8.0]],
                                                             [[3.0, 4.0, 5.0], [9.0, 10.0, 11.0]]]
    dz = np.arange(6.0).reshape(2, 3)
    g = get_op("stack3").reference_vjp(np.ones(2), np.ones(2), np.ones(2), dz=dz, axis=-1)
    assert [g[k].value.tolist() for k in ("x", "y", "w")] == [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]


def _negative_index_cases() -> list[Edge]:
    """Negative indices (drawn too: indices_from_end, see the module's closing note) at fixed cases: the oracle
    counts them from the end, as NumPy, JAX, torch's indexing and TensorFlow's numpy
    take_along_axis do."""
    gi = np.array([[-1, 0], [-3, -1]], dtype=np.int64)
    ti = np.array([[-1, 0, -1], [2, -3, -2]], dtype=np.int64)
    return [Edge("gather", "negative", {"x": (2, 3), "indices": gi.shape}, {"axis": 1}, {"indices": gi}),
            Edge("gather", "negative,axis=0", {"x": (3, 2), "indices": gi.shape}, {"axis": 0}, {"indices": gi}),
            Edge("take_along_axis", "negative", {"x": (2, 3), "indices": ti.shape}, {"axis": 1}, {"indices": ti})]


@pytest.mark.parametrize("case", _negative_index_cases(), ids=lambda c: c.id)
def test_negative_indices_count_from_the_end(case: Edge) -> None:
    """The gradient at negative indices is the gradient at the same indices wrapped into [0, n),
    and agrees with finite differences."""
    spec = get_op(case.op)
    check_well_formed(spec, case)
    check_finite_differences(spec, case)
    check_inner_product(spec, case)
    x = np.random.default_rng(0).standard_normal(case.shapes["x"])
    idx = case.values["indices"]
    wrapped = idx % x.shape[case.params["axis"]]
    dz = np.random.default_rng(1).standard_normal(np.shape(spec.reference(x, idx, **case.params)))
    assert np.array_equal(spec.reference(x, idx, **case.params), spec.reference(x, wrapped, **case.params))
    a = spec.reference_vjp(x, idx, dz=dz, **case.params)["x"]
    b = spec.reference_vjp(x, wrapped, dz=dz, **case.params)["x"]
    assert np.array_equal(a.value, b.value) and np.array_equal(a.magnitude, b.magnitude) and a.terms == b.terms

@pytest.mark.parametrize("op", ["gather", "take_along_axis"])
def test_indices_from_end_draws_negative_indices_in_range(op: str) -> None:
    """A case drawn with indices_from_end has at least one negative index, every index in
    [-n, n) (n the length of the axis), and the repeat along the axis still there; one drawn
    without has none below 0."""
    spec = get_op(op)
    for from_end in (True, False):
        case = find(cases(spec, "float64", regime="small"),
                    lambda c, f=from_end: c.params["indices_from_end"] is f and c.inputs["indices"].size >= 2,
                    settings=FIND)
        idx, n = case.inputs["indices"], case.inputs["x"].shape[case.params["axis"]]
        assert idx.min() >= -n and idx.max() < n
        assert bool(idx.min() < 0) is from_end, (from_end, idx)


# Negative indices are drawn (indices_from_end; False first, where shrinking ends). Where they are
# defined differs by framework and op: gather is torch advanced indexing (takes them), jnp.take
# (takes them) and tf.gather (refuses them on the CPU: InvalidArgumentError, a params-scoped claim
# in unsupported.toml, tf-gather-negative-indices); take_along_axis is torch.take_along_dim,
# jnp.take_along_axis and tf.experimental.numpy.take_along_axis (all take them; torch.gather
# itself refuses them). tests/test_claims.py checks the params-scoped claims.
