"""What the CPU is and which of its vector features matter to the frameworks, for the run's environment.

Frameworks pick kernels by CPU feature: TensorFlow turns oneDNN on by default only where the CPU
has AVX512_VNNI, AVX512_BF16, AVX_VNNI or AMX, and oneDNN takes bfloat16 only with AVX512F (or
AVX_NE_CONVERT) and float16 only with AVX512_FP16 / AMX_FP16 (or AVX_NE_CONVERT); torch and XLA
dispatch on the same features. So a result is read with the CPU's model and features beside it.

Linux: model, vendor and flags from ``/proc/cpuinfo`` (x86 ``flags``, Arm ``Features``). Elsewhere,
best effort: ``platform`` (and ``sysctl`` on macOS), features unknown. Nothing here raises.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path
from typing import Any

PROC_CPUINFO = Path("/proc/cpuinfo")

# The vector features worth recording, as Linux's /proc/cpuinfo spells them.
X86_FEATURES = (
    "sse4_1", "sse4_2", "avx", "avx2", "fma", "f16c",
    "avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl", "avx512ifma", "avx512vbmi",
    "avx512_vbmi2", "avx512_vnni", "avx512_bf16", "avx512_fp16", "avx512_bitalg", "avx512_vpopcntdq",
    "avx_vnni", "avx_vnni_int8", "avx_ne_convert", "avx_ifma",
    "amx_tile", "amx_int8", "amx_bf16", "amx_fp16", "amx_complex",
)
ARM_FEATURES = (
    "fp", "asimd", "fphp", "asimdhp", "asimddp", "asimdfhm", "bf16", "i8mm",
    "sve", "sve2", "svebf16", "svei8mm", "sme", "sme2",
)
# /proc/cpuinfo keys naming the model and the vendor (x86, then Arm and others)
MODEL_KEYS = ("model name", "Model", "cpu model", "Processor", "cpu")
VENDOR_KEYS = ("vendor_id", "CPU implementer", "vendor")
FLAG_KEYS = ("flags", "Features")
# Arm's "CPU implementer" codes (the common ones)
ARM_IMPLEMENTERS = {"0x41": "ARM", "0x42": "Broadcom", "0x43": "Cavium", "0x46": "Fujitsu", "0x48": "HiSilicon",
                    "0x4e": "NVIDIA", "0x50": "APM", "0x51": "Qualcomm", "0x61": "Apple", "0xc0": "Ampere"}


def parse_proc_cpuinfo(text: str) -> dict[str, Any]:
    """Model, vendor and flags of the first processor block of a ``/proc/cpuinfo`` text
    (``{"model": ..., "vendor": ..., "flags": set | None, "logical_cpus": int}``)."""
    fields: dict[str, str] = {}
    processors = 0
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key, value = key.strip(), value.strip()
        if key == "processor":
            processors += 1
        fields.setdefault(key, value)  # the first block's value (they agree on one machine)
    model = next((fields[k] for k in MODEL_KEYS if fields.get(k)), None)
    vendor = next((fields[k] for k in VENDOR_KEYS if fields.get(k)), None)
    if vendor is not None and vendor.lower() in ARM_IMPLEMENTERS:
        vendor = ARM_IMPLEMENTERS[vendor.lower()]
    flag_text = next((fields[k] for k in FLAG_KEYS if k in fields), None)
    flags = None if flag_text is None else set(flag_text.split())
    return {"model": model, "vendor": vendor, "flags": flags, "logical_cpus": processors or None}


def _relevant(machine: str) -> tuple[str, ...]:
    m = machine.lower()
    if m in ("aarch64", "arm64") or m.startswith("arm"):
        return ARM_FEATURES
    return X86_FEATURES


def _macos_sysctl(name: str) -> str | None:
    exe = shutil.which("sysctl")
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "-n", name], capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() or None


def cpu_info(proc_cpuinfo: str | Path = PROC_CPUINFO) -> dict[str, Any]:
    """The CPU's model name, vendor, architecture and relevant vector features.

    ``features``: the relevant features it has (sorted); ``missing``: those it lacks; both None
    where the flags could not be read (``source`` says where the answer came from).
    """
    machine = platform.machine() or None
    info: dict[str, Any] = {"model": None, "vendor": None, "machine": machine, "logical_cpus": os.cpu_count(),
                            "features": None, "missing": None, "source": "platform"}
    parsed: dict[str, Any] | None = None
    try:
        parsed = parse_proc_cpuinfo(Path(proc_cpuinfo).read_text(encoding="utf-8", errors="replace"))
    except OSError:
        parsed = None
    if parsed is not None and (parsed["model"] or parsed["flags"] is not None):
        info.update(model=parsed["model"], vendor=parsed["vendor"], source=str(proc_cpuinfo))
        if parsed["flags"] is not None:
            relevant = _relevant(machine or "")
            info["features"] = [f for f in relevant if f in parsed["flags"]]
            info["missing"] = [f for f in relevant if f not in parsed["flags"]]
    if info["model"] is None:
        if platform.system() == "Darwin":
            info["model"] = _macos_sysctl("machdep.cpu.brand_string")
            info["vendor"] = info["vendor"] or _macos_sysctl("machdep.cpu.vendor")
        info["model"] = info["model"] or platform.processor() or None
    return info


# -- what the frameworks' CPU kernels may use on this host, without importing them ---------------

# oneDNN's ONEDNN_MAX_CPU_ISA caps the instruction sets its kernels use (torch's and TensorFlow's
# oneDNN both honour it): each level and the features above it that it keeps oneDNN from using.
_AVX512 = tuple(f for f in X86_FEATURES if f.startswith("avx512"))
_AMX = tuple(f for f in X86_FEATURES if f.startswith("amx"))
ONEDNN_ISA_CAPS: dict[str, tuple[str, ...]] = {
    "SSE41": ("avx", "avx2", "fma", "avx_vnni", "avx_vnni_int8", "avx_ne_convert", "avx_ifma", *_AVX512, *_AMX),
    "AVX": ("avx2", "fma", "avx_vnni", "avx_vnni_int8", "avx_ne_convert", "avx_ifma", *_AVX512, *_AMX),
    "AVX2": ("avx_vnni", "avx_vnni_int8", "avx_ne_convert", "avx_ifma", *_AVX512, *_AMX),
    "AVX2_VNNI": ("avx_vnni_int8", "avx_ne_convert", "avx_ifma", *_AVX512, *_AMX),
    "AVX2_VNNI_2": (*_AVX512, *_AMX),
    "AVX512_CORE": ("avx512_vnni", "avx512_bf16", "avx512_fp16", *_AMX),
    "AVX512_CORE_VNNI": ("avx512_bf16", "avx512_fp16", *_AMX),
    "AVX512_CORE_BF16": ("avx512_fp16", *_AMX),
    "AVX10_1_512": _AMX,
    "AVX512_CORE_FP16": _AMX,
    "AVX10_1_512_AMX": ("amx_fp16", "amx_complex"),
    "AVX512_CORE_AMX": ("amx_fp16", "amx_complex"),
    "AVX10_1_512_AMX_FP16": (),
    "AVX512_CORE_AMX_FP16": (),
    "ALL": (),
}
ONEDNN_ISA_ENV = "ONEDNN_MAX_CPU_ISA"
TF_ONEDNN_ENV = "TF_ENABLE_ONEDNN_OPTS"
# Linux x86 builds of TensorFlow turn oneDNN on by default where the CPU has one of these
TF_ONEDNN_DEFAULT_FEATURES = ("avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_int8", "amx_bf16")


# every variable through which a run's kernels may be kept from the CPU's features (scripts/as-cpu)
ISA_KNOBS = (ONEDNN_ISA_ENV, TF_ONEDNN_ENV, "ATEN_CPU_CAPABILITY", "XLA_FLAGS")


def effective_features(features: list[str] | None, env: dict[str, str] | None = None) -> list[str] | None:
    """The CPU's features that oneDNN's kernels may use: all of them, less what
    ``ONEDNN_MAX_CPU_ISA`` caps (an unknown level caps nothing: oneDNN ignores it too)."""
    if features is None:
        return None
    env = os.environ if env is None else env
    cap = (env.get(ONEDNN_ISA_ENV) or "").strip().upper()
    dropped = set(ONEDNN_ISA_CAPS.get(cap, ()))
    return [f for f in features if f not in dropped]


def tf_onednn_setting(value: str | None) -> bool | None:
    """How TensorFlow reads a ``TF_ENABLE_ONEDNN_OPTS`` value: True, False, or None (unset or not
    one of 0 / 1 / false / true, in any case, so TensorFlow keeps its default)."""
    if value is None:
        return None
    return {"0": False, "false": False, "1": True, "true": True}.get(value.lower())


def tf_onednn_expected(features: list[str] | None, env: dict[str, str] | None = None) -> bool | None:
    """Whether TensorFlow will run its oneDNN kernels in a process started with ``env`` on this CPU
    (None where the CPU's flags are unknown and the variable does not decide it)."""
    env = os.environ if env is None else env
    setting = tf_onednn_setting(env.get(TF_ONEDNN_ENV))
    if setting is not None:
        return setting
    if features is None:
        return None
    return platform.system() == "Linux" and any(f in features for f in TF_ONEDNN_DEFAULT_FEATURES)


def host_conditions(info: dict[str, Any] | None = None, env: dict[str, str] | None = None) -> dict[str, Any]:
    """The host facts that expectation entries may depend on (``cpu_features``, ``tf_onednn``),
    with the CPU's description, as run.json records them under ``cpu``."""
    info = cpu_info() if info is None else info
    env = os.environ if env is None else env
    effective = effective_features(info.get("features"), env)
    caps = {k: env[k] for k in ISA_KNOBS if env.get(k) is not None}
    return {**info, "effective_features": effective, "onednn_max_cpu_isa": env.get(ONEDNN_ISA_ENV),
            "tf_onednn": tf_onednn_expected(info.get("features"), env), "tf_onednn_env": env.get(TF_ONEDNN_ENV),
            "isa_knobs": caps}
