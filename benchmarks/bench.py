"""Speed figures for the suite: examples per second, the framework floor, the oracle, case
generation, the overhead ratio suite / floor, growth with tensor size, and -n 2 speed-up.

    python benchmarks/bench.py                 # every stage, every installed framework
    python benchmarks/bench.py --only stages --frameworks torch --examples 20
    python benchmarks/bench.py --only sizes    # oracle vs framework as tensors grow
    python benchmarks/bench.py --only parallel # the default run with -n 1 and -n 2

Results are printed and written as JSON to benchmarks/results/<stamp>.json.

Stages are measured in-process on the same cases the suite draws:
- generation: Hypothesis drawing the cases (structure from Hypothesis, values from a seeded rng);
- floor:      adapter.vjp alone on those cases (the framework's own VJP, with the conversions
              from and to NumPy that any cross-framework test needs);
- oracle:     the reference VJP; compare: figures and verdict; record: JSON encoding + write;
- suite:      the real `vjp-conformance run` wall time for the same selection (subprocess),
              minus that command's fixed start-up (imports), divided by its examples.
overhead ratio = suite seconds per example / floor seconds per example.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def draw_cases(spec, dtype: str, n: int, seed: int = 0) -> tuple[list, float]:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed

    from conformance.strategies import cases

    out: list = []

    @settings(max_examples=n, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @hseed(seed)
    @given(case=cases(spec, dtype))
    def collect(case):
        out.append(case)

    t0 = time.perf_counter()
    collect()
    return out, time.perf_counter() - t0


def stage_figures(frameworks: list[str], dtypes: list[str], examples: int, ops: list[str] | None) -> dict:
    from conformance.adapters import discover
    from conformance.compare import compare, figures_json
    from conformance.dtypes import get_dtype
    from conformance.execute import Target, run_example
    from conformance.records import RecordWriter
    from conformance.registry import all_ops
    from conformance.tolerances import Tolerances

    tol = Tolerances.load()
    found = discover(only=frameworks)
    specs = [s for n, s in all_ops().items() if not ops or n in ops]
    result: dict = {}
    for fw in frameworks:
        av = found[fw]
        if not av.available:
            result[fw] = {"unavailable": av.reason}
            continue
        ad = av.adapter
        t = {"generation": 0.0, "floor": 0.0, "oracle": 0.0, "compare": 0.0, "record": 0.0, "examples": 0}
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "parts").mkdir()
            writer = RecordWriter(Path(tmp), "bench")
            for spec in specs:
                for dtype in dtypes:
                    if ad.supports(spec, dtype, "cpu") is not True:
                        continue
                    cs, gen = draw_cases(spec, dtype, examples)
                    t["generation"] += gen
                    try:  # warm-up (first-call dispatch, compilation) is not the floor
                        ad.vjp(spec, dict(cs[0].inputs), dict(cs[0].params), cs[0].cotangent, dtype=dtype,
                               device="cpu")
                    except Exception:
                        pass
                    for c in cs:
                        try:
                            t0 = time.perf_counter()
                            got = ad.vjp(spec, dict(c.inputs), dict(c.params), c.cotangent, dtype=dtype,
                                         device="cpu")
                            t1 = time.perf_counter()
                        except Exception:
                            continue
                        with np.errstate(all="ignore"):
                            ref = spec.reference_vjp(**c.oracle_inputs(), dz=c.cotangent.astype(np.float64),
                                                     **c.params)
                        t2 = time.perf_counter()
                        try:
                            budget = tol.budget(spec.name)
                            figures_json(compare(got, ref, get_dtype(dtype),
                                                 lambda n, g, b=budget: b.for_terms(g.terms)))
                        except Exception:
                            pass
                        t3 = time.perf_counter()
                        rec = run_example(Target(spec.name, fw, "cpu", dtype), spec, c, _Replay(got), tol,
                                          run_id="bench", framework_version="")
                        t4 = time.perf_counter()
                        writer.write(rec)
                        t5 = time.perf_counter()
                        t["floor"] += t1 - t0
                        t["oracle"] += t2 - t1
                        t["compare"] += t3 - t2
                        t["record"] += t5 - t4
                        t["examples"] += 1
            writer.close()
        n = max(t["examples"], 1)
        result[fw] = {k: (v / n if k != "examples" else v) for k, v in t.items()}
        result[fw]["unit"] = "seconds per example"
    return result


class _Replay:
    """An adapter that hands back gradients already computed (so run_example's own cost, minus
    the framework call, is what is timed under 'record')."""

    def __init__(self, got):
        self.got = got

    def vjp(self, *a, **k):
        return self.got


def suite_figures(frameworks: list[str], dtypes: list[str], examples: int, ops: list[str] | None,
                  jobs: str = "1") -> dict:
    out = {}
    for fw in frameworks:
        with tempfile.TemporaryDirectory() as tmp:
            base = [sys.executable, "-m", "conformance", "run", "--frameworks", fw, "--dtypes", ",".join(dtypes),
                    "--max-examples", str(examples), "--seed", "0", "--families", "accuracy", "--no-report",
                    "-n", jobs, "--out", tmp]
            if ops:
                base += ["--ops", ",".join(ops)]
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            t0 = time.perf_counter()
            subprocess.run([*base[:4], "--frameworks", fw, "--ops", "sigmoid", "--dtypes", "float64",
                            "--max-examples", "1", "--families", "accuracy", "--no-report", "--out", tmp],
                           env=env, capture_output=True)
            startup = time.perf_counter() - t0
            t0 = time.perf_counter()
            p = subprocess.run(base, env=env, capture_output=True, text=True)
            wall = time.perf_counter() - t0
            runs = sorted(Path(tmp).iterdir(), key=lambda d: d.stat().st_mtime)
            summary = json.loads((runs[-1] / "summary.json").read_text())
            recs = [json.loads(x) for x in (runs[-1] / "results.jsonl").read_text().splitlines() if x]
            floor = sum(r.get("adapter_s") or 0 for r in recs)
            oracle = sum(r.get("oracle_s") or 0 for r in recs)
            n = max(summary["examples"], 1)
            out[fw] = {"wall_s": wall, "startup_s": startup, "examples": summary["examples"],
                       "examples_per_s": n / max(wall - startup, 1e-9),
                       "suite_s_per_example": (wall - startup) / n,
                       "floor_s_per_example_in_suite": floor / n, "oracle_s_per_example_in_suite": oracle / n,
                       "overhead_ratio": (wall - startup) / max(floor, 1e-9), "exit": p.returncode}
    return out


def size_figures(frameworks: list[str]) -> dict:
    """Oracle and framework time per example as the tensors grow (matmul, conv2d, sum)."""
    from conformance.adapters import discover
    from conformance.case import Case
    from conformance.registry import all_ops

    found = discover(only=frameworks)
    ops = all_ops()
    rng = np.random.default_rng(0)
    shapes = {
        "matmul": lambda n: ({"x": (n, 64), "y": (64, n)}, {}),
        "conv2d": lambda n: ({"x": (1, n, n, 8), "w": (3, 3, 8, 8)},
                             {"stride": (1, 1), "dilation": (1, 1), "padding": "SAME"}),
        "sum": lambda n: ({"x": (n, n)}, {"axis": 1, "keepdims": False}),
    }
    sides = {"matmul": [16, 64, 256, 1024], "conv2d": [8, 32, 64, 128], "sum": [32, 128, 256, 512]}
    out: dict = {}
    for op, make in shapes.items():
        if op not in ops:
            continue
        spec = ops[op]
        for side in sides[op]:
            shp, params = make(side)
            inputs = {k: rng.standard_normal(s).astype(np.float32) for k, s in shp.items()}
            z = np.asarray(spec.reference(**{k: v.astype(np.float64) for k, v in inputs.items()}, **params))
            case = Case(op, "float32", inputs, params, rng.standard_normal(z.shape).astype(np.float32))
            elements = sum(v.size for v in inputs.values())
            t0 = time.perf_counter()
            spec.reference_vjp(**case.oracle_inputs(), dz=case.cotangent.astype(np.float64), **params)
            row = {"elements": elements, "oracle_s": time.perf_counter() - t0}
            for fw in frameworks:
                av = found[fw]
                if not av.available or av.adapter.supports(spec, "float32", "cpu") is not True:
                    continue
                av.adapter.vjp(spec, inputs, params, case.cotangent, dtype="float32", device="cpu")
                t0 = time.perf_counter()
                av.adapter.vjp(spec, inputs, params, case.cotangent, dtype="float32", device="cpu")
                row[f"{fw}_s"] = time.perf_counter() - t0
            out[f"{op}[{side}]"] = row
    return out


def parallel_figures(dtypes: list[str], examples: int | None) -> dict:
    out = {}
    for jobs in ("1", "2"):
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [sys.executable, "-m", "conformance", "run", "--dtypes", ",".join(dtypes), "--seed", "0",
                   "--no-report", "-n", jobs, "--out", tmp]
            if examples:
                cmd += ["--max-examples", str(examples)]
            t0 = time.perf_counter()
            p = subprocess.run(cmd, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True)
            wall = time.perf_counter() - t0
            run = sorted(Path(tmp).iterdir())[-1]
            summary = json.loads((run / "summary.json").read_text())
            out[f"n{jobs}"] = {"wall_s": wall, "examples": summary["examples"], "exit": p.returncode,
                               "examples_per_s": summary["examples"] / wall}
    out["speedup"] = out["n1"]["wall_s"] / out["n2"]["wall_s"]
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frameworks", default="torch,tensorflow,jax")
    p.add_argument("--dtypes", default="float32,float64")
    p.add_argument("--examples", type=int, default=8, help="examples per op x dtype (the dev profile's 8)")
    p.add_argument("--ops", default=None)
    p.add_argument("--only", choices=["stages", "suite", "sizes", "parallel"], action="append")
    a = p.parse_args()
    fws = a.frameworks.split(",")
    dtypes = a.dtypes.split(",")
    ops = a.ops.split(",") if a.ops else None
    parts = a.only or ["stages", "suite", "sizes", "parallel"]
    results: dict = {"frameworks": fws, "dtypes": dtypes, "examples": a.examples, "cpu_count": os.cpu_count()}
    if "stages" in parts:
        results["stages"] = stage_figures(fws, dtypes, a.examples, ops)
    if "suite" in parts:
        results["suite"] = suite_figures(fws, dtypes, a.examples, ops)
    if "sizes" in parts:
        results["sizes"] = size_figures(fws)
    if "parallel" in parts:
        results["parallel"] = parallel_figures(["float16", "bfloat16", "float32", "float64"], None)
    out_dir = ROOT / "benchmarks" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / time.strftime("%Y%m%d-%H%M%S.json")
    path.write_text(json.dumps(results, indent=1))
    print(json.dumps(results, indent=1))
    print(f"written: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
