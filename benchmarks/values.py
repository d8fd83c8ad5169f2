"""Value sets per structure, before and after: the same seed and selection with K = 1 (one value
set per Hypothesis example: the cases of a run before value sets existed, drawn exactly alike),
the profile's default K and more, side by side.

    python benchmarks/values.py                      # K = 1, dev's default, 8; torch, tensorflow, jax
    python benchmarks/values.py --ks 1,8 --frameworks jax --dtypes float32

Each (framework, K) runs in a fresh process (so no framework or compiled program is shared
between them): the real suite through ``pytest.main`` with the plugin in one xdist worker (as
``run -n 1``: a witness that aborts the process costs one example), every case family, seed 3,
the JAX compilation cache off, and the thread limits of one
of a default run's two workers on this machine (conformance/threads.py: one thread each on two
cores; a framework's thread pool on a busy shared machine otherwise measures the contention,
torch's VJP calls running 10x slower). Per run:

- value sets per second: the summary's value sets over the test items' wall time (start-up left out);
- framework ms per value set: the records' ``adapter_s`` (a structure's own record holds all its
  value sets' time) over the framework calls; for the accuracy family alone too, where JAX's
  compile per new structure is shared by its K value sets;
- suite / framework: the items' wall time over the framework's own time (the overhead ratio);
- the largest worker's peak RSS, and the results files' bytes per example (structure or fixed case).

Written to benchmarks/results/values-<stamp>.json and printed as a table.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("VJP_CONFORMANCE_JAX_CACHE", "off")  # every K compiles what it runs
os.environ.setdefault("VJP_CONFORMANCE_RUNS_INDEX", "off")


def child(framework: str, k: int, dtypes: list[str], seed: int, max_examples: int | None) -> dict:
    """One (framework, K) run in this process."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench import suite_figures

    t0 = time.perf_counter()
    fig = suite_figures([framework], dtypes, max_examples, None, seed=seed, values_per_case=k, workers=1)[framework]
    fig["process_s"] = time.perf_counter() - t0
    # every worker this process started and reaped, the one a witness's abort killed too (it never
    # wrote its stats to run.json): the largest one's peak resident memory
    fig["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
    return fig


def run(framework: str, k: int, a: argparse.Namespace) -> dict:
    cmd = [sys.executable, __file__, "--child", framework, "--ks", str(k), "--dtypes", a.dtypes,
           "--seed", str(a.seed)] + (["--max-examples", str(a.max_examples)] if a.max_examples else [])
    from conformance.threads import worker_thread_env

    cpus = os.cpu_count() or 1
    env = {**os.environ, "PYTHONPATH": str(ROOT), **worker_thread_env(2, cpus)}
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    lines = [x for x in p.stdout.splitlines() if x.startswith("{")]
    if p.returncode != 0 or not lines:
        return {"error": (p.stdout + p.stderr)[-2000:]}
    return json.loads(lines[-1])


ROWS = (("value_sets", "value sets", "{:.0f}"), ("examples", "examples", "{:.0f}"),
        ("suite_s", "suite s", "{:.1f}"), ("value_sets_per_s", "value sets/s", "{:.0f}"),
        ("floor_ms_per_value_set", "framework ms / value set", "{:.3f}"),
        ("accuracy_floor_ms_per_value_set", "accuracy: framework ms / value set", "{:.3f}"),
        ("overhead_ratio", "suite / framework", "{:.2f}"), ("peak_rss_mib", "peak RSS MiB", "{:.0f}"),
        ("results_bytes_per_example", "results bytes / example", "{:.0f}"))


def table(results: dict) -> list[str]:
    lines = []
    for fw, by_k in results.items():
        ks = list(by_k)
        lines.append(f"| {fw} | " + " | ".join(f"K = {k}" for k in ks) + " |")
        lines.append("|---|" + "---:|" * len(ks))
        for key, label, fmt in ROWS:
            lines.append(f"| {label} | " + " | ".join(fmt.format(by_k[k][key]) if key in by_k[k] else "error"
                                                    for k in ks) + " |")
        lines.append("")
    return lines


def main() -> int:
    from conformance.selection import PROFILES

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frameworks", default="torch,tensorflow,jax")
    p.add_argument("--ks", default=f"1,{PROFILES['dev'].values_per_case},8", help="values of K (default: 1, dev's, 8)")
    p.add_argument("--dtypes", default="float32")
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--max-examples", type=int, default=None, help="structures per target (default: the profile's)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        print(json.dumps(child(a.child, int(a.ks), a.dtypes.split(","), a.seed, a.max_examples)))
        return 0
    ks = [int(k) for k in dict.fromkeys(a.ks.split(","))]
    results: dict = {}
    for fw in a.frameworks.split(","):
        results[fw] = {}
        for k in ks:
            results[fw][k] = run(fw, k, a)
            print(f"{fw} K={k}: {json.dumps(results[fw][k])}", flush=True)
    out_dir = ROOT / "benchmarks" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / time.strftime("values-%Y%m%d-%H%M%S.json")
    path.write_text(json.dumps({"args": vars(a), "load_after": os.getloadavg(), "results": results}, indent=1))
    print("\n".join(table(results)))
    print(f"written: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
