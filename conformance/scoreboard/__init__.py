"""``vjp-conformance scoreboard DB [--add RUN_DIR...] [--out DIR]``: conformance across framework
releases.

``--add`` ingests run directories into the SQLite store ``DB`` (created if missing; store.py);
``--out`` renders the store into ``DIR`` (index.html, scoreboard.json, repro/*.py; render.py),
with what changed between consecutive versions of each framework (changes.py). No framework is
imported: the store holds every figure and record the page needs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from conformance.scoreboard.store import StoreError, check_run_dir, connect, ingest


def main(args: argparse.Namespace) -> int:
    if not args.add and not args.out:
        print("vjp-conformance: error: scoreboard: say what to do: --add RUN_DIR... (ingest runs), --out DIR "
              "(render the page), or both", file=sys.stderr)
        return 2
    from conformance import versions
    from conformance.scoreboard import render

    try:
        for run_dir in args.add or []:
            check_run_dir(Path(run_dir))  # every input checked before the store is touched
        db = connect(Path(args.db), create=bool(args.add))
        for run_dir in args.add or []:
            done = ingest(db, Path(run_dir))
            print(f"ingested {done.path}: run {done.run_id}, {done.cells} cells, {done.records} records kept")
            for line in done.replaced:
                print(f"  replaced {line}")
        if args.out:
            data = render.write(db, Path(args.out), versions.load().frameworks())
            n = data["change_counts"]
            print(f"scoreboard: {len(data['columns'])} columns, {len(data['cells'])} cells, "
                  + ", ".join(f"{v} {k}" for k, v in n.items()))
            print(f"page: {Path(args.out) / 'index.html'}")
    except StoreError as e:
        print(f"vjp-conformance: error: {e}", file=sys.stderr)
        return 2
    return 0
