"""The op parameters of issue 16 (loss reductions, class weights, batch_norm's inference mode,
rms_norm's axes, softplus's beta and threshold, attention masks ...): each declared value is
drawn by the op's structure, and the oracle's gradient at each value agrees with finite
differences of its own forward on fixed cases (the checks of tests/test_oracle_edges.py).

:data:`REACH` lists, per op and parameter, the values (or kinds of value: ``"tuple"`` for a
tuple, ``None`` for absent) its structure must draw; the first is the current behaviour, where
shrinking ends. :data:`CASES` are fixed cases at each value, small enough for the full Jacobian.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, find, settings

from conformance.registry import get_op
from conformance.strategies import cases
from tests.test_oracle_edges import Edge, check_finite_differences, check_inner_product, check_well_formed

LOSSES = ("softmax_cross_entropy", "sparse_softmax_cross_entropy", "sigmoid_binary_cross_entropy", "mse", "huber")
REDUCTIONS = ("mean", "sum", "none")

REACH: dict[tuple[str, str], tuple[Any, ...]] = {
    **{(op, "reduction"): REDUCTIONS for op in LOSSES},
    ("softmax_cross_entropy", "weight"): (None, "tuple"),
    ("softmax_cross_entropy", "label_smoothing"): (0.0, 0.1, 0.25),
    ("sparse_softmax_cross_entropy", "ignore_index"): (None, -100, 0),
    ("sigmoid_binary_cross_entropy", "pos_weight"): (None, "tuple"),
    ("batch_norm", "training"): (True, False),
    ("batch_norm", "running_mean"): (None, "tuple"),
    ("rms_norm", "axis"): ((-1,), (-2, -1), (-3, -2, -1)),
    ("softplus", "beta"): (1.0, 2.0, 0.5),
    ("softplus", "threshold"): (None, 20.0, 2.0),
    ("scaled_dot_product_attention", "mask"): (None, "tuple"),
    ("scaled_dot_product_attention", "bias"): (None, "tuple"),
    ("sort", "descending"): (False, True),
    ("roll", "axis"): (0, "tuple"),
    ("triangular_solve", "unit_diagonal"): (False, True),
}


TUPLED = {("softmax_cross_entropy", "weight"), ("sigmoid_binary_cross_entropy", "pos_weight"),
            ("batch_norm", "running_mean"), ("scaled_dot_product_attention", "mask"),
            ("scaled_dot_product_attention", "bias"), ("roll", "axis")}


def _kind(op: str, param: str, value: Any) -> Any:
    """The value, or ``"tuple"`` for a tuple value of a param whose values are tuples or None
    (per-class weights, masks, several roll axes)."""
    return "tuple" if (op, param) in TUPLED and isinstance(value, tuple) else value


@pytest.mark.parametrize(("op", "param", "value"), [(op, p, v) for (op, p), vs in REACH.items() for v in vs],
                         ids=lambda v: repr(v))
def test_every_declared_value_is_drawn(op: str, param: str, value: Any) -> None:
    spec = get_op(op)
    assert param in spec.params, f"{op}: {param} is not a declared param"
    case = find(cases(spec, "float64"), lambda c: _kind(op, param, c.params[param]) == value,
                settings=settings(max_examples=2000, database=None, suppress_health_check=list(HealthCheck)))
    assert _kind(op, param, case.params[param]) == value


def test_the_first_value_is_where_shrinking_ends() -> None:
    """The minimal example of each op draws every parameter's first value (today's behaviour), in the
    small regime, where the suite's examples of a target shrink within (conformance/suite.py)."""
    for (op, param), values in REACH.items():
        case = find(cases(get_op(op), "float64", regime="small"), lambda c: True, settings=settings(database=None))
        assert _kind(op, param, case.params[param]) == values[0], (op, param, case.params)


def _loss_cases() -> list[Edge]:
    out: list[Edge] = []
    rng = np.random.default_rng(3)
    probs = rng.random((3, 4)) + 0.05
    probs /= probs.sum(axis=-1, keepdims=True)
    for r in REDUCTIONS:
        for weight in (None, (0.5, 2.0, 1.0, 3.0)):
            for eps in (0.0, 0.1):
                out.append(Edge("softmax_cross_entropy", f"{r},w={weight is not None},eps={eps}",
                                {"logits": (3, 4), "labels": (3, 4)},
                                {"reduction": r, "weight": weight, "label_smoothing": eps}, {"labels": probs}))
        for ignore, labels in ((None, [2, 0, 3, 1]), (-100, [2, -100, 3, -100]), (0, [2, 0, 3, 0])):
            out.append(Edge("sparse_softmax_cross_entropy", f"{r},ignore={ignore}", {"logits": (4, 4), "labels": (4,)},
                            {"reduction": r, "ignore_index": ignore}, {"labels": np.array(labels, dtype=np.int64)}))
        for pos_weight in (None, (2.0, 0.5, 3.0)):
            out.append(Edge("sigmoid_binary_cross_entropy", f"{r},pos_weight={pos_weight is not None}",
                            {"logits": (2, 3), "labels": (2, 3)}, {"reduction": r, "pos_weight": pos_weight},
                            {"labels": np.array([[0.0, 1.0, 0.3], [0.8, 1.0, 0.0]])}))
        out.append(Edge("mse", r, {"pred": (2, 3), "target": (2, 3)}, {"reduction": r}))
        out.append(Edge("huber", r, {"pred": (2, 3), "target": (2, 3)}, {"delta": 0.5, "reduction": r}))
    return out


def _norm_cases() -> list[Edge]:
    out = []
    for xs in ((1, 3), (2, 2, 3)):
        for mean, var in (((0.5, -1.0, 2.0), (0.25, 4.0, 1.0)), ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))):
            out.append(Edge("batch_norm", f"{xs},inference,mean={mean}", {"x": xs, "gamma": (3,), "beta": (3,)},
                            {"eps": 2.0**-10, "training": False, "running_mean": mean, "running_var": var}))
    for xs, axis in (((2, 3, 4), (-1,)), ((2, 3, 4), (-2, -1)), ((2, 3, 2), (-3, -2, -1))):
        out.append(Edge("rms_norm", f"{xs},axis={axis}", {"x": xs, "gamma": xs[len(xs) - len(axis):]},
                        {"eps": 2.0**-10, "axis": axis}))
    return out


def _softplus_cases() -> list[Edge]:
    x = np.array([-3.0, -0.7, 0.4, 1.3, 2.6, 9.0, 21.5])  # each side of the switches at 1, 2, 4 and 20
    return [Edge("softplus", f"beta={beta},threshold={threshold}", {"x": x.shape},
                 {"beta": beta, "threshold": threshold}, {"x": x})
            for beta in (1.0, 2.0, 0.5) for threshold in (None, 20.0, 2.0)]


def _attention_cases() -> list[Edge]:
    out = []
    mask = ((True, False, True), (True, True, False))
    bias = ((0.0, -1.0, 0.5), (-2.0, 1.0, 0.0))
    shapes = {"q": (1, 2, 2, 3), "k": (1, 3, 2, 3), "v": (1, 3, 2, 3)}  # T = 2 queries, S = 3 keys
    for causal in (False, True):
        for m, b in ((mask, None), (None, bias), (mask, bias)):
            label = f"causal={causal},mask={m is not None},bias={b is not None}"
            params = {"causal": causal, "scale": 0.5, "mask": m, "bias": b}
            out.append(Edge("scaled_dot_product_attention", label, shapes, params))
    return out


def _shape_cases() -> list[Edge]:
    out = [Edge("sort", f"axis={a},descending={d}", {"x": (3, 4)}, {"axis": a, "descending": d})
           for a in (0, -1) for d in (False, True)]
    out += [Edge("roll", f"shift={sh},axis={ax}", {"x": (2, 3, 4)}, {"shift": sh, "axis": ax})
            for sh, ax in ((1, 0), ((1, -2), (0, 1)), ((-1, 5, 2), (-1, 0, 1)))]
    return out


def _triangular_cases() -> list[Edge]:
    a = np.array([[1.5, 0.2, -0.3], [0.1, -1.2, 0.4], [-0.2, 0.3, 1.8]])
    return [Edge("triangular_solve", f"lower={lower},transpose={tr},unit={unit}", {"a": (3, 3), "b": (3, 2)},
                 {"lower": lower, "transpose": tr, "unit_diagonal": unit}, {"a": a})
            for lower in (False, True) for tr in (False, True) for unit in (False, True)]


CASES = (_loss_cases() + _norm_cases() + _softplus_cases() + _attention_cases() + _shape_cases()
         + _triangular_cases())


def test_a_unit_diagonal_is_never_read() -> None:
    """With unit_diagonal, a's diagonal changes nothing and gets no gradient."""
    spec = get_op("triangular_solve")
    a = np.array([[2.0, 0.0], [0.5, -3.0]])
    b = np.array([[1.0], [2.0]])
    params = {"lower": True, "transpose": False, "unit_diagonal": True}
    assert np.allclose(spec.reference(a, b, **params), [[1.0], [1.5]], rtol=1e-15, atol=0)
    assert np.array_equal(spec.reference(a, b, **params), spec.reference(a - 7 * np.eye(2), b, **params))
    g = spec.reference_vjp(a, b, dz=np.ones((2, 1)), **params)["a"].value
    assert np.all(np.diag(g) == 0) and g[1, 0] != 0 and g[0, 1] == 0


def test_descending_sort_reverses_the_ascending_one() -> None:
    spec = get_op("sort")
    x = np.array([[0.3, -1.0, 2.0], [5.0, 4.0, -2.0]])
    assert np.array_equal(spec.reference(x, axis=-1, descending=True), [[2.0, 0.3, -1.0], [5.0, 4.0, -2.0]])
    g = spec.reference_vjp(x, dz=np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]), axis=-1, descending=True)["x"].value
    assert np.array_equal(g, [[2.0, 3.0, 1.0], [1.0, 2.0, 3.0]])


def test_masked_keys_get_no_gradient() -> None:
    """A key no query sees (masked for every query) has dk = dv = 0."""
    spec = get_op("scaled_dot_product_attention")
    rng = np.random.default_rng(0)
    q, k, v = rng.standard_normal((1, 2, 1, 2)), rng.standard_normal((1, 3, 1, 2)), rng.standard_normal((1, 3, 1, 2))
    mask = ((True, False, True), (True, False, True))
    g = spec.reference_vjp(q, k, v, dz=rng.standard_normal((1, 2, 1, 2)), causal=False, scale=1.0, mask=mask)
    assert np.all(g["k"].value[:, 1] == 0) and np.all(g["v"].value[:, 1] == 0)
    assert np.all(g["k"].value[:, 0] != 0) and np.all(g["v"].value[:, 2] != 0)


def test_softplus_threshold_switches_to_the_identity() -> None:
    """Above beta x = threshold the forward is x and the gradient dz; below, sigmoid(beta x) dz."""
    spec = get_op("softplus")
    x = np.array([0.9, 1.1])
    assert np.array_equal(spec.reference(x, beta=2.0, threshold=2.0), [np.log1p(np.exp(1.8)) / 2.0, 1.1])
    g = spec.reference_vjp(x, dz=np.ones(2), beta=2.0, threshold=2.0)["x"].value
    assert np.allclose(g, [1.0 / (1.0 + np.exp(-1.8)), 1.0], rtol=1e-15, atol=0)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_oracle_at_each_value_matches_finite_differences(case: Edge) -> None:
    spec = get_op(case.op)
    check_well_formed(spec, case)
    check_finite_differences(spec, case)
    check_inner_product(spec, case)


def test_reductions_relate_as_they_say() -> None:
    """sum = mean * count and none sums to sum, for the forward and the gradient, with ignored
    rows counted out of the mean and given no gradient."""
    spec = get_op("sparse_softmax_cross_entropy")
    logits = np.random.default_rng(0).standard_normal((4, 3))
    labels = np.array([1, -100, 2, 0])
    params = {"ignore_index": -100}
    none = spec.reference(logits, labels, reduction="none", **params)
    assert none.shape == (4,) and none[1] == 0.0
    total = spec.reference(logits, labels, reduction="sum", **params)
    assert np.isclose(total, none.sum())
    assert np.isclose(spec.reference(logits, labels, reduction="mean", **params), total / 3)
    g_mean = spec.reference_vjp(logits, labels, dz=np.float64(1.0), reduction="mean", **params)["logits"].value
    g_sum = spec.reference_vjp(logits, labels, dz=np.float64(1.0), reduction="sum", **params)["logits"].value
    assert np.allclose(g_sum, 3 * g_mean) and np.all(g_sum[1] == 0.0)
