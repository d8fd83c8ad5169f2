"""The command line as a user meets it: listing, the default-style run, xdist equivalence."""

from __future__ import annotations

import json

import pytest

from conformance.registry import all_ops
from tests.runner import TINY, cli


def test_ops_json_lists_every_op_with_inputs_params_and_framework_calls():
    res = cli("ops", "--json")
    assert res.code == 0, res.err[-2000:]
    rows = json.loads(res.out)
    assert [r["name"] for r in rows] == list(all_ops())
    conv = next(r for r in rows if r["name"] == "conv2d")
    assert conv["params"] == ["stride", "dilation", "padding"]
    assert [i["name"] for i in conv["inputs"]] == ["x", "w"]
    assert set(conv["frameworks"]) >= {"torch", "tensorflow", "jax"}
    for desc in conv["frameworks"].values():
        assert "call" in desc or "unavailable" in desc or "unsupported" in desc


def test_frameworks_json_names_versions_devices_or_reasons():
    res = cli("frameworks", "--json", "--adapter", TINY)
    assert res.code == 0
    rows = {r["name"]: r for r in json.loads(res.out)}
    assert rows["tinygrad"]["available"] and rows["tinygrad"]["devices"] == ["cpu"]
    for name in ("torch", "tensorflow", "jax"):
        row = rows[name]
        assert row["available"] == ("version" in row)
        assert row["available"] or row["reason"]


def _key(r):
    """What must agree between a serial and a parallel run (not worker, timing or record id)."""
    return json.dumps([r["op"], r["framework"], r["dtype"], r["precision"], r.get("case_family"), r.get("special"),
                       r.get("example"), r["status"], r.get("seed"), r.get("params"), r.get("shapes"),
                       r.get("max_abs_err")], sort_keys=True)


def test_parallel_run_writes_the_same_records_as_a_serial_run(tmp_path):
    pytest.importorskip("xdist")
    args = ["run", "--adapter", TINY, "--frameworks", "tinygrad", "--ops", "sigmoid,softmax,matmul",
            "--dtypes", "float32,float64", "--seed", "11", "--max-examples", "10"]
    serial = cli(*args, "-n", "0", "--out", str(tmp_path / "serial"))  # in this process
    parallel = cli(*args, "-n", "2", "--out", str(tmp_path / "parallel"))
    assert serial.code == parallel.code == 0
    a, b = sorted(map(_key, serial.records())), sorted(map(_key, parallel.records()))
    assert len(a) == 60 + 2 * 5 and a == b  # 10 accuracy examples x 3 ops x 2 dtypes + sigmoid's 5 specials
    workers = {r["worker"] for r in parallel.records()}
    assert workers <= {"gw0", "gw1"} and len(workers) == 2
    assert len(list((parallel.run_dir / "parts").glob("*.jsonl"))) == 2  # one file per worker
    assert {r["worker"] for r in serial.records()} == {"main"}


def test_run_writes_run_json_results_and_summary(tmp_path):
    res = cli("run", "--adapter", TINY, "--frameworks", "tinygrad", "--ops", "sigmoid,matmul",
              "--dtypes", "float32", "--max-examples", "4", "--seed", "12", "--families", "accuracy",
              "--out", str(tmp_path))
    assert res.code == 0
    manifest = json.loads((res.run_dir / "run.json").read_text())
    assert manifest["seed"] == 12 and manifest["hypothesis_profile"] == "dev"
    assert manifest["started"] and manifest["finished"]
    assert manifest["environment"]["frameworks"]["tinygrad"]["version"] == "0.1-example"
    recs = res.records()
    assert len(recs) == 8
    for r in recs:
        for field in ("schema", "run_id", "record_id", "op", "framework", "framework_version", "device",
                      "dtype", "status", "shapes", "params", "max_abs_err", "max_rel_err", "bound_ratio", "seed"):
            assert field in r, field
    summary = res.summary()
    k = manifest["values_per_case"]  # the dev profile's value sets per structure example
    assert k > 1 and all(r["values_per_case"] == k and r["value_statuses"] == {"pass": k} for r in recs)
    assert summary["examples"] == 8 and summary["value_sets"] == 8 * k and summary["totals"] == {"pass": 8}
    assert "tinygrad" in res.out and f"8 examples ({8 * k} value sets) in 2 cells" in res.out
