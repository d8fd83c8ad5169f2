"""How a built-in adapter maps catalogue ops onto framework calls.

Each framework has a package ``<framework>_ops`` with one module per catalogue family. Every
function decorated with ``@impl(...)`` there maps the op of the same name (a trailing ``_`` is
dropped, for names such as ``sum_`` that would shadow a builtin). ``fn`` takes the framework's
tensors as keyword arguments named like the op's inputs, plus the op's params, and returns the
output tensor: layouts, argument names and padding rules are converted inside ``fn``, never in
test code.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class OpImpl:
    fn: Callable[..., Any] | None
    call: str  # the framework call used, as people would write it
    composite: bool = False  # built from several framework primitives, not one op
    unsupported: str | None = None  # why the framework cannot do this op at all
    unsupported_dtypes: tuple[tuple[str, str], ...] = ()  # (dtype, reason) pairs

    def describe(self) -> dict[str, Any]:
        d: dict[str, Any] = {"call": self.call, "composite": self.composite}
        if self.unsupported:
            d["unsupported"] = self.unsupported
        return d


def impl(call: str, composite: bool = False, unsupported_dtypes: dict[str, str] | None = None
         ) -> Callable[[Callable[..., Any]], OpImpl]:
    """Decorator: ``@impl("torch.sigmoid")`` turns a function into an OpImpl.

    ``unsupported_dtypes`` maps a dtype name to the reason the framework cannot run it (e.g. no
    float16 kernel on CPU); such targets are recorded ``unsupported`` with that reason.
    """

    def wrap(fn: Callable[..., Any]) -> OpImpl:
        return OpImpl(fn, call, composite, None, tuple((unsupported_dtypes or {}).items()))

    return wrap


def collect(package: str, families: tuple[str, ...]) -> dict[str, OpImpl]:
    """The ``@impl`` mappings defined in ``package.<family>`` modules, by op name; an op mapped
    twice is refused. Mappings a module merely imports from another are not counted again."""
    ops: dict[str, OpImpl] = {}
    for fam in families:
        module = importlib.import_module(f"{package}.{fam}")
        for attr, op in vars(module).items():
            if not isinstance(op, OpImpl) or getattr(op.fn, "__module__", module.__name__) != module.__name__:
                continue
            name = attr.removesuffix("_")
            if name in ops:
                raise ValueError(f"{package}: op {name!r} mapped twice")
            ops[name] = op
    return ops


class MappedAdapter:
    """Shared behaviour of the built-in adapters: lookup, support and description."""

    name = "?"
    api_version = 1
    ops: dict[str, OpImpl] = {}
    dtypes: tuple[str, ...] = ("float16", "bfloat16", "float32", "float64")

    def supports(self, op: Any, dtype: str, device: str) -> bool | str:
        mapped = self.ops.get(op.name)
        if mapped is None:
            return f"{self.name} adapter has no mapping for {op.name}"
        if mapped.unsupported:
            return mapped.unsupported
        if dtype not in self.dtypes:
            return f"{self.name} adapter does not handle {dtype}"
        for dt, reason in mapped.unsupported_dtypes:
            if dt == dtype:
                return reason
        if device not in self.devices():
            return f"device {device} not visible to {self.name}; visible: {self.devices()}"
        return True

    def describe(self, op: Any) -> dict[str, Any]:
        mapped = self.ops.get(op.name)
        if mapped is None:
            return {"unsupported": f"no mapping for {op.name}"}
        return mapped.describe()

    def devices(self) -> list[str]:  # pragma: no cover - overridden
        return ["cpu"]
