"""Elementwise ops: unary math and activations, and binary ops with broadcasting.

Notation as in the seed: ``z = f(x)`` (or ``z = f(x, y)``) elementwise, ``dz`` the cotangent.
Unary VJPs are ``dx = dz * f'(x)``. Binary VJPs are the elementwise partials times ``dz``, summed
back over the dimensions each input was broadcast along (``unbroadcast``); ``terms`` is then
the number of output elements summed into each input element.

Magnitudes are the VJP expression on absolute values. Where frameworks evaluate the derivative
from a rounded intermediate (the op's own output, a shifted argument of exp, ``y - 1`` in pow)
the magnitude adds what that rounding can explain; each docstring says which.

Functions never raise on special values: where the true gradient is infinite or undefined
(log at 0, pow of base 0, atan2 at the origin) they return IEEE inf or nan.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from reference._grad import Grad, broadcast_factor, f64, unbroadcast

SQRT_PI = math.sqrt(math.pi)
SQRT_2 = math.sqrt(2.0)
TWO_OVER_SQRT_PI = 2.0 / SQRT_PI
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
# selu's constants (Klambauer et al. 2017), as torch, TensorFlow and JAX spell them
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
# the tanh approximation of gelu: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
GELU_K = math.sqrt(2.0 / math.pi)
GELU_C = 0.044715


def _ieee(fn):
    """Evaluate ``fn`` with IEEE semantics: overflow, 0/0 and the like give inf/nan silently."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with np.errstate(all="ignore"):
            return fn(*args, **kwargs)

    return wrapper


def _unary(x: np.ndarray, dz: np.ndarray, d: np.ndarray, mag: np.ndarray,
           tiny: np.ndarray | float = 1.0) -> dict[str, Grad]:
    """``dx = dz * d`` with magnitude ``|dz| * mag`` (mag is the derivative's own magnitude).

    A nan input has no gradient (nan). Where the magnitude model overflows or is undefined (at
    ±inf, near overflow) the magnitude falls back to |dx|, so it stays finite wherever dx is.
    """
    value = np.where(np.isnan(x), np.nan, dz * d)
    magnitude = np.abs(dz) * mag
    magnitude = np.where(np.isfinite(magnitude), np.maximum(magnitude, np.abs(value)), np.abs(value))
    return {"x": Grad(value, np.asarray(magnitude, dtype=np.float64), tiny=tiny)}


# ---------------------------------------------------------------------------------------------
# special functions in float64 (NumPy has no erf)


def _erf_series(x: np.ndarray) -> np.ndarray:
    """erf(x) = 2/sqrt(pi) x exp(-x^2) sum_k (2x^2)^k / (1*3*...*(2k+1)), for |x| <= 2.

    Every term is positive (no cancellation); the series is summed by Horner's rule from the
    smallest term, and the same rounded x^2 feeds exp and the series, whose errors then cancel to
    first order. Accurate to a few ulps.
    """
    p = x * x
    q = 2.0 * p
    s = np.ones_like(x)
    for k in range(60, 0, -1):
        s = 1.0 + s * (q / (2 * k + 1))
    return TWO_OVER_SQRT_PI * x * np.exp(-p) * s


def _erfc_cf(x: np.ndarray) -> np.ndarray:
    """erfc(x) for x >= 2 by Laplace's continued fraction
    erfc(x) = exp(-x^2) / sqrt(pi) / (x + (1/2) / (x + 1 / (x + (3/2) / (x + ...)))),
    evaluated backwards over 100 levels (a few ulps for x >= 2)."""
    t = x.copy()
    for k in range(100, 0, -1):
        t = x + (0.5 * k) / t
    return np.exp(-x * x) / (SQRT_PI * t)


@_ieee
def erfc_pos(x: np.ndarray) -> np.ndarray:
    """erfc(x) with full relative accuracy in the tail x >= 2 (1 - erf(x) below that)."""
    x = np.asarray(x, dtype=np.float64)
    small = np.abs(x) < 2.0
    tail = np.where(small, 3.0, np.abs(x))
    e_tail = _erfc_cf(tail)
    s = _erf_series(np.where(small, x, 0.0))
    # erfc(-t) = 2 - erfc(t)
    return np.where(small, 1.0 - s, np.where(x > 0, e_tail, 2.0 - e_tail))


@_ieee
def erf_f64(x: np.ndarray) -> np.ndarray:
    """erf(x) in float64, vectorised (series for |x| < 2, continued fraction beyond)."""
    x = np.asarray(x, dtype=np.float64)
    small = np.abs(x) < 2.0
    s = _erf_series(np.where(small, x, 0.0))
    big = 1.0 - _erfc_cf(np.where(small, 3.0, np.abs(x)))
    out = np.where(small, s, np.sign(x) * big)
    return np.where(np.isnan(x), np.nan, out)


@_ieee
def normal_cdf(x: np.ndarray) -> np.ndarray:
    """Phi(x) = erfc(-x / sqrt 2) / 2, accurate in the lower tail too."""
    return 0.5 * erfc_pos(-np.asarray(x, dtype=np.float64) / SQRT_2)


@_ieee
def normal_pdf(x: np.ndarray) -> np.ndarray:
    return INV_SQRT_2PI * np.exp(-0.5 * np.asarray(x, dtype=np.float64) ** 2)


@_ieee
def sigmoid_f64(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)) without overflow."""
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


@_ieee
def softplus_f64(x: np.ndarray) -> np.ndarray:
    """log(1 + exp(x)) without overflow: max(x, 0) + log1p(exp(-|x|))."""
    x = np.asarray(x, dtype=np.float64)
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


# softplus's output z = max(x, 0) + log1p(exp(-|x|)) is one IEEE addition of an exact max(x, 0)
# and a small term: its rounding error is u |z| at most, and no more than the small term itself
# once that drops below half an ulp of max(x, 0) (z then rounds onto x). In units of u that is
# min(|z|, gap / u) <= min(|z|, gap * 2^53) for every dtype (float64 has the smallest u).
INV_U64 = 2.0**53


def _rounded(r: np.ndarray, gap: np.ndarray) -> np.ndarray:
    """Rounding error (units of u) of a sum r = exact + gap, rounded once (see above)."""
    return np.minimum(np.abs(r), np.abs(gap) * INV_U64)


def _shift_cond(x: np.ndarray) -> np.ndarray:
    """Conditioning of sigmoid(x) evaluated as exp(x - z), z = softplus(x) (JAX's logaddexp
    derivative): exp's argument x - z = -softplus(-x) is rounded (relative error u |x - z| in
    exp, as softmax's shifted argument), and so is z (u |z|, or the gap log1p(exp(-|x|)) once z
    has saturated onto max(x, 0); see _rounded)."""
    return 1.0 + softplus_f64(-x) + _rounded(softplus_f64(x), np.log1p(np.exp(-np.abs(x))))


# ---------------------------------------------------------------------------------------------
# unary: arithmetic and powers


@_ieee
def neg(x):
    """z = -x."""
    (x,) = f64(x)
    return -x


@_ieee
def neg_vjp(x, dz):
    """dx = -dz. The derivative does not depend on x, so it is -dz even where x is nan or inf."""
    x, dz = f64(x, dz)
    return {"x": Grad(-dz * np.ones_like(x), np.abs(dz) * np.ones_like(x))}


@_ieee
def abs(x):
    """z = |x|."""
    (x,) = f64(x)
    return np.abs(x)


@_ieee
def abs_vjp(x, dz):
    """dx = dz * sign(x); at x = 0 any value in [-1, 1] times dz is a subgradient (0 here)."""
    x, dz = f64(x, dz)
    return _unary(x, dz, np.sign(x), np.ones_like(x))


@_ieee
def square(x):
    """z = x^2."""
    (x,) = f64(x)
    return x * x


@_ieee
def square_vjp(x, dz):
    """dx = 2 x dz."""
    x, dz = f64(x, dz)
    return _unary(x, dz, 2.0 * x, 2.0 * np.abs(x))


@_ieee
def sqrt(x):
    """z = sqrt(x), x >= 0."""
    (x,) = f64(x)
    return np.sqrt(x)


@_ieee
def sqrt_vjp(x, dz):
    """dx = dz / (2 sqrt(x)) (+inf times dz at x = 0)."""
    x, dz = f64(x, dz)
    d = 0.5 / np.sqrt(x)
    return _unary(x, dz, d, np.abs(d))


@_ieee
def rsqrt(x):
    """z = 1 / sqrt(x), x > 0."""
    (x,) = f64(x)
    return 1.0 / np.sqrt(x)


@_ieee
def rsqrt_vjp(x, dz):
    """dx = -dz / (2 x^(3/2)) = -dz z^3 / 2 (-inf times dz at x = ±0: x^(3/2) is +0 at -0 too,
    while forming z^3 from z = rsqrt(-0) = -inf gives +inf).

    Magnitude: torch and TensorFlow form z^3 from the rounded output z, tripling its rounding
    error: ``|dz| |z^3| / 2 * (1 + 3)`` (1 for the arithmetic, 3 for z's error cubed).
    """
    x, dz = f64(x, dz)
    d = -0.5 / (x * np.sqrt(x))
    return _unary(x, dz, d, 4.0 * np.abs(d))


@_ieee
def reciprocal(x):
    """z = 1 / x."""
    (x,) = f64(x)
    return 1.0 / x


@_ieee
def reciprocal_vjp(x, dz):
    """dx = -dz / x^2 = -dz z^2.

    Magnitude: torch and TensorFlow form z^2 from the rounded output z, doubling its rounding
    error: ``|dz| z^2 (1 + 2)``.
    """
    x, dz = f64(x, dz)
    d = -1.0 / (x * x)
    return _unary(x, dz, d, 3.0 * np.abs(d))


@_ieee
def exp(x):
    """z = exp(x)."""
    (x,) = f64(x)
    return np.exp(x)


@_ieee
def exp_vjp(x, dz):
    """dx = dz exp(x) = dz z.

    tiny: exp(x) is subnormal for very negative x; flushing it moves dx by |dz| per smallest normal.
    """
    x, dz = f64(x, dz)
    e = np.exp(x)
    return _unary(x, dz, e, e, tiny=1.0 + np.abs(dz))


@_ieee
def expm1(x):
    """z = exp(x) - 1."""
    (x,) = f64(x)
    return np.expm1(x)


@_ieee
def expm1_vjp(x, dz):
    """dx = dz exp(x).

    Magnitude: torch and JAX form exp(x) as z + 1 from the rounded output z, so the sum
    contributes ``|dz| (exp(x) + |z|)``.
    """
    x, dz = f64(x, dz)
    e = np.exp(x)
    return _unary(x, dz, e, e + np.abs(np.expm1(x)), tiny=1.0 + np.abs(dz))


@_ieee
def log(x):
    """z = log(x), x > 0."""
    (x,) = f64(x)
    return np.log(x)


@_ieee
def log_vjp(x, dz):
    """dx = dz / x (dz / 0 = +-inf at x = 0)."""
    x, dz = f64(x, dz)
    d = 1.0 / x
    return _unary(x, dz, d, np.abs(d))


@_ieee
def log1p(x):
    """z = log(1 + x), x > -1."""
    (x,) = f64(x)
    return np.log1p(x)


@_ieee
def log1p_vjp(x, dz):
    """dx = dz / (1 + x)."""
    x, dz = f64(x, dz)
    d = 1.0 / (1.0 + x)
    return _unary(x, dz, d, np.abs(d))


@_ieee
def sin(x):
    """z = sin(x)."""
    (x,) = f64(x)
    return np.sin(x)


@_ieee
def sin_vjp(x, dz):
    """dx = dz cos(x)."""
    x, dz = f64(x, dz)
    d = np.cos(x)
    return _unary(x, dz, d, np.abs(d))


@_ieee
def cos(x):
    """z = cos(x)."""
    (x,) = f64(x)
    return np.cos(x)


@_ieee
def cos_vjp(x, dz):
    """dx = -dz sin(x)."""
    x, dz = f64(x, dz)
    d = -np.sin(x)
    return _unary(x, dz, d, np.abs(d))


@_ieee
def tan(x):
    """z = tan(x), x away from the poles pi/2 + k pi."""
    (x,) = f64(x)
    return np.tan(x)


@_ieee
def tan_vjp(x, dz):
    """dx = dz (1 + tan(x)^2) = dz / cos(x)^2.

    Magnitude: frameworks square a rounded intermediate (torch and JAX: z = tan(x) in 1 + z^2,
    TensorFlow: cos(x) in 1 / cos^2), doubling its rounding error: ``|dz| (1 + z^2) (1 + 2)``.
    """
    x, dz = f64(x, dz)
    d = 1.0 / np.cos(x) ** 2
    return _unary(x, dz, d, 3.0 * d)


@_ieee
def tanh(x):
    """z = tanh(x)."""
    (x,) = f64(x)
    return np.tanh(x)


@_ieee
def tanh_vjp(x, dz):
    """dx = dz (1 - z^2), z = tanh(x).

    Magnitude: frameworks form 1 - z^2 from the rounded output z: ``|dz| (1 + z^2)``.
    """
    x, dz = f64(x, dz)
    t = np.tanh(x)  # nan stays nan, ±inf gives ±1
    d = 1.0 / np.cosh(x) ** 2  # 1 - tanh^2 with full relative accuracy for large |x|
    return _unary(x, dz, d, 1.0 + t * t)


@_ieee
def erf(x):
    """z = erf(x) = 2/sqrt(pi) int_0^x exp(-t^2) dt."""
    return erf_f64(x)


@_ieee
def erf_vjp(x, dz):
    """dx = dz 2/sqrt(pi) exp(-x^2).

    Magnitude: exp's argument x^2 is rounded first, a relative error of u x^2 in exp, so the
    derivative is scaled by 1 + x^2 (as softmax scales by its shifted argument).
    tiny: exp(-x^2) is subnormal for large |x|.
    """
    x, dz = f64(x, dz)
    d = TWO_OVER_SQRT_PI * np.exp(-x * x)
    return _unary(x, dz, d, d * (1.0 + x * x), tiny=1.0 + TWO_OVER_SQRT_PI * np.abs(dz))


# ---------------------------------------------------------------------------------------------
# unary: activations


@_ieee
def log_sigmoid(x):
    """z = log(sigmoid(x)) = -softplus(-x) = -log(1 + exp(-x))."""
    return -softplus_f64(-np.asarray(x, dtype=np.float64))


@_ieee
def log_sigmoid_vjp(x, dz):
    """dx = dz sigmoid(-x) = dz (1 - sigmoid(x)).

    Magnitude: JAX (log_sigmoid = -logaddexp(-x, 0)) evaluates the derivative as
    exp(-x - softplus(-x)), with a rounded output in a rounded argument of exp: scaled by
    _shift_cond(-x), about 1 + |x| + |z|.
    tiny: sigmoid(-x) is subnormal for large x.
    """
    x, dz = f64(x, dz)
    d = sigmoid_f64(-x)
    return _unary(x, dz, d, d * _shift_cond(-x), tiny=1.0 + np.abs(dz))


@_ieee
def relu(x):
    """z = max(x, 0)."""
    (x,) = f64(x)
    return np.maximum(x, 0.0)


@_ieee
def relu_vjp(x, dz):
    """dx = dz [x > 0]; at x = 0 any value in [0, 1] times dz is a subgradient (0 here)."""
    x, dz = f64(x, dz)
    d = (x > 0).astype(np.float64)
    return _unary(x, dz, d, d)


@_ieee
def relu6(x):
    """z = min(max(x, 0), 6)."""
    (x,) = f64(x)
    return np.minimum(np.maximum(x, 0.0), 6.0)


@_ieee
def relu6_vjp(x, dz):
    """dx = dz [0 < x < 6]; kinks at 0 and 6 (any value in [0, 1] times dz; 0 here)."""
    x, dz = f64(x, dz)
    d = ((x > 0) & (x < 6)).astype(np.float64)
    return _unary(x, dz, d, d)


@_ieee
def leaky_relu(x, slope=0.01):
    """z = x for x > 0, slope x otherwise."""
    (x,) = f64(x)
    return np.where(x > 0, x, slope * x)


@_ieee
def leaky_relu_vjp(x, dz, slope=0.01):
    """dx = dz for x > 0, slope dz for x < 0; at 0 any value between slope and 1 (slope here)."""
    x, dz = f64(x, dz)
    d = np.where(x > 0, 1.0, float(slope))
    return _unary(x, dz, d, np.abs(d))


@_ieee
def elu(x, alpha=1.0):
    """z = x for x > 0, alpha (exp(x) - 1) otherwise."""
    (x,) = f64(x)
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


@_ieee
def elu_vjp(x, dz, alpha=1.0):
    """dx = dz for x > 0, dz alpha exp(x) for x < 0 (at 0: between alpha and 1; alpha here).

    Magnitude: for x < 0 TensorFlow and JAX form alpha exp(x) as z + alpha (z the rounded
    output alpha expm1(x)): ``|dz| alpha (exp(x) + |expm1(x)|)``.
    tiny: alpha exp(x) is subnormal for very negative x.
    """
    x, dz = f64(x, dz)
    a = float(np.abs(alpha))
    xn = np.minimum(x, 0.0)
    e = np.exp(xn)
    d = np.where(x > 0, 1.0, alpha * e)
    mag = np.where(x > 0, 1.0, a * (e + np.abs(np.expm1(xn))))
    return _unary(x, dz, d, mag, tiny=1.0 + a * np.abs(dz))


@_ieee
def selu(x):
    """z = scale x for x > 0, scale alpha (exp(x) - 1) otherwise (the fixed selu constants)."""
    return SELU_SCALE * elu(x, SELU_ALPHA)


@_ieee
def selu_vjp(x, dz):
    """dx = scale dz for x > 0, scale alpha exp(x) dz for x < 0 (kink at 0; the left value here).

    Magnitude as elu's: TensorFlow forms scale alpha exp(x) as z + scale alpha from its output.
    """
    g = elu_vjp(x, dz, SELU_ALPHA)["x"]
    return {"x": Grad(SELU_SCALE * g.value, SELU_SCALE * g.magnitude, tiny=1.0 + 2.0 * np.abs(f64(dz)[0]))}


def _gelu_tanh_parts(x):
    inner = GELU_K * (x + GELU_C * x**3)
    return inner, np.tanh(inner)


@_ieee
def gelu(x, approximate="none"):
    """z = x Phi(x) with Phi the standard normal cdf (approximate="none"), or
    z = x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2 (approximate="tanh")."""
    (x,) = f64(x)
    if approximate == "tanh":
        _, t = _gelu_tanh_parts(x)
        return 0.5 * x * (1.0 + t)
    if approximate != "none":
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return x * normal_cdf(x)


@_ieee
def gelu_vjp(x, dz, approximate="none"):
    """approximate="none": dx = dz (Phi(x) + x phi(x)), phi the standard normal density.
    approximate="tanh":  dx = dz ((1 + t)/2 + x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2) / 2),
    t = tanh(inner), inner = sqrt(2/pi) (x + 0.044715 x^3).

    Magnitude ("none"): torch forms Phi as (1 + erf(x / sqrt 2)) / 2, an absolute error of u
    for negative x, hence ``(1 + |erf|)/2``; the density's exp has the rounded argument x^2/2
    (factor 1 + x^2/2) and erf's rounded argument adds about |x| phi(x).
    Magnitude ("tanh"): the sum on absolute values, ``(1 + |t|)/2 + |x| (1 + t^2) poly / 2``
    (1 - t^2 formed from the rounded t), plus the rounding of tanh's argument: a relative u in
    inner moves t by (1 - t^2) |inner| u, which enters both terms.
    tiny: phi and Phi are subnormal far out.
    """
    x, dz = f64(x, dz)
    if approximate == "tanh":
        inner, t = _gelu_tanh_parts(x)
        sech2 = 1.0 / np.cosh(inner) ** 2  # 1 - t^2 with full relative accuracy
        poly = GELU_K * (1.0 + 3.0 * GELU_C * x * x)
        # far out (sech2 == 0) the second term is 0 even where x or poly overflow
        second = np.where(sech2 == 0, 0.0, 0.5 * x * sech2 * poly)
        d = 0.5 * (1.0 + t) + second
        arg = sech2 * np.abs(inner)
        mag = 0.5 * (1.0 + np.abs(t) + arg) + 0.5 * np.abs(x) * poly * (1.0 + t * t + 2.0 * np.abs(t) * arg)
    elif approximate == "none":
        cdf, pdf = normal_cdf(x), normal_pdf(x)
        # far out (pdf == 0) x phi(x) is 0 even at x = ±inf
        xpdf = np.where(pdf == 0, 0.0, x * pdf)
        d = cdf + xpdf
        tail = np.where(pdf == 0, 0.0, np.abs(xpdf) * (2.0 + 0.5 * x * x))
        mag = 0.5 * (1.0 + np.abs(erf_f64(x / SQRT_2))) + tail
    else:
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return _unary(x, dz, d, mag, tiny=1.0 + np.abs(dz) * (1.0 + np.abs(x)))


@_ieee
def silu(x):
    """z = x sigmoid(x)."""
    (x,) = f64(x)
    return x * sigmoid_f64(x)


@_ieee
def silu_vjp(x, dz):
    """dx = dz s (1 + x (1 - s)), s = sigmoid(x).

    Magnitude: on absolute values, with 1 - s formed from the rounded s: ``s (1 + |x| (1 + s))``.
    tiny: s is subnormal for very negative x; flushing it moves dx by |dz| (1 + |x|).
    """
    x, dz = f64(x, dz)
    s, one_minus_s = sigmoid_f64(x), sigmoid_f64(-x)
    d = s * (1.0 + x * one_minus_s)
    d = np.where(np.isinf(x), (x > 0).astype(np.float64), d)  # the limits 1 and 0 at ±inf
    return _unary(x, dz, d, s * (1.0 + np.abs(x) * (1.0 + s)), tiny=1.0 + np.abs(dz) * (1.0 + np.abs(x)))


@_ieee
def softplus(x):
    """z = log(1 + exp(x)) (no threshold: the mathematical function)."""
    return softplus_f64(x)


@_ieee
def softplus_vjp(x, dz):
    """dx = dz sigmoid(x).

    Magnitude: JAX (softplus = logaddexp(x, 0)) evaluates sigmoid(x) as exp(x - z), with the
    rounded output z in a rounded argument of exp: scaled by _shift_cond(x), about
    1 + |x - z| + |z|.
    tiny: sigmoid(x) is subnormal for very negative x.
    """
    x, dz = f64(x, dz)
    d = sigmoid_f64(x)
    return _unary(x, dz, d, d * _shift_cond(x), tiny=1.0 + np.abs(dz))


@_ieee
def softsign(x):
    """z = x / (1 + |x|)."""
    (x,) = f64(x)
    return x / (1.0 + np.abs(x))


@_ieee
def softsign_vjp(x, dz):
    """dx = dz / (1 + |x|)^2.

    Magnitude: torch and JAX define softsign as x / (1 + |x|), whose autodiff evaluates the
    quotient rule dz / (1 + |x|) - dz |x| / (1 + |x|)^2; on absolute values that is
    ``|dz| (1 / (1 + |x|) + |x| / (1 + |x|)^2)`` (about 2 |dz| / |x| for large |x|, where the
    derivative itself is only dz / x^2).
    """
    x, dz = f64(x, dz)
    a = 1.0 + np.abs(x)
    d = 1.0 / (a * a)
    return _unary(x, dz, d, 1.0 / a + np.abs(x) / (a * a))


@_ieee
def clip(x, lo=-1.0, hi=1.0):
    """z = min(max(x, lo), hi), lo < hi."""
    (x,) = f64(x)
    return np.minimum(np.maximum(x, lo), hi)


@_ieee
def clip_vjp(x, dz, lo=-1.0, hi=1.0):
    """dx = dz [lo < x < hi]; kinks at lo and hi (any value in [0, 1] times dz; 0 here)."""
    x, dz = f64(x, dz)
    d = ((x > lo) & (x < hi)).astype(np.float64)
    return _unary(x, dz, d, d)


# ---------------------------------------------------------------------------------------------
# binary ops with broadcasting


def _binary(x, y, dz, dx, dy, mx, my) -> dict[str, Grad]:
    """Unbroadcast the elementwise partial VJPs (and their magnitudes) to each input's shape."""
    out_shape = dz.shape
    return {
        "x": Grad(unbroadcast(dx, x.shape), unbroadcast(mx, x.shape), terms=broadcast_factor(out_shape, x.shape)),
        "y": Grad(unbroadcast(dy, y.shape), unbroadcast(my, y.shape), terms=broadcast_factor(out_shape, y.shape)),
    }


def _full(x, y, dz):
    """x, y and dz as float64 arrays broadcast to the output shape."""
    x, y, dz = f64(x, y, dz)
    shape = np.broadcast_shapes(x.shape, y.shape)
    return x, y, dz, np.broadcast_to(x, shape), np.broadcast_to(y, shape), np.broadcast_to(dz, shape)


@_ieee
def add(x, y):
    """z = x + y (broadcast)."""
    x, y = f64(x, y)
    return x + y


@_ieee
def add_vjp(x, y, dz):
    """dx = dz, dy = dz (each summed over its broadcast dims)."""
    x, y, dz, _, _, d = _full(x, y, dz)
    a = np.abs(d)
    return _binary(x, y, dz, d, d, a, a)


@_ieee
def subtract(x, y):
    """z = x - y (broadcast)."""
    x, y = f64(x, y)
    return x - y


@_ieee
def subtract_vjp(x, y, dz):
    """dx = dz, dy = -dz (each summed over its broadcast dims)."""
    x, y, dz, _, _, d = _full(x, y, dz)
    a = np.abs(d)
    return _binary(x, y, dz, d, -d, a, a)


@_ieee
def multiply(x, y):
    """z = x y (broadcast)."""
    x, y = f64(x, y)
    return x * y


@_ieee
def multiply_vjp(x, y, dz):
    """dx = dz y, dy = dz x (each summed over its broadcast dims)."""
    x, y, dz, xb, yb, d = _full(x, y, dz)
    gx, gy = d * yb, d * xb
    return _binary(x, y, dz, gx, gy, np.abs(gx), np.abs(gy))


@_ieee
def divide(x, y):
    """z = x / y (broadcast)."""
    x, y = f64(x, y)
    return x / y


@_ieee
def divide_vjp(x, y, dz):
    """dx = dz / y, dy = -dz x / y^2 (each summed over its broadcast dims)."""
    x, y, dz, xb, yb, d = _full(x, y, dz)
    gx = d / yb
    gy = -d * xb / (yb * yb)
    return _binary(x, y, dz, gx, gy, np.abs(gx), np.abs(gy))


@_ieee
def pow(x, y):
    """z = x^y (broadcast), x > 0 (x = 0 is the kink)."""
    x, y = f64(x, y)
    return np.power(x, y)


@_ieee
def pow_vjp(x, y, dz):
    """dx = dz y x^(y - 1), dy = dz x^y log(x) (each summed over its broadcast dims).

    At x = 0: dx = 0 where y = 0 (x^0 is constant), y 0^(y-1) otherwise (0, dz or +inf);
    dy = 0 where y > 0 (0^y is 0 for all y > 0), nan (undefined) otherwise.

    Magnitude: frameworks evaluate x^(y - 1) with y - 1 rounded, a relative error of
    u |y - 1| |log x| in the power; dx's magnitude is scaled by 1 + |(y - 1) log x|.
    """
    x, y, dz, xb, yb, d = _full(x, y, dz)
    lx = np.log(xb)
    pxm1 = np.where((xb == 0) & (yb == 0), 0.0, yb * np.power(xb, yb - 1.0))
    gx = d * pxm1
    zero_base = np.where(yb > 0, 0.0, np.nan)
    py = np.where(xb == 0, zero_base, np.power(xb, yb) * lx)
    gy = d * py
    cond = 1.0 + np.abs((yb - 1.0) * lx)
    mx = np.abs(gx) * np.where(np.isfinite(cond), cond, 1.0)
    return _binary(x, y, dz, gx, gy, mx, np.abs(gy))


@_ieee
def maximum(x, y):
    """z = max(x, y) (broadcast)."""
    x, y = f64(x, y)
    return np.maximum(x, y)


@_ieee
def maximum_vjp(x, y, dz):
    """dx = dz [x > y], dy = dz [y > x]; at ties x == y any split t dz, (1 - t) dz with t in
    [0, 1] is a subgradient (t = 1/2 here)."""
    x, y, dz, xb, yb, d = _full(x, y, dz)
    w = np.where(xb > yb, 1.0, np.where(xb < yb, 0.0, 0.5))
    gx, gy = d * w, d * (1.0 - w)
    return _binary(x, y, dz, gx, gy, np.abs(gx), np.abs(gy))


@_ieee
def minimum(x, y):
    """z = min(x, y) (broadcast)."""
    x, y = f64(x, y)
    return np.minimum(x, y)


@_ieee
def minimum_vjp(x, y, dz):
    """dx = dz [x < y], dy = dz [y < x]; ties split 1/2, 1/2 (any t, 1 - t in [0, 1] is valid)."""
    x, y, dz, xb, yb, d = _full(x, y, dz)
    w = np.where(xb < yb, 1.0, np.where(xb > yb, 0.0, 0.5))
    gx, gy = d * w, d * (1.0 - w)
    return _binary(x, y, dz, gx, gy, np.abs(gx), np.abs(gy))


@_ieee
def atan2(x, y):
    """z = atan2(x, y), the angle of the point (y, x): x is the numerator (torch.atan2(x, y),
    tf.math.atan2(x, y), jnp.arctan2(x, y))."""
    x, y = f64(x, y)
    return np.arctan2(x, y)


@_ieee
def atan2_vjp(x, y, dz):
    """dx = dz y / (x^2 + y^2), dy = -dz x / (x^2 + y^2) (nan at the origin)."""
    x, y, dz, xb, yb, d = _full(x, y, dz)
    r2 = xb * xb + yb * yb
    gx = d * yb / r2
    gy = -d * xb / r2
    return _binary(x, y, dz, gx, gy, np.abs(gx), np.abs(gy))


@_ieee
def squared_difference(x, y):
    """z = (x - y)^2 (broadcast)."""
    x, y = f64(x, y)
    return (x - y) ** 2


@_ieee
def squared_difference_vjp(x, y, dz):
    """dx = 2 dz (x - y), dy = -2 dz (x - y) (each summed over its broadcast dims).

    Magnitude: x - y of two exact inputs is rounded once, relative error u: ``2 |dz| |x - y|``.
    """
    x, y, dz, xb, yb, d = _full(x, y, dz)
    g = 2.0 * d * (xb - yb)
    a = np.abs(g)
    return _binary(x, y, dz, g, -g, a, a)
