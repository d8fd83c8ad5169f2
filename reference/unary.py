"""Unary elementwise ops: arithmetic, powers and transcendentals (the activations are in
``reference.activations``).

Notation as in the seed: ``z = f(x)`` elementwise, ``dz`` the cotangent, ``dx = dz * f'(x)``.
Magnitudes are the VJP expression on absolute values. Where frameworks evaluate the derivative
from a rounded intermediate (the op's own output) the magnitude adds what that rounding can
explain; each docstring says which.

Functions never raise on special values: where the true gradient is infinite or undefined (log
at 0, rsqrt at 0) they return IEEE inf or nan.
"""

from __future__ import annotations

import numpy as np

from reference._grad import Grad, f64, ieee
from reference.special_functions import TWO_OVER_SQRT_PI, erf_f64


def unary_grad(x: np.ndarray, dz: np.ndarray, d: np.ndarray, mag: np.ndarray,
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
# unary: arithmetic and powers


@ieee
def neg(x):
    """z = -x."""
    (x,) = f64(x)
    return -x


@ieee
def neg_vjp(x, dz):
    """dx = -dz. The derivative does not depend on x, so it is -dz even where x is nan or inf."""
    x, dz = f64(x, dz)
    return {"x": Grad(-dz * np.ones_like(x), np.abs(dz) * np.ones_like(x))}


@ieee
def abs(x):
    """z = |x|."""
    (x,) = f64(x)
    return np.abs(x)


@ieee
def abs_vjp(x, dz):
    """dx = dz * sign(x); at x = 0 any value in [-1, 1] times dz is a subgradient (0 here)."""
    x, dz = f64(x, dz)
    return unary_grad(x, dz, np.sign(x), np.ones_like(x))


@ieee
def square(x):
    """z = x^2."""
    (x,) = f64(x)
    return x * x


@ieee
def square_vjp(x, dz):
    """dx = 2 x dz."""
    x, dz = f64(x, dz)
    return unary_grad(x, dz, 2.0 * x, 2.0 * np.abs(x))


@ieee
def sqrt(x):
    """z = sqrt(x), x >= 0."""
    (x,) = f64(x)
    return np.sqrt(x)


@ieee
def sqrt_vjp(x, dz):
    """dx = dz / (2 sqrt(x)) (+inf times dz at x = 0)."""
    x, dz = f64(x, dz)
    d = 0.5 / np.sqrt(x)
    return unary_grad(x, dz, d, np.abs(d))


@ieee
def rsqrt(x):
    """z = 1 / sqrt(x), x > 0."""
    (x,) = f64(x)
    return 1.0 / np.sqrt(x)


@ieee
def rsqrt_vjp(x, dz):
    """dx = -dz / (2 x^(3/2)) = -dz z^3 / 2 (-inf times dz at x = ±0: x^(3/2) is +0 at -0 too,
    while forming z^3 from z = rsqrt(-0) = -inf gives +inf).

    Magnitude: torch and TensorFlow form z^3 from the rounded output z, tripling its rounding
    error: ``|dz| |z^3| / 2 * (1 + 3)`` (1 for the arithmetic, 3 for z's error cubed).
    """
    x, dz = f64(x, dz)
    d = -0.5 / (x * np.sqrt(x))
    return unary_grad(x, dz, d, 4.0 * np.abs(d))


@ieee
def reciprocal(x):
    """z = 1 / x."""
    (x,) = f64(x)
    return 1.0 / x


@ieee
def reciprocal_vjp(x, dz):
    """dx = -dz / x^2 = -dz z^2.

    Magnitude: torch and TensorFlow form z^2 from the rounded output z, doubling its rounding
    error: ``|dz| z^2 (1 + 2)``.
    """
    x, dz = f64(x, dz)
    d = -1.0 / (x * x)
    return unary_grad(x, dz, d, 3.0 * np.abs(d))


@ieee
def exp(x):
    """z = exp(x)."""
    (x,) = f64(x)
    return np.exp(x)


@ieee
def exp_vjp(x, dz):
    """dx = dz exp(x) = dz z.

    tiny: exp(x) is subnormal for very negative x; flushing it moves dx by |dz| per smallest normal.
    """
    x, dz = f64(x, dz)
    e = np.exp(x)
    return unary_grad(x, dz, e, e, tiny=1.0 + np.abs(dz))


@ieee
def expm1(x):
    """z = exp(x) - 1."""
    (x,) = f64(x)
    return np.expm1(x)


@ieee
def expm1_vjp(x, dz):
    """dx = dz exp(x).

    Magnitude: torch and JAX form exp(x) as z + 1 from the rounded output z, so the sum
    contributes ``|dz| (exp(x) + |z|)``.
    """
    x, dz = f64(x, dz)
    e = np.exp(x)
    return unary_grad(x, dz, e, e + np.abs(np.expm1(x)), tiny=1.0 + np.abs(dz))


@ieee
def log(x):
    """z = log(x), x > 0."""
    (x,) = f64(x)
    return np.log(x)


@ieee
def log_vjp(x, dz):
    """dx = dz / x (dz / 0 = +-inf at x = 0)."""
    x, dz = f64(x, dz)
    d = 1.0 / x
    return unary_grad(x, dz, d, np.abs(d))


@ieee
def log1p(x):
    """z = log(1 + x), x > -1."""
    (x,) = f64(x)
    return np.log1p(x)


@ieee
def log1p_vjp(x, dz):
    """dx = dz / (1 + x)."""
    x, dz = f64(x, dz)
    d = 1.0 / (1.0 + x)
    return unary_grad(x, dz, d, np.abs(d))


@ieee
def sin(x):
    """z = sin(x)."""
    (x,) = f64(x)
    return np.sin(x)


@ieee
def sin_vjp(x, dz):
    """dx = dz cos(x)."""
    x, dz = f64(x, dz)
    d = np.cos(x)
    return unary_grad(x, dz, d, np.abs(d))


@ieee
def cos(x):
    """z = cos(x)."""
    (x,) = f64(x)
    return np.cos(x)


@ieee
def cos_vjp(x, dz):
    """dx = -dz sin(x)."""
    x, dz = f64(x, dz)
    d = -np.sin(x)
    return unary_grad(x, dz, d, np.abs(d))


@ieee
def tan(x):
    """z = tan(x), x away from the poles pi/2 + k pi."""
    (x,) = f64(x)
    return np.tan(x)


@ieee
def tan_vjp(x, dz):
    """dx = dz (1 + tan(x)^2) = dz / cos(x)^2.

    Magnitude: frameworks square a rounded intermediate (torch and JAX: z = tan(x) in 1 + z^2,
    TensorFlow: cos(x) in 1 / cos^2), doubling its rounding error: ``|dz| (1 + z^2) (1 + 2)``.
    """
    x, dz = f64(x, dz)
    d = 1.0 / np.cos(x) ** 2
    return unary_grad(x, dz, d, 3.0 * d)


@ieee
def tanh(x):
    """z = tanh(x)."""
    (x,) = f64(x)
    return np.tanh(x)


@ieee
def tanh_vjp(x, dz):
    """dx = dz (1 - z^2), z = tanh(x).

    Magnitude: frameworks form 1 - z^2 from the rounded output z: ``|dz| (1 + z^2)``.
    """
    x, dz = f64(x, dz)
    t = np.tanh(x)  # nan stays nan, ±inf gives ±1
    d = 1.0 / np.cosh(x) ** 2  # 1 - tanh^2 with full relative accuracy for large |x|
    return unary_grad(x, dz, d, 1.0 + t * t)


@ieee
def erf(x):
    """z = erf(x) = 2/sqrt(pi) int_0^x exp(-t^2) dt."""
    return erf_f64(x)


@ieee
def erf_vjp(x, dz):
    """dx = dz 2/sqrt(pi) exp(-x^2).

    Magnitude: exp's argument x^2 is rounded first, a relative error of u x^2 in exp, so the
    derivative is scaled by 1 + x^2 (as softmax scales by its shifted argument).
    tiny: exp(-x^2) is subnormal for large |x|.
    """
    x, dz = f64(x, dz)
    d = TWO_OVER_SQRT_PI * np.exp(-x * x)
    return unary_grad(x, dz, d, d * (1.0 + x * x), tiny=1.0 + TWO_OVER_SQRT_PI * np.abs(dz))
