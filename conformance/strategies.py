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

from conformance import layouts, regimes
from conformance.case import Case
from conformance.dtypes import DType, get_dtype
from conformance.opspec import OpSpec


def _draws_independent_of_imports() -> None:
    """Hypothesis (6.13x and newer) mixes into its draws integer and float literals it collects from
    every *local* module loaded at the time (not the standard library, not site-packages), so the
    same seed drew different cases in a run's worker processes, its main process (-n 0) and a
    pytest session that had imported the tests (our regimes' 4097 and 66049 among the literals).
    "The same command on the same versions draws the same cases" needs the pool fixed: it is left
    empty (Hypothesis's own global constants still apply). Private API, so it is best effort: a
    Hypothesis without the hook draws as it always did; tests/test_cli.py's serial-versus-parallel
    run checks the property (it failed before this)."""
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover - another Hypothesis layout
        return
    if hasattr(providers, "_get_local_constants") and hasattr(providers, "Constants"):
        providers._get_local_constants = providers.Constants


_draws_independent_of_imports()

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
    """A shape with size-1 and non-square sides included; in a regime other than small (see
    :mod:`conformance.regimes`) the first shape of the structure is that regime's."""
    r = regimes.active()
    if r is not None and r.name != "small" and (r.name != "scalar" or min_dims <= 1) and r.take():
        return _regime_shape(draw, r, min_dims, max_dims)
    return draw(_array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=max_side))


def _small_sides(draw, n: int, hi: int) -> list[int]:
    return [draw(st.integers(1, hi)) for _ in range(n)]


def _regime_shape(draw, r: regimes.Active, min_dims: int, max_dims: int) -> tuple[int, ...]:
    """A shape of regime ``r`` with a rank in [min_dims, max_dims] (at least 1 but for scalar)."""
    if r.name == "scalar":
        return ()
    lo = max(min_dims, 1)
    if r.name == "large":
        ranks = [d for d in range(lo, max_dims + 1) if d in regimes.LARGE_SHAPES]
        fits = [s for d in ranks for s in regimes.LARGE_SHAPES[d] if regimes.elements(s) <= r.max_elements]
        if fits:
            return choice(draw, fits)
        return tuple(_small_sides(draw, draw(st.integers(lo, max_dims)), 5))
    if r.name == "batch":
        lo = max(lo, 2) if max_dims >= 2 else lo
    if r.name == "long":
        max_dims = max(lo, min(max_dims, 2))
    ndim = draw(st.integers(lo, max(lo, max_dims)))
    at = draw(st.integers(0, ndim - 1))
    sides = _small_sides(draw, ndim, 5 if r.name == "empty" else 3)
    if r.name == "empty":
        sides[at] = 0
    elif r.name == "tails":
        sides[at] = choice(draw, regimes.TAIL_SIDES)
    elif r.name == "long":
        sides[at] = choice(draw, regimes.LONG_SIDES)
        r.long_axis = at
    elif r.name == "batch":
        sides[0] = choice(draw, regimes.BATCH_SIDES)
    return tuple(sides)


def keep_large(sides: list[int], at: int = 0) -> list[int]:
    """In the large regime, ``sides`` with ``sides[at]`` grown so the shape holds more than 65,536
    elements again after a structure capped another side (channels, say); unchanged elsewhere."""
    r = regimes.active()
    if r is not None and r.name == "large":
        rest = regimes.elements(sides[:at] + sides[at + 1:])
        if rest and regimes.elements(sides) <= regimes.LARGE_ELEMENTS:
            sides[at] = regimes.LARGE_ELEMENTS // rest + 1
    return sides


def side(draw, lo: int = 1, hi: int = 5, *, of: int = 1) -> int:
    """One spatial or matrix side in [lo, hi], of ``of`` sides the caller draws alike (2 for a
    matrix, the rank for an image); in the tails regime the structure's first side is a tail side
    (at least lo), in long a long one, in large each of the first ``of`` is just large enough that
    ``of`` of them make more than 65,536 elements."""
    r = regimes.active()
    if r is not None and r.name == "tails" and r.take():
        return choice(draw, [s for s in regimes.TAIL_SIDES if s >= lo])
    if r is not None and r.name == "long" and r.take():
        return choice(draw, [s for s in regimes.LONG_SIDES if s >= lo])
    if r is not None and r.name == "large" and r.take(limit=of):
        return max(lo, regimes.large_side(of))
    return draw(st.integers(lo, hi))


def batch_size(draw, lo: int = 1, hi: int = 2) -> int:
    """A leading batch size in [lo, hi]; 8 to 33 in the batch regime, 0 in the empty one."""
    r = regimes.active()
    if r is not None and r.name == "batch" and r.take():
        return choice(draw, regimes.BATCH_SIDES)
    if r is not None and r.name == "empty" and r.take():
        return 0
    if r is not None and r.name == "large":
        return lo  # the sides make it large; a batch on top would only multiply the cost
    return draw(st.integers(lo, hi))


def batch_dims(draw, max_dims: int = 2, hi: int = 3) -> tuple[int, ...]:
    """Leading batch dimensions (none to ``max_dims``, sides 1..hi); in the batch regime one of 8
    to 33, in the empty one a size-0 batch."""
    r = regimes.active()
    if r is not None and r.name in ("batch", "empty"):
        return (batch_size(draw),)
    return tuple(draw(st.lists(st.integers(1, hi), max_size=max_dims)))


def broadcast_shapes(draw, n: int = 2, *, max_dims: int = 4, max_side: int = 5) -> tuple[tuple[int, ...], ...]:
    """n mutually broadcastable shapes (size-1 dims and missing leading dims included); in a regime
    other than small, shapes that broadcast to that regime's shape (the first one has it)."""
    r = regimes.active()
    if r is not None and r.name != "small" and r.take():
        base = _regime_shape(draw, r, 0 if r.name == "scalar" else 1, max_dims)
        out = [base]
        for _ in range(n - 1):
            lead = draw(st.integers(0, len(base)))  # leading dims left out
            out.append(tuple(1 if draw(st.booleans()) else d for d in base[lead:]))
        order = draw(st.permutations(range(n)))  # the full shape is not always the first input's
        return tuple(out[i] for i in order)
    drawn = draw(_broadcastable(num_shapes=n, min_dims=0, max_dims=max_dims, max_side=max_side))
    return drawn.input_shapes


def signature_shapes(draw, signature: str, *, max_dims: int = 2, max_side: int = 5):
    """Shapes for a gufunc signature such as ``(m,k),(k,n)->(m,n)``, with broadcast batch dims; in a
    regime other than small the core sides come from :func:`side` and the batch from
    :func:`batch_dims`."""
    r = regimes.active()
    if r is not None and r.name in ("tails", "large", "batch", "empty"):
        ins = signature.split("->")[0]
        cores = [tuple(c for c in group.split(",") if c) for group in ins.strip("()").split("),(")]
        batch = batch_dims(draw, max_dims, 3)
        sizes: dict[str, int] = {}
        for names in cores:
            for c in names:
                if c not in sizes:
                    sizes[c] = side(draw, 1, max_side, of=2)
        return tuple(tuple(batch) + tuple(sizes[c] for c in names) for names in cores)
    drawn = draw(_broadcastable(signature=signature, max_dims=max_dims, max_side=max_side))
    return drawn.input_shapes


def axis(draw, ndim: int) -> int:
    """An axis of an array of rank ndim, negative or not (0 or -1 of a 0-d array); the long axis
    of the structure's long-regime shape when it has that rank."""
    r = regimes.active()
    if r is not None and r.long_axis is not None and r.long_axis < ndim:
        a = r.long_axis
        r.long_axis = None  # one axis: later ones are drawn as usual
    else:
        a = draw(st.integers(0, max(ndim - 1, 0)))
    if ndim == 0:
        return -1 if draw(st.booleans()) else 0
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
    if v.size == 0 or v.ndim == 0:
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


def extreme_apart(values: np.ndarray, axis, margin: float, largest: bool = True) -> np.ndarray:
    """Values whose largest (``largest``) or smallest element of each group along ``axis`` (an int,
    a tuple, or None for all) is at least ``4 * margin`` (relative to the group's largest |x|)
    beyond the runner-up: the maximum (minimum) is unique with room, whatever the group's size,
    where making every element distinct would need more distinct values than a half-precision
    dtype has."""
    v = np.array(values, dtype=np.float64, copy=True)
    if v.size == 0 or v.ndim == 0:
        return v
    sign = 1.0 if largest else -1.0
    axes = tuple(range(v.ndim)) if axis is None else tuple(np.atleast_1d(axis) % v.ndim)
    moved = np.moveaxis(sign * v, axes, tuple(range(v.ndim - len(axes), v.ndim)))
    flat = moved.reshape(*moved.shape[: v.ndim - len(axes)], -1)
    if flat.shape[-1] < 2:
        return v
    top = np.argmax(flat, axis=-1)[..., None]
    best = np.take_along_axis(flat, top, axis=-1)
    rest = np.where(np.arange(flat.shape[-1]) == top, -np.inf, flat)
    runner_up = rest.max(axis=-1, keepdims=True)
    step = 4.0 * margin * np.maximum(np.abs(flat).max(axis=-1, keepdims=True), 1e-30)
    np.put_along_axis(flat, top, np.maximum(best, runner_up + step), axis=-1)
    out = flat.reshape(moved.shape)
    return sign * np.moveaxis(out, tuple(range(v.ndim - len(axes), v.ndim)), axes)


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
    regime: str = "small"
    max_elements: int = regimes.DEFAULT_MAX_ELEMENTS

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
            with regimes.drawing(self.regime, self.max_elements):
                structure = spec.structure(replay, rng)
            if replay.used != len(self.draws) or structure.shapes != self.structure.shapes \
                    or structure.params != self.structure.params:
                raise ValueError(f"op {spec.name!r}: its structure function gave another structure on a replay "
                                 "(its shapes and params must follow from its Hypothesis draws alone)")
        inputs = _inputs(spec, structure, rng, first.scale, first.distribution, self.dtype, self.kink_dtype)
        cotangent = _to_dtype(rng.standard_normal(first.cotangent.shape) * self.ct_scale, self.dtype)
        return Case(spec.name, self.dtype, inputs, first.params, cotangent, first.seed, first.scale,
                    first.distribution, value_set=value_set, regime=first.regime, layout=first.layout)


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


def _half_first(values: tuple[str, ...]) -> tuple[str, ...]:
    """``values`` for :func:`choice` with its first one half the time and the others evenly (the
    first repeated once per other). Shrinking a drawn regime prefers the one whose structure makes
    the fewest draws (Hypothesis orders choice sequences by length first), not small: the suite
    therefore draws each target's regimes as separate runs (suite.test_vjp), shrinking within one."""
    return (values[0],) * max(len(values) - 1, 1) + values[1:]


_LAYOUTS = _half_first(tuple(layouts.LAYOUTS))  # contiguous half the time


@st.composite
def structures(draw, spec: OpSpec, dtype: str, scales: tuple[float, ...] | None = None,
               kink_dtype: str | None = None, max_elements: int = regimes.DEFAULT_MAX_ELEMENTS,
               regime: str | None = None) -> StructureExample:
    """A StructureExample for ``spec`` in ``dtype``: a size regime (``regime``, else drawn from the
    op's declared ones), structure from the op, values from a seeded generator (see
    :func:`cases`). ``max_elements`` caps an input's elements in the large regime."""
    regime = choice(draw, _half_first(spec.regimes)) if regime is None else regime
    seed = draw(SEEDS)
    rng = np.random.default_rng(seed)
    recording = _RecordingDraw(draw)
    with regimes.drawing(regime, max_elements):
        structure: Structure = spec.structure(recording, rng)
    if scales is None:
        scales = LOW_PRECISION_SCALES if dtype in ("float16", "bfloat16") else SCALES
    scale = choice(draw, scales)
    distribution = choice(draw, DISTRIBUTIONS)
    inputs = _inputs(spec, structure, rng, scale, distribution, dtype, kink_dtype)
    case = Case(spec.name, dtype, inputs, structure.params, np.empty(0), seed, scale, distribution, regime=regime)
    out = np.asarray(spec.reference(**case.oracle_inputs(), **case.params))
    ct_scale = choice(draw, (1.0, 1e-2, 1e2) if scales is SCALES else (1.0,))
    case.cotangent = _to_dtype(rng.standard_normal(out.shape) * ct_scale, dtype)
    case.layout = choice(draw, _LAYOUTS)  # the last draw: the structure is the same whichever layouts an adapter has
    return StructureExample(spec, dtype, structure, tuple(recording.results), ct_scale, kink_dtype, case,
                            regime, max_elements)


def cases(spec: OpSpec, dtype: str, scales: tuple[float, ...] | None = None,
          kink_dtype: str | None = None, regime: str | None = None) -> st.SearchStrategy[Case]:
    """A Case for ``spec`` in ``dtype``: structure from the op, values from a seeded generator.

    ``kink_dtype`` widens the distance kept from kinks to that dtype's margin (the oracle's
    finite-difference tests use float16's, far wider than their step).
    """
    return structures(spec, dtype, scales, kink_dtype, regime=regime).map(lambda example: example.first)
