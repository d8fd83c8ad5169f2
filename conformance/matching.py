"""How the data files' rows (tolerances.toml, expectations.toml, unsupported.toml) match a cell or record.

A row names one value or a list of values per key; ``device = "cuda"`` stands for every cuda:N.
"""

from __future__ import annotations

from typing import Any

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version


def allowed(value: Any) -> tuple[Any, ...]:
    """A row's value as the tuple of values it accepts."""
    return tuple(value) if isinstance(value, list) else (value,)


def field_matches(key: str, value: Any, accepted: tuple[Any, ...]) -> bool:
    if value in accepted:
        return True
    return key == "device" and bool(value) and str(value).split(":")[0] in accepted


def version_in(version: str, versions: str | None) -> bool:
    """Whether a framework ``version`` (its local part, ``+cpu``, left out) is in a row's PEP 440
    range ``versions`` (None or "": every version); a version that does not parse is in none."""
    if not versions:
        return True
    try:
        return Version(str(version).split("+")[0]) in SpecifierSet(versions)
    except InvalidVersion:
        return False
