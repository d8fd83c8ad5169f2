"""The smaller sections: run header, not-run targets, convention table, expectations, merge notes."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import Any

from conformance.report.data import RunData, column_of
from conformance.report.matrix import col_attrs
from conformance.report.page import attrs, esc, link, num, table
from conformance.summary import counted


def header_html(run: RunData) -> str:
    s, m = run.summary, run.manifest
    sel = m.get("selection") or {}
    env = m.get("environment") or {}
    facts = [("run", esc(s.get("run_id") or m.get("run_id") or run.path.name)),
             ("directory", f"<code>{esc(run.path)}</code>"),
             ("when", esc(f"started {m.get('started') or '?'}, finished {m.get('finished') or 'not finished'}; "
                          f"summary {s.get('generated', '?')}")),
             ("records", esc(f"{s.get('records', len(run.records))} records, {s.get('examples', 0)} examples, "
                             f"{len(s.get('cells', []))} cells, {len(s.get('not_run', []))} not run"))]
    if sel:
        facts.append(("selection", esc(
            f"{len(sel.get('ops') or [])} ops; frameworks {', '.join(sel.get('frameworks') or [])}; dtypes "
            f"{', '.join(sel.get('dtypes') or [])}; precision {', '.join(sel.get('precisions') or [])}; profile "
            f"{sel.get('profile')}; max examples {sel.get('max_examples') or 'profile default'}; seed {sel.get('seed')}")))
    if env:
        facts.append(("machine", esc(f"{env.get('host', '?')}: {env.get('platform', '?')}, python {env.get('python')}, "
                                     f"numpy {env.get('numpy')}, {env.get('cpu_count')} CPUs, "
                                     f"vjp-conformance {env.get('vjp_conformance')}")))
        for name, fw in (env.get("frameworks") or {}).items():
            if fw.get("available"):
                text = f"{fw.get('version')} on {', '.join(fw.get('devices') or [])} ({fw.get('source')})"
            else:
                text = f"unavailable: {fw.get('reason')}"
            facts.append((name, esc(text)))
    damaged = s.get("damaged_lines") or len(run.damaged)
    warn = (f'<p class="warn">{damaged} damaged record line(s) were skipped: the run was cut off mid-write.</p>'
            if damaged else "")
    dl = "".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in facts)
    return f'<dl class="head">{dl}</dl>{warn}'


def not_run_html(summary: dict[str, Any]) -> str:
    items = summary.get("not_run") or []
    if not items:
        return ""
    by_reason: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for n in items:
        by_reason[str(n.get("reason", ""))].append(n)
    rows = []
    for reason, group in sorted(by_reason.items(), key=lambda kv: -len(kv[1])):
        where = ", ".join(" ".join(str(n.get(k, "")) for k in ("op", "framework", "device", "dtype", "precision"))
                          for n in group[:40]) + (" …" if len(group) > 40 else "")
        rows.append(f"<tr><td class=\"num\">{len(group)}</td><td>{esc(reason)}</td><td class=\"small\">{esc(where)}</td></tr>")
    return (f'<section id="not-run"><h2>Not run ({len(items)} targets)</h2>'
            f'{table(["targets", "reason", "which"], rows)}</section>')


def conventions_html(records: list[dict[str, Any]]) -> str:
    """op x kink x framework -> the gradient each framework chose at the kink."""
    conv = [r for r in records if r.get("status") == "convention" and counted(r)]
    if not conv:
        return ""
    fws = list(dict.fromkeys(str(r.get("framework")) for r in conv))
    table_: dict[tuple[str, str], dict[str, dict[str, list[str]]]] = defaultdict(lambda: defaultdict(dict))
    for r in conv:
        col = column_of(r)
        value = json.dumps(r.get("choice"), sort_keys=True, separators=(", ", ": "))
        where = table_[(str(r.get("op")), str(r.get("kink")))][col[0]].setdefault(value, [])
        where.append(f"{col[1]} {col[2]}")
    rows = []
    for (op, kink), per_fw in sorted(table_.items()):
        tds = []
        for fw in fws:
            choices = per_fw.get(fw, {})
            if not choices:
                tds.append(f'<td{attrs(class_="fx", data_fw=fw)}>–</td>')
                continue
            many = len(choices) > 1
            parts = [f"<code>{esc(v)}</code>" + (f' <span class="muted">({esc(", ".join(sorted(set(w))))})</span>'
                                                   if many else "") for v, w in choices.items()]
            tds.append(f'<td{attrs(class_="fx" + (" differs" if many else ""), data_fw=fw)}>{"<br>".join(parts)}</td>')
        rows.append(f'<tr{attrs(class_="fr", data_op=op, data_q=f"{op} {kink}".lower())}><td>{esc(op)}</td>'
                    f'<td>{esc(kink)}</td>{"".join(tds)}</tr>')
    head = ["op", "kink"] + [f'<span{attrs(class_="fx", data_fw=fw)}>{esc(fw)}</span>' for fw in fws]
    return (f'<section id="conventions"><h2>Conventions at kinks</h2><p class="muted">The gradient each framework '
            f'returns on the kink elements (cotangent of ones); where devices or dtypes disagree, each value is '
            f'listed with them.</p>{table(head, rows, "conv")}</section>')


def _matches(entry: dict[str, Any], rec: dict[str, Any]) -> bool:
    return all(entry.get(k) in (None, "", "*", rec.get(k)) for k in ("framework", "op", "dtype", "device"))


def expectations_html(summary: dict[str, Any], records: list[dict[str, Any]]) -> str:
    """Entries of the expectations file (known, stale, fixed) and the known records they explain."""
    entries = [dict(e) for e in summary.get("expectations") or []]
    known = [r for r in records if r.get("status") == "known" and counted(r)]
    if not entries and not known:
        return ""
    used: Counter[int] = Counter()
    loose: dict[tuple[Any, ...], int] = Counter()
    for r in known:
        i = next((i for i, e in enumerate(entries) if _matches(e, r)), None)
        if i is not None:
            used[i] += 1
        else:
            exp = r.get("expectation") or {}
            loose[(r.get("framework"), r.get("op"), r.get("dtype"), r.get("device"), exp.get("reason"),
                   exp.get("link"))] += 1
    for (fw, op, dt, dev, reason, url), n in loose.items():
        entries.append({"framework": fw, "op": op, "dtype": dt, "device": dev, "reason": reason, "link": url,
                        "state": "known", "_records": n})
    rows = []
    for i, e in enumerate(entries):
        n = e.get("_records", used.get(i, 0))
        state = str(e.get("state", "known"))
        rows.append(f'<tr{attrs(class_="fr fx", data_fw=e.get("framework"), data_op=e.get("op"), data_st="known", data_q=" ".join(str(e.get(k) or "") for k in ("op", "framework", "reason")).lower())}>'
                    f'<td><span class="st st-{esc(state)}">{esc(state)}</span></td><td>{esc(e.get("framework"))}</td>'
                    f'<td>{esc(e.get("op"))}</td><td>{esc(e.get("dtype") or "any")}</td>'
                    f'<td>{esc(e.get("device") or "any")}</td><td>{esc(e.get("reason"))}</td>'
                    f'<td>{link(e.get("link"))}</td><td class="num">{n}</td></tr>')
    head = ["state", "framework", "op", "dtype", "device", "reason", "link", "known records"]
    return (f'<section id="expectations"><h2>Expectations</h2><p class="muted">known: the failure is expected and '
            f'was seen; stale: expected but the cell now passes (remove the entry); fixed: marked fixed upstream.</p>'
            f'{table(head, rows, "exp")}</section>')


def merge_html(summary: dict[str, Any]) -> str:
    merge = summary.get("merge")
    if not merge:
        return ""
    src_rows = [f"<tr><td>{esc(s.get('run_id'))}</td><td><code>{esc(s.get('path'))}</code></td>"
                f"<td class=\"num\">{esc(s.get('records'))}</td><td>{esc(s.get('host', ''))}</td>"
                f"<td>{esc(', '.join(f'{k} {v}' for k, v in (s.get('frameworks') or {}).items()))}</td>"
                f"<td>{esc(s.get('note', ''))}</td></tr>" for s in merge.get("sources", [])]
    dups = "".join(f"<li>{esc(d.get('message'))}</li>" for d in merge.get("duplicates", []))
    conf = []
    for c in merge.get("conflicts", []):
        vrows = "".join(
            f"<tr><td>{esc(v.get('framework_version'))}</td><td>{esc(', '.join(v.get('run_ids', [])))}</td>"
            f"<td>{esc(v.get('status'))}</td><td class=\"num\">{esc(v.get('examples'))}</td>"
            f"<td>{esc(', '.join(f'{k} {n}' for k, n in (v.get('counts') or {}).items()))}</td>"
            f"<td class=\"num\">{num(v.get('worst_bound_ratio'))}</td></tr>" for v in c.get("versions", []))
        conf.append(f"<li>{esc(c.get('message'))}<table class=\"inner\"><thead><tr><th>version</th><th>runs</th>"
                    f"<th>status</th><th>examples</th><th>counts</th><th>worst bound_ratio</th></tr></thead>"
                    f"<tbody>{vrows}</tbody></table></li>")
    return (f'<section id="merge"><h2>Merge notes</h2>'
            f'{table(["run", "from", "records", "host", "frameworks", "note"], src_rows)}'
            + (f"<h4>Duplicated inputs</h4><ul>{dups}</ul>" if dups else "<p>No duplicated input.</p>")
            + (f"<h4>Conflicts: the same cell from different framework versions</h4><ul>{''.join(conf)}</ul>"
               if conf else "<p>No conflicting cell.</p>")
            + "</section>")
