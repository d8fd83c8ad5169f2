"""Size regimes: where in shape space an accuracy example lands.

Most examples stay *small* (sides 1..5: cheap, and where shrinking ends). The other regimes take
an example where kernels branch: sides that straddle SIMD widths (*tails*), a long reduction /
softmax / scan axis (*long*), more than 64k elements (*large*, past the grain size of threaded
kernels), a leading batch of 8 or more (*batch*), a size-0 dimension (*empty*) and 0-d inputs
(*scalar*).

Each op declares the regimes it is drawn in (``OpSpec.regimes``; each catalogue family has a
default). A structure example draws one of them first (Hypothesis shrinks it to *small*); while the
op's structure function runs, the shape helpers of :mod:`conformance.strategies` read the active
regime and shape the first input it can apply to accordingly. What a run actually reached is
measured from the records' shapes (:func:`reached`), not taken from the label, so the reach table
and its test say what the cases were, not what they were meant to be.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

REGIMES: dict[str, str] = {
    "small": "every side 1..5 (most examples; shrinking ends here)",
    "tails": "a side just off a SIMD width: 7, 9, 15, 17, 31, 33, 63, 65, 127 or 129",
    "long": "one axis of 257 to 4097 elements (the reduced, softmax or scanned axis where the op has one)",
    "large": "an input of more than 65,536 elements (threaded kernels past their grain size)",
    "batch": "a leading batch dimension of 8 to 33",
    "empty": "a size-0 dimension",
    "scalar": "a 0-d input",
}
TAIL_SIDES = (7, 9, 15, 17, 31, 33, 63, 65, 127, 129)
LONG_SIDES = (257, 1000, 1023, 1025, 2049, 4097)
BATCH_SIDES = (8, 9, 16, 17, 32, 33)
LARGE_ELEMENTS = 65_536  # "large": strictly more elements than this
# an input's elements at most, where no profile says (conformance.selection.Profile.max_elements)
DEFAULT_MAX_ELEMENTS = 2 * LARGE_ELEMENTS
# shapes of just over LARGE_ELEMENTS elements, by rank (the helpers pick one for the rank drawn)
LARGE_SHAPES: dict[int, tuple[tuple[int, ...], ...]] = {
    1: ((65_537,), (66_049,), (69_999,)),
    2: ((257, 257), (129, 513), (65, 1_031), (16_385, 5)),
    3: ((17, 63, 65), (33, 45, 47), (9, 91, 81), (129, 129, 5)),
    4: ((5, 9, 33, 47), (3, 17, 33, 41), (2, 31, 33, 33), (4, 65, 65, 4)),
    5: ((2, 3, 17, 23, 29), (3, 5, 7, 17, 37), (2, 2, 31, 33, 17), (2, 5, 58, 58, 2)),
}


def large_side(of: int) -> int:
    """The least side s with s ** of > LARGE_ELEMENTS (65,537; 257 for a matrix; 41 for a volume)."""
    s = round(LARGE_ELEMENTS ** (1.0 / of))
    while s**of <= LARGE_ELEMENTS:
        s += 1
    while s > 1 and (s - 1) ** of > LARGE_ELEMENTS:
        s -= 1
    return s


def tail_side(side: int) -> bool:
    """A side one off a multiple of 8 (from 7 on): the main loop runs and a tail is left over."""
    return side >= 7 and (side % 8 in (1, 7))


@dataclass
class Active:
    """The regime of the structure being drawn, and how much of it the helpers have applied."""

    name: str
    max_elements: int
    applied: int = 0  # how many helper calls it has shaped (most regimes shape one)
    long_axis: int | None = None  # the long axis of the first shape the long regime made

    def take(self, limit: int = 1) -> bool:
        """Whether this helper call is one the regime shapes (the first ``limit`` calls are)."""
        if self.name == "small" or self.applied >= limit:
            return False
        self.applied += 1
        return True


_ACTIVE: contextvars.ContextVar[Active | None] = contextvars.ContextVar("vjp_regime", default=None)


def active() -> Active | None:
    """The regime of the structure being drawn (None outside one: the helpers draw small)."""
    return _ACTIVE.get()


@contextlib.contextmanager
def drawing(name: str, max_elements: int) -> Iterator[Active]:
    """The shape helpers draw in regime ``name`` within this block."""
    if name not in REGIMES:
        raise ValueError(f"unknown regime {name!r}; valid: {list(REGIMES)}")
    state = Active(name, max_elements)
    token = _ACTIVE.set(state)
    try:
        yield state
    finally:
        _ACTIVE.reset(token)


def examples_per_regime(declared: Sequence[str], max_examples: int, offset: int = 0) -> list[tuple[str, int]]:
    """How many of a target's ``max_examples`` structure examples are drawn in each regime its op
    declares: half (rounded up) small, the other half dealt round-robin over the other declared
    regimes starting at ``offset`` (the suite passes the dtype's position times the half, so an
    op's dtypes between them reach every regime when one target has too few examples to). Regimes
    dealt no example are left out; the counts sum to ``max_examples``."""
    others = [r for r in declared if r != "small"]
    rest = max_examples // 2 if others else 0
    counts = dict.fromkeys(others, 0)
    for i in range(rest):
        counts[others[(offset + i) % len(others)]] += 1
    return [("small", max_examples - rest)] + [(r, n) for r, n in counts.items() if n]


def check_declared(where: str, regimes: Sequence[str]) -> None:
    """An op's declared regimes: known names, ``small`` first (the shrink target)."""
    unknown = [r for r in regimes if r not in REGIMES]
    if unknown:
        raise ValueError(f"{where}: unknown regimes {unknown}; valid: {list(REGIMES)}")
    if not regimes or regimes[0] != "small":
        raise ValueError(f"{where}: regimes must start with 'small' (where shrinking ends), got {list(regimes)}")
    if len(set(regimes)) != len(regimes):
        raise ValueError(f"{where}: regimes named twice: {list(regimes)}")


def elements(shape: Sequence[int]) -> int:
    """How many elements an array of ``shape`` holds."""
    n = 1
    for s in shape:
        n *= int(s)
    return n


def reached(shapes: Mapping[str, Sequence[int]], differentiable: Iterable[str],
            cotangent: Sequence[int] | None = None) -> set[str]:
    """The regimes a case reached, measured from the shapes of its differentiable inputs and its
    cotangent (what the VJP computes with): ``tails`` a tail side, ``long`` a side of 257 or more,
    ``large`` more than 65,536 elements, ``batch`` a leading side of 8 or more in rank 2 or more,
    ``empty`` a size-0 side, ``scalar`` a 0-d input; every case is also ``small``'s."""
    out = {"small"}
    arrays = [[int(v) for v in shapes[n]] for n in differentiable if n in shapes]
    for i, s in enumerate(arrays + ([[int(v) for v in cotangent]] if cotangent is not None else [])):
        if not s:
            if i < len(arrays):
                out.add("scalar")
            continue
        if 0 in s:
            out.add("empty")
        if any(tail_side(v) for v in s):
            out.add("tails")
        if max(s) >= LONG_SIDES[0]:
            out.add("long")
        if elements(s) > LARGE_ELEMENTS:
            out.add("large")
        if len(s) >= 2 and s[0] >= BATCH_SIDES[0]:
            out.add("batch")
    return out
