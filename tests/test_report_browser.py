"""The report in a real headless Chromium: it loads from file:// with no console error and no
network request, hostile strings stay text, the filters and the search change what is shown.

Needs Debian's chromium (``apt-get install chromium``: /usr/bin/chromium) and Playwright from PyPI;
never downloads a browser.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conformance.report import render_run
from tests.synthetic_runs import make_run

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

pytestmark = [
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason=f"{CHROMIUM} missing (apt-get install chromium)"),
]


@pytest.fixture
def page(tmp_path: Path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
    index = render_run(make_run(tmp_path))
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        pg = browser.new_page(viewport={"width": 1400, "height": 1000})
        pg.problems = []  # console errors, page errors and network requests, as they happen
        pg.on("console", lambda m: pg.problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        pg.on("pageerror", lambda e: pg.problems.append(f"page error: {e}"))
        pg.on("request", lambda r: None if r.url.startswith(("file:", "data:", "about:"))
              else pg.problems.append(f"request: {r.url}"))
        pg.goto(index.as_uri())
        pg.wait_for_load_state("load")
        yield pg
        browser.close()


def visible(pg, selector: str) -> list[str]:
    """data-op (or text) of the elements matching ``selector`` that are displayed."""
    return pg.eval_on_selector_all(
        selector, "els => els.filter(e => e.getClientRects().length > 0).map(e => e.dataset.op || e.textContent)")


def test_loads_clean_and_filters_work(page, tmp_path: Path) -> None:
    pg = page
    assert pg.evaluate("window.__xss") is None
    assert pg.evaluate("document.scripts.length") == 1
    assert "</pre><script>window.__xss = 1</script>" in pg.inner_text("#op-softmax")  # shown as text
    all_ops = visible(pg, "tr.oprow")
    assert set(all_ops) == {"sigmoid", "softmax", "matmul", "relu", "mystery_op"}
    assert "showing 5 of 5 ops, 6 non-pass cases" in pg.inner_text("#shown")  # fail, error, unsup., known, 2 conv.

    # framework: hide jax -> its matrix columns, cases and histogram lines go
    pg.uncheck('#filters input[data-dim="fw"][value="jax"]')
    assert visible(pg, 'th.colh[data-fw="jax"]') == [] and visible(pg, 'th.colh[data-fw="torch"]')
    assert visible(pg, '.case[data-fw="jax"]') == [] and visible(pg, 'svg g[data-fw="jax"]') == []
    assert set(visible(pg, "tr.oprow")) == {"sigmoid", "softmax", "relu", "mystery_op"}  # matmul ran on jax only
    pg.click("#reset")

    # status: only failures
    for box in pg.query_selector_all('#filters input[data-dim="st"]'):
        if box.get_attribute("value") not in ("fail", "error"):
            box.uncheck()
    assert set(visible(pg, "tr.oprow")) == {"sigmoid", "softmax"}
    assert set(visible(pg, "section.op")) == {"sigmoid", "softmax"}
    assert {c.get_attribute("data-st") for c in pg.query_selector_all(".case") if c.is_visible()} == {"fail", "error"}
    assert pg.eval_on_selector('tr.oprow[data-op="sigmoid"] td.c[data-fw="jax"][data-dt="float64"]',
                               "e => e.classList.contains('dim')")  # a passing cell, dimmed
    pg.click("#reset")

    # dtype: float64 only
    pg.uncheck('#filters input[data-dim="dt"][value="float32"]')
    assert visible(pg, 'td.c[data-dt="float32"]') == [] and visible(pg, 'td.c[data-dt="float64"]')
    pg.click("#reset")

    # search: an op name, then text found only in a case's message
    pg.fill("#q", "mystery")
    assert visible(pg, "tr.oprow") == ["mystery_op"] and visible(pg, "section.op") == ["mystery_op"]
    pg.fill("#q", "window.__xss")
    assert visible(pg, "tr.oprow") == ["softmax"]
    assert "showing 1 of 5 ops, 1 non-pass cases" in pg.inner_text("#shown")
    pg.click("#reset")
    assert len(visible(pg, "tr.oprow")) == 5

    # the failing case's repro script: open it, copy it (clipboard or selection, both without errors)
    pg.click('.case[data-st="fail"] details.repro summary')
    assert "torch.autograd.grad" in pg.inner_text('.case[data-st="fail"] details.repro pre')
    button = pg.locator('.case[data-st="fail"] button.copy')
    button.click()
    pg.wait_for_function("b => b.textContent !== 'Copy'", arg=button.element_handle())
    assert button.inner_text() in ("Copied", "Selected: press Ctrl-C")

    shot = tmp_path / "report.png"
    pg.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")
    assert shot.stat().st_size > 10_000
    assert pg.problems == []


def test_merged_report_and_diff_pages_load_clean(tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
    from conformance.cli import main

    a = make_run(tmp_path / "a", run_id="20260101-000000-aaaaaa", version="2.12.0")
    b = make_run(tmp_path / "b", run_id="20260102-000000-bbbbbb", version="2.13.0")
    assert main(["merge", str(a), str(b), "--out", str(tmp_path / "m")]) == 0
    assert main(["diff", str(a), str(b), "--html", str(tmp_path / "diff.html")]) == 0
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for path, expect in ((tmp_path / "m" / "index.html", "Merge notes"), (tmp_path / "diff.html", "no regression")):
            pg = browser.new_page()
            problems: list[str] = []
            pg.on("console", lambda m, problems=problems: problems.append(m.text) if m.type == "error" else None)
            pg.on("pageerror", lambda e, problems=problems: problems.append(str(e)))
            pg.goto(path.as_uri())
            assert expect in pg.inner_text("body") and problems == []
        browser.close()


def test_scoreboard_page_loads_clean_and_links_changes_to_repro_scripts(tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
    from conformance.cli import main
    from tests.synthetic_runs import release_run

    stories = ({"sigmoid": ("pass", 0.1), "softmax": ("fail", 40.0), "relu": ("pass", 0.2)},
               {"sigmoid": ("fail", 30.0), "softmax": ("pass", 0.3), "relu": ("unsupported", None)},
               {"sigmoid": ("pass", 0.2), "softmax": ("pass", 0.3), "relu": ("unsupported", None)})
    runs = [release_run(tmp_path / "runs", v, cells) for v, cells in zip(("2.9.0", "2.10.1", "2.11.0"), stories)]
    out = tmp_path / "site"
    assert main(["scoreboard", str(tmp_path / "sb.sqlite"), "--add", *map(str, runs), "--out", str(out)]) == 0
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        pg = browser.new_page(viewport={"width": 1400, "height": 1000})
        problems: list[str] = []
        pg.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        pg.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        pg.on("request", lambda r: None if r.url.startswith(("file:", "data:", "about:"))
              else problems.append(f"request: {r.url}"))
        pg.goto((out / "index.html").as_uri())
        pg.wait_for_load_state("load")
        assert pg.inner_text("table.scoreboard thead").split() == ["op", "dtype", "torch", "eager", "2.9.0", "2.10.1",
                                                                    "2.11.0"]
        assert len(pg.query_selector_all("table.scoreboard tbody tr")) == 3
        assert "seed 0" in pg.inner_text("#cases")
        assert "3 of 3 op x dtype rows drew the same cases" in pg.inner_text("body")
        kinds = [e.inner_text() for e in pg.query_selector_all("tr.change td:first-child")]
        assert kinds == ["newly failing", "fixed", "newly unsupported", "fixed"]
        # a cell's change mark leads to its change row, whose repro link names a script that exists
        pg.click('table.scoreboard tr[data-op="softmax"] a.b')
        assert pg.evaluate("location.hash") == "#change-1"
        href = pg.get_attribute("#change-1 a[href^='repro/']", "href")
        assert href and (out / href).is_file() and "def reproduce" in (out / href).read_text()
        shot = tmp_path / "scoreboard.png"
        pg.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
        browser.close()
    assert problems == []


def test_the_committed_scoreboard_loads_clean_with_its_columns_and_repro_links() -> None:
    # docs/scoreboard/: the scoreboard of the version matrix's runs made here (issue 17's evidence)
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
    index = Path(__file__).resolve().parents[1] / "docs" / "scoreboard" / "index.html"
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        pg = browser.new_page()
        problems: list[str] = []
        pg.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        pg.on("pageerror", lambda e: problems.append(str(e)))
        pg.goto(index.as_uri())
        versions = pg.eval_on_selector_all("table.scoreboard thead th.colh", "els => els.map(e => e.textContent)")
        links = pg.eval_on_selector_all("tr.change a[href^='repro/']", "els => els.map(e => e.getAttribute('href'))")
        browser.close()
    assert problems == []
    assert len(versions) >= 8
    assert links and all((index.parent / href).is_file() for href in links)
