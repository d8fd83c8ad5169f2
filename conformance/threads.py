"""Thread limits for worker processes: N workers on C cores each get C // N threads.

Left alone, every xdist worker starts a thread pool as wide as the machine (torch's OpenMP, XLA's
Eigen pool, TensorFlow's intra- and inter-op pools, NumPy's BLAS), so N workers run N x C threads
on C cores and spend their time contending. The limits travel as environment variables, set before
the workers start and before any of them imports a framework; a variable the user already set is
left as it is.
"""

from __future__ import annotations

import os

THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
               "TF_NUM_INTEROP_THREADS")
XLA_SINGLE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def worker_thread_env(workers: int, cpus: int, environ: dict[str, str] | None = None) -> dict[str, str]:
    """The variables to add for ``workers`` processes sharing ``cpus`` cores (empty for one worker)."""
    env = dict(os.environ if environ is None else environ)
    if workers < 2:
        return {}
    per = max(1, cpus // workers)
    wanted = {k: str(per) for k in THREAD_VARS} | {"TF_NUM_INTEROP_THREADS": "1"}
    add = {k: v for k, v in wanted.items() if k not in env}
    if per == 1 and "xla_cpu_multi_thread_eigen" not in env.get("XLA_FLAGS", ""):
        add["XLA_FLAGS"] = " ".join(filter(None, [env.get("XLA_FLAGS"), XLA_SINGLE_THREAD]))
    return add


def recorded() -> dict[str, str]:
    """The thread settings in effect, for the run's environment record."""
    return {k: os.environ[k] for k in (*THREAD_VARS, "XLA_FLAGS") if k in os.environ}
