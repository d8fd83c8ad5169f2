"""Devices, precision and execution modes side by side: the same cases on the CPU and the GPU, strict
and default, eager and compiled.

Every framework, device, precision mode and execution mode of one op and dtype starts from the same
seed, so their cells are the same cases. A row is one op x framework x dtype; a column is one
device, precision mode and execution mode. The table shows the rows where the columns disagree: a
different status, or worst ratios to budget that differ by more than ``SPREAD`` while one of them
reaches ``FLOOR`` of its budget. A second table sets each cell's execution modes against each other
and the oracle: every op x framework x dtype x device x precision that ran in more than one mode
where a mode fails, or the modes' statuses differ (``mode_rows``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from conformance.modes import EAGER, default_mode
from conformance.outcome import FAILING, PASSING
from conformance.report.data import cell_ratio
from conformance.report.matrix import SHORT, level
from conformance.report.page import attrs, esc, num, table

SPREAD = 4.0  # ratios this many times apart are worth a look
FLOOR = 0.1  # ... unless both used under a tenth of their budget
MAX_ROWS = 300
QUIET = PASSING  # statuses that compare by their figures only


Col = tuple[str, str, str]  # device, precision, mode


def _column_key(col: Col) -> tuple[bool, str, int, str, int, str]:
    dev, prec, mode = col
    return (dev != "cpu", dev, 0 if prec == "strict" else 1, prec, 0 if mode == EAGER else 1, mode)


def _mode(c: dict[str, Any]) -> str:
    return str(c.get("mode") or default_mode(str(c.get("framework", ""))))


def disagreement(cells: dict[Any, dict[str, Any]]) -> tuple[int, float] | None:
    """(statuses differ, ratio spread) when a row's columns disagree, else None."""
    statuses = {c["status"] for c in cells.values()}
    ratios = [r for r in (cell_ratio(c) for c in cells.values()) if r is not None]
    spread = 1.0
    if len(ratios) >= 2 and max(ratios) >= FLOOR:
        spread = max(ratios) / max(min(ratios), FLOOR * 1e-3)
    differs = len(statuses) > 1 and not statuses <= set(QUIET)
    if not differs and spread <= SPREAD:
        return None
    return int(differs), spread


def side_by_side_html(summary: dict[str, Any]) -> str:
    """The section, or "" when the run has one device, one precision mode and one execution mode
    per framework."""
    cells = summary.get("cells", [])
    cols = sorted({(c["device"], c["precision"], _mode(c)) for c in cells}, key=_column_key)
    rows_by_key: dict[tuple[str, str, str], dict[Col, dict[str, Any]]] = defaultdict(dict)
    for c in cells:
        rows_by_key[(c["op"], c["framework"], c["dtype"])][(c["device"], c["precision"], _mode(c))] = c
    if len(cols) < 2 or all(len(v) < 2 for v in rows_by_key.values()):
        return ""
    compared = {k: v for k, v in rows_by_key.items() if len(v) >= 2}
    flagged = []
    for key, row in compared.items():
        d = disagreement(row)
        if d is not None:
            flagged.append((d, key, row))
    flagged.sort(key=lambda t: (-t[0][0], -t[0][1], t[1]))
    rows = []
    for (_, spread), (op, fw, dt), row in flagged[:MAX_ROWS]:
        tds = []
        for col in cols:
            c = row.get(col)
            if c is None:
                tds.append('<td class="c none">·</td>')
                continue
            r, st = cell_ratio(c), c["status"]
            text = num(r, 2) if r is not None and st in ("pass", "fail", "known", "convention") else SHORT.get(st, st)
            if st not in QUIET:
                text += f' <span class="muted">{esc(SHORT.get(st, st))}</span>'
            cls = f"c st-{st}" + (level(r) if st in QUIET else "")
            title = f"{op} · {fw} · {col[0]} · {dt} · {col[1]} · {col[2]}: {st}, worst ratio/budget {num(r, 3)}"
            tds.append(f'<td{attrs(class_=cls, title=title)}><a href="#op-{esc(op)}">{text}</a></td>')
        rows.append(f'<tr{attrs(class_="fx", data_fw=fw, data_dt=dt)}><td>{esc(op)}</td><td>{esc(fw)}</td>'
                    f'<td>{esc(dt)}</td>{"".join(tds)}<td class="num">{num(spread, 2)}</td></tr>')
    several = len({m for _, _, m in cols}) > 1  # name the mode in the columns only where modes vary
    head = ["op", "framework", "dtype", *[f"{d} {p}" + (f" {m}" if several else "") for d, p, m in cols], "spread"]
    more = f" The first {MAX_ROWS} are shown." if len(flagged) > MAX_ROWS else ""
    intro = (f'<p>The same cases (same seed) on every device, in each precision mode and execution mode: '
             f'{len(compared)} '
             f'op x framework x dtype rows ran in more than one column; {len(flagged)} disagree (a status differs, '
             f'or the worst ratio to budget differs more than {SPREAD:g}x with one at least {FLOOR:g}), '
             f'listed first by status, then by spread (largest / smallest ratio).{more} '
             f'{len(compared) - len(flagged)} rows agree.</p>')
    body = table(head, rows, "sidebyside") if rows else '<p class="muted">Every row agrees.</p>'
    return (f'<section id="side-by-side"><h2>Devices, precision and execution modes side by side</h2>{intro}{body}'
            f'{modes_html(cells)}</section>')


def mode_rows(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each op x framework x dtype x device x precision that ran in two or more execution modes
    where the modes disagree with each other (a status differs) or with the oracle (a mode
    fails): ``kind`` says which modes fail: ``compiled only`` (eager passes), ``eager only``,
    ``every mode``, or ``differs`` (statuses differ, none fails)."""
    groups: dict[tuple[str, ...], dict[str, dict[str, Any]]] = defaultdict(dict)
    for c in cells:
        groups[(c["op"], c["framework"], c["dtype"], c["device"], c["precision"])][_mode(c)] = c
    out = []
    for key, by_mode in sorted(groups.items()):
        if len(by_mode) < 2:
            continue
        statuses = {m: c["status"] for m, c in by_mode.items()}
        failing = sorted(m for m, s in statuses.items() if s in FAILING)
        if not failing and len(set(statuses.values())) < 2:
            continue
        if not failing:
            kind = "differs"
        elif len(failing) == len(statuses):
            kind = "every mode"
        elif EAGER in statuses and statuses[EAGER] in PASSING:
            kind = "compiled only"
        elif failing == [EAGER]:
            kind = "eager only"
        else:
            kind = "some modes"
        out.append({**dict(zip(("op", "framework", "dtype", "device", "precision"), key)), "kind": kind,
                    "failing": failing, "modes": {m: {"status": c["status"], "ratio": cell_ratio(c),
                                                      "worst_record_id": c.get("worst_record_id")}
                                                  for m, c in by_mode.items()}})
    order = {"compiled only": 0, "eager only": 1, "some modes": 2, "every mode": 3, "differs": 4}
    out.sort(key=lambda r: (order[r["kind"]], r["op"], r["framework"], r["dtype"]))
    return out


def modes_html(cells: list[dict[str, Any]]) -> str:
    """The execution modes' table (``mode_rows``), or "" when no cell ran in two modes."""
    if not any(len({_mode(c) for c in cells if c["framework"] == fw}) > 1 for fw in {c["framework"] for c in cells}):
        return ""
    rows = mode_rows(cells)
    trs = []
    for r in rows[:MAX_ROWS]:
        modes = " ".join(
            f'<span class="st st-{esc(v["status"])}">{esc(m)} {esc(SHORT.get(v["status"], v["status"]))}'
            f'{" " + num(v["ratio"], 2) if v["ratio"] is not None else ""}</span>' for m, v in r["modes"].items())
        trs.append(f'<tr{attrs(class_="fx", data_fw=r["framework"], data_dt=r["dtype"], data_dev=r["device"])}>'
                   f'<td>{esc(r["kind"])}</td><td><a href="#op-{esc(r["op"])}">{esc(r["op"])}</a></td>'
                   f'<td>{esc(r["framework"])}</td><td>{esc(r["dtype"])}</td><td>{esc(r["device"])}</td>'
                   f'<td>{esc(r["precision"])}</td><td>{modes}</td></tr>')
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(Counter(r["kind"] for r in rows).items()))
    intro = (f'<h3 id="modes-side-by-side">Execution modes against each other and the oracle</h3>'
             f'<p>Cells that ran in more than one execution mode (eager, torch compile/aot_eager, JAX jit, '
             f'TensorFlow function/xla) where a mode fails against the oracle or the modes\' statuses differ: '
             f'{len(rows)} ({kinds or "none"}). "compiled only": the eager mode passes the same cases.</p>')
    body = (table(["kind", "op", "framework", "dtype", "device", "precision", "modes (status, worst ratio/budget)"],
                  trs, "modes") if trs else '<p class="muted">Every mode agrees with the others and the oracle.</p>')
    return intro + body
