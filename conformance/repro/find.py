"""Finding the record a repro script is for, and its run's manifest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conformance.records import check_schema, open_text, recall_run, record_files


class ReproError(Exception):
    """The record cannot be found or reproduced; the message says why."""


def _scan(files: list[Path], record_id: str) -> dict[str, Any] | None:
    for f in files:
        with open_text(f) as fh:
            for line in fh:
                if record_id in line:
                    try:
                        rec = json.loads(line)
                    except ValueError:
                        continue
                    if rec.get("record_id") == record_id:
                        check_schema(rec, f"{f}")
                        return rec
    return None


def find_record(ref: str, *, run_dir: str | None = None, out: str = "reports",
                index: int | None = None) -> tuple[dict[str, Any], Path]:
    """The record and the directory it was read from: a record id searched under ``run_dir`` or
    every run under ``out`` (its own run first), or line ``index`` (0-based) of a results file."""
    path = Path(ref)
    if index is not None or path.is_file():
        if not path.is_file():
            raise ReproError(f"{ref}: no such results file")
        if index is None:
            raise ReproError(f"{ref} is a results file: say which record with --index N (0-based line number)")
        with open_text(path) as fh:
            for n, line in enumerate(fh):
                if n == index:
                    rec = json.loads(line)
                    check_schema(rec, f"{path}:{n}")
                    return rec, path.parent
        raise ReproError(f"{path} has no line {index} (0-based)")
    if ref.count("/") != 2:
        raise ReproError(f"{ref!r} is neither a record id (run-id/worker/n) nor a results file")
    run_id = ref.split("/")[0]
    if run_dir:
        dirs = [Path(run_dir)]
    else:
        base = Path(out)
        own = base / run_id
        dirs = [own] + (sorted(d for d in base.iterdir() if d.is_dir() and d != own) if base.is_dir() else [])
        remembered = recall_run(run_id)  # the run wherever it was written, from any folder
        if remembered is not None and remembered.resolve() not in {d.resolve() for d in dirs if d.exists()}:
            dirs.insert(0, remembered)
    for d in dirs:
        if d.is_dir():
            rec = _scan(record_files(d), ref)
            if rec is not None:
                return rec, d
    looked = ", ".join(str(d) for d in dirs if d.is_dir()) or f"{out} (no such folder)"
    raise ReproError(f"record {ref} not found (looked in {looked}); pass --run-dir with the folder that holds "
                     f"run {run_id}'s run.json, or --out with the folder it was written under")


def manifest_for(rec: dict[str, Any], base: Path, known: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """run.json of the record's run: ``known`` when it is that run's, else ``base/run.json`` or, in a
    merged directory, ``base/runs/<run-id>/run.json``."""
    run_id = rec.get("run_id")
    if known and known.get("run_id") == run_id:
        return known
    for p in (Path(base) / "run.json", Path(base) / "runs" / str(run_id) / "run.json"):
        if p.exists():
            m = json.loads(p.read_text(encoding="utf-8"))
            if m.get("run_id") == run_id:
                return m
    return None
