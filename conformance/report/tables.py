"""The smaller sections: run header, not-run targets, convention table, expectations, unsupported
claims, merge notes."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import Any

from conformance.claims import CLAIM_STATE_MEANINGS
from conformance.report.data import RunData
from conformance.report.page import attrs, esc, link, num, table
from conformance.summary import counted, listed


def header_html(run: RunData) -> str:
    s, m = run.summary, run.manifest
    sel = m.get("selection") or {}
    env = m.get("environment") or {}
    facts = [("run", esc(s.get("run_id") or m.get("run_id") or run.path.name)),
             ("directory", f"<code>{esc(run.path)}</code>"),
             ("when", esc(f"started {m.get('started') or '?'}, finished {m.get('finished') or 'not finished'}; "
                          f"summary {s.get('generated', '?')}")),
             ("records", esc(f"{s.get('records', len(run.records))} records, {s.get('examples', 0)} examples"
                             + (f" ({s['value_sets']} value sets)" if s.get("value_sets") else "") + ", "
                             f"{len(s.get('cells', []))} cells, {len(s.get('not_run', []))} not run"))]
    if sel:
        bits = [f"{len(sel['ops'])} ops" if sel.get("ops") else ""]
        bits += [f"{k} {', '.join(map(str, sel[k]))}" for k in ("frameworks", "dtypes", "precisions", "cpu_precisions",
                                                              "modes") if sel.get(k)]
        bits += [f"{k.replace('_', ' ')} {sel[k]}" for k in ("profile", "max_examples", "seed")
                 if sel.get(k) is not None]
        facts.append(("selection", esc("; ".join(b for b in bits if b))))
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
        where = ", ".join(" ".join(str(n.get(k, "")) for k in ("op", "framework", "device", "dtype", "precision",
                                                                "mode"))
                          for n in group[:40]) + (" …" if len(group) > 40 else "")
        rows.append(f'<tr><td class="num">{len(group)}</td><td>{esc(reason)}</td>'
                    f'<td class="small">{esc(where)}</td></tr>')
    return (f'<section id="not-run"><h2>Not run ({len(items)} targets)</h2>'
            f'{table(["targets", "reason", "which"], rows)}</section>')


def _convention_rows(summary: dict[str, Any], records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if summary.get("conventions"):
        return list(summary["conventions"])
    return [r for r in records if counted(r) and r.get("kink") and
            (r.get("status") == "convention" or r.get("case_family") == "convention")]


def _choice(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(", ", ": "))


def conventions_html(summary: dict[str, Any], records: list[dict[str, Any]]) -> str:
    """op x kink x framework -> the gradient each framework chose at the kink, beside the oracle's."""
    rows_in = _convention_rows(summary, records)
    if not rows_in:
        return ""
    fws = list(dict.fromkeys(str(r.get("framework")) for r in rows_in))
    grid: dict[tuple[str, str], dict[str, dict[str, list[str]]]] = defaultdict(lambda: defaultdict(dict))
    about: dict[tuple[str, str], tuple[str, set[str]]] = {}
    for r in rows_in:
        key = (str(r.get("op")), str(r.get("kink")))
        status = str(r.get("status"))
        value = _choice(r.get("choice")) if r.get("choice") is not None else f"({status})"
        grid[key][str(r.get("framework"))].setdefault(value, []).append(f"{r.get('device')} {r.get('dtype')}")
        desc, oracle = about.get(key, ("", set()))
        desc = desc or str(r.get("kink_description") or "")
        if r.get("oracle_choice") is not None:
            oracle.add(_choice(r["oracle_choice"]))
        about[key] = (desc, oracle)
    rows = []
    for key, per_fw in sorted(grid.items()):
        desc, oracle = about[key]
        tds = []
        for fw in fws:
            choices = per_fw.get(fw, {})
            many = len(choices) > 1
            parts = [f"<code>{esc(v)}</code>" + (f' <span class="muted">({esc(", ".join(sorted(set(w))))})</span>'
                                                   if many else "") for v, w in choices.items()]
            differs = many or bool(oracle and set(choices) - oracle)
            tds.append(f'<td{attrs(class_="fx" + (" differs" if differs else ""), data_fw=fw)}>'
                       f'{"<br>".join(parts) or "–"}</td>')
        q = f"{key[0]} {key[1]} {desc}".lower()
        rows.append(f'<tr{attrs(class_="fr", data_op=key[0], data_q=q)}><td>{esc(key[0])}</td><td>{esc(key[1])}'
                    f'<div class="muted small">{esc(desc)}</div></td>'
                    f'<td>{"<br>".join(f"<code>{esc(o)}</code>" for o in sorted(oracle)) or "–"}</td>'
                    f'{"".join(tds)}</tr>')
    head = ["op", "kink", "oracle"] + [f'<span{attrs(class_="fx", data_fw=fw)}>{esc(fw)}</span>' for fw in fws]
    return (f'<section id="conventions"><h2>Conventions at kinks</h2><p class="muted">The gradient each framework '
            f'returns on the kink elements (cotangent of ones), beside the oracle\'s choice; highlighted where it '
            f'differs from the oracle or between devices and dtypes (each value then listed with them).</p>'
            f'{table(head, rows, "conv")}</section>')


def _field(entry: dict[str, Any], key: str) -> str:
    """An expectation's framework/op/dtype/device, from its own field or its ``match`` lists."""
    if entry.get(key):
        return str(entry[key])
    return ", ".join(str(v) for v in (entry.get("match") or {}).get(key, [])) or "any"


def expectations_html(summary: dict[str, Any], records: list[dict[str, Any]]) -> str:
    """Entries of the expectations file (known, stale, fixed) and the known records they explain."""
    entries = [dict(e) for e in summary.get("expectations") or []]
    known = [r for r in records if r.get("status") == "known" and listed(r)]
    if not entries and not known:
        return ""
    ids = {e.get("id") for e in entries if e.get("id")}
    loose: Counter[tuple[Any, ...]] = Counter()
    for r in known:
        exp = r.get("expectation") or {}
        if exp.get("id") not in ids:
            loose[(r.get("framework"), r.get("op"), r.get("dtype"), r.get("device"), exp.get("reason"),
                   exp.get("link"))] += 1
    for (fw, op, dt, dev, reason, url), n in loose.items():
        entries.append({"framework": fw, "op": op, "dtype": dt, "device": dev, "reason": reason, "link": url,
                        "state": "known", "known": n})
    rows = []
    for e in entries:
        n = e.get("known")
        if n is None:
            n = sum(1 for r in known if (r.get("expectation") or {}).get("id") == e.get("id"))
        state, fw, op = str(e.get("state", "known")), _field(e, "framework"), _field(e, "op")
        q = " ".join((op, fw, str(e.get("reason") or ""), state)).lower()
        rows.append(f'<tr{attrs(class_="fr", data_op=op, data_q=q)}>'
                    f'<td><span class="st st-{esc(state)}">{esc(state)}</span></td><td>{esc(fw)}</td>'
                    f'<td>{esc(op)}</td><td>{esc(_field(e, "dtype"))}</td><td>{esc(_field(e, "device"))}</td>'
                    f'<td>{esc(e.get("versions") or "")}</td><td>{esc(e.get("reason"))}'
                    + (f'<br><span class="muted">not on this host: {esc(e["why"])}</span>' if e.get("why") else "")
                    + f'</td><td>{link(e.get("link"))}</td>'
                    f'<td class="num">{esc(e.get("reproduced", ""))}/{esc(e.get("witness_records", ""))}</td>'
                    f'<td class="num">{n}</td><td class="num">{esc(e.get("examples", ""))}</td></tr>')
    head = ["state", "framework", "op", "dtype", "device", "versions", "reason", "link",
            "witnesses reproduced / run", "known records", "examples under it"]
    return (f'<section id="expectations"><h2>Expectations</h2><p class="muted">Each state comes from the entry\'s '
            f'witness cases (exact inputs every run executes; entries confined to the special or convention '
            f'family are pinned by those fixed cases), not from what random draws reached. known: a witness '
            f'reproduced the fault; fixed: every witness ran and passed (end the entry\'s version range); '
            f'changed: a witness failed otherwise than the entry says; stale: no witness ran in this run (its '
            f'cells were not selected, or the framework version is outside the entry\'s range).</p>'
            f'{table(head, rows, "exp")}</section>')


def claims_html(summary: dict[str, Any]) -> str:
    """The unsupported claims that covered a target of the run, with each one's state; stale first."""
    order = {"stale": 0, "changed": 1, "holds": 2, "unprobed": 3}
    claims = sorted((c for c in summary.get("claims") or [] if c.get("state") in order),
                    key=lambda c: (order[c["state"]], str(c.get("id"))))
    if not claims:
        return ""
    rows = []
    for c in claims:
        state = str(c["state"])
        seen = c.get("messages") or []
        message = "" if not seen or c.get("message_seen") else f'<br><span class="muted">raised: {esc(seen[0])}</span>'
        q = " ".join((str(c.get("id")), *(c.get("op") or []), state)).lower()
        rows.append(f'<tr{attrs(class_="fr", data_fw=c.get("framework"), data_q=q)}>'
                    f'<td><span class="st st-{esc(state)}">{esc(state)}</span></td><td>{esc(c.get("id"))}</td>'
                    f'<td>{esc(c.get("framework"))}</td><td>{esc(", ".join(c.get("op") or []))}</td>'
                    f'<td>{esc(", ".join(c.get("dtype") or []))}</td><td>{esc(", ".join(c.get("device") or []))}</td>'
                    f'<td>{esc(c.get("versions") or "")}</td><td>{esc(c.get("reason"))}{message}</td>'
                    f'<td>{esc(", ".join(c.get("ran_targets") or []))}</td>'
                    f'<td class="num">{esc(c.get("raised", 0))}/{esc(c.get("probed", 0))}</td></tr>')
    head = ["state", "claim", "framework", "op", "dtype", "device", "versions", "reason (the framework's message)",
            "ran", "raised / probed"]
    probed = "this run probed them (--probe-unsupported)" if summary.get("probe_unsupported") else (
        "this run did not probe them: their targets were recorded unsupported (run with --probe-unsupported to "
        "ask the framework)")
    return (f'<section id="claims"><h2>Unsupported claims</h2><p class="muted">Claims of conformance/unsupported.toml '
            f'that covered a target here; {esc(probed)}. '
            + "; ".join(f"{esc(k)}: {esc(v)}" for k, v in CLAIM_STATE_MEANINGS.items() if k != "unused") + '.</p>'
            f'{table(head, rows, "claims")}</section>')


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


def reach_html(summary: dict[str, Any]) -> str:
    """Per op, what its accuracy examples exercised (summary.json's reach table): the size regimes
    it declares and the frameworks that reached each, the regimes never reached, the layouts,
    the largest input and the parameter values drawn, so a pass says what it covered."""
    rows_in = summary.get("reach") or []
    if not rows_in:
        return ""
    from conformance.regimes import REGIMES

    head = "".join(f'<th title="{esc(REGIMES[r])}">{esc(r)}</th>' for r in REGIMES)
    rows = []
    for row in rows_in:
        tds = []
        for r in REGIMES:
            per = row["reached"].get(r) or {}
            declared = r in row["declared"]
            if per:
                title = ", ".join(f"{fw} {n}" for fw, n in per.items())
                tds.append(f'<td class="{"" if declared else "muted"}" title="{esc(title)}">{sum(per.values())}</td>')
            else:
                tds.append('<td class="st-fail">missing</td>' if declared else '<td class="muted">–</td>')
        layouts = ", ".join(f"{k} {v}" for k, v in row["layouts"].items())
        params = "; ".join(f"{k}: {', '.join(v)}" for k, v in row["params"].items())
        rows.append(f'<tr><td><a href="#op-{esc(row["op"])}">{esc(row["op"])}</a></td>{"".join(tds)}'
                    f'<td>{esc(layouts)}</td><td>{row["max_elements"]}</td><td class="small">{esc(params)}</td></tr>')
    missing = sum(1 for row in rows_in if row["missing"])
    note = (f"{missing} op(s) miss a regime they declare" if missing
            else "every op reached every regime it declares")
    return ('<section id="reach"><h2>Reach</h2><p class="legend">What each op\'s accuracy examples exercised: '
            'examples per size regime (hover: per framework; a regime the op does not declare is grey), the '
            'memory layouts its frameworks got, its largest input in elements and the parameter values drawn. '
            f'{esc(note)}.'
            f'</p><table class="reach"><thead><tr><th>op</th>{head}<th>layouts</th><th>largest</th><th>params</th>'
            f'</tr></thead><tbody>{"".join(rows)}</tbody></table></section>')


def costs_html(summary: dict[str, Any]) -> str:
    """What each framework, device, execution mode and dtype cost (summary.json's costs): the
    time per mode, set side by side, with its share of the framework time of the whole run."""
    rows_in = summary.get("costs") or []
    if not rows_in:
        return ""
    total = sum(r["adapter_s"] for r in rows_in) or 1.0
    rows = [f'<tr><td>{esc(r["framework"])}</td><td>{esc(r["device"])}</td><td>{esc(r["mode"])}</td>'
            f'<td>{esc(r["dtype"])}</td><td class="num">{r["examples"]}</td><td class="num">{r["value_sets"]}</td>'
            f'<td class="num">{num(r["adapter_s"])}</td><td class="num">{num(100 * r["adapter_s"] / total, 2)}%</td>'
            f'<td class="num">{num(r["ms_per_value_set"])}</td><td class="num">{num(r["compiles"])}</td>'
            f'<td class="num">{num(r["oracle_s"])}</td></tr>' for r in rows_in]
    head = ["framework", "device", "mode", "dtype", "examples", "value sets", "framework s", "share",
            "ms per value set", "compiles", "oracle s"]
    return ('<section id="costs"><h2>Time per mode</h2><p class="legend">The framework\'s own time (the records\' '
            'adapter_s: its VJP calls, compiling included) per framework, device, execution mode and dtype, on the '
            'machine that ran them; compiles: the programs a compiled mode built (– where none is counted).</p>'
            f'{table(head, rows, "costs")}</section>')
