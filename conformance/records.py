"""Outcome records: one JSON object per line, one file per worker, nothing lost.

Layout of a run directory::

    <out>/<run-id>/run.json          selection, environment, seed, start/end
    <out>/<run-id>/parts/<worker>.jsonl   records as each worker wrote them (flushed per record)
    <out>/<run-id>/results.jsonl     all records, merged when the run ends
    <out>/<run-id>/summary.json      per framework x device x op x dtype counts and worst figures

A worker appends each record with one ``write`` and flushes, so a worker that dies loses at most
the example it was running (recorded as ``crashed`` by the controller). Readers skip a damaged
line (a run cut off mid-write) and count it.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import secrets
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from conformance.dtypes import DTYPES, dtype_name

# 1.1: value sets per structure (values_per_case, value_set...), shards; 1.2: execution modes (mode, compiles)
SCHEMA_VERSION = "1.2"
SCHEMA_MAJOR = 1


class SchemaError(ValueError):
    """A record or summary of a schema major version this reader does not know."""


def encode_array(a: np.ndarray) -> dict[str, Any]:
    """Exact, compact JSON form of an array: dtype name, shape, base64 of little-endian bytes."""
    a = np.require(a, requirements="C")  # (np.ascontiguousarray would make a 0-d array 1-d)
    name = dtype_name(a.dtype)
    raw = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
    return {"dtype": name, "shape": list(a.shape), "b64": base64.b64encode(raw).decode("ascii")}


def decode_array(d: dict[str, Any]) -> np.ndarray:
    name = d["dtype"]
    dt = DTYPES[name].numpy if name in DTYPES else np.dtype(name)
    raw = base64.b64decode(d["b64"])
    return np.frombuffer(raw, dtype=dt.newbyteorder("<") if dt.byteorder != "|" else dt).astype(dt).reshape(d["shape"])


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


def utc_stamp() -> str:
    """Now, as every file of a run writes it (ISO 8601, UTC, seconds)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def make_run_dir(out: Path) -> tuple[str, Path]:
    """Create a fresh run directory under ``out``; concurrent runs never share one."""
    out.mkdir(parents=True, exist_ok=True)
    while True:
        run_id = new_run_id()
        path = out / run_id
        try:
            path.mkdir()
        except FileExistsError:
            continue
        (path / "parts").mkdir()
        remember_run(run_id, path)
        return run_id, path


RUNS_INDEX_ENV = "VJP_CONFORMANCE_RUNS_INDEX"


def runs_index() -> Path | None:
    """Where run ids are mapped to their directories, so ``repro RECORD_ID`` finds a run from any
    folder: ``$VJP_CONFORMANCE_RUNS_INDEX`` (``off`` for none), else
    ``~/.cache/vjp-conformance/runs`` (``$XDG_CACHE_HOME`` honoured)."""
    import os

    value = os.environ.get(RUNS_INDEX_ENV)
    if value:
        return None if value == "off" else Path(value)
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "vjp-conformance" / "runs"


def remember_run(run_id: str, path: Path) -> None:
    """Best effort: a run that cannot be indexed is still a run (repro then needs --run-dir)."""
    index = runs_index()
    if index is None:
        return
    try:
        index.mkdir(parents=True, exist_ok=True)
        (index / run_id).write_text(str(Path(path).resolve()), encoding="utf-8")
    except OSError:
        pass


def recall_run(run_id: str) -> Path | None:
    """The directory of run ``run_id`` if this machine's runs index knows it and it still exists."""
    index = runs_index()
    if index is None or not run_id or "/" in run_id or run_id.startswith("."):
        return None
    try:
        path = Path((index / run_id).read_text(encoding="utf-8").strip())
    except OSError:
        return None
    return path if path.is_dir() else None


def _finite(obj: Any) -> Any:
    """JSON-safe copy: non-finite floats become their repr ('nan', 'inf', '-inf')."""
    if isinstance(obj, float):
        return obj if obj == obj and obj not in (float("inf"), float("-inf")) else repr(obj)
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


class RecordWriter:
    """Appends records to this worker's own part file."""

    def __init__(self, run_dir: Path, worker: str) -> None:
        self.path = Path(run_dir) / "parts" / f"{worker}.jsonl"
        self.inflight_path = Path(run_dir) / "parts" / f"{worker}.inflight.json"
        self.worker = worker
        self._f = open(self.path, "a", encoding="utf-8")
        self._inflight = None
        self.count = 0

    def write(self, record: dict[str, Any]) -> None:
        try:
            line = json.dumps(record, allow_nan=False, separators=(",", ":"))
        except ValueError:  # a non-finite float slipped into a figure: keep it, as a string
            line = json.dumps(_finite(record), allow_nan=False, separators=(",", ":"))
        self._f.write(line + "\n")
        self._f.flush()
        self.count += 1
        self.clear_inflight()

    def mark_inflight(self, info: dict[str, Any]) -> None:
        """Say what example this worker is running, for the controller if the worker dies.

        One small file per worker, rewritten in place (no rename, no reopen: cheap per example);
        an empty file means nothing is in flight.
        """
        if self._inflight is None:
            self._inflight = open(self.inflight_path, "w+", encoding="utf-8")
        f = self._inflight
        f.seek(0)
        f.write(json.dumps(info, allow_nan=False))
        f.truncate()
        f.flush()

    def clear_inflight(self) -> None:
        if self._inflight is not None:
            self._inflight.seek(0)
            self._inflight.truncate()
            self._inflight.flush()

    def close(self, keep_inflight: bool = False) -> None:
        self._f.close()
        if self._inflight is not None:
            self._inflight.close()
            self._inflight = None
            if not keep_inflight:
                self.inflight_path.unlink(missing_ok=True)


@dataclass
class ReadResult:
    records: list[dict[str, Any]] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)  # "file:line" of lines that could not be read


def check_schema(obj: dict[str, Any], what: str) -> None:
    version = str(obj.get("schema", ""))
    try:
        major = int(version.split(".")[0])
    except ValueError:
        raise SchemaError(f"{what}: no readable schema version ({version!r})") from None
    if major != SCHEMA_MAJOR:
        raise SchemaError(
            f"{what}: schema version {version} is not supported by this reader "
            f"(major version {SCHEMA_MAJOR}); upgrade vjp-conformance to read it"
        )


def open_text(path: Path) -> IO[str]:
    """A records file for reading; ``.gz`` ones (archived runs) are decompressed on the fly."""
    if str(path).endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def read_jsonl(paths: Iterable[Path], result: ReadResult | None = None) -> ReadResult:
    """Read records, skipping (and counting) damaged lines; unknown extra fields are kept."""
    result = result or ReadResult()
    for path in paths:
        with open_text(path) as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                    if not isinstance(rec, dict):
                        raise ValueError("not an object")
                except ValueError:
                    result.damaged.append(f"{path}:{n}")
                    continue
                check_schema(rec, f"{path}:{n}")
                result.records.append(rec)
    return result


# A finished run keeps its records in two files: results.jsonl, the cases of the catalogue (drawn,
# special, convention), and witnesses.jsonl, the exact cases that pin the expectations' entries
# (case family ``witness``): what a run found about the ops stays apart from what it checked of
# the known failures. Readers read both.
RESULTS, WITNESSES = "results.jsonl", "witnesses.jsonl"


def is_witness(rec: dict[str, Any]) -> bool:
    return bool(rec.get("witness"))


def record_files(run_dir: Path) -> list[Path]:
    """The merged files when the run finished (gzipped, for an archived run), else the workers'
    part files."""
    found = []
    for base in (RESULTS, WITNESSES):
        for name in (base, base + ".gz"):
            merged = Path(run_dir) / name
            if merged.exists():
                found.append(merged)
                break
    if found:
        return found
    return sorted((Path(run_dir) / "parts").glob("*.jsonl"))


def read_run(run_dir: Path, *, warn: bool = True) -> ReadResult:
    result = read_jsonl(record_files(run_dir))
    if warn and result.damaged:
        print(
            f"warning: {len(result.damaged)} damaged record line(s) skipped in {run_dir}: "
            + ", ".join(result.damaged[:5]),
            file=sys.stderr,
        )
    return result


def merge_parts(run_dir: Path) -> int:
    """Concatenate the part files into results.jsonl and witnesses.jsonl (atomically); return the
    record count."""
    run_dir = Path(run_dir)
    parts = sorted((run_dir / "parts").glob("*.jsonl"))
    tmp = {RESULTS: run_dir / "results.jsonl.tmp", WITNESSES: run_dir / "witnesses.jsonl.tmp"}
    n = 0
    with open(tmp[RESULTS], "w", encoding="utf-8") as results, open(tmp[WITNESSES], "w", encoding="utf-8") as pins:
        for p in parts:
            with open(p, encoding="utf-8") as f:
                for line in f:
                    if not line.endswith("\n"):
                        line += "\n"  # a cut-off last line stays damaged but never joins the next
                    (pins if _witness_line(line) else results).write(line)
                    n += 1
    for name, path in tmp.items():
        os.replace(path, run_dir / name)
    return n


def _witness_line(line: str) -> bool:
    if '"witness"' not in line:
        return False
    try:
        rec = json.loads(line)
    except ValueError:
        return False  # a damaged line stays with the results, where readers count it
    return isinstance(rec, dict) and is_witness(rec)


def write_records(out: Path, records: Iterable[dict[str, Any]]) -> None:
    """A merged directory's records, split as a run's are (results.jsonl and witnesses.jsonl)."""
    with open(Path(out) / RESULTS, "w", encoding="utf-8") as results, \
            open(Path(out) / WITNESSES, "w", encoding="utf-8") as pins:
        for rec in records:
            (pins if is_witness(rec) else results).write(json.dumps(rec, allow_nan=False, separators=(",", ":"))
                                                         + "\n")
