"""``run --shard i/N`` splits a run's targets for a CI matrix; ``merge`` puts the shards back
together and says which shard is missing or repeated."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.modes import BUILTIN_MODES, expand
from conformance.selection import SelectionError, parse_selection, parse_shard, shard_of, targets
from tests.runner import TINY, cli


def _catalogue_targets() -> list:
    sel = parse_selection(frameworks="torch,tensorflow,jax", devices=None, ops=None, dtypes=None,
                          precision="default,strict", profile=None, max_examples=None, seed=0,
                          known_frameworks=["torch", "tensorflow", "jax"])
    return targets(sel, {"torch": ["cpu"], "tensorflow": ["cpu"], "jax": ["cpu", "cuda:0"]})


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_shards_partition_the_targets(n: int) -> None:
    every = _catalogue_targets()
    shards = [shard_of(every, i, n) for i in range(1, n + 1)]
    ids = [t.id for s in shards for t in s]
    assert sorted(ids) == sorted(t.id for t in every) and len(ids) == len(set(ids))  # each in exactly one
    sizes = [len(s) for s in shards]
    assert max(sizes) - min(sizes) <= 1
    for s in shards:  # a shard keeps the selection's order
        order = [every.index(t) for t in s]
        assert order == sorted(order)
    assert shards == [shard_of(list(reversed(every)), i, n)[::-1] for i in range(1, n + 1)]  # order-free split


def test_shards_mix_the_modes_and_frameworks() -> None:
    """Every shard of a compiled-modes run gets some of every (framework, mode): in id order a
    shard count that divides the modes' period once put all of torch ``compile`` in one shard."""
    sel = parse_selection(frameworks="torch,tensorflow,jax", devices=None, ops=None, dtypes="float32,float64",
                          precision=None, profile=None, max_examples=None, seed=0, modes="eager,compiled",
                          known_frameworks=["torch", "tensorflow", "jax"])
    modes = {fw: expand(sel.modes, BUILTIN_MODES[fw]) for fw in sel.frameworks}
    every = targets(sel, {"torch": ["cpu"], "tensorflow": ["cpu"], "jax": ["cpu"]}, modes)
    kinds = {(t.framework, t.mode) for t in every}
    assert len(kinds) == 8
    for n in (2, 4, 8):
        for i in range(1, n + 1):
            shard = shard_of(every, i, n)
            for kind in kinds:
                share = sum((t.framework, t.mode) == kind for t in shard) / len(shard)
                assert share > 0.5 / len(kinds), (n, i, kind, share)  # no kind starved or piled up


def test_shard_values_are_checked() -> None:
    assert parse_shard("2/3") == (2, 3) and parse_shard(None) is None
    for bad in ("3", "0/2", "3/2", "1/0", "a/b", "1/2/3"):
        with pytest.raises(SelectionError, match="i/N"):
            parse_shard(bad)


TINY_RUN = ("run", "--adapter", TINY, "--frameworks", "tinygrad", "--ops", "sigmoid,softmax,matmul,exp",
            "--dtypes", "float32,float64", "--max-examples", "2", "--values-per-case", "2", "-n", "0")


def _shard(tmp_path: Path, i: int, n: int = 3, name: str = "") -> Path:
    res = cli(*TINY_RUN, "--shard", f"{i}/{n}", "--out", str(tmp_path / (name or f"shard{i}")))
    assert res.code == 0 and res.run_dir is not None, res.err[-2000:]
    return res.run_dir


def _cells(summary: dict) -> list[tuple]:
    return sorted((c["op"], c["dtype"], c["examples"], c["value_sets"]) for c in summary["cells"])


def test_sharded_runs_merge_into_the_whole_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    whole = cli(*TINY_RUN, "--out", str(tmp_path / "whole"))
    assert whole.code == 0
    shards = [_shard(tmp_path, i) for i in (1, 2, 3)]
    manifests = [json.loads((d / "run.json").read_text()) for d in shards]
    assert [m["shard"]["index"] for m in manifests] == [1, 2, 3]
    assert len({m["shard"]["selection"] for m in manifests}) == 1
    assert sum(len(m["targets"]) for m in manifests) == manifests[0]["shard"]["of_targets"] == 8
    assert main(["merge", *map(str, shards), "--out", str(tmp_path / "merged")]) == 0
    assert "shards: 3 of 3" in capsys.readouterr().out
    merged = json.loads((tmp_path / "merged" / "summary.json").read_text())
    assert _cells(merged) == _cells(whole.summary()) and not merged["not_run"]
    assert merged["merge"]["shards"][0]["missing"] == [] and merged["merge"]["partial"] == []

    # one shard missing: refused, naming it; nothing written
    assert main(["merge", str(shards[0]), str(shards[2]), "--out", str(tmp_path / "partial")]) == 2
    err = capsys.readouterr().err
    assert "shard 2/3 missing" in err and "--allow-partial" in err
    assert not (tmp_path / "partial" / "summary.json").exists()
    # ... unless asked to merge what there is
    assert main(["merge", str(shards[0]), str(shards[2]), "--out", str(tmp_path / "partial"),
                 "--allow-partial"]) == 0
    assert "partial (--allow-partial): " in capsys.readouterr().out
    partial = json.loads((tmp_path / "partial" / "summary.json").read_text())
    assert partial["merge"]["shards"][0]["missing"] == [2] and partial["merge"]["partial"]

    # the same shard from two runs: refused, naming it
    again = _shard(tmp_path, 1, name="shard1-again")
    assert main(["merge", *map(str, shards), str(again), "--out", str(tmp_path / "twice")]) == 2
    assert "shard 1/3 given 2 times" in capsys.readouterr().err

    # a merge of merged shards is still complete
    assert main(["merge", str(tmp_path / "merged"), "--out", str(tmp_path / "remerged")]) == 0


def test_shards_of_another_selection_do_not_complete_a_run(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    a = _shard(tmp_path, 1, 2)
    res = cli(*TINY_RUN, "--shard", "2/2", "--seed", "9", "--out", str(tmp_path / "other-seed"))
    assert res.code == 0
    assert main(["merge", str(a), str(res.run_dir), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert err.count("missing") == 2 and "shard 2/2 missing" in err and "shard 1/2 missing" in err
