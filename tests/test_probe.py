"""The xdist controller's view of the built-in frameworks without importing them
(conformance/adapters/probe.py), and run.json completed from what the workers saw."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conformance.adapters import discover, probe
from conformance.session import _frameworks_from_workers
from tests.runner import ROOT, cli


def test_cuda_visible_devices_that_hide_every_gpu_rule_a_gpu_out(monkeypatch):
    for hidden in ("", "-1", " "):
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", hidden)
        assert probe.gpu_may_be_visible() is False


def test_nvidia_smi_or_device_nodes_mean_the_frameworks_must_be_imported(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setattr(probe.shutil, "which", lambda name: "/usr/bin/nvidia-smi")
    assert probe.gpu_may_be_visible() is True
    assert probe.without_import("torch") is None  # only torch itself can list the GPUs


def test_not_installed_framework_gets_a_reason_without_an_import(monkeypatch):
    monkeypatch.setattr(probe, "gpu_may_be_visible", lambda: False)
    monkeypatch.setitem(probe.BUILTIN_PACKAGES, "torch", ("no_such_module_xyz", ("no-such-dist",)))
    assert probe.without_import("torch") == "not installed (no_such_module_xyz)"
    assert probe.without_import("mygrad") is None  # not a built-in: load it as usual


def test_stand_in_reports_version_and_cpu_and_refuses_to_run(monkeypatch):
    monkeypatch.setattr(probe, "gpu_may_be_visible", lambda: False)
    monkeypatch.setitem(probe.BUILTIN_PACKAGES, "torch", ("json", ("pytest",)))  # a module and a dist we have
    stand_in = probe.without_import("torch")
    assert isinstance(stand_in, probe.InstalledFramework)
    assert stand_in.version() == pytest.__version__ and stand_in.devices() == ["cpu"]
    with pytest.raises(RuntimeError, match="only workers run targets"):
        stand_in.vjp(None, {}, {}, None, dtype="float32", device="cpu")
    av = discover(only=["torch"], runs_tests=False)["torch"]
    assert av.available and av.adapter is not None and getattr(av.adapter, "probed", False)


def test_controller_discovery_imports_no_framework():
    code = ("import sys; from conformance.adapters import discover, probe; "
            "found = discover(runs_tests=False); "
            "heavy = [m for m in ('torch', 'tensorflow', 'jax') if m in sys.modules]; "
            "print(probe.gpu_may_be_visible(), heavy, sorted(n for n, a in found.items() if a.available))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    gpu, heavy, _available = out.strip().split(" ", 2)
    if gpu == "True":
        pytest.skip("a GPU may be visible here: the controller imports the frameworks to list devices")
    assert heavy == "[]", out


def test_run_json_takes_framework_details_from_the_workers():
    manifest = {"environment": {"frameworks": {
        "torch": {"available": True, "source": "builtin", "version": "2.13.0+cpu", "devices": ["cpu"],
                  "imported_by": "workers"},
        "fancy": {"available": True, "source": "--adapter x:y", "version": "1"},
        "jax": {"available": True, "source": "builtin", "version": "0.10.2", "devices": ["cpu"],
                "imported_by": "workers"},
    }}, "unavailable": {}}
    workers = [
        {"worker": "gw0", "frameworks": {
            "torch": {"available": True, "source": "builtin", "version": "2.13.0+cpu", "devices": ["cpu"],
                      "cuda": None},
            "jax": {"available": False, "source": "builtin", "reason": "failed to load: ImportError: libx"}}},
        {"worker": "main"},
    ]
    _frameworks_from_workers(manifest, workers, ["torch", "jax"])
    fws = manifest["environment"]["frameworks"]
    assert fws["torch"]["cuda"] is None and "imported_by" not in fws["torch"]
    assert fws["fancy"] == {"available": True, "source": "--adapter x:y", "version": "1"}
    assert fws["jax"]["available"] is False
    assert manifest["unavailable"] == {"jax": "failed to load: ImportError: libx"}


def test_parallel_run_records_the_frameworks_environment_from_its_workers(tmp_path):
    pytest.importorskip("xdist")
    pytest.importorskip("torch")
    res = cli("run", "--frameworks", "torch", "--ops", "sigmoid", "--dtypes", "float64", "--max-examples", "2",
              "--families", "accuracy", "--seed", "4", "-n", "2", "--no-report", "--out", str(tmp_path))
    assert res.code == 0, res.err[-2000:]
    manifest = json.loads((res.run_dir / "run.json").read_text())
    torch_env = manifest["environment"]["frameworks"]["torch"]
    assert "precision_defaults" in torch_env and "imported_by" not in torch_env  # a worker's own view
    assert {w["worker"] for w in manifest["workers"]} >= {"main"}
    assert all("frameworks" not in w for w in manifest["workers"])
