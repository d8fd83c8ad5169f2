"""JAX: ``jax.vjp(f, *inputs)`` then the pullback applied to dz. float64 needs jax_enable_x64."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from typing import Any

# Several worker processes share one GPU: without this each would take 75% of its memory at start.
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

import jax  # noqa: E402
import numpy as np  # noqa: E402

# The adapter's own steps, which `vjp-conformance repro` copies verbatim into its scripts
# (conformance/repro/copier.py): everything between the two markers uses only JAX, NumPy, the
# standard library and names defined between them.
# -- repro section -----------------------------------------------------------------------------------
jax.config.update("jax_enable_x64", True)  # float64 stays float64 (JAX's default makes it float32)

# jax.config option -> its value in precision mode 'strict': float32 dots and convolutions in float32
STRICT_PRECISION = {"jax_default_matmul_precision": "highest"}


def precision_flags() -> dict[str, Any]:
    """The value now of each option that STRICT_PRECISION names."""
    return {name: getattr(jax.config, name) for name in STRICT_PRECISION}


def set_precision_flags(flags: dict[str, Any]) -> dict[str, Any]:
    """Set each jax.config option in ``flags``; return every option's value after."""
    for name, value in flags.items():
        jax.config.update(name, value)
    return precision_flags()


def jax_device(device: str) -> jax.Device:
    """JAX's device for a device name (``cpu``, ``cuda:N``)."""
    return jax.devices("cpu")[0] if device == "cpu" else jax.devices("gpu")[int(device.split(":")[1])]


def jitted_vjp(fn: Callable[..., jax.Array], params: dict[str, Any],
               differentiable: Sequence[str], mode: str = "jit") -> Callable[..., tuple[jax.Array, ...]]:
    """One function of (arrays, cotangent): ``jax.vjp`` of ``fn(**arrays, **params)`` in the
    ``differentiable`` arrays, its pullback applied to the cotangent; jitted in mode ``jit``, op by
    op (each primitive dispatched on its own) in mode ``eager``."""

    def vjp_of(arrays, cotangent):
        def f(*diff):
            kw = dict(arrays)
            kw.update(zip(differentiable, diff))
            return fn(**kw, **params)

        _, pullback = jax.vjp(f, *(arrays[n] for n in differentiable))
        return pullback(cotangent)

    return jax.jit(vjp_of) if mode == "jit" else vjp_of


def framework_vjp(fn: Callable[..., jax.Array], inputs: dict[str, np.ndarray], params: dict[str, Any],
                  cotangent: np.ndarray, differentiable: Sequence[str], device: str, mode: str = "jit",
                  jitted: Callable[..., tuple[jax.Array, ...]] | None = None) -> dict[str, np.ndarray]:
    """The VJP of ``fn(**inputs, **params)`` in the ``differentiable`` inputs applied to
    ``cotangent``, by ``jitted_vjp(fn, params, differentiable, mode)`` (``jitted``: one made before
    for the same fn, params and mode): one gradient per differentiable input, as NumPy arrays."""
    dev = jax_device(device)
    arrays = {name: jax.device_put(value, dev) for name, value in inputs.items()}
    vjp = jitted if jitted is not None else jitted_vjp(fn, params, differentiable, mode)
    grads = vjp(arrays, jax.device_put(cotangent, dev))
    return {name: np.asarray(g) for name, g in zip(differentiable, grads)}
# -- end of repro section ----------------------------------------------------------------------------

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

from conformance.adapters.jax_ops import FAMILIES  # noqa: E402
from conformance.adapters.mapping import MappedAdapter, collect  # noqa: E402

PRECISION_MODES = ("strict", "default")
MODES = ("jit", "eager")  # jit first: the default, as before modes existed


class JaxAdapter(MappedAdapter):
    name = "jax"
    precision_modes = PRECISION_MODES
    modes = MODES

    def __init__(self) -> None:
        self.ops = collect("conformance.adapters.jax_ops", FAMILIES)
        try:
            self._gpus = jax.devices("gpu")
        except RuntimeError:
            self._gpus = []
        self._defaults = precision_flags()
        self._cache: dict[tuple[str, str, str], Any] = {}
        self._stats: dict[str, int] = {}

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
            "precision_defaults": self._defaults,
            "compilation_cache": _CACHE_DIR,
            "compiler": {"XLA_FLAGS": os.environ.get("XLA_FLAGS"), "jax_platforms": jax.config.jax_platforms},
        }

    def set_precision(self, mode: str) -> dict[str, Any]:
        """``strict``: STRICT_PRECISION's options; ``default``: JAX's own, as found at start."""
        if mode not in PRECISION_MODES:
            raise ValueError(f"unknown precision mode {mode!r}; valid: {PRECISION_MODES}")
        self._cache.clear()  # compiled functions bake the precision in
        return set_precision_flags(STRICT_PRECISION if mode == "strict" else self._defaults)

    def _compiled(self, op, params, mode="jit"):
        """One jitted forward+pullback per op and params; jit itself caches per shape and dtype.

        Eager JAX compiles every primitive anew for each new shape and traces the VJP on every
        call; one jitted function per op is how JAX is used in practice and far cheaper (mode
        ``eager`` is that op-by-op path, for comparison).
        """
        key = (op.name, json.dumps(params, sort_keys=True, default=repr), mode)
        fn = self._cache.get(key)
        if fn is None and self._cache and next(iter(self._cache))[0] != op.name:
            # a new op: drop the last op's executables, or a long run holds thousands of them
            self._cache.clear()
            jax.clear_caches()
        if fn is None:
            fn = self._cache[key] = jitted_vjp(self.ops[op.name].fn, params, op.differentiable, mode)
        return fn

    def call_stats(self) -> dict[str, int]:
        """``compiles``: the programs jit compiled (traced anew) during the last call, in mode jit."""
        return dict(self._stats)

    def vjp(self, op, inputs, params, cotangent, *, dtype, device, mode="jit"):
        if mode not in MODES:
            raise ValueError(f"unknown JAX mode {mode!r}; valid: {MODES}")
        fn = self.ops[op.name].fn
        compiled = self._compiled(op, params, mode)
        size = getattr(compiled, "_cache_size", None)
        before = size() if size is not None else 0
        try:
            return framework_vjp(fn, inputs, params, cotangent, op.differentiable, device, mode, compiled)
        finally:
            self._stats = {"compiles": size() - before} if size is not None else {}
