"""JAX: ``jax.vjp(f, *inputs)`` then the pullback applied to dz. float64 needs jax_enable_x64."""

from __future__ import annotations

import json
import os
from typing import Any

# Several worker processes share one GPU: without this each would take 75% of its memory at start.
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

CACHE_ENV = "VJP_CONFORMANCE_JAX_CACHE"


def compilation_cache_dir() -> str | None:
    """Where compiled XLA executables persist between runs: ``$VJP_CONFORMANCE_JAX_CACHE``, else
    ``$XDG_CACHE_HOME/vjp-conformance/jax`` (``~/.cache``); ``off`` turns it off.

    Compiling each new shape is most of JAX's time in a run (tens of ms per example on the CPU,
    1-2 s for a GPU convolution), and a rerun with the same seed draws the same shapes: a warm
    cache made a float32 JAX run 2.8x faster here. XLA compiles deterministically, so a cached
    executable is the one a fresh compile would give.
    """
    value = os.environ.get(CACHE_ENV)
    if value is not None:
        return None if value.strip().lower() in ("", "0", "off", "false", "no") else value
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "vjp-conformance", "jax")


_CACHE_DIR = compilation_cache_dir()
if _CACHE_DIR is not None:
    jax.config.update("jax_compilation_cache_dir", _CACHE_DIR)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)  # the conformance programs are small

import numpy as np  # noqa: E402

from conformance.adapters.jax_ops import FAMILIES  # noqa: E402
from conformance.adapters.mapping import MappedAdapter, collect  # noqa: E402

PRECISION_MODES = ("strict", "default")


class JaxAdapter(MappedAdapter):
    name = "jax"
    precision_modes = PRECISION_MODES

    def __init__(self) -> None:
        self.ops = collect("conformance.adapters.jax_ops", FAMILIES)
        self._cpu = jax.devices("cpu")
        try:
            self._gpus = jax.devices("gpu")
        except RuntimeError:
            self._gpus = []
        self._precision_default = jax.config.jax_default_matmul_precision
        self._cache: dict[tuple[str, str], Any] = {}

    def version(self) -> str:
        return jax.__version__

    def devices(self) -> list[str]:
        return ["cpu"] + [f"cuda:{i}" for i in range(len(self._gpus))]

    def environment(self) -> dict[str, Any]:
        import jaxlib

        return {
            "version": jax.__version__,
            "jaxlib": jaxlib.__version__,
            "backend": jax.default_backend(),
            "gpus": [{"device": f"cuda:{i}", "name": d.device_kind} for i, d in enumerate(self._gpus)],
            "precision_defaults": {"jax_default_matmul_precision": self._precision_default},
            "compilation_cache": _CACHE_DIR,
        }

    def set_precision(self, mode: str) -> dict[str, Any]:
        if mode not in PRECISION_MODES:
            raise ValueError(f"unknown precision mode {mode!r}; valid: {PRECISION_MODES}")
        self._cache.clear()  # compiled functions bake the precision in
        jax.config.update(
            "jax_default_matmul_precision", "highest" if mode == "strict" else self._precision_default
        )
        return {"jax_default_matmul_precision": jax.config.jax_default_matmul_precision}

    def _device(self, device: str):
        return self._cpu[0] if device == "cpu" else self._gpus[int(device.split(":")[1])]

    def _compiled(self, op, params):
        """One jitted forward+pullback per op and params; jit itself caches per shape and dtype.

        Eager JAX compiles every primitive anew for each new shape and traces the VJP on every
        call; one jitted function per op is how JAX is used in practice and far cheaper.
        """
        key = (op.name, json.dumps(params, sort_keys=True, default=repr))
        fn = self._cache.get(key)
        if fn is None and self._cache and next(iter(self._cache))[0] != op.name:
            # a new op: drop the last op's executables, or a long run holds thousands of them
            self._cache.clear()
            jax.clear_caches()
        if fn is None:
            impl, wrt = self.ops[op.name].fn, op.differentiable

            def vjp_of(arrays, cotangent):
                def f(*diff):
                    kw = dict(arrays)
                    kw.update(zip(wrt, diff))
                    return impl(**kw, **params)

                _, pullback = jax.vjp(f, *(arrays[n] for n in wrt))
                return pullback(cotangent)

            fn = self._cache[key] = jax.jit(vjp_of)
        return fn

    def vjp(self, op, inputs, params, cotangent, *, dtype, device):
        dev = self._device(device)
        arrays = {name: jax.device_put(v, dev) for name, v in inputs.items()}
        grads = self._compiled(op, params)(arrays, jax.device_put(cotangent, dev))
        return {name: np.asarray(g) for name, g in zip(op.differentiable, grads)}
