"""The attention family's reach (issue 16): scaled_dot_product_attention's causal flag with
different query and key lengths and its tiled mask and bias patterns, resize_bilinear's
coordinate conventions (half-pixel centres, corners aligned, asymmetric), in the style of
tests/test_params.py.

:data:`REACH` lists, per op and parameter, the values its structure must draw (the first is
where shrinking ends); :data:`SHAPES` the relations between sides it must draw (T < S, T = S,
T > S, with and without ``causal``; a mask pattern smaller than the logits). :data:`CASES` are
fixed cases at each value, small enough for the full Jacobian, checked with the helpers of
tests/test_oracle_edges.py (finite differences element by element and the inner-product
identity). The conventions themselves are pinned by hand-computed values, and, where a
framework is installed, each adapter is held to the oracle at every convention.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, find, settings

from conformance.case import Case
from conformance.ops.attention import EMPTY_AXES, LARGE_SIDES
from conformance.registry import get_op
from conformance.strategies import cases
from reference import attention as ref
from tests.test_oracle_edges import Edge, check_finite_differences, check_inner_product, check_well_formed
from tests.test_regimes import _draw_in

SDPA, RESIZE = "scaled_dot_product_attention", "resize_bilinear"
FIND = settings(max_examples=2000, database=None, suppress_health_check=list(HealthCheck))

REACH: dict[tuple[str, str], tuple[Any, ...]] = {
    (SDPA, "causal"): (False, True),
    (RESIZE, "align_corners"): (False, True),
    (RESIZE, "half_pixel_centers"): (True, False),
    (RESIZE, "antialias"): (False, True),
}


def _lengths(c: Case) -> tuple[int, int]:
    return c.shapes["q"][1], c.shapes["k"][1]


def _pattern_smaller(c: Case, name: str) -> bool:
    p = c.params[name]
    t, s = _lengths(c)
    return p is not None and (len(p) < t or len(p[0]) < s)


# relations between a drawn case's sides and params: (op, regime or None for any, label, predicate)
SHAPES: list[tuple[str, str | None, str, Callable[[Case], bool]]] = [
    (SDPA, None, "T<S", lambda c: _lengths(c)[0] < _lengths(c)[1]),
    (SDPA, None, "T>S", lambda c: _lengths(c)[0] > _lengths(c)[1]),
    (SDPA, None, "causal,T<S", lambda c: c.params["causal"] and _lengths(c)[0] < _lengths(c)[1]),
    (SDPA, None, "causal,T>S", lambda c: c.params["causal"] and _lengths(c)[0] > _lengths(c)[1]),
    (SDPA, None, "causal,mask,T!=S", lambda c: c.params["causal"] and c.params["mask"] is not None
     and _lengths(c)[0] != _lengths(c)[1]),
    (SDPA, "long", "long keys,causal", lambda c: _lengths(c)[1] >= 257 and c.params["causal"]),
    (SDPA, "long", "long keys,tiled mask", lambda c: _lengths(c)[1] >= 257 and _pattern_smaller(c, "mask")),
    (SDPA, "long", "long keys,tiled bias", lambda c: _lengths(c)[1] >= 257 and _pattern_smaller(c, "bias")),
    (SDPA, "tails", "tail head size", lambda c: c.shapes["q"][3] in (7, 9, 15, 17, 31, 33, 63, 65, 127, 129)),
    *[(SDPA, "empty", f"empty {axis}", (lambda i: lambda c: (c.shapes["q"][0], _lengths(c)[0], _lengths(c)[1],
                                                              c.shapes["q"][3], c.shapes["q"][2])[i] == 0)(k))
      for k, axis in enumerate(EMPTY_AXES)],
    (RESIZE, None, "upsampling", lambda c: c.params["size"][0] > c.shapes["x"][1]),
    (RESIZE, None, "downsampling", lambda c: c.params["size"][1] < c.shapes["x"][2]),
    (RESIZE, None, "asymmetric past twice the side", lambda c: not c.params["align_corners"]
     and not c.params["half_pixel_centers"] and c.params["size"][1] > 2 * c.shapes["x"][2]),
    (RESIZE, None, "corners aligned to one pixel", lambda c: c.params["align_corners"] and c.params["size"][0] == 1),
    (RESIZE, None, "antialiased downsampling", lambda c: c.params["antialias"]
     and c.params["size"][1] < c.shapes["x"][2]),
    (RESIZE, "large", "large image", lambda c: int(np.prod(c.shapes["x"])) > 65_536),
    (RESIZE, "large", "large output", lambda c: int(np.prod(c.cotangent.shape)) > 65_536),
    (RESIZE, "long", "long output side", lambda c: max(c.params["size"]) >= 257),
]


@pytest.mark.parametrize(("op", "param", "value"), [(op, p, v) for (op, p), vs in REACH.items() for v in vs],
                         ids=lambda v: repr(v))
def test_every_declared_value_is_drawn(op: str, param: str, value: Any) -> None:
    spec = get_op(op)
    assert param in spec.params, f"{op}: {param} is not a declared param"
    case = find(cases(spec, "float64"), lambda c: c.params[param] == value, settings=FIND)
    assert case.params[param] == value


def test_the_first_value_is_where_shrinking_ends() -> None:
    for (op, param), values in REACH.items():
        case = find(cases(get_op(op), "float64", regime="small"), lambda c: True, settings=settings(database=None))
        assert case.params[param] == values[0], (op, param, case.params)


def test_the_conventions_drawn_are_the_defined_ones() -> None:
    """align_corners and half_pixel_centers are never both True (TensorFlow refuses it), in any
    regime."""
    seen = set()
    for regime in get_op(RESIZE).regimes:
        for case in _draw_in(get_op(RESIZE), regime, 12):
            seen.add((case.params["align_corners"], case.params["half_pixel_centers"]))
    assert seen == set(ref.COORDINATES)


@pytest.mark.parametrize(("op", "regime", "label", "holds"), SHAPES, ids=[s[2] for s in SHAPES])
def test_every_relation_between_sides_is_drawn(op: str, regime: str | None, label: str,
                                               holds: Callable[[Case], bool]) -> None:
    case = find(cases(get_op(op), "float64", regime=regime), holds, settings=FIND)
    assert holds(case), label


def test_params_stay_small_whatever_the_sides() -> None:
    """A mask or bias on a long key axis is a pattern of at most 3 x 8 entries, not (T, S)."""
    case = find(cases(get_op(SDPA), "float64", regime="long"),
                lambda c: c.params["mask"] is not None and c.params["bias"] is not None, settings=FIND)
    for name in ("mask", "bias"):
        assert len(case.params[name]) <= 3 and all(len(row) <= 8 for row in case.params[name])


# ---------------------------------------------------------------------------------------------
# the oracle at each value


def _attention_cases() -> list[Edge]:
    out = []
    for t, s in ((2, 5), (3, 3), (5, 2)):
        shapes = {"q": (1, t, 2, 3), "k": (1, s, 2, 3), "v": (1, s, 2, 3)}
        mask = tuple(tuple(j == 0 or (i + j) % 2 == 0 for j in range(s)) for i in range(t))
        bias = tuple(tuple(ref_b for ref_b in (0.0, -1.0, 0.5, -2.0, 1.0)[:s]) for _ in range(t))
        for causal in (False, True):
            for m, b in ((None, None), (mask, None), (None, bias), (mask, bias)):
                label = f"T{t}S{s},causal={causal},mask={m is not None},bias={b is not None}"
                out.append(Edge(SDPA, label, shapes, {"causal": causal, "scale": 0.5, "mask": m, "bias": b}))
    # patterns smaller than the logits, tiled (T = 4, S = 7: rows repeat every 2, columns every 3)
    shapes = {"q": (1, 4, 1, 2), "k": (1, 7, 1, 2), "v": (1, 7, 1, 2)}
    for causal in (False, True):
        out.append(Edge(SDPA, f"tiled,causal={causal}", shapes,
                        {"causal": causal, "scale": 1.0, "mask": ((True, False, True), (True, True, False)),
                         "bias": ((0.5, -1.0, 0.0), (1.0, 0.0, -2.0))}))
    return out


SIZES = (((3, 4), (7, 9)), ((3, 4), (1, 1)), ((1, 4), (5, 2)), ((5, 3), (2, 13)), ((4, 4), (4, 4)), ((6, 7), (2, 3)))


def _resize_cases() -> list[Edge]:
    out = []
    for ac, hp in ref.COORDINATES:
        for (h, w), size in SIZES:
            out.append(Edge(RESIZE, f"{ref.coordinates(ac, hp)},{h}x{w}->{size}", {"x": (1, h, w, 2)},
                            {"size": size, "align_corners": ac, "half_pixel_centers": hp}))
    for (h, w), size in SIZES + (((9, 8), (2, 3)), ((7, 17), (3, 5))):
        out.append(Edge(RESIZE, f"antialias,{h}x{w}->{size}", {"x": (1, h, w, 2)}, {"size": size, "antialias": True}))
    return out


CASES = _attention_cases() + _resize_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_oracle_at_each_value_matches_finite_differences(case: Edge) -> None:
    spec = get_op(case.op)
    check_well_formed(spec, case)
    check_finite_differences(spec, case)
    check_inner_product(spec, case)


def test_tiling_repeats_the_pattern() -> None:
    p = ((1.0, 2.0), (3.0, 4.0), (5.0, 6.0))
    want = np.array([[1, 2, 1, 2, 1], [3, 4, 3, 4, 3], [5, 6, 5, 6, 5], [1, 2, 1, 2, 1]], dtype=float)
    assert np.array_equal(ref.tiled(p, 4, 5), want)
    assert np.array_equal(ref.tiled(p, 3, 2), np.array(p))  # a (T, S) pattern is itself
    assert ref.tiled(p, 0, 5).shape == (0, 5) and ref.tiled(p, 2, 0).shape == (2, 0)


def test_causal_is_top_left_aligned() -> None:
    """T = 3 queries of S = 5 keys: query 0 sees key 0 alone (z = v[0]); T = 4 of S = 2: query
    t >= 1 sees both keys."""
    rng = np.random.default_rng(0)
    q, k, v = rng.standard_normal((1, 3, 1, 2)), rng.standard_normal((1, 5, 1, 2)), rng.standard_normal((1, 5, 1, 2))
    z = ref.scaled_dot_product_attention(q, k, v, causal=True, scale=1.0)
    assert np.array_equal(z[0, 0], v[0, 0])
    full = ref.scaled_dot_product_attention(q[:, :2], k[:, :2], v[:, :2], causal=False, scale=1.0)
    wide = ref.scaled_dot_product_attention(rng.standard_normal((1, 4, 1, 2)), k[:, :2], v[:, :2], causal=True,
                                            scale=1.0)
    assert full.shape == (1, 2, 1, 2) and np.array_equal(wide[0, 0], v[0, 0])
    assert ref.causal_mask(4, 2).tolist() == [[True, False], [True, True], [True, True], [True, True]]


def test_the_conventions_sample_where_they_say() -> None:
    """Two pixels [a, b] resized to 4 (and to 3 with corners aligned), by hand."""
    x = np.array([1.0, 5.0]).reshape(1, 1, 2, 1)

    def row(size, ac, hp):
        return ref.resize_bilinear(x, (1, size), align_corners=ac, half_pixel_centers=hp).ravel().tolist()

    assert row(4, False, True) == [1.0, 2.0, 4.0, 5.0]  # src = -0.25 (clamped), 0.25, 0.75, 1.25 (clamped)
    assert row(3, True, False) == [1.0, 3.0, 5.0]  # src = 0, 0.5, 1
    assert row(4, True, False) == pytest.approx([1.0, 1.0 + 4 / 3, 5.0 - 4 / 3, 5.0], rel=1e-15)
    assert row(4, False, False) == [1.0, 3.0, 5.0, 5.0]  # src = 0, 0.5, 1, 1.5 (clamped)
    assert row(1, True, False) == [1.0] and row(1, False, True) == [3.0] and row(1, False, False) == [1.0]


def test_both_flags_are_refused() -> None:
    with pytest.raises(ValueError, match="refuses"):
        ref.resize_bilinear(np.ones((1, 2, 2, 1)), (3, 3), align_corners=True, half_pixel_centers=True)
    with pytest.raises(ValueError, match="half-pixel centres only"):
        ref.resize_bilinear(np.ones((1, 2, 2, 1)), (1, 1), align_corners=True, half_pixel_centers=False,
                            antialias=True)


def test_antialiasing_widens_the_triangle_when_downsampling() -> None:
    """4 pixels to 1: the kernel is 4 wide around src = 1.5, weights 1 - |j - 1.5| / 4 normalised:
    (0.625, 0.875, 0.875, 0.625) / 3. Upsampling, antialiasing changes nothing; every row of W
    sums to 1."""
    x = np.array([1.0, 2.0, 4.0, 8.0]).reshape(1, 1, 4, 1)
    z = ref.resize_bilinear(x, (1, 1), antialias=True)
    assert z.ravel()[0] == pytest.approx((0.625 * 1 + 0.875 * 2 + 0.875 * 4 + 0.625 * 8) / 3, rel=1e-15)
    for n_in, n_out in ((3, 7), (5, 5), (2, 9)):
        plain = ref.dense(ref.bilinear_weights(n_in, n_out), n_out, n_in)
        aa = ref.dense(ref.bilinear_weights(n_in, n_out, antialias=True), n_out, n_in)
        assert np.allclose(plain, aa, rtol=0, atol=1e-15), (n_in, n_out)
    for n_in, n_out in ((9, 2), (17, 5), (1000, 33), (4, 1)):
        w = ref.dense(ref.bilinear_weights(n_in, n_out, antialias=True), n_out, n_in)
        assert np.allclose(w.sum(axis=1), 1.0, rtol=0, atol=1e-14) and np.all(w >= 0)
        assert (w > 0).sum(axis=1).max() > 2  # wider than the two neighbours


def test_sparse_weights_are_the_dense_formula() -> None:
    """The oracle applies each side's weights as entries (no dense matrices for 4097 sides); they
    are the textbook matrix: row o has 1 - f at floor(src) and f at floor(src) + 1."""
    for (n_in, n_out), (ac, hp) in zip(((3, 7), (5, 2), (4, 4), (2, 9)), tuple(ref.COORDINATES) * 2):
        src = np.clip(ref.source_positions(n_in, n_out, ac, hp), 0, n_in - 1)
        want = np.zeros((n_out, n_in))
        for o, s in enumerate(src):
            lo = int(np.floor(s))
            want[o, lo] += 1 - (s - lo)
            want[o, min(lo + 1, n_in - 1)] += s - lo
        got = ref.dense(ref.bilinear_weights(n_in, n_out, ac, hp), n_out, n_in)
        assert np.allclose(got, want, rtol=0, atol=1e-15), (n_in, n_out, ac, hp)


@pytest.mark.parametrize("sides", LARGE_SIDES, ids=str)
def test_large_attention_is_cheap(sides: tuple[int, int, int]) -> None:
    """The oracle on the large regime's shapes: vectorised, well under a second or two."""
    t, s, h = sides
    rng = np.random.default_rng(0)
    q, k, v, dz = (rng.standard_normal(x) for x in ((1, t, 1, h), (1, s, 1, h), (1, s, 1, h), (1, t, 1, h)))
    start = time.perf_counter()
    g = ref.scaled_dot_product_attention_vjp(q, k, v, dz, causal=True, scale=0.1, mask=((True, False),),
                                             bias=((0.5, -1.0, 0.0),))
    assert time.perf_counter() - start < 5.0
    assert all(np.all(np.isfinite(g[n].value)) for n in "qkv")


def test_large_resize_is_cheap() -> None:
    x = np.random.default_rng(0).standard_normal((1, 257, 257, 1))
    dz = np.random.default_rng(1).standard_normal((1, 257, 257, 1))
    start = time.perf_counter()
    g = ref.resize_bilinear_vjp(x, dz, (257, 257), align_corners=True, half_pixel_centers=False)["x"]
    assert time.perf_counter() - start < 5.0
    assert np.allclose(g.value, dz, rtol=0, atol=1e-12)  # corners aligned at the same size: the identity


# ---------------------------------------------------------------------------------------------
# each framework at each value: the adapters map the conventions (a wrong convention is an O(1)
# error; rounding in float32 is far below the 1e-4 asked here)

ADAPTERS = {"torch": ("torch", "conformance.adapters.torch_adapter", "TorchAdapter"),
            "tensorflow": ("tensorflow", "conformance.adapters.tf_adapter", "TensorFlowAdapter"),
            "jax": ("jax", "conformance.adapters.jax_adapter", "JaxAdapter")}


def _adapter(name: str):
    module, path, cls = ADAPTERS[name]
    pytest.importorskip(module)
    import importlib

    return getattr(importlib.import_module(path), cls)()


@pytest.mark.parametrize("framework", sorted(ADAPTERS))
def test_adapters_map_each_value(framework: str) -> None:
    from conformance.adapters import Unsupported
    from tests.test_oracle_edges import edge_inputs

    adapter = _adapter(framework)
    unsupported = []
    for case in CASES:
        spec = get_op(case.op)
        inputs = edge_inputs(case)
        out = spec.reference(**inputs, **case.params)
        dz = np.random.default_rng(1).standard_normal(out.shape)
        want = spec.reference_vjp(**inputs, dz=dz, **case.params)
        try:
            got = adapter.vjp(spec, {n: v.astype(np.float32) for n, v in inputs.items()},
                              {**spec.param_defaults, **case.params},
                              dz.astype(np.float32), dtype="float32", device="cpu")
        except Unsupported:
            unsupported.append(case.id)
            continue
        for n in spec.differentiable:
            scale = np.max(np.abs(want[n].magnitude), initial=1e-30)
            assert np.max(np.abs(got[n] - want[n].value)) <= 1e-4 * scale, (framework, case.id, n)
    # torch alone has no asymmetric resize; every other case runs (float32: the antialiased gradient
    # has every framework's kernel there, see the expectations tf-resize-antialias-gradient-float32-only
    # and torch-cpu-resize-antialias-half-precision)
    want_unsupported = [c.id for c in CASES if framework == "torch" and "asymmetric" in c.id]
    assert unsupported == want_unsupported
