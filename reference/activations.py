"""Activation functions and clip: relu and its relatives, the sigmoid family, gelu, silu,
softplus, softsign (sigmoid is one of the seed's four ops).

Notation and conventions as in ``reference.unary``: ``dx = dz * f'(x)``, magnitudes the VJP
expression on absolute values plus what a framework's rounded intermediate (the op's output, a
shifted argument of exp) can explain; special values give IEEE inf or nan, never an exception.
"""

from __future__ import annotations

import math

import numpy as np

from reference._grad import Grad, f64, ieee
from reference.special_functions import (
    SQRT_2,
    erf_f64,
    normal_cdf,
    normal_pdf,
    sigmoid_f64,
    softplus_f64,
)
from reference.unary import unary_grad

# softplus's output z = max(x, 0) + log1p(exp(-|x|)) is one IEEE addition of an exact max(x, 0)
# and a small term: its rounding error is u |z| at most, and no more than the small term itself
# once that drops below half an ulp of max(x, 0) (z then rounds onto x). In units of u that is
# min(|z|, gap / u) <= min(|z|, gap * 2^53) for every dtype (float64 has the smallest u).
INV_U64 = 2.0**53


def rounded_sum(r: np.ndarray, gap: np.ndarray) -> np.ndarray:
    """Rounding error (units of u) of a sum r = exact + gap, rounded once (see above)."""
    return np.minimum(np.abs(r), np.abs(gap) * INV_U64)


def shift_cond(x: np.ndarray) -> np.ndarray:
    """Conditioning of sigmoid(x) evaluated as exp(x - z), z = softplus(x) (JAX's logaddexp
    derivative): exp's argument x - z = -softplus(-x) is rounded (relative error u |x - z| in
    exp, as softmax's shifted argument), and so is z (u |z|, or the gap log1p(exp(-|x|)) once z
    has saturated onto max(x, 0); see rounded_sum)."""
    return 1.0 + softplus_f64(-x) + rounded_sum(softplus_f64(x), np.log1p(np.exp(-np.abs(x))))


# selu's constants (Klambauer et al. 2017), as torch, TensorFlow and JAX spell them
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
# the tanh approximation of gelu: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
GELU_K = math.sqrt(2.0 / math.pi)
GELU_C = 0.044715


# ---------------------------------------------------------------------------------------------
# unary: activations


@ieee
def log_sigmoid(x):
    """z = log(sigmoid(x)) = -softplus(-x) = -log(1 + exp(-x))."""
    return -softplus_f64(-np.asarray(x, dtype=np.float64))


@ieee
def log_sigmoid_vjp(x, dz):
    """dx = dz sigmoid(-x) = dz (1 - sigmoid(x)).

    Magnitude: JAX (log_sigmoid = -logaddexp(-x, 0)) evaluates the derivative as
    exp(-x - softplus(-x)), with a rounded output in a rounded argument of exp: scaled by
    shift_cond(-x), about 1 + |x| + |z|.
    tiny: sigmoid(-x) is subnormal for large x.
    """
    x, dz = f64(x, dz)
    d = sigmoid_f64(-x)
    return unary_grad(x, dz, d, d * shift_cond(-x), tiny=1.0 + np.abs(dz))


@ieee
def relu(x):
    """z = max(x, 0)."""
    (x,) = f64(x)
    return np.maximum(x, 0.0)


@ieee
def relu_vjp(x, dz):
    """dx = dz [x > 0]; at x = 0 any value in [0, 1] times dz is a subgradient (0 here)."""
    x, dz = f64(x, dz)
    d = (x > 0).astype(np.float64)
    return unary_grad(x, dz, d, d)


@ieee
def relu6(x):
    """z = min(max(x, 0), 6)."""
    (x,) = f64(x)
    return np.minimum(np.maximum(x, 0.0), 6.0)


@ieee
def relu6_vjp(x, dz):
    """dx = dz [0 < x < 6]; kinks at 0 and 6 (any value in [0, 1] times dz; 0 here)."""
    x, dz = f64(x, dz)
    d = ((x > 0) & (x < 6)).astype(np.float64)
    return unary_grad(x, dz, d, d)


@ieee
def hardswish(x):
    """z = x * relu6(x + 3) / 6: 0 below -3, x above 3, x (x + 3) / 6 between."""
    (x,) = f64(x)
    return x * np.minimum(np.maximum(x + 3.0, 0.0), 6.0) / 6.0


@ieee
def hardswish_vjp(x, dz):
    """dx = dz * (2x + 3) / 6 on (-3, 3), dz above 3, 0 below -3; kinks at -3 (one-sided slopes 0
    and -1/2) and 3 (3/2 and 1), where this takes the outer slopes (0 and 1).

    Magnitude: frameworks form the middle slope as x / 3 + 1/2 from x, so ``|x| / 3 + 1/2``.
    """
    x, dz = f64(x, dz)
    inner = (x > -3.0) & (x < 3.0)
    d = np.where(inner, (2.0 * x + 3.0) / 6.0, np.where(x >= 3.0, 1.0, 0.0))
    mag = np.where(inner, np.abs(x) / 3.0 + 0.5, np.abs(d))
    return unary_grad(x, dz, d, mag)


@ieee
def leaky_relu(x, slope=0.01):
    """z = x for x > 0, slope x otherwise."""
    (x,) = f64(x)
    return np.where(x > 0, x, slope * x)


@ieee
def leaky_relu_vjp(x, dz, slope=0.01):
    """dx = dz for x > 0, slope dz for x < 0; at 0 any value between slope and 1 (slope here)."""
    x, dz = f64(x, dz)
    d = np.where(x > 0, 1.0, float(slope))
    return unary_grad(x, dz, d, np.abs(d))


@ieee
def elu(x, alpha=1.0):
    """z = x for x > 0, alpha (exp(x) - 1) otherwise."""
    (x,) = f64(x)
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


@ieee
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
    return unary_grad(x, dz, d, mag, tiny=1.0 + a * np.abs(dz))


@ieee
def selu(x):
    """z = scale x for x > 0, scale alpha (exp(x) - 1) otherwise (the fixed selu constants)."""
    return SELU_SCALE * elu(x, SELU_ALPHA)


@ieee
def selu_vjp(x, dz):
    """dx = scale dz for x > 0, scale alpha exp(x) dz for x < 0 (kink at 0; the left value here).

    Magnitude as elu's: TensorFlow forms scale alpha exp(x) as z + scale alpha from its output.
    """
    g = elu_vjp(x, dz, SELU_ALPHA)["x"]
    return {"x": Grad(SELU_SCALE * g.value, SELU_SCALE * g.magnitude, tiny=1.0 + 2.0 * np.abs(f64(dz)[0]))}


def _gelu_tanh_parts(x):
    inner = GELU_K * (x + GELU_C * x**3)
    return inner, np.tanh(inner)


@ieee
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


@ieee
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
    return unary_grad(x, dz, d, mag, tiny=1.0 + np.abs(dz) * (1.0 + np.abs(x)))


@ieee
def silu(x):
    """z = x sigmoid(x)."""
    (x,) = f64(x)
    return x * sigmoid_f64(x)


@ieee
def silu_vjp(x, dz):
    """dx = dz s (1 + x (1 - s)), s = sigmoid(x).

    Magnitude: on absolute values, with 1 - s formed from the rounded s: ``s (1 + |x| (1 + s))``.
    tiny: s is subnormal for very negative x; flushing it moves dx by |dz| (1 + |x|).
    """
    x, dz = f64(x, dz)
    s, one_minus_s = sigmoid_f64(x), sigmoid_f64(-x)
    d = s * (1.0 + x * one_minus_s)
    d = np.where(np.isinf(x), (x > 0).astype(np.float64), d)  # the limits 1 and 0 at ±inf
    return unary_grad(x, dz, d, s * (1.0 + np.abs(x) * (1.0 + s)), tiny=1.0 + np.abs(dz) * (1.0 + np.abs(x)))


@ieee
def softplus(x, beta: float = 1.0, threshold: float | None = None):
    """z = log(1 + exp(beta x)) / beta; with a ``threshold``, z = x where beta x > threshold (torch's
    switch to the identity; at equality the softplus side). None: no threshold, the mathematical
    function."""
    (x,) = f64(x)
    z = softplus_f64(beta * x) / beta
    return z if threshold is None else np.where(beta * x > threshold, x, z)


@ieee
def softplus_vjp(x, dz, beta: float = 1.0, threshold: float | None = None):
    """dx = dz sigmoid(beta x) (dz where beta x > threshold).

    Magnitude: JAX (softplus = logaddexp(x, 0)) evaluates sigmoid(x) as exp(x - z), with the
    rounded output z in a rounded argument of exp: scaled by shift_cond(beta x), about
    1 + |x - z| + |z| (beta is a power of two: beta x and the division by beta are exact).
    Above the threshold the identity's gradient dz is exact.
    tiny: sigmoid(beta x) is subnormal for very negative x.
    """
    x, dz = f64(x, dz)
    d = sigmoid_f64(beta * x)
    mag = d * shift_cond(beta * x)
    if threshold is not None:
        above = beta * x > threshold
        d, mag = np.where(above, 1.0, d), np.where(above, 1.0, mag)
    return unary_grad(x, dz, d, mag, tiny=1.0 + np.abs(dz))


@ieee
def softsign(x):
    """z = x / (1 + |x|)."""
    (x,) = f64(x)
    return x / (1.0 + np.abs(x))


@ieee
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
    return unary_grad(x, dz, d, 1.0 / a + np.abs(x) / (a * a))


@ieee
def clip(x, lo=-1.0, hi=1.0):
    """z = min(max(x, lo), hi), lo < hi."""
    (x,) = f64(x)
    return np.minimum(np.maximum(x, lo), hi)


@ieee
def clip_vjp(x, dz, lo=-1.0, hi=1.0):
    """dx = dz [lo < x < hi]; kinks at lo and hi (any value in [0, 1] times dz; 0 here)."""
    x, dz = f64(x, dz)
    d = ((x > lo) & (x < hi)).astype(np.float64)
    return unary_grad(x, dz, d, d)


# ---------------------------------------------------------------------------------------------
# sigmoid (one of the seed's four ops)

def sigmoid(x: np.ndarray) -> np.ndarray:
    """z_i = 1 / (1 + exp(-x_i)), evaluated without overflow for large |x|."""
    (x,) = f64(x)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_vjp(x: np.ndarray, dz: np.ndarray) -> dict[str, Grad]:
    """dx = dz * s * (1 - s) with s = sigmoid(x).

    Magnitude: frameworks form ``s * (1 - s)`` from the rounded output s, so the subtraction
    contributes ``|dz| * s * (1 + s)``.
    """
    (dz,) = f64(dz)
    s = sigmoid(x)
    # 1 - s computed as sigmoid(-x) keeps full relative accuracy for large x.
    one_minus_s = sigmoid(-np.asarray(x, dtype=np.float64))
    # s itself is subnormal for very negative x; flushing it moves dx by |dz| per smallest normal
    return {"x": Grad(dz * s * one_minus_s, np.abs(dz) * s * (1.0 + s), tiny=1.0 + np.abs(dz))}
