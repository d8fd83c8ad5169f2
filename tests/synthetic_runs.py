"""Synthetic records and runs for the project's tests of records, reports, schemas, merge, diff
and repro: one home, imported by those tests (never one test module from another).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from jsonschema import Draft202012Validator

from conformance.records import SCHEMA_VERSION, encode_array
from conformance.summary import summarize
from tests.runner import ROOT, cli

XSS = '</pre><script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'
FRAMEWORKS_BLOCKED = ("torch", "tensorflow", "jax", "jaxlib")


NO_FIGURES = ("budget", "worst", "per_input", "assert_close", "nonfinite")


def record(n: int, run_id: str = "20260101-000000-aaaaaa", drop: tuple[str, ...] = (), **kw: Any) -> dict[str, Any]:
    """A schema-valid record; ``kw`` overrides any field, ``drop`` removes fields."""
    rec: dict[str, Any] = {
        "schema": SCHEMA_VERSION, "run_id": run_id, "record_id": f"{run_id}/main/{n}", "worker": "main",
        "op": "sigmoid", "family": "activation", "framework": "torch", "framework_version": "2.13.0",
        "device": "cpu", "dtype": "float32", "precision": "default", "case_family": "accuracy", "kink": None,
        "shapes": {"x": [3]}, "cotangent_shape": [3], "params": {}, "seed": n, "scale": 1.0,
        "distribution": "normal", "status": "pass", "message": None, "max_abs_err": 1e-9, "max_rel_err": 1e-8,
        "max_ulp": 1.0, "bound_ratio": 0.5, "budget": 9.0, "phase": "generate", "example": n,
        "worst": {"input": "x", "index": [1], "got": 0.25, "want": 0.25000001, "abs_err": 1e-9, "magnitude": 0.3,
                  "ulp": 1.0},
        "per_input": {"x": {"max_abs_err": 1e-9, "max_rel_err": 1e-8, "max_ulp": 1.0, "bound_ratio": 0.5,
                            "budget": 9.0, "terms": 1}},
        "assert_close": {"passed": True, "rtol": 1.3e-6, "atol": 1e-5}, "nonfinite": None,
    }
    rec.update(kw)
    for k in drop:
        rec.pop(k)
    return rec


def sigmoid_repro(seed: int = 0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    return {"inputs": {"x": encode_array(rng.standard_normal(3).astype(np.float32))},
            "cotangent": encode_array(rng.standard_normal(3).astype(np.float32))}


def synthetic_records(run_id: str = "20260101-000000-aaaaaa", version: str = "2.13.0") -> list[dict[str, Any]]:
    """One of everything the report shows: pass, fail (with inputs), error with a hostile message,
    unsupported, known, convention, a shrink step, an op unknown to the registry."""
    fails = dict(status="fail", bound_ratio=40.0, max_abs_err=3e-6, repro=sigmoid_repro(1),
                 message=None, framework_version=version)
    recs = [record(i, run_id, framework_version=version, bound_ratio=0.01 * (i + 1)) for i in range(4)]
    recs += [
        record(4, run_id, dtype="float64", framework="jax", framework_version="0.10.2", bound_ratio=4.5),
        record(5, run_id, **fails),
        record(6, run_id, **fails, phase="shrink"),
        record(7, run_id, op="softmax", family="softmax", status="error", bound_ratio=None, max_abs_err=None,
               max_rel_err=None, max_ulp=None, drop=NO_FIGURES, error_type="RuntimeError",
               message="RuntimeError: " + XSS, traceback="Traceback ...\n" + XSS, params={"axis": 0}),
        record(8, run_id, op="softmax", family="softmax", dtype="float64", status="unsupported",
               message="no float64 kernel", bound_ratio=None, max_abs_err=None, max_rel_err=None, max_ulp=None,
               drop=NO_FIGURES + ("shapes", "params", "cotangent_shape", "seed", "scale", "distribution")),
        record(9, run_id, op="matmul", family="linalg", framework="jax", framework_version="0.10.2",
               status="known", expected_status="fail", bound_ratio=12.0,
               expectation={"id": "jax-matmul", "reason": "XLA <reorders> sums", "link": "https://example.org/i/1"}),
        record(10, run_id, op="relu", family="elementwise", framework="torch", status="convention",
               case_family="convention", kink="x=0", kink_description="any value in [0, 1] times dz",
               choice={"x": [0.0]}, oracle_choice={"x": [0.0]}),
        record(11, run_id, op="relu", family="elementwise", framework="jax", framework_version="0.10.2",
               status="convention", case_family="convention", kink="x=0", choice={"x": [0.5]},
               oracle_choice={"x": [0.0]}),
        record(12, run_id, op="mystery_op", family="<b>bold</b>", framework="torch", bound_ratio=0.2,
               message=None),
    ]
    return recs


def make_run(base: Path, records: list[dict[str, Any]] | None = None, *, run_id: str = "20260101-000000-aaaaaa",
             targets: list[dict[str, str]] | None = None, expectations: list[dict[str, Any]] | None = None,
             summary: bool = True, version: str = "2.13.0") -> Path:
    """A finished run directory: run.json, results.jsonl, summary.json (no index.html)."""
    records = synthetic_records(run_id, version) if records is None else records
    run_dir = base / run_id
    (run_dir / "parts").mkdir(parents=True)
    keys = ("op", "framework", "device", "dtype", "precision")
    seen = list(dict.fromkeys(tuple(r[k] for k in keys) for r in records))
    targets = [dict(zip(keys, t)) for t in seen] if targets is None else targets
    manifest = {"schema": SCHEMA_VERSION, "run_id": run_id, "started": "2026-01-01T00:00:00Z",
                "finished": "2026-01-01T00:01:00Z",
                "selection": {"frameworks": ["torch", "jax"], "ops": sorted({t["op"] for t in targets}),
                              "dtypes": ["float32", "float64"], "precisions": ["default"], "profile": "dev",
                              "max_examples": None, "seed": 1},
                "targets": targets, "unavailable": {"tensorflow": "not installed (tensorflow)"},
                "expectations": expectations or [],
                "environment": {"host": "testhost", "python": "3.11", "platform": "linux", "numpy": "2",
                                "cpu_count": 2, "vjp_conformance": "0.1.0",
                                "frameworks": {"torch": {"available": True, "version": version, "devices": ["cpu"],
                                                         "source": "builtin"},
                                               "jax": {"available": True, "version": "0.10.2", "devices": ["cpu"],
                                                       "source": "builtin"}}}}
    (run_dir / "run.json").write_text(json.dumps(manifest))
    (run_dir / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    if summary:
        (run_dir / "summary.json").write_text(json.dumps(summarize(records, manifest)))
    return run_dir


_REAL: dict[str, Path] = {}


def real_run(tmp_factory: pytest.TempPathFactory) -> Path:
    """A real narrow run (torch, two ops, three examples each), made once per test session."""
    pytest.importorskip("torch")
    if "run" not in _REAL:
        out = tmp_factory.mktemp("real")
        res = cli("run", "--frameworks", "torch", "--ops", "sigmoid,relu", "--dtypes", "float32",
                  "--max-examples", "3", "--seed", "3", "--out", str(out))
        assert res.run_dir is not None and (res.run_dir / "summary.json").exists(), res.out[-2000:] + res.err[-2000:]
        _REAL["run"] = res.run_dir
    return _REAL["run"]


def no_framework(code: str) -> subprocess.CompletedProcess[str]:
    """Run Python ``code`` with torch, TensorFlow and JAX made unimportable."""
    block = f"import sys\nfor m in {FRAMEWORKS_BLOCKED!r}: sys.modules[m] = None\n"
    return subprocess.run([sys.executable, "-c", block + code], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)


def validator(name: str) -> Draft202012Validator:
    schema = json.loads(files("conformance").joinpath("schemas", f"{name}.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


RECORD, SUMMARY = validator("record"), validator("summary")


def errors(v: Draft202012Validator, obj: dict[str, Any]) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in v.iter_errors(obj)]


def release_run(base: Path, version: str, cells: dict[str, tuple[str, float | None]], *, framework: str = "torch",
                run_id: str | None = None, seed: int = 0, witness: bool = False) -> Path:
    """A run of ``framework`` at ``version`` with one sigmoid-shaped float32 record per op of
    ``cells`` (op -> (status, bound_ratio)): a column of the scoreboard's tests. Every run draws the
    same case (``sigmoid_repro(seed)``), as the scoreboard's fixed-seed runs do; ``witness``: every
    record is an expectation's witness case."""
    run_id = run_id or f"20260101-000000-{version.replace('.', '')[-6:]:0>6}"
    recs = []
    for n, (op, (status, ratio)) in enumerate(cells.items()):
        figures: dict[str, Any] = {"bound_ratio": ratio} if ratio is not None else {
            "bound_ratio": None, "max_abs_err": None, "max_rel_err": None, "max_ulp": None}
        message = {"unsupported": f"no {op} kernel in {version}", "error": f"RuntimeError: {op} broke"}.get(status)
        recs.append(record(n, run_id, op=op, framework=framework, framework_version=version, status=status,
                           message=message, repro=sigmoid_repro(seed), **figures,
                           **({"witness": f"entry-{op}#1", "case_family": "witness"} if witness else {})))
    run_dir = make_run(base / version, recs, run_id=run_id, version=version)
    manifest = json.loads((run_dir / "run.json").read_text())
    manifest["seed"] = seed
    manifest["selection"].update(frameworks=[framework], seed=seed, ops=sorted(cells))
    manifest["environment"]["frameworks"] = {framework: {"available": True, "version": version,
                                                         "devices": ["cpu"], "source": "builtin"}}
    (run_dir / "run.json").write_text(json.dumps(manifest))
    (run_dir / "summary.json").write_text(json.dumps(summarize(recs, manifest)))
    return run_dir
