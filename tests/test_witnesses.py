"""Known failures are pinned by witness cases: every run executes them, and an entry's state
(known / fixed / changed / stale) comes from them, not from what random draws reached."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.expectations import Expectations, entry_states
from conformance.registry import all_ops, get_op
from conformance.witness import witness_case
from tests.runner import ROOT, cli

BROKEN = "tests.fault_adapters:BrokenSoftmax"


def _entries(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "expect.toml"
    path.write_text(text)
    return path


SOFTMAX_WITNESS = """
[[expect]]
id = "broken-softmax"
framework = "tinygrad-broken"
op = "softmax"
reason = "the VJP leaves out the -s.dz term"

[[expect.witness]]
dtype = "float64"
params = { axis = -1 }
inputs = { x = [[1.0, 2.0, 3.0]] }
cotangent = [[1.0, 0.0, 0.0]]
note = "softmax([1,2,3]) with dz on the first output"

[[expect]]
id = "sigmoid-claimed"
framework = "tinygrad-broken"
op = "sigmoid"
reason = "a claim that is not true: the witness passes"

[[expect.witness]]
dtype = "float64"
inputs = { x = [0.5, -2.0] }

[[expect]]
id = "matmul-not-selected"
framework = "tinygrad-broken"
op = "matmul"
reason = "its cells are not in the run"

[[expect.witness]]
dtype = "float64"
inputs = { x = [[1.0]], y = [[2.0]] }
"""


def test_witness_cases_decide_entry_states_in_a_real_run(tmp_path: Path) -> None:
    path = _entries(tmp_path, SOFTMAX_WITNESS)
    # accuracy off: only the witnesses can say anything about the entries
    res = cli("run", "--adapter", BROKEN, "--frameworks", "tinygrad-broken", "--ops", "softmax,sigmoid",
              "--dtypes", "float64", "--families", "witness", "--expectations", str(path), "-n", "0",
              "--out", str(tmp_path / "out"))
    assert res.code == 0, res.out[-3000:] + res.err[-3000:]
    recs = res.records()
    assert {r["witness"] for r in recs} == {"broken-softmax#0", "sigmoid-claimed#0"}
    # the witnesses' records are kept apart from the catalogue's cases
    assert (res.run_dir / "results.jsonl").read_text() == ""
    assert len((res.run_dir / "witnesses.jsonl").read_text().splitlines()) == 2
    softmax = next(r for r in recs if r["op"] == "softmax")
    assert softmax["status"] == "known" and softmax["expected_status"] == "fail"
    assert softmax["case_family"] == "witness" and softmax["shapes"] == {"x": [1, 3]}
    states = {e["id"]: e["state"] for e in res.summary()["expectations"]}
    assert states == {"broken-softmax": "known", "sigmoid-claimed": "fixed", "matmul-not-selected": "stale"}
    manifest = json.loads((res.run_dir / "run.json").read_text())
    assert manifest["expectations"][0]["witnesses"][0]["inputs"] == {"x": [[1.0, 2.0, 3.0]]}


def test_a_witness_that_fails_otherwise_is_changed_and_the_run_fails(tmp_path: Path) -> None:
    path = _entries(tmp_path, SOFTMAX_WITNESS.replace('reason = "the VJP leaves out', 'statuses = ["error"]\n'
                                                      'reason = "the VJP leaves out'))
    res = cli("run", "--adapter", BROKEN, "--frameworks", "tinygrad-broken", "--ops", "softmax",
              "--dtypes", "float64", "--families", "witness", "--expectations", str(path), "-n", "0",
              "--out", str(tmp_path / "out"))
    assert res.code == 1
    states = {e["id"]: e["state"] for e in res.summary()["expectations"]}
    assert states["broken-softmax"] == "changed"


def test_entry_states_come_from_witnesses_not_draws() -> None:
    w = {"dtype": "float32", "inputs": {"x": [1.0]}}
    entries = Expectations.parse({"expect": [
        {"framework": "jax", "op": "sigmoid", "reason": "a", "id": "A", "witness": [w]},
        {"framework": "jax", "op": "exp", "reason": "b", "id": "B", "witness": [w]},
        {"framework": "jax", "op": "abs", "family": "special", "reason": "c", "id": "C"},
        {"framework": "jax", "op": "relu", "reason": "d", "id": "D"},
    ]}).to_json()
    drawn_known = {"framework": "jax", "op": "sigmoid", "status": "known", "expectation": {"id": "A"},
                   "case_family": "accuracy"}
    witness_pass = {"framework": "jax", "op": "exp", "status": "pass", "witness": "B#0", "case_family": "witness"}
    special_known = {"framework": "jax", "op": "abs", "status": "known", "expectation": {"id": "C"},
                     "case_family": "special"}
    states = {e["id"]: e for e in entry_states(entries, [drawn_known, witness_pass, special_known])}
    # A's draws reproduced it, but its witness did not run: the run says nothing firm about it
    assert states["A"]["state"] == "stale" and states["A"]["known"] == 1
    assert states["B"]["state"] == "fixed" and states["B"]["pinned"] == "witness"
    assert states["C"]["state"] == "known" and states["C"]["pinned"] == "fixed cases"
    assert states["D"]["state"] == "stale" and states["D"]["pinned"] == "none"


@pytest.mark.parametrize("witness, msg", [
    ({"inputs": {"x": [1.0]}}, "needs a dtype"),
    ({"dtype": "float32"}, "needs inputs"),
    ({"dtype": "float32", "inputs": {"y": [1.0]}}, "takes inputs"),
    ({"dtype": "float32", "inputs": {"x": [1.0]}, "shape": [1]}, "unknown keys"),
    ({"dtype": "float32", "op": "exp", "inputs": {"x": [1.0]}}, "not one of the entry's"),
])
def test_bad_witnesses_are_rejected_with_the_reason(witness: dict, msg: str) -> None:
    row = {"framework": "jax", "op": ["sigmoid", "tanh"] if "op" in witness else "sigmoid",
           "dtype": ["float32", "float64"], "reason": "r", "witness": [witness]}
    with pytest.raises(ValueError, match=msg):
        Expectations.parse({"expect": [row]})


def test_witness_case_rounds_inputs_and_checks_the_cotangent_shape() -> None:
    exp = Expectations.parse({"expect": [{"framework": "jax", "op": "sigmoid", "reason": "r", "id": "E",
                                          "witness": [{"dtype": "bfloat16", "inputs": {"x": [1.0009765625, 2.0]},
                                                       "cotangent": [1.0, 2.0, 3.0]}]}]})
    w = exp.entries[0].witnesses[0]
    with pytest.raises(ValueError, match="cotangent shape"):
        witness_case(get_op("sigmoid"), w)


def test_every_shipped_entry_is_pinned_and_every_witness_builds() -> None:
    """Each known failure carries a witness, or is confined to the fixed special/convention
    families; every witness builds a case the oracle can evaluate."""
    exp = Expectations.load()
    ops = all_ops()
    unpinned = [e.id for e in exp.entries if not e.witnesses and not e.pinned_by_fixed_families]
    assert unpinned == [], f"entries without a witness: {unpinned}"
    for e in exp.entries:
        for w in e.witnesses:
            case = witness_case(ops[w.op], w)
            ref = ops[w.op].reference_vjp(**case.oracle_inputs(), dz=case.cotangent.astype("float64"), **case.params)
            assert set(ref) == set(ops[w.op].differentiable), w.name


def test_expectations_file_flag_rejects_a_bad_file_before_any_work(tmp_path: Path) -> None:
    bad = _entries(tmp_path, '[[expect]]\nframework = "jax"\nop = "sigmoid"\n')
    res = cli("run", "--ops", "sigmoid", "--expectations", str(bad), "--out", str(tmp_path / "out"), cwd=ROOT)
    assert res.code == 2 and "needs 'reason'" in res.err
    assert not (tmp_path / "out").exists()


def test_entries_needing_cpu_features_or_onednn_are_inactive_elsewhere() -> None:
    w = {"dtype": "bfloat16", "inputs": {"x": [[[[1.0]]]], "w": [[[[1.0]]]]},
         "params": {"stride": [1, 2], "dilation": [1, 2], "padding": [[0, 0], [0, 0]]}}
    exp = Expectations.parse({"expect": [
        {"framework": "torch", "op": "conv2d", "dtype": "bfloat16", "reason": "oneDNN bf16 kernel",
         "id": "bf16", "cpu_features": ["avx512_bf16"], "witness": [w]},
        {"framework": "tensorflow", "op": "conv2d", "dtype": "bfloat16", "reason": "oneDNN only",
         "id": "tf", "tf_onednn": True, "witness": [w]},
    ]})
    rec = {"framework": "torch", "op": "conv2d", "dtype": "bfloat16", "device": "cpu", "status": "fail",
           "framework_version": "2.13.0"}
    here = exp.for_host({"effective_features": ["avx2", "avx512_bf16"], "tf_onednn": True})
    assert here.apply(dict(rec))["status"] == "known"
    assert here.witnesses_for("torch", "conv2d", "bfloat16", "cpu", "2.13.0")
    capped = exp.for_host({"effective_features": ["avx2"], "tf_onednn": False, "onednn_max_cpu_isa": "AVX2"})
    assert capped.apply(dict(rec))["status"] == "fail"  # not expected where the kernel cannot run
    assert capped.witnesses_for("torch", "conv2d", "bfloat16", "cpu", "2.13.0") == []
    states = {e["id"]: e for e in entry_states(capped.to_json(), [])}
    assert states["bf16"]["state"] == "stale" and "lacks avx512_bf16" in states["bf16"]["why"]
    assert "ONEDNN_MAX_CPU_ISA=AVX2" in states["bf16"]["why"]
    assert "oneDNN is off here" in states["tf"]["why"]
    with pytest.raises(ValueError, match="tf_onednn must be true or false"):
        Expectations.parse({"expect": [{"framework": "tensorflow", "op": "conv2d", "reason": "r", "tf_onednn": 1}]})


DIES_WITNESS = """
[[expect]]
id = "dies-on-matmul"
framework = "tinygrad-dies"
op = "matmul"
statuses = ["crashed"]
reason = "the process dies in matmul"

[[expect.witness]]
dtype = "float64"
inputs = { x = [[1.0, 2.0]], y = [[3.0], [4.0]] }
"""


def test_a_crashing_witness_is_recorded_known_and_the_run_exits_0(tmp_path: Path) -> None:
    pytest.importorskip("xdist")
    path = _entries(tmp_path, DIES_WITNESS)
    res = cli("run", "--adapter", "tests.fault_adapters:DiesOnMatmul", "--frameworks", "tinygrad-dies",
              "--ops", "matmul,sigmoid", "--dtypes", "float64", "--families", "witness,special",
              "--expectations", str(path), "-n", "1", "--out", str(tmp_path / "out"))
    crash = [r for r in res.records() if r.get("witness") == "dies-on-matmul#0"]
    assert len(crash) == 1 and crash[0]["status"] == "known" and crash[0]["expected_status"] == "crashed"
    assert {e["id"]: e["state"] for e in res.summary()["expectations"]} == {"dies-on-matmul": "known"}
    assert res.code == 0, res.out[-2000:] + res.err[-2000:]  # an expected crash is not a failure


def test_a_suite_error_is_never_silent(tmp_path: Path) -> None:
    res = cli("run", "--adapter", "tests.fault_adapters:SupportsRaises", "--frameworks", "tinygrad-supports-raises",
              "--ops", "softmax,sigmoid", "--dtypes", "float64", "--max-examples", "3", "-n", "0",
              "--out", str(tmp_path / "out"))
    assert res.code == 1
    manifest = json.loads((res.run_dir / "run.json").read_text())
    errors = manifest["suite_errors"]
    assert errors and all("softmax" in e["nodeid"] for e in errors)
    assert "adapter bug: no table row for softmax" in errors[0]["message"]
    assert "suite error" in res.err
    assert not res.summary()["failed"]  # no verdict failed: only the suite-error list says why it is red
