"""OpSpecs of the attention family: scaled dot-product attention and bilinear resize."""

from __future__ import annotations

import math

from hypothesis import strategies as st

from conformance import regimes
from conformance.opspec import InputSpec, spec_factory
from conformance.strategies import Structure, batch_size, choice, side
from reference import attention

# the family's size regimes (conformance.regimes); no scalar: q, k, v and images have a fixed rank (4)
REGIMES = ("small", "tails", "long", "large", "batch", "empty")
_spec = spec_factory("attention", attention, REGIMES)

# additive mask values: exact in every dtype
BIASES = (0.0, -1.0, 0.5, -2.0, 1.0)
# the largest (R, C) mask or bias pattern drawn where T or S is past the small regime's sides: the
# pattern is tiled over the (T, S) logits (reference.attention.tiled), so params stay small
PATTERN_ROWS, PATTERN_COLS = 3, 8
# attention's large regime: (T, S, H) with one head and batch 1, so q (T, H) or k and v (S, H)
# hold more than 65,536 elements: a long key axis with a tail head size, a long query axis with a
# wide head, and both long
LARGE_SIDES = ((3, 1025, 65), (257, 5, 257), (17, 513, 129), (65, 2049, 33))
# which side an empty case leaves out: the batch, the queries, the keys (every query's softmax
# is then over no key: z = 0), the head size or the heads (jax.nn.dot_product_attention raises
# ZeroDivisionError on zero heads: the expectation jax-sdpa-zero-heads-raises)
EMPTY_AXES = ("batch", "queries", "keys", "head", "heads")


def _pattern_sides(draw, t: int, s: int) -> tuple[int, int]:
    """The (R, C) of a mask pattern: the whole (T, S) when both are small, else up to
    PATTERN_ROWS x PATTERN_COLS, tiled."""
    if t <= 5 and s <= 5:
        return t, s
    return min(t, draw(st.integers(1, PATTERN_ROWS))), min(s, draw(st.integers(1, PATTERN_COLS)))


def _bool_mask(draw, t: int, s: int) -> tuple[tuple[bool, ...], ...] | None:
    """None (no mask) first, else an (R, C) pattern tiled over (T, S) (True: attend) in which
    every query sees key 0 (a row with no key has no softmax): column 0 is all True."""
    if t * s == 0 or not draw(st.booleans()):
        return None
    rows, cols = _pattern_sides(draw, t, s)
    return tuple(tuple(j == 0 or draw(st.booleans()) for j in range(cols)) for _ in range(rows))


def _additive_mask(draw, t: int, s: int) -> tuple[tuple[float, ...], ...] | None:
    """None (no bias) first, else an (R, C) additive pattern tiled over (T, S)."""
    if t * s == 0 or not draw(st.booleans()):
        return None
    rows, cols = _pattern_sides(draw, t, s)
    return tuple(tuple(choice(draw, BIASES) for _ in range(cols)) for _ in range(rows))


def _regime() -> str:
    r = regimes.active()
    return "small" if r is None else r.name


def _sdpa_sides(draw) -> tuple[int, int, int, int, int]:
    """(B, T, S, N, H) in the regime being drawn: tails on the queries, the keys or the head
    size; long keys (the softmax axis); large from LARGE_SIDES within the element budget; a batch
    of 8 to 33; one empty side of EMPTY_AXES."""
    regime = _regime()
    if regime == "large":
        budget = regimes.active().max_elements
        fits = [x for x in LARGE_SIDES if max(x[0], x[1]) * x[2] <= budget] or [LARGE_SIDES[0]]
        t, s, h = choice(draw, fits)
        return batch_size(draw), t, s, 1, h
    b = batch_size(draw) if regime != "empty" else 1
    if regime == "tails":
        first = choice(draw, ("keys", "queries", "head"))
    elif regime == "long":
        first = "keys"  # the softmax axis
    else:
        first = "queries"
    sides = {first: side(draw)}
    for name in ("queries", "keys", "head"):
        if name not in sides:
            sides[name] = draw(st.integers(1, 5))
    t, s, h, n = sides["queries"], sides["keys"], sides["head"], draw(st.integers(1, 3))
    if regime == "empty":
        empty = choice(draw, EMPTY_AXES)
        b, t, s, h = (0 if empty == "batch" else b, 0 if empty == "queries" else t, 0 if empty == "keys" else s,
                      0 if empty == "head" else h)
        n = 0 if empty == "heads" else n
    return b, t, s, n, h


def _sdpa(draw, rng) -> Structure:
    b, t, s, n, h = _sdpa_sides(draw)
    scale = choice(draw, (1.0 / math.sqrt(h), 1.0, 0.5, 0.3) if h else (1.0, 0.5, 0.3))
    params = {"causal": draw(st.booleans()), "scale": scale, "mask": _bool_mask(draw, t, s),
              "bias": _additive_mask(draw, t, s)}
    return Structure({"q": (b, t, n, h), "k": (b, s, n, h), "v": (b, s, n, h)}, params)


# (align_corners, half_pixel_centers): half-pixel centres first (where shrinking ends), corners
# aligned, asymmetric (reference.attention.COORDINATES)
COORDINATES = ((False, True), (True, False), (False, False))


def _resized_side(draw, in_side: int, room: int) -> int:
    """An output side for an input side: 1..8 for a small side; for a tail, long or large one,
    the same side, about half or about twice it (within ``room`` elements per unit of side), or
    1..8."""
    if in_side <= 5:
        return draw(st.integers(1, 8))
    options = [in_side, in_side // 2 + 1] + ([2 * in_side + 1] if 2 * in_side + 1 <= room else [])
    pick = choice(draw, (*options, "small"))
    return draw(st.integers(1, 8)) if pick == "small" else pick


def _source_side(draw, out_side: int) -> int:
    """An input side for an output side drawn in a regime: 1..5, or about half or twice it."""
    if out_side <= 8:
        return draw(st.integers(1, 5))
    pick = choice(draw, ("small", out_side // 2 + 1, 2 * out_side - 1, out_side + 2))
    return draw(st.integers(1, 5)) if pick == "small" else pick


def _resize(draw, rng) -> Structure:
    regime = _regime()
    n = batch_size(draw)
    c = 1 if regime == "large" else draw(st.integers(1, 3))
    align_corners, half_pixel = choice(draw, COORDINATES)
    # half-pixel only; drawn whatever the convention, so the shortest draw is the default's
    antialias = draw(st.booleans()) and (align_corners, half_pixel) == COORDINATES[0]
    budget = regimes.active().max_elements if regimes.active() is not None else regimes.DEFAULT_MAX_ELEMENTS
    if regime in ("tails", "long", "large") and draw(st.booleans()):
        # the regime's side is the output's: upsampling to (or downsampling from a source about) it
        oh, ow = side(draw, 1, 8, of=2), side(draw, 1, 8, of=2)
        h, w = _source_side(draw, oh), _source_side(draw, ow)
        if h * w * c * max(n, 1) > budget:
            h, w = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    else:
        h, w = side(draw, 1, 5, of=2), side(draw, 1, 5, of=2)
        room = budget // max(1, n * c * max(h, w))
        oh, ow = _resized_side(draw, h, room), _resized_side(draw, w, room)
        if n * c * oh * ow > budget:
            oh, ow = h, w
    return Structure({"x": (n, h, w, c)}, {"size": (oh, ow), "align_corners": align_corners,
                                            "half_pixel_centers": half_pixel, "antialias": antialias})


OPS = [
    _spec(
        name="scaled_dot_product_attention",
        inputs=(InputSpec("q"), InputSpec("k"), InputSpec("v")),
        structure=_sdpa,
        formula="P = softmax(scale q k^T + bias [masked]);  dv = P^T dz,  dS = P * (dz v^T - rowsum(P * dz v^T)),  "
        "dq = scale dS k,  dk = scale dS^T q",
        params=("causal", "scale", "mask", "bias"),
        notes="q (B, T, N, H), k and v (B, S, N, H) (jax's BTNH layout); T and S drawn independently (T < S, "
        "T = S and T > S); `scale` is explicit (1/sqrt(H), 1, 0.5 or 0.3); `causal` masks keys s > t (top-left "
        "aligned, as torch's is_causal, jax's is_causal and Keras's use_causal_mask define it for T != S). "
        "mask: None or an (R, C) boolean pattern tiled over (T, S) (True: attend; key 0 always seen), and with "
        "`causal`; bias: None or an (R, C) additive pattern (0, -1, 0.5, -2, 1) tiled over (T, S) and added to the "
        "scaled logits; R, C = T, S in small cases, at most 3 x 8 beyond; both broadcast over batch and heads. "
        "Regimes: tails on T, S or H; long keys (S = 257..4097: the softmax axis); large q or k, v (one head); "
        "a batch of 8..33; empty batch, queries, keys (z = 0), head size or heads. No dropout.",
    ),
    _spec(
        name="resize_bilinear",
        inputs=(InputSpec("x"),),
        structure=_resize,
        formula="dx = Wh^T dz Ww (per image and channel), W the bilinear interpolation matrices of the coordinate "
        "convention",
        params=("size", "align_corners", "half_pixel_centers", "antialias"),
        notes="x NHWC, size = (out height, out width), up- and downsampling; coordinates (align_corners, "
        "half_pixel_centers): (False, True) half-pixel centres, src = (o + 0.5) in/out - 0.5 clamped to the edge "
        "(torch align_corners=False, tf.image.resize, jax.image.resize); (True, False) corners aligned, "
        "src = o (in - 1)/(out - 1); (False, False) asymmetric, src = o in/out (TensorFlow 1's default; torch "
        "has none). antialias (half-pixel only): the triangle kernel widened by max(in/out, 1) when downsampling, "
        "normalised over the image's pixels (torch antialias=True, tf.image.resize and jax.image.resize "
        "antialias=True); upsampling it is plain bilinear. Regimes: tails, long or large sides of the image or of "
        "the output; a batch "
        "of 8..33; an empty batch (an empty side or zero channels: not every framework takes them).",
    ),
]
