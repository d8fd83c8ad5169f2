"""OpSpecs of the attention family: scaled dot-product attention and bilinear resize."""

from __future__ import annotations

import math

from hypothesis import strategies as st

from conformance.opspec import InputSpec, spec_factory
from conformance.strategies import Structure, choice
from reference import attention

_spec = spec_factory("attention", attention)


# additive mask values: exact in every dtype
BIASES = (0.0, -1.0, 0.5, -2.0, 1.0)


def _bool_mask(draw, t: int, s: int) -> tuple[tuple[bool, ...], ...] | None:
    """None (no mask) first, else a (T, S) mask (True: attend) in which every query sees key 0
    (a row with no key has no softmax)."""
    if not draw(st.booleans()):
        return None
    return tuple(tuple(j == 0 or draw(st.booleans()) for j in range(s)) for _ in range(t))


def _additive_mask(draw, t: int, s: int) -> tuple[tuple[float, ...], ...] | None:
    """None (no bias) first, else a (T, S) additive mask."""
    if not draw(st.booleans()):
        return None
    return tuple(tuple(choice(draw, BIASES) for _ in range(s)) for _ in range(t))


def _sdpa(draw, rng) -> Structure:
    b, t, s = draw(st.integers(1, 2)), draw(st.integers(1, 5)), draw(st.integers(1, 5))
    n, h = draw(st.integers(1, 3)), draw(st.integers(1, 5))
    scale = choice(draw, (1.0 / math.sqrt(h), 1.0, 0.5, 0.3))
    params = {"causal": draw(st.booleans()), "scale": scale, "mask": _bool_mask(draw, t, s),
              "bias": _additive_mask(draw, t, s)}
    return Structure({"q": (b, t, n, h), "k": (b, s, n, h), "v": (b, s, n, h)}, params)


def _resize(draw, rng) -> Structure:
    n, h, w, c = draw(st.integers(1, 2)), draw(st.integers(1, 5)), draw(st.integers(1, 5)), draw(st.integers(1, 3))
    size = (draw(st.integers(1, 8)), draw(st.integers(1, 8)))
    return Structure({"x": (n, h, w, c)}, {"size": size})


OPS = [
    _spec(
        name="scaled_dot_product_attention",
        inputs=(InputSpec("q"), InputSpec("k"), InputSpec("v")),
        structure=_sdpa,
        formula="P = softmax(scale q k^T + bias [masked]);  dv = P^T dz,  dS = P * (dz v^T - rowsum(P * dz v^T)),  "
        "dq = scale dS k,  dk = scale dS^T q",
        params=("causal", "scale", "mask", "bias"),
        notes="q (B, T, N, H), k and v (B, S, N, H) (jax's BTNH layout); `scale` is explicit (1/sqrt(H), 1, "
        "0.5 or 0.3); `causal` masks keys s > t (top-left aligned, as torch and jax define it for T != S). "
        "mask: None or a (T, S) boolean mask (True: attend; key 0 always seen), and with `causal`; bias: None or "
        "a (T, S) additive mask (0, -1, 0.5, -2, 1) added to the scaled logits; both broadcast over batch and "
        "heads. No dropout.",
    ),
    _spec(
        name="resize_bilinear",
        inputs=(InputSpec("x"),),
        structure=_resize,
        formula="dx = Wh^T dz Ww (per image and channel), W the half-pixel bilinear interpolation matrices",
        params=("size",),
        notes="x NHWC, size = (out height, out width), up- and downsampling (1..5 -> 1..8); half-pixel centres "
        "(src = (o + 0.5) in/out - 0.5, clamped to the edge), no antialiasing.",
    ),
]
