"""Registry completeness: every op has a reference, a strategy, formula and, in every installed
built-in adapter, a mapping (or an explicit unsupported reason)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.adapters import BUILTIN, load
from conformance.opspec import OpSpec
from conformance.registry import all_ops
from conformance.strategies import Structure
from tests import examples

OPS = all_ops()


def test_catalogue_has_at_least_seventy_ops_across_the_families():
    assert len(OPS) >= 70
    families = {s.family for s in OPS.values()}
    assert {"elementwise", "reduction", "linalg", "conv", "normloss", "shape", "attention"} <= families


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_record_is_complete(name):
    spec = OPS[name]
    assert isinstance(spec, OpSpec)
    assert callable(spec.reference) and callable(spec.reference_vjp) and callable(spec.structure)
    assert spec.formula.strip()
    assert spec.reference.__doc__ and spec.reference_vjp.__doc__, "state the op and its VJP in docstrings"
    for k in spec.kinks:
        assert k.inputs and k.at, f"kink {k.name} needs exact inputs and the indices on the kink"


@pytest.mark.parametrize("name", sorted(OPS))
@settings(max_examples=examples(5), deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_structure_strategy_draws_valid_structures(name, data):
    spec = OPS[name]
    s = data.draw(st.builds(lambda seed: seed, st.integers(0, 2**32 - 1)).flatmap(
        lambda seed: st.composite(lambda draw: spec.structure(draw, np.random.default_rng(seed)))()))
    assert isinstance(s, Structure)
    for inp in spec.inputs:
        assert inp.name in s.shapes or inp.name in s.values, f"{name}: no shape or values for {inp.name}"
    assert set(s.params) == set(spec.params), f"{name}: drawn params {sorted(s.params)} != declared {spec.params}"


@pytest.mark.parametrize("framework", list(BUILTIN))
def test_every_op_is_mapped_or_declared_unsupported(framework):
    av = load(BUILTIN[framework], framework, "builtin")
    if not av.available:
        pytest.skip(f"{framework} unavailable: {av.reason}")
    missing = [n for n in OPS if n not in av.adapter.ops]
    assert not missing, f"{framework} adapter lacks mappings for {missing}"
    for name, impl in av.adapter.ops.items():
        assert name in OPS, f"{framework} maps {name!r}, which is not in the catalogue"
        assert impl.call.strip()
        assert impl.fn is not None or impl.unsupported, f"{framework}/{name}: no function and no reason"


def test_choice_keeps_the_type_of_equal_values():
    """choice() caches its strategies: ints must not come back as the floats they equal."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from conformance.strategies import choice

    seen = []

    @settings(deadline=None, database=None)
    @given(st.data())
    def draw_both(data):
        seen.append(choice(data.draw, (1.0, 2.0)))
        seen.append(choice(data.draw, [1, 2]))

    draw_both()
    assert {type(v) for v in seen[0::2]} == {float} and {type(v) for v in seen[1::2]} == {int}
