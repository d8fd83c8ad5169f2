"""What the built-in adapters share about losses: the catalogue's ``reduction`` applied with a
framework's own sum and mean."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def reduce_loss(losses: Any, reduction: str, total: Callable[[Any], Any], mean: Callable[[Any], Any],
                count: Any = None) -> Any:
    """Per-row or per-element ``losses`` reduced as the catalogue's ``reduction`` says: ``none``
    (the values), ``sum`` (``total``), or ``mean`` (``mean``, or ``total`` divided by ``count``
    when given: the rows an ignore_index keeps)."""
    if reduction == "none":
        return losses
    if reduction == "sum":
        return total(losses)
    if reduction != "mean":
        raise ValueError(f"unknown reduction {reduction!r}")
    return mean(losses) if count is None else total(losses) / count
