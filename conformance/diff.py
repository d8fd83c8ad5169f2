"""``vjp-conformance diff OLD NEW``: per op x framework x device x dtype x precision, what got
better or worse between two runs (or merged runs, or their summary.json files).

A cell is a *regression* when it fails in NEW (crashed, error, timeout, bad-output, nonfinite,
fail) and did not in OLD, or is new and fails. It is *worse* when it loses coverage or becomes an
expected failure (pass -> known, unsupported, not run) or when its worst bound_ratio / budget
grows by more than ``factor``; *better* in the mirror cases. Ratio changes where both ratios are
under ``floor`` of the budget are noise and not reported. Exit status 1 on a regression (and on
a ratio worsening with ``--fail-on-ratio``).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.outcome import FAILING, NOT_RUN, PASSING
from conformance.records import read_run
from conformance.report.data import cell_key, cell_ratio, read_json
from conformance.report.page import esc, num, page, table
from conformance.summary import CELL_KEYS, cell_label, summarize

KINDS = ("regression", "worse", "better", "changed", "added", "removed")
# a worst bound_ratio / budget change counts past this factor, unless both are under the floor
RATIO_FACTOR, RATIO_FLOOR = 2.0, 0.1


@dataclass
class Change:
    key: tuple[str, ...]
    kind: str  # one of KINDS, or "same"
    old: dict[str, Any] | None
    new: dict[str, Any] | None
    reasons: list[str]
    ratio_worse: bool = False  # worst bound_ratio / budget grew beyond the factor

    @property
    def old_status(self) -> str:
        return self.old["status"] if self.old else "absent"

    @property
    def new_status(self) -> str:
        return self.new["status"] if self.new else "absent"

    def line(self) -> str:
        ratios = f"ratio {num(cell_ratio(self.old) if self.old else None, 2)} -> " \
                 f"{num(cell_ratio(self.new) if self.new else None, 2)}"
        return f"{self.kind:<10} {cell_label(self.key)}: {self.old_status} -> {self.new_status}, {ratios}; " \
               + "; ".join(self.reasons)


def load_summary(path: Path) -> dict[str, Any]:
    """summary.json of a run directory (computed from its records if missing), or a summary file."""
    path = Path(path)
    if path.is_file():
        return read_json(path, "summary.json")
    if (path / "summary.json").exists():
        return read_json(path / "summary.json", "summary.json")
    if path.is_dir():
        result = read_run(path)
        manifest = read_json(path / "run.json", "run.json") if (path / "run.json").exists() else None
        return summarize(result.records, manifest, len(result.damaged))
    raise FileNotFoundError(f"{path}: neither a run directory nor a summary.json")


def _cells(summary: dict[str, Any]) -> dict[tuple[str, ...], dict[str, Any]]:
    cells = {cell_key(c): c for c in summary.get("cells", [])}
    for n in summary.get("not_run", []):
        cells.setdefault(cell_key(n), {**n, "status": NOT_RUN, "examples": 0, "counts": {},
                                       "worst_bound_ratio": None, "budget": None})
    return cells


def compare_cells(old: dict[str, Any] | None, new: dict[str, Any] | None, key: tuple[str, ...],
                  factor: float, floor: float) -> Change:
    if old is None or new is None:
        failing = new is not None and new["status"] in FAILING
        return Change(key, "regression" if failing else ("added" if new is not None else "removed"), old, new,
                      ["new cell that fails" if failing else ("new cell" if new is not None else "cell gone")])
    reasons, kinds = [], []
    o, n = old["status"], new["status"]
    if o != n:
        if n in FAILING and o not in FAILING:
            kinds.append("regression")
            reasons.append(f"now {n}")
        elif o in FAILING and n not in FAILING:
            kinds.append("better")
            reasons.append(f"no longer {o}")
        elif o in PASSING and n not in PASSING:
            kinds.append("worse")
            reasons.append(f"was passing, now {n}")
        elif n in PASSING and o not in PASSING:
            kinds.append("better")
            reasons.append(f"now passing (was {o})")
        else:
            kinds.append("changed")
            reasons.append(f"{o} -> {n}")
    r_old, r_new = cell_ratio(old), cell_ratio(new)
    ratio_worse = False
    if r_old is not None and r_new is not None and max(r_old, r_new) >= floor:
        if r_new > r_old * factor:
            ratio_worse = True
            kinds.append("worse")
            reasons.append(f"worst bound_ratio/budget {num(r_old, 2)} -> {num(r_new, 2)} (more than x{factor:g})")
        elif r_new * factor < r_old:
            kinds.append("better")
            reasons.append(f"worst bound_ratio/budget {num(r_old, 2)} -> {num(r_new, 2)} (less than /{factor:g})")
    vo, vn = old.get("framework_version"), new.get("framework_version")
    if vo and vn and vo != vn:
        reasons.append(f"{key[1]} {vo} -> {vn}")
    kind = next((k for k in KINDS if k in kinds), "same")
    return Change(key, kind, old, new, reasons, ratio_worse)


def diff_summaries(old: dict[str, Any], new: dict[str, Any], *, factor: float = RATIO_FACTOR,
                   floor: float = RATIO_FLOOR) -> list[Change]:
    """Every cell of either summary, compared; regressions first."""
    a, b = _cells(old), _cells(new)
    changes = [compare_cells(a.get(k), b.get(k), k, factor, floor) for k in sorted(set(a) | set(b))]
    order = {k: i for i, k in enumerate(KINDS + ("same",))}
    changes.sort(key=lambda c: (order[c.kind], c.key))
    return changes


def case_differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Why the two runs may not have drawn the same cases: a different seed or selection."""
    out = []
    if old.get("seed") is not None and new.get("seed") is not None and old["seed"] != new["seed"]:
        out.append(f"the runs used different seeds ({old['seed']} vs {new['seed']}): their drawn cases differ, so "
                   "a change may come from the draws rather than the frameworks")
    so, sn = old.get("selection") or {}, new.get("selection") or {}
    for k in sorted(set(so) & set(sn)):
        if so[k] != sn[k]:
            out.append(f"the runs' selections differ in {k}: {so[k]} vs {sn[k]}")
    if (old.get("seed") is None) != (new.get("seed") is None):
        out.append("one run records no seed (an older or merged run): the drawn cases may differ")
    return out


def counts(changes: list[Change]) -> dict[str, int]:
    return {k: sum(1 for c in changes if c.kind == k) for k in KINDS + ("same",)}


def render_html(changes: list[Change], old_label: str, new_label: str, notes: list[str] | None = None) -> str:
    n = counts(changes)
    rows = []
    for c in changes:
        if c.kind == "same":
            continue
        cells = "".join(f"<td>{esc(v)}</td>" for v in c.key)
        rows.append(
            f'<tr class="k-{esc(c.kind)}"><td><span class="st st-{esc(c.kind)}">{esc(c.kind)}</span></td>{cells}'
            f'<td><span class="st st-{esc(c.old_status)}">{esc(c.old_status)}</span> → '
            f'<span class="st st-{esc(c.new_status)}">{esc(c.new_status)}</span></td>'
            f'<td class="num">{num(cell_ratio(c.old) if c.old else None, 2)}</td>'
            f'<td class="num">{num(cell_ratio(c.new) if c.new else None, 2)}</td>'
            f'<td>{esc("; ".join(c.reasons))}</td></tr>')
    head = ["change", *CELL_KEYS, "status", "old ratio/budget", "new ratio/budget", "why"]
    verdict = "regressions found" if n["regression"] else "no regression"
    body = (f'<header><h1>vjp-conformance diff</h1><p class="verdict {"bad" if n["regression"] else "good"}">'
            f'{esc(verdict)}</p><dl class="head"><dt>old</dt><dd><code>{esc(old_label)}</code></dd><dt>new</dt>'
            f'<dd><code>{esc(new_label)}</code></dd><dt>cells</dt><dd>'
            f'{esc(", ".join(f"{k} {v}" for k, v in n.items()))}</dd></dl>'
            + "".join(f'<p class="muted">note: {esc(x)}</p>' for x in notes or []) + '</header><main>'
            + (table(head, rows, "diff") if rows else "<p>Nothing changed.</p>") + "</main>")
    return page(f"vjp-conformance diff {Path(old_label).name} -> {Path(new_label).name}", body)


def main(args: argparse.Namespace) -> int:
    old, new = load_summary(Path(args.old)), load_summary(Path(args.new))
    changes = diff_summaries(old, new, factor=args.factor, floor=args.floor)
    notes = case_differences(old, new)
    for note in notes:
        print(f"note: {note}")
    for c in changes:
        if c.kind != "same":
            print(c.line())
    n = counts(changes)
    print(", ".join(f"{k} {v}" for k, v in n.items()) + f" (cells; ratio factor {args.factor:g}, floor {args.floor:g})")
    if args.html:
        Path(args.html).write_text(render_html(changes, str(args.old), str(args.new), notes), encoding="utf-8")
        print(f"html: {args.html}")
    if n["regression"] or (args.fail_on_ratio and any(c.ratio_worse for c in changes)):
        print("regression", file=sys.stderr)
        return 1
    return 0
