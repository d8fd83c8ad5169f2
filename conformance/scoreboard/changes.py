"""What changed between consecutive versions of a framework, cell by cell.

A cell (device, mode, precision, op, dtype) of version N is compared with the same cell of the
framework's previous stored version. Its verdict falls in one of four groups: *pass* (pass,
convention), *fail* (every failing verdict and ``known``: an expected failure is still a failure
of the framework), *unsupported*, or *absent* (no cell, or not run). The changes:

- ``fixed``: fail -> pass;
- ``newly failing``: pass, unsupported or absent -> fail;
- ``regressed``: pass -> pass, but the worst bound ratio / budget grew by more than the factor
  (diff's ``RATIO_FACTOR``; ratios both under ``RATIO_FLOOR`` are noise);
- ``newly unsupported``: pass or fail -> unsupported;
- ``newly supported``: unsupported -> pass;
- ``changed``: fail -> fail with another failing verdict (``error`` -> ``fail``...). A ``known``
  cell is compared by the verdict its expectation hid (the store's ``verdict``): whether a failure
  is ``known`` depends on the entry's version range, not on the framework.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from packaging.version import InvalidVersion, Version

from conformance.diff import RATIO_FACTOR, RATIO_FLOOR
from conformance.outcome import NOT_RUN, PASSING
from conformance.report.data import cell_ratio

KINDS = ("newly failing", "regressed", "fixed", "newly unsupported", "newly supported", "changed")
ROW_KEY = ("device", "mode", "precision", "op", "dtype")


@dataclass(frozen=True)
class Change:
    framework: str
    old_version: str
    new_version: str
    row: tuple[str, ...]  # ROW_KEY's values
    kind: str  # one of KINDS
    old: dict[str, Any] | None
    new: dict[str, Any] | None
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"framework": self.framework, "old_version": self.old_version, "new_version": self.new_version,
                **dict(zip(ROW_KEY, self.row)), "kind": self.kind, "reason": self.reason,
                "old": _cell_brief(self.old), "new": _cell_brief(self.new)}


def _cell_brief(cell: dict[str, Any] | None) -> dict[str, Any] | None:
    if cell is None:
        return None
    return {"status": cell["status"], "ratio_to_budget": cell_ratio(cell), "record_id": linked_record(cell),
            "run_id": cell.get("run_id")}


def linked_record(cell: dict[str, Any]) -> str | None:
    """The record a cell links to: its worst non-passing one, else its worst-ratio one."""
    return cell.get("first_record_id") or cell.get("worst_record_id")


def group(status: str | None) -> str:
    if status is None or status == NOT_RUN:
        return "absent"
    if status == "unsupported":
        return "unsupported"
    if status in PASSING:
        return "pass"
    return "fail"


def _verdict(cell: dict[str, Any]) -> str:
    """The verdict behind a ``known`` cell (``verdict``, where the store has it)."""
    hidden = cell.get("verdict") or cell["status"]
    return "fail" if hidden == "known" else hidden


def version_key(version: str) -> tuple[int, Version | str]:
    """Sort key: PEP 440 order, anything unparsable after, by text."""
    try:
        return (0, Version(version))
    except InvalidVersion:
        return (1, version)


def classify(old: dict[str, Any] | None, new: dict[str, Any] | None, *, factor: float = RATIO_FACTOR,
             floor: float = RATIO_FLOOR) -> tuple[str, str] | None:
    """(kind, reason) for a cell from its previous version's state, or None when nothing changed."""
    o, n = group(old["status"] if old else None), group(new["status"] if new else None)
    so, sn = (old["status"] if old else "absent"), (new["status"] if new else "absent")
    if o == "fail" and n == "pass":
        return "fixed", f"{so} -> {sn}"
    if n == "fail" and o in ("pass", "unsupported", "absent"):
        return "newly failing", f"{so} -> {sn}"
    if n == "unsupported" and o in ("pass", "fail"):
        return "newly unsupported", f"{so} -> unsupported"
    if o == "unsupported" and n == "pass":
        return "newly supported", f"unsupported -> {sn}"
    if o == n == "fail" and old and new and _verdict(old) != _verdict(new):
        return "changed", f"{_verdict(old)} -> {_verdict(new)}"
    if o == n == "pass":
        r_old, r_new = cell_ratio(old or {}), cell_ratio(new or {})
        if r_old is not None and r_new is not None and max(r_old, r_new) >= floor and r_new > r_old * factor:
            return "regressed", f"worst ratio/budget {r_old:.3g} -> {r_new:.3g} (more than x{factor:g})"
    return None


def changes(cells: list[dict[str, Any]], *, factor: float = RATIO_FACTOR, floor: float = RATIO_FLOOR) -> list[Change]:
    """Every change between consecutive stored versions of each framework, in framework and version
    order, then by kind (KINDS' order) and row."""
    by_fw: dict[str, dict[str, dict[tuple[str, ...], dict[str, Any]]]] = {}
    for c in cells:
        by_fw.setdefault(c["framework"], {}).setdefault(c["version"], {})[tuple(c[k] for k in ROW_KEY)] = c
    out = []
    for fw in sorted(by_fw):
        versions = sorted(by_fw[fw], key=version_key)
        for old_v, new_v in zip(versions, versions[1:]):
            old_cells, new_cells = by_fw[fw][old_v], by_fw[fw][new_v]
            pair = []
            for row in sorted(set(old_cells) | set(new_cells)):
                found = classify(old_cells.get(row), new_cells.get(row), factor=factor, floor=floor)
                if found:
                    pair.append(Change(fw, old_v, new_v, row, found[0], old_cells.get(row), new_cells.get(row),
                                       found[1]))
            out += sorted(pair, key=lambda c: KINDS.index(c.kind))
    return out


def counts(found: list[Change]) -> dict[str, int]:
    return {k: sum(1 for c in found if c.kind == k) for k in KINDS}
