"""Finite-difference machinery for testing the oracle against its own forward (float64).

A finite difference is only evidence when its own error is known. :func:`fd_dot` returns, with
each estimate of ``J t``, a bound on how far ``<J t, dz>`` can be from the truth:

* truncation: the step is Richardson-extrapolated (error O(h^4)); the same extrapolation with
  twice the step has 16 times that error, so ``|R(2h) - R(h)|`` (15 times R(h)'s leading error
  term) bounds it with room, and ``|R(4h) - R(2h)| / 16`` must agree. It is large exactly where
  the function curves on the scale of the step: near a pole of tan, near a kink, where exp or a
  power grows fast.
* rounding: each forward value is off by a few ulps of its size, and by a few ulps of its
  conditioning (the inputs x + h t are rounded, and the forward's arithmetic is backward
  stable at best): ``u |dz|^T |J| |x|``, from the oracle's magnitudes; both divided by the step.

The step is not fixed: starting from ``H`` (relative to each element's size) it is halved
while truncation dominates the bound, so a case 0.1 from a pole of tan at |x| = 26 is measured
with a step that resolves the pole instead of being excused by a looser tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from conformance.opspec import OpSpec

H = 1e-4  # relative step: each element moves by about H times its own size
U64 = 2.0**-53
# How many ulps of |f|, and of its conditioning, a forward evaluation may be off.
FORWARD_ULPS = 8.0
# The step is halved at most this many times (H / 2^12 ~ 2.4e-8: rounding dominates far earlier).
MAX_HALVINGS = 12


def _forward(spec: OpSpec, inputs: dict, params: dict, direction: dict, eps: float) -> np.ndarray:
    moved = {k: (v + eps * direction[k] if k in direction else v) for k, v in inputs.items()}
    return np.asarray(spec.reference(**moved, **params), dtype=np.float64)


def _richardson(fp: dict[tuple[int, int], np.ndarray], h: float, k: int) -> np.ndarray:
    """Richardson-extrapolated central difference at step h 2^k from f(x ± h 2^k t) and
    f(x ± h 2^(k+1) t) (``fp[sign, j]`` holds f(x + sign h 2^j t))."""
    d1 = (fp[1, k] - fp[-1, k]) / (2 * h * 2.0**k)
    d2 = (fp[1, k + 1] - fp[-1, k + 1]) / (4 * h * 2.0**k)
    return (4 * d1 - d2) / 3


def directional_derivative(spec: OpSpec, inputs: dict, params: dict, direction: dict, h: float) -> np.ndarray:
    """Central difference (f(x + h t) - f(x - h t)) / 2h with a 4th-order Richardson step."""
    d1 = (_forward(spec, inputs, params, direction, h) - _forward(spec, inputs, params, direction, -h)) / (2 * h)
    d2 = (_forward(spec, inputs, params, direction, 2 * h)
          - _forward(spec, inputs, params, direction, -2 * h)) / (4 * h)
    return (4 * d1 - d2) / 3


@dataclass(frozen=True)
class FDResult:
    """J t by finite differences, with bounds on its error.

    value:       the estimate of J t (the output's shape).
    truncation:  elementwise estimate of the truncation error of ``value``.
    rounding:    elementwise bound on the rounding error of ``value`` from a few ulps of |f|.
    conditioned: bound on the rounding error of ``<value, dz>`` from the rounding of the inputs
                 (x + h t is rounded) and of the forward's own arithmetic, a few ulps of
                 ``sensitivity`` (|dz|^T |J| |x|) over the step.
    step:        the step h the estimate was taken with (x moves by h t).
    """

    value: np.ndarray
    truncation: np.ndarray
    rounding: np.ndarray
    conditioned: float
    step: float

    def dot(self, dz: np.ndarray) -> float:
        return float(np.sum(self.value * dz))

    def dot_error(self, dz: np.ndarray) -> float:
        """Bound on the error of ``dot(dz)`` (no cancellation assumed between elements)."""
        return self.dot_truncation(dz) + self.dot_rounding(dz)

    def dot_truncation(self, dz: np.ndarray) -> float:
        with np.errstate(invalid="ignore"):
            return float(np.sum(self.truncation * np.abs(dz)))

    def dot_rounding(self, dz: np.ndarray) -> float:
        with np.errstate(invalid="ignore"):
            return float(np.sum(self.rounding * np.abs(dz))) + self.conditioned


def sensitivity(inputs: dict, grads: dict) -> float:
    """|dz|^T |J| |x| summed over the differentiable inputs, from the oracle's rounding
    magnitudes (each at least |J|^T |dz| on absolute values): u times it is how far <f, dz> moves
    when every input moves by a relative u, which is what rounding the inputs, or a
    backward-stable forward, does to it."""
    return float(sum(np.sum(np.abs(np.asarray(inputs[n], dtype=np.float64)) * g.magnitude)
                     for n, g in grads.items()))


def fd_dot(spec: OpSpec, inputs: dict, params: dict, direction: dict, dz: np.ndarray,
           conditioning: float = 0.0, h: float = H) -> FDResult:
    """J t by Richardson-extrapolated central differences, with an error bound, the step chosen
    to minimise that bound for ``<J t, dz>``: halved from ``h`` while the truncation term is the
    larger one, and the best step seen kept (the bound has its minimum where both terms meet).

    The truncation error of R(h) is estimated twice, from R(2h) - R(h) (15 times R(h)'s leading
    error term) and from (R(4h) - R(2h)) / 16, and the larger taken: a step is trusted only where
    two neighbouring steps agree on how fast the error shrinks, not where one difference happens
    to be small. ``conditioning`` is |dz|^T |J| |x| (see :func:`sensitivity`)."""
    dz = np.abs(np.asarray(dz, dtype=np.float64))
    fp: dict[tuple[int, int], np.ndarray] = {}  # (sign, j) -> f(x + sign h 2^j t)

    def at(j: int) -> None:
        for sign in (1, -1):
            if (sign, j) not in fp:
                fp[sign, j] = _forward(spec, inputs, params, direction, sign * h * 2.0**j)

    centre = np.abs(np.asarray(spec.reference(**inputs, **params), dtype=np.float64))
    best: FDResult | None = None
    best_bound = np.inf
    for k in range(0, -MAX_HALVINGS - 1, -1):
        levels = (k, k + 1, k + 2, k + 3)
        for j in levels:
            at(j)
        r0, r1, r2 = (_richardson(fp, h, j) for j in (k, k + 1, k + 2))
        with np.errstate(invalid="ignore", over="ignore"):
            size = np.maximum.reduce([centre, *(np.abs(fp[s, j]) for s in (1, -1) for j in levels)])
            # R's weights: (4/3) 2e|f| / 2h + (1/3) 2e|f| / 4h = 1.5 e|f| / h, for e = FORWARD_ULPS u
            step = h * 2.0**k
            rounding = 1.5 * FORWARD_ULPS * U64 * size / step
            truncation = np.maximum(np.abs(r1 - r0), np.abs(r2 - r1) / 16)
            result = FDResult(r0, truncation, rounding, 1.5 * FORWARD_ULPS * U64 * conditioning / step, step)
            trunc_sum, round_sum = result.dot_truncation(dz), result.dot_rounding(dz)
        bound = trunc_sum + round_sum
        if not np.isfinite(bound):
            if best is None:
                best = result
            continue  # a step that overflows or leaves the domain: try a smaller one
        if bound < best_bound:
            best, best_bound = result, bound
        elif bound > 4 * best_bound:
            break  # past the minimum: rounding grows from here on
        if trunc_sum <= round_sum:
            break
    assert best is not None
    return best


def element_scale(x: np.ndarray) -> np.ndarray:
    """Per-element step scale: the element's own size, floored at 1% of the input's mean size, so
    a small element near a kink (the norm of a tiny vector) is not stepped across by a large one's
    step."""
    a = np.abs(np.asarray(x, dtype=np.float64))
    floor = 1e-2 * (float(a.mean()) if a.size else 1.0) or 1e-2
    return np.maximum(a, floor)


def jacobian_dz_columns(spec: OpSpec, inputs: dict, params: dict, name: str, dz: np.ndarray,
                        conditioning: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``dz^T J`` for J = d out / d inputs[name], element by element of that input (one finite
    difference per element, each with its own step), with each element's truncation and
    rounding error bounds: ``(value, truncation, rounding)``, each of the input's shape.
    ``conditioning`` as for :func:`fd_dot`."""
    x = np.asarray(inputs[name], dtype=np.float64)
    scale = element_scale(x)
    out = np.zeros((3, x.size))
    for i in range(x.size):
        t = np.zeros_like(x, dtype=np.float64)
        t.flat[i] = scale.flat[i]
        r = fd_dot(spec, inputs, params, {name: t}, dz, conditioning)
        out[:, i] = (r.dot(dz), r.dot_truncation(dz), r.dot_rounding(dz))
        out[:, i] /= scale.flat[i]
    value, truncation, rounding = (row.reshape(x.shape) for row in out)
    return value, truncation, rounding
