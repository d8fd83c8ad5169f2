"""TensorFlow: ``tf.GradientTape().gradient(out, inputs, output_gradients=dz)``."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from conformance.adapters.quiet import native_stderr_silenced  # noqa: E402

# TensorFlow 2.21's native logging prints banners on import whatever TF_CPP_MIN_LOG_LEVEL says;
# import errors still arrive as Python exceptions.
with native_stderr_silenced():
    import tensorflow as tf  # noqa: E402

from conformance.adapters.base import CompileFailed  # noqa: E402
from conformance.adapters.mapping import MappedAdapter, collect  # noqa: E402
from conformance.adapters.tf_ops import FAMILIES  # noqa: E402
from conformance.adapters.tf_ops.conv import CPU_DEPENDENT_PATHS  # noqa: E402
from conformance.adapters.tf_ops.onednn import onednn_state  # noqa: E402

PRECISION_MODES = ("strict", "default")
MODES = ("eager", "function", "xla")
# words of an XLA compilation failure's message (mode xla compiles at the first call of a shape)
XLA_COMPILE_WORDS = ("XLA compilation", "jit_compile", "Detected unsupported operations", "compile")

# The adapter's own steps, which `vjp-conformance repro` copies verbatim into its scripts
# (conformance/repro/copier.py): everything between the two markers uses only TensorFlow, NumPy,
# the standard library and names defined between them.
# -- repro section -----------------------------------------------------------------------------------
# TensorFlow precision flag -> its value in precision mode 'strict': no TF32
STRICT_PRECISION = {"tensor_float_32_execution": False}


def precision_flags() -> dict[str, bool]:
    """The value now of each flag that STRICT_PRECISION names."""
    return {"tensor_float_32_execution": tf.config.experimental.tensor_float_32_execution_enabled()}


def set_precision_flags(flags: dict[str, bool]) -> dict[str, bool]:
    """Set each flag in ``flags``; return every flag's value after."""
    for name, value in flags.items():
        if name != "tensor_float_32_execution":
            raise KeyError(f"unknown TensorFlow precision flag {name!r}")
        tf.config.experimental.enable_tensor_float_32_execution(value)
    return precision_flags()


def tf_device(device: str) -> str:
    """TensorFlow's name for a device (``cpu``, ``cuda:N``)."""
    return "/CPU:0" if device == "cpu" else "/GPU:" + device.split(":")[1]


def gradient_step(fn: Callable[..., tf.Tensor], params: dict[str, Any], differentiable: Sequence[str],
                  mode: str = "eager", static_shapes: bool = False) -> Callable[..., list[tf.Tensor]]:
    """One function of (tensors, cotangent): ``tf.GradientTape().gradient`` of ``fn(**tensors,
    **params)`` in the ``differentiable`` tensors, ``output_gradients=cotangent`` (zeros where the
    output does not depend on one). Mode ``eager`` runs it as is; ``function`` as
    ``tf.function(reduce_retracing=True)`` (a graph, traced once for shapes it relaxes to);
    ``xla`` as ``tf.function(jit_compile=True, reduce_retracing=True)`` (XLA compiles it).
    ``static_shapes`` (a mapping that passes on an output shape it computes from its inputs' sizes,
    as conv2d_transpose does): traced per input shape, without reduce_retracing."""

    def step(tensors: dict[str, tf.Tensor], cotangent: tf.Tensor) -> list[tf.Tensor]:
        wrt = [tensors[name] for name in differentiable]
        with tf.GradientTape() as tape:
            for t in wrt:
                tape.watch(t)
            out = fn(**tensors, **params)
        grads = tape.gradient(out, wrt, output_gradients=cotangent)
        return [tf.convert_to_tensor(tf.zeros_like(t) if g is None else g) for t, g in zip(wrt, grads)]

    if mode == "function":
        return tf.function(step, reduce_retracing=not static_shapes)
    if mode == "xla":
        return tf.function(step, jit_compile=True, reduce_retracing=not static_shapes)
    return step


def framework_vjp(fn: Callable[..., tf.Tensor], inputs: dict[str, np.ndarray], params: dict[str, Any],
                  cotangent: np.ndarray, differentiable: Sequence[str], device: str, mode: str = "eager",
                  step: Callable[..., list[tf.Tensor]] | None = None) -> dict[str, np.ndarray]:
    """The VJP of ``fn(**inputs, **params)`` in the ``differentiable`` inputs applied to
    ``cotangent`` by ``gradient_step(fn, params, differentiable, mode)`` (``step``: one made
    before for the same fn, params and mode): one gradient per differentiable input, as NumPy arrays."""
    run = step if step is not None else gradient_step(fn, params, differentiable, mode)
    with tf.device(tf_device(device)):
        tensors = {name: tf.constant(value) for name, value in inputs.items()}
        grads = run(tensors, tf.constant(cotangent))
    return {name: np.asarray(g.numpy()) for name, g in zip(differentiable, grads)}
# -- end of repro section ----------------------------------------------------------------------------


class TensorFlowAdapter(MappedAdapter):
    name = "tensorflow"
    precision_modes = PRECISION_MODES
    modes = MODES

    def __init__(self) -> None:
        self.ops = collect("conformance.adapters.tf_ops", FAMILIES)
        gpus = tf.config.list_physical_devices("GPU")
        self._devices = ["cpu"] + [f"cuda:{i}" for i in range(len(gpus))]
        self._defaults = precision_flags()
        self._cache: dict[tuple[str, str, str, tuple[int, ...]], Any] = {}
        self._stats: dict[str, int] = {}

    def version(self) -> str:
        return tf.__version__

    def devices(self) -> list[str]:
        return list(self._devices)

    def environment(self) -> dict[str, Any]:
        info = tf.sysconfig.get_build_info()
        return {
            "version": tf.__version__,
            "cuda": info.get("cuda_version"),
            "cudnn": info.get("cudnn_version"),
            # asked of TensorFlow (IsMklEnabled), with why: the env var's value or TensorFlow's default
            "onednn": onednn_state(),
            "precision_defaults": self._defaults,
            "compiler": {"XLA_FLAGS": os.environ.get("XLA_FLAGS"), "TF_XLA_FLAGS": os.environ.get("TF_XLA_FLAGS"),
                         "onednn_opts": os.environ.get("TF_ENABLE_ONEDNN_OPTS")},
        }

    def set_precision(self, mode: str) -> dict[str, Any]:
        """``strict``: STRICT_PRECISION's flags; ``default``: TensorFlow's own, as found at start."""
        if mode not in PRECISION_MODES:
            raise ValueError(f"unknown precision mode {mode!r}; valid: {PRECISION_MODES}")
        return set_precision_flags(STRICT_PRECISION if mode == "strict" else self._defaults)

    def describe(self, op: Any) -> dict[str, Any]:
        """The mapping's call; for an op whose path depends on oneDNN (grouped convolutions), the
        path each declared dtype takes on each device in this process, and why."""
        d = super().describe(op)
        path_of = CPU_DEPENDENT_PATHS.get(op.name)
        if path_of is not None and "unsupported" not in d:
            dtypes = [dt for dt in getattr(op, "dtypes", self.dtypes) if dt in self.dtypes]
            d["paths"] = {dev: {dt: path_of(dt, dev) for dt in dtypes} for dev in self._devices}
            state = onednn_state()
            d["onednn"] = {"enabled": state["enabled"], "reason": state["reason"]}
        return d

    def _step(self, op: Any, params: dict[str, Any], mode: str, ranks: tuple[int, ...]) -> Any:
        """One tf.function per op, params, mode and input ranks (reduce_retracing: new sizes of the
        same ranks reuse its trace). Per rank, as a model's function sees one rank per input: across
        ranks reduce_retracing relaxes to an unknown rank, which some of TensorFlow's own ops cannot
        trace (``tf.nn.softmax`` with axis 0 raises TypeError: docs/findings.md)."""
        key = (op.name, json.dumps(params, sort_keys=True, default=repr), mode, ranks)
        step = self._cache.get(key)
        if step is None and self._cache and next(iter(self._cache))[0] != op.name:
            self._cache.clear()  # a new op: drop the last op's graphs
        if step is None:
            impl = self.ops[op.name]
            step = self._cache[key] = gradient_step(impl.fn, params, op.differentiable, mode, impl.static_shapes)
        return step

    def call_stats(self) -> dict[str, int]:
        """``compiles``: the traces tf.function made during the last call (XLA compiles per shape besides)."""
        return dict(self._stats)

    def vjp(self, op, inputs, params, cotangent, *, dtype, device, mode="eager"):
        if mode not in MODES:
            raise ValueError(f"unknown TensorFlow mode {mode!r}; valid: {MODES}")
        inputs = {spec.name: inputs[spec.name] for spec in op.inputs}
        if mode == "eager":
            self._stats = {}
            return framework_vjp(self.ops[op.name].fn, inputs, params, cotangent, op.differentiable, device)
        step = self._step(op, params, mode, tuple(np.ndim(inputs[n]) for n in sorted(inputs)))
        before = step.experimental_get_tracing_count()
        try:
            with tf.device(tf_device(device)):
                args = ({n: tf.constant(v) for n, v in inputs.items()}, tf.constant(cotangent))
                try:
                    step.get_concrete_function(*args)  # tracing: a failure is the graph builder's
                except Exception as e:
                    raise CompileFailed(str(e)) from e
            try:
                return framework_vjp(self.ops[op.name].fn, inputs, params, cotangent, op.differentiable, device,
                                     mode, step)
            except tf.errors.OpError as e:
                if mode == "xla" and any(w in str(e) for w in XLA_COMPILE_WORDS):
                    raise CompileFailed(str(e)) from e
                raise
        finally:
            self._stats = {"compiles": int(step.experimental_get_tracing_count() - before)}
