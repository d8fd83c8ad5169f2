"""TensorFlow: ``tf.GradientTape().gradient(out, inputs, output_gradients=dz)``."""

from __future__ import annotations

import os
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


class TensorFlowAdapter(MappedAdapter):
    name = "tensorflow"
    precision_modes = PRECISION_MODES

    def __init__(self) -> None:
        self.ops = collect("conformance.adapters.tf_ops", FAMILIES)
        gpus = tf.config.list_physical_devices("GPU")
        self._devices = ["cpu"] + [f"cuda:{i}" for i in range(len(gpus))]
        self._tf32_default = tf.config.experimental.tensor_float_32_execution_enabled()

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
            "precision_defaults": {"tensor_float_32_execution": self._tf32_default},
        }

    def set_precision(self, mode: str) -> dict[str, Any]:
        if mode not in PRECISION_MODES:
            raise ValueError(f"unknown precision mode {mode!r}; valid: {PRECISION_MODES}")
        tf.config.experimental.enable_tensor_float_32_execution(
            False if mode == "strict" else self._tf32_default
        )
        return {"tensor_float_32_execution": tf.config.experimental.tensor_float_32_execution_enabled()}

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

    @staticmethod
    def _tf_device(device: str) -> str:
        return "/CPU:0" if device == "cpu" else "/GPU:" + device.split(":")[1]

    def vjp(self, op, inputs, params, cotangent, *, dtype, device):
        fn = self.ops[op.name].fn
        with tf.device(self._tf_device(device)):
            tensors = {spec.name: tf.constant(inputs[spec.name]) for spec in op.inputs}
            wrt = [tensors[n] for n in op.differentiable]
            with tf.GradientTape() as tape:
                for t in wrt:
                    tape.watch(t)
                out = fn(**tensors, **params)
            grads = tape.gradient(out, wrt, output_gradients=tf.constant(cotangent))
        result = {}
        for name, t, g in zip(op.differentiable, wrt, grads):
            if g is None:
                g = tf.zeros_like(t)
            result[name] = np.asarray(tf.convert_to_tensor(g).numpy())
        return result
