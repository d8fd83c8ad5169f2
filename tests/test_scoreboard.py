"""The scoreboard (issue 17): the SQLite store round-trips runs, changes between consecutive
versions are classified, the command line refuses bad input with the valid choices, and the page
and JSON are rendered from the store with no framework installed."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from conformance.outcome import NOT_RUN, STATUSES
from conformance.records import read_run
from conformance.scoreboard import store
from conformance.scoreboard.changes import KINDS, changes, classify, group
from tests.runner import cli
from tests.synthetic_runs import no_framework, release_run

# three releases of one framework; each op's story across them
OLD = {"sigmoid": ("pass", 0.01), "softmax": ("fail", 40.0), "matmul": ("pass", 0.9), "relu": ("pass", 0.2),
       "tanh": ("unsupported", None), "exp": ("error", None), "log": ("known", 12.0)}
MID = {"sigmoid": ("fail", 30.0), "softmax": ("pass", 0.3), "matmul": ("pass", 4.5), "relu": ("unsupported", None),
       "tanh": ("pass", 0.1), "exp": ("fail", 50.0), "log": ("fail", 12.0)}
NEW = dict(MID, sigmoid=("pass", 0.02))


def three_releases(tmp_path: Path) -> list[Path]:
    return [release_run(tmp_path, v, cells) for v, cells in (("2.9.0", OLD), ("2.10.1", MID), ("2.11.0", NEW))]


def test_store_round_trips_cells_records_and_manifests(tmp_path):
    run_dir = release_run(tmp_path, "2.9.0", OLD)
    db = store.connect(tmp_path / "sb.sqlite", create=True)
    done = store.ingest(db, run_dir)
    assert (done.cells, done.replaced) == (7, [])
    summary = json.loads((run_dir / "summary.json").read_text())
    got = {c["op"]: c for c in store.cells(db)}
    for cell in summary["cells"]:
        mine = got[cell["op"]]
        assert {k: mine[k] for k in ("status", "examples", "counts", "worst_bound_ratio", "budget")} == \
               {k: cell[k] for k in ("status", "examples", "counts", "worst_bound_ratio", "budget")}
        assert (mine["framework"], mine["version"], mine["mode"]) == ("torch", "2.9.0", "eager")
    by_id = {r["record_id"]: r for r in read_run(run_dir).records}
    softmax = got["softmax"]
    assert store.record(db, softmax["first_record_id"]) == by_id[softmax["first_record_id"]]  # exact record back
    assert store.manifest(db, done.run_id) == json.loads((run_dir / "run.json").read_text())
    assert [r["seed"] for r in store.runs(db)] == [0]
    # one drawn case per cell, its digest stored
    sigmoid = by_id[got["sigmoid"]["worst_record_id"]]
    assert json.loads(got["sigmoid"]["cases"]) == store.case_digests([sigmoid])
    assert len(store.case_digests([sigmoid])) == 1


def test_ingesting_again_is_idempotent_and_a_newer_run_of_a_cell_replaces_it(tmp_path):
    db = store.connect(tmp_path / "sb.sqlite", create=True)
    first = release_run(tmp_path / "a", "2.9.0", OLD, run_id="20260101-000000-aaaaaa")
    store.ingest(db, first)
    assert store.ingest(db, first).replaced == []
    again = release_run(tmp_path / "b", "2.9.0", dict(OLD, sigmoid=("fail", 20.0)), run_id="20260102-000000-bbbbbb")
    done = store.ingest(db, again)
    assert len(done.replaced) == 7 and "(was run 20260101-000000-aaaaaa)" in done.replaced[0]
    cells = store.cells(db)
    assert len(cells) == 7 and {c["run_id"] for c in cells} == {"20260102-000000-bbbbbb"}
    assert next(c for c in cells if c["op"] == "sigmoid")["status"] == "fail"
    stale = db.execute("SELECT COUNT(*) FROM records WHERE run_id = '20260101-000000-aaaaaa'").fetchone()[0]
    assert stale == 0  # the replaced cells' records went with them


def test_changes_between_consecutive_versions_are_classified(tmp_path):
    db = store.connect(tmp_path / "sb.sqlite", create=True)
    for run_dir in reversed(three_releases(tmp_path)):  # ingest order does not matter: versions are sorted
        store.ingest(db, run_dir)
    found = {(c.old_version, c.new_version, c.row[3]): c.kind for c in changes(store.cells(db))}
    assert found == {
        ("2.9.0", "2.10.1", "sigmoid"): "newly failing",
        ("2.9.0", "2.10.1", "softmax"): "fixed",
        ("2.9.0", "2.10.1", "matmul"): "regressed",  # bound ratio 0.9 -> 4.5 of a budget of 9: more than x2
        ("2.9.0", "2.10.1", "relu"): "newly unsupported",
        ("2.9.0", "2.10.1", "tanh"): "newly supported",
        ("2.9.0", "2.10.1", "exp"): "changed",  # error -> fail
        ("2.10.1", "2.11.0", "sigmoid"): "fixed",
    }  # log: known -> fail is the same failure (the expectation's range ended), not a change


def test_a_change_links_the_same_witness_case_on_both_sides(tmp_path):
    db = store.connect(tmp_path / "sb.sqlite", create=True)
    for version, cells in (("2.9.0", OLD), ("2.10.1", MID)):
        store.ingest(db, release_run(tmp_path, version, cells, witness=True))
    by_version = {c["version"]: c for c in store.cells(db) if c["op"] == "softmax"}
    old_record = by_version["2.9.0"]["first_record_id"]
    same = store.same_case(db, by_version["2.10.1"], old_record)
    assert same is not None and same != old_record
    assert store.case_digest(store.record(db, same)) == store.case_digest(store.record(db, old_record))
    assert store.record(db, same)["framework_version"] == "2.10.1"


def test_a_ratio_change_under_the_floor_or_factor_is_no_regression():
    cell = {"status": "pass", "worst_bound_ratio": 0.1, "budget": 9.0}
    assert classify(cell, dict(cell, worst_bound_ratio=0.5)) is None  # both under 10% of the budget
    assert classify(dict(cell, worst_bound_ratio=3.0), dict(cell, worst_bound_ratio=5.0)) is None  # under x2
    assert classify(dict(cell, worst_bound_ratio=1.0), dict(cell, worst_bound_ratio=3.0))[0] == "regressed"


def test_a_known_cell_is_compared_by_the_verdict_its_expectation_hid():
    known_error = {"status": "known", "verdict": "error", "worst_bound_ratio": None, "budget": None}
    assert classify(known_error, {"status": "error", "verdict": "error"}) is None  # the range ended: same failure
    assert classify(known_error, {"status": "nonfinite", "verdict": "nonfinite"}) == ("changed", "error -> nonfinite")
    assert classify(known_error, {"status": "pass", "verdict": "pass", "worst_bound_ratio": 0.1,
                                  "budget": 9.0})[0] == "fixed"
    assert store.underlying("known", {"expected_status": "nonfinite"}) == "nonfinite"
    assert store.underlying("fail", {"expected_status": "nonfinite"}) == "fail"


cell_states = st.sampled_from([*STATUSES, NOT_RUN, None]).map(
    lambda s: None if s is None else {"status": s, "worst_bound_ratio": 1.0, "budget": 9.0})


@given(cell_states, cell_states)
def test_classification_mirrors_itself(a, b):
    forward, backward = classify(a, b), classify(b, a)
    ga, gb = group(a["status"] if a else None), group(b["status"] if b else None)
    if forward and forward[0] == "fixed":
        assert backward and backward[0] == "newly failing"
    if forward and forward[0] == "newly supported":
        assert backward and backward[0] == "newly unsupported"
    if ga == gb and ga != "fail":
        assert forward is None  # same group, same ratio: nothing to report
    assert forward is None or forward[0] in KINDS


def test_cli_ingests_and_renders_page_json_and_repro_scripts(tmp_path):
    runs = three_releases(tmp_path / "runs")
    db, out = tmp_path / "sb.sqlite", tmp_path / "site"
    res = cli("scoreboard", str(db), "--add", *map(str, runs), "--out", str(out))
    assert res.code == 0, res.err
    assert "3 columns, 21 cells" in res.out and "2 fixed" in res.out
    data = json.loads((out / "scoreboard.json").read_text())
    assert [(c["framework"], c["version"]) for c in data["columns"]] == [("torch", "2.9.0"), ("torch", "2.10.1"),
                                                                          ("torch", "2.11.0")]
    assert data["cases"]["seed"] == "0" and data["cases"]["same_seed"] and data["cases"]["same_selection"]
    assert data["cases"]["drawn"] == {"rows": 7, "same": 7, "differing": []}
    assert data["change_counts"] == {"newly failing": 1, "regressed": 1, "fixed": 2, "newly unsupported": 1,
                                     "newly supported": 1, "changed": 1}
    fixed = next(c for c in data["changes"] if c["kind"] == "fixed" and c["op"] == "softmax")
    assert fixed["old"]["status"] == "fail" and fixed["new"]["status"] == "pass"
    for path in fixed["repro"]:  # both sides' records, each a standalone script
        script = (out / path).read_text()
        compile(script, path, "exec")
        assert "def reproduce" in script
    page = (out / "index.html").read_text()
    assert "seed <code>0</code>" in page and 'id="change-0"' in page and fixed["repro"][0] in page


def test_scoreboard_renders_with_no_framework_installed(tmp_path):
    runs = three_releases(tmp_path / "runs")
    code = (f"from conformance.cli import main\nimport sys\nsys.exit(main(['scoreboard', {str(tmp_path / 'sb')!r}, "
            f"'--add', *{[str(r) for r in runs]!r}, '--out', {str(tmp_path / 'site')!r}]))")
    p = no_framework(code)
    assert p.returncode == 0, p.stderr[-3000:]
    assert (tmp_path / "site" / "index.html").exists()


def test_cli_refuses_bad_input_saying_what_would_do(tmp_path):
    run_dir = release_run(tmp_path, "2.9.0", OLD)
    res = cli("scoreboard", str(tmp_path / "sb.sqlite"))
    assert res.code == 2 and "--add RUN_DIR" in res.err and "--out DIR" in res.err
    res = cli("scoreboard", str(tmp_path / "missing.sqlite"), "--out", str(tmp_path / "site"))
    assert res.code == 2 and "no such scoreboard database" in res.err and "--add" in res.err
    assert not (tmp_path / "missing.sqlite").exists()
    res = cli("scoreboard", str(tmp_path / "sb.sqlite"), "--add", str(run_dir), str(tmp_path / "nowhere"))
    assert res.code == 2 and "not a directory" in res.err
    assert not (tmp_path / "sb.sqlite").exists()  # every input is checked before the store is made
    res = cli("scoreboard", str(tmp_path / "sb.sqlite"), "--add", str(tmp_path))
    assert res.code == 2 and "no run.json here" in res.err
    not_db = tmp_path / "notes.txt"
    not_db.write_text("hello, this is not SQLite")
    res = cli("scoreboard", str(not_db), "--add", str(run_dir))
    assert res.code == 2 and "not a scoreboard database" in res.err
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)").connection.commit()
    with sqlite3.connect(other) as c:
        c.execute("INSERT INTO meta VALUES ('schema', '99')")
    res = cli("scoreboard", str(other), "--out", str(tmp_path / "site"))
    assert res.code == 2 and "scoreboard schema 99" in res.err
