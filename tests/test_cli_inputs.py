"""Bad input gets a clear error before any work; the same command draws the same cases."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.runner import ROOT, TINY, cli

TINY_RUN = ("run", "--adapter", TINY, "--frameworks", "tinygrad", "--max-examples", "5", "-n", "0")


@pytest.mark.parametrize("args, msg", [
    (("--timeout", "-1"), "0 (no limit) or a positive number"),
    (("--timeout", "soon"), "must be a number of seconds"),
    (("--dtypes", "float32,float32"), "dtype 'float32' given more than once"),
    (("--ops", "sigmoid,exp,sigmoid"), "op 'sigmoid' given more than once"),
    (("--precision", "default,default"), "given more than once"),
    (("--devices", "cpu,cpu"), "device 'cpu' given more than once"),
    (("--seed", "tomorrow"), "'random'"),
    (("--seed", "-3"), "from 0 to"),
    (("--values-per-case", "0"), "--values-per-case must be from 1 to"),
    (("--values-per-case", "99999"), "--values-per-case must be from 1 to"),
    (("--shard", "4/3"), "--shard must be i/N with 1 <= i <= N"),
    (("--shard", "0/3"), "--shard must be i/N with 1 <= i <= N"),
    (("--shard", "half"), "--shard must be i/N with 1 <= i <= N"),
])
def test_bad_values_exit_2_naming_the_problem_and_write_nothing(tmp_path: Path, args: tuple[str, ...],
                                                                msg: str) -> None:
    out = tmp_path / "out"
    res = cli(*TINY_RUN, "--ops", "sigmoid", *args, "--out", str(out))
    assert res.code == 2, res.out + res.err
    assert msg in res.err
    assert not out.exists()


def test_an_out_folder_that_cannot_be_created_exits_2_before_any_work(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    res = cli(*TINY_RUN, "--ops", "sigmoid", "--out", str(blocker / "reports"))
    assert res.code == 2 and "is not a folder" in res.err
    if os.geteuid() != 0:  # root may write anywhere: the permission case only means something for users
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        res = cli(*TINY_RUN, "--ops", "sigmoid", "--out", str(locked / "reports"))
        assert res.code == 2 and "permission denied" in res.err


def _cases(res) -> list[str]:
    return sorted(json.dumps([r["op"], r["dtype"], r.get("case_family"), r.get("special"), r.get("seed"),
                              r.get("shapes"), r.get("params"), r.get("repro"), r["status"]], sort_keys=True)
                  for r in res.records())


def test_the_default_seed_draws_the_same_cases_every_time_and_says_so(tmp_path: Path) -> None:
    a = cli(*TINY_RUN, "--ops", "sigmoid,matmul", "--out", str(tmp_path / "a"))
    b = cli(*TINY_RUN, "--ops", "sigmoid,matmul", "--out", str(tmp_path / "b"))
    assert a.code == b.code == 0, a.err[-2000:]
    assert _cases(a) == _cases(b)
    manifest = json.loads((a.run_dir / "run.json").read_text())
    assert manifest["seed"] == 0 and manifest["seed_source"] == "default"
    assert a.summary()["seed"] == 0
    assert "seed 0 (the default" in a.out
    page = (a.run_dir / "index.html").read_text()
    assert "seed 0" in page


def test_seed_random_explores_and_diff_says_the_seeds_differ(tmp_path: Path) -> None:
    a = cli(*TINY_RUN, "--ops", "sigmoid,matmul", "--seed", "random", "--out", str(tmp_path / "a"))
    b = cli(*TINY_RUN, "--ops", "sigmoid,matmul", "--seed", "random", "--out", str(tmp_path / "b"))
    assert a.code == b.code == 0, a.err[-2000:]
    sa, sb = a.summary(), b.summary()
    assert sa["seed_source"] == sb["seed_source"] == "random"
    assert sa["seed"] != sb["seed"]  # two draws from 2**31 seeds
    assert _cases(a) != _cases(b)
    d = cli("diff", str(a.run_dir), str(b.run_dir))
    assert "different seeds" in d.out
    c = cli(*TINY_RUN, "--ops", "sigmoid", "--seed", str(sa["seed"]), "--out", str(tmp_path / "c"))
    d = cli("diff", str(a.run_dir), str(c.run_dir))
    assert "different seeds" not in d.out and "selections differ in ops" in d.out


def test_repro_from_another_folder_finds_the_run(tmp_path: Path) -> None:
    index = tmp_path / "runs-index"
    env = {"VJP_CONFORMANCE_RUNS_INDEX": str(index)}
    res = _cli_env(env, *TINY_RUN, "--ops", "sigmoid", "--out", str(tmp_path / "reports"))
    assert res.code == 0
    rid = next(r["record_id"] for r in res.records() if r["status"] == "pass")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    found = _cli_env(env, "repro", rid, cwd=elsewhere)
    assert found.code == 0, found.err
    assert f"Reproduce vjp-conformance record {rid}" in found.out
    lost = _cli_env({"VJP_CONFORMANCE_RUNS_INDEX": "off"}, "repro", rid, cwd=elsewhere)
    assert lost.code == 2 and "--run-dir" in lost.err


def _cli_env(env: dict[str, str], *args: str, cwd: Path = ROOT):
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return cli(*args, cwd=cwd)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_repro_of_an_error_record_ends_with_the_recorded_verdict(tmp_path: Path) -> None:
    res = cli("run", "--adapter", "tests.fault_adapters:RaisesSometimes", "--frameworks", "tinygrad-raises",
              "--ops", "matmul", "--dtypes", "float64", "--families", "accuracy", "--max-examples", "20", "-n", "0",
              "--out", str(tmp_path / "out"))
    assert res.code == 1
    err = next(r for r in res.records() if r["status"] == "error")
    script = tmp_path / "repro.py"
    made = cli("repro", err["record_id"], "--run-dir", str(res.run_dir), "-o", str(script))
    assert made.code == 0, made.err
    import subprocess
    import sys

    ran = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    lines = ran.stdout.strip().splitlines()
    assert ran.returncode == 1
    assert lines[-2].startswith("this run: error: FloatingPointError: injected failure"), ran.stdout
    assert lines[-1].startswith("recorded: error (FloatingPointError: injected failure"), ran.stdout


def test_every_run_option_is_declared_once_and_forwarded_to_the_suite() -> None:
    """conformance/options.py is the one home: the command line and pytest's --vjp-* come from it,
    and every option given to `run` reaches the suite as its --vjp- twin."""
    import argparse

    from conformance.cli import build_parser
    from conformance.options import RUN_OPTIONS, forwarded

    run = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices["run"]
    flags = {s for a in run._actions for s in a.option_strings}
    assert {f"--{o.name}" for o in RUN_OPTIONS} <= flags
    given = {"int": "7", "flag": None, "repeat": "a.b:C", "value": "x"}
    argv = ["run"]
    for o in RUN_OPTIONS:
        argv += [f"--{o.name}"] + ([given[o.kind]] if given[o.kind] else [])
    a = build_parser().parse_args(argv)
    out = forwarded(a)
    for o in RUN_OPTIONS:
        assert f"--vjp-{o.name}" in out, o.name
    from conformance import plugin

    seen: list[str] = []

    class Group:
        def addoption(self, name: str, **kwargs: object) -> None:
            seen.append(name)

    class Parser:
        def getgroup(self, *args: object) -> Group:
            return Group()

    plugin.pytest_addoption(Parser())  # type: ignore[arg-type]
    assert {f"--vjp-{o.name}" for o in RUN_OPTIONS} <= set(seen)
    assert len(seen) == len(set(seen))
