"""What the NVIDIA driver says about the visible GPUs (name, driver, memory), for the run's environment.

Frameworks report their own CUDA and cuDNN versions; the driver version comes only from
``nvidia-smi``. Best effort: no ``nvidia-smi``, a timeout or an odd answer gives an empty list.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

FIELDS = ("index", "name", "driver_version", "memory.total", "compute_cap")


def nvidia_gpus(timeout: float = 10.0) -> list[dict[str, Any]]:
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return []
    try:
        out = subprocess.run([exe, f"--query-gpu={','.join(FIELDS)}", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError):
        return []
    if out.returncode != 0:
        return []
    return parse_query(out.stdout)


def parse_query(text: str) -> list[dict[str, Any]]:
    """Rows of ``nvidia-smi --query-gpu=index,name,driver_version,memory.total,compute_cap`` (csv, no units)."""
    gpus = []
    for line in text.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != len(FIELDS) or not parts[0].isdigit():
            continue
        index, name, driver, mem, cap = parts
        gpu: dict[str, Any] = {"device": f"cuda:{index}", "name": name, "driver": driver, "compute_capability": cap}
        try:
            gpu["memory_bytes"] = int(float(mem) * 2**20)  # MiB
        except ValueError:
            pass
        gpus.append(gpu)
    return gpus
