"""A one-line progress display for long runs on a terminal (quiet in CI logs).

It polls the run directory's part files (the records the workers append) and shows examples
done, the op x framework being run, and the elapsed time. It reads only new bytes each poll.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import TextIO


def wanted(stream: TextIO) -> bool:
    """Progress on an interactive terminal only: never in CI logs or when piped."""
    return stream.isatty() and not os.environ.get("CI")


class Progress:
    def __init__(self, run_dir: Path, total_targets: int, stream: TextIO = sys.stderr, every: float = 0.5) -> None:
        self.parts = Path(run_dir) / "parts"
        self.total_targets = total_targets
        self.stream = stream
        self.every = every
        self.examples = 0
        self.current = ""
        self._offsets: dict[Path, int] = {}
        self._targets: set[tuple[str, ...]] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._start = time.monotonic()

    def poll(self) -> None:
        for f in sorted(self.parts.glob("*.jsonl")):
            pos = self._offsets.get(f, 0)
            with open(f, "rb") as fh:
                fh.seek(pos)
                chunk = fh.read()
            end = chunk.rfind(b"\n") + 1
            self._offsets[f] = pos + end
            for line in chunk[:end].splitlines():
                self.examples += 1
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                self.current = f"{rec.get('op')} x {rec.get('framework')} ({rec.get('dtype')})"
                self._targets.add(tuple(str(rec.get(k)) for k in ("op", "framework", "device", "dtype", "precision",
                                                                  "mode")))

    def line(self) -> str:
        elapsed = time.monotonic() - self._start
        return (f"\r{self.examples} examples, {len(self._targets)}/{self.total_targets} targets, "
                f"now {self.current or '...'}, {elapsed:.0f}s elapsed\033[K")

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.poll()
            except OSError:
                continue
            self.stream.write(self.line())
            self.stream.flush()

    def __enter__(self) -> Progress:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.stream.write("\r\033[K")
        self.stream.flush()
