"""Run the command line in a subprocess, the way a user does, and read what it wrote."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Result:
    code: int
    out: str
    err: str
    run_dir: Path | None

    def records(self) -> list[dict]:
        assert self.run_dir is not None, self.err[-3000:]
        lines = (self.run_dir / "results.jsonl").read_text().splitlines()
        pins = self.run_dir / "witnesses.jsonl"  # the expectations' witness cases, kept apart
        if pins.exists():
            lines += pins.read_text().splitlines()
        return [json.loads(x) for x in lines if x.strip()]

    def summary(self) -> dict:
        assert self.run_dir is not None, self.err[-3000:]
        return json.loads((self.run_dir / "summary.json").read_text())


def cli(*args: str, cwd: Path = ROOT, timeout: float = 600, env: dict[str, str] | None = None) -> Result:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT), **(env or {})}
    p = subprocess.run([sys.executable, "-m", "conformance", *args], cwd=cwd, env=env,
                       capture_output=True, text=True, timeout=timeout)
    run_dir = None
    for line in p.stdout.splitlines():
        if line.startswith("run directory: "):
            run_dir = Path(line.split(": ", 1)[1])
    return Result(p.returncode, p.stdout, p.stderr, run_dir)


TINY = "examples.numpy_autodiff_adapter:TinyGradAdapter"


def fault(name: str) -> str:
    return f"tests.fault_adapters:{name}"
