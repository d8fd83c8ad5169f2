"""The floating dtypes the suite tests, by name, with their rounding figures."""

from __future__ import annotations

from dataclasses import dataclass

import ml_dtypes
import numpy as np


@dataclass(frozen=True)
class DType:
    name: str
    numpy: np.dtype
    mantissa_bits: int  # explicit + implicit bits of precision (p)
    unit_roundoff: float  # u = 2**-p
    smallest_normal: float
    max: float
    # torch.testing.assert_close defaults for this dtype
    rtol: float
    atol: float


def _make(name: str, np_dtype, rtol: float, atol: float) -> DType:
    info = ml_dtypes.finfo(np_dtype) if name == "bfloat16" else np.finfo(np_dtype)
    p = int(info.nmant) + 1
    return DType(
        name=name,
        numpy=np.dtype(np_dtype),
        mantissa_bits=p,
        unit_roundoff=2.0**-p,
        smallest_normal=float(info.smallest_normal),
        max=float(info.max),
        rtol=rtol,
        atol=atol,
    )


DTYPES: dict[str, DType] = {
    d.name: d
    for d in (
        _make("float16", np.float16, 1e-3, 1e-5),
        _make("bfloat16", ml_dtypes.bfloat16, 1.6e-2, 1e-5),
        _make("float32", np.float32, 1.3e-6, 1e-5),
        _make("float64", np.float64, 1e-7, 1e-7),
    )
}


def get_dtype(name: str) -> DType:
    try:
        return DTYPES[name]
    except KeyError:
        raise ValueError(f"unknown dtype {name!r}; valid: {', '.join(DTYPES)}") from None


def dtype_name(dtype: np.dtype) -> str:
    """Suite name of a NumPy dtype (``bfloat16`` included)."""
    dtype = np.dtype(dtype)
    for d in DTYPES.values():
        if d.numpy == dtype:
            return d.name
    return str(dtype)
