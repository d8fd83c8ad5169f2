"""Turn a framework's gradients and the oracle's into error figures and a verdict."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from conformance.dtypes import DType, dtype_name
from reference import Grad


@dataclass
class Figures:
    """Error figures of one example (worst over all differentiable inputs)."""

    max_abs_err: float = 0.0
    max_rel_err: float = 0.0
    max_ulp: float = 0.0
    bound_ratio: float = 0.0
    budget: float = 0.0
    worst: dict[str, Any] | None = None
    per_input: dict[str, dict[str, Any]] = field(default_factory=dict)
    assert_close_pass: bool = True
    nonfinite: dict[str, Any] | None = None


def check_output(got: Any, ref: Mapping[str, Grad], dtype: DType) -> str | None:
    """Why ``got`` is not a well-formed gradient dict, or None when it is."""
    if not isinstance(got, Mapping):
        return f"expected a dict {{input: ndarray}} with keys {sorted(ref)}, got {type(got).__name__}"
    missing, extra = sorted(set(ref) - set(got)), sorted(set(got) - set(ref))
    if missing or extra:
        return f"expected gradient keys {sorted(ref)}, missing {missing}, unexpected {extra}"
    for name, g in ref.items():
        arr = got[name]
        if not isinstance(arr, np.ndarray):
            return f"gradient {name!r}: expected numpy.ndarray, got {type(arr).__name__}"
        if arr.shape != g.value.shape:
            return f"gradient {name!r}: expected shape {g.value.shape}, got {arr.shape}"
        if arr.dtype != dtype.numpy:
            return f"gradient {name!r}: expected dtype {dtype.name}, got {dtype_name(arr.dtype)}"
    return None


def ulp_of(values: np.ndarray, dtype: DType) -> np.ndarray:
    """Spacing of ``dtype`` at each value (float64 values; subnormal spacing at the bottom).

    The binade comes from ``frexp`` (|v| = m * 2**e with 0.5 <= m < 1, so floor(log2 |v|) = e - 1
    exactly; ``log2`` rounds up to the next binade just below a power of two)."""
    a = np.abs(values)
    _, e = np.frexp(a)
    emin = math.frexp(dtype.smallest_normal)[1] - 1
    binade = np.where(a > 0, e - 1, emin)  # frexp(0) gives e = 0; zero is spaced like the bottom
    return np.ldexp(1.0, np.maximum(binade, emin) - (dtype.mantissa_bits - 1))


def json_number(x: Any) -> float | str:
    """A float for JSON; non-finite values as their repr ('inf', '-inf', 'nan')."""
    x = float(x)
    return x if math.isfinite(x) else repr(x)


def _finite_json(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def compare(
    got: Mapping[str, np.ndarray], ref: Mapping[str, Grad], dtype: DType, budget_of
) -> Figures:
    """Error figures over every differentiable input; ``budget_of(name, grad) -> float``.

    bound_ratio = max |got - ref| / (u * magnitude + smallest_normal * tiny): the error in units
    of what rounding in ``dtype`` can explain, where the second term is what flushing subnormal
    intermediates to zero can explain (see reference.Grad).
    """
    fig = Figures(budget=math.inf)
    worst_ratio = -1.0
    for name, g in ref.items():
        gv = np.asarray(got[name]).astype(np.float64)
        want = g.value
        budget = float(budget_of(name, g))
        # the true gradient as the dtype can hold it: a finite value past the dtype's range is inf
        with np.errstate(over="ignore", invalid="ignore"):
            want_rounded = want.astype(dtype.numpy).astype(np.float64)
        fin_got, fin_want = np.isfinite(gv), np.isfinite(want_rounded)
        if fin_got.all() and fin_want.all() and not np.isnan(g.magnitude).any():
            err, ratio, max_rel, ulps, close_all = _finite_figures(gv, want, want_rounded, g, dtype)
        else:
            err, ratio, max_rel, ulps, close_all, nonfinite = _general_figures(gv, want, want_rounded, g, dtype,
                                                                               fin_got, fin_want)
            if nonfinite is not None:
                fig.nonfinite = {"input": name, **nonfinite}
        item = {
            "max_abs_err": float(err.max(initial=0.0)),
            "max_rel_err": max_rel,
            "max_ulp": float(ulps.max(initial=0.0)),
            "bound_ratio": float(ratio.max(initial=0.0)),
            "budget": budget,
            "terms": int(g.terms),
        }
        fig.per_input[name] = item
        fig.max_abs_err = max(fig.max_abs_err, item["max_abs_err"])
        fig.max_rel_err = max(fig.max_rel_err, item["max_rel_err"])
        fig.max_ulp = max(fig.max_ulp, item["max_ulp"])
        fig.assert_close_pass &= close_all
        # the headline ratio is the one furthest over (or nearest to) its own budget
        if want.size and item["bound_ratio"] / budget > worst_ratio:
            worst_ratio = item["bound_ratio"] / budget
            fig.bound_ratio, fig.budget = item["bound_ratio"], budget
            idx = np.unravel_index(int(np.argmax(ratio)), want.shape)
            fig.worst = {
                "input": name,
                "index": [int(i) for i in idx],
                "got": json_number(gv[idx]),
                "want": json_number(want[idx]),
                "abs_err": json_number(err[idx]),
                "magnitude": json_number(g.magnitude[idx]),
                "ulp": json_number(ulps[idx]),
            }
    if fig.budget == math.inf:
        fig.budget = 0.0
    return fig


def screen(gots: Sequence[Mapping[str, np.ndarray]], refs: Sequence[Mapping[str, Grad]], dtype: DType,
           budget_of) -> list[tuple[float, float]] | None:
    """``(bound_ratio, budget)`` of each of several value sets of one structure (same shapes), as
    :func:`compare` gives them, from one pass over their gradients stacked on a leading axis
    (the element arithmetic is compare's, so the figures are the same to the bit); None when any
    value is non-finite or a magnitude undefined, where compare takes its general route.

    Enough to give each value set its verdict and pick the worst; compare itself then gives the
    full figures of the value sets whose records are written."""
    k = len(refs)
    best = np.full(k, -1.0)
    ratio_of = np.zeros(k)
    budget_at = np.full(k, math.inf)
    for name in refs[0]:
        if refs[0][name].value.size == 0:
            continue  # no element: no headline (as in compare)
        want = np.stack([r[name].value for r in refs])
        gv = np.stack([g[name] for g in gots]).astype(np.float64)
        magnitude = np.stack([r[name].magnitude for r in refs])
        with np.errstate(over="ignore", invalid="ignore"):
            want_rounded = want.astype(dtype.numpy).astype(np.float64)
        if not (np.isfinite(gv).all() and np.isfinite(want_rounded).all() and not np.isnan(magnitude).any()):
            return None
        tiny = np.stack([np.broadcast_to(r[name].tiny, want.shape[1:]) for r in refs])
        ratio = (np.abs(gv - want) / (dtype.unit_roundoff * magnitude + dtype.smallest_normal * tiny)).reshape(k, -1)
        worst = ratio.max(axis=1)
        budget = np.array([float(budget_of(name, r[name])) for r in refs])
        further = worst / budget > best  # the headline: the input furthest over (or nearest to) its budget
        best = np.where(further, worst / budget, best)
        ratio_of = np.where(further, worst, ratio_of)
        budget_at = np.where(further, budget, budget_at)
    return [(float(r), 0.0 if b == math.inf else float(b)) for r, b in zip(ratio_of, budget_at)]


def _finite_figures(gv: np.ndarray, want: np.ndarray, want_rounded: np.ndarray, g: Grad, dtype: DType):
    """Error arrays where both sides are finite everywhere and the magnitude is defined: the
    common case, in about half the array passes of :func:`_general_figures` (same figures)."""
    err = np.abs(gv - want)
    ratio = err / (dtype.unit_roundoff * g.magnitude + dtype.smallest_normal * np.broadcast_to(g.tiny, want.shape))
    absw = np.abs(want)
    # relative error where the true gradient is non-zero (at an exact zero it is undefined)
    max_rel = float(np.divide(err, absw, out=np.zeros_like(err), where=absw > 0).max(initial=0.0))
    ulps = np.abs(gv - want_rounded) / ulp_of(want, dtype)
    close_all = bool((err <= dtype.atol + dtype.rtol * absw).all())
    return err, ratio, max_rel, ulps, close_all


def _general_figures(gv: np.ndarray, want: np.ndarray, want_rounded: np.ndarray, g: Grad, dtype: DType,
                     fin_got: np.ndarray, fin_want: np.ndarray):
    """Error arrays with non-finite values on either side (or an undefined magnitude): figures
    over the elements finite on both sides, and the first non-finite disagreement, if any."""
    nonfinite = None
    mismatch = fin_got != fin_want
    same_nonfinite = (gv == want_rounded) | (np.isnan(gv) & np.isnan(want_rounded))
    both_nonfinite_differ = ~fin_got & ~fin_want & ~same_nonfinite
    if mismatch.any() or both_nonfinite_differ.any():
        idx = np.unravel_index(int(np.argmax(mismatch | both_nonfinite_differ)), want.shape)
        nonfinite = {
            "index": [int(i) for i in idx],
            "got": repr(float(gv[idx])),
            "want": repr(float(want_rounded[idx])),
            "side": "framework" if not fin_got[idx] else "oracle",
            "count": int(mismatch.sum() + both_nonfinite_differ.sum()),
        }
    ok = fin_got & fin_want
    err = np.where(ok, np.abs(gv - want), 0.0)
    magnitude = np.where(np.isnan(g.magnitude), np.inf, g.magnitude)  # no claim where undefined
    denom = dtype.unit_roundoff * np.where(ok, magnitude, 0.0) + dtype.smallest_normal * np.broadcast_to(
        g.tiny, want.shape)
    ratio = err / denom
    nonzero = np.abs(want) > 0
    rel = np.where(nonzero, err / np.where(nonzero, np.abs(want), 1.0), 0.0)
    max_rel = float(np.where(ok & (err > 0), rel, 0.0).max(initial=0.0))
    ulps = np.where(ok, np.abs(gv - want_rounded) / ulp_of(want, dtype), 0.0)
    close_all = bool(np.where(ok, err <= dtype.atol + dtype.rtol * np.abs(want), True).all())
    return err, ratio, max_rel, ulps, close_all, nonfinite


def verdict(fig: Figures) -> str:
    if fig.nonfinite is not None:
        return "nonfinite"
    return "fail" if fig.bound_ratio > fig.budget else "pass"


def figures_json(fig: Figures) -> dict[str, Any]:
    """The figures as record fields (``nonfinite`` only where there is a non-finite disagreement)."""
    out = {
        "max_abs_err": _finite_json(fig.max_abs_err),
        "max_rel_err": _finite_json(fig.max_rel_err),
        "max_ulp": _finite_json(fig.max_ulp),
        "bound_ratio": _finite_json(fig.bound_ratio),
        "budget": fig.budget,
        "worst": fig.worst,
        "per_input": fig.per_input,
        "assert_close": {"passed": fig.assert_close_pass},
    }
    if fig.nonfinite is not None:
        out["nonfinite"] = fig.nonfinite
    return out
