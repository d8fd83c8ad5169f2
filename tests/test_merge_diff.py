"""``vjp-conformance merge`` and ``diff``: nothing silently dropped, conflicts explained,
regressions found; and neither needs a framework."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.diff import diff_summaries, load_summary
from conformance.merge import merge_runs
from tests.synthetic_runs import SUMMARY, errors, make_run, no_framework, record, synthetic_records

OLD_ID, NEW_ID = "20260101-000000-aaaaaa", "20260102-000000-bbbbbb"


def results(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "results.jsonl").read_text().splitlines()]


# -- merge -------------------------------------------------------------------------------------------
def test_merge_keeps_every_record_and_explains_duplicates_and_conflicts(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    a = make_run(tmp_path / "env-a", run_id=OLD_ID, version="2.12.0")
    b = make_run(tmp_path / "env-b", run_id=NEW_ID, version="2.13.0")
    copy = shutil.copytree(a, tmp_path / "copied" / OLD_ID)  # the same run, fetched from another machine
    out = tmp_path / "merged"
    assert main(["merge", str(a), str(b), str(a), str(copy), "--out", str(out)]) == 0
    text = capsys.readouterr().out

    merged = results(out)
    originals = results(a) + results(b)
    assert sorted(r["record_id"] for r in merged) == sorted(r["record_id"] for r in originals)
    assert {r["run_id"] for r in merged} == {OLD_ID, NEW_ID}  # records keep their run

    summary = json.loads((out / "summary.json").read_text())
    assert errors(SUMMARY, summary) == []  # the merged summary is a summary.json like any other
    m = summary["merge"]
    assert [(s["records"], s["read"]) for s in m["sources"]] == [(13, 13), (13, 13), (0, 13)]
    assert m["sources"][2]["note"] == "13 duplicate records skipped"
    assert any("was given twice" in d["message"] for d in m["duplicates"])
    assert any("the same run given twice" in d["message"] for d in m["duplicates"])  # a copy by another path
    conflict_cells = {(c["cell"]["op"], c["cell"]["framework"], c["cell"]["dtype"]) for c in m["conflicts"]}
    assert ("sigmoid", "torch", "float32") in conflict_cells  # torch 2.12.0 and 2.13.0 in one cell
    assert ("sigmoid", "jax", "float64") not in conflict_cells  # jax is 0.10.2 in both runs
    conflict = next(c for c in m["conflicts"] if c["cell"]["op"] == "sigmoid" and c["cell"]["framework"] == "torch")
    assert [v["framework_version"] for v in conflict["versions"]] == ["2.12.0", "2.13.0"]
    assert all(v["status"] == "fail" and v["examples"] == 5 for v in conflict["versions"])
    cell = next(c for c in summary["cells"] if (c["op"], c["framework"], c["dtype"]) == ("sigmoid", "torch", "float32"))
    assert cell["conflict"] and cell["examples"] == 10
    assert "conflict: sigmoid torch cpu float32 default: records from 2 framework versions" in text
    assert text.count("duplicate: ") == 2

    page = (out / "index.html").read_text()
    assert "Merge notes" in page and "records from 2 framework versions" in page
    assert 'title="framework versions differ"' in page
    assert (out / "runs" / OLD_ID / "run.json").exists() and (out / "runs" / NEW_ID / "run.json").exists()


def test_merged_records_can_still_be_reproduced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = make_run(tmp_path / "a", run_id=OLD_ID)
    b = make_run(tmp_path / "b", run_id=NEW_ID)
    merge_runs([a, b], tmp_path / "m")
    assert main(["repro", f"{NEW_ID}/main/5", "--run-dir", str(tmp_path / "m")]) == 0
    assert f"record {NEW_ID}/main/5" in capsys.readouterr().out


def test_merge_of_a_merge_and_refusals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = make_run(tmp_path / "a", run_id=OLD_ID)
    b = make_run(tmp_path / "b", run_id=NEW_ID)
    merge_runs([a], tmp_path / "m1")
    merge_runs([tmp_path / "m1", b], tmp_path / "m2")
    assert len(results(tmp_path / "m2")) == len(results(a)) + len(results(b))
    assert main(["merge", str(a), "--out", str(a)]) == 2
    assert "is one of the inputs" in capsys.readouterr().err
    assert main(["merge", str(tmp_path / "nope"), "--out", str(tmp_path / "m3")]) == 2
    assert "not a run directory" in capsys.readouterr().err


def test_expectation_states_are_worked_out_over_the_merged_records(tmp_path: Path) -> None:
    entry = {"id": "jax-matmul", "match": {"framework": ["jax"], "op": ["matmul"]}, "reason": "XLA sums",
             "link": "", "versions": "", "statuses": ["fail"]}
    with_jax = make_run(tmp_path / "a", run_id=OLD_ID, expectations=[entry])  # has the known jax matmul record
    without = make_run(tmp_path / "b", [record(0, NEW_ID)], run_id=NEW_ID, expectations=[entry])
    states = {e["id"]: e["state"] for e in json.loads((without / "summary.json").read_text())["expectations"]}
    assert states == {"jax-matmul": "stale"}  # alone, run b never ran jax matmul
    summary = merge_runs([with_jax, without], tmp_path / "m")
    assert [(e["id"], e["state"], e["known"]) for e in summary["expectations"]] == [("jax-matmul", "known", 1)]


def test_clashing_record_ids_are_both_kept(tmp_path: Path) -> None:
    a = make_run(tmp_path / "a", [record(0), record(1)])
    b = make_run(tmp_path / "b", [record(0, bound_ratio=7.0)])  # same id, different content
    summary = merge_runs([a, b], tmp_path / "m")
    assert len(results(tmp_path / "m")) == 3
    assert any("different content: both kept" in d["message"] for d in summary["merge"]["duplicates"])


# -- diff ---------------------------------------------------------------------------------------------
def _runs(tmp_path: Path) -> tuple[Path, Path]:
    old = synthetic_records(OLD_ID)
    new = synthetic_records(NEW_ID)
    for r in new:
        if r["op"] == "sigmoid" and r["framework"] == "torch":  # fixed: the failures pass now
            r.update(status="pass", bound_ratio=0.3)
        if r["op"] == "softmax" and r["status"] == "error":  # the error stays, as an error
            r.update(message="RuntimeError: other")
        if r["op"] == "matmul":  # known -> fail: a regression
            r.update(status="fail", expectation=None)
        if r["framework"] == "jax" and r["op"] == "sigmoid":  # half the budget -> four times it: a regression
            r.update(bound_ratio=36.0, status="fail")
    new = [r for r in new if r["op"] != "mystery_op"]
    new.append(record(99, NEW_ID, op="relu", family="elementwise", dtype="float64", bound_ratio=0.5))
    return make_run(tmp_path / "old", old, run_id=OLD_ID), make_run(tmp_path / "new", new, run_id=NEW_ID)


def test_diff_finds_regressions_and_improvements(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old, new = _runs(tmp_path)
    html = tmp_path / "diff.html"
    assert main(["diff", str(old), str(new), "--html", str(html)]) == 1
    out = capsys.readouterr().out
    lines = {tuple(line.split()[:6]): line for line in out.splitlines() if line[:1].isalpha() and ":" in line}
    assert lines[("regression", "matmul", "jax", "cpu", "float32", "default:")].split(": ", 1)[1].startswith(
        "known -> fail")
    assert lines[("regression", "sigmoid", "jax", "cpu", "float64", "default:")]
    assert "better" in lines[("better", "sigmoid", "torch", "cpu", "float32", "default:")]
    assert ("removed", "mystery_op", "torch", "cpu", "float32", "default:") in lines
    assert ("added", "relu", "torch", "cpu", "float64", "default:") in lines
    assert not any(k[1] == "softmax" for k in lines)  # error -> error: no change worth a line
    page = html.read_text()
    assert "regressions found" in page and page.count('<tr class="k-regression">') == 2
    assert "<script" in page and page.count("<script") == 1


def test_diff_ratio_factor_floor_and_exit_status(tmp_path: Path) -> None:
    def summary(ratio: float, status: str = "pass") -> dict:
        return {"schema": "1.0", "cells": [{"op": "exp", "framework": "torch", "device": "cpu", "dtype": "float32",
                                            "precision": "default", "status": status, "examples": 5,
                                            "counts": {status: 5}, "worst_bound_ratio": ratio, "budget": 10.0}]}

    def kind(old: float, new: float, **kw: float) -> str:
        return diff_summaries(summary(old), summary(new), **kw)[0].kind

    assert kind(2.0, 5.0) == "worse" and kind(5.0, 2.0) == "better"  # beyond x2, above the floor
    assert kind(2.0, 3.0) == "same"  # within the factor
    assert kind(0.1, 0.5) == "same"  # 1% -> 5% of the budget: under the 10% floor
    assert kind(0.1, 0.5, floor=0.01) == "worse"
    assert kind(2.0, 3.0, factor=1.2) == "worse"
    paths = []
    for name, ratio in (("old", 2.0), ("new", 5.0)):
        p = tmp_path / f"{name}.json"
        p.write_text(json.dumps(summary(ratio) | {"run_id": name, "generated": "", "records": 5, "examples": 5,
                                                  "damaged_lines": 0, "totals": {}, "not_run": [], "failed": False}))
        paths.append(str(p))
    assert main(["diff", *paths]) == 0  # worse ratio, still passing: reported, not a regression
    assert main(["diff", *paths, "--fail-on-ratio"]) == 1
    assert load_summary(Path(paths[0]))["run_id"] == "old"


def test_diff_of_identical_runs_and_of_cut_off_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = make_run(tmp_path / "a")
    assert main(["diff", str(a), str(a)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"regression 0, worse 0, better 0, changed 0, added 0, removed 0, same \d+", out)
    b = make_run(tmp_path / "b", summary=False)  # no summary.json: computed from the records
    assert main(["diff", str(a), str(b)]) == 0
    assert main(["diff", str(a), str(tmp_path / "missing")]) == 2


def test_merge_and_diff_import_no_framework(tmp_path: Path) -> None:
    a = make_run(tmp_path / "a", run_id=OLD_ID)
    b = make_run(tmp_path / "b", run_id=NEW_ID)
    code = (f"from conformance.cli import main\n"
            f"assert main(['merge', {str(a)!r}, {str(b)!r}, '--out', {str(tmp_path / 'm')!r}]) == 0\n"
            f"raise SystemExit(main(['diff', {str(a)!r}, {str(tmp_path / 'm')!r}, '--html', "
            f"{str(tmp_path / 'd.html')!r}]))\n")
    proc = no_framework(code)
    assert proc.returncode in (0, 1), proc.stderr
    assert (tmp_path / "m" / "index.html").exists() and (tmp_path / "d.html").exists()


def test_archived_run_with_gzipped_records_still_reports_and_repros(tmp_path):
    """An archived run (docs/gpu-run) keeps results.jsonl.gz: report, repro and diff read it as is."""
    import gzip
    import shutil

    from tests.runner import TINY, cli

    res = cli("run", "--adapter", TINY, "--frameworks", "tinygrad", "--ops", "sigmoid,matmul", "--dtypes",
              "float32", "--max-examples", "3", "--seed", "2", "--families", "accuracy", "--out", str(tmp_path / "a"))
    assert res.code == 0, res.err[-2000:]
    recs = res.records()
    archived = tmp_path / "archived"
    shutil.copytree(res.run_dir, archived)
    plain = archived / "results.jsonl"
    with open(plain, "rb") as src, gzip.open(archived / "results.jsonl.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    plain.unlink()
    shutil.rmtree(archived / "parts")
    (archived / "index.html").unlink()
    assert cli("report", str(archived)).code == 0
    assert str(len(recs)) in (archived / "index.html").read_text()
    rep = cli("repro", recs[0]["record_id"], "--run-dir", str(archived))
    assert rep.code == 0 and "Reproduce vjp-conformance record" in rep.out
    assert cli("diff", str(res.run_dir), str(archived)).code == 0
