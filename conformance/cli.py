"""The command line: ``vjp-conformance run | ops | frameworks | report | repro | merge | diff | scoreboard``.

Exit status: 0 when nothing failed, 1 when something failed (or a diff found a regression),
2 on bad usage (with a message naming the valid choices; nothing is written).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from conformance.diff import RATIO_FACTOR, RATIO_FLOOR
from conformance.options import add_run_options, forwarded

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own errors: exit 2 with the usage line
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="vjp-conformance", description="Property-based VJP conformance across frameworks.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)

    r = sub.add_parser("run", help="run the conformance suite and write a report")
    add_run_options(r)
    r.add_argument("--out", default="reports", help="folder runs are written under (default: reports)")
    r.add_argument("-n", "--jobs", default="auto",
                   help="pytest-xdist workers: a number, or auto (one per CPU core; the default); "
                        "0 runs in this process, where a framework that aborts ends the run")
    r.add_argument("-v", "--verbose", action="store_true", help="pytest's own output (every failure in full)")
    r.add_argument("pytest_args", nargs="*", help="extra pytest arguments after --")

    o = sub.add_parser("ops", help="list the op catalogue")
    o.add_argument("--json", action="store_true")
    f = sub.add_parser("frameworks", help="list frameworks, versions and devices")
    f.add_argument("--json", action="store_true")
    f.add_argument("--adapter", action="append", default=[], help="extra adapter package.module:attr")

    for name, helptext in (("report", "render index.html for a run directory"),):
        s = sub.add_parser(name, help=helptext)
        s.add_argument("run_dir")
    rp = sub.add_parser("repro", help="print a standalone script reproducing one record")
    rp.add_argument("record", help="record id (run-id/worker/n), or a results file with --index")
    rp.add_argument("--index", type=int, help="line number (0-based) in a results file")
    rp.add_argument("--run-dir", help="run directory (default: searched under --out)")
    rp.add_argument("--out", default="reports", help="folder runs are written under (default: reports)")
    rp.add_argument("-o", "--output", help="write the script to this file instead of printing it")
    m = sub.add_parser("merge", help="merge run directories into one report")
    m.add_argument("run_dirs", nargs="+", help="run directories (or merged ones)")
    m.add_argument("--out", required=True, help="directory for the merged records, summary and index.html")
    m.add_argument("--allow-partial", action="store_true",
                   help="merge shards (run --shard i/N) even when some of a run's shards are missing or repeated")
    d = sub.add_parser("diff", help="what got better or worse between two runs (exit 1 on regression)")
    d.add_argument("old", help="run directory, merged directory or summary.json")
    d.add_argument("new", help="run directory, merged directory or summary.json")
    d.add_argument("--html", help="write an HTML rendering of the diff here")
    d.add_argument("--factor", type=float, default=RATIO_FACTOR,
                   help=f"report a worst bound_ratio/budget change beyond this factor (default: {RATIO_FACTOR:g})")
    d.add_argument("--floor", type=float, default=RATIO_FLOOR,
                   help=f"ignore ratio changes where both ratios to budget are under this (default: {RATIO_FLOOR:g})")
    d.add_argument("--fail-on-ratio", action="store_true",
                   help="exit 1 also when a worst bound_ratio/budget got worse beyond the factor")
    sb = sub.add_parser("scoreboard", help="conformance across framework releases: ingest runs into a SQLite "
                                           "store, render the op x (framework, version) page")
    sb.add_argument("db", help="the scoreboard's SQLite file (created by --add when missing)")
    sb.add_argument("--add", nargs="+", metavar="RUN_DIR", help="ingest these run directories (a newer run of a "
                                                                "cell replaces the older)")
    sb.add_argument("--out", help="write index.html, scoreboard.json and repro/*.py here")
    return p


def check_adapters(refs: list[str], frameworks: dict[str, Any]) -> None:
    """An --adapter that does not load is bad usage: say why."""
    for ref in refs:
        for av in frameworks.values():
            if av.source == f"--adapter {ref}" and not av.available:
                raise UsageError(f"--adapter {ref}: {av.reason}")


def check_out(out: str) -> None:
    """The folder runs go under must exist or be creatable, and be writable, before any work."""
    path = Path(out)
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise UsageError(f"--out {out}: {probe} is not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UsageError(f"--out {out}: cannot create or write under {probe} (permission denied)")


def suite_args(verbose: bool = False) -> list[str]:
    """pytest's arguments for the packaged suite with the plugin, as ``run`` starts it (the
    benchmarks start it the same way). Quiet: no warnings summary and no log capture (pytest
    attaches its handler to every non-propagating logger, the frameworks' dozens, around each of
    an item's three phases)."""
    quiet = ["-q", "--tb=short"] if verbose else ["-qq", "--tb=no", "-p", "no:warnings", "-p", "no:logging"]
    return ["--pyargs", "conformance.suite", "-p", "conformance.plugin", "-p", "no:cacheprovider", *quiet,
            "--no-header", "-rN", "-W", "ignore::pytest.PytestAssertRewriteWarning"]


def cmd_run(a: argparse.Namespace) -> int:
    from conformance.adapters import discover
    from conformance.records import make_run_dir
    from conformance.selection import (
        SelectionError,
        declared_modes,
        parse_selection,
        parse_timeout,
        resolve_devices,
        resolve_modes,
        split,
        targets,
    )
    from conformance.threads import worker_thread_env

    try:
        jobs = a.jobs if a.jobs == "auto" else str(int(a.jobs))
        if jobs != "auto" and int(jobs) < 0:
            raise ValueError
    except ValueError:
        raise UsageError(f"--jobs must be a number (0 or more) or 'auto', got {a.jobs!r}") from None
    if jobs == "auto" and (os.cpu_count() or 1) < 2:
        jobs = "1"
    # -n 0 runs the tests in this process; any other count in worker processes, so that a framework
    # that aborts (XLA's CHECK failures do) costs one example and xdist starts a fresh worker
    in_process = jobs == "0"
    # with workers, this process runs no test and need not import the frameworks (adapters/probe.py)
    frameworks = discover(tuple(a.adapter), split(a.frameworks) or None, runs_tests=in_process)
    check_adapters(a.adapter, frameworks)
    try:
        sel = parse_selection(
            frameworks=a.frameworks or ",".join(n for n, v in frameworks.items() if v.available) or None,
            devices=a.devices, ops=a.ops, dtypes=a.dtypes, precision=a.precision, profile=a.profile,
            max_examples=a.max_examples, seed=a.seed, known_frameworks=list(frameworks), families=a.families,
            cpu_precision=a.cpu_precision, values_per_case=a.values_per_case, shard=a.shard, modes=a.modes,
            known_modes=declared_modes(frameworks),
        )
        n_cells = len(targets(sel, resolve_devices(sel, frameworks), resolve_modes(sel, frameworks)))
        parse_timeout(a.timeout)  # refused here, before anything is written
    except SelectionError as e:
        raise UsageError(str(e)) from None
    if a.expectations:
        from conformance.expectations import Expectations

        try:
            Expectations.load(Path(a.expectations))
        except (OSError, ValueError) as e:
            raise UsageError(f"--expectations {a.expectations}: {e}") from None
    if a.claims:
        from conformance.claims import Claims

        try:
            Claims.load(Path(a.claims))
        except (OSError, ValueError) as e:
            raise UsageError(f"--claims {a.claims}: {e}") from None
    check_out(a.out)
    try:
        run_id, run_dir = make_run_dir(Path(a.out))
    except OSError as e:
        raise UsageError(f"--out {a.out}: cannot create the run directory: {e}") from None
    args = [*suite_args(a.verbose), "--vjp-run-dir", str(run_dir), *forwarded(a)]
    if not in_process:
        # worksteal: an idle worker takes queued targets from a busy one, so a few slow cells
        # (JAX compiling convolutions) do not leave the other workers idle at the end
        args += ["-n", jobs, "--dist", "worksteal"]
        cpus = os.cpu_count() or 1
        os.environ.update(worker_thread_env(cpus if jobs == "auto" else int(jobs), cpus))
    args += list(a.pytest_args)
    import pytest

    from conformance import progress

    if progress.wanted(sys.stderr) and not a.verbose:
        with progress.Progress(run_dir, n_cells):
            code = pytest.main(args)
    else:
        code = pytest.main(args)
    summary_path = run_dir / "summary.json"
    if not summary_path.exists():
        print(f"run directory: {run_dir}")
        print("error: the run ended before writing summary.json", file=sys.stderr)
        return 1
    summary = json.loads(summary_path.read_text())
    if not a.verbose:
        from conformance.summary import failure_lines, table_lines

        for line in table_lines(summary) + failure_lines(run_dir, summary):
            print(line)
    print(f"run directory: {run_dir}")
    if (run_dir / "index.html").exists():
        print(f"report: {run_dir / 'index.html'}")
    manifest = json.loads((run_dir / "run.json").read_text())
    suite_errors = manifest.get("suite_errors") or []
    for err in suite_errors[:10]:
        print(f"suite error (not a framework's verdict) in {err['nodeid']}: {err['message'].splitlines()[-1:]}",
              file=sys.stderr)
    # pytest's own status is 1 whenever a verdict fails or a worker died (an expected crash too):
    # the records decide, and anything else pytest reports (interrupted, internal or usage error)
    if summary.get("failed") or suite_errors or code not in (0, 1, 5):
        return 1
    return 0


def cmd_ops(a: argparse.Namespace) -> int:
    from conformance.adapters import discover
    from conformance.registry import all_ops

    frameworks = discover()
    rows: list[dict[str, Any]] = []
    for spec in all_ops().values():
        per_fw = {}
        for name, av in frameworks.items():
            if av.available and hasattr(av.adapter, "describe"):
                per_fw[name] = av.adapter.describe(spec)
            else:
                per_fw[name] = {"unavailable": av.reason or "no description"}
        rows.append({
            "name": spec.name, "family": spec.family,
            "inputs": [{"name": i.name, "domain": i.domain, "differentiable": i.differentiable} for i in spec.inputs],
            "params": list(spec.params), "dtypes": list(spec.dtypes), "formula": spec.formula,
            "kinks": [k.name for k in spec.kinks], "frameworks": per_fw,
        })
    if a.json:
        print(json.dumps(rows, indent=1))
    else:
        for r in rows:
            ins = ", ".join(i["name"] for i in r["inputs"])
            print(f"{r['name']:<28}{r['family']:<14}({ins})  {r['formula']}")
        print(f"{len(rows)} ops")
    return 0


def cmd_frameworks(a: argparse.Namespace) -> int:
    from conformance.adapters import discover
    from conformance.claims import shipped

    rows = []
    for name, av in discover(tuple(a.adapter)).items():
        row: dict[str, Any] = {"name": name, "available": av.available, "source": av.source}
        if av.available:
            from conformance.modes import modes_of

            row.update(version=str(av.adapter.version()), devices=av.adapter.devices(),
                       modes=list(modes_of(av.adapter, name)))
        else:
            row["reason"] = av.reason
        # the shipped unsupported claims on it, and whether each covers the installed version
        claims = shipped().for_framework(name)
        if claims:
            row["claims"] = [{**c.to_json(), **({"covers_installed_version": c.covers_version(row["version"])}
                                                 if av.available else {})} for c in claims]
        rows.append(row)
    if a.json:
        print(json.dumps(rows, indent=1))
    else:
        for r in rows:
            if r["available"]:
                print(f"{r['name']:<14}{r['version']:<16}{', '.join(r['devices'])}  modes {', '.join(r['modes'])}")
            else:
                print(f"{r['name']:<14}unavailable: {r['reason']}")
            if r.get("claims"):
                here = sum(1 for c in r["claims"] if c.get("covers_installed_version", True))
                print(f"{'':<14}{len(r['claims'])} unsupported claims (conformance/unsupported.toml), "
                      f"{here} covering this version")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    a = build_parser().parse_args(argv)
    try:
        if a.command == "run":
            return cmd_run(a)
        if a.command == "ops":
            return cmd_ops(a)
        if a.command == "frameworks":
            return cmd_frameworks(a)
        from conformance import tools

        return tools.dispatch(a)
    except UsageError as e:
        print(f"vjp-conformance: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
