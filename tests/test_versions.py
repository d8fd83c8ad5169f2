"""The version matrix (conformance/versions.toml) is the one list: tox.ini's version envs are
generated from it, each installs from constraints.txt with its pins swapped in, and each runs the
same fixed-seed selection."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from importlib.machinery import SourceFileLoader
from pathlib import Path

import pytest
from packaging.version import Version

from conformance import versions

ROOT = Path(__file__).resolve().parents[1]


def _script(name: str):
    loader = SourceFileLoader(name.replace("-", "_"), str(ROOT / "scripts" / name))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_the_list_covers_the_releases_the_scoreboard_promises():
    m = versions.load()
    jax = [Version(r.version) for r in m.of("jax")]
    tf = [Version(r.version) for r in m.of("tensorflow")]
    assert len(jax) >= 5 and jax[0] == Version("0.4.30") and jax[-1] == Version("0.12.0.1")
    assert len(tf) >= 3 and tf[0].release[:2] == (2, 16) and tf[-1].release[:2] == (2, 21)
    assert "2.13.0" in [r.version for r in m.of("torch")]
    for r in m.releases:  # jax 0.11 and newer need Python 3.12
        new_jax = r.framework == "jax" and Version(r.version) >= Version("0.11")
        assert (Version(r.python) >= Version("3.12")) == new_jax


def test_tox_ini_holds_the_generated_envs():
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / "version-matrix"), "--check"], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    tox_ini = (ROOT / "tox.ini").read_text()
    m = versions.load()
    for r in m.releases:
        assert f"[testenv:{r.env}]" in tox_ini
        section = tox_ini.split(f"[testenv:{r.env}]", 1)[1].split("\n\n", 1)[0]
        assert f"basepython = python{r.python}" in section
        assert f"scripts/pip-install-pinned {' '.join(r.pins)} " in section
        assert " ".join(versions.run_arguments(m)) in section and f"--frameworks {r.framework}" in section
    assert "[testenv:{torch,tensorflow,jax}]" in tox_ini  # the envs of before stay
    for env in ("tests", "modes", "avx2", "report", "torch2.14", "scoreboard"):
        assert f"[testenv:{env}]" in tox_ini


def test_every_column_runs_the_same_fixed_seed_selection():
    args = versions.run_arguments(versions.load())
    assert args[:2] == ["--seed", "0"] and "random" not in args


def test_the_splice_replaces_only_the_generated_block():
    block = versions.tox_block(versions.load())
    before = "[tox]\nenvlist = tests\n"
    once = versions.spliced(before, block)
    assert once.startswith(before) and once.count(versions.BEGIN) == 1
    assert versions.spliced(once + "[testenv:after]\n", block).endswith("[testenv:after]\n")
    assert versions.spliced(versions.spliced(once, block), block) == once


def test_pip_install_pinned_swaps_every_line_of_a_pinned_package():
    swapped = _script("pip-install-pinned").swapped
    constraints = ('jax==0.10.2; python_version < "3.12"\njax==0.12.0.1; python_version >= "3.12"\n'
                   "jaxlib==0.10.2\nml_dtypes==0.6.0\nnumpy==2.4.6\n")
    out = swapped(constraints, ["jax==0.4.30", "jaxlib==0.4.30", "ml-dtypes==0.4.1"]).splitlines()
    assert out == ["numpy==2.4.6", "jax==0.4.30", "jaxlib==0.4.30", "ml-dtypes==0.4.1"]


def test_a_bad_list_is_refused(tmp_path):
    bad = tmp_path / "versions.toml"
    bad.write_text('[run]\nseed = 0\n[[release]]\nframework = "jax"\nversion = "0.5.3"\npython = "3.11"\n'
                   'pins = ["jax==0.5.2"]\n')
    with pytest.raises(ValueError, match="no pin of that version"):
        versions.load(bad)
    bad.write_text('[[release]]\nframework = "jax"\nversion = "0.5.3"\npython = "3.11"\npins = ["jax==0.5.3"]\n'
                   '[[release]]\nframework = "jax"\nversion = "0.5.1"\npython = "3.11"\npins = ["jax==0.5.1"]\n')
    with pytest.raises(ValueError, match="share the tox env jax0.5"):
        versions.load(bad)
