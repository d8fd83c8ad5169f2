"""Execution modes (conformance/modes.py): selection, targets, records, summary, report, adapters."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conformance.adapters import Availability
from conformance.execute import Target
from conformance.modes import BUILTIN_MODES, expand, valid_names
from conformance.registry import get_op
from conformance.selection import SelectionError, parse_selection, resolve_modes, targets
from tests.runner import cli

FRAMEWORKS = list(BUILTIN_MODES)


def _frameworks(names: list[str]) -> dict[str, Availability]:
    # stand-ins: the built-ins' modes are known without importing them
    return {n: Availability(n, object()) for n in names}


def _select(modes: str | None, frameworks: list[str] = FRAMEWORKS) -> list[Target]:
    fws = _frameworks(frameworks)
    sel = parse_selection(frameworks=",".join(frameworks), devices=None, ops="sigmoid", dtypes="float64",
                          precision=None, profile=None, max_examples=None, seed=None, known_frameworks=frameworks,
                          modes=modes)
    return targets(sel, {n: ["cpu"] for n in frameworks}, resolve_modes(sel, fws))


def test_bad_mode_is_refused_naming_the_valid_ones() -> None:
    with pytest.raises(SelectionError) as e:
        _select("eager,turbo")
    message = str(e.value)
    assert "'turbo'" in message
    for name in valid_names():
        assert name in message
    with pytest.raises(SelectionError, match="not a mode of any selected framework"):
        _select("jit", ["torch"])
    with pytest.raises(SelectionError, match="more than once"):
        _select("eager,eager")


def test_bad_mode_on_the_command_line_exits_2_naming_the_valid_ones(tmp_path: Path) -> None:
    r = cli("run", "--modes", "fastest", "--frameworks", "torch", "--ops", "sigmoid", "--out", str(tmp_path),
            timeout=120)
    assert r.code == 2, r.err[-2000:]
    assert "'fastest'" in r.err and "aot_eager" in r.err and "compiled" in r.err
    assert not any(tmp_path.iterdir())  # nothing written


def test_default_mode_keeps_the_ids_and_compiled_expands() -> None:
    default = _select(None)
    assert [(t.framework, t.mode) for t in default] == [("torch", "eager"), ("tensorflow", "eager"), ("jax", "jit")]
    assert [t.id for t in default] == [f"sigmoid-{fw}-cpu-float64-default" for fw in FRAMEWORKS]
    both = {(t.framework, t.mode) for t in _select("eager,compiled")}
    assert both == {("torch", "eager"), ("torch", "compile"), ("torch", "aot_eager"), ("tensorflow", "eager"),
                    ("tensorflow", "function"), ("tensorflow", "xla"), ("jax", "eager"), ("jax", "jit")}
    ids = [t.id for t in _select("eager,compiled")]
    assert len(set(ids)) == len(ids) and "sigmoid-jax-cpu-float64-default-eager" in ids
    assert {(t.framework, t.mode) for t in _select("xla,jit")} == {("tensorflow", "xla"), ("jax", "jit")}
    assert expand(["default", "eager"], ("eager",)) == ["eager"]  # a third-party adapter without modes


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_adapters_declare_the_modes_the_table_knows(framework: str) -> None:
    from conformance.adapters import BUILTIN, load

    pytest.importorskip({"tensorflow": "tensorflow", "torch": "torch", "jax": "jax"}[framework])
    av = load(BUILTIN[framework], framework, "builtin")
    assert tuple(av.adapter.modes) == BUILTIN_MODES[framework]


def test_jax_eager_and_jit_both_run_and_agree() -> None:
    pytest.importorskip("jax")
    from conformance.adapters.jax_adapter import JaxAdapter

    adapter, spec = JaxAdapter(), get_op("softmax")
    rng = np.random.default_rng(3)
    x, dz = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    got = {m: adapter.vjp(spec, {"x": x}, {"axis": -1}, dz, dtype="float64", device="cpu", mode=m)["x"]
           for m in ("eager", "jit")}
    assert adapter.call_stats() == {"compiles": 1}  # jit compiled this shape; eager compiles nothing of its own
    ref = spec.reference_vjp(x=x, dz=dz, axis=-1)["x"].value
    np.testing.assert_allclose(got["eager"], ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got["jit"], got["eager"], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("mode", ["aot_eager"])
def test_torch_compiles_once_per_op_and_params_across_shapes(mode: str) -> None:
    """dynamic=True: one graph serves examples of several shapes (no dimension of size 1, which
    dynamo specialises on); new params are a new compiled function."""
    pytest.importorskip("torch")
    from conformance.adapters.torch_adapter import TorchAdapter

    adapter, spec = TorchAdapter(), get_op("softmax")
    rng = np.random.default_rng(5)
    compiles = []
    for shape in ((2, 3), (4, 7), (5, 2), (9, 6)):
        x, dz = rng.standard_normal(shape), rng.standard_normal(shape)
        got = adapter.vjp(spec, {"x": x}, {"axis": -1}, dz, dtype="float64", device="cpu", mode=mode)["x"]
        np.testing.assert_allclose(got, spec.reference_vjp(x=x, dz=dz, axis=-1)["x"].value, rtol=1e-12, atol=1e-14)
        compiles.append(adapter.call_stats()["compiles"])
    assert compiles == [1, 0, 0, 0], compiles
    x = rng.standard_normal((3, 4))
    adapter.vjp(spec, {"x": x}, {"axis": 0}, x, dtype="float64", device="cpu", mode=mode)
    assert adapter.call_stats()["compiles"] == 1  # other params: compiled once more


def test_warm_up_sets_a_mode_up_once_per_process_outside_the_examples(tmp_path: Path) -> None:
    """An adapter's optional ``warm_up(mode, device)`` runs once per framework, mode and device in
    a worker, before that mode's first example (a compiler's one-time start-up is not an example's
    time), and never for a mode the run does not select."""
    calls_file = tmp_path / "calls.jsonl"
    res = cli("run", "--adapter", "tests.fault_adapters:WarmUpRecorder", "--frameworks", "warmup",
              "--ops", "sigmoid,exp", "--dtypes",
              "float32,float64", "--modes", "eager,compiled", "--max-examples", "2", "--values-per-case", "1",
              "-n", "0", "--out", str(tmp_path / "run"), env={"VJP_WARM_UP_LOG": str(calls_file)})
    assert res.code == 0, res.err[-2000:]
    calls = [tuple(json.loads(line)) for line in calls_file.read_text().splitlines()]
    assert sorted(calls) == [("eager", "cpu"), ("traced", "cpu")], calls  # once each, for 8 targets
    summary = json.loads((res.run_dir / "summary.json").read_text())
    assert {c["mode"] for c in summary["cells"]} == {"eager", "traced"}


def test_a_compiled_mode_call_gets_the_compile_allowance(tmp_path: Path) -> None:
    """With --timeout 1 a call of 1.5 s times out eagerly and passes in a compiled mode, whose
    limit is COMPILED_MODE_FACTOR times the per-example limit (a compile is not a hang)."""
    from conformance.timeouts import COMPILED_MODE_FACTOR, limit_for

    assert limit_for(1.0, "eager") == 1.0 and limit_for(1.0, "compile") == COMPILED_MODE_FACTOR
    assert limit_for(0, "compile") == 0  # no limit stays no limit
    res = cli("run", "--adapter", "tests.fault_adapters:SlowWhenTraced", "--frameworks", "slowtrace",
              "--ops", "exp", "--dtypes", "float64", "--modes", "traced", "--max-examples", "1",
              "--values-per-case", "1", "--families", "accuracy", "--timeout", "1", "-n", "0",
              "--out", str(tmp_path / "run"))
    assert res.code == 0, res.err[-2000:]
    statuses = {json.loads(line)["status"] for line in (res.run_dir / "results.jsonl").read_text().splitlines()}
    assert statuses == {"pass"}, statuses


def test_torch_warm_up_leaves_the_compiled_mode_working() -> None:
    pytest.importorskip("torch")
    from conformance.adapters.torch_adapter import TorchAdapter

    adapter, spec = TorchAdapter(), get_op("sigmoid")
    adapter.warm_up("aot_eager", "cpu")
    adapter.warm_up("eager", "cpu")  # nothing to set up
    x = np.linspace(-2.0, 2.0, 7)
    got = adapter.vjp(spec, {"x": x}, {}, np.ones(7), dtype="float64", device="cpu", mode="aot_eager")["x"]
    np.testing.assert_allclose(got, spec.reference_vjp(x=x, dz=np.ones(7))["x"].value, rtol=1e-14)
    assert adapter.call_stats()["compiles"] == 1  # the warm-up's graph is gone, the op's is new


def test_mode_in_records_summary_and_report(tmp_path: Path) -> None:
    r = cli("run", "--frameworks", "jax", "--modes", "eager,jit", "--ops", "sigmoid", "--dtypes", "float64",
            "--max-examples", "2", "--values-per-case", "1", "--families", "accuracy", "-n", "0",
            "--out", str(tmp_path), timeout=300)
    assert r.code == 0, r.out[-2000:] + r.err[-3000:]
    recs = r.records()
    assert {rec["mode"] for rec in recs} == {"eager", "jit"}
    assert all("compiles" in rec for rec in recs if rec["mode"] == "jit")
    summary = r.summary()
    assert {(c["mode"], c["status"]) for c in summary["cells"]} == {("eager", "pass"), ("jit", "pass")}
    manifest = json.loads((r.run_dir / "run.json").read_text())
    assert manifest["modes"] == {"jax": ["eager", "jit"]} and manifest["selection"]["modes"] == ["eager", "jit"]
    assert {t["mode"] for t in manifest["targets"]} == {"eager", "jit"}
    html = (r.run_dir / "index.html").read_text()
    assert 'data-md="eager"' in html and 'data-md="jit"' in html
    assert "Execution modes against each other and the oracle" in html
    assert "mode eager" in "\n".join(r.out.splitlines()) or "eager" in r.out
    costs = {c["mode"]: c for c in summary["costs"]}
    assert set(costs) == {"eager", "jit"} and all(c["examples"] == len(
        [rec for rec in recs if rec["mode"] == m and rec["case_family"] == "accuracy"]) for m, c in costs.items())
    assert costs["eager"]["compiles"] is None and costs["jit"]["compiles"] >= 1
    assert all(c["adapter_s"] > 0 and c["ms_per_value_set"] > 0 for c in costs.values())
    assert 'id="costs"' in html and "Time per mode" in html


def test_the_cost_table_counts_each_example_once() -> None:
    """A structure's record carries the time and compiles of all its value sets; the records of
    its other value sets and Hypothesis's shrink steps are not counted again."""
    from conformance.summary import cost_table

    def rec(**kw: object) -> dict:
        return {"op": "gelu", "framework": "torch", "device": "cpu", "dtype": "float32", "mode": "compile",
                "status": "pass", "case_family": "accuracy", "adapter_s": 2.0, "oracle_s": 0.5, "compiles": 1,
                "value_statuses": {"pass": 4}, **kw}

    records = [rec(), rec(adapter_s=6.0, compiles=0), rec(value_set_of="r/1", adapter_s=99.0),
               rec(phase="shrink", adapter_s=99.0), rec(mode="eager", compiles=None, adapter_s=0.4)]
    compiled, eager = cost_table(records)  # sorted: compile before eager
    assert compiled == {"framework": "torch", "device": "cpu", "mode": "compile", "dtype": "float32",
                        "examples": 2, "value_sets": 8, "adapter_s": 8.0, "oracle_s": 1.0, "compiles": 1,
                        "ms_per_value_set": 1000.0}
    assert eager["mode"] == "eager" and eager["compiles"] is None and eager["ms_per_value_set"] == 100.0


def test_mode_rows_list_compiled_only_failures() -> None:
    from conformance.report.sidebyside import mode_rows, side_by_side_html

    def cell(mode: str, status: str, ratio: float | None) -> dict:
        return {"op": "gelu", "framework": "torch", "device": "cpu", "dtype": "float32", "precision": "default",
                "mode": mode, "status": status, "worst_bound_ratio": ratio, "budget": 1.0, "counts": {status: 1}}

    cells = [cell("eager", "pass", 0.2), cell("compile", "fail", 30.0), cell("aot_eager", "pass", 0.2)]
    [row] = mode_rows(cells)
    assert row["kind"] == "compiled only" and row["failing"] == ["compile"]
    assert mode_rows([cell("eager", "pass", 0.2), cell("compile", "pass", 0.3)]) == []
    html = side_by_side_html({"cells": cells})
    assert "compiled only" in html and "cpu default compile" in html


def test_old_records_without_mode_read_as_the_default() -> None:
    from conformance.summary import cell_key, summarize

    old = {"op": "sigmoid", "framework": "jax", "device": "cpu", "dtype": "float32", "precision": "default",
           "status": "pass", "case_family": "accuracy"}
    assert cell_key(old)[-1] == "jit"
    assert summarize([old])["cells"][0]["mode"] == "jit"
