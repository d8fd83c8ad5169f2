"""A run as the report reads it: records, summary.json and run.json. No framework import.

Also the small derived views every renderer shares: matrix columns in a stable order, the
ratio of a figure to its budget, and the ops in catalogue order.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.dtypes import DTYPES
from conformance.modes import default_mode, modes_of
from conformance.outcome import FAILING
from conformance.records import check_schema, read_run
from conformance.summary import cell_key as summary_cell_key
from conformance.summary import listed, summarize

Column = tuple[str, str, str, str, str]  # framework, device, dtype, precision, mode
NON_PASS_ORDER = ("crashed", "error", "timeout", "bad-output", "nonfinite", "fail", "known", "convention",
                  "unsupported")


@dataclass
class RunData:
    path: Path
    records: list[dict[str, Any]]
    summary: dict[str, Any]
    manifest: dict[str, Any] = field(default_factory=dict)
    damaged: list[str] = field(default_factory=list)


def read_json(path: Path, what: str) -> dict[str, Any]:
    """A JSON object from ``path``, refused when its schema major version is unknown."""
    obj = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: {what} is not a JSON object")
    check_schema(obj, f"{path} ({what})")
    return obj


def load_run(run_dir: Path) -> RunData:
    """Records, summary and manifest of a run (or merged) directory; the summary is computed
    from the records when summary.json is missing (a run cut off before its end)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"{run_dir} is not a run directory")
    result = read_run(run_dir)
    manifest_path, summary_path = run_dir / "run.json", run_dir / "summary.json"
    manifest = read_json(manifest_path, "run.json") if manifest_path.exists() else {}
    if summary_path.exists():
        summary = read_json(summary_path, "summary.json")
    else:
        summary = summarize(result.records, manifest or None, len(result.damaged))
    return RunData(run_dir, result.records, summary, manifest, result.damaged)


def column_of(item: dict[str, Any]) -> Column:
    fw = str(item.get("framework", ""))
    return (fw, str(item.get("device", "")), str(item.get("dtype", "")), str(item.get("precision") or "default"),
            str(item.get("mode") or default_mode(fw)))


cell_key = summary_cell_key


def ratio(value: Any, budget: Any) -> float | None:
    """``value / budget`` when both are usable numbers (a zero budget gives None)."""
    if not isinstance(value, (int, float)) or not isinstance(budget, (int, float)) or budget <= 0:
        return None
    r = float(value) / float(budget)
    return r if math.isfinite(r) else None


def record_ratio(rec: dict[str, Any]) -> float | None:
    return ratio(rec.get("bound_ratio"), rec.get("budget"))


def cell_ratio(cell: dict[str, Any]) -> float | None:
    return ratio(cell.get("worst_bound_ratio"), cell.get("budget"))


def _rank(order: list[str], value: str) -> tuple[int, str]:
    return (order.index(value), value) if value in order else (len(order), value)


def columns(summary: dict[str, Any], manifest: dict[str, Any]) -> list[Column]:
    """Every (framework, device, dtype, precision, mode) with a cell or a not-run target, ordered:
    frameworks as selected, cpu before accelerators, dtypes narrow to wide, default precision first,
    each framework's modes in its declared order (its default first)."""
    seen = {column_of(c) for c in summary.get("cells", [])} | {column_of(n) for n in summary.get("not_run", [])}
    fw_order = list((manifest.get("selection") or {}).get("frameworks") or [])
    for c in sorted(seen):
        if c[0] not in fw_order:
            fw_order.append(c[0])
    dtype_order = list(DTYPES)
    prec_order = ["default", "strict"]

    def key(c: Column) -> tuple[Any, ...]:
        return (_rank(fw_order, c[0]), (c[1] != "cpu", c[1]), _rank(dtype_order, c[2]), _rank(prec_order, c[3]),
                _rank(list(modes_of(None, c[0])), c[4]))

    return sorted(seen, key=key)


def op_order(names: set[str]) -> list[str]:
    """Ops in catalogue order; ops this registry does not know come last, by name."""
    catalogue = list(registry_ops())
    known = [n for n in catalogue if n in names]
    return known + sorted(names - set(known))


def registry_ops() -> dict[str, Any]:
    """The op registry (NumPy only), or nothing when it cannot be loaded here."""
    try:
        from conformance.registry import all_ops

        return all_ops()
    except Exception:  # a report must render even where the catalogue cannot be imported
        return {}


def non_pass(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Listed records (every value set's, no shrink step) that did not pass, worst first (status
    order, then ratio to budget)."""
    out = [r for r in records if listed(r) and r.get("status") != "pass"]
    out.sort(key=lambda r: (_rank(list(NON_PASS_ORDER), str(r.get("status")))[0], -(record_ratio(r) or 0.0)))
    return out


def is_failing(status: str) -> bool:
    return status in FAILING
