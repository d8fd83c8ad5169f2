"""Hypothesis strategies: structure (shapes, params, scale, seed) from Hypothesis, bulk values
from a NumPy generator seeded by a drawn integer.

Drawing every element through Hypothesis is slow for large arrays and makes shrinking walk
element by element; drawing the *structure* with Hypothesis keeps shrinking meaningful (fewer
dims, smaller sides, scale 1, seed 0) while values come in bulk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from conformance.case import Case
from conformance.dtypes import DType, get_dtype
from conformance.opspec import OpSpec

# Magnitudes inputs are drawn at; the first is where shrinking ends.
SCALES = (1.0, 1e-2, 1e2, 1e-4, 1e3)
# Low-precision dtypes get scales that keep products and sums of the catalogue's ops in range.
LOW_PRECISION_SCALES = (1.0, 1e-1, 1e1)
DISTRIBUTIONS = ("normal", "uniform", "log-uniform")


@dataclass
class Structure:
    """What an op's case function draws: shapes per input, params, and any input values the op
    must choose itself (indices, labels, well-conditioned matrices)."""

    shapes: dict[str, tuple[int, ...]]
    params: dict[str, Any] = field(default_factory=dict)
    values: dict[str, np.ndarray] = field(default_factory=dict)


# Strategies are built once per distinct argument tuple: Hypothesis validates every new strategy
# object on its first draw, which cost about a fifth of case generation when they were rebuilt for
# every example.
_sampled: dict[tuple, st.SearchStrategy] = {}
_array_shapes = lru_cache(maxsize=None)(hnp.array_shapes)
_broadcastable = lru_cache(maxsize=None)(hnp.mutually_broadcastable_shapes)
SEEDS = st.integers(0, 2**32 - 1)


def choice(draw, values) -> Any:
    """One of ``values`` (a tuple or list; shrinks towards the first)."""
    values = tuple(values)
    # keyed by type too: (1, 2) == (1.0, 2.0), and a cached float strategy must not answer for ints
    key = tuple((type(v), v) for v in values)
    try:
        strategy = _sampled.get(key)
    except TypeError:  # unhashable values: build the strategy each time
        return draw(st.sampled_from(values))
    if strategy is None:
        strategy = _sampled[key] = st.sampled_from(values)
    return draw(strategy)


def shape(draw, *, min_dims: int = 1, max_dims: int = 4, max_side: int = 5) -> tuple[int, ...]:
    """A shape with size-1 and non-square sides included."""
    return draw(_array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=max_side))


def broadcast_shapes(draw, n: int = 2, *, max_dims: int = 4, max_side: int = 5) -> tuple[tuple[int, ...], ...]:
    """n mutually broadcastable shapes (size-1 dims and missing leading dims included)."""
    drawn = draw(_broadcastable(num_shapes=n, min_dims=0, max_dims=max_dims, max_side=max_side))
    return drawn.input_shapes


def signature_shapes(draw, signature: str, *, max_dims: int = 2, max_side: int = 5):
    """Shapes for a gufunc signature such as ``(m,k),(k,n)->(m,n)``, with broadcast batch dims."""
    drawn = draw(_broadcastable(signature=signature, max_dims=max_dims, max_side=max_side))
    return drawn.input_shapes


def axis(draw, ndim: int) -> int:
    """An axis of an array of rank ndim, negative or not."""
    a = draw(st.integers(0, max(ndim - 1, 0)))
    return a - ndim if draw(st.booleans()) else a


def draw_values(
    rng: np.random.Generator, shape: tuple[int, ...], domain: str, scale: float, distribution: str
) -> np.ndarray:
    """Bulk float64 values for one input in its domain (rounded to the test dtype later)."""
    if domain == "real":
        if distribution == "normal":
            return rng.standard_normal(shape) * scale
        if distribution == "uniform":
            return rng.uniform(-1.0, 1.0, shape) * scale
        mags = 10.0 ** rng.uniform(-2.0, 1.0, shape)
        return np.where(rng.random(shape) < 0.5, -mags, mags) * scale
    if domain == "positive":
        if distribution == "log-uniform":
            return 10.0 ** rng.uniform(-1.0, 1.0, shape) * scale
        return (0.25 + np.abs(rng.standard_normal(shape))) * scale
    if domain == "unit":
        return rng.uniform(-0.9, 0.9, shape)
    if domain == "probability":
        p = rng.random(shape) + 0.05
        return p / p.sum(axis=-1, keepdims=True)
    raise ValueError(f"domain {domain!r} has no generic value generator; the op's case function must supply it")


def kink_margin(dtype: DType, scale: float = 1.0) -> float:
    """How far accuracy cases stay from a kink: many ulps of the dtype at the kink's scale, so
    rounding to the dtype or a framework's own rounding never lands on or across it."""
    return 64.0 * dtype.unit_roundoff * max(scale, 1.0)


def away_from(values: np.ndarray, points, margin: float) -> np.ndarray:
    """Push elements within ``margin * (1 + |p|)`` of any kink point p out to that distance,
    keeping the side they were on."""
    v = np.array(values, dtype=np.float64, copy=True)
    for p in np.atleast_1d(points):
        m = margin * (1.0 + abs(float(p)))
        near = np.abs(v - p) < m
        v[near] = np.where(v[near] >= p, p + m, p - m)
    return v


def distinct_along(values: np.ndarray, axis, margin: float) -> np.ndarray:
    """Values with no two elements closer than ``margin`` (relative) along ``axis`` (an int, a
    tuple, or None for all): ties in max/min/sort become impossible, ranks are kept."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return v.copy()
    axes = tuple(range(v.ndim)) if axis is None else tuple(np.atleast_1d(axis) % max(v.ndim, 1))
    moved = np.moveaxis(v, axes, tuple(range(v.ndim - len(axes), v.ndim)))
    lead = moved.shape[: v.ndim - len(axes)]
    flat = moved.reshape(*lead, -1)
    order = np.argsort(flat, axis=-1, kind="stable")
    ranks = np.argsort(order, axis=-1, kind="stable")
    scale = np.maximum(np.abs(flat).max(axis=-1, keepdims=True), 1e-30)
    step = 4.0 * margin * scale
    base = np.take_along_axis(flat, order, axis=-1)
    # make sorted values strictly increasing by at least `step`
    gaps = np.maximum(np.diff(base, axis=-1), step)
    fixed = np.concatenate([base[..., :1], base[..., :1] + np.cumsum(gaps, axis=-1)], axis=-1)
    out = np.take_along_axis(fixed, ranks, axis=-1).reshape(moved.shape)
    return np.moveaxis(out, tuple(range(v.ndim - len(axes), v.ndim)), axes)


def _to_dtype(values: np.ndarray, dtype: str) -> np.ndarray:
    if values.dtype.kind in "iub":
        return values
    return np.asarray(values, dtype=np.float64).astype(get_dtype(dtype).numpy)


class _RecordingDraw:
    """Hypothesis's ``draw``, keeping what it returned so later value sets can replay it."""

    def __init__(self, draw: Callable[..., Any]) -> None:
        self.draw = draw
        self.results: list[Any] = []

    def __call__(self, strategy: st.SearchStrategy, label: Any = None) -> Any:
        value = self.draw(strategy) if label is None else self.draw(strategy, label)
        self.results.append(value)
        return value


class _ReplayDraw:
    """A ``draw`` that answers with a recorded sequence: the op's structure function runs again
    with the same shapes and params, only its own generator (``rng``) new."""

    def __init__(self, op: str, results: tuple[Any, ...]) -> None:
        self.op, self.results, self.used = op, results, 0

    def __call__(self, strategy: st.SearchStrategy, label: Any = None) -> Any:
        if self.used >= len(self.results):
            raise ValueError(f"op {self.op!r}: its structure function draws more on a replay than it did first "
                             "(which Hypothesis draws it makes must not depend on its rng's values)")
        self.used += 1
        return self.results[self.used - 1]


def value_set_rng(seed: int, value_set: int) -> np.random.Generator:
    """The generator of value set ``value_set`` > 0 of a structure drawn with ``seed`` (value set 0
    continues the structure's own generator, so one value set is exactly a plain case)."""
    return np.random.default_rng([seed, value_set])


@dataclass
class StructureExample:
    """One Hypothesis example of an op: its structure (shapes, params, scale, distribution,
    cotangent scale, seed) drawn once, and value sets (inputs and cotangent) derived from the
    seed on demand. Value set 0 is the case :func:`cases` draws; value set j > 0 comes from
    ``value_set_rng(seed, j)`` alone, with the op's own choices (``Structure.values``: indices,
    labels, well-conditioned matrices) made again from that generator and the op's ``avoid``
    applied, so every value set is a valid case of the same structure."""

    spec: OpSpec
    dtype: str
    structure: Structure
    draws: tuple[Any, ...]  # what the structure function drew from Hypothesis, for its replays
    ct_scale: float
    kink_dtype: str | None
    first: Case

    def __repr__(self) -> str:  # what a failing test prints: the structure, not every array
        return f"StructureExample({self.first.summary()})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # Hypothesis's own printer
        printer.text(repr(self))

    def case(self, value_set: int) -> Case:
        if value_set == 0:
            return self.first
        first, spec = self.first, self.spec
        rng = value_set_rng(first.seed, value_set)
        structure = self.structure
        if structure.values:  # the op chooses some inputs itself: it chooses them again, from rng
            replay = _ReplayDraw(spec.name, self.draws)
            structure = spec.structure(replay, rng)
            if replay.used != len(self.draws) or structure.shapes != self.structure.shapes \
                    or structure.params != self.structure.params:
                raise ValueError(f"op {spec.name!r}: its structure function gave another structure on a replay "
                                 "(its shapes and params must follow from its Hypothesis draws alone)")
        inputs = _inputs(spec, structure, rng, first.scale, first.distribution, self.dtype, self.kink_dtype)
        cotangent = _to_dtype(rng.standard_normal(first.cotangent.shape) * self.ct_scale, self.dtype)
        return Case(spec.name, self.dtype, inputs, first.params, cotangent, first.seed, first.scale,
                    first.distribution, value_set=value_set)


def _inputs(spec: OpSpec, structure: Structure, rng: np.random.Generator, scale: float, distribution: str,
            dtype: str, kink_dtype: str | None) -> dict[str, np.ndarray]:
    """One value set's inputs in the test dtype: the op's own choices, else drawn in bulk; kept
    off the kinks."""
    raw: dict[str, np.ndarray] = {}
    for inp in spec.inputs:
        if inp.name in structure.values:
            raw[inp.name] = np.asarray(structure.values[inp.name])
        else:
            raw[inp.name] = draw_values(rng, structure.shapes[inp.name], inp.domain, scale, distribution)
    if spec.avoid is not None:
        raw = spec.avoid(raw, structure.params, get_dtype(kink_dtype or dtype))
    return {name: _to_dtype(values, dtype) for name, values in raw.items()}


@st.composite
def structures(draw, spec: OpSpec, dtype: str, scales: tuple[float, ...] | None = None,
               kink_dtype: str | None = None) -> StructureExample:
    """A StructureExample for ``spec`` in ``dtype``: structure from the op, values from a seeded
    generator (see :func:`cases`)."""
    seed = draw(SEEDS)
    rng = np.random.default_rng(seed)
    recording = _RecordingDraw(draw)
    structure: Structure = spec.structure(recording, rng)
    if scales is None:
        scales = LOW_PRECISION_SCALES if dtype in ("float16", "bfloat16") else SCALES
    scale = choice(draw, scales)
    distribution = choice(draw, DISTRIBUTIONS)
    inputs = _inputs(spec, structure, rng, scale, distribution, dtype, kink_dtype)
    case = Case(spec.name, dtype, inputs, structure.params, np.empty(0), seed, scale, distribution)
    out = np.asarray(spec.reference(**case.oracle_inputs(), **case.params))
    ct_scale = choice(draw, (1.0, 1e-2, 1e2) if scales is SCALES else (1.0,))
    case.cotangent = _to_dtype(rng.standard_normal(out.shape) * ct_scale, dtype)
    return StructureExample(spec, dtype, structure, tuple(recording.results), ct_scale, kink_dtype, case)


def cases(spec: OpSpec, dtype: str, scales: tuple[float, ...] | None = None,
          kink_dtype: str | None = None) -> st.SearchStrategy[Case]:
    """A Case for ``spec`` in ``dtype``: structure from the op, values from a seeded generator.

    ``kink_dtype`` widens the distance kept from kinks to that dtype's margin (the oracle's
    finite-difference tests use float16's, far wider than their step).
    """
    return structures(spec, dtype, scales, kink_dtype).map(lambda example: example.first)
