"""summary.json: per framework x device x op x dtype x precision, counts and worst figures.

Reads records only (no framework import), so it also serves merge, diff and the HTML report.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from conformance.modes import default_mode
from conformance.outcome import CELL_ORDER, FAILING, NOT_RUN
from conformance.records import SCHEMA_VERSION, read_run, utc_stamp

CELL_KEYS = ("op", "framework", "device", "dtype", "precision", "mode")
# the parts of a run's selection that decide which cases it draws
CASE_DECIDING = ("profile", "max_examples", "values_per_case", "families", "ops", "dtypes")


def cell_key(rec: dict[str, Any]) -> tuple[str, ...]:
    """The cell a record or cell belongs to; a missing or null precision (older runs) is ``default``,
    a missing mode its framework's default mode (conformance/modes.py)."""
    return tuple(str(rec.get(k) or _missing(k, rec)) for k in CELL_KEYS)


def cell_label(key: tuple[str, ...]) -> str:
    """A cell key as text: ``op framework device dtype precision``, and the mode where it is not
    the framework's default."""
    parts = list(key)
    if len(parts) == len(CELL_KEYS) and parts[-1] == default_mode(parts[1]):
        parts.pop()
    return " ".join(parts)


def _missing(key: str, rec: dict[str, Any]) -> str:
    if key == "precision":
        return "default"
    if key == "mode":
        return default_mode(str(rec.get("framework") or ""))
    return ""


def listed(rec: dict[str, Any]) -> bool:
    """Every record but a shrink step's (Hypothesis minimising a failure: kept, not counted twice)."""
    return rec.get("phase") != "shrink"


def counted(rec: dict[str, Any]) -> bool:
    """A record that counts as one example: a structure example's own record (its verdict the
    worst of its value sets) or a fixed case's. The records of a structure's other value sets
    that did not pass (``value_set_of``) are listed with the failures but not counted again."""
    return rec.get("phase") != "shrink" and not rec.get("value_set_of")


def value_sets(rec: dict[str, Any]) -> int:
    """How many value sets a counted record gave a verdict for: a structure example's K, each
    counted in ``value_statuses``; one for a fixed case, or a structure whose worker died
    (``crashed``: the in-flight note says which value set it was running)."""
    statuses = rec.get("value_statuses")
    return sum(statuses.values()) if statuses else 1


def convention_table(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """op x kink x framework (x device, dtype) -> the gradient values the framework chose."""
    rows = []
    for r in records:
        if r.get("case_family") == "convention" and "kink" in r:
            rows.append({k: r.get(k) for k in ("op", "kink", "framework", "device", "dtype", "precision", "mode",
                                               "status", "choice", "oracle_choice", "kink_description")})
    rows.sort(key=lambda x: (x["op"], x["kink"], x["framework"], x["device"], x["dtype"]))
    return rows


def reach_table(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per op, what its accuracy examples exercised: the size regimes it declares and the ones its
    cases reached (measured from shapes and cotangent shape, conformance.regimes.reached), per
    framework; the regimes declared but never reached (``missing``); the layouts the adapters used;
    the largest input; and the distinct values each parameter took."""
    from conformance import regimes
    from conformance.registry import all_ops

    ops = all_ops()
    rows: dict[str, dict[str, Any]] = {}
    for rec in records:
        if not counted(rec) or rec.get("case_family", "accuracy") != "accuracy" or "shapes" not in rec:
            continue
        op = str(rec.get("op"))
        spec = ops.get(op)
        row = rows.get(op)
        if row is None:
            row = rows[op] = {"op": op, "declared": list(spec.regimes) if spec else [], "reached": {},
                              "layouts": Counter(), "max_elements": 0, "params": {}, "examples": 0}
        row["examples"] += 1
        shapes = rec["shapes"]
        names = spec.differentiable if spec else list(shapes)
        for r in regimes.reached(shapes, names, rec.get("cotangent_shape")):
            per = row["reached"].setdefault(r, Counter())
            per[str(rec.get("framework"))] += 1
        row["layouts"][str(rec.get("layout") or "contiguous")] += 1
        for shape in shapes.values():
            row["max_elements"] = max(row["max_elements"], regimes.elements(shape))
        for name, value in (rec.get("params") or {}).items():
            row["params"].setdefault(name, set()).add(json.dumps(value, sort_keys=True))
    out = []
    for op in sorted(rows):
        row = rows[op]
        row["reached"] = {r: dict(sorted(row["reached"][r].items())) for r in regimes.REGIMES if r in row["reached"]}
        row["missing"] = [r for r in row["declared"] if r not in row["reached"]]
        row["layouts"] = dict(sorted(row["layouts"].items()))
        row["params"] = {name: sorted(values)[:PARAM_VALUES_SHOWN] + (
            [f"... {len(values) - PARAM_VALUES_SHOWN} more"] if len(values) > PARAM_VALUES_SHOWN else [])
            for name, values in sorted(row["params"].items())}
        out.append(row)
    return out


def cost_table(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per framework, device, execution mode and dtype, what the run's examples cost: structure
    examples and fixed cases, value sets, the framework's seconds (the records' ``adapter_s``:
    its VJP calls, compiling included), the oracle's, the programs a compiled mode built
    (``compiles``) and the framework's milliseconds per value set. Set side by side, these are
    the time per mode (issue 18) on the machine that ran them."""
    rows: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for rec in records:
        if not counted(rec):
            continue
        key = (str(rec.get("framework")), str(rec.get("device")), str(rec.get("mode") or _missing("mode", rec)),
               str(rec.get("dtype")))
        row = rows.get(key)
        if row is None:
            row = rows[key] = {**dict(zip(("framework", "device", "mode", "dtype"), key)), "examples": 0,
                               "value_sets": 0, "adapter_s": 0.0, "oracle_s": 0.0, "compiles": None}
        row["examples"] += 1
        row["value_sets"] += value_sets(rec)
        row["adapter_s"] += float(rec.get("adapter_s") or 0.0)
        row["oracle_s"] += float(rec.get("oracle_s") or 0.0)
        if rec.get("compiles") is not None:
            row["compiles"] = (row["compiles"] or 0) + int(rec["compiles"])
    out = []
    for key in sorted(rows):
        row = rows[key]
        row["adapter_s"], row["oracle_s"] = round(row["adapter_s"], 3), round(row["oracle_s"], 3)
        row["ms_per_value_set"] = round(1000 * row["adapter_s"] / row["value_sets"], 3) if row["value_sets"] else None
        out.append(row)
    return out


PARAM_VALUES_SHOWN = 12  # distinct values of a parameter the reach table lists (then a count)


def summarize(records: Iterable[dict[str, Any]], manifest: dict[str, Any] | None = None,
              damaged: int = 0) -> dict[str, Any]:
    from conformance.claims import claim_states
    from conformance.expectations import entry_states

    records = list(records)
    cells: dict[tuple[str, ...], dict[str, Any]] = {}
    totals: Counter[str] = Counter()
    n = 0
    for rec in records:
        n += 1
        key = cell_key(rec)
        cell = cells.get(key)
        if cell is None:
            cell = cells[key] = {**dict(zip(CELL_KEYS, key)), "examples": 0, "value_sets": 0, "shrink_steps": 0,
                                 "counts": Counter(), "worst_bound_ratio": None, "budget": None,
                                 "max_abs_err": None, "max_rel_err": None, "max_ulp": None,
                                 "worst_record_id": None, "framework_version": rec.get("framework_version")}
        if not counted(rec):
            cell["shrink_steps"] += not listed(rec)
            continue
        cell["examples"] += 1
        cell["value_sets"] += value_sets(rec)
        status = rec.get("status", "error")
        cell["counts"][status] += 1
        totals[status] += 1
        for k in ("max_abs_err", "max_rel_err", "max_ulp"):
            v = rec.get(k)
            if v is not None and (cell[k] is None or v > cell[k]):
                cell[k] = v
        br = rec.get("bound_ratio")
        if br is not None and rec.get("case_family", "accuracy") == "accuracy" and (
            cell["worst_bound_ratio"] is None or br > cell["worst_bound_ratio"]
        ):
            cell["worst_bound_ratio"], cell["budget"] = br, rec.get("budget")
            cell["worst_record_id"] = rec.get("record_id")
    out_cells = []
    for cell in cells.values():
        counts = cell["counts"]
        cell["status"] = next((s for s in CELL_ORDER if counts.get(s)), "unsupported" if counts else NOT_RUN)
        cell["counts"] = dict(counts)
        out_cells.append(cell)
    out_cells.sort(key=lambda c: tuple(c[k] for k in CELL_KEYS))
    not_run = []
    if manifest:
        seen = set(cells)
        for t in manifest.get("targets", []):
            key = cell_key(t)
            if key not in seen:
                reason = manifest.get("unavailable", {}).get(t["framework"], "no example finished")
                not_run.append({**t, "mode": key[-1], "reason": reason})
    sel = (manifest or {}).get("selection") or {}
    return {
        "schema": SCHEMA_VERSION,
        "run_id": manifest.get("run_id") if manifest else None,
        # what decides which cases were drawn: the same seed and selection on the same versions
        # draw the same cases (diff says when two runs differ here)
        "seed": (manifest or {}).get("seed"),
        "seed_source": (manifest or {}).get("seed_source"),
        "selection": {k: sel.get(k) for k in CASE_DECIDING if k in sel},
        "generated": utc_stamp(),
        "records": n,
        # examples: structure examples and fixed cases; value_sets: what was checked (K per structure)
        "examples": sum(c["examples"] for c in out_cells),
        "value_sets": sum(c["value_sets"] for c in out_cells),
        "damaged_lines": damaged,
        "totals": dict(totals),
        "cells": out_cells,
        "not_run": not_run,
        "failed": any(c["status"] in FAILING for c in out_cells),
        "conventions": convention_table(records),
        "expectations": entry_states((manifest or {}).get("expectations", []), records),
        "probe_unsupported": bool((manifest or {}).get("probe_unsupported")),
        "claims": claim_states((manifest or {}).get("claims", []), records),
        "reach": reach_table(records),
        "costs": cost_table(records),
    }


def write_summary(run_dir: Path) -> dict[str, Any]:
    run_dir = Path(run_dir)
    result = read_run(run_dir)
    manifest_path = run_dir / "run.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else None
    summary = summarize(result.records, manifest, len(result.damaged))
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=1, allow_nan=False))
    return summary


def table_lines(summary: dict[str, Any]) -> list[str]:
    """A compact text table: one line per framework x device x dtype x precision."""
    groups: dict[tuple[str, ...], Counter[str]] = {}
    worst: dict[tuple[str, ...], float] = {}
    for c in summary["cells"]:
        key = (c["framework"], c["device"], c["dtype"], c["precision"], c.get("mode") or default_mode(c["framework"]))
        groups.setdefault(key, Counter()).update(c["counts"])
        if c["worst_bound_ratio"] is not None and c["budget"]:
            worst[key] = max(worst.get(key, 0.0), c["worst_bound_ratio"] / c["budget"])
    lines = [f"{'framework':<16}{'device':<8}{'dtype':<10}{'precision':<10}{'mode':<10}{'examples':>9}  statuses"
             f"  worst ratio/budget"]
    for key in sorted(groups):
        counts = groups[key]
        statuses = " ".join(f"{s}={n}" for s, n in sorted(counts.items()))
        w = worst.get(key)
        lines.append(f"{key[0]:<16}{key[1]:<8}{key[2]:<10}{key[3]:<10}{key[4]:<10}{sum(counts.values()):>9}  {statuses}"
                     + (f"  {w:.3f}" if w is not None else ""))
    for nr in summary.get("not_run", [])[:20]:
        mode = nr.get("mode")
        shown = f" {mode}" if mode and mode != default_mode(str(nr.get("framework"))) else ""
        lines.append(f"not run: {nr['op']} {nr['framework']} {nr['device']} {nr['dtype']}{shown}: {nr['reason']}")
    lines += claim_lines(summary)
    fails = [c for c in summary["cells"] if c["status"] in FAILING]
    if summary.get("seed") is not None:
        how = {"default": "the default: the same command on the same versions draws the same cases",
               "given": "given with --seed", "random": "drawn by --seed random"}.get(summary.get("seed_source") or "",
                                                                                   "")
        lines.append(f"seed {summary['seed']}" + (f" ({how})" if how else ""))
    checked = f" ({summary['value_sets']} value sets)" if summary.get("value_sets") else ""
    lines.append(
        f"{summary['examples']} examples{checked} in {len(summary['cells'])} cells; totals {summary['totals']}; "
        f"{len(fails)} failing cell(s); {len(summary.get('not_run', []))} not run"
    )
    return lines


def claim_lines(summary: dict[str, Any]) -> list[str]:
    """The probe's findings: how many claims hold, and each stale one with the targets that ran."""
    claims = summary.get("claims") or []
    probed = [c for c in claims if c.get("state") in ("holds", "stale", "changed")]
    if not probed:
        return []
    counts = Counter(c["state"] for c in probed)
    lines = [f"unsupported claims probed: {len(probed)} ("
             + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) + ")"]
    for c in probed:
        if c["state"] == "stale":
            lines.append(f"stale claim {c['id']}: ran {', '.join(c.get('ran_targets', []))} "
                         f"(end its range in the claims file)")
        elif c["state"] == "changed" and c.get("failed_targets"):
            lines.append(f"claim {c['id']}: ran without raising to a failing verdict on "
                         f"{', '.join(c['failed_targets'])} (a finding: see its records)")
        elif c["state"] == "changed":
            lines.append(f"claim {c['id']}: its targets neither raised nor ran (crashed or timed out)")
        elif c.get("message_seen") is False:
            lines.append(f"claim {c['id']} holds with another message: {c.get('messages', [''])[0]}")
    return lines


def failure_lines(run_dir: Path, summary: dict[str, Any], limit: int = 30) -> list[str]:
    """One line per failing cell: its minimal (or first) failing example and how to reproduce it."""
    failing = {cell_key(c) for c in summary["cells"] if c["status"] in FAILING}
    if not failing:
        return []
    best: dict[tuple[str, ...], dict[str, Any]] = {}
    for rec in read_run(run_dir, warn=False).records:
        key = cell_key(rec)
        if key in failing and rec.get("status") in FAILING:
            # the final (shrunk) example wins over the first one seen
            if key not in best or rec.get("phase") == "final":
                best[key] = rec
    from conformance.execute import failure_message

    lines = [f"{len(failing)} failing cell(s):"]
    for key in sorted(failing)[:limit]:
        rec = best.get(key)
        if rec is None:
            lines.append(f"  {'/'.join(key)}: failing (no record readable)")
            continue
        repro = f"vjp-conformance repro {rec.get('record_id')} --run-dir {run_dir}"
        lines += ["  " + line for line in failure_message(rec, repro).splitlines()]
    if len(failing) > limit:
        lines.append(f"  ... and {len(failing) - limit} more (see the report)")
    return lines
