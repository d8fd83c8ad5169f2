"""The GitHub workflows are valid (GitHub's workflow schema, offline via check-jsonschema), and
they run what the project says they run."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def test_workflows_exist():
    assert {p.name for p in WORKFLOWS} == {"cpu.yml", "nightly-gpu.yml", "scoreboard.yml"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_matches_github_schema(path):
    exe = shutil.which("check-jsonschema")
    if exe is None:
        pytest.skip("check-jsonschema not installed (pip install '.[test]')")
    p = subprocess.run([exe, "--builtin-schema", "vendor.github-workflows", str(path)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr


def test_nightly_gpu_workflow_checks_gpu_runs_both_modes_and_diffs():
    text = (ROOT / ".github" / "workflows" / "nightly-gpu.yml").read_text()
    assert "schedule:" in text and "self-hosted" in text
    assert "scripts/assert-gpu-visible" in text and "scripts/gpu-check" in text
    assert "vjp-conformance diff" in text
    # the diff compares the paths the job writes: tonight's run merged into one stable folder
    diff_line = next(line for line in text.splitlines() if "vjp-conformance diff" in line)
    assert "previous/merged reports/nightly/merged" in diff_line
    assert "vjp-conformance merge reports/nightly/runs/*/ --out reports/nightly/merged" in text
    assert "scripts/gpu-check --seed random --out reports/nightly/runs" in text  # fresh cases each night
    gpu_check = (ROOT / "scripts" / "gpu-check").read_text()
    assert '"strict,default"' in gpu_check


def test_cpu_workflow_runs_ci_script_tox_matrix_and_merge():
    text = (ROOT / ".github" / "workflows" / "cpu.yml").read_text()
    assert "bash .ci/run" in text and "tox -e ${{ matrix.framework }}" in text
    assert "vjp-conformance merge" in text


def test_cpu_workflow_shards_each_framework_and_merges_only_whole_runs():
    import re

    text = (ROOT / ".github" / "workflows" / "cpu.yml").read_text()
    shards = re.search(r"shard: \[([0-9, ]+)\]", text)
    assert shards, "no shard axis in the conformance matrix"
    n = len(shards.group(1).split(","))
    assert n >= 2 and f"--shard ${{{{ matrix.shard }}}}/{n}" in text
    assert "name: report-${{ matrix.framework }}-shard${{ matrix.shard }}" in text  # one artifact per shard
    merge = next(line for line in text.splitlines() if "vjp-conformance merge" in line)
    assert "--allow-partial" not in merge  # a missing shard fails the merge job, by name


def test_scoreboard_workflow_runs_every_release_of_the_list_weekly_and_ingests_them():
    text = (ROOT / ".github" / "workflows" / "scoreboard.yml").read_text()
    assert "schedule:" in text and "cron:" in text
    cron = text.split('cron: "', 1)[1].split('"', 1)[0].split()
    assert cron[2:4] == ["*", "*"] and cron[4] != "*"  # one day of the week: weekly
    # the job matrix is the list itself, and tox.ini's envs are checked against it
    assert "python scripts/version-matrix --check" in text and "scripts/version-matrix --envs-json" in text
    assert "fromJSON(needs.matrix.outputs.releases)" in text
    assert "python-version: ${{ matrix.release.python }}" in text and "tox -e ${{ matrix.release.env }}" in text
    assert "path: reports/matrix/${{ matrix.release.env }}" in text
    ingest = next(line for line in text.splitlines() if "vjp-conformance scoreboard" in line)
    assert "--add downloaded/run-*/*/" in ingest and "--out reports/scoreboard" in ingest


def test_cpu_workflow_caches_jax_programs_where_the_adapter_keeps_them_keyed_by_cpu(monkeypatch):
    import os
    import re

    pytest.importorskip("jax")
    from conformance.adapters import jax_adapter

    monkeypatch.delenv(jax_adapter.CACHE_ENV, raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    home = os.path.expanduser("~")
    default = jax_adapter.compilation_cache_dir()
    assert default is not None and default.startswith(home)
    text = (ROOT / ".github" / "workflows" / "cpu.yml").read_text()
    cache = text.split("uses: actions/cache@", 1)[1].split("- name:", 1)[0]
    assert re.search(r"path: (.+)", cache).group(1).strip() == "~" + default[len(home):]
    key = re.search(r"key: (.+)", cache).group(1)
    # executables are built for the host CPU and the pinned versions: both in the key
    assert "steps.cpu.outputs.id" in key and "hashFiles('constraints.txt')" in key
    cpu = text.split("id: cpu", 1)[1].split("- name:", 1)[0]
    assert "/proc/cpuinfo" in cpu and "flags" in cpu
