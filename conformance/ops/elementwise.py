"""OpSpecs of the elementwise family: unary math and activations, and binary ops with
broadcasting (their gradients summed back over the broadcast dimensions)."""

from __future__ import annotations

import math

import numpy as np

from conformance.opspec import InputSpec, Kink, OpSpec, Special, spec_factory
from conformance.strategies import Structure, away_from, broadcast_shapes, choice, kink_margin, shape
from reference import elementwise as E

X = InputSpec("x")
Y = InputSpec("y")
POSITIVE_X = InputSpec("x", "positive")
POSITIVE_Y = InputSpec("y", "positive")

LEAKY_SLOPES = (0.01, 0.2, 0.5, 0.1, 2.0)
ELU_ALPHAS = (1.0, 0.5, 1.5, 2.0, 0.25)
# clip bounds: exactly representable in every dtype
CLIP_LOWS = (-1.0, -0.5, 0.0, -2.0, 0.25)
CLIP_WIDTHS = (2.0, 0.5, 1.0, 4.0)


def _low_precision(dtype) -> bool:
    return dtype.name in ("float16", "bfloat16")


def _round(values: np.ndarray, dtype) -> np.ndarray:
    """Values as the test dtype will hold them (float64)."""
    return np.asarray(values, dtype=np.float64).astype(dtype.numpy).astype(np.float64)


def _ulp(values: np.ndarray, dtype) -> np.ndarray:
    a = np.maximum(np.abs(values), dtype.smallest_normal)
    return np.exp2(np.floor(np.log2(a)) - (dtype.mantissa_bits - 1))


# ---------------------------------------------------------------------------------------------
# structures


def _unary(draw, rng) -> Structure:
    return Structure({"x": shape(draw)})


def _binary(draw, rng) -> Structure:
    xs, ys = broadcast_shapes(draw)
    return Structure({"x": xs, "y": ys})


def _leaky_relu(draw, rng) -> Structure:
    return Structure({"x": shape(draw)}, {"slope": choice(draw, LEAKY_SLOPES)})


def _elu(draw, rng) -> Structure:
    return Structure({"x": shape(draw)}, {"alpha": choice(draw, ELU_ALPHAS)})


def _gelu(draw, rng) -> Structure:
    return Structure({"x": shape(draw)}, {"approximate": choice(draw, ("none", "tanh"))})


# softplus: beta powers of two (beta x and / beta exact); threshold None (no switch) first, torch's
# default 20, and 2 (the switch inside the drawn range at every scale)
SOFTPLUS_BETAS = (1.0, 2.0, 0.5)
SOFTPLUS_THRESHOLDS = (None, 20.0, 2.0)


def _softplus(draw, rng) -> Structure:
    return Structure({"x": shape(draw)}, {"beta": choice(draw, SOFTPLUS_BETAS),
                                          "threshold": choice(draw, SOFTPLUS_THRESHOLDS)})


def _clip(draw, rng) -> Structure:
    lo = choice(draw, CLIP_LOWS)
    return Structure({"x": shape(draw)}, {"lo": lo, "hi": lo + choice(draw, CLIP_WIDTHS)})


# ---------------------------------------------------------------------------------------------
# avoid(): kinks and domain edges


def _away(*points):
    """avoid() for kinks at fixed points of x."""

    def avoid(values, params, dtype):
        return {**values, "x": away_from(values["x"], points, kink_margin(dtype))}

    return avoid


def _softplus_avoid(values, params, dtype):
    """x away from the switch to the identity, beta x = threshold (where there is one; a case that
    leaves the params out has the oracle's defaults: no threshold)."""
    threshold = params.get("threshold")
    if threshold is None:
        return values
    switch = threshold / params.get("beta", 1.0)
    return {**values, "x": away_from(values["x"], [switch], kink_margin(dtype))}


def _clip_avoid(values, params, dtype):
    """x away from both clip bounds."""
    return {**values, "x": away_from(values["x"], [params["lo"], params["hi"]], kink_margin(dtype))}


def _exp_cap(dtype) -> float:
    """Largest x whose exp, times a cotangent (|dz| < 16 in low precision, < 1e3 otherwise), stays
    in range."""
    return math.log(dtype.max) - math.log(16.0 if _low_precision(dtype) else 1e3)


def _exp_avoid(values, params, dtype):
    """exp(x) (and dz exp(x)) in range: x above the cap folded back below it (x -> cap - ((x - cap)
    mod cap)), which keeps the values spread instead of piling them on the cap."""
    x = np.asarray(values["x"], dtype=np.float64)
    cap = _exp_cap(dtype)
    return {**values, "x": np.where(x > cap, cap - np.mod(x - cap, cap), x)}


LOG1P_FLOOR = -1.0 + 1.0 / 32.0


def _log1p_avoid(values, params, dtype):
    """x > -1 with room: values below -1 + 1/32 reflected above it (x -> 2 floor - x)."""
    x = np.asarray(values["x"], dtype=np.float64)
    return {**values, "x": np.where(x < LOG1P_FLOOR, 2.0 * LOG1P_FLOOR - x, x)}


TAN_POLE_DISTANCE = 0.1


def _tan_avoid(values, params, dtype):
    """x at least 0.1 from every pole pi/2 + k pi *after* rounding to the test dtype (at large |x|
    low-precision rounding moves x by a good part of that): values too close are moved to the
    nearest dtype value at least 0.1 from the pole, on their side."""
    x = _round(values["x"], dtype)
    pole = math.pi / 2 + math.pi * np.round((x - math.pi / 2) / math.pi)
    side = np.where(x >= pole, 1.0, -1.0)
    near = np.abs(x - pole) < TAN_POLE_DISTANCE
    moved = _round(pole + side * TAN_POLE_DISTANCE, dtype)
    # one dtype ulp further out where rounding brought the moved value back inside
    moved = np.where(np.abs(moved - pole) < TAN_POLE_DISTANCE, moved + side * _ulp(moved, dtype), moved)
    return {**values, "x": np.where(near, moved, x)}


def _pow_avoid(values, params, dtype):
    """x^y in range: where |y log x| exceeds L = log(max)/4, y is folded to
    sign(t) (|t| mod L) / log x with t = y log x (the base, positive, is left alone). L leaves
    room for the factor y / x and the cotangent in dx = dz y x^(y - 1)."""
    x = np.asarray(values["x"], dtype=np.float64)
    y = np.asarray(values["y"], dtype=np.float64)
    limit = math.log(dtype.max) / 4.0
    lx = np.log(x)
    # fold each y against the largest |log x| it meets by broadcasting
    shape = np.broadcast_shapes(x.shape, y.shape)
    lead = len(shape) - y.ndim
    big = np.broadcast_to(np.abs(lx), shape)
    big = big.max(axis=tuple(range(lead)), initial=0.0) if lead else big
    axes = tuple(i for i, n in enumerate(y.shape) if n == 1 and big.shape[i] != 1)
    big = big.max(axis=axes, keepdims=True, initial=0.0) if axes else big
    big = np.maximum(big.reshape(y.shape), 1e-300)
    t = y * big
    folded = np.sign(t) * np.mod(np.abs(t), limit) / big
    return {**values, "y": np.where(np.abs(t) > limit, folded, y)}


def _atan2_avoid(values, params, dtype):
    """The origin is singular and x^2 + y^2 must stay a normal number: |x| >= 8 sqrt(smallest
    normal) (0.0625 in float16, ~1e-18 in float32, far below any drawn value elsewhere)."""
    m = 8.0 * math.sqrt(dtype.smallest_normal)
    return {**values, "x": away_from(values["x"], [0.0], m)}


def _no_ties(values, params, dtype):
    """No x equal to a y it meets by broadcasting, before or after rounding: x on the even and y
    on the odd multiples of m = 8 u max(|x|, |y|), so every pair differs by at least m, 8 times
    what rounding to the dtype can move any value (u max(|x|, |y|)), and far more than the
    oracle's finite-difference step. Per-pair margins cannot work here: one y may meet hundreds
    of x values, which in float16 leave no room for kink_margin around each."""
    x = np.asarray(values["x"], dtype=np.float64)
    y = np.asarray(values["y"], dtype=np.float64)
    top = max(float(np.abs(x).max(initial=0.0)), float(np.abs(y).max(initial=0.0)), 1e-300)
    m = kink_margin(dtype) / 8.0 * top
    return {**values, "x": 2.0 * m * np.round(x / (2.0 * m)), "y": 2.0 * m * np.floor(y / (2.0 * m)) + m}


# ---------------------------------------------------------------------------------------------
# kinks (probe inputs: exact in every dtype)


def _kink_x(name, description, x, at, params=None) -> Kink:
    return Kink(name, description, inputs={"x": np.array(x)}, params=params or {}, at={"x": at})


ZERO_PROBE = [0.0, 1.0, -1.0]
# same shapes (no broadcasting), so each probed gradient is the split at one tie alone
TIE_PROBE = {"x": np.array([1.0, -0.5, 2.0]), "y": np.array([1.0, -0.5, 0.5])}


def _tie(which):
    return Kink(
        "tie",
        f"x == y: dx = t dz, dy = (1 - t) dz for any t in [0, 1] ({which} is x or y; t = 1/2 splits it)",
        inputs=TIE_PROBE,
        at={"x": [[0], [1]], "y": [[0], [1]]},
    )


DIVIDE_BY_ZERO = Special(
    "zero divisor",
    {"x": np.array([1.0, -2.0, 0.0, 3.0]), "y": np.array([0.0, 0.0, 0.0, -0.0])},
    "dx = dz / y is ±inf at y = ±0; dy = -dz x / y^2 is -inf sign(x) for x != 0 (y^2 = +0) and "
    "nan for x = 0 (0 / 0)",
)

ATAN2_ORIGIN = Special(
    "origin",
    {"x": np.array([0.0, -0.0, 1.0]), "y": np.array([0.0, 0.0, -0.0])},
    "the origin is singular: dx = dz y / (x^2 + y^2) and dy are 0 / 0 = nan there; (1, -0) is "
    "regular (dx = -0, dy = -dz)",
)


# ---------------------------------------------------------------------------------------------


REGIMES = ("small", "tails", "long", "large", "empty", "scalar")  # the family's size regimes (conformance.regimes)
_spec = spec_factory("elementwise", E, REGIMES)


def _u(name, formula, **kw) -> OpSpec:
    return _spec(name, (X,), kw.pop("structure", _unary), formula, **kw)


def _b(name, formula, **kw) -> OpSpec:
    return _spec(name, kw.pop("inputs", (X, Y)), _binary, formula, **kw)


UB = "each summed over the dimensions it was broadcast along"

OPS = [
    # arithmetic and powers
    _u("neg", "dx = -dz"),
    _u(
        "abs", "dx = dz * sign(x)",
        kinks=(_kink_x("x=0", "any value in [-1, 1] times dz (0 is usual)", ZERO_PROBE, [[0]]),),
        avoid=_away(0.0),
    ),
    _u("square", "dx = 2 * x * dz"),
    _spec("sqrt", (POSITIVE_X,), _unary, "dx = dz / (2 * sqrt(x))"),
    _spec("rsqrt", (POSITIVE_X,), _unary, "dx = -dz / (2 * x^(3/2)) = -dz * z^3 / 2,  z = rsqrt(x)"),
    _spec("reciprocal", (POSITIVE_X,), _unary, "dx = -dz / x^2 = -dz * z^2,  z = 1 / x",
          notes="Positive x: 1/x^2 near 0 leaves float16's range; the sign does not change the formula."),
    # exponentials, logarithms, trigonometry
    _u("exp", "dx = dz * exp(x)", avoid=_exp_avoid,
       notes="x above log(max dtype / headroom) is folded back below it so dz * exp(x) stays in range."),
    _u("expm1", "dx = dz * exp(x) = dz * (z + 1),  z = expm1(x)", avoid=_exp_avoid,
       notes="x above log(max dtype / headroom) is folded back below it so dz * exp(x) stays in range."),
    _spec("log", (POSITIVE_X,), _unary, "dx = dz / x"),
    _u("log1p", "dx = dz / (1 + x)", avoid=_log1p_avoid,
       notes="x < -1 + 1/32 is reflected above that floor (the domain is x > -1)."),
    _u("sin", "dx = dz * cos(x)"),
    _u("cos", "dx = -dz * sin(x)"),
    _u("tan", "dx = dz * (1 + tan(x)^2) = dz / cos(x)^2", avoid=_tan_avoid,
       notes="x kept at least 0.1 from the poles pi/2 + k pi (after rounding to the test dtype)."),
    _u("tanh", "dx = dz * (1 - z^2),  z = tanh(x)"),
    _u("erf", "dx = dz * 2 / sqrt(pi) * exp(-x^2)"),
    # activations
    _u("sigmoid", "dx = dz * s * (1 - s),  s = sigmoid(x)", seed=True),
    _u("log_sigmoid", "dx = dz * sigmoid(-x) = dz * (1 - sigmoid(x))"),
    _u(
        "relu", "dx = dz * [x > 0]",
        kinks=(_kink_x("x=0", "any value in [0, 1] times dz (0 is usual)", ZERO_PROBE, [[0]]),),
        avoid=_away(0.0),
    ),
    _u(
        "relu6", "dx = dz * [0 < x < 6]",
        kinks=(
            _kink_x("x=0", "any value in [0, 1] times dz (0 is usual)", ZERO_PROBE, [[0]]),
            _kink_x("x=6", "any value in [0, 1] times dz (0 is usual)", [6.0, 5.0, 7.0], [[0]]),
        ),
        avoid=_away(0.0, 6.0),
    ),
    _u(
        "hardswish", "dx = dz * (2x + 3) / 6 for -3 < x < 3, dz for x > 3, 0 for x < -3",
        kinks=(
            _kink_x("x=-3", "any value between 0 and -1/2 times dz", [-3.0, -2.0, -4.0], [[0]]),
            _kink_x("x=3", "any value between 1 and 3/2 times dz", [3.0, 2.0, 4.0], [[0]]),
        ),
        avoid=_away(-3.0, 3.0),
    ),
    _u(
        "leaky_relu", "dx = dz for x > 0, slope * dz for x < 0", structure=_leaky_relu, params=("slope",),
        kinks=(_kink_x("x=0", "any value between slope and 1 times dz", ZERO_PROBE, [[0]], {"slope": 0.2}),),
        avoid=_away(0.0),
    ),
    _u(
        "elu", "dx = dz for x > 0, dz * alpha * exp(x) = dz * (z + alpha) for x < 0",
        structure=_elu, params=("alpha",),
        kinks=(
            _kink_x("x=0", "alpha != 1: any value between alpha and 1 times dz (one-sided derivatives "
                    "alpha and 1); alpha = 1 is differentiable (dz)", ZERO_PROBE, [[0]], {"alpha": 0.5}),
        ),
        avoid=_away(0.0),
    ),
    _u(
        "selu", "dx = scale * dz for x > 0, dz * scale * alpha * exp(x) for x < 0 "
        "(scale = 1.0507009873554805, alpha = 1.6732632423543772)",
        kinks=(_kink_x("x=0", "any value between scale (1.0507) and scale * alpha (1.7581) times dz",
                       ZERO_PROBE, [[0]]),),
        avoid=_away(0.0),
    ),
    _u(
        "gelu", "none: dx = dz * (Phi(x) + x * phi(x));  tanh: dx = dz * ((1 + t) / 2 + x * (1 - t^2) * "
        "sqrt(2/pi) * (1 + 3 * 0.044715 * x^2) / 2),  t = tanh(sqrt(2/pi) * (x + 0.044715 * x^3))",
        structure=_gelu, params=("approximate",),
        notes='approximate="none" is the exact x * Phi(x) (Phi the normal cdf, via erf/erfc); "tanh" the '
              "tanh approximation.",
    ),
    _u("silu", "dx = dz * s * (1 + x * (1 - s)),  s = sigmoid(x)"),
    _u("softplus", "dx = dz * sigmoid(beta x)  (dx = dz where beta x > threshold)", structure=_softplus,
       params=("beta", "threshold"),
       kinks=(_kink_x("beta x=threshold", "the function jumps by log(1 + exp(-threshold)) / beta onto the identity: "
                      "the derivative is sigmoid(threshold) at and below the switch, 1 above it (torch's `>`)",
                      [2.0, 0.0, 3.0], [[0]], {"beta": 1.0, "threshold": 2.0}),),
       avoid=_softplus_avoid,
       notes="z = log(1 + exp(beta x)) / beta, beta 1, 2 or 0.5; threshold None (the mathematical function: a "
             "framework that switches to the identity by default, torch above beta x = 20, returns dz there "
             "instead of dz * sigmoid(x)), 20 or 2: z = x where beta x > threshold."),
    _u("softsign", "dx = dz / (1 + |x|)^2", avoid=_away(0.0),
       notes="Differentiable at 0, but f'' jumps there: x is kept off 0 by the kink margin so the oracle's "
             "finite differences see a smooth function (no kink to probe)."),
    _u(
        "clip", "dx = dz * [lo < x < hi]", structure=_clip, params=("lo", "hi"),
        kinks=(
            _kink_x("x=lo", "any value in [0, 1] times dz", [-1.0, 0.0, -2.0], [[0]], {"lo": -1.0, "hi": 1.0}),
            _kink_x("x=hi", "any value in [0, 1] times dz", [1.0, 0.0, 2.0], [[0]], {"lo": -1.0, "hi": 1.0}),
        ),
        avoid=_clip_avoid,
    ),
    # binary, broadcasting
    _b("add", f"dx = dz, dy = dz  ({UB})"),
    _b("subtract", f"dx = dz, dy = -dz  ({UB})"),
    _b("multiply", f"dx = dz * y, dy = dz * x  ({UB})"),
    _b("divide", f"dx = dz / y, dy = -dz * x / y^2  ({UB})", inputs=(X, POSITIVE_Y), specials=(DIVIDE_BY_ZERO,),
       notes="Positive divisor: the sign does not change the formula, and |y| away from 0 keeps x / y^2 in "
             "float16's range."),
    _b(
        "pow", f"dx = dz * y * x^(y - 1), dy = dz * x^y * log(x)  ({UB})", inputs=(POSITIVE_X, Y),
        kinks=(
            Kink(
                "x=0",
                "base 0, y > 0: dx = y * 0^(y-1) * dz is 0 for y > 1, dz for y = 1, +inf for 0 < y < 1; "
                "dy = 0 (0^y is 0 for every y > 0, though x^y log x evaluates 0 * -inf). (0, 0) is left "
                "out: dy is undefined there (0^y jumps from 1 to 0).",
                inputs={"x": np.array([0.0, 0.0, 0.0, 0.0, 2.0]), "y": np.array([2.0, 1.0, 0.5, 3.0, 3.0])},
                at={"x": [[0], [1], [2], [3]], "y": [[0], [1], [2], [3]]},
            ),
        ),
        avoid=_pow_avoid,
        notes="Positive base; |y log x| folded below log(max dtype)/4 so x^y stays in range.",
    ),
    _b("maximum", f"dx = dz * [x > y], dy = dz * [y > x]  ({UB})", kinks=(_tie("max"),), avoid=_no_ties),
    _b("minimum", f"dx = dz * [x < y], dy = dz * [y < x]  ({UB})", kinks=(_tie("min"),), avoid=_no_ties),
    _b("atan2", f"dx = dz * y / (x^2 + y^2), dy = -dz * x / (x^2 + y^2)  ({UB})", avoid=_atan2_avoid,
       specials=(ATAN2_ORIGIN,),
       notes="atan2(x, y) is the angle of the point (y, x): x is the numerator, as torch.atan2(x, y), "
             "tf.math.atan2(x, y) and jnp.arctan2(x, y)."),
    _b("squared_difference", f"dx = 2 * dz * (x - y), dy = -2 * dz * (x - y)  ({UB})"),
]
