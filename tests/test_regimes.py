"""Size regimes and layouts: every op reaches each regime it declares, every profile draws each,
the reach table says what was reached, layouts keep values and change strides."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, seed, settings

from conformance import layouts, regimes
from conformance.registry import all_ops, get_op
from conformance.selection import PROFILES
from conformance.strategies import structures
from conformance.summary import reach_table

SCHEMAS = Path(__file__).resolve().parents[1] / "conformance" / "schemas"
DRAWS = 6  # structures drawn per op and regime


def _draw_in(spec, regime: str, n: int = DRAWS) -> list:
    drawn = []

    @seed(7)
    @settings(max_examples=n, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(example=structures(spec, "float32", regime=regime))
    def collect(example):
        drawn.append(example.first)

    collect()
    return drawn


CASES = [(name, r) for name in sorted(all_ops()) for r in get_op(name).regimes[1:]]


@pytest.mark.parametrize(("name", "regime"), CASES)
def test_every_declared_regime_is_reached_when_drawn(name, regime):
    """Drawn in a regime it declares, an op's cases reach it (measured from their shapes), most
    of the time: a shape helper the op's structure bypasses, or a cap it applies afterwards, shows
    here as a declared regime that is not reached."""
    spec = get_op(name)
    drawn = _draw_in(spec, regime)
    hits = [c for c in drawn if regime in regimes.reached(c.shapes, spec.differentiable, c.cotangent.shape)]
    assert len(hits) * 2 >= len(drawn), (
        f"{name} declares regime {regime!r} but only {len(hits)} of {len(drawn)} cases drawn in it reach it: "
        f"{[c.shapes for c in drawn if c not in hits][:3]}")
    for case in drawn:  # within the profile's budget
        assert all(v.size <= regimes.LARGE_ELEMENTS * 8 for v in case.inputs.values()), case.shapes


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_profile_draws_every_declared_regime(profile):
    """Over an op's dtypes (the offsets the suite gives its targets), a profile's examples reach
    every regime the op declares, and half of each target's stay small."""
    n = PROFILES[profile].max_examples
    for name in all_ops():
        spec = get_op(name)
        reached = set()
        for i, _ in enumerate(spec.dtypes):
            plan = dict(regimes.examples_per_regime(spec.regimes, n, i * (n // 2)))
            assert sum(plan.values()) == n and plan["small"] >= n // 2, (name, plan)
            reached |= set(plan)
        assert reached == set(spec.regimes), (name, profile, set(spec.regimes) - reached)


def test_examples_per_regime_splits_the_budget():
    assert regimes.examples_per_regime(("small",), 8) == [("small", 8)]
    assert regimes.examples_per_regime(("small", "tails", "empty"), 8) == [("small", 4), ("tails", 2), ("empty", 2)]
    assert regimes.examples_per_regime(("small", "tails", "empty"), 1) == [("small", 1)]
    assert regimes.examples_per_regime(("small", "tails", "empty", "long"), 4, 2) == [
        ("small", 2), ("tails", 1), ("long", 1)]


def test_declared_regimes_are_checked():
    spec = get_op("sigmoid")
    with pytest.raises(ValueError, match="unknown regimes"):
        replace(spec, regimes=("small", "huge"))
    with pytest.raises(ValueError, match="must start with 'small'"):
        replace(spec, regimes=("tails", "small"))


def test_reached_measures_shapes():
    assert regimes.reached({"x": ()}, ["x"]) == {"small", "scalar"}
    assert regimes.reached({"x": (3, 0)}, ["x"]) == {"small", "empty"}
    assert regimes.reached({"x": (2, 17)}, ["x"]) == {"small", "tails"}
    assert regimes.reached({"x": (2, 16)}, ["x"]) == {"small"}
    assert regimes.reached({"x": (1, 1024)}, ["x"]) == {"small", "long"}
    assert regimes.reached({"x": (9, 3)}, ["x"]) == {"small", "batch", "tails"}
    assert "large" in regimes.reached({"x": (257, 257)}, ["x"])
    # the cotangent counts (broadcast_to's gradient reduces a large dz), an index input does not
    assert "large" in regimes.reached({"x": (1,)}, ["x"], (65_537,))
    assert regimes.reached({"x": (2,), "i": ()}, ["x"]) == {"small"}


def test_large_side_is_the_least_that_makes_it_large():
    for of in (1, 2, 3, 4):
        s = regimes.large_side(of)
        assert s**of > regimes.LARGE_ELEMENTS >= (s - 1) ** of


def _rec(op, framework, shapes, cotangent, **extra):
    return {"op": op, "framework": framework, "device": "cpu", "dtype": "float32", "status": "pass",
            "case_family": "accuracy", "shapes": shapes, "cotangent_shape": cotangent,
            "params": extra.pop("params", {}), **extra}


def test_reach_table_counts_what_was_reached_and_names_what_is_missing():
    recs = [
        _rec("sigmoid", "torch", {"x": [17]}, [17], layout="strided"),
        _rec("sigmoid", "jax", {"x": []}, [], layout="contiguous"),
        _rec("sigmoid", "jax", {"x": [0, 3]}, [0, 3]),
        _rec("sum", "torch", {"x": [2, 3]}, [2], params={"axis": 1, "keepdims": False}),
        _rec("sum", "torch", {"x": [2, 3]}, [2], params={"axis": 1, "keepdims": True}),
        {**_rec("sigmoid", "torch", {"x": [1025]}, [1025]), "phase": "shrink"},  # not counted
    ]
    table = {row["op"]: row for row in reach_table(recs)}
    sig = table["sigmoid"]
    assert sig["declared"] == list(get_op("sigmoid").regimes)
    assert sig["reached"]["tails"] == {"torch": 1}
    assert sig["reached"]["scalar"] == {"jax": 1}
    assert sig["reached"]["empty"] == {"jax": 1}
    assert sig["missing"] == [r for r in sig["declared"] if r not in ("small", "tails", "scalar", "empty")]
    assert sig["layouts"] == {"contiguous": 2, "strided": 1}
    assert sig["examples"] == 3 and sig["max_elements"] == 17
    assert table["sum"]["params"] == {"axis": ["1"], "keepdims": ["false", "true"]}


def test_schemas_name_every_regime_and_layout():
    record = json.loads((SCHEMAS / "record.schema.json").read_text())["properties"]
    assert record["regime"]["enum"] == list(regimes.REGIMES)
    assert record["layout"]["enum"] == list(layouts.LAYOUTS)


def test_torch_layouts_keep_values_and_change_strides():
    torch = pytest.importorskip("torch")
    from conformance.adapters.torch_adapter import LAYOUTS, laid_out

    assert list(LAYOUTS) == list(layouts.LAYOUTS)
    t = torch.arange(120, dtype=torch.float64).reshape(2, 3, 4, 5)
    seen = set()
    for layout in LAYOUTS:
        u = laid_out(t, layout)
        assert torch.equal(u, t) and u.shape == t.shape, layout
        assert layouts.applies(layout, 4, 120) == (layout != "contiguous")
        seen.add(u.stride())
    assert len(seen) == len(LAYOUTS)  # each layout is its own memory arrangement
    assert laid_out(t, "channels_last").is_contiguous(memory_format=torch.channels_last)
    assert not laid_out(t, "strided").is_contiguous()
    with pytest.raises(ValueError, match="valid"):
        laid_out(t, "diagonal")
    scalar = torch.tensor(1.5)
    assert all(laid_out(scalar, layout).shape == () for layout in LAYOUTS)


def test_torch_vjp_is_the_same_in_every_layout():
    """The layout changes only how torch sees the inputs: a VJP through it is the contiguous one."""
    pytest.importorskip("torch")
    from conformance.adapters.torch_adapter import LAYOUTS, TorchAdapter

    adapter, spec = TorchAdapter(), get_op("softmax")
    rng = np.random.default_rng(0)
    x, dz = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((2, 3, 4, 5))
    want = adapter.vjp(spec, {"x": x}, {"axis": 1}, dz, dtype="float64", device="cpu")["x"]
    for layout in LAYOUTS:
        got = adapter.vjp(spec, {"x": x}, {"axis": 1}, dz, dtype="float64", device="cpu", layout=layout)["x"]
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15, err_msg=layout)

