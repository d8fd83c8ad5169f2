"""Adapters: how a framework runs an op's VJP. See ``conformance.adapters.base`` for the protocol.

Built-in adapters are imported lazily by name; third-party ones come from ``--adapter
package.module:attr`` or the ``vjp_conformance.adapters`` entry-point group.
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from conformance.adapters.base import ADAPTER_API_VERSION, Adapter, CompileFailed, Unsupported
from conformance.adapters.probe import without_import

__all__ = ["ADAPTER_API_VERSION", "Adapter", "CompileFailed", "Unsupported", "BUILTIN", "Availability", "load",
           "discover"]

BUILTIN = {
    "torch": "conformance.adapters.torch_adapter:TorchAdapter",
    "tensorflow": "conformance.adapters.tf_adapter:TensorFlowAdapter",
    "jax": "conformance.adapters.jax_adapter:JaxAdapter",
}
ENTRY_POINT_GROUP = "vjp_conformance.adapters"


@dataclass
class Availability:
    """A framework as the run sees it: the adapter, or why there is none."""

    name: str
    adapter: Any | None
    reason: str = ""
    source: str = "builtin"

    @property
    def available(self) -> bool:
        return self.adapter is not None


def _import(ref: str) -> Any:
    if ":" not in ref:
        raise ValueError(f"adapter reference {ref!r} must look like package.module:attr")
    module_name, attr = ref.split(":", 1)
    if os.getcwd() not in sys.path:  # like `python -m`: modules in the working directory import
        sys.path.insert(0, os.getcwd())
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj() if isinstance(obj, type) else obj


def load(ref: str, name: str | None = None, source: str = "plugin") -> Availability:
    """Import and instantiate an adapter; a missing or broken framework becomes a reason."""
    label = name or ref
    try:
        adapter = _import(ref)
    except ModuleNotFoundError as e:
        return Availability(label, None, f"not installed ({e.name})", source)
    except Exception as e:  # a framework that fails on import is unavailable, not fatal
        return Availability(label, None, f"failed to load: {type(e).__name__}: {e}", source)
    problem = validate(adapter)
    if problem:
        return Availability(getattr(adapter, "name", label), None, problem, source)
    return Availability(adapter.name, adapter, "", source)


def validate(adapter: Any) -> str | None:
    """Why an object does not implement the adapter protocol, or None."""
    missing = [a for a in ("name", "version", "devices", "supports", "vjp") if not hasattr(adapter, a)]
    if missing:
        return f"adapter {adapter!r} lacks {missing} (see conformance.adapters.base.Adapter)"
    api = getattr(adapter, "api_version", ADAPTER_API_VERSION)
    if int(api) != ADAPTER_API_VERSION:
        return f"adapter {adapter.name!r} speaks protocol version {api}; this suite speaks {ADAPTER_API_VERSION}"
    return None


def discover(extra_refs: tuple[str, ...] = (), only: list[str] | None = None,
             runs_tests: bool = True) -> dict[str, Availability]:
    """Built-in adapters, installed entry points and explicit ``module:attr`` references.

    With ``only``, built-in and entry-point adapters outside it are listed but not imported
    (importing a framework costs seconds); they show as "not selected". A process that runs no
    test (``runs_tests=False``: the xdist controller) gets built-in frameworks as stand-ins read
    from package metadata where that is certain to be enough (``conformance.adapters.probe``).
    """
    found: dict[str, Availability] = {}
    for name, ref in BUILTIN.items():
        if only is None or name in only:
            probed = None if runs_tests else without_import(name)
            if probed is None:
                found[name] = load(ref, name, "builtin")
            elif isinstance(probed, str):
                found[name] = Availability(name, None, probed, "builtin")
            else:
                found[name] = Availability(name, probed, "", "builtin")
        else:
            found[name] = Availability(name, None, "not selected", "builtin")
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if only is None or ep.name in only:
            av = load(ep.value, ep.name, f"entry point {ep.name}")
        else:
            av = Availability(ep.name, None, "not selected", f"entry point {ep.name}")
        found[av.name] = av
    for ref in extra_refs:
        av = load(ref, None, f"--adapter {ref}")
        found[av.name] = av
    return found
