"""The adapter protocol (version 1).

An adapter is any object with these members (a class is instantiated without arguments):

``name: str``
    Framework name used in selections and reports (``torch``, ``mygrad``...).
``api_version: int``
    The protocol version it implements; this module's ``ADAPTER_API_VERSION``.
``version() -> str``
    The framework's version string.
``devices() -> list[str]``
    Devices it can run on, ``"cpu"`` first, then e.g. ``"cuda:0"``.
``supports(op, dtype, device) -> bool | str``
    ``True`` when it can run ``op`` (an OpSpec; ``op.name`` is the catalogue name) in ``dtype``
    (a name such as ``"float32"``) on ``device``; otherwise a string saying why not.
``vjp(op, inputs, params, cotangent, *, dtype, device) -> dict[str, numpy.ndarray]``
    Runs the op through the framework's own autodiff. ``inputs`` maps input names to NumPy arrays
    already in the test dtype (``ml_dtypes.bfloat16`` for bfloat16); ``params`` are the op's
    keyword parameters; ``cotangent`` has the output's shape and dtype. It returns one gradient
    per differentiable input (``op.differentiable``), each with that input's shape and dtype.
    It may raise :class:`Unsupported` for a parameter combination the framework cannot do.

Optional: ``describe(op) -> dict`` (the call used, whether composite) for ``ops --json``;
``environment() -> dict`` for the run's environment record; ``precision_modes`` and
``set_precision(mode)``; ``modes`` (execution modes, the first the framework's default: see
``conformance.modes``): an adapter that declares them gets ``vjp(..., mode=...)``, may raise
:class:`CompileFailed` from its compiler's exception (recorded ``error`` in phase ``compile``) and
may say what its last call compiled (``call_stats() -> {"compiles": n}``) and may set a mode up
once per process (``warm_up(mode, device)``, called before the mode's first example and outside
its time limit: a compiler's one-time start-up). Without ``modes`` an adapter has one mode,
``eager``, and ``vjp`` gets no ``mode``.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

ADAPTER_API_VERSION = 1


class Unsupported(Exception):
    """Raised by an adapter for a case it cannot run; the record says ``unsupported``."""


class CompileFailed(Exception):
    """Raised by an adapter ``from`` the exception a framework's compiler raised (a compiled mode):
    the record is an ``error`` in phase ``compile``, its ``error_type`` the compiler's exception's."""


@runtime_checkable
class Adapter(Protocol):
    name: str
    api_version: int

    def version(self) -> str: ...

    def devices(self) -> list[str]: ...

    def supports(self, op: Any, dtype: str, device: str) -> bool | str: ...

    def vjp(
        self,
        op: Any,
        inputs: dict[str, np.ndarray],
        params: dict[str, Any],
        cotangent: np.ndarray,
        *,
        dtype: str,
        device: str,
    ) -> dict[str, np.ndarray]: ...
