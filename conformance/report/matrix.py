"""The matrix (op x framework/device/dtype/precision/mode) and the framework x device totals."""

from __future__ import annotations

from collections import Counter
from typing import Any

from conformance.outcome import FAILING, PASSING
from conformance.outcome import LABELS as SHORT
from conformance.report.data import Column, cell_ratio, column_of, is_failing
from conformance.report.page import attrs, esc, num, table


def level(r: float | None) -> str:
    """Shade of a passing cell by how much of its budget the worst example used."""
    if r is None:
        return ""
    for i, edge in enumerate((0.1, 0.3, 0.7, 1.0)):
        if r <= edge:
            return f" lvl{i}"
    return " lvl4"


def col_attrs(col: Column) -> dict[str, str]:
    return {"data_fw": col[0], "data_dev": col[1], "data_dt": col[2], "data_pr": col[3], "data_md": col[4]}


def count_badges(counts: dict[str, int], not_run: int = 0) -> str:
    fails = sum(counts.get(s, 0) for s in FAILING)
    bits = [f'<span class="n">{counts.get("pass", 0)}/{sum(counts.values())}</span>']
    for label, n, cls in (("✗", fails, "bf"), ("K", counts.get("known", 0), "bk"),
                          ("C", counts.get("convention", 0), "bc"), ("U", counts.get("unsupported", 0), "bu"),
                          ("N", not_run, "bn")):
        if n:
            bits.append(f'<span class="b {cls}">{label}{n}</span>')
    return "".join(bits)


def counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{s} {n}" for s, n in sorted(counts.items(), key=lambda kv: -kv[1])) or "none"


def cell_html(op: str, col: Column, cell: dict[str, Any] | None, not_run: str | None) -> str:
    a = col_attrs(col)
    if cell is None and not_run is None:
        return f'<td{attrs(class_="c none fx", **a)}>·</td>'
    href = f"#op-{op}"
    if cell is None:
        title = f"{op} · {' · '.join(col)}\nnot run: {not_run}"
        return (f'<td{attrs(class_="c st-not-run fx", data_st="not-run", title=title, **a)}>'
                f'<a href="{esc(href)}"><span class="r">not run</span><span class="b bn">N1</span></a></td>')
    status, counts, r = cell["status"], cell.get("counts", {}), cell_ratio(cell)
    figure = r is not None and status in ("pass", "fail", "convention", "known")
    main = num(r, 2) if figure else SHORT.get(status, status)
    lvl = level(r) if status in PASSING else ""
    title = (f"{op} · {col[0]} {cell.get('framework_version') or ''} · {col[1]} · {col[2]} · {col[3]} · {col[4]}\n"
             f"status {status}; {cell.get('examples', 0)} examples: {counts_text(counts)}\n"
             f"worst bound_ratio {num(cell.get('worst_bound_ratio'))} / budget {num(cell.get('budget'))}; "
             f"max_abs_err {num(cell.get('max_abs_err'))}, max_ulp {num(cell.get('max_ulp'))}")
    if cell.get("conflict"):
        title += "\nmerged from several framework versions: see Merge notes"
    st = " ".join(sorted(counts)) or status
    flag = '<span class="b bx" title="framework versions differ">≠</span>' if cell.get("conflict") else ""
    return (f'<td{attrs(class_=f"c st-{status}{lvl} fx", data_st=st, title=title, **a)}>'
            f'<a href="{esc(href)}"><span class="r">{esc(main)}</span>{count_badges(counts)}{flag}</a></td>')


def header_html(col: Column, versions: dict[str, set[str]]) -> str:
    v = versions.get(col[0], set())
    ver = f'<span class="v">{esc(next(iter(v)))}</span>' if len(v) == 1 else ""
    lines = "".join(f"<span>{esc(x)}</span>" for x in col)
    return f'<th{attrs(class_="colh fx", **col_attrs(col))}>{lines}{ver}</th>'


def matrix_html(ops: list[str], cols: list[Column], summary: dict[str, Any], families: dict[str, str]) -> str:
    cells = {(c["op"], column_of(c)): c for c in summary.get("cells", [])}
    not_run = {(n["op"], column_of(n)): str(n.get("reason", "")) for n in summary.get("not_run", [])}
    versions: dict[str, set[str]] = {}
    for c in summary.get("cells", []):
        if c.get("framework_version"):
            versions.setdefault(c["framework"], set()).add(str(c["framework_version"]))
    head = '<th class="oph">op</th>' + "".join(header_html(c, versions) for c in cols)
    rows = []
    for op in ops:
        tds = "".join(cell_html(op, col, cells.get((op, col)), not_run.get((op, col))) for col in cols)
        fam = families.get(op, "")
        rows.append(f'<tr{attrs(class_="oprow", data_op=op, data_q=f"{op} {fam}".lower())}>'
                    f'<th class="oph"><a href="#op-{esc(op)}">{esc(op)}</a><span class="fam">{esc(fam)}</span></th>'
                    f"{tds}</tr>")
    totals = []
    for col in cols:
        counts: Counter[str] = Counter()
        for (_, c), cell in cells.items():
            if c == col:
                counts.update(cell.get("counts", {}))
        nr = sum(1 for (_, c) in not_run if c == col)
        totals.append(f'<td{attrs(class_="c tot fx", **col_attrs(col))}>{count_badges(counts, nr)}</td>')
    foot = f'<tr class="totrow"><th class="oph">all ops</th>{"".join(totals)}</tr>'
    return (f'<div class="scroll"><table class="matrix"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody><tfoot>{foot}</tfoot></table></div>')


def totals_html(summary: dict[str, Any]) -> str:
    """One row per framework x device: every count, failing cells, worst ratio to budget."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for c in summary.get("cells", []):
        g = groups.setdefault((c["framework"], c["device"]),
                              {"counts": Counter(), "cells": 0, "failing": 0, "worst": None, "versions": set(),
                               "not_run": 0})
        g["counts"].update(c.get("counts", {}))
        g["cells"] += 1
        g["failing"] += is_failing(c.get("status", ""))
        if c.get("framework_version"):
            g["versions"].add(str(c["framework_version"]))
        r = cell_ratio(c)
        if r is not None and (g["worst"] is None or r > g["worst"]):
            g["worst"] = r
    for n in summary.get("not_run", []):
        g = groups.setdefault((n["framework"], n["device"]),
                              {"counts": Counter(), "cells": 0, "failing": 0, "worst": None, "versions": set(),
                               "not_run": 0})
        g["not_run"] += 1
    head = ["framework", "device", "version", "examples", "pass", "fail", "known", "convention", "unsupported",
            "not run", "failing cells", "worst ratio/budget"]
    rows = []
    for (fw, dev), g in sorted(groups.items()):
        k = g["counts"]
        fails = sum(k.get(s, 0) for s in FAILING)
        breakdown = ", ".join(f"{s} {k[s]}" for s in FAILING if k.get(s))
        rows.append(
            f'<tr{attrs(class_="fx", data_fw=fw, data_dev=dev)}><td>{esc(fw)}</td><td>{esc(dev)}</td>'
            f'<td>{esc(", ".join(sorted(g["versions"])))}</td><td class="num">{sum(k.values())}</td>'
            f'<td class="num">{k.get("pass", 0)}</td>'
            f'<td{attrs(class_="num" + (" bad" if fails else ""), title=breakdown or None)}>{fails}</td>'
            f'<td class="num">{k.get("known", 0)}</td><td class="num">{k.get("convention", 0)}</td>'
            f'<td class="num">{k.get("unsupported", 0)}</td><td class="num">{g["not_run"]}</td>'
            f'<td class="num">{g["failing"]} / {g["cells"]}</td><td class="num">{num(g["worst"], 2)}</td></tr>')
    return table(head, rows, "totals")
