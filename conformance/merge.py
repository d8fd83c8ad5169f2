"""``vjp-conformance merge RUN_DIR... --out DIR``: one report from runs made in different tox
environments or on other machines.

Every record is kept with its own ``run_id`` and ``record_id``. What is not plainly additive is
explained in the output and in the merged report (``summary.json["merge"]``):

- a duplicated input (the same directory twice, or a copy of a run already read): records whose
  ``record_id`` and content were already read are counted once, and the output says so;
- a record id seen before with different content: both are kept, and the output says so;
- a conflict (the same op x framework x device x dtype x precision cell from different framework
  versions): the matrix shows the cell's records together, flagged, and the merge notes give
  each version's status, counts and worst bound ratio;
- shards (``run --shard i/N``): the shards of one selection (the same ``shard.selection`` digest
  in their run.json) must all be there, once each; a missing or repeated shard is an error that
  names its index, unless ``--allow-partial`` (then the merge notes say what is missing).

The merged directory holds results.jsonl, summary.json, run.json (the merge's own manifest),
runs/<run-id>/run.json (each source's manifest, for ``repro``) and index.html.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from conformance.records import SCHEMA_VERSION, new_run_id, read_run, utc_stamp, write_records
from conformance.report.data import cell_key, read_json
from conformance.summary import CELL_KEYS, cell_label, summarize


def _digest(rec: dict[str, Any]) -> str:
    return hashlib.sha1(json.dumps(rec, sort_keys=True).encode()).hexdigest()


def _manifests(run_dir: Path) -> dict[str, dict[str, Any]]:
    """run_id -> manifest for a run directory or a merged one (runs/<id>/run.json)."""
    found: dict[str, dict[str, Any]] = {}
    own = run_dir / "run.json"
    for p in [own, *sorted((run_dir / "runs").glob("*/run.json"))]:
        if p.exists():
            m = read_json(p, "run.json")
            if m.get("run_id") and "merged_from" not in m:
                found[str(m["run_id"])] = m
    return found


def _union(lists: list[list[Any]]) -> list[Any]:
    return list(dict.fromkeys(x for lst in lists for x in lst))


class ShardError(ValueError):
    """The shards given do not make the whole run: the message names the missing or repeated ones."""


def shard_sets(manifests: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The shards among ``manifests``, one entry per selection: what is there, missing, repeated."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for m in manifests.values():
        if m.get("shard"):
            groups[str(m["shard"].get("selection"))].append(m)
    out = []
    for digest, ms in sorted(groups.items()):
        counts = sorted({int(m["shard"]["count"]) for m in ms})
        n = counts[-1]
        runs: dict[int, list[str]] = defaultdict(list)
        for m in ms:
            runs[int(m["shard"]["index"])].append(str(m.get("run_id")))
        targets = sum(int(m["shard"].get("targets", 0)) for m in ms)
        out.append({
            "selection": digest, "count": n, "counts_given": counts,
            "present": sorted(runs), "missing": [i for i in range(1, n + 1) if i not in runs],
            "repeated": {str(i): sorted(r) for i, r in sorted(runs.items()) if len(r) > 1},
            "targets": targets, "of_targets": max(int(m["shard"].get("of_targets", 0)) for m in ms),
        })
    return out


def shard_problems(sets: list[dict[str, Any]]) -> list[str]:
    """What keeps the shards of each selection from being one whole run, in words."""
    problems = []
    for s in sets:
        what = f"the {s['count']} shards of selection {s['selection']}"
        if len(s["counts_given"]) > 1:
            problems.append(f"{what}: runs say N = {', '.join(map(str, s['counts_given']))}; "
                            "the shards of one run share one N")
        n = s["count"]
        if s["missing"]:
            missing = ", ".join(f"{i}/{n}" for i in s["missing"])
            problems.append(f"{what}: shard {missing} missing (given: {', '.join(map(str, s['present'])) or 'none'})")
        for i, runs in s["repeated"].items():
            problems.append(f"{what}: shard {i}/{n} given {len(runs)} times (runs {', '.join(runs)}); "
                            "merge each shard once")
        if not s["missing"] and not s["repeated"] and s["targets"] != s["of_targets"]:
            problems.append(f"{what}: they cover {s['targets']} targets of the selection's {s['of_targets']}")
    return problems


class Merger:
    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.seen: dict[str, tuple[str, str]] = {}  # record_id -> (digest, where it was read)
        self.paths: dict[Path, str] = {}
        self.sources: list[dict[str, Any]] = []
        self.duplicates: list[dict[str, Any]] = []
        self.manifests: dict[str, dict[str, Any]] = {}
        self.old_states: list[dict[str, Any]] = []  # expectation states from summaries of runs without entries

    def add(self, run_dir: Path) -> None:
        resolved = run_dir.resolve()
        if resolved in self.paths:
            self.duplicates.append({"path": str(run_dir), "message": f"{run_dir} was given twice (first as "
                                    f"{self.paths[resolved]}): read once"})
            return
        if not run_dir.is_dir():
            raise FileNotFoundError(f"{run_dir} is not a run directory")
        self.paths[resolved] = str(run_dir)
        result = read_run(run_dir)
        repeated: dict[str, int] = defaultdict(int)
        clashing: dict[str, int] = defaultdict(int)
        kept = 0
        for rec in result.records:
            rid, digest = str(rec.get("record_id")), _digest(rec)
            if rid in self.seen:
                first_digest, first_path = self.seen[rid]
                if first_digest == digest:
                    repeated[first_path] += 1
                    continue
                clashing[first_path] += 1
            else:
                self.seen[rid] = (digest, str(run_dir))
            self.records.append(rec)
            kept += 1
        for path, n in repeated.items():
            self.duplicates.append({"path": str(run_dir), "duplicate_of": path, "records": n, "message": (
                f"{run_dir}: {n} of its {len(result.records)} records were already read from {path} "
                f"(the same run given twice): counted once")})
        for path, n in clashing.items():
            self.duplicates.append({"path": str(run_dir), "clashes_with": path, "records": n, "message": (
                f"{run_dir}: {n} records carry a record id already read from {path} with different content: "
                f"both kept")})
        manifests = _manifests(run_dir)
        self.manifests.update({k: v for k, v in manifests.items() if k not in self.manifests})
        summary_path = run_dir / "summary.json"
        if summary_path.exists():
            if not any(m.get("expectations") for m in manifests.values()):
                self.old_states += read_json(summary_path, "summary.json").get("expectations") or []
        run_ids = sorted({str(r.get("run_id")) for r in result.records} | set(manifests))
        envs = [manifests[r].get("environment") or {} for r in run_ids if r in manifests]
        self.sources.append({
            "run_id": ", ".join(run_ids), "path": str(run_dir), "records": kept, "read": len(result.records),
            "damaged_lines": len(result.damaged), "host": ", ".join(sorted({str(e.get("host")) for e in envs})),
            "frameworks": {n: f.get("version") for e in envs for n, f in (e.get("frameworks") or {}).items()
                           if f.get("available")},
            "note": "" if kept == len(result.records) else f"{len(result.records) - kept} duplicate records skipped",
        })

    def conflicts(self) -> list[dict[str, Any]]:
        """Cells holding records of more than one framework version, with each version's figures."""
        by_cell: dict[tuple[str, ...], dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
        for rec in self.records:
            by_cell[cell_key(rec)][str(rec.get("framework_version", ""))].append(rec)
        out = []
        for key, versions in sorted(by_cell.items()):
            if len(versions) < 2:
                continue
            rows = []
            for version, recs in sorted(versions.items()):
                cell = summarize(recs)["cells"][0]
                rows.append({"framework_version": version, "run_ids": sorted({str(r.get("run_id")) for r in recs}),
                             "status": cell["status"], "examples": cell["examples"], "counts": cell["counts"],
                             "worst_bound_ratio": cell["worst_bound_ratio"], "budget": cell["budget"]})
            where = cell_label(key)
            detail = "; ".join(f"{r['framework_version']} ({', '.join(r['run_ids'])}): {r['status']}" for r in rows)
            out.append({"cell": dict(zip(CELL_KEYS, key)), "versions": rows, "message": (
                f"{where}: records from {len(rows)} framework versions, shown together in the matrix: {detail}")})
        return out

    def not_run(self) -> list[dict[str, Any]]:
        """Targets of any source that no merged record covers, with that source's reason."""
        seen = {cell_key(r) for r in self.records}
        out, listed = [], set()
        for m in self.manifests.values():
            for t in m.get("targets", []):
                key = cell_key(t)
                if key not in seen and key not in listed:
                    listed.add(key)
                    reason = (m.get("unavailable") or {}).get(t.get("framework"), "no example finished")
                    out.append({**t, "reason": f"{reason} (run {m.get('run_id')})"})
        return out

    def expectations(self) -> list[dict[str, Any]]:
        """The expectation entries of every source run (each once): their states are worked out
        again over the merged records (an entry stale in one run may be known in another)."""
        seen = _union([[json.dumps(e, sort_keys=True) for e in m.get("expectations") or []]
                       for m in self.manifests.values()])
        return [json.loads(e) for e in seen]

    def claims(self) -> list[dict[str, Any]]:
        """The unsupported claims of every source run (each once): their states are worked out
        again over the merged records (a claim probed in one run may be stale there)."""
        seen = _union([[json.dumps(c, sort_keys=True) for c in m.get("claims") or []]
                       for m in self.manifests.values()])
        return [json.loads(c) for c in seen]

    def manifest(self, run_id: str) -> dict[str, Any]:
        ms = list(self.manifests.values())
        sels = [m.get("selection") or {} for m in ms]
        targets = _union([[json.dumps(t, sort_keys=True) for t in m.get("targets", [])] for m in ms])
        return {
            "schema": SCHEMA_VERSION, "run_id": run_id, "merged_from": sorted(self.manifests),
            "started": min((m.get("started") for m in ms if m.get("started")), default=None),
            "finished": max((m.get("finished") for m in ms if m.get("finished")), default=None),
            "selection": {k: _union([s.get(k) or [] for s in sels]) for k in ("frameworks", "ops", "dtypes",
                                                                               "precisions")},
            "targets": [json.loads(t) for t in targets], "expectations": self.expectations(),
            "claims": self.claims(), "probe_unsupported": any(m.get("probe_unsupported") for m in ms),
            "merge_sources": self.sources,
        }

    def write(self, out: Path, allow_partial: bool = False) -> dict[str, Any]:
        if any(out.resolve() == p for p in self.paths):
            raise ValueError(f"--out {out} is one of the inputs")
        shards = shard_sets(self.manifests)
        problems = shard_problems(shards)
        if problems and not allow_partial:
            raise ShardError("the shards given are not a whole run (nothing written; --allow-partial merges "
                             "them anyway):\n  " + "\n  ".join(problems))
        out.mkdir(parents=True, exist_ok=True)
        run_id = "merge-" + new_run_id()
        conflicts = self.conflicts()
        summary = summarize(self.records, {"run_id": run_id, "targets": [], "expectations": self.expectations(),
                                           "claims": self.claims(),
                                           "probe_unsupported": any(m.get("probe_unsupported")
                                                                    for m in self.manifests.values())})
        flagged = {cell_key(c["cell"]) for c in conflicts}
        for cell in summary["cells"]:
            if cell_key(cell) in flagged:
                cell["conflict"] = True
        summary["not_run"] = self.not_run()
        if self.old_states:
            summary["expectations"] = summary.get("expectations", []) + [
                json.loads(e) for e in _union([[json.dumps(e, sort_keys=True) for e in self.old_states]])]
        summary["merge"] = {"sources": self.sources, "duplicates": self.duplicates, "conflicts": conflicts,
                            "generated": utc_stamp()}
        if shards:
            summary["merge"]["shards"] = shards
            summary["merge"]["partial"] = problems
        runs = out / "runs"
        if runs.exists():
            shutil.rmtree(runs)
        for rid, m in self.manifests.items():
            (runs / rid).mkdir(parents=True, exist_ok=True)
            (runs / rid / "run.json").write_text(json.dumps(m, indent=1, allow_nan=False))
        write_records(out, self.records)
        (out / "run.json").write_text(json.dumps(self.manifest(run_id), indent=1, allow_nan=False))
        (out / "summary.json").write_text(json.dumps(summary, indent=1, allow_nan=False))
        return summary


def merge_runs(run_dirs: list[Path], out: Path, allow_partial: bool = False) -> dict[str, Any]:
    """Merge ``run_dirs`` into ``out`` (records, summary, manifests, index.html); return the summary.
    Shards that do not make a whole run raise ShardError unless ``allow_partial``."""
    from conformance.report import render_run

    merger = Merger()
    for d in run_dirs:
        merger.add(Path(d))
    summary = merger.write(Path(out), allow_partial)
    render_run(Path(out))
    return summary


def explain(summary: dict[str, Any], out: Path) -> list[str]:
    m = summary["merge"]
    lines = [f"merged {summary['records']} records from {len(m['sources'])} input(s) into {out}"]
    lines += [f"  {s['path']}: run {s['run_id']}, {s['records']} of {s['read']} records kept" for s in m["sources"]]
    lines += [f"duplicate: {d['message']}" for d in m["duplicates"]]
    lines += [f"conflict: {c['message']}" for c in m["conflicts"]]
    lines += [f"shards: {len(s['present'])} of {s['count']} of selection {s['selection']}" for s in m.get("shards", [])]
    lines += [f"partial (--allow-partial): {p}" for p in m.get("partial", [])]
    lines.append(f"report: {Path(out) / 'index.html'}")
    return lines


def main(args: argparse.Namespace) -> int:
    try:
        summary = merge_runs([Path(d) for d in args.run_dirs], Path(args.out), args.allow_partial)
    except ValueError as e:
        print(f"vjp-conformance: error: {e}", file=sys.stderr)
        return 2
    print("\n".join(explain(summary, Path(args.out))))
    return 0
