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
- hypothesis_alone: a test that draws one integer and does nothing, with the suite's settings
              (what any Hypothesis-driven example costs before it does anything).
overhead ratio (stages) = (floor + every stage) / floor.

Suite (`--only suite`): the real suite in this process (pytest.main with the plugin, every case
family, the default run's dtypes and examples), one framework at a time: the test items' wall
time against the sum of the records' `adapter_s` (the framework's own VJP calls). This is the
overhead ratio of a real run, start-up excluded.

Sizes (`--only sizes`): per op and tensor size, the framework's VJP against the values, the
oracle and the comparison the suite adds (float32, least of three runs).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# figures must not depend on what an earlier benchmark left in JAX's compilation cache
os.environ.setdefault("VJP_CONFORMANCE_JAX_CACHE", "off")


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


class _ItemTime:
    """pytest plugin: wall time of every conformance test item (setup, call, teardown)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.items = 0

    def pytest_runtest_logreport(self, report) -> None:
        self.seconds += report.duration
        self.items += report.when == "call"


def suite_figures(frameworks: list[str], dtypes: list[str], examples: int | None, ops: list[str] | None,
                  seed: int = 3, values_per_case: int | None = None, workers: int = 0) -> dict:
    """The real suite (pytest.main, every case family) per framework, in this process or, with
    ``workers``, in that many xdist workers (where a framework that aborts costs one example, not
    the measurement): the items' wall time against the framework's own VJP time from the records
    (adapter_s; a structure's own record holds all its value sets' time)."""
    import pytest

    from conformance.cli import suite_args

    out = {}
    for fw in frameworks:
        with tempfile.TemporaryDirectory() as tmp:
            args = [*suite_args(), "--vjp-frameworks", fw, "--vjp-dtypes", ",".join(dtypes),
                    "--vjp-seed", str(seed), "--vjp-out", tmp, "--vjp-no-report"]
            if examples:
                args += ["--vjp-max-examples", str(examples)]
            if ops:
                args += ["--vjp-ops", ",".join(ops)]
            if values_per_case:
                args += ["--vjp-values-per-case", str(values_per_case)]
            if workers:
                args += ["-n", str(workers)]
            timer = _ItemTime()
            t0 = time.perf_counter()
            pytest.main(args, plugins=[timer])
            wall = time.perf_counter() - t0
            run = next(Path(tmp).iterdir())
            summary = json.loads((run / "summary.json").read_text())
            peaks = [w["peak_rss_mib"] for w in json.loads((run / "run.json").read_text()).get("workers", [])]
            recs = [json.loads(x) for f in ("results.jsonl", "witnesses.jsonl") if (run / f).exists()
                    for x in (run / f).read_text().splitlines() if x]
            size = sum((run / f).stat().st_size for f in ("results.jsonl", "witnesses.jsonl") if (run / f).exists())
        ran = [r for r in recs if r.get("adapter_s") is not None]
        floor = sum(r["adapter_s"] for r in ran)
        oracle = sum(r.get("oracle_s") or 0 for r in ran)
        calls = sum(int(r.get("values_per_case") or 1) for r in ran)
        accuracy = [r for r in ran if r.get("case_family") == "accuracy" and not r.get("value_set_of")]
        out[fw] = {"wall_s": wall, "items": timer.items, "records": len(recs), "examples": summary["examples"],
                   "value_sets": summary.get("value_sets", summary["examples"]), "framework_calls": calls,
                   "suite_s": timer.seconds, "floor_s": floor, "oracle_s": oracle,
                   "suite_ms_per_value_set": 1e3 * timer.seconds / max(calls, 1),
                   "floor_ms_per_value_set": 1e3 * floor / max(calls, 1),
                   "accuracy_floor_ms_per_value_set": 1e3 * sum(r["adapter_s"] for r in accuracy)
                   / max(sum(int(r.get("values_per_case") or 1) for r in accuracy), 1),
                   "value_sets_per_s": summary.get("value_sets", summary["examples"]) / max(timer.seconds, 1e-9),
                   "results_bytes_per_example": size / max(summary["examples"], 1),
                   "peak_rss_mib": max(peaks, default=None),
                   "overhead_ratio": timer.seconds / max(floor, 1e-9)}
    return out


def hypothesis_floor(examples: int = 8, tests: int = 200) -> dict:
    """What Hypothesis alone costs per example with the suite's settings: a test that draws one
    integer and does nothing, run as often as the stage figures run the suite's tests."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed
    from hypothesis import strategies as st

    total = 0.0
    for i in range(tests):
        @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @hseed(i)
        @given(st.integers(0, 2**32 - 1))
        def nothing(n):
            pass

        t0 = time.perf_counter()
        nothing()
        total += time.perf_counter() - t0
    return {"examples": examples * tests, "s_per_example": total / (examples * tests)}


def _best(fn, repeat: int = 3) -> float:
    """Least wall time of ``repeat`` calls (after one warm-up call)."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


SIZE_CASES = {
    # op: (input shapes as a function of the side n, params, sides)
    "sigmoid": (lambda n: {"x": (n, n)}, {}, [64, 256, 512]),
    "softmax": (lambda n: {"x": (n, n)}, {"axis": -1}, [64, 256, 512]),
    "sum": (lambda n: {"x": (n, n)}, {"axis": 1, "keepdims": False}, [64, 256, 512]),
    "matmul": (lambda n: {"x": (n, 64), "y": (64, n)}, {}, [64, 256, 1024]),
    "conv2d": (lambda n: {"x": (1, n, n, 8), "w": (3, 3, 8, 8)},
               {"stride": (1, 1), "dilation": (1, 1), "padding": "SAME"}, [32, 64, 128]),
}


def size_figures(frameworks: list[str]) -> dict:
    """Per op and size (float32): the framework's VJP (the floor) and what the suite adds to it:
    values (bulk draw and the forward that shapes dz), the float64 oracle with its magnitudes, and
    the comparison; ratio = (floor + all of those) / floor, per framework (least of 3 runs)."""
    from conformance.adapters import discover
    from conformance.case import Case
    from conformance.compare import compare
    from conformance.dtypes import get_dtype
    from conformance.registry import all_ops
    from conformance.tolerances import Tolerances

    found = discover(only=frameworks)
    ops = all_ops()
    tol = Tolerances.load()
    f32 = get_dtype("float32")
    out: dict = {}
    for op, (make, params, sides) in SIZE_CASES.items():
        spec = ops[op]
        for side in sides:
            shapes = make(side)
            rng = np.random.default_rng(0)

            def values(spec=spec, shapes=shapes, params=params, rng=rng):
                inputs = {k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()}
                z = np.asarray(spec.reference(**{k: v.astype(np.float64) for k, v in inputs.items()}, **params))
                return inputs, rng.standard_normal(z.shape).astype(np.float32)

            inputs, dz = values()
            case = Case(op, "float32", inputs, dict(params), dz)

            def oracle(spec=spec, case=case, params=params):
                return spec.reference_vjp(**case.oracle_inputs(), dz=case.cotangent.astype(np.float64), **params)

            ref = oracle()
            budget = tol.budget(op)
            row: dict = {"elements": int(sum(v.size for v in inputs.values())), "values_s": _best(values),
                         "oracle_s": _best(oracle)}
            if op == "matmul":  # the least a float64 oracle of matmul does: dz @ y^T and x^T @ dz
                x64, y64, dz64 = (a.astype(np.float64) for a in (inputs["x"], inputs["y"], dz))
                row["two_float64_gemms_s"] = _best(lambda x=x64, y=y64, d=dz64: (d @ y.T, x.T @ d))
            for fw in frameworks:
                av = found[fw]
                if not av.available or av.adapter.supports(spec, "float32", "cpu") is not True:
                    continue

                def vjp(ad=av.adapter, spec=spec, inputs=inputs, params=params, dz=dz):
                    return ad.vjp(spec, dict(inputs), dict(params), dz, dtype="float32", device="cpu")

                got = vjp()
                floor = _best(vjp)
                cmp = _best(lambda got=got, ref=ref, b=budget: compare(got, ref, f32,
                                                                       lambda n, g: b.for_terms(g.terms)))
                row[f"{fw}_s"] = floor
                row[f"{fw}_compare_s"] = cmp
                row[f"{fw}_ratio"] = (floor + row["values_s"] + row["oracle_s"] + cmp) / floor
            out[f"{op}[{side}]"] = row
    return out


def parallel_figures(dtypes: list[str], examples: int | None) -> dict:
    out = {}
    for jobs in ("1", "2"):
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [sys.executable, "-m", "conformance", "run", "--dtypes", ",".join(dtypes), "--seed", "3",
                   "--no-report", "-n", jobs, "--out", tmp]
            if examples:
                cmd += ["--max-examples", str(examples)]
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            # the JAX compilation cache off: the second run must not load what the first compiled
            env = {**os.environ, "PYTHONPATH": str(ROOT), "VJP_CONFORMANCE_JAX_CACHE": "off"}
            p = subprocess.run(cmd, env=env, capture_output=True, text=True)
            wall = time.perf_counter() - t0
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            run = sorted(Path(tmp).iterdir())[-1]
            summary = json.loads((run / "summary.json").read_text())
            # cores_busy: CPU seconds over wall seconds; one process already uses more than one
            # core where XLA compiles with several threads, which caps what a second worker can add
            out[f"n{jobs}"] = {"wall_s": wall, "cpu_s": cpu, "cores_busy": cpu / wall,
                               "examples": summary["examples"], "exit": p.returncode,
                               "examples_per_s": summary["examples"] / wall,
                               "totals": summary.get("totals")}
    out["speedup"] = out["n1"]["wall_s"] / out["n2"]["wall_s"]
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frameworks", default="torch,tensorflow,jax")
    p.add_argument("--dtypes", default="float32,float64")
    p.add_argument("--examples", type=int, default=8, help="examples per op x dtype (the dev profile's 8)")
    p.add_argument("--ops", default=None)
    p.add_argument("--suite-dtypes", default="float16,bfloat16,float32,float64",
                   help="dtypes of the in-process suite runs (default: all four, the default run's)")
    p.add_argument("--suite-examples", type=int, default=None,
                   help="examples per target in the suite runs (default: the dev profile's, as a default run)")
    p.add_argument("--suite-values-per-case", type=int, default=None,
                   help="value sets per structure in the suite runs (default: the profile's)")
    p.add_argument("--only", choices=["stages", "suite", "sizes", "parallel"], action="append")
    a = p.parse_args()
    fws = a.frameworks.split(",")
    dtypes = a.dtypes.split(",")
    ops = a.ops.split(",") if a.ops else None
    parts = a.only or ["stages", "suite", "sizes", "parallel"]
    results: dict = {"frameworks": fws, "dtypes": dtypes, "examples": a.examples, "cpu_count": os.cpu_count()}
    if "stages" in parts:
        results["stages"] = stage_figures(fws, dtypes, a.examples, ops)
        results["stages"]["hypothesis_alone"] = hypothesis_floor(a.examples)
    if "suite" in parts:
        results["suite"] = suite_figures(fws, a.suite_dtypes.split(","), a.suite_examples, ops,
                                         values_per_case=a.suite_values_per_case)
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
