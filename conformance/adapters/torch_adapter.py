"""PyTorch: ``torch.autograd.grad(out, inputs, grad_outputs=dz)``."""

from __future__ import annotations

from typing import Any

import ml_dtypes
import numpy as np
import torch

from conformance.adapters.mapping import MappedAdapter, collect
from conformance.adapters.torch_ops import FAMILIES

PRECISION_MODES = ("strict", "default")


def to_tensor(a: np.ndarray, device: str) -> torch.Tensor:
    a = np.require(a, requirements="C")  # (np.ascontiguousarray would turn a 0-d array into shape (1,))
    if a.dtype == ml_dtypes.bfloat16:
        t = torch.from_numpy(a.view(np.int16)).view(torch.bfloat16)
    else:
        t = torch.from_numpy(a)
    return t.to(device)


def to_numpy(t: torch.Tensor) -> np.ndarray:
    t = t.detach().cpu()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
    return t.numpy()


class TorchAdapter(MappedAdapter):
    name = "torch"
    precision_modes = PRECISION_MODES

    def __init__(self) -> None:
        self.ops = collect("conformance.adapters.torch_ops", FAMILIES)
        self._devices = ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
        self._defaults = self._precision_flags()

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

    @staticmethod
    def _precision_flags() -> dict[str, Any]:
        return {
            "cuda.matmul.allow_tf32": torch.backends.cuda.matmul.allow_tf32,
            "cudnn.allow_tf32": torch.backends.cudnn.allow_tf32,
            "cuda.matmul.allow_fp16_reduced_precision_reduction":
                torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction,
            "cuda.matmul.allow_bf16_reduced_precision_reduction":
                torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction,
        }

    def set_precision(self, mode: str) -> dict[str, Any]:
        """``strict``: no TF32, no reduced-precision reductions; ``default``: torch's defaults."""
        if mode not in PRECISION_MODES:
            raise ValueError(f"unknown precision mode {mode!r}; valid: {PRECISION_MODES}")
        strict = mode == "strict"
        d = self._defaults
        torch.backends.cuda.matmul.allow_tf32 = False if strict else d["cuda.matmul.allow_tf32"]
        torch.backends.cudnn.allow_tf32 = False if strict else d["cudnn.allow_tf32"]
        torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction = (
            False if strict else d["cuda.matmul.allow_fp16_reduced_precision_reduction"]
        )
        torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction = (
            False if strict else d["cuda.matmul.allow_bf16_reduced_precision_reduction"]
        )
        return self._precision_flags()

    def vjp(self, op, inputs, params, cotangent, *, dtype, device):
        fn = self.ops[op.name].fn
        tensors: dict[str, torch.Tensor] = {}
        wrt = []
        for spec in op.inputs:
            t = to_tensor(inputs[spec.name], device)
            if spec.differentiable:
                t.requires_grad_(True)
                wrt.append(t)
            tensors[spec.name] = t
        out = fn(**tensors, **params)
        grads = torch.autograd.grad(out, wrt, grad_outputs=to_tensor(cotangent, device), allow_unused=True)
        result = {}
        for name, t, g in zip(op.differentiable, wrt, grads):
            result[name] = to_numpy(torch.zeros_like(t) if g is None else g)
        return result
