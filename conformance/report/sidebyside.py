"""Devices and precision modes side by side: the same cases on the CPU and the GPU, strict and default.

Every framework, device and precision mode of one op and dtype starts from the same seed, so their
cells are the same cases. A row is one op x framework x dtype; a column is one device and precision
mode. The table shows the rows where the columns disagree: a different status, or worst ratios to
budget that differ by more than ``SPREAD`` while one of them reaches ``FLOOR`` of its budget.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from conformance.outcome import PASSING
from conformance.report.data import cell_ratio
from conformance.report.matrix import SHORT, level
from conformance.report.page import attrs, esc, num, table

SPREAD = 4.0  # ratios this many times apart are worth a look
FLOOR = 0.1  # ... unless both used under a tenth of their budget
MAX_ROWS = 300
QUIET = PASSING  # statuses that compare by their figures only


def _column_key(col: tuple[str, str]) -> tuple[bool, str, int, str]:
    dev, prec = col
    return (dev != "cpu", dev, 0 if prec == "strict" else 1, prec)


def disagreement(cells: dict[tuple[str, str], dict[str, Any]]) -> tuple[int, float] | None:
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
    """The section, or "" when the run has one device and one precision mode."""
    cells = summary.get("cells", [])
    cols = sorted({(c["device"], c["precision"]) for c in cells}, key=_column_key)
    if len(cols) < 2:
        return ""
    rows_by_key: dict[tuple[str, str, str], dict[tuple[str, str], dict[str, Any]]] = defaultdict(dict)
    for c in cells:
        rows_by_key[(c["op"], c["framework"], c["dtype"])][(c["device"], c["precision"])] = c
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
            title = f"{op} · {fw} · {col[0]} · {dt} · {col[1]}: {st}, worst ratio/budget {num(r, 3)}"
            tds.append(f'<td{attrs(class_=cls, title=title)}><a href="#op-{esc(op)}">{text}</a></td>')
        rows.append(f'<tr{attrs(class_="fx", data_fw=fw, data_dt=dt)}><td>{esc(op)}</td><td>{esc(fw)}</td>'
                    f'<td>{esc(dt)}</td>{"".join(tds)}<td class="num">{num(spread, 2)}</td></tr>')
    head = ["op", "framework", "dtype", *[f"{d} {p}" for d, p in cols], "spread"]
    more = f" The first {MAX_ROWS} are shown." if len(flagged) > MAX_ROWS else ""
    intro = (f'<p>The same cases (same seed) on every device and in each precision mode: {len(compared)} '
             f'op x framework x dtype rows ran in more than one column; {len(flagged)} disagree (a status differs, '
             f'or the worst ratio to budget differs more than {SPREAD:g}x with one at least {FLOOR:g}), '
             f'listed first by status, then by spread (largest / smallest ratio).{more} '
             f'{len(compared) - len(flagged)} rows agree.</p>')
    body = table(head, rows, "sidebyside") if rows else '<p class="muted">Every row agrees.</p>'
    return f'<section id="side-by-side"><h2>Devices and precision modes side by side</h2>{intro}{body}</section>'
