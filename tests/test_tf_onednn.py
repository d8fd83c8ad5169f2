"""The TensorFlow adapter with oneDNN on and off: grouped convolutions run in every dtype either way.

TensorFlow reads ``TF_ENABLE_ONEDNN_OPTS`` once, at import, so each setting runs in its own
subprocess. There the adapter runs grouped_conv2d and grouped_conv2d_bias (the failing case of the
report, x [1,1,1,2], w [1,1,1,2], groups 2, and a few strided, dilated, explicitly padded ones)
through the suite's own comparison (conformance.execute.run_example against the oracle) in float16,
bfloat16, float32 and float64, and reports the path each dtype took, TensorFlow's own answer on
oneDNN, and what a plain grouped tf.nn.convolution VJP does in that process.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from conformance.cpuinfo import cpu_info
from tests.runner import ROOT

pytest.importorskip("tensorflow")

DTYPES = ("float16", "bfloat16", "float32", "float64")
GROUPED_ERROR = "Gradients for grouped convolutions are not supported on CPU"
# TensorFlow's DefaultOneDnnPolicy on Linux x86 (tensorflow/core/util/port.cc)
ONEDNN_DEFAULT_FEATURES = ("avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_int8", "amx_bf16")

SCRIPT = textwrap.dedent("""
    import json
    import sys

    import numpy as np

    from conformance.adapters.tf_adapter import TensorFlowAdapter
    from conformance.adapters.tf_ops.onednn import _grouped_probe
    from conformance.case import Case
    from conformance.dtypes import get_dtype
    from conformance.execute import Target, run_example
    from conformance.registry import get_op
    from conformance.tolerances import Tolerances

    CASES = [  # (x shape, w shape, params)
        ((1, 1, 1, 2), (1, 1, 1, 2), {"stride": (1, 1), "dilation": (1, 1), "padding": "VALID", "groups": 2}),
        ((2, 5, 4, 4), (2, 3, 2, 4), {"stride": (2, 1), "dilation": (1, 1), "padding": "SAME", "groups": 2}),
        ((1, 4, 5, 2), (2, 2, 1, 4), {"stride": (1, 2), "dilation": (1, 1), "padding": "VALID", "groups": 2}),
        ((1, 6, 5, 4), (3, 2, 1, 8), {"stride": (1, 1), "dilation": (2, 1), "padding": [[1, 0], [2, 1]],
                                      "groups": 4}),
    ]
    adapter = TensorFlowAdapter()
    tol = Tolerances.load()
    rng = np.random.default_rng(3)
    records = []
    for op in ("grouped_conv2d", "grouped_conv2d_bias"):
        spec = get_op(op)
        for dtype in sys.argv[1].split(","):
            npdt = get_dtype(dtype).numpy
            for xs, ws, params in CASES:
                shapes = {"x": xs, "w": ws, **({"bias": (ws[-1],)} if op.endswith("_bias") else {})}
                inputs = {k: rng.standard_normal(s).astype(npdt) for k, s in shapes.items()}
                z = spec.reference(**{k: v.astype(np.float64) for k, v in inputs.items()}, **params)
                case = Case(op, dtype, inputs, params, rng.standard_normal(np.shape(z)).astype(npdt))
                rec = run_example(Target(op, "tensorflow", "cpu", dtype), spec, case, adapter, tol,
                                  run_id="t", framework_version=adapter.version())
                records.append({k: rec.get(k) for k in ("op", "dtype", "shapes", "status", "message",
                                                        "bound_ratio", "budget")})
    print(json.dumps({
        "records": records,
        "describe": {op: adapter.describe(get_op(op)) for op in ("grouped_conv2d", "grouped_conv2d_bias")},
        "onednn": adapter.environment()["onednn"],
        "plain_grouped_vjp": {dt: _grouped_probe(dt) for dt in sys.argv[1].split(",")},
    }))
""")


def run_in_subprocess(env_value: str | None, dtypes: tuple[str, ...] = DTYPES) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))
    if env_value is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = env_value
    proc = subprocess.run([sys.executable, "-c", SCRIPT, ",".join(dtypes)], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def linux_x86() -> bool:
    return sys.platform.startswith("linux") and platform.machine() in ("x86_64", "AMD64")


@pytest.mark.parametrize("env_value", ["0", "1"])
def test_grouped_conv_vjp_matches_oracle_with_onednn_off_and_on(env_value: str) -> None:
    out = run_in_subprocess(env_value)
    state = out["onednn"]
    assert state["source"] == "env" and state["env"] == env_value
    assert state["reason"].startswith(f"TF_ENABLE_ONEDNN_OPTS={env_value}")
    if env_value == "0":
        assert state["enabled"] is False
    elif linux_x86():  # TensorFlow's Linux x86 wheels are built with oneDNN
        assert state["enabled"] is True

    # every case of both ops, every dtype: run through TensorFlow, right by the suite's comparison
    recs = out["records"]
    assert len(recs) == 2 * len(DTYPES) * 4
    bad = [r for r in recs if r["status"] != "pass"]
    assert not bad, bad
    assert all(r["bound_ratio"] is not None and r["bound_ratio"] <= r["budget"] for r in recs)

    for op, desc in out["describe"].items():
        assert desc["onednn"]["enabled"] is state["enabled"], op
        paths = desc["paths"]["cpu"]
        assert set(paths) == set(DTYPES)
        for dt, path in paths.items():
            plain = out["plain_grouped_vjp"][dt]
            takes = state["dtypes_on_this_cpu"][dt]
            # native exactly where TensorFlow says oneDNN runs this dtype and the native VJP works
            assert (path["path"] == "native") == bool(state["enabled"] and takes and plain is None), (op, dt, path)
            if path["path"] == "per-group" and not (state["enabled"] and takes):
                assert plain is not None and GROUPED_ERROR in plain, (dt, plain)  # composing is needed
            assert path["why"], (op, dt)
        if env_value == "0":
            assert {p["path"] for p in paths.values()} == {"per-group"}
            assert all("oneDNN is off" in p["why"] for p in paths.values())
        elif state["enabled"]:
            # TensorFlow's oneDNN takes float32 on every CPU: the native path stays under test
            assert state["dtypes_on_this_cpu"]["float32"] is True and paths["float32"]["path"] == "native"
            assert paths["float64"]["path"] == "per-group"  # oneDNN never takes float64


@pytest.mark.skipif(not linux_x86(), reason="TensorFlow's default oneDNN policy checked here is Linux x86's")
@pytest.mark.parametrize("env_value", [None, "yes"])
def test_default_onednn_setting_follows_tensorflow_policy(env_value: str | None) -> None:
    """Unset (or a value TensorFlow ignores): oneDNN is on exactly when the CPU has one of the
    features of TensorFlow's default policy; the record says it was TensorFlow's default."""
    out = run_in_subprocess(env_value, dtypes=("float32",))
    state = out["onednn"]
    assert state["source"] == "default" and state["env"] == env_value
    assert "TensorFlow's default for this CPU" in state["reason"]
    if env_value is not None:
        assert "ignored" in state["reason"]
    features = cpu_info()["features"]
    if features is None:
        pytest.skip("no CPU flags to compare TensorFlow's default with")
    assert state["enabled"] is any(f in features for f in ONEDNN_DEFAULT_FEATURES), (state, features)
    assert [r["status"] for r in out["records"]] == ["pass"] * 8


def test_onednn_env_parsing_matches_tensorflow() -> None:
    from conformance.cpuinfo import tf_onednn_setting as onednn_env_setting

    assert [onednn_env_setting(v) for v in ("0", "false", "FALSE", "1", "true", "True")] == [False] * 3 + [True] * 3
    assert [onednn_env_setting(v) for v in (None, "", " 1", "2", "yes", "on")] == [None] * 6


def test_ops_json_states_the_grouped_path(tmp_path: Path) -> None:
    """``vjp-conformance ops --json``: each grouped op's TensorFlow entry says which path each dtype
    takes in this process, and why."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT), "TF_ENABLE_ONEDNN_OPTS": "0"}
    proc = subprocess.run([sys.executable, "-m", "conformance", "ops", "--json"], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    for op in ("grouped_conv2d", "grouped_conv2d_bias"):
        tf_entry = rows[op]["frameworks"]["tensorflow"]
        assert tf_entry["onednn"] == {"enabled": False, "reason": "TF_ENABLE_ONEDNN_OPTS=0"}
        assert set(tf_entry["paths"]["cpu"]) == set(rows[op]["dtypes"])
        assert {p["path"] for p in tf_entry["paths"]["cpu"].values()} == {"per-group"}
        assert "tf.split" in tf_entry["call"]
    assert "paths" not in rows["conv2d"]["frameworks"]["tensorflow"]  # only where the path depends on it
