"""Test-only adapters that misbehave on purpose, built on the example NumPy engine (no framework
import, so fault tests run anywhere). Each fault happens for real: a raise, a hang, a dying
process, a malformed answer."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import numpy as np

from examples.numpy_autodiff_adapter import OPS, TinyGradAdapter, Var


class BrokenSoftmax(TinyGradAdapter):
    """One VJP wrong: softmax without the -s.dz term."""

    name = "tinygrad-broken"

    def __init__(self) -> None:
        def softmax_wrong(x: Var, axis: int) -> Var:
            e = np.exp(x.value - x.value.max(axis=axis, keepdims=True, initial=-np.inf))
            s = e / e.sum(axis=axis, keepdims=True)
            return Var(s, ((x, lambda g: s * g),))

        self.ops = {**OPS, "softmax": softmax_wrong}


class ScaledGradients(TinyGradAdapter):
    """Every gradient off by a relative 1e-3 (float32 noise is 1e-7): must be flagged."""

    name = "tinygrad-scaled"

    def vjp(self, op, inputs, params, cotangent, *, dtype, device):
        grads = super().vjp(op, inputs, params, cotangent, dtype=dtype, device=device)
        return {k: np.asarray(v * (1 + 1e-3)).astype(v.dtype) for k, v in grads.items()}


class RaisesSometimes(TinyGradAdapter):
    """Raises on matmul cases with an odd number of x elements."""

    name = "tinygrad-raises"

    def vjp(self, op, inputs, params, cotangent, *, dtype, device):
        if op.name == "matmul" and inputs["x"].size % 2:
            raise FloatingPointError(f"injected failure for x of shape {inputs['x'].shape}")
        return super().vjp(op, inputs, params, cotangent, dtype=dtype, device=device)


class HangsOnMatmul(TinyGradAdapter):
    name = "tinygrad-hangs"

    def vjp(self, op, inputs, params, cotangent, *, dtype, device):
        if op.name == "matmul":
            time.sleep(3600)
        return super().vjp(op, inputs, params, cotangent, dtype=dtype, device=device)


class DiesOnMatmul(TinyGradAdapter):
    """The process dies without cleanup, as a segfaulting extension would."""

    name = "tinygrad-dies"

    def vjp(self, op, inputs, params, cotangent, *, dtype, device):
        if op.name == "matmul":
            os._exit(139)
        return super().vjp(op, inputs, params, cotangent, dtype=dtype, device=device)


class BadOutputs(TinyGradAdapter):
    """Wrong answers in form: float64 for float32 (sigmoid), a missing key (matmul), a list (softmax)."""

    name = "tinygrad-badout"

    def vjp(self, op, inputs, params, cotangent, *, dtype, device) -> Any:
        grads = super().vjp(op, inputs, params, cotangent, dtype=dtype, device=device)
        if op.name == "sigmoid":
            return {k: v.astype(np.float64) for k, v in grads.items()}
        if op.name == "matmul":
            return {"x": grads["x"]}
        return {k: v.tolist() for k, v in grads.items()}


class LosesDeviceOnMatmul(TinyGradAdapter):
    """A pretend GPU whose matmul kernel faults: after the first fault every call on that device in
    the process fails with the same sticky error, as a real CUDA context does."""

    name = "tinygrad-gpu-fault"

    def __init__(self) -> None:
        self.lost = False

    def devices(self) -> list[str]:
        return ["cpu", "cuda:0"]

    def supports(self, op, dtype, device):
        return super().supports(op, dtype, "cpu")

    def vjp(self, op, inputs, params, cotangent, *, dtype, device):
        if device == "cuda:0" and (self.lost or op.name == "matmul"):
            self.lost = True
            raise RuntimeError("CUDA error: misaligned address")
        return super().vjp(op, inputs, params, cotangent, dtype=dtype, device=device)


class SupportsRaises(TinyGradAdapter):
    """A broken adapter (not a framework fault): supports() itself raises for softmax."""

    name = "tinygrad-supports-raises"

    def supports(self, op, dtype, device):
        if op.name == "softmax":
            raise KeyError("adapter bug: no table row for softmax")
        return super().supports(op, dtype, device)


class WrongOnSomeValues(TinyGradAdapter):
    """sigmoid's gradient off by 1% where the cotangent's first element is negative: a fault that
    only some value sets of a structure reach."""

    name = "tinygrad-some-values"

    def vjp(self, op, inputs, params, cotangent, *, dtype, device):
        grads = super().vjp(op, inputs, params, cotangent, dtype=dtype, device=device)
        if op.name == "sigmoid" and cotangent.size and float(cotangent.flat[0]) < 0:
            return {k: np.asarray(v * 1.01).astype(v.dtype) for k, v in grads.items()}
        return grads


class WarmUpRecorder(TinyGradAdapter):
    """Declares two modes (``traced`` runs the same numbers) and logs each ``warm_up(mode,
    device)`` call to the file ``$VJP_WARM_UP_LOG`` names, one JSON line per call."""

    name = "warmup"
    modes = ("eager", "traced")

    def warm_up(self, mode: str, device: str) -> None:
        with open(os.environ["VJP_WARM_UP_LOG"], "a") as f:
            f.write(json.dumps([mode, device]) + "\n")

    def vjp(self, op, inputs, params, cotangent, *, dtype, device, mode="eager"):
        return super().vjp(op, inputs, params, cotangent, dtype=dtype, device=device)


class SlowWhenTraced(WarmUpRecorder):
    """Takes 1.5 s per call in its ``traced`` mode (a slow compile), none eagerly."""

    name = "slowtrace"

    def warm_up(self, mode: str, device: str) -> None:
        pass

    def vjp(self, op, inputs, params, cotangent, *, dtype, device, mode="eager"):
        if mode == "traced":
            time.sleep(1.5)
        return super().vjp(op, inputs, params, cotangent, dtype=dtype, device=device, mode=mode)

