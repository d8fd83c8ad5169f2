"""Memory layouts: how an adapter lays out an input in memory, as a case dimension.

An accuracy example draws a layout (last, so every framework draws the same structure); an
adapter that can present inputs in that layout does (the torch adapter: its repro section turns
the NumPy array into a tensor with those strides), one that cannot (JAX arrays and TensorFlow
tensors have no user-visible strides: both copy into their own layout) runs it contiguous. The
record's ``layout`` says which layout the framework got. ``contiguous`` comes first: shrinking
ends there.
"""

from __future__ import annotations

LAYOUTS: dict[str, str] = {
    "contiguous": "row-major in the catalogue's own axis order",
    "permuted": "every input of rank 2 or more stored with its axes in reverse order (a transposed view)",
    "strided": "every non-empty input of rank 1 or more a view with step 2 along its last axis",
    "channels_last": "every 4-D / 5-D input in torch.channels_last / channels_last_3d memory format "
                     "(axis 1 stored last); for the conv family (NHWC inputs) the adapter's NCHW view of it",
    "channels_first": "every 3-D to 5-D input stored with its last axis second (N, C, spatial...): for the "
                      "conv family's NHWC inputs, the contiguous NCHW tensor most torch models pass",
}
CONTIGUOUS = "contiguous"


def applies(layout: str, ndim: int, size: int) -> bool:
    """Whether ``layout`` changes an input of rank ``ndim`` and ``size`` elements (else it stays
    contiguous)."""
    if layout == "permuted":
        return ndim >= 2
    if layout == "strided":
        return ndim >= 1 and size > 0
    if layout == "channels_last":
        return ndim in (4, 5)
    if layout == "channels_first":
        return 3 <= ndim <= 5
    return False
