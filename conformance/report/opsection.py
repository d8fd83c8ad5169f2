"""One section per op: the oracle's VJP formula, the error distribution, the worst case and
every non-pass case with its figures and, where the record carries its inputs, a repro script."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from conformance.report.data import column_of, non_pass, record_ratio
from conformance.report.matrix import col_attrs
from conformance.report.page import attrs, esc, link, num
from conformance.report.svg import histogram
from conformance.summary import counted, listed, value_sets

# Embed a repro script in the page only for records this small (inputs + cotangent elements),
# and stop embedding once the page holds this many bytes of scripts; the command is always shown.
SNIPPET_MAX_ELEMENTS = 4096
SNIPPET_BUDGET_BYTES = 6_000_000
# At most this many non-pass cases are written out per op; the rest are counted.
MAX_CASES_PER_OP = 500

Snippet = Callable[[dict[str, Any]], "str | None"]


def _json(v: Any) -> str:
    return json.dumps(v, separators=(", ", ": "), allow_nan=True)


def _exact(x: Any) -> str:
    """A gradient value as recorded: floats in full (repr), non-finite ones as written ('nan')."""
    return esc(repr(x) if isinstance(x, float) else x)


def worst_element(w: dict[str, Any] | None) -> str:
    if not w:
        return ""
    idx = ", ".join(str(i) for i in w.get("index", []))
    return (f"d{esc(w.get('input'))}[{esc(idx)}]: got {_exact(w.get('got'))}, oracle {_exact(w.get('want'))}, "
            f"abs err {num(w.get('abs_err'))}, magnitude {num(w.get('magnitude'))}, {num(w.get('ulp'))} ulp")


def figures_line(rec: dict[str, Any]) -> str:
    return (f"bound_ratio {num(rec.get('bound_ratio'))} / budget {num(rec.get('budget'))}"
            f" (ratio {num(record_ratio(rec), 2)}); max_abs_err {num(rec.get('max_abs_err'))},"
            f" max_rel_err {num(rec.get('max_rel_err'))}, max_ulp {num(rec.get('max_ulp'))}")


def facts(rec: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, escaped HTML) pairs describing a record, only those it has."""
    out: list[tuple[str, str]] = []
    if rec.get("message"):
        out.append(("message", f"<pre class=\"msg\">{esc(str(rec['message'])[:4000])}</pre>"))
    if rec.get("bound_ratio") is not None:
        out.append(("figures", figures_line(rec)))
    if rec.get("worst"):
        out.append(("worst element", worst_element(rec["worst"])))
    nf = rec.get("nonfinite")
    if nf:
        out.append(("non-finite", esc(f"on the {nf.get('side')} side: d{nf.get('input')}{nf.get('index')} got "
                                      f"{nf.get('got')}, oracle {nf.get('want')} ({nf.get('count')} element(s))")))
    if rec.get("special"):
        out.append(("special values", esc(f"{rec['special']}: the oracle holds {rec.get('oracle_holds') or '?'}")))
    if rec.get("kink") is not None or rec.get("choice"):
        out.append(("kink", esc(f"{rec.get('kink')} {rec.get('kink_description') or ''}")))
    if rec.get("choice"):
        out.append(("choice", f"<code>{esc(_json(rec['choice']))}</code> oracle "
                              f"<code>{esc(_json(rec.get('oracle_choice')))}</code>"))
    exp = rec.get("expectation")
    if isinstance(exp, dict):
        out.append(("expected", f"{esc(rec.get('expected_status') or '')}: {esc(exp.get('reason'))} "
                                f"{link(exp.get('link'))}"))
    if rec.get("shapes") is not None:
        out.append(("shapes", f"<code>{esc(_json(rec['shapes']))}</code> dz "
                              f"<code>{esc(rec.get('cotangent_shape'))}</code>"))
    if rec.get("params"):
        out.append(("params", f"<code>{esc(_json(rec['params']))}</code>"))
    if rec.get("seed") is not None:
        drawn = f"seed {rec.get('seed')}, scale {rec.get('scale')}, {rec.get('distribution')}"
        if rec.get("regime"):
            drawn += f", regime {rec['regime']}, layout {rec.get('layout') or 'contiguous'}"
        out.append(("drawn", esc(drawn)))
    if rec.get("traceback"):
        out.append(("traceback", f"<details><summary>show</summary><pre class=\"msg\">{esc(rec['traceback'])}</pre>"
                                 "</details>"))
    return out


def dl(items: list[tuple[str, str]]) -> str:
    return "<dl>" + "".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"


def repro_block(rec: dict[str, Any], snippet: Snippet, command: str) -> str:
    cmd = f'<p class="cmd">repro: <code>{esc(command)}</code></p>'
    if rec.get("status") == "unsupported":
        return ""
    text = snippet(rec)
    if text is None:
        return cmd
    if text.startswith("! "):
        return f'{cmd}<p class="cmd muted">no repro script: {esc(text[2:])}</p>'
    sid = "s-" + "".join(ch if ch.isalnum() else "-" for ch in str(rec.get("record_id", "")))
    return (f'{cmd}<details class="repro"><summary>repro script ({text.count(chr(10)) + 1} lines)</summary>'
            f'<button type="button" class="copy" data-target="{esc(sid)}">Copy</button>'
            f'<pre id="{esc(sid)}"><code>{esc(text)}</code></pre></details>')


def case_html(rec: dict[str, Any], snippet: Snippet, command: str) -> str:
    col = column_of(rec)
    status = str(rec.get("status"))
    q = " ".join(str(rec.get(k) or "") for k in ("op", "framework", "device", "dtype", "status", "record_id", "kink",
                                                  "special", "message"))
    head = (f'<span class="st st-{esc(status)}">{esc(status)}</span> <b>{esc(col[0])}</b> '
            f'<span class="muted">{esc(rec.get("framework_version"))}</span> · {esc(col[1])} · {esc(col[2])} · '
            f'{esc(col[3])} · {esc(col[4])} <span class="rid">{esc(rec.get("record_id"))}</span>')
    body = dl(facts(rec)) + repro_block(rec, snippet, command)
    a = attrs(class_="case fx fr", data_st=status, data_op=rec.get("op"), data_q=q.lower(), **col_attrs(col))
    return (f'<div{a}>'
            f'<div class="case-head">{head}</div>{body}</div>')


def worst_html(recs: list[dict[str, Any]]) -> str:
    scored = [(record_ratio(r), r) for r in recs if r.get("case_family", "accuracy") == "accuracy"]
    scored = [(s, r) for s, r in scored if s is not None]
    if not scored:
        return '<p class="muted">no worst case: no accuracy example with figures</p>'
    _, rec = max(scored, key=lambda sr: sr[0])
    col = column_of(rec)
    items = [("where", esc(f"{col[0]} {rec.get('framework_version', '')} · {col[1]} · {col[2]} · {col[3]} · {col[4]}")),
             ("status", f'<span class="st st-{esc(rec.get("status"))}">{esc(rec.get("status"))}</span>'),
             ("record", f'<span class="rid">{esc(rec.get("record_id"))}</span>')]
    items += [f for f in facts(rec) if f[0] not in ("message", "traceback")]
    return dl(items)


def op_section(op: str, recs: list[dict[str, Any]], spec: Any, snippet: Snippet,
               command_of: Callable[[dict[str, Any]], str]) -> str:
    counted_recs = [r for r in recs if counted(r)]
    family = getattr(spec, "family", None) or next((r.get("family") for r in recs if r.get("family")), "") or ""
    if spec is not None:
        ins = ", ".join(f"{i.name} ({i.domain}{'' if i.differentiable else ', not differentiable'})"
                        for i in spec.inputs)
        about = (f'<p class="formula">VJP the oracle uses: <code>{esc(spec.formula)}</code></p>'
                 f'<p class="muted">inputs {esc(ins)}'
                 + (f"; params {esc(', '.join(spec.params))}" if spec.params else "")
                 + (f"; kinks {esc(', '.join(k.name for k in spec.kinks))}" if spec.kinks else "")
                 + (f". {esc(spec.notes)}" if spec.notes else "") + "</p>")
    else:
        about = '<p class="muted">This op is not in this installation\'s catalogue: no formula to show.</p>'
    series: dict[str, list[float]] = {}
    for r in counted_recs:
        s = record_ratio(r)
        if s is not None and r.get("case_family", "accuracy") == "accuracy":
            series.setdefault(str(r.get("framework")), []).append(s)
    bad = non_pass(recs)
    shown = bad[:MAX_CASES_PER_OP]
    cases = "".join(case_html(r, snippet, command_of(r)) for r in shown)
    more = (f'<p class="muted">… and {len(bad) - len(shown)} more non-pass records in results.jsonl</p>'
            if len(bad) > len(shown) else "")
    shrink = sum(not listed(r) for r in recs)
    checked = sum(value_sets(r) for r in counted_recs)
    checked_note = f", {checked} value sets" if checked != len(counted_recs) else ""
    shrink_note = f' <span class="muted">({shrink} shrink steps not listed)</span>' if shrink else ""
    cases_html = (f"<h4>Non-pass cases ({len(bad)}){shrink_note}</h4>{cases}{more}" if bad
                  else f'<p class="ok">Every example passed.{shrink_note}</p>')
    return (f'<section{attrs(class_="op", id=f"op-{op}", data_op=op, data_q=f"{op} {family}".lower())}>'
            f'<h3>{esc(op)} <small>{esc(family)}</small> '
            f'<small class="muted">{len(counted_recs)} examples{checked_note}</small></h3>'
            f'{about}<div class="opgrid"><div><h4>Error distribution</h4>'
            f'{histogram(series, f"{op}: bound_ratio / budget per framework")}</div>'
            f'<div><h4>Worst case</h4>{worst_html(counted_recs)}</div></div>{cases_html}</section>')
