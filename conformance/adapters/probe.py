"""What a built-in framework is, without importing it: for a process that runs no test.

Importing torch, TensorFlow and JAX costs about five seconds of CPU. With ``-n 2`` the xdist
controller runs no test, yet it imported all three before the first worker started, and paid
again to tear them down at the end: on a two-core machine that was a third of the fixed cost of
a parallel run. The controller needs only names, versions and devices; on a machine where no
NVIDIA GPU can be visible every framework's devices are ``["cpu"]``, and names and versions come
from the installed distributions' metadata. Where a GPU might be visible the controller imports
as before (device discovery needs the framework). The workers, which import the frameworks to
run the tests, report their environment, and the controller completes ``run.json`` from it.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from importlib import metadata
from pathlib import Path
from typing import Any

from conformance.adapters.base import ADAPTER_API_VERSION

# the import name of each built-in framework, and the distributions that provide it
BUILTIN_PACKAGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "torch": ("torch", ("torch",)),
    "tensorflow": ("tensorflow", ("tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tf-nightly")),
    "jax": ("jax", ("jax",)),
}


def gpu_may_be_visible() -> bool:
    """False only where no framework can see an NVIDIA GPU: CUDA_VISIBLE_DEVICES hides every
    device, or there are no NVIDIA device nodes (nor WSL's /dev/dxg) and no nvidia-smi."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return False
    dev = Path("/dev")
    if (dev / "nvidiactl").exists() or (dev / "dxg").exists() or any(dev.glob("nvidia[0-9]*")):
        return True
    return shutil.which("nvidia-smi") is not None


class InstalledFramework:
    """Stands in for a built-in adapter in the xdist controller: name, version, devices. It runs
    nothing; asking it to is a bug in the caller, so it says so."""

    api_version = ADAPTER_API_VERSION
    probed = True

    def __init__(self, name: str, version: str) -> None:
        self.name = name
        self._version = version

    def version(self) -> str:
        return self._version

    def devices(self) -> list[str]:
        return ["cpu"]

    def environment(self) -> dict[str, Any]:
        return {"version": self._version, "imported_by": "workers (the controller read the package metadata)"}

    def supports(self, *args: Any, **kwargs: Any) -> bool | str:
        raise RuntimeError(f"{self.name} was not imported in this process (a controller stand-in); "
                           "only workers run targets")

    def vjp(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"{self.name} was not imported in this process (a controller stand-in); "
                           "only workers run targets")


def installed(name: str) -> tuple[bool, str]:
    """(True, version) for an installed built-in framework, (False, why not) otherwise."""
    module, distributions = BUILTIN_PACKAGES[name]
    if importlib.util.find_spec(module) is None:
        return False, f"not installed ({module})"
    for dist in distributions:
        try:
            return True, metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return True, "unknown"


def without_import(name: str) -> InstalledFramework | str | None:
    """A stand-in adapter for built-in ``name``, the reason it is not installed, or None when
    only importing it can tell (a GPU may be visible, or it is not a built-in)."""
    if name not in BUILTIN_PACKAGES or gpu_may_be_visible():
        return None
    ok, detail = installed(name)
    return InstalledFramework(name, detail) if ok else detail
