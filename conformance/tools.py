"""The record-side commands: ``report``, ``repro``, ``merge``, ``diff`` and ``scoreboard`` (no framework
import)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from conformance.records import SchemaError


def _error(message: str) -> int:
    print(f"vjp-conformance: error: {message}", file=sys.stderr)
    return 2


def dispatch(args: argparse.Namespace) -> int:
    """Run one of the record-side commands; exit status 2 with a message on bad input."""
    from conformance.repro import ReproError

    try:
        if args.command == "report":
            from conformance.report import render_run

            print(render_run(Path(args.run_dir)))
            return 0
        if args.command == "repro":
            from conformance import repro

            return repro.main(args)
        if args.command == "merge":
            from conformance import merge

            return merge.main(args)
        if args.command == "diff":
            from conformance import diff

            return diff.main(args)
        if args.command == "scoreboard":
            from conformance import scoreboard

            return scoreboard.main(args)
    except (SchemaError, ReproError, FileNotFoundError, NotADirectoryError) as e:
        return _error(str(e))
    return _error(f"unknown command {args.command!r}")
