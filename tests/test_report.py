"""The HTML report, rendered from synthetic runs (every status, hostile strings) and from a real one.

``make_run`` and ``real_run`` are shared with the schema, repro, merge/diff and browser tests.
"""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from conformance.cli import main
from conformance.report import render_run
from conformance.report.svg import bin_counts
from tests.synthetic_runs import make_run, no_framework, real_run, record


@pytest.fixture
def html(tmp_path: Path) -> str:
    run_dir = make_run(tmp_path, expectations=[
        {"id": "jax-matmul", "match": {"framework": ["jax"], "op": ["matmul"]}, "reason": "XLA <reorders> sums",
         "link": "https://example.org/i/1", "versions": "", "statuses": ["fail"]},
        {"id": "old", "match": {"framework": ["torch"], "op": ["exp"]}, "reason": "gone", "link": "javascript:alert(1)",
         "versions": "", "statuses": ["fail"]}])
    return render_run(run_dir).read_text()


# -- self-contained, escaped -------------------------------------------------------------------------
class Tags(HTMLParser):
    """Every element and attribute of a page, as a browser's parser sees them."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_page_is_self_contained(html: str) -> None:
    assert html.startswith("<!DOCTYPE html>")
    tags = Tags(html).tags
    names = {t for t, _ in tags}
    assert not names & {"link", "img", "iframe", "object", "embed", "audio", "video", "source", "base"}
    assert [t for t, _ in tags if t == "script"] == ["script"]  # the page's own inline script, nothing injected
    assert not [a for _, a in tags if "src" in a or any(k.startswith("on") for k in a)]
    hrefs = {a["href"] for t, a in tags if "href" in a}
    assert {h for h in hrefs if not h.startswith("#")} == {"https://example.org/i/1"}  # a link, not a resource
    assert "@import" not in html and "url(" not in html


def test_record_strings_are_escaped(html: str) -> None:
    assert "window.__xss" in html  # the message is there ...
    assert "<script>window.__xss" not in html and '<img src=x' not in html  # ... as text only
    assert "&lt;script&gt;window.__xss = 1&lt;/script&gt;" in html
    assert "XLA &lt;reorders&gt; sums" in html and "&lt;b&gt;bold&lt;/b&gt;" in html
    assert 'href="javascript:' not in html and "javascript:alert(1)" in html  # shown, not linked


# -- matrix, totals, sections ----------------------------------------------------------------------
def _cell(html: str, op: str, fw: str, dtype: str) -> str:
    row = re.search(rf'<tr class="oprow" data-op="{op}".*?</tr>', html, re.S)
    assert row, op
    cell = re.search(rf'<td class="c [^"]*" data-st="[^"]*"[^>]*data-fw="{fw}" data-dev="cpu" data-dt="{dtype}"'
                     rf'.*?</td>', row.group(0), re.S)
    assert cell, (op, fw, dtype)
    return cell.group(0)


def test_matrix_cells_show_status_ratio_and_counts(html: str) -> None:
    fail = _cell(html, "sigmoid", "torch", "float32")
    assert "st-fail" in fail and '<span class="r">4.4</span>' in fail  # worst ratio to budget: 40 / 9
    assert '<span class="n">4/5</span>' in fail and "✗1" in fail  # the shrink step is not counted
    assert "st-known" in _cell(html, "matmul", "jax", "float32")
    assert "st-unsupported" in _cell(html, "softmax", "torch", "float64")
    assert "st-convention" in _cell(html, "relu", "jax", "float32")
    assert "st-pass lvl2" in _cell(html, "sigmoid", "jax", "float64")  # 4.5 / 9: half the budget


def test_not_run_cells_and_totals(tmp_path: Path) -> None:
    recs = [record(0)]
    targets = [{"op": "sigmoid", "framework": f, "device": "cpu", "dtype": "float32", "precision": "default"}
               for f in ("torch", "tensorflow")]
    page = render_run(make_run(tmp_path, recs, targets=targets)).read_text()
    cell = _cell(page, "sigmoid", "tensorflow", "float32")
    assert "st-not-run" in cell and "not installed (tensorflow)" in cell
    totals = re.search(r'<table class="totals">.*?</table>', page, re.S).group(0)
    row = re.search(r'data-fw="tensorflow".*?</tr>', totals, re.S).group(0)
    assert re.findall(r'<td class="num">(\d+)</td>', row)[-1] == "1"  # one target not run
    assert "Not run (1 targets)" in page


def test_op_sections(html: str) -> None:
    from conformance.registry import get_op

    assert 'id="op-sigmoid"' in html
    assert f"<code>{get_op('sigmoid').formula}</code>" in html
    mystery = re.search(r'<section class="op" id="op-mystery_op".*?</section>', html, re.S).group(0)
    assert "not in this installation" in mystery
    sigmoid = re.search(r'<section class="op" id="op-sigmoid".*?</section>', html, re.S).group(0)
    assert "<svg" in sigmoid and "torch (5)" in sigmoid and "jax (1)" in sigmoid  # histogram per framework
    assert "Non-pass cases (1)" in sigmoid and "1 shrink steps not listed" in sigmoid
    assert "bound_ratio 40 / budget 9" in sigmoid and "dx[1]" in sigmoid  # the worst case's figures


def test_failing_case_embeds_its_repro_script(html: str) -> None:
    case = re.search(r'<div class="case[^"]*"[^>]*data-st="fail".*?</details>', html, re.S).group(0)
    assert "vjp-conformance repro 20260101-000000-aaaaaa/main/5 --run-dir" in case
    assert '<button type="button" class="copy" data-target="s-20260101-000000-aaaaaa-main-5">' in case
    assert "torch.autograd.grad(out, wrt, grad_outputs=to_tensor(cotangent, device)" in case


def test_conventions_and_expectations_tables(html: str) -> None:
    conv = re.search(r'<section id="conventions">.*?</section>', html, re.S).group(0)
    assert "x=0" in conv and "any value in [0, 1] times dz" in conv
    assert '<td class="fx differs" data-fw="jax"><code>{&quot;x&quot;: [0.5]}</code>' in conv
    exp = re.search(r'<section id="expectations">.*?</section>', html, re.S).group(0)
    assert "st-known" in exp and "st-stale" in exp  # the exp entry matches no example of the run
    assert '<a href="https://example.org/i/1" rel="noreferrer noopener">' in exp


def test_cut_off_run_renders_from_parts(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, [record(0), record(1, status="fail", bound_ratio=20.0)], summary=False)
    (run_dir / "results.jsonl").rename(run_dir / "parts" / "main.jsonl")
    with open(run_dir / "parts" / "main.jsonl", "a") as f:
        f.write('{"schema": "1.0", "run_id": "cut')  # a worker died mid-write
    page = render_run(run_dir).read_text()
    assert "1 damaged record line(s)" in page and "st-fail" in page


def test_sparse_and_odd_records_render(tmp_path: Path) -> None:
    """Only the fields every record has (a crash record), odd values, and figures as strings."""
    crash = {"schema": "1.0", "run_id": "r", "record_id": "r/gw0-crash/0", "op": "conv2d", "framework": "torch",
             "framework_version": "2.13.0", "device": "cuda:0", "dtype": "float16", "precision": "strict",
             "status": "crashed", "message": "worker gw0 died", "max_abs_err": None, "max_rel_err": None,
             "max_ulp": None, "bound_ratio": None}
    special = record(1, "r", status="nonfinite", case_family="special", special="nan", oracle_holds="nan",
                     worst={"input": "x", "index": [0], "got": 1.0, "want": "nan", "abs_err": 0.0,
                            "magnitude": "nan", "ulp": 0.0},
                     nonfinite={"input": "x", "index": [0], "got": "1.0", "want": "nan", "side": "oracle",
                                "count": 1})
    page = render_run(make_run(tmp_path, [crash, special], run_id="r")).read_text()
    assert "st-crashed" in _cell(page.replace('data-dev="cuda:0"', 'data-dev="cpu"'), "conv2d", "torch", "float16")
    assert "dx[0]: got 1.0, oracle nan," in page and "on the oracle side" in page


def test_histogram_bins() -> None:
    counts = bin_counts([0.0, 1e-9, 1e-4, 0.5, 1.0, 3.0, 30.0, 1e6])
    assert len(counts) == 20 and sum(counts) == 8
    assert counts[0] == 3  # exact, far below, and the bottom edge
    assert counts[-1] == 2  # ten times the budget and beyond, gathered in the last bin
    assert counts[int((np.log10(0.5) + 4) / 0.25)] == 1 and counts[16] == 1 and counts[17] == 1  # 0.5, 1, 3


# -- commands ----------------------------------------------------------------------------------------
def test_report_command_and_unknown_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = make_run(tmp_path)
    assert main(["report", str(run_dir)]) == 0
    assert (run_dir / "index.html").exists()
    summary = json.loads((run_dir / "summary.json").read_text())
    summary["schema"] = "2.0"
    (run_dir / "summary.json").write_text(json.dumps(summary))
    assert main(["report", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert "schema version 2.0 is not supported" in err and "summary.json" in err


def test_rendering_imports_no_framework(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path)
    proc = no_framework(f"from conformance.cli import main\nraise SystemExit(main(['report', {str(run_dir)!r}]))")
    assert proc.returncode == 0, proc.stderr
    assert "torch.autograd.grad" in (run_dir / "index.html").read_text()


def test_real_run_report(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    run_dir = real_run(tmp_path_factory)
    page = (run_dir / "index.html").read_text()  # rendered at the end of the run
    summary = json.loads((run_dir / "summary.json").read_text())
    for cell in summary["cells"]:
        assert f'data-op="{cell["op"]}"' in page
        n = cell["counts"].get("pass", 0)
        assert f'<span class="n">{n}/{cell["examples"]}</span>' in _cell(page, cell["op"], "torch", "float32")
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    (copy / "index.html").unlink()
    assert main(["report", str(copy)]) == 0 and (copy / "index.html").exists()


def test_side_by_side_lists_only_rows_where_devices_or_modes_disagree():
    from conformance.report.sidebyside import side_by_side_html

    def cell(op, dev, prec, status, ratio, dt="float32"):
        return {"op": op, "framework": "jax", "device": dev, "dtype": dt, "precision": prec, "status": status,
                "worst_bound_ratio": ratio, "budget": 10.0, "counts": {status: 5}}

    summary = {"cells": [
        # TF32: the GPU's default mode is 800x the CPU's and strict mode's figure, and fails
        cell("matmul", "cpu", "default", "pass", 2.0), cell("matmul", "cuda:0", "strict", "pass", 1.9),
        cell("matmul", "cuda:0", "default", "fail", 1600.0),
        # agrees everywhere: not listed
        cell("exp", "cpu", "default", "pass", 1.0), cell("exp", "cuda:0", "strict", "pass", 1.2),
        cell("exp", "cuda:0", "default", "pass", 1.1),
        # tiny figures that differ a lot are noise, not disagreement
        cell("neg", "cpu", "default", "pass", 0.0001), cell("neg", "cuda:0", "default", "pass", 0.009),
        # only one column: nothing to compare
        cell("sort", "cuda:0", "default", "error", None),
        # a status that differs (known on the CPU, error on the GPU) is listed even with no spread
        cell("det", "cpu", "default", "known", 0.5, "float16"),
        cell("det", "cuda:0", "default", "error", None, "float16"),
    ]}
    html = side_by_side_html(summary)
    listed = re.findall(r'<tr class="fx"[^>]*><td>([^<]*)</td>', html)
    assert listed == ["matmul", "det"]  # both differ in status; the larger spread first
    assert "4 op x framework x dtype rows ran in more than one column; 2 disagree" in html
    assert "2 rows agree" in html
    head = re.search(r"<thead>(.*?)</thead>", html).group(1)
    assert [h for h in re.findall(r"<th>([^<]*)</th>", head)][3:6] == ["cpu default", "cuda:0 strict", "cuda:0 default"]
    assert side_by_side_html({"cells": [cell("exp", "cpu", "default", "pass", 1.0)]}) == ""
