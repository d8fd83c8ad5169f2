"""PyTorch: ``torch.autograd.grad(out, inputs, grad_outputs=dz)``."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from conformance.adapters.mapping import MappedAdapter, collect
from conformance.adapters.torch_ops import FAMILIES

PRECISION_MODES = ("strict", "default")

# The adapter's own steps, which `vjp-conformance repro` copies verbatim into its scripts
# (conformance/repro/copier.py): everything between the two markers uses only torch, NumPy, the
# standard library and names defined between them.
# -- repro section -----------------------------------------------------------------------------------
# torch.backends flag -> its value in precision mode 'strict': no TF32, no reduced-precision reductions
STRICT_PRECISION = {
    "cuda.matmul.allow_tf32": False,
    "cudnn.allow_tf32": False,
    "cuda.matmul.allow_fp16_reduced_precision_reduction": False,
    "cuda.matmul.allow_bf16_reduced_precision_reduction": False,
}


def precision_flags() -> dict[str, bool]:
    """The value now of each torch.backends flag that STRICT_PRECISION names."""
    return {name: functools.reduce(getattr, name.split("."), torch.backends) for name in STRICT_PRECISION}


def set_precision_flags(flags: dict[str, bool]) -> dict[str, bool]:
    """Set each torch.backends flag in ``flags``; return every flag's value after."""
    for name, value in flags.items():
        path, _, attr = name.rpartition(".")
        owner = functools.reduce(getattr, path.split("."), torch.backends)
        getattr(owner, attr)  # an unknown flag raises here instead of being created
        setattr(owner, attr, value)
    return precision_flags()


def to_tensor(a: np.ndarray, device: str) -> torch.Tensor:
    """``a`` as a tensor on ``device`` (a device name such as ``cpu`` or ``cuda:0``), same dtype."""
    a = np.require(a, requirements="C")  # (np.ascontiguousarray would turn a 0-d array into shape (1,))
    if a.dtype.name == "bfloat16":  # ml_dtypes' bfloat16: torch takes its bits
        t = torch.from_numpy(a.view(np.int16)).view(torch.bfloat16)
    else:
        t = torch.from_numpy(a)
    return t.to(device)


def to_numpy(t: torch.Tensor) -> np.ndarray:
    """``t`` as a NumPy array of its dtype (bfloat16: ml_dtypes')."""
    t = t.detach().cpu()
    if t.dtype == torch.bfloat16:
        import ml_dtypes  # only bfloat16 needs it

        return t.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
    return t.numpy()


def framework_vjp(fn: Callable[..., torch.Tensor], inputs: dict[str, np.ndarray], params: dict[str, Any],
                  cotangent: np.ndarray, differentiable: Sequence[str], device: str) -> dict[str, np.ndarray]:
    """``torch.autograd.grad`` of ``fn(**inputs, **params)`` with respect to the ``differentiable``
    inputs, ``grad_outputs=cotangent``: one gradient per differentiable input (zeros where the
    output does not depend on it), as NumPy arrays."""
    tensors = {name: to_tensor(value, device) for name, value in inputs.items()}
    wrt = [tensors[name].requires_grad_(True) for name in differentiable]
    out = fn(**tensors, **params)
    grads = torch.autograd.grad(out, wrt, grad_outputs=to_tensor(cotangent, device), allow_unused=True)
    return {name: to_numpy(torch.zeros_like(t) if g is None else g) for name, t, g in zip(differentiable, wrt, grads)}
# -- end of repro section ----------------------------------------------------------------------------


class TorchAdapter(MappedAdapter):
    name = "torch"
    precision_modes = PRECISION_MODES

    def __init__(self) -> None:
        self.ops = collect("conformance.adapters.torch_ops", FAMILIES)
        self._devices = ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
        self._defaults = precision_flags()

    def version(self) -> str:
        return torch.__version__

    def devices(self) -> list[str]:
        return list(self._devices)

    def environment(self) -> dict[str, Any]:
        env: dict[str, Any] = {"version": torch.__version__, "cuda": torch.version.cuda}
        if torch.cuda.is_available():
            env["cudnn"] = torch.backends.cudnn.version()
            env["gpus"] = [
                {
                    "device": f"cuda:{i}",
                    "name": torch.cuda.get_device_name(i),
                    "memory_bytes": torch.cuda.get_device_properties(i).total_memory,
                }
                for i in range(torch.cuda.device_count())
            ]
        env["precision_defaults"] = self._defaults
        # which CPU kernels torch picks: its own vectorised ones by capability, oneDNN's by the
        # CPU's features (both capped by scripts/as-cpu)
        env["cpu_capability"] = torch.backends.cpu.get_cpu_capability()
        env["mkldnn"] = {"available": torch.backends.mkldnn.is_available(), "enabled": torch.backends.mkldnn.enabled}
        return env

    def set_precision(self, mode: str) -> dict[str, Any]:
        """``strict``: STRICT_PRECISION's flags; ``default``: torch's own, as found at start."""
        if mode not in PRECISION_MODES:
            raise ValueError(f"unknown precision mode {mode!r}; valid: {PRECISION_MODES}")
        return set_precision_flags(STRICT_PRECISION if mode == "strict" else self._defaults)

    def vjp(self, op, inputs, params, cotangent, *, dtype, device):
        inputs = {spec.name: inputs[spec.name] for spec in op.inputs}
        return framework_vjp(self.ops[op.name].fn, inputs, params, cotangent, op.differentiable, device)
