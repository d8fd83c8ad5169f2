"""OpSpec: one declarative record per op, checked for consistency when it is made."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from conformance.dtypes import DTYPES
from conformance.regimes import check_declared

# Value domains an input may draw from (see conformance.strategies.draw_values).
DOMAINS = (
    "real",  # any sign, scaled by the case's magnitude
    "positive",  # strictly positive, away from 0 (log, sqrt, rsqrt, reciprocal ...)
    "unit",  # open interval (-1, 1)
    "probability",  # rows summing to one along the last axis (labels)
    "index",  # integer indices, non-differentiable
    "bool",  # boolean masks, non-differentiable
)


@dataclass(frozen=True)
class InputSpec:
    name: str
    domain: str = "real"
    differentiable: bool = True

    def __post_init__(self) -> None:
        if self.domain not in DOMAINS:
            raise ValueError(f"input {self.name!r}: unknown domain {self.domain!r}; valid: {DOMAINS}")
        if self.domain in ("index", "bool") and self.differentiable:
            raise ValueError(f"input {self.name!r} has domain {self.domain!r}: it cannot be differentiable")


@dataclass(frozen=True)
class Kink:
    """A point where the derivative is not defined; the convention probe evaluates it there.

    name:         short label for the convention table, e.g. ``"x=0"`` or ``"tie"``.
    description:  what the valid subgradients are, e.g. ``"any value in [0, 1] times dz"``.
    inputs:       exact input values at the kink (float64, representable in every test dtype;
                  non-differentiable inputs such as indices keep their own dtype).
    params:       the op's params for the probe.
    at:           per input, the indices (as lists) of the elements sitting on the kink; the
                  probe reports the framework's gradient there (cotangent is all ones).
    """

    name: str
    description: str
    inputs: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    at: dict[str, list[list[int]]] = field(default_factory=dict)


@dataclass(frozen=True)
class Special:
    """A special-values case (not an accuracy case): exact inputs with ±0, ±inf, NaN, subnormals
    or values near overflow, and what the oracle holds the true gradient to be there.

    inputs: input name -> float64 values, or a function ``(DType) -> values`` for values that
            depend on the dtype (its subnormals, its overflow threshold).
    holds:  the oracle's position in words (e.g. "log'(0) = +inf, so dx = dz * inf").
    """

    name: str
    inputs: dict[str, Any]
    holds: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OpSpec:
    """Everything the generic test needs to know about one op.

    name:       the op's name in the catalogue, CLI and reports.
    family:     catalogue section (elementwise, reduction, linalg, conv, ...).
    inputs:     named inputs in call order; their names are the keyword arguments of
                ``reference`` and ``reference_vjp`` and the keys of the gradient dicts.
    structure:  ``structure(draw, rng) -> Structure``: shapes per input, params and any values
                the op must choose itself (indices, labels); see conformance.strategies.
    reference / reference_vjp: the oracle (NumPy, float64).
    formula:    the VJP as text, the way the seed writes it (``dx = s * (dz - s.dz)``).
    params:     names of the op's keyword parameters (drawn by ``structure``).
    dtypes:     dtype names the op is defined for.
    kinks:      points of non-differentiability (for the convention probe).
    avoid:      ``avoid(values, params, dtype) -> values``: moves float64 input values away from
                the kinks by a margin that scales with the test dtype (a DType), before they are
                rounded, so accuracy cases never sit on a kink. None when the op has no kinks.
    seed:       one of the four ops whose VJPs the seed derived by hand (sigmoid, softmax, matmul,
                conv2d); they sit in their catalogue families like every other op.
    regimes:    the size regimes its accuracy examples are drawn in (conformance.regimes), small
                first; each family's module gives its default.
    """

    name: str
    family: str
    inputs: tuple[InputSpec, ...]
    structure: Callable[..., Any]
    reference: Callable[..., Any]
    reference_vjp: Callable[..., Any]
    formula: str
    params: tuple[str, ...] = ()
    dtypes: tuple[str, ...] = tuple(DTYPES)
    kinks: tuple[Kink, ...] = ()
    avoid: Callable[..., Any] | None = None
    specials: tuple[Special, ...] = ()
    notes: str = ""
    seed: bool = False
    regimes: tuple[str, ...] = ("small",)

    def __post_init__(self) -> None:
        where = f"OpSpec {self.name!r}"
        if not self.name.isidentifier():
            raise ValueError(f"{where}: name must be an identifier")
        if not self.inputs:
            raise ValueError(f"{where}: needs at least one input")
        names = [i.name for i in self.inputs]
        if len(set(names)) != len(names):
            raise ValueError(f"{where}: duplicate input names {names}")
        if not any(i.differentiable for i in self.inputs):
            raise ValueError(f"{where}: no differentiable input")
        bad = [d for d in self.dtypes if d not in DTYPES]
        if bad:
            raise ValueError(f"{where}: unknown dtypes {bad}; valid: {list(DTYPES)}")
        for fn in (self.reference, self.reference_vjp):
            params = inspect.signature(fn).parameters
            missing = [n for n in names if n not in params]
            if missing:
                raise ValueError(f"{where}: {fn.__name__} lacks arguments for inputs {missing}")
        for fn in (self.reference, self.reference_vjp):
            params = inspect.signature(fn).parameters
            missing = [p for p in self.params if p not in params]
            if missing:
                raise ValueError(f"{where}: {fn.__name__} lacks arguments for params {missing}")
        if "dz" not in inspect.signature(self.reference_vjp).parameters:
            raise ValueError(f"{where}: {self.reference_vjp.__name__} must take the cotangent as dz")
        if self.kinks and self.avoid is None:
            raise ValueError(f"{where}: declares kinks but no avoid() to keep accuracy cases off them")
        check_declared(where, self.regimes)
        if not self.formula:
            raise ValueError(f"{where}: formula must state the VJP")

    @property
    def param_defaults(self) -> dict[str, Any]:
        """The oracle's default of each declared param that has one (the op's behaviour before
        the param was drawn): what a fixed case that leaves the param out runs with."""
        signature = inspect.signature(self.reference).parameters
        return {p: signature[p].default for p in self.params
                if signature[p].default is not inspect.Parameter.empty}

    @property
    def differentiable(self) -> tuple[str, ...]:
        return tuple(i.name for i in self.inputs if i.differentiable)


def spec_factory(family: str, module: ModuleType, regimes: tuple[str, ...] = ("small",)) -> Callable[..., OpSpec]:
    """The OpSpec maker of one catalogue module: ``spec = spec_factory("shape", reference.shape)``
    then ``spec("reshape", (X,), _reshape, "dx = reshape(dz, x.shape)", params=("shape",))``.

    The oracle is the module's function of the op's name and its ``<name>_vjp``; ``reference="f"``
    names another pair (``f`` and ``f_vjp``). ``regimes`` is the family's default size regimes.
    Every other keyword is an OpSpec field.
    """

    def make(name: str, inputs: tuple[InputSpec, ...], structure: Callable[..., Any], formula: str, *,
             reference: str | None = None, **fields: Any) -> OpSpec:
        fn = reference or name
        fields.setdefault("regimes", regimes)
        return OpSpec(name=name, family=family, inputs=tuple(inputs), structure=structure,
                      reference=getattr(module, fn), reference_vjp=getattr(module, f"{fn}_vjp"),
                      formula=formula, **fields)

    return make
