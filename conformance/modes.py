"""Execution modes: how a framework runs an op's VJP (eager, or through one of its compilers).

A mode is a dimension of the matrix like device and precision. Each adapter declares its modes
(``modes = (...)``, optional in the protocol; the first is the framework's own default); an
adapter without the member has one mode, ``eager``. ``--modes`` takes:

- ``default``: each framework's first mode (torch eager, TensorFlow eager, JAX jit: the run of
  before modes existed);
- ``eager``: each framework's eager mode;
- ``compiled``: each framework's modes other than ``eager`` (torch compile and aot_eager, JAX jit,
  TensorFlow function and xla);
- a framework's own mode name (``compile``, ``aot_eager``, ``jit``, ``function``, ``xla``): that
  mode, for the frameworks that have it.

Records name the concrete mode (``mode``), never ``default`` or ``compiled``. Framework-free: the
report, merge and diff read a record without ``mode`` (older runs) as its framework's default.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# The built-in adapters' modes, first the default (the adapters declare the same; a test holds
# them together): known here without importing a framework (the controller, the report).
BUILTIN_MODES: dict[str, tuple[str, ...]] = {
    "torch": ("eager", "compile", "aot_eager"),
    "tensorflow": ("eager", "function", "xla"),
    "jax": ("jit", "eager"),
}
EAGER = "eager"
GROUPS = ("default", "eager", "compiled")
# what each mode is, for --help and the report
DESCRIPTIONS = {
    "eager": "op by op, no compiler",
    "compile": "torch.compile(backend='inductor', dynamic=True): inductor's generated code (C++ on the CPU)",
    "aot_eager": "torch.compile(backend='aot_eager', dynamic=True): tracing and decompositions, no code generation",
    "jit": "jax.jit of the forward and pullback (XLA)",
    "function": "tf.function(reduce_retracing=True): a TensorFlow graph",
    "xla": "tf.function(jit_compile=True): XLA",
}


def modes_of(adapter: Any, name: str = "") -> tuple[str, ...]:
    """The modes an adapter declares (its first the default); ``("eager",)`` without ``modes``."""
    declared = getattr(adapter, "modes", None) if adapter is not None else None
    if declared:
        return tuple(str(m) for m in declared)
    return BUILTIN_MODES.get(name or str(getattr(adapter, "name", "")), (EAGER,))


def default_mode(framework: str) -> str:
    """The mode a record without ``mode`` ran in: its framework's default (eager for others)."""
    return BUILTIN_MODES.get(framework, (EAGER,))[0]


def valid_names(per_framework: Mapping[str, Iterable[str]] | None = None) -> list[str]:
    """Every name ``--modes`` takes: the groups, then each framework's own modes."""
    names = list(GROUPS)
    for modes in (per_framework or BUILTIN_MODES).values():
        names += [m for m in modes if m not in names]
    return names


def expand(requested: Iterable[str], modes: tuple[str, ...]) -> list[str]:
    """The concrete modes of one framework (declared ``modes``) that ``requested`` names, in the
    order asked, each once."""
    out: list[str] = []
    for name in requested:
        if name == "default":
            out.append(modes[0])
        elif name == "compiled":
            out += [m for m in modes if m != EAGER]
        elif name in modes:
            out.append(name)
    return list(dict.fromkeys(out))
