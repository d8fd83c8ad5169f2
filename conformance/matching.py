"""How the data files' rows (tolerances.toml, expectations.toml) match a cell or record.

A row names one value or a list of values per key; ``device = "cuda"`` stands for every cuda:N.
"""

from __future__ import annotations

from typing import Any


def allowed(value: Any) -> tuple[Any, ...]:
    """A row's value as the tuple of values it accepts."""
    return tuple(value) if isinstance(value, list) else (value,)


def field_matches(key: str, value: Any, accepted: tuple[Any, ...]) -> bool:
    if value in accepted:
        return True
    return key == "device" and bool(value) and str(value).split(":")[0] in accepted
