"""Case: one drawn example, already in the test dtype, ready for the oracle and an adapter."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


def as_oracle(a: np.ndarray) -> np.ndarray:
    """What the oracle sees of an input: float values exactly, in float64; ints and bools as they are."""
    return a.astype(np.float64) if a.dtype.kind == "f" or a.dtype.name == "bfloat16" else a


def in_dtype(values, dtype: np.dtype) -> np.ndarray:
    """Input values in the test dtype (float) or unchanged (integer and boolean inputs)."""
    values = np.asarray(values)
    return values if values.dtype.kind in "iub" else values.astype(np.float64).astype(dtype)


@dataclass
class Case:
    op: str
    dtype: str
    inputs: dict[str, np.ndarray]
    params: dict[str, Any]
    cotangent: np.ndarray
    seed: int = 0
    scale: float = 1.0
    distribution: str = "normal"
    family: str = "accuracy"
    kink: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    # which value set of its structure example this is (0: the one Hypothesis's draws alone make;
    # j > 0: from conformance.strategies.value_set_rng(seed, j))
    value_set: int = 0
    # the size regime its structure was drawn in (conformance.regimes)
    regime: str = "small"
    # the memory layout drawn for its inputs (conformance.layouts; an adapter that cannot present
    # it runs contiguous, and the record says which it got)
    layout: str = "contiguous"

    @property
    def shapes(self) -> dict[str, list[int]]:
        return {k: list(v.shape) for k, v in self.inputs.items()}

    def oracle_inputs(self) -> dict[str, np.ndarray]:
        """Inputs as the oracle sees them: exactly the rounded test-dtype values, in float64
        (integer and boolean inputs unchanged)."""
        return {k: as_oracle(v) for k, v in self.inputs.items()}

    def summary(self) -> str:
        """``matmul(x: float32[2, 3], y: float32[3, 4]) dz: float32[2, 4] params {...}``."""
        args = ", ".join(f"{k}: {v.dtype}{list(v.shape)}" for k, v in self.inputs.items())
        ct = f"{self.cotangent.dtype}{list(self.cotangent.shape)}"
        return (
            f"{self.op}({args}) dz: {ct} params {self.params} "
            f"[seed={self.seed}, scale={self.scale:g}, {self.distribution}"
            + (f", value set {self.value_set}" if self.value_set else "") + "]"
        )
