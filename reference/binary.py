"""Binary elementwise ops with broadcasting.

Notation as in the seed: ``z = f(x, y)`` elementwise, ``dz`` the cotangent. The VJPs are the
elementwise partials times ``dz``, summed back over the dimensions each input was broadcast
along (``unbroadcast``); ``terms`` is then the number of output elements summed into each input
element. Magnitudes are the VJP expression on absolute values; where frameworks evaluate a
partial from a rounded intermediate (``y - 1`` in pow) the magnitude adds what that rounding can
explain. Special values give IEEE inf or nan (pow of base 0, atan2 at the origin), never errors.
"""

from __future__ import annotations

import numpy as np

from reference._grad import Grad, broadcast_factor, f64, ieee, unbroadcast


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


@ieee
def add(x, y):
    """z = x + y (broadcast)."""
    x, y = f64(x, y)
    return x + y


@ieee
def add_vjp(x, y, dz):
    """dx = dz, dy = dz (each summed over its broadcast dims)."""
    x, y, dz, _, _, d = _full(x, y, dz)
    a = np.abs(d)
    return _binary(x, y, dz, d, d, a, a)


@ieee
def subtract(x, y):
    """z = x - y (broadcast)."""
    x, y = f64(x, y)
    return x - y


@ieee
def subtract_vjp(x, y, dz):
    """dx = dz, dy = -dz (each summed over its broadcast dims)."""
    x, y, dz, _, _, d = _full(x, y, dz)
    a = np.abs(d)
    return _binary(x, y, dz, d, -d, a, a)


@ieee
def multiply(x, y):
    """z = x y (broadcast)."""
    x, y = f64(x, y)
    return x * y


@ieee
def multiply_vjp(x, y, dz):
    """dx = dz y, dy = dz x (each summed over its broadcast dims)."""
    x, y, dz, xb, yb, d = _full(x, y, dz)
    gx, gy = d * yb, d * xb
    return _binary(x, y, dz, gx, gy, np.abs(gx), np.abs(gy))


@ieee
def divide(x, y):
    """z = x / y (broadcast)."""
    x, y = f64(x, y)
    return x / y


@ieee
def divide_vjp(x, y, dz):
    """dx = dz / y, dy = -dz x / y^2 (each summed over its broadcast dims)."""
    x, y, dz, xb, yb, d = _full(x, y, dz)
    gx = d / yb
    gy = -d * xb / (yb * yb)
    return _binary(x, y, dz, gx, gy, np.abs(gx), np.abs(gy))


@ieee
def pow(x, y):
    """z = x^y (broadcast), x > 0 (x = 0 is the kink)."""
    x, y = f64(x, y)
    return np.power(x, y)


@ieee
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


@ieee
def maximum(x, y):
    """z = max(x, y) (broadcast)."""
    x, y = f64(x, y)
    return np.maximum(x, y)


@ieee
def maximum_vjp(x, y, dz):
    """dx = dz [x > y], dy = dz [y > x]; at ties x == y any split t dz, (1 - t) dz with t in
    [0, 1] is a subgradient (t = 1/2 here)."""
    x, y, dz, xb, yb, d = _full(x, y, dz)
    w = np.where(xb > yb, 1.0, np.where(xb < yb, 0.0, 0.5))
    gx, gy = d * w, d * (1.0 - w)
    return _binary(x, y, dz, gx, gy, np.abs(gx), np.abs(gy))


@ieee
def minimum(x, y):
    """z = min(x, y) (broadcast)."""
    x, y = f64(x, y)
    return np.minimum(x, y)


@ieee
def minimum_vjp(x, y, dz):
    """dx = dz [x < y], dy = dz [y < x]; ties split 1/2, 1/2 (any t, 1 - t in [0, 1] is valid)."""
    x, y, dz, xb, yb, d = _full(x, y, dz)
    w = np.where(xb < yb, 1.0, np.where(xb > yb, 0.0, 0.5))
    gx, gy = d * w, d * (1.0 - w)
    return _binary(x, y, dz, gx, gy, np.abs(gx), np.abs(gy))


@ieee
def atan2(x, y):
    """z = atan2(x, y), the angle of the point (y, x): x is the numerator (torch.atan2(x, y),
    tf.math.atan2(x, y), jnp.arctan2(x, y))."""
    x, y = f64(x, y)
    return np.arctan2(x, y)


@ieee
def atan2_vjp(x, y, dz):
    """dx = dz y / (x^2 + y^2), dy = -dz x / (x^2 + y^2) (nan at the origin)."""
    x, y, dz, xb, yb, d = _full(x, y, dz)
    r2 = xb * xb + yb * yb
    gx = d * yb / r2
    gy = -d * xb / r2
    return _binary(x, y, dz, gx, gy, np.abs(gx), np.abs(gy))


@ieee
def squared_difference(x, y):
    """z = (x - y)^2 (broadcast)."""
    x, y = f64(x, y)
    return (x - y) ** 2


@ieee
def squared_difference_vjp(x, y, dz):
    """dx = 2 dz (x - y), dy = -2 dz (x - y) (each summed over its broadcast dims).

    Magnitude: x - y of two exact inputs is rounded once, relative error u: ``2 |dz| |x - y|``.
    """
    x, y, dz, xb, yb, d = _full(x, y, dz)
    g = 2.0 * d * (xb - yb)
    a = np.abs(g)
    return _binary(x, y, dz, g, -g, a, a)
