"""Unsupported claims (conformance/unsupported.toml): matched by framework, op, dtype, device kind
and version; consulted by the built-in adapters' supports(); probed by --probe-unsupported."""

from __future__ import annotations

import json
import re
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

from conformance.adapters.mapping import MappedAdapter, OpImpl
from conformance.claims import (
    CLAIM_STATE_MEANINGS,
    CLAIM_STATES,
    ClaimedReason,
    Claims,
    ClaimsError,
    claim_states,
    shipped,
)
from conformance.options import RUN_OPTIONS
from conformance.registry import get_op
from tests.runner import cli

ROW = {"framework": "torch", "op": "neg", "dtype": "float32", "device": "cpu", "versions": "<=2.13.0",
       "reason": "RuntimeError: pretend", "observed": "a test"}


class Fake(MappedAdapter):
    """A built-in-like adapter with no framework behind it: only supports() is asked."""

    name = "torch"

    def __init__(self, version: str = "2.13.0+cpu", devices: tuple[str, ...] = ("cpu", "cuda:0")) -> None:
        self.ops = {"neg": OpImpl(lambda x: -x, "-x"), "det": OpImpl(lambda x: x, "det")}
        self._version, self._devices = version, list(devices)

    def version(self) -> str:
        return self._version

    def devices(self) -> list[str]:
        return list(self._devices)


def test_a_claim_covers_its_device_kind_and_version_range_only():
    claims = Claims.parse({"claim": [ROW, {**ROW, "op": "det", "device": "any", "versions": "", "id": "det-any"}]})
    adapter = Fake()
    adapter.claims = claims
    neg = get_op("neg")
    answer = adapter.supports(neg, "float32", "cpu")
    assert isinstance(answer, ClaimedReason) and answer == "RuntimeError: pretend"
    assert answer.claim.id == "torch/neg/float32/cpu"
    assert adapter.supports(neg, "float32", "cuda:0") is True  # another device: the case runs
    assert adapter.supports(neg, "float64", "cpu") is True  # another dtype
    newer = Fake("2.14.0")
    newer.claims = claims
    assert newer.supports(neg, "float32", "cpu") is True  # outside the range: the case runs
    det = get_op("det")
    assert adapter.supports(det, "float32", "cuda:0").claim.id == "det-any"  # "any" covers every device
    # a reason that is not a claim's carries none (the suite never probes it)
    assert not hasattr(adapter.supports(neg, "float32", "cuda:7"), "claim")


def test_the_shipped_torch_linalg_claims_are_cpu_only():
    """The committed GPU run recorded torch inv/det/solve/cholesky/svdvals on cuda:0 as unsupported with
    a CPU reason: a CUDA target is covered by no shipped claim, whatever the version."""
    for op in ("inv", "det", "solve", "cholesky", "svdvals"):
        for dtype in ("float16", "bfloat16"):
            assert shipped().find("torch", op, dtype, "cuda:0", "2.11.0") is None, (op, dtype)
            on_cpu = shipped().find("torch", op, dtype, "cpu", "2.13.0+cpu")
            assert on_cpu is not None and on_cpu.reason.split(":")[0] in ("NotImplementedError", "RuntimeError")


def test_the_adapter_uses_the_shipped_claims_unless_given_others():
    adapter = Fake()
    assert isinstance(adapter.supports(get_op("det"), "float16", "cpu"), ClaimedReason)  # shipped
    adapter.claims = Claims.parse({"claim": [ROW]})
    assert adapter.supports(get_op("det"), "float16", "cpu") is True
    described = adapter.describe(get_op("neg"))
    assert described["claims"] == [{"id": "torch/neg/float32/cpu", "dtype": ["float32"], "device": ["cpu"],
                                    "versions": "<=2.13.0", "reason": "RuntimeError: pretend",
                                    "covers_installed_version": True}]


def _rec(claim_id: str, status: str, probed: bool, **kw: Any) -> dict[str, Any]:
    return {"op": "neg", "framework": "torch", "device": "cpu", "dtype": "float32", "status": status,
            "phase": "generate", "claim": {"id": claim_id, "reason": "r", "probed": probed}, **kw}


def _for_case(claims: Claims, framework: str, op: str, dtype: str, device: str, version: str,
              params: dict[str, Any]) -> Any:
    """The scoped claim that covers a case, as the suite's checker finds it (or None)."""
    return next((c for c in claims.scoped(framework, op, dtype, device, version) if c.covers_params(params)), None)


SCOPED = {**ROW, "op": "gather", "versions": "", "id": "gather-from-end", "params": {"indices_from_end": True}}


def test_a_params_scoped_claim_covers_only_the_cases_with_its_values():
    claims = Claims.parse({"claim": [SCOPED]})
    adapter = Fake()
    adapter.ops = {**adapter.ops, "gather": OpImpl(lambda x, indices, axis, indices_from_end: x, "x[indices]")}
    adapter.claims = claims
    gather = get_op("gather")
    assert adapter.supports(gather, "float32", "cpu") is True  # the target runs: its other cases are not covered
    assert claims.find("torch", "gather", "float32", "cpu", "2.13.0") is None
    (claim,) = adapter.case_claims(gather, "float32", "cpu")
    assert claim.covers_params({"axis": 0, "indices_from_end": True})
    assert not claim.covers_params({"axis": 0, "indices_from_end": False})
    assert _for_case(claims, "torch", "gather", "float32", "cpu", "2.13.0", {"indices_from_end": True}) is claim
    assert _for_case(claims, "torch", "gather", "float64", "cpu", "2.13.0", {"indices_from_end": True}) is None
    assert adapter.case_claims(gather, "float32", "cuda:0") == []
    assert claim.to_json()["params"] == {"indices_from_end": [True]}
    assert adapter.describe(gather)["claims"][0]["params"] == {"indices_from_end": [True]}


@pytest.mark.parametrize(("params", "says"), [
    ({"from_end": True}, "gather has no param 'from_end'; valid: axis, indices_from_end"),
    ({}, "params must be a non-empty table"),
    ("indices_from_end", "params must be a non-empty table"),
])
def test_a_params_scoped_claim_names_params_of_its_op(params: Any, says: str):
    with pytest.raises(ClaimsError, match=re.escape(says)):
        Claims.parse({"claim": [{**SCOPED, "params": params}]})


def test_the_shipped_tf_gather_claim_covers_negative_indices_only():
    claims = shipped()
    assert claims.find("tensorflow", "gather", "float32", "cpu", "2.21.0") is None
    claim = _for_case(claims, "tensorflow", "gather", "float32", "cpu", "2.21.0",
                      {"axis": 0, "indices_from_end": True})
    assert claim is not None and claim.id == "tf-gather-negative-indices"
    assert _for_case(claims, "tensorflow", "gather", "float32", "cpu", "2.21.0",
                     {"axis": 0, "indices_from_end": False}) is None
    for framework in ("torch", "jax"):  # their gather and take_along_axis count negative indices from the end
        for op in ("gather", "take_along_axis"):
            assert _for_case(claims, framework, op, "float32", "cpu", "9", {"indices_from_end": True}) is None


def test_claim_states_from_the_records():
    claims = [{"id": i, "framework": "torch", "reason": "RuntimeError: r"} for i in "ABCDEF"]
    records = [
        _rec("A", "unsupported", True, message="RuntimeError: r\nmore"),
        _rec("A", "unsupported", True, message="RuntimeError: other"),
        _rec("B", "unsupported", True, message="x"), _rec("B", "pass", True), _rec("B", "known", True),
        _rec("F", "unsupported", True, message="x"), _rec("F", "pass", True), _rec("F", "fail", True, mode="xla"),
        _rec("C", "crashed", True),
        _rec("D", "unsupported", False, message="RuntimeError: r"),
        _rec("B", "pass", True, phase="shrink"),  # shrink steps are not counted
    ]
    states = {c["id"]: c for c in claim_states(claims, records)}
    assert {i: c["state"] for i, c in states.items()} == {
        "A": "holds", "B": "stale", "C": "changed", "D": "unprobed", "E": "unused", "F": "changed"}
    assert states["A"]["messages"] == ["RuntimeError: r", "RuntimeError: other"] and states["A"]["message_seen"]
    assert states["B"]["ran"] == 2 and states["B"]["raised"] == 1
    assert states["B"]["ran_targets"] == states["B"]["targets"] == ["neg/cpu/float32/eager"]
    assert states["D"]["probed"] == 0 and states["D"]["records"] == 1
    # ran without raising, to a wrong gradient: not a claim to drop but a finding (its records say)
    assert states["F"]["failed_targets"] == ["neg/cpu/float32/xla"] and "failed_targets" not in states["B"]


def test_schema_lists_the_claim_states():
    summary = json.loads(files("conformance").joinpath("schemas", "summary.schema.json").read_text())
    state = summary["properties"]["claims"]["items"]["properties"]["state"]
    assert state["enum"] == list(CLAIM_STATES)
    assert state["description"] == "; ".join(f"{k}: {v}" for k, v in CLAIM_STATE_MEANINGS.items())
    record = json.loads(files("conformance").joinpath("schemas", "record.schema.json").read_text())
    assert record["properties"]["claim"]["required"] == ["id", "reason", "probed"]


def test_probe_and_claims_are_run_options_declared_once():
    by_name = {o.name: o for o in RUN_OPTIONS}
    assert by_name["probe-unsupported"].kind == "flag"
    assert by_name["probe-unsupported"].forward(True) == ["--vjp-probe-unsupported"]
    assert by_name["claims"].forward("x.toml") == ["--vjp-claims", "x.toml"]


# -- end to end: the suite with a test-only claims file (needs torch) ----------------------------
def _claims_file(tmp_path: Path) -> Path:
    path = tmp_path / "claims.toml"
    path.write_text("""
[[claim]]
id = "fake-neg"
framework = "torch"
op = "neg"
dtype = "float32"
device = "cpu"
reason = "RuntimeError: a claim made up for the test (torch.neg runs in float32)"
observed = "nowhere: tests/test_claims.py"

[[claim]]
id = "true-det"
framework = "torch"
op = "det"
dtype = "float16"
device = "cpu"
reason = "NotImplementedError: \\"lu_cpu\\" not implemented for 'Half'"
observed = "torch 2.13.0+cpu"
""")
    return path


def _torch_run(tmp_path: Path, claims: Path, ops: str, dtypes: str, max_examples: int, *extra: str):
    """An in-process torch accuracy run on the CPU under the claims file ``claims``."""
    pytest.importorskip("torch")
    res = cli("run", "--frameworks", "torch", "--devices", "cpu", "--ops", ops, "--dtypes", dtypes,
              "--families", "accuracy", "--max-examples", str(max_examples), "--claims", str(claims), "-n", "0",
              "--no-report", "--out", str(tmp_path / "out"), *extra)
    assert res.run_dir is not None, res.err[-3000:]
    return res


def _run(tmp_path: Path, *extra: str):
    return _torch_run(tmp_path, _claims_file(tmp_path), "neg,det", "float32,float16", 3, *extra)


def test_probe_reports_a_false_claim_stale_and_a_true_one_holding(tmp_path: Path):
    res = _run(tmp_path, "--probe-unsupported")
    assert res.code == 0, res.out + res.err[-3000:]
    states = {c["id"]: c for c in res.summary()["claims"]}
    assert states["fake-neg"]["state"] == "stale" and states["fake-neg"]["ran_targets"] == ["neg/cpu/float32/eager"]
    assert states["true-det"]["state"] == "holds" and states["true-det"]["message_seen"] is True
    assert "stale claim fake-neg: ran neg/cpu/float32/eager" in res.out
    recs = res.records()
    neg = [r for r in recs if r["op"] == "neg" and r["dtype"] == "float32"]
    assert neg and all(r["status"] == "pass" and r["claim"] == {"id": "fake-neg", "reason": states["fake-neg"][
        "reason"], "probed": True} for r in neg)
    det = [r for r in recs if r["op"] == "det" and r["dtype"] == "float16"]
    assert det and all(r["status"] == "unsupported" and r["claim"]["id"] == "true-det" and r["claim"]["probed"]
                       for r in det)
    assert all(r["message"].startswith("NotImplementedError: \"lu_cpu\" not implemented for 'Half'") for r in det)
    # every example was tried, each of its value sets raised and has its own record
    structures = [r for r in det if "value_set_of" not in r]
    assert len(structures) == 3 and len(det) == 3 * structures[0]["values_per_case"]
    unclaimed = [r for r in recs if (r["op"], r["dtype"]) in (("neg", "float16"), ("det", "float32"))]
    assert unclaimed and not any("claim" in r for r in unclaimed)
    manifest = json.loads((res.run_dir / "run.json").read_text())
    assert manifest["probe_unsupported"] is True and manifest["selection"]["probe_unsupported"] is True
    assert [c["id"] for c in manifest["claims"]] == ["fake-neg", "true-det"]


def test_without_the_probe_a_claimed_target_is_recorded_unsupported_with_the_claims_reason(tmp_path: Path):
    res = _run(tmp_path)
    assert res.code == 0, res.out + res.err[-3000:]
    states = {c["id"]: c["state"] for c in res.summary()["claims"]}
    assert states == {"fake-neg": "unprobed", "true-det": "unprobed"}
    neg = [r for r in res.records() if r["op"] == "neg" and r["dtype"] == "float32"]
    assert len(neg) == 1 and neg[0]["status"] == "unsupported"
    assert neg[0]["message"].startswith("RuntimeError: a claim made up") and neg[0]["claim"]["probed"] is False


def test_a_bad_claims_file_is_refused_before_any_work(tmp_path: Path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[claim]]\nframework = "torch"\nop = "neg"\ndtype = "float33"\ndevice = "cpu"\n'
                   'reason = "r"\nobserved = "o"\n')
    res = cli("run", "--ops", "neg", "--claims", str(bad), "--out", str(tmp_path / "out"))
    assert res.code == 2 and "--claims" in res.err and "#1" in res.err and "float33" in res.err
    assert not (tmp_path / "out").exists()


def _scoped_run(tmp_path: Path, *extra: str):
    path = tmp_path / "scoped.toml"
    path.write_text("""
[[claim]]
id = "fake-gather-from-end"
framework = "torch"
op = "gather"
dtype = "float64"
device = "cpu"
params = { indices_from_end = true }
reason = "RuntimeError: a claim made up for the test (torch indexing takes negative indices)"
observed = "nowhere: tests/test_claims.py"
""")
    res = _torch_run(tmp_path, path, "gather", "float64", 8, *extra)
    assert res.code == 0, res.out + res.err[-3000:]
    recs = [r for r in res.records() if r.get("case_family") == "accuracy"]
    covered = [r for r in recs if r["params"]["indices_from_end"]]
    others = [r for r in recs if not r["params"]["indices_from_end"]]
    assert covered and others  # seed 0 draws both forms in eight examples
    return res, covered, others


def test_a_params_scoped_claim_records_its_cases_unsupported_and_runs_the_others(tmp_path: Path):
    res, covered, others = _scoped_run(tmp_path)
    assert all(r["status"] == "unsupported" and r["claim"] == {"id": "fake-gather-from-end", "reason": r["message"],
                                                               "probed": False} for r in covered)
    assert all(r["status"] in ("pass", "convention") and "claim" not in r for r in others)
    (state,) = [c for c in res.summary()["claims"] if c["id"] == "fake-gather-from-end"]
    assert state["state"] == "unprobed" and state["params"] == {"indices_from_end": [True]}


def test_probing_a_params_scoped_claim_runs_its_cases(tmp_path: Path):
    res, covered, _ = _scoped_run(tmp_path, "--probe-unsupported")
    assert all(r["status"] == "pass" and r["claim"]["probed"] for r in covered)
    (state,) = [c for c in res.summary()["claims"] if c["id"] == "fake-gather-from-end"]
    assert state["state"] == "stale" and state["ran_targets"] == ["gather/cpu/float64/eager"]
