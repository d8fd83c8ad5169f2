"""Errors after which a GPU context is unusable for the rest of the process.

A kernel that faults (illegal or misaligned address, illegal instruction, a device-side assert)
leaves a sticky error on the CUDA context: every later call in that process fails with the same
message, whichever framework makes it (torch and JAX share the primary context). A worker that
sees one records the example that raised it and ends, so that a fresh worker takes its remaining
targets instead of recording hundreds of follow-on errors that are not the framework's fault.
"""

from __future__ import annotations

STICKY_MARKERS = (
    "misaligned address",
    "illegal memory access",
    "illegal address",
    "illegal instruction",
    "device-side assert",
    "unspecified launch failure",
    "cuda_error_misaligned_address",
    "cuda_error_illegal_address",
    "cuda_error_illegal_instruction",
    "cuda_error_launch_failed",
    "cuda_error_assert",
    "cudaerrormisalignedaddress",
    "cudaerrorillegaladdress",
)

DEVICE_LOST_EXIT = 70  # the worker's exit status after a sticky device error


def is_sticky_device_error(device: str, message: str) -> bool:
    """Whether ``message``, raised on ``device``, means that device's context is lost."""
    if device == "cpu":
        return False
    text = message.lower()
    return any(m in text for m in STICKY_MARKERS)
