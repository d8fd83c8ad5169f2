"""Whether TensorFlow runs its oneDNN kernels in this process, asked of TensorFlow itself.

TensorFlow decides once, when it is imported: ``TF_ENABLE_ONEDNN_OPTS`` set to ``0`` / ``false``
turns oneDNN off and ``1`` / ``true`` on (case-insensitive; any other value is ignored with a
warning); unset, its Linux x86 builds turn oneDNN on only for CPUs with AVX512_VNNI, AVX512_BF16,
AVX_VNNI or AMX (``DefaultOneDnnPolicy`` in tensorflow/core/util/port.cc). Even when on, oneDNN
takes a dtype only where TensorFlow says this CPU supports it (``IsDataTypeSupportedByOneDNNOnThisCPU``:
float32 always, bfloat16 with AVX512F or AVX_NE_CONVERT, float16 with AVX512BW and AVX512_FP16,
AMX_FP16 or AVX_NE_CONVERT, never float64); every other case runs TensorFlow's own (Eigen) kernels.

This module is not a catalogue family (no ``@impl`` here): conv.py and the adapter use it.
"""

import os
from typing import Any

import tensorflow as tf

from conformance.cpuinfo import TF_ONEDNN_DEFAULT_FEATURES, tf_onednn_setting
from conformance.cpuinfo import TF_ONEDNN_ENV as ONEDNN_ENV

# What TensorFlow read: it reads the variable once, at its import, which came before this line.
ONEDNN_ENV_AT_IMPORT = os.environ.get(ONEDNN_ENV)
ONEDNN_DTYPES = ("float16", "bfloat16", "float32", "float64")
ONEDNN_DEFAULT_RULE = ("TensorFlow's default for this CPU (Linux x86 builds: on when the CPU has one of "
                       f"{', '.join(TF_ONEDNN_DEFAULT_FEATURES)})")
# the CPU Conv2DBackpropInput / Conv2DBackpropFilter without oneDNN, TF 2.21
EIGEN_GROUPED_ERROR = "Gradients for grouped convolutions are not supported on CPU"
_GROUPED_PATHS: dict[tuple[str, bool], dict[str, str]] = {}


def onednn_enabled() -> bool | None:
    """TensorFlow's own answer (``IsMklEnabled``: the setting its kernels use in this process), or
    None where this TensorFlow does not expose it."""
    try:
        from tensorflow.python.util import _pywrap_util_port
    except ImportError:
        return None
    fn = getattr(_pywrap_util_port, "IsMklEnabled", None)
    return None if fn is None else bool(fn())


def onednn_takes(dtype: str) -> bool | None:
    """Whether TensorFlow says oneDNN handles ``dtype`` (a name) on this CPU when it is on, or None
    where this TensorFlow does not expose ``IsDataTypeSupportedByOneDNNOnThisCPU``."""
    try:
        from tensorflow.python.util import _pywrap_utils
    except ImportError:
        return None
    fn = getattr(_pywrap_utils, "IsDataTypeSupportedByOneDNNOnThisCPU", None)
    return None if fn is None else bool(fn(tf.as_dtype(dtype).as_datatype_enum))


def onednn_state() -> dict[str, Any]:
    """Whether oneDNN is on in this process, why, and which dtypes it takes on this CPU."""
    enabled = onednn_enabled()
    raw = ONEDNN_ENV_AT_IMPORT
    setting = tf_onednn_setting(raw)
    if raw is None:
        source, why = "default", f"{ONEDNN_ENV} unset: {ONEDNN_DEFAULT_RULE}"
    elif setting is None:
        source = "default"
        why = f"{ONEDNN_ENV}={raw!r} is not 0, 1, false or true, so TensorFlow ignored it: {ONEDNN_DEFAULT_RULE}"
    else:
        source, why = "env", f"{ONEDNN_ENV}={raw}"
        if enabled is not None and enabled != setting:
            why += f" asked for {'on' if setting else 'off'}, but TensorFlow reports it {'on' if enabled else 'off'}"
    if enabled is None:
        why += "; this TensorFlow does not say whether oneDNN is on (no IsMklEnabled)"
    return {
        "enabled": enabled,
        "source": source,
        "env": raw,
        "reason": why,
        "asked": "tensorflow.python.util._pywrap_util_port.IsMklEnabled()",
        "dtypes_on_this_cpu": {dt: onednn_takes(dt) for dt in ONEDNN_DTYPES},
    }


def _grouped_probe(dtype: str) -> str | None:
    """A small grouped convolution's VJP on the CPU in ``dtype`` (2 groups, a 2x2 kernel: no 1x1
    shortcut): None when it runs, else the error."""
    try:
        with tf.device("/CPU:0"):
            x = tf.ones([1, 3, 3, 4], dtype)
            w = tf.ones([2, 2, 2, 4], dtype)
            with tf.GradientTape() as tape:
                tape.watch([x, w])
                z = tf.nn.convolution(x, w, padding="VALID")
            tape.gradient(z, [x, w], output_gradients=tf.ones_like(z))
    except tf.errors.OpError as e:
        return f"{type(e).__name__}: {e.message.splitlines()[0] if e.message else e}"
    return None


def grouped_conv_path(dtype: Any, device: str = "cpu") -> dict[str, str]:
    """How the adapter runs a grouped convolution in ``dtype`` on ``device`` ("cpu", "cuda:N", or a
    TensorFlow device string): ``{"path": "native" | "per-group", "why": ...}``.

    Native (one tf.nn.convolution with a grouped filter) where its backprop exists: on a GPU (cuDNN;
    float64 composed there as before, not rechecked), and on the CPU only where TensorFlow says
    oneDNN is on and takes the dtype and a tiny grouped VJP in that dtype confirms it. Everywhere
    else TensorFlow's CPU kernels raise "Gradients for grouped convolutions are not supported on
    CPU", so the adapter convolves each group on its own (tf.split, conv, tf.concat).
    """
    dtype = tf.as_dtype(dtype).name
    on_gpu = "gpu" in device.lower() or "cuda" in device.lower()
    key = (dtype, on_gpu)
    if key in _GROUPED_PATHS:
        return _GROUPED_PATHS[key]
    if on_gpu:
        if dtype == "float64":
            path = {"path": "per-group", "why": "float64 on the GPU: composed per group (as before; not rechecked)"}
        else:
            path = {"path": "native", "why": "GPU: cuDNN's grouped-convolution backprop"}
    else:
        enabled, takes = onednn_enabled(), onednn_takes(dtype)
        if enabled is False:
            path = {"path": "per-group", "why": f"oneDNN is off in this process ({onednn_state()['reason']}); "
                    f"TensorFlow's own CPU kernels raise '{EIGEN_GROUPED_ERROR}'"}
        elif takes is False:
            path = {"path": "per-group", "why": f"oneDNN is on but TensorFlow says it does not take {dtype} on this "
                    f"CPU (IsDataTypeSupportedByOneDNNOnThisCPU), so TensorFlow's own kernel runs and raises "
                    f"'{EIGEN_GROUPED_ERROR}'"}
        else:
            refused = _grouped_probe(dtype)
            if refused is None:
                path = {"path": "native", "why": f"oneDNN is on ({onednn_state()['reason']}) and takes {dtype} on "
                        "this CPU: its grouped-convolution backprop runs (checked on a tiny case)"}
            else:
                path = {"path": "per-group", "why": f"TensorFlow says oneDNN is on and takes {dtype} on this CPU "
                        f"(or does not say), but a tiny grouped VJP raised {refused}"}
    _GROUPED_PATHS[key] = path
    return path
