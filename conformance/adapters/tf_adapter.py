"""TensorFlow: ``tf.GradientTape().gradient(out, inputs, output_gradients=dz)``."""

from __future__ import annotations

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

from conformance.adapters.mapping import MappedAdapter, collect  # noqa: E402
from conformance.adapters.tf_ops import FAMILIES  # noqa: E402
from conformance.adapters.tf_ops.conv import CPU_DEPENDENT_PATHS  # noqa: E402
from conformance.adapters.tf_ops.onednn import onednn_state  # noqa: E402

PRECISION_MODES = ("strict", "default")

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


def framework_vjp(fn: Callable[..., tf.Tensor], inputs: dict[str, np.ndarray], params: dict[str, Any],
                  cotangent: np.ndarray, differentiable: Sequence[str], device: str) -> dict[str, np.ndarray]:
    """``tf.GradientTape().gradient`` of ``fn(**inputs, **params)`` with respect to the
    ``differentiable`` inputs, ``output_gradients=cotangent``: one gradient per differentiable input
    (zeros where the output does not depend on it), as NumPy arrays."""
    with tf.device(tf_device(device)):
        tensors = {name: tf.constant(value) for name, value in inputs.items()}
        wrt = [tensors[name] for name in differentiable]
        with tf.GradientTape() as tape:
            for t in wrt:
                tape.watch(t)
            out = fn(**tensors, **params)
        grads = tape.gradient(out, wrt, output_gradients=tf.constant(cotangent))
    return {name: np.asarray(tf.convert_to_tensor(tf.zeros_like(t) if g is None else g).numpy())
            for name, t, g in zip(differentiable, wrt, grads)}
# -- end of repro section ----------------------------------------------------------------------------


class TensorFlowAdapter(MappedAdapter):
    name = "tensorflow"
    precision_modes = PRECISION_MODES

    def __init__(self) -> None:
        self.ops = collect("conformance.adapters.tf_ops", FAMILIES)
        gpus = tf.config.list_physical_devices("GPU")
        self._devices = ["cpu"] + [f"cuda:{i}" for i in range(len(gpus))]
        self._defaults = precision_flags()

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

    def vjp(self, op, inputs, params, cotangent, *, dtype, device):
        inputs = {spec.name: inputs[spec.name] for spec in op.inputs}
        return framework_vjp(self.ops[op.name].fn, inputs, params, cotangent, op.differentiable, device)
