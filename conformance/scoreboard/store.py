"""The scoreboard's results store: one SQLite file (stdlib ``sqlite3``), runs ingested from their
directories through the report's own loader (``report.data.load_run``: records, summary.json,
run.json), read back with no framework installed.

Tables:

- ``cells``: one row per framework x version x device x mode x precision x op x dtype (the key),
  the summary cell's verdict (and ``verdict``, the one a ``known`` cell's worst record hid), counts
  and worst figures, the run it came from and ``cases``, the digests of the drawn cases (family,
  shapes, params, seed) so columns can be checked to have run
  the same cases;
- ``records``: the full records a cell links to (zlib-compressed JSON) with their case digest:
  its worst record that did not pass (a convention choice is a pass), its worst-ratio one and its
  witness cases' (the same in every column, so a change links the same case on both sides); a repro script is built
  from the record and its run's manifest;
- ``entry_states``: each expectation entry's state (known, fixed, changed, stale: summary.json's)
  on each framework version a run covered;
- ``runs``: each ingested run's id, path, seed, case-deciding selection and manifest (compressed).

Ingesting a cell key again replaces it (the newer run wins) and says so.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.outcome import PASSING
from conformance.records import utc_stamp
from conformance.report.data import load_run, non_pass
from conformance.summary import cell_key, counted

STORE_SCHEMA = 1
KEY = ("framework", "version", "device", "mode", "precision", "op", "dtype")

DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, path TEXT NOT NULL, ingested TEXT NOT NULL, seed INTEGER, seed_source TEXT,
    selection TEXT NOT NULL, manifest BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS cells (
    framework TEXT NOT NULL, version TEXT NOT NULL, device TEXT NOT NULL, mode TEXT NOT NULL,
    precision TEXT NOT NULL, op TEXT NOT NULL, dtype TEXT NOT NULL,
    status TEXT NOT NULL, verdict TEXT NOT NULL, examples INTEGER NOT NULL, value_sets INTEGER NOT NULL,
    counts TEXT NOT NULL,
    worst_bound_ratio REAL, budget REAL, worst_record_id TEXT, first_record_id TEXT, message TEXT,
    cases TEXT NOT NULL, run_id TEXT NOT NULL REFERENCES runs(run_id),
    PRIMARY KEY (framework, version, device, mode, precision, op, dtype));
CREATE TABLE IF NOT EXISTS records (
    record_id TEXT PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs(run_id),
    framework TEXT NOT NULL, version TEXT NOT NULL, device TEXT NOT NULL, mode TEXT NOT NULL,
    precision TEXT NOT NULL, op TEXT NOT NULL, dtype TEXT NOT NULL, status TEXT NOT NULL,
    case_digest TEXT NOT NULL, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS entry_states (
    framework TEXT NOT NULL, version TEXT NOT NULL, entry TEXT NOT NULL, state TEXT NOT NULL,
    reproduced INTEGER NOT NULL, witness_records INTEGER NOT NULL, run_id TEXT NOT NULL REFERENCES runs(run_id),
    PRIMARY KEY (framework, version, entry));
CREATE INDEX IF NOT EXISTS records_by_cell ON records (framework, version, device, mode, precision, op, dtype);
"""


class StoreError(ValueError):
    """The database or a run cannot be used; the message says why."""


@dataclass
class Ingested:
    run_id: str
    path: str
    cells: int
    records: int
    replaced: list[str] = field(default_factory=list)  # "key (was run X)" for each cell a newer run took over


def _case_identity(rec: dict[str, Any]) -> str:
    """What decides a case, as text: its family, fixed-case name, structure and seed (a drawn
    structure's value sets all follow from its seed; the record's own inputs are its worst value
    set's, which may differ between frameworks)."""
    return json.dumps([rec.get(k) for k in ("case_family", "special", "kink", "shapes", "cotangent_shape", "params",
                                            "seed", "scale", "distribution")], sort_keys=True)


def case_digest(rec: dict[str, Any]) -> str:
    return hashlib.sha256(_case_identity(rec).encode()).hexdigest()[:12]


def case_digests(records: list[dict[str, Any]]) -> list[str]:
    """A short digest of each case a cell's records drew (first draws only: no shrink step, no other
    value set's record), sorted: two columns holding the same digests checked the same cases."""
    return sorted({case_digest(r) for r in records if counted(r) and r.get("phase") == "generate"})


def connect(path: Path, *, create: bool = False) -> sqlite3.Connection:
    """The store at ``path``; a missing file is an error unless ``create``."""
    path = Path(path)
    if not create and not path.is_file():
        raise StoreError(f"{path}: no such scoreboard database (create one with --add RUN_DIR...)")
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        db = sqlite3.connect(path)
        db.row_factory = sqlite3.Row
        db.executescript(DDL)
        found = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    except sqlite3.DatabaseError as e:
        raise StoreError(f"{path}: not a scoreboard database ({e})") from None
    if found is None:
        db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(STORE_SCHEMA),))
        db.commit()
    elif found["value"] != str(STORE_SCHEMA):
        raise StoreError(f"{path}: scoreboard schema {found['value']}, this reader knows {STORE_SCHEMA}")
    return db


def _versions(manifest: dict[str, Any]) -> dict[str, str]:
    frameworks = (manifest.get("environment") or {}).get("frameworks") or {}
    return {name: str(f["version"]) for name, f in frameworks.items() if f.get("available") and f.get("version")}


def underlying(status: str, first: dict[str, Any] | None) -> str:
    """A cell's verdict with an expectation's ``known`` undone: the verdict its worst record would have
    had (``expected_status``), so that a failure stays the same failure when an entry's version range
    ends."""
    if status == "known" and first is not None and first.get("expected_status"):
        return str(first["expected_status"])
    return status


def check_run_dir(run_dir: Path) -> None:
    """Refuse what is not a run directory before anything is stored."""
    if not run_dir.is_dir():
        raise StoreError(f"{run_dir}: not a directory (give run directories: the folders holding run.json)")
    if not (run_dir / "run.json").is_file():
        raise StoreError(f"{run_dir}: no run.json here: not a run directory (give reports/<env>/<run-id>, "
                         f"the folder vjp-conformance run printed)")


def ingest(db: sqlite3.Connection, run_dir: Path) -> Ingested:
    """Store one run (or merged) directory's cells and linkable records."""
    run_dir = Path(run_dir)
    check_run_dir(run_dir)
    run = load_run(run_dir)
    run_id = str(run.manifest.get("run_id") or run.summary.get("run_id") or run_dir.name)
    if not run.summary.get("cells"):
        raise StoreError(f"{run_dir}: run {run_id} has no cells (no example finished)")
    versions = _versions(run.manifest)
    by_cell: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for rec in run.records:
        by_cell[cell_key(rec)].append(rec)
    selection = {k: run.summary.get("selection", {}).get(k) for k in sorted(run.summary.get("selection") or {})}
    db.execute("INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?)",
               (run_id, str(run_dir.resolve()), utc_stamp(), run.summary.get("seed"), run.summary.get("seed_source"),
                json.dumps(selection), zlib.compress(json.dumps(run.manifest).encode())))
    out = Ingested(run_id, str(run_dir), 0, 0)
    stored: list[tuple[str, ...]] = []
    for cell in run.summary["cells"]:
        key = cell_key(cell)  # op, framework, device, dtype, precision, mode
        op, framework, device, dtype, precision, mode = key
        version = str(cell.get("framework_version") or versions.get(framework) or "")
        if not version:
            raise StoreError(f"{run_dir}: cell {' '.join(key)} names no framework version")
        row_key = (framework, version, device, mode, precision, op, dtype)
        stored.append(row_key)
        before = db.execute("SELECT run_id FROM cells WHERE " + " AND ".join(f"{k} = ?" for k in KEY),
                            row_key).fetchone()
        if before is not None and before["run_id"] != run_id:
            out.replaced.append(f"{' '.join(row_key)} (was run {before['run_id']})")
            db.execute("DELETE FROM records WHERE " + " AND ".join(f"{k} = ?" for k in KEY), row_key)
        records = by_cell.get(key, [])
        failing = [r for r in non_pass(records) if r.get("status") not in PASSING]
        first = failing[0] if failing else None
        db.execute("INSERT OR REPLACE INTO cells VALUES (" + ", ".join("?" * 19) + ")", (
            *row_key, cell["status"], underlying(cell["status"], first), cell["examples"],
            cell.get("value_sets", cell["examples"]),
            json.dumps(cell["counts"], sort_keys=True), cell.get("worst_bound_ratio"), cell.get("budget"),
            cell.get("worst_record_id"), first.get("record_id") if first else None,
            (first.get("message") or first.get("reason")) if first else None,
            json.dumps(case_digests(records)), run_id))
        keep = {first["record_id"]: first} if first and first.get("record_id") else {}
        worst_id = cell.get("worst_record_id")
        worst = next((r for r in records if r.get("record_id") == worst_id), None)
        if worst is not None:
            keep[worst["record_id"]] = worst
        keep.update({r["record_id"]: r for r in records if r.get("witness") and counted(r) and r.get("record_id")})
        for rid, rec in keep.items():
            db.execute("INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (rid, run_id, *row_key, str(rec.get("status")), case_digest(rec),
                        zlib.compress(json.dumps(rec, allow_nan=False).encode())))
        out.cells += 1
        out.records += len(keep)
    for framework, version in {(k[0], k[1]) for k in stored}:
        for e in run.summary.get("expectations") or []:
            if framework in ((e.get("match") or {}).get("framework") or []):
                db.execute("INSERT OR REPLACE INTO entry_states VALUES (?, ?, ?, ?, ?, ?, ?)",
                           (framework, version, e["id"], e["state"], int(e.get("reproduced") or 0),
                            int(e.get("witness_records") or 0), run_id))
    db.commit()
    return out


def cells(db: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every stored cell, as a dict (counts decoded)."""
    rows = []
    for row in db.execute("SELECT * FROM cells ORDER BY " + ", ".join(KEY)):
        cell = dict(row)
        cell["counts"] = json.loads(cell["counts"])
        rows.append(cell)
    return rows


def runs(db: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every ingested run (selection decoded; the manifest left out: see ``manifest``)."""
    out = []
    for row in db.execute("SELECT run_id, path, ingested, seed, seed_source, selection FROM runs ORDER BY run_id"):
        run = dict(row)
        run["selection"] = json.loads(run["selection"])
        out.append(run)
    return out


def entry_states(db: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every stored expectation state, by framework, entry and version."""
    return [dict(r) for r in db.execute("SELECT * FROM entry_states ORDER BY framework, entry, version")]


def same_case(db: sqlite3.Connection, cell: dict[str, Any], record_id: str) -> str | None:
    """The record of ``cell`` that ran the case record ``record_id`` ran (a witness: every column
    runs it), if the store kept one."""
    row = db.execute("SELECT case_digest FROM records WHERE record_id = ?", (record_id,)).fetchone()
    if row is None:
        return None
    where = " AND ".join(f"{k} = ?" for k in KEY)
    found = db.execute(f"SELECT record_id FROM records WHERE case_digest = ? AND {where} ORDER BY record_id",
                       (row["case_digest"], *(cell[k] for k in KEY))).fetchone()
    return found["record_id"] if found else None


def record(db: sqlite3.Connection, record_id: str) -> dict[str, Any] | None:
    row = db.execute("SELECT body FROM records WHERE record_id = ?", (record_id,)).fetchone()
    return json.loads(zlib.decompress(row["body"])) if row else None


def manifest(db: sqlite3.Connection, run_id: str) -> dict[str, Any] | None:
    row = db.execute("SELECT manifest FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    return json.loads(zlib.decompress(row["manifest"])) if row else None
