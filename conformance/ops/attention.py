"""OpSpecs of the attention family: scaled dot-product attention and bilinear resize."""

from __future__ import annotations

import math

from hypothesis import strategies as st

from conformance.opspec import InputSpec, spec_factory
from conformance.strategies import Structure, choice
from reference import attention

_spec = spec_factory("attention", attention)


def _sdpa(draw, rng) -> Structure:
    b, t, s = draw(st.integers(1, 2)), draw(st.integers(1, 5)), draw(st.integers(1, 5))
    n, h = draw(st.integers(1, 3)), draw(st.integers(1, 5))
    scale = choice(draw, (1.0 / math.sqrt(h), 1.0, 0.5, 0.3))
    params = {"causal": draw(st.booleans()), "scale": scale}
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
        formula="P = softmax(scale q k^T [masked]);  dv = P^T dz,  dS = P * (dz v^T - rowsum(P * dz v^T)),  "
        "dq = scale dS k,  dk = scale dS^T q",
        params=("causal", "scale"),
        notes="q (B, T, N, H), k and v (B, S, N, H) (jax's BTNH layout); `scale` is explicit (1/sqrt(H), 1, "
        "0.5 or 0.3); `causal` masks keys s > t (top-left aligned, as torch and jax define it for T != S). "
        "No dropout, no extra mask.",
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
