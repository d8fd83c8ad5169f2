"""Faults the suite must survive with nothing lost: each made to happen for real."""

from __future__ import annotations

import json
import math

import pytest

from conformance.execute import INLINE_PASS_ELEMENTS
from conformance.records import read_run
from conformance.summary import write_summary
from tests.runner import TINY, cli, fault

SEED_OPS = "sigmoid,softmax,matmul"


def _started(res) -> int:
    """Examples started = records written; every record has a status."""
    recs = res.records()
    assert all("status" in r for r in recs)
    return len(recs)


def test_example_adapter_passes_what_it_implements(tmp_path):
    res = cli("run", "--adapter", TINY, "--frameworks", "tinygrad", "--ops", "sigmoid,softmax,matmul,conv2d",
              "--dtypes", "float32,float64", "--seed", "3", "--out", str(tmp_path))
    assert res.code == 0, res.out[-3000:]
    statuses = {(r["op"], r["status"]) for r in res.records()}
    assert {s for (op, s) in statuses if op != "conv2d"} == {"pass"}
    assert {s for (op, s) in statuses if op == "conv2d"} == {"unsupported"}


def test_one_wrong_vjp_fails_exactly_that_op(tmp_path):
    res = cli("run", "--adapter", fault("BrokenSoftmax"), "--frameworks", "tinygrad-broken", "--ops", SEED_OPS,
              "--dtypes", "float32,float64", "--seed", "4", "--out", str(tmp_path))
    assert res.code == 1
    failing = {c["op"] for c in res.summary()["cells"] if c["status"] == "fail"}
    assert failing == {"softmax"}
    out = res.out
    # the failure explains itself: op, framework, device, dtype, shapes, params, worst element, repro
    for needle in ("softmax on tinygrad-broken", "device=cpu", "dtype=float", "shapes {'x':", "params {'axis':",
                   "worst element dx[", "vjp-conformance repro"):
        assert needle in out, needle


def test_small_relative_error_is_caught(tmp_path):
    res = cli("run", "--adapter", fault("ScaledGradients"), "--frameworks", "tinygrad-scaled", "--ops", SEED_OPS,
              "--dtypes", "float32", "--seed", "5", "--out", str(tmp_path))
    assert res.code == 1
    assert {c["status"] for c in res.summary()["cells"]} == {"fail"}


def test_raising_adapter_is_error_and_run_goes_on(tmp_path):
    res = cli("run", "--adapter", fault("RaisesSometimes"), "--frameworks", "tinygrad-raises", "--ops", SEED_OPS,
              "--dtypes", "float32,float64", "--max-examples", "20", "--seed", "6", "--out", str(tmp_path))
    assert res.code == 1
    recs = res.records()
    errors = [r for r in recs if r["status"] == "error"]
    assert errors and all(r["op"] == "matmul" for r in errors)
    assert all("FloatingPointError: injected failure" in r["message"] for r in errors)
    assert {r["op"] for r in recs if r["status"] == "pass"} >= {"sigmoid", "softmax"}
    assert res.summary()["records"] == _started(res)


def test_hanging_adapter_times_out_and_run_goes_on(tmp_path):
    res = cli("run", "--adapter", fault("HangsOnMatmul"), "--frameworks", "tinygrad-hangs", "--ops", SEED_OPS,
              "--dtypes", "float32", "--timeout", "0.5", "--max-examples", "5", "--seed", "7",
              "--out", str(tmp_path), timeout=300)
    assert res.code == 1
    by_op = {}
    for r in res.records():
        by_op.setdefault(r["op"], set()).add(r["status"])
    assert "timeout" in by_op["matmul"]
    assert by_op["sigmoid"] == {"pass"} and by_op["softmax"] == {"pass"}
    # a hung framework would hang on every value set, each for the whole limit: a structure's
    # remaining value sets are not run after a timeout, and its record counts the one that ran
    timeouts = [r for r in res.records() if r["status"] == "timeout"]
    assert all(r["value_statuses"] == {"timeout": 1} and r["value_set"] == 0 and r["values_per_case"] > 1
               for r in timeouts)
    page = (res.run_dir / "index.html").read_text()  # the report renders a run with timeouts
    assert "timeout" in page and "matmul" in page


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_dying_worker_is_crashed_and_nothing_is_lost(tmp_path, jobs):
    """A framework that kills its process (an XLA CHECK failure aborts) costs one example: with
    one worker too, the tests run in a worker process that xdist replaces."""
    pytest.importorskip("xdist")
    res = cli("run", "--adapter", fault("DiesOnMatmul"), "--frameworks", "tinygrad-dies", "--ops", SEED_OPS,
              "--dtypes", "float32,float64", "--max-examples", "6", "--seed", "8", "-n", jobs,
              "--families", "accuracy",
              "--out", str(tmp_path), timeout=300)
    assert res.code == 1
    recs = res.records()
    crashed = [r for r in recs if r["status"] == "crashed"]
    assert {(r["op"], r["dtype"]) for r in crashed} == {("matmul", "float32"), ("matmul", "float64")}
    # a crash cannot shrink: the record keeps the exact values of a small case for its repro
    for r in crashed:
        elements = sum(math.prod(s) for s in r["shapes"].values()) + math.prod(r["cotangent_shape"])
        assert ("repro" in r) is (elements <= INLINE_PASS_ELEMENTS), (r["shapes"], elements)
        if "repro" in r:
            assert {k: v["shape"] for k, v in r["repro"]["inputs"].items()} == r["shapes"]
            assert r["repro"]["cotangent"]["shape"] == r["cotangent_shape"]
    assert any("repro" in r for r in crashed)  # seed 8's first matmul cases are small
    passed = [r for r in recs if r["status"] == "pass"]
    # every example of the healthy targets survived the crashes: 4 targets x 6 examples
    assert len(passed) == 4 * 6
    summary = res.summary()
    assert summary["records"] == len(recs) == _started(res)
    assert summary["totals"] == {"pass": 24, "crashed": 2}


def test_sticky_device_error_ends_the_worker_not_the_run(tmp_path):
    """One faulting GPU kernel is one error record; the targets after it run in a fresh worker
    instead of failing with the lost context's follow-on errors."""
    pytest.importorskip("xdist")
    res = cli("run", "--adapter", fault("LosesDeviceOnMatmul"), "--frameworks", "tinygrad-gpu-fault",
              "--ops", SEED_OPS, "--devices", "cpu,cuda:0", "--dtypes", "float32", "--max-examples", "4",
              "--seed", "5", "-n", "2", "--families", "accuracy", "--out", str(tmp_path), timeout=300)
    assert res.code == 1
    recs = res.records()
    errors = [r for r in recs if r["status"] == "error"]
    assert [(r["op"], r["device"]) for r in errors] == [("matmul", "cuda:0")]
    assert errors[0]["device_lost"] is True and "fresh worker" in errors[0]["message"]
    assert not [r for r in recs if r["status"] == "crashed"]  # the exit was on purpose: no second record
    # every other target ran in full: sigmoid and softmax on both devices, matmul on the CPU
    cells = {(r["op"], r["device"]) for r in recs if r["status"] == "pass"}
    assert cells == {(op, dev) for op in ("sigmoid", "softmax", "matmul") for dev in ("cpu", "cuda:0")} - {
        ("matmul", "cuda:0")}
    assert len([r for r in recs if r["status"] == "pass"]) == 5 * 4


def test_bad_output_is_explained(tmp_path):
    res = cli("run", "--adapter", fault("BadOutputs"), "--frameworks", "tinygrad-badout", "--ops", SEED_OPS,
              "--dtypes", "float32", "--seed", "9", "--out", str(tmp_path))
    assert res.code == 1
    msgs = {r["op"]: r["message"] for r in res.records() if r["status"] == "bad-output"}
    assert msgs["sigmoid"] == "gradient 'x': expected dtype float32, got float64"
    assert msgs["matmul"] == "expected gradient keys ['x', 'y'], missing ['y'], unexpected []"
    assert msgs["softmax"] == "gradient 'x': expected numpy.ndarray, got list"


def test_framework_failing_on_import_is_unavailable_not_fatal(tmp_path):
    res = cli("frameworks", "--json", "--adapter", "tests.broken_import_adapter:Adapter")
    assert res.code == 0
    rows = {r["name"]: r for r in json.loads(res.out)}
    broken = rows["tests.broken_import_adapter:Adapter"]
    assert not broken["available"] and "libfancygrad.so" in broken["reason"]


def test_truncated_results_line_is_skipped_and_counted(tmp_path, capsys):
    res = cli("run", "--adapter", TINY, "--frameworks", "tinygrad", "--ops", "sigmoid", "--dtypes", "float32",
              "--max-examples", "5", "--seed", "10", "--out", str(tmp_path))
    assert res.code == 0
    results = res.run_dir / "results.jsonl"
    lines = results.read_text().splitlines(keepends=True)
    results.write_text("".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2])  # power cut mid-line
    read = read_run(res.run_dir)
    assert len(read.records) == len(lines) - 1 and len(read.damaged) == 1
    assert "damaged record line" in capsys.readouterr().err
    assert write_summary(res.run_dir)["damaged_lines"] == 1


def test_two_runs_at_once_get_their_own_directories(tmp_path):
    import subprocess
    import sys

    from tests.runner import ROOT

    cmd = [sys.executable, "-m", "conformance", "run", "--adapter", TINY, "--frameworks", "tinygrad", "--ops",
           "sigmoid", "--dtypes", "float32", "--max-examples", "3", "--families", "accuracy", "--out", str(tmp_path)]
    procs = [subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    runs = [d for d in tmp_path.iterdir() if d.is_dir()]
    assert len(runs) == 2
    for d in runs:
        assert len((d / "results.jsonl").read_text().splitlines()) == 3


@pytest.mark.parametrize("bad, needle", [
    (["--ops", "nosuchop"], "unknown op 'nosuchop'; valid choices:"),
    (["--frameworks", "nosuchfw"], "unknown framework 'nosuchfw'; valid choices:"),
    (["--dtypes", "float8"], "unknown dtype 'float8'; valid choices: float16, bfloat16, float32, float64"),
    (["--profile", "nosuch"], "unknown profile 'nosuch'; valid choices: dev, ci, nightly"),
    (["--devices", "tpu"], "unknown device 'tpu'"),
    (["--devices", "cuda:7"], "not visible to any selected framework"),
    (["--precision", "fast"], "unknown precision mode 'fast'; valid choices: default, strict"),
    (["--cpu-precision", "fast"], "unknown CPU precision mode 'fast'; valid choices: default, strict"),
    (["--max-examples", "0"], "--max-examples must be at least 1"),
    (["--jobs", "many"], "--jobs must be a number (0 or more) or 'auto'"),
    (["--jobs", "-1"], "--jobs must be a number (0 or more) or 'auto'"),
    (["--adapter", "no.such.module:Thing"], "--adapter no.such.module:Thing: not installed"),
])
def test_bad_usage_exits_2_names_choices_and_writes_nothing(tmp_path, bad, needle):
    out = tmp_path / "out"
    res = cli("run", "--adapter", TINY, "--frameworks", "tinygrad", *bad, "--out", str(out))
    if bad[0] == "--frameworks":
        res = cli("run", *bad, "--out", str(out))
    assert res.code == 2, (res.out[-2000:], res.err[-2000:])
    assert needle in res.err
    assert not out.exists() or not any(out.iterdir())
