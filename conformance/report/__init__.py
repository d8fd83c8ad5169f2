"""The HTML report: one self-contained ``index.html`` per run (or merged) directory.

Rendering reads records and summaries only: no framework is imported here (nor by merge and diff).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conformance.report.data import RunData, columns, load_run, op_order, registry_ops
from conformance.report.matrix import SHORT, matrix_html, totals_html
from conformance.report.opsection import SNIPPET_BUDGET_BYTES, SNIPPET_MAX_ELEMENTS, op_section
from conformance.report.page import attrs, esc, page
from conformance.report.sidebyside import side_by_side_html
from conformance.report.tables import (
    claims_html,
    conventions_html,
    costs_html,
    expectations_html,
    header_html,
    merge_html,
    not_run_html,
    reach_html,
)

__all__ = ["render_run", "render"]

LEGEND = ("pass", "convention", "known", "fail", "error", "unsupported", "not-run")


def _checks(dim: str, label: str, values: list[str]) -> str:
    boxes = "".join(f'<label><input type="checkbox"{attrs(data_dim=dim, value=v)} checked> {esc(v)}</label>'
                    for v in values)
    return f'<fieldset><legend>{esc(label)}</legend>{boxes}</fieldset>'


def filters_html(run: RunData, cols: list[tuple[str, str, str, str, str]]) -> str:
    dims = [list(dict.fromkeys(c[i] for c in cols)) for i in range(5)]
    statuses = set(run.summary.get("totals", {})) | {r.get("status") for r in run.records if r.get("status")}
    if run.summary.get("not_run"):
        statuses.add("not-run")
    ordered = [s for s in SHORT if s in statuses] + sorted(str(s) for s in statuses - set(SHORT))
    return (f'<form id="filters" class="filters">'
            f'{_checks("fw", "framework", dims[0])}{_checks("dev", "device", dims[1])}'
            f'{_checks("dt", "dtype", dims[2])}{_checks("pr", "precision", dims[3])}{_checks("md", "mode", dims[4])}'
            f'{_checks("st", "status", ordered)}'
            f'<fieldset><legend>search</legend><input type="search" id="q" placeholder="op, message, record id…">'
            f'<button type="button" id="reset">reset</button></fieldset>'
            f'<span id="shown" class="muted"></span></form>')


def _snippet_maker(run: RunData) -> Callable[[dict[str, Any]], str | None]:
    """repro scripts for the page, under the element and byte budgets (computed with NumPy only);
    a script, None (not embedded: the command is shown) or ``"! reason"`` (no script can be made)."""
    from conformance.repro import ReproError, build_script, manifest_for

    state = {"bytes": 0}

    def snippet(rec: dict[str, Any]) -> str | None:
        repro = rec.get("repro")
        if not repro or state["bytes"] > SNIPPET_BUDGET_BYTES:
            return None
        size = sum(_elements(a) for a in repro.get("inputs", {}).values()) + _elements(repro.get("cotangent"))
        if size > SNIPPET_MAX_ELEMENTS:
            return None
        try:
            text = build_script(rec, manifest_for(rec, run.path, run.manifest))
        except ReproError as e:
            return f"! {e}"  # why there is no script, shown in its place
        state["bytes"] += len(text)
        return text

    return snippet


def _elements(arr: Any) -> int:
    n = 1
    for d in (arr or {}).get("shape", []):
        n *= int(d)
    return n


def render(run: RunData) -> str:
    """The report's HTML for a loaded run."""
    summary = run.summary
    cols = columns(summary, run.manifest)
    by_op: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in run.records:
        by_op[str(r.get("op"))].append(r)
    names = set(by_op) | {c["op"] for c in summary.get("cells", [])} | {n["op"] for n in summary.get("not_run", [])}
    ops = op_order(names)
    specs = registry_ops()
    families = {op: (specs[op].family if op in specs else next(
        (r.get("family") for r in by_op.get(op, []) if r.get("family")), "") or "") for op in ops}
    snippet = _snippet_maker(run)
    where = f" --run-dir {run.path}"

    def command_of(rec: dict[str, Any]) -> str:
        return f"vjp-conformance repro {rec.get('record_id')}{where}"

    sections = "".join(op_section(op, by_op.get(op, []), specs.get(op), snippet, command_of) for op in ops)
    legend = "".join(f'<span class="c st-{s}">{esc(s)}</span>' for s in LEGEND)
    shades = "".join(f'<span class="c st-pass lvl{i}">≤{e}</span>' for i, e in enumerate((0.1, 0.3, 0.7, 1.0)))
    title = f"vjp-conformance report {summary.get('run_id') or run.path.name}"
    status = "failing cells" if summary.get("failed") else "no failing cell"
    rendered = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())
    body = (
        f'<header><h1>{esc(title)}</h1><p class="verdict {"bad" if summary.get("failed") else "good"}">'
        f'{esc(status)}: totals {esc(", ".join(f"{k} {v}" for k, v in sorted(summary.get("totals", {}).items())))}'
        f'</p>{header_html(run)}</header>'
        f'{filters_html(run, cols)}'
        f'<main><section id="totals"><h2>Per framework and device</h2>{totals_html(summary)}</section>'
        f'<section id="matrix-section"><h2>Matrix</h2><p class="legend">{legend} &nbsp; passing cells shaded by the '
        f'worst bound_ratio / budget: {shades}. Each cell: worst ratio to budget (or status), pass/examples, then '
        f'✗ failing, K known, C convention, U unsupported, N not run. Click a cell for its op.</p>'
        f'{matrix_html(ops, cols, summary, families)}</section>{side_by_side_html(summary)}'
        f'{merge_html(summary)}{expectations_html(summary, run.records)}{claims_html(summary)}'
        f'{conventions_html(summary, run.records)}{reach_html(summary)}{costs_html(summary)}'
        f'{not_run_html(summary)}<section id="ops"><h2>Ops</h2>{sections}</section></main>'
        f'<footer class="muted">vjp-conformance HTML report, rendered {esc(rendered)} from results.jsonl, '
        f'witnesses.jsonl and summary.json; self-contained (no network).</footer>'
    )
    return page(title, body)


def render_run(run_dir: Path) -> Path:
    """Write ``run_dir/index.html`` and return its path."""
    run = load_run(Path(run_dir))
    out = run.path / "index.html"
    tmp = out.with_suffix(".html.tmp")
    tmp.write_text(render(run), encoding="utf-8")
    tmp.replace(out)
    return out
