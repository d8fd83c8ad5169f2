"""The scoreboard, rendered from the store alone (no framework import): ``scoreboard.json`` for
machines, ``index.html`` for people, and ``repro/<record>.py``, a standalone script for each record
a change links to (``repro.build_script`` from the stored record and its run's manifest).

The page: what every column ran (seed, profile, selection, ops) and whether the columns drew the
same cases; the op x (framework, version) grid with each cell's verdict and worst bound ratio /
budget; per framework, what changed between consecutive versions, each change linked to its
records and their repro scripts.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

from conformance.outcome import LABELS, PASSING
from conformance.records import utc_stamp
from conformance.report.data import cell_ratio, op_order
from conformance.report.matrix import counts_text, level
from conformance.report.page import attrs, esc, num, page, table
from conformance.scoreboard import store
from conformance.scoreboard.changes import KINDS, ROW_KEY, Change, changes, counts, linked_record, version_key
from conformance.summary import CASE_DECIDING

Column = tuple[str, str]  # framework, version


def columns(cells: list[dict[str, Any]], framework_order: list[str]) -> list[Column]:
    """(framework, version) pairs: frameworks in the matrix's order (others after, by name), versions
    oldest first."""
    found = {(c["framework"], c["version"]) for c in cells}
    order = framework_order + sorted({fw for fw, _ in found} - set(framework_order))
    return sorted(found, key=lambda c: (order.index(c[0]), version_key(c[1])))


def repro_file(record_id: str) -> str:
    return "repro/" + record_id.replace("/", "_") + ".py"


GRID_ROW = ("op", "dtype", "device", "precision")


def _rows(cells: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    """The grid's rows (GRID_ROW's values), ops in catalogue order."""
    keys = {tuple(c[k] for k in GRID_ROW) for c in cells}
    ops = op_order({k[0] for k in keys})
    return sorted(keys, key=lambda k: (ops.index(k[0]), k[1:]))


def same_cases(cells: list[dict[str, Any]]) -> dict[str, Any]:
    """Whether every column that drew cases for an op, dtype, device and precision (frameworks
    included: the seed is per op and dtype) drew the same ones: each column's cases are the
    longest column's or some of them (a failure ends a column's draws early). An unsupported cell
    draws nothing and is left out."""
    by_row: dict[tuple[str, ...], list[set[str]]] = {}
    for c in cells:
        drawn = set(json.loads(c["cases"]))
        if drawn and c["status"] != "unsupported":
            by_row.setdefault((c["op"], c["dtype"], c["device"], c["precision"]), []).append(drawn)
    differing = []
    for row, sets in sorted(by_row.items()):
        sets.sort(key=len)
        if not all(s <= sets[-1] for s in sets):
            differing.append(" ".join(row))
    return {"rows": len(by_row), "same": len(by_row) - len(differing), "differing": differing}


def column_info(db: sqlite3.Connection, cells: list[dict[str, Any]], cols: list[Column]) -> list[dict[str, Any]]:
    runs = {r["run_id"]: r for r in store.runs(db)}
    out = []
    for fw, version in cols:
        mine = [c for c in cells if c["framework"] == fw and c["version"] == version]
        run_ids = sorted({c["run_id"] for c in mine})
        manifest = store.manifest(db, run_ids[0]) or {}
        env = manifest.get("environment") or {}
        sel = runs[run_ids[0]]["selection"]
        out.append({"framework": fw, "version": version, "run_ids": run_ids, "seed": runs[run_ids[0]]["seed"],
                    "python": env.get("python"), "numpy": env.get("numpy"), "selection": sel,
                    "cells": len(mine), "examples": sum(c["examples"] for c in mine),
                    "statuses": dict(Counter(c["status"] for c in mine))})
    return out


def cases_statement(info: list[dict[str, Any]]) -> dict[str, Any]:
    """What decided every column's cases, and whether it was the same everywhere."""
    seeds = sorted({str(c["seed"]) for c in info})
    selections = {json.dumps({k: c["selection"].get(k) for k in CASE_DECIDING}, sort_keys=True) for c in info}
    first = info[0]["selection"] if info else {}
    return {"seed": seeds[0] if len(seeds) == 1 else seeds, "same_seed": len(seeds) == 1,
            "same_selection": len(selections) == 1, **{k: first.get(k) for k in CASE_DECIDING}}


def scoreboard_data(db: sqlite3.Connection, framework_order: list[str]) -> tuple[dict[str, Any], list[Change]]:
    cells = store.cells(db)
    cols = columns(cells, framework_order)
    found = changes(cells)
    info = column_info(db, cells, cols)
    data = {
        "schema": "1.0", "generated": utc_stamp(),
        "cases": {**cases_statement(info), "drawn": same_cases(cells)},
        "columns": info,
        "cells": [{**{k: c[k] for k in store.KEY}, "status": c["status"], "examples": c["examples"],
                   "value_sets": c["value_sets"], "counts": c["counts"], "worst_bound_ratio": c["worst_bound_ratio"],
                   "budget": c["budget"], "ratio_to_budget": cell_ratio(c), "record_id": linked_record(c),
                   "message": c["message"], "run_id": c["run_id"]} for c in cells],
        "entry_states": store.entry_states(db),
        "change_counts": counts(found),
        "changes": [],
    }
    for ch in found:
        same = _same_case(db, ch)
        data["changes"].append({**ch.to_json(), "same_case_record_id": same,
                                "repro": [repro_file(r) for r in _linked(ch, same)]})
    return data, found


def _same_case(db: sqlite3.Connection, ch: Change) -> str | None:
    """The new version's record of the case the old version's linked record ran (a witness case, run
    in every column), where it is another record than the new cell's own link."""
    old = linked_record(ch.old) if ch.old else None
    same = store.same_case(db, ch.new, old) if ch.new and old else None
    return same if same != (linked_record(ch.new) if ch.new else None) else None


def _linked(ch: Change, same: str | None) -> list[str]:
    ids = (linked_record(ch.new) if ch.new else None, same, linked_record(ch.old) if ch.old else None)
    return [rid for rid in ids if rid]


# -- HTML ----------------------------------------------------------------------------------------
def _cell_html(cell: dict[str, Any] | None, change: int | None, kind: str | None) -> str:
    if cell is None:
        return '<td class="c none">·</td>'
    status, r = cell["status"], cell_ratio(cell)
    figure = num(r, 2) if r is not None and status in ("pass", "fail", "convention", "known") else LABELS.get(status,
                                                                                                              status)
    title = (f"{cell['op']} {cell['dtype']} · {cell['framework']} {cell['version']}\nstatus {status}; "
             f"{cell['examples']} examples: {counts_text(cell['counts'])}\nworst bound_ratio "
             f"{num(cell['worst_bound_ratio'])} / budget {num(cell['budget'])}"
             + (f"\n{cell['message'][:300]}" if cell.get("message") else ""))
    lvl = level(r) if status in PASSING else ""
    mark = (f'<a class="b bx" href="#change-{change}" title="{esc(kind)}">{esc(_short(kind or ""))}</a>'
            if change is not None else "")
    return (f'<td{attrs(class_=f"c st-{status}{lvl}", data_st=status, title=title)}><span class="r">{esc(figure)}'
            f"</span>{mark}</td>")


def _short(kind: str) -> str:
    return {"newly failing": "✗new", "regressed": "▼", "fixed": "✓fix", "newly unsupported": "U",
            "newly supported": "+", "changed": "≠"}.get(kind, kind)


def grid_html(cells: list[dict[str, Any]], cols: list[Column], found: list[Change]) -> str:
    """op x (framework, version): one row per op, dtype (device, precision where they vary); a
    framework run in several modes gets a column per mode and version."""
    modes: dict[str, list[str]] = {}
    for c in cells:
        modes.setdefault(c["framework"], [])
        if c["mode"] not in modes[c["framework"]]:
            modes[c["framework"]].append(c["mode"])
    grid = [(fw, v, m) for fw, v in cols for m in sorted(modes[fw])]
    grid.sort(key=lambda g: ([c[0] for c in cols].index(g[0]), g[2]))  # a mode's versions side by side
    by_key = {(c["framework"], c["version"], c["mode"], *(c[k] for k in GRID_ROW)): c for c in cells}
    marks = {}
    for i, ch in enumerate(found):
        row = dict(zip(ROW_KEY, ch.row))
        marks[(ch.framework, ch.new_version, row["mode"], *(row[k] for k in GRID_ROW))] = (i, ch.kind)
    rows = _rows(cells)
    varying = [k for i, k in enumerate(GRID_ROW) if i >= 2 and len({r[i] for r in rows}) > 1]
    spans = Counter((fw, m) for fw, _, m in grid)
    head1 = '<th class="oph" rowspan="2">op</th><th rowspan="2">dtype</th>' + "".join(
        f'<th rowspan="2">{esc(k)}</th>' for k in varying) + "".join(
        f'<th colspan="{n}">{esc(fw)} <small class="muted">{esc(m)}</small></th>' for (fw, m), n in spans.items())
    head2 = "".join(f'<th class="colh"><span class="v">{esc(v)}</span></th>' for _, v, _ in grid)
    body = []
    for row in rows:
        extra = "".join(f"<td>{esc(row[GRID_ROW.index(k)])}</td>" for k in varying)
        tds = "".join(_cell_html(by_key.get((*g, *row)), *marks.get((*g, *row), (None, None))) for g in grid)
        body.append(f'<tr{attrs(class_="sbrow", data_op=row[0])}><th class="oph">{esc(row[0])}</th>'
                    f"<td>{esc(row[1])}</td>{extra}{tds}</tr>")
    return (f'<div class="scroll"><table class="matrix scoreboard"><thead><tr>{head1}</tr><tr>{head2}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def _side(cell: dict[str, Any] | None) -> str:
    if cell is None:
        return '<span class="st st-not-run">absent</span>'
    rid = linked_record(cell)
    link = (f' <a href="{esc(repro_file(rid))}" title="repro script for {esc(rid)}">repro</a>'
            f" <code>{esc(rid)}</code>" if rid else "")
    return (f'<span class="st st-{esc(cell["status"])}">{esc(cell["status"])}</span> '
            f"{num(cell_ratio(cell), 2)}{link}")


def changes_html(found: list[Change], same: list[str | None]) -> str:
    if not found:
        return "<p>No cell changed between consecutive versions.</p>"
    rows = []
    for i, ch in enumerate(found):
        message = (ch.new or {}).get("message") or (ch.old or {}).get("message") or ""
        rows.append(f'<tr id="change-{i}"{attrs(class_="change", data_kind=ch.kind)}>'
                    f'<td><span class="st st-{esc(ch.kind.replace(" ", "-"))}">{esc(ch.kind)}</span></td>'
                    f"<td>{esc(ch.framework)} {esc(ch.old_version)} → {esc(ch.new_version)}</td>"
                    + "".join(f"<td>{esc(v)}</td>" for v in (ch.row[3], ch.row[4], " ".join(ch.row[:3])))
                    + f"<td>{_side(ch.old)}</td><td>{_side(ch.new)}{_same_html(same[i])}</td>"
                    + f"<td>{esc(ch.reason)}"
                    + (f'<br><small class="muted">{esc(message[:240])}</small>' if message else "")
                    + "</td></tr>")
    head = ["change", "versions", "op", "dtype", "device mode precision", "before (ratio/budget, record)",
            "after (ratio/budget, record)", "why"]
    return table(head, rows, "changes")


def entries_html(states: list[dict[str, Any]], cols: list[Column]) -> str:
    """Each expectation entry's state on each version of its framework: known (its witnesses
    reproduced it), fixed (every witness passed), changed, stale (no witness ran)."""
    if not states:
        return "<p>No expectation states stored.</p>"
    by = {(s["framework"], s["entry"], s["version"]): s for s in states}
    parts = []
    for fw in dict.fromkeys(c[0] for c in cols):
        versions = [v for f, v in cols if f == fw]
        entries = sorted({s["entry"] for s in states if s["framework"] == fw})
        rows = []
        for entry in entries:
            tds = []
            for v in versions:
                st = by.get((fw, entry, v))
                if st is None:
                    tds.append('<td class="c none">·</td>')
                    continue
                shown = st["state"] + (f" {st['reproduced']}/{st['witness_records']}" if st["witness_records"] else "")
                cls = "c st-" + _ENTRY_CLASS.get(st["state"], st["state"])
                tds.append(f"<td{attrs(class_=cls)}>{esc(shown)}</td>")
            rows.append(f"<tr><th class=\"oph\">{esc(entry)}</th>{''.join(tds)}</tr>")
        parts.append(f"<h3>{esc(fw)}</h3>" + table(["entry", *map(esc, versions)], rows, "matrix entries"))
    return "".join(parts)


_ENTRY_CLASS = {"known": "fail", "fixed": "pass", "changed": "error", "stale": "not-run"}


def _same_html(record_id: str | None) -> str:
    if not record_id:
        return ""
    return (f'<br><small>the same case as before: <a href="{esc(repro_file(record_id))}">repro</a> '
            f"<code>{esc(record_id)}</code></small>")


def columns_html(info: list[dict[str, Any]]) -> str:
    rows = [f"<tr><td>{esc(c['framework'])}</td><td>{esc(c['version'])}</td><td>{esc(c['python'])}</td>"
            f"<td>{esc(c['numpy'])}</td><td><code>{esc(', '.join(c['run_ids']))}</code></td>"
            f'<td class="num">{c["cells"]}</td><td class="num">{c["examples"]}</td>'
            f"<td>{esc(counts_text(c['statuses']))}</td></tr>" for c in info]
    return table(["framework", "version", "python", "numpy", "run", "cells", "examples", "cells by verdict"], rows,
                 "columns")


def cases_html(cases: dict[str, Any]) -> str:
    drawn = cases["drawn"]
    same = ("the same seed and selection" if cases["same_seed"] and cases["same_selection"]
            else "NOT the same seed and selection: compare columns with care")
    ops = cases.get("ops") or []
    differing = "".join(f"<li>{esc(d)}</li>" for d in drawn["differing"][:50])
    return (f'<p id="cases">Every column ran with {esc(same)}: seed <code>{esc(cases["seed"])}</code>, profile '
            f'<code>{esc(cases.get("profile"))}</code>, max_examples <code>{esc(cases.get("max_examples"))}</code>, '
            f'values_per_case <code>{esc(cases.get("values_per_case"))}</code>, dtypes '
            f'<code>{esc(", ".join(cases.get("dtypes") or []))}</code>, families '
            f'<code>{esc(", ".join(cases.get("families") or []))}</code>, {len(ops)} ops.</p>'
            f'<p>Drawn cases compared row by row (a digest of each case\'s family, shapes, params and seed, from '
            f'which its values follow): '
            f'{drawn["same"]} of {drawn["rows"]} op x dtype rows drew the same cases in every column, '
            f"every framework's included"
            + (f' (a column cut short by a failure counts as the same when its cases are the first of the others\'); '
               f'differing:</p><ul>{differing}</ul>' if differing else "; none differs.</p>")
            + f'<details><summary>the {len(ops)} ops</summary><p><code>{esc(", ".join(ops))}</code></p></details>')


def render_html(data: dict[str, Any], cells: list[dict[str, Any]], cols: list[Column], found: list[Change]) -> str:
    n = data["change_counts"]
    same = [c["same_case_record_id"] for c in data["changes"]]
    summary = ", ".join(f"{v} {k}" for k, v in n.items())
    body = (f'<header><h1>vjp-conformance scoreboard</h1><p class="muted">{len(cols)} (framework, version) columns, '
            f'{len(cells)} cells, {sum(n.values())} changes between consecutive versions ({esc(summary)}); generated '
            f'{esc(data["generated"])}; machine-readable: <a href="scoreboard.json">scoreboard.json</a></p>'
            f"{cases_html(data['cases'])}</header><main>"
            f'<section id="columns"><h2>Columns</h2>{columns_html(data["columns"])}</section>'
            f'<section id="changes"><h2>What changed between consecutive versions</h2>'
            f'<p class="muted">{esc(", ".join(KINDS))}: see conformance/scoreboard/changes.py; each record links to '
            f"its repro script (run it where that framework version is installed).</p>"
            f"{changes_html(found, same)}</section>"
            f'<section id="entries"><h2>Known failures across releases</h2><p class="muted">Every column runs '
            f"every entry of conformance/expectations.toml whatever its version range (the version envs drop "
            f"the ranges), so each entry's state per release says where the fault is: known (its witnesses "
            f"reproduced it: reproduced / witness records), fixed (every witness passed), changed (failed "
            f"otherwise), stale (no witness ran: another device, dtype or CPU).</p>"
            f"{entries_html(data['entry_states'], cols)}</section>"
            f'<section id="grid"><h2>op x (framework, version)</h2><p class="muted">Each cell: the worst bound '
            f"ratio / budget of its drawn cases (or its verdict), coloured by verdict; a mark links to the cell's "
            f"change.</p>{grid_html(cells, cols, found)}</section></main>")
    return page("vjp-conformance scoreboard", body)


def write(db: sqlite3.Connection, out: Path, framework_order: list[str]) -> dict[str, Any]:
    """Write index.html, scoreboard.json and the linked records' repro scripts under ``out``."""
    from conformance.repro import ReproError, build_script

    out = Path(out)
    (out / "repro").mkdir(parents=True, exist_ok=True)
    data, found = scoreboard_data(db, framework_order)
    cells = store.cells(db)
    cols = columns(cells, framework_order)
    wanted = {rid for ch in found for rid in _linked(ch, _same_case(db, ch))}
    for old in (out / "repro").glob("*.py"):
        if old.name not in {Path(repro_file(r)).name for r in wanted}:
            old.unlink()
    for rid in sorted(wanted):
        rec = store.record(db, rid)
        if rec is None:
            continue
        try:
            text = build_script(rec, store.manifest(db, str(rec.get("run_id"))))
        except ReproError as e:
            text = f"# no repro script for {rid}: {e}\n"
        (out / repro_file(rid)).write_text(text, encoding="utf-8")
    (out / "scoreboard.json").write_text(json.dumps(data, indent=1, allow_nan=False), encoding="utf-8")
    (out / "index.html").write_text(render_html(data, cells, cols, found), encoding="utf-8")
    return data
