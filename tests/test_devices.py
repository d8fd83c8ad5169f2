"""Devices are first-class: discovery, placement on the device an adapter reports, and clear
errors for devices that are not there. GPU cases skip with a reason where no GPU is visible."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conformance.adapters import BUILTIN, load
from conformance.registry import get_op
from conformance.selection import SelectionError, parse_selection, resolve_devices
from tests.runner import cli


def adapter(name):
    av = load(BUILTIN[name], name, "builtin")
    if not av.available:
        pytest.skip(f"{name} unavailable: {av.reason}")
    return av.adapter


def matmul_inputs():
    rng = np.random.default_rng(0)
    return {"x": rng.standard_normal((3, 4)).astype(np.float32), "y": rng.standard_normal((4, 2)).astype(np.float32)}


def test_cpu_precision_runs_the_cpu_in_its_own_modes_and_the_gpu_in_all():
    from conformance.selection import targets

    sel = parse_selection(frameworks="torch", devices=None, ops="matmul", dtypes="float32",
                          precision="strict,default", profile=None, max_examples=None, seed=0,
                          known_frameworks=["torch"], cpu_precision="default")
    got = sorted((t.device, t.precision) for t in targets(sel, {"torch": ["cpu", "cuda:0"]}))
    assert got == [("cpu", "default"), ("cuda:0", "default"), ("cuda:0", "strict")]
    sel.cpu_precisions = None  # without it the CPU runs every selected mode
    assert len(targets(sel, {"torch": ["cpu", "cuda:0"]})) == 4


@pytest.mark.parametrize("name", list(BUILTIN))
def test_devices_list_cpu_first_then_cuda(name):
    devs = adapter(name).devices()
    assert devs[0] == "cpu"
    assert all(d.startswith("cuda:") and d[5:].isdigit() for d in devs[1:])


def torch_devices_seen(device):
    torch = pytest.importorskip("torch")
    from torch.overrides import TorchFunctionMode

    seen = set()

    class Record(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            for a in list(args) + list((kwargs or {}).values()):
                if isinstance(a, torch.Tensor):
                    seen.add(str(a.device))
            return func(*args, **(kwargs or {}))

    ad = adapter("torch")
    with Record():
        out = ad.vjp(get_op("matmul"), matmul_inputs(), {}, np.ones((3, 2), np.float32), dtype="float32",
                     device=device)
    return seen, out


def test_torch_runs_on_cpu_when_asked():
    seen, out = torch_devices_seen("cpu")
    assert seen == {"cpu"} and isinstance(out["x"], np.ndarray)


@pytest.mark.parametrize("name", ["torch", "jax"])
def test_gpu_placement_and_readback(name):
    ad = adapter(name)
    gpus = [d for d in ad.devices() if d.startswith("cuda:")]
    if not gpus:
        pytest.skip(f"no CUDA device visible to {name}")
    for dev in gpus:
        if name == "torch":
            seen, out = torch_devices_seen(dev)
            assert seen == {dev}
        else:
            import jax

            placed = []
            real_put = jax.device_put

            def spy(x, d=None, *a, placed=placed, real_put=real_put, **k):
                placed.append(str(d))
                return real_put(x, d, *a, **k)

            jax.device_put = spy
            try:
                out = ad.vjp(get_op("matmul"), matmul_inputs(), {}, np.ones((3, 2), np.float32),
                             dtype="float32", device=dev)
            finally:
                jax.device_put = real_put
            assert placed and all("cuda" in p.lower() or "gpu" in p.lower() for p in placed)
        assert isinstance(out["x"], np.ndarray) and out["x"].dtype == np.float32


def test_asking_for_a_missing_device_is_an_error_not_a_cpu_run():
    from conformance.adapters import Availability

    class CpuOnly:
        name = "cpuonly"

        def devices(self):
            return ["cpu"]

    fws = {"cpuonly": Availability("cpuonly", CpuOnly())}
    for devices in ("cuda", "cuda:0"):
        sel = parse_selection(frameworks="cpuonly", devices=devices, ops=None, dtypes=None, precision=None,
                              profile=None, max_examples=None, seed=0, known_frameworks=["cpuonly"])
        with pytest.raises(SelectionError, match="not visible to any selected framework; visible devices: cpu"):
            resolve_devices(sel, fws)
    sel = parse_selection(frameworks="cpuonly", devices=None, ops=None, dtypes=None, precision=None,
                          profile=None, max_examples=None, seed=0, known_frameworks=["cpuonly"])
    assert resolve_devices(sel, fws) == {"cpuonly": ["cpu"]}


@pytest.mark.parametrize("name", list(BUILTIN))
def test_precision_modes_switch_and_are_reported(name):
    ad = adapter(name)
    strict = ad.set_precision("strict")
    # strict: every reduced-precision switch the adapter reports is off (JAX: highest precision)
    assert strict and all(v is False or v == "highest" for v in strict.values()), strict
    default = ad.set_precision("default")
    assert set(default) == set(strict)  # the same switches, back at the framework's own defaults
    assert default != strict  # each framework's own default relaxes at least one of them
    assert ad.set_precision("strict") == strict  # switching back and forth is repeatable
    with pytest.raises(ValueError, match="valid"):
        ad.set_precision("fast")
    env = ad.environment()
    assert env["version"] == ad.version() and "precision_defaults" in env


def test_jax_compilation_cache_location_and_switch(monkeypatch):
    jax_adapter = pytest.importorskip("conformance.adapters.jax_adapter")
    monkeypatch.delenv(jax_adapter.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", "/somewhere")
    assert jax_adapter.compilation_cache_dir() == "/somewhere/vjp-conformance/jax"
    for off in ("off", "0", "", "no"):
        monkeypatch.setenv(jax_adapter.CACHE_ENV, off)
        assert jax_adapter.compilation_cache_dir() is None
    monkeypatch.setenv(jax_adapter.CACHE_ENV, "/tmp/x")
    assert jax_adapter.compilation_cache_dir() == "/tmp/x"


def test_jax_run_fills_the_compilation_cache_and_records_it(tmp_path, monkeypatch):
    pytest.importorskip("jax")
    cache = tmp_path / "jax-cache"
    monkeypatch.setenv("VJP_CONFORMANCE_JAX_CACHE", str(cache))
    res = cli("run", "--frameworks", "jax", "--ops", "exp,matmul", "--dtypes", "float32", "--max-examples", "3",
              "--families", "accuracy", "--seed", "1", "--out", str(tmp_path / "out"), "-n", "1")
    assert res.code == 0, res.err[-2000:]
    assert any(cache.rglob("*")), "no executable was cached"
    env = json.loads((res.run_dir / "run.json").read_text())["environment"]["frameworks"]["jax"]
    assert env["compilation_cache"] == str(cache)
