"""PyTorch: ``torch.autograd.grad(out, inputs, grad_outputs=dz)``."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from conformance.adapters.base import CompileFailed
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


def to_tensor(a: np.ndarray, device: str, layout: str = "contiguous") -> torch.Tensor:
    """``a`` as a tensor on ``device`` (a device name such as ``cpu`` or ``cuda:0``), same dtype and
    values, laid out in memory as ``layout`` says (LAYOUTS; one that does not apply to its rank
    leaves it contiguous)."""
    a = np.require(a, requirements="C")  # (np.ascontiguousarray would turn a 0-d array into shape (1,))
    if a.dtype.name == "bfloat16":  # ml_dtypes' bfloat16: torch takes its bits
        t = torch.from_numpy(a.view(np.int16)).view(torch.bfloat16)
    else:
        t = torch.from_numpy(a)
    return laid_out(t.to(device), layout)


# layout -> how the tensor is stored (the values never change): conformance/layouts.py describes them
LAYOUTS = ("contiguous", "permuted", "strided", "channels_last", "channels_first")


def laid_out(t: torch.Tensor, layout: str) -> torch.Tensor:
    """The same values as ``t`` with ``layout``'s strides (a view of a buffer torch allocates)."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; valid: {LAYOUTS}")
    nd = t.ndim
    if layout == "permuted" and nd >= 2:
        order = tuple(reversed(range(nd)))  # axes stored in reverse order
        return t.permute(order).contiguous().permute(order)
    if layout == "strided" and nd >= 1 and t.numel() > 0:
        buf = torch.zeros((*t.shape[:-1], 2 * t.shape[-1]), dtype=t.dtype, device=t.device)
        buf[..., ::2] = t
        return buf[..., ::2]
    if layout == "channels_last" and nd in (4, 5):
        return t.contiguous(memory_format=torch.channels_last if nd == 4 else torch.channels_last_3d)
    if layout == "channels_first" and 3 <= nd <= 5:
        order = (0, nd - 1, *range(1, nd - 1))  # (N, spatial..., C) stored as (N, C, spatial...)
        back = (0, *range(2, nd), 1)
        return t.permute(order).contiguous().permute(back)
    return t


def to_numpy(t: torch.Tensor) -> np.ndarray:
    """``t`` as a NumPy array of its dtype (bfloat16: ml_dtypes')."""
    t = t.detach().cpu()
    if t.dtype == torch.bfloat16:
        import ml_dtypes  # only bfloat16 needs it

        return t.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
    return t.numpy()


# execution mode -> the torch.compile backend it runs under (eager: none)
COMPILE_BACKENDS = {"compile": "inductor", "aot_eager": "aot_eager"}


def forward_function(fn: Callable[..., torch.Tensor], params: dict[str, Any],
                     mode: str = "eager") -> Callable[..., torch.Tensor]:
    """``fn(**tensors, **params)`` as a function of the tensors, run in ``mode``: ``eager`` as is;
    ``compile`` through ``torch.compile(backend="inductor", dynamic=True)``; ``aot_eager`` through
    ``torch.compile(backend="aot_eager", dynamic=True)`` (AOTAutograd's tracing and decompositions
    without inductor's code generation). ``torch.autograd.grad`` of its output runs the backward
    the compiler built."""

    def forward(**tensors: torch.Tensor) -> torch.Tensor:
        return fn(**tensors, **params)

    if mode == "eager":
        return forward
    return torch.compile(forward, backend=COMPILE_BACKENDS[mode], dynamic=True)


def framework_vjp(fn: Callable[..., torch.Tensor], inputs: dict[str, np.ndarray], params: dict[str, Any],
                  cotangent: np.ndarray, differentiable: Sequence[str], device: str, mode: str = "eager",
                  forward: Callable[..., torch.Tensor] | None = None,
                  layout: str = "contiguous") -> dict[str, np.ndarray]:
    """``torch.autograd.grad`` of ``fn(**inputs, **params)`` with respect to the ``differentiable``
    inputs, ``grad_outputs=cotangent``, in execution ``mode`` (``forward_function``; ``forward``:
    one made before for the same fn, params and mode), every input laid out in memory as
    ``layout`` says (``laid_out``): one gradient per differentiable input (zeros where the output
    does not depend on it), as NumPy arrays."""
    tensors = {name: to_tensor(value, device, layout) for name, value in inputs.items()}
    wrt = [tensors[name].requires_grad_(True) for name in differentiable]
    out = (forward if forward is not None else forward_function(fn, params, mode))(**tensors)
    grads = torch.autograd.grad(out, wrt, grad_outputs=to_tensor(cotangent, device), allow_unused=True)
    return {name: to_numpy(torch.zeros_like(t) if g is None else g) for name, t, g in zip(differentiable, wrt, grads)}
# -- end of repro section ----------------------------------------------------------------------------


MODES = ("eager", "compile", "aot_eager")
# modules whose exceptions are the compiler's (dynamo's tracing, AOTAutograd, inductor's lowering
# and code generation): in a compiled mode, an error of theirs is recorded in phase 'compile'
COMPILER_MODULES = ("torch._dynamo", "torch._inductor", "torch._functorch", "torch.fx", "torch._subclasses")
# dynamo recompiles a function for each new guard failure (a new rank, a size-1 dimension it
# specialises on) up to this many times, then silently runs it eagerly: raised from torch's 8 so
# that a target's examples stay compiled (each example's record says how many graphs it compiled)
RECOMPILE_LIMIT = 64


def is_compile_error(e: BaseException) -> bool:
    """Whether ``e`` comes from torch's compiler stack (``COMPILER_MODULES``)."""
    return any(type(x).__module__.startswith(COMPILER_MODULES) for x in (e, e.__cause__) if x is not None)


class TorchAdapter(MappedAdapter):
    name = "torch"
    precision_modes = PRECISION_MODES
    modes = MODES
    layouts = LAYOUTS

    def __init__(self) -> None:
        self.ops = collect("conformance.adapters.torch_ops", FAMILIES)
        self._devices = ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
        self._defaults = precision_flags()
        self._cache: dict[tuple[str, str, str], Callable[..., torch.Tensor]] = {}
        self._stats: dict[str, int] = {}

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
        env["compiler"] = compiler_stack()
        return env

    def set_precision(self, mode: str) -> dict[str, Any]:
        """``strict``: STRICT_PRECISION's flags; ``default``: torch's own, as found at start."""
        if mode not in PRECISION_MODES:
            raise ValueError(f"unknown precision mode {mode!r}; valid: {PRECISION_MODES}")
        return set_precision_flags(STRICT_PRECISION if mode == "strict" else self._defaults)

    def _forward(self, op: Any, params: dict[str, Any], mode: str) -> Callable[..., torch.Tensor]:
        """One compiled forward per op, params and mode (``dynamic=True``: new shapes reuse it)."""
        key = (op.name, json.dumps(params, sort_keys=True, default=repr), mode)
        fn = self._cache.get(key)
        if fn is None and self._cache and next(iter(self._cache))[0] != op.name:
            self._cache.clear()  # a new op: drop the last op's compiled graphs
            torch._dynamo.reset()
        if fn is None:
            fn = self._cache[key] = forward_function(self.ops[op.name].fn, params, mode)
        return fn

    def warm_up(self, mode: str, device: str) -> None:
        """A compiled mode's one-time set-up in this process, outside every example's time limit:
        inductor's first compile probes the CPU's vector ISAs and builds its C++ headers (over a
        minute on a loaded 2-core machine, where the suite's first examples of ``compile`` timed
        out at the 60 s limit). A tiny function's VJP through the mode pays it; a failure here is
        left to the real examples to record."""
        if mode == "eager":
            return
        try:
            warm = forward_function(lambda x: torch.sin(x) * x, {}, mode)
            framework_vjp(lambda x: x, {"x": np.linspace(-1.0, 1.0, 5)}, {}, np.ones(5), ("x",), device,
                          mode, warm)
        except Exception:  # noqa: BLE001 - the examples record what the compiler does
            pass
        finally:
            torch._dynamo.reset()

    def call_stats(self) -> dict[str, int]:
        """``compiles``: the graphs dynamo compiled during the last call (0: a cached one served)."""
        return dict(self._stats)

    def vjp(self, op, inputs, params, cotangent, *, dtype, device, mode="eager", layout="contiguous"):
        if mode not in MODES:
            raise ValueError(f"unknown torch mode {mode!r}; valid: {MODES}")
        inputs = {spec.name: inputs[spec.name] for spec in op.inputs}
        if mode == "eager":
            self._stats = {}
            return framework_vjp(self.ops[op.name].fn, inputs, params, cotangent, op.differentiable, device,
                                 layout=layout)
        from torch._dynamo.utils import counters

        torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, RECOMPILE_LIMIT)
        forward = self._forward(op, params, mode)  # (a new op resets dynamo first: before the count)
        before = counters["stats"]["unique_graphs"]
        try:
            return framework_vjp(self.ops[op.name].fn, inputs, params, cotangent, op.differentiable, device, mode,
                                 forward, layout)
        except Exception as e:
            if is_compile_error(e):
                raise CompileFailed(str(e)) from e
            raise
        finally:
            self._stats = {"compiles": int(counters["stats"]["unique_graphs"] - before)}


def compiler_stack() -> dict[str, Any]:
    """What the compiled modes compile with: inductor's config that decides the CPU code, the C++
    compiler, triton (GPU code), dynamo's recompile limits."""
    import shutil

    import torch._dynamo
    import torch._inductor.config as inductor

    out: dict[str, Any] = {
        "inductor": {"cpp.simdlen": inductor.cpp.simdlen, "cpp.cxx": list(inductor.cpp.cxx),
                     "fallback_random": inductor.fallback_random, "max_autotune": inductor.max_autotune,
                     "freezing": inductor.freezing, "cpp_wrapper": inductor.cpp_wrapper},
        "dynamo": {"recompile_limit": max(torch._dynamo.config.recompile_limit, RECOMPILE_LIMIT),
                   "accumulated_recompile_limit": getattr(torch._dynamo.config, "accumulated_recompile_limit", None)},
    }
    cxx = next((shutil.which(c) for c in inductor.cpp.cxx if c and shutil.which(c)), None) or shutil.which("gcc")
    out["cxx"] = {"path": cxx, "version": _first_line([cxx, "--version"]) if cxx else None}
    try:
        import triton

        out["triton"] = triton.__version__
    except ImportError:
        out["triton"] = None
    return out


def _first_line(cmd: list[str]) -> str | None:
    import subprocess

    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return None
