"""The run as one object: selection, adapters, targets, run directory, writer, and the end."""

from __future__ import annotations

import json
import os
import platform
import socket
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from conformance import __version__, threads
from conformance.adapters import Availability, discover
from conformance.adapters.mapping import MappedAdapter
from conformance.claims import DEFAULT_FILE as DEFAULT_CLAIMS
from conformance.claims import Claims
from conformance.cpuinfo import host_conditions
from conformance.device_errors import DEVICE_LOST_EXIT, is_sticky_device_error
from conformance.execute import Target, attach_repro, base_record
from conformance.expectations import DEFAULT_FILE as DEFAULT_EXPECTATIONS
from conformance.expectations import Expectations
from conformance.gpuinfo import nvidia_gpus
from conformance.records import SCHEMA_VERSION, RecordWriter, make_run_dir, merge_parts, utc_stamp
from conformance.registry import get_op
from conformance.selection import (
    Selection,
    declared_modes,
    parse_selection,
    parse_timeout,
    resolve_devices,
    resolve_modes,
    selection_digest,
    targets,
)
from conformance.specials import specials_of
from conformance.tolerances import Tolerances
from conformance.witness import witness_case

DEFAULT_OUT = "reports"


class Session:
    def __init__(
        self,
        selection: Selection,
        frameworks: dict[str, Availability],
        devices: dict[str, list[str]],
        run_id: str,
        run_dir: Path,
        adapters: list[str],
        timeout: float,
        worker: str,
        render: bool = True,
        expectations: str | None = None,
        claims: str | None = None,
        modes: dict[str, list[str]] | None = None,
    ) -> None:
        self.selection = selection
        self.frameworks = frameworks
        self.devices = devices
        self.modes = modes if modes is not None else resolve_modes(selection, frameworks)
        self.targets: list[Target] = targets(selection, devices, self.modes)
        self.run_id = run_id
        self.run_dir = Path(run_dir)
        self.adapters = adapters
        self.timeout = timeout
        self.worker = worker
        self.render = render
        self.tolerances = Tolerances.load()
        self.expectations_file = expectations
        self.host = host_conditions()  # the CPU, as far as the frameworks' kernels may use it
        self.expectations = Expectations.load(Path(expectations or DEFAULT_EXPECTATIONS)).for_host(self.host)
        self.claims_file = claims
        self.claims = Claims.load(Path(claims or DEFAULT_CLAIMS))
        for av in frameworks.values():  # the built-in adapters answer supports() from these claims
            if isinstance(av.adapter, MappedAdapter):
                av.adapter.claims = self.claims
        self._writer: RecordWriter | None = None
        self._precision: dict[str, str] = {}
        self._warm: set[tuple[str, str, str]] = set()  # (framework, mode, device) set up in this process
        self.report_environment: list[str] = []  # frameworks whose details this worker reports

    # -- construction -------------------------------------------------------------------------
    @staticmethod
    def _selection(opts: dict[str, Any], frameworks: dict[str, Availability]) -> Selection:
        return parse_selection(
            frameworks=opts.get("frameworks"), devices=opts.get("devices"), ops=opts.get("ops"),
            dtypes=opts.get("dtypes"), precision=opts.get("precision"), profile=opts.get("profile"),
            max_examples=opts.get("max_examples"), seed=opts.get("seed"), known_frameworks=list(frameworks),
            families=opts.get("families"), cpu_precision=opts.get("cpu_precision"),
            probe_unsupported=bool(opts.get("probe_unsupported")),
            values_per_case=opts.get("values_per_case"), shard=opts.get("shard"), modes=opts.get("modes"),
            known_modes=declared_modes(frameworks),
        )

    @classmethod
    def create(cls, config: Any) -> Session:
        opts = {k: config.getoption(f"vjp_{k}") for k in
                ("frameworks", "devices", "ops", "dtypes", "precision", "profile", "max_examples", "families",
                 "cpu_precision", "seed", "probe_unsupported", "values_per_case", "shard", "modes")}
        adapters = list(config.getoption("vjp_adapter") or [])
        from conformance.selection import split

        frameworks = discover(tuple(adapters), split(opts["frameworks"]) or None, runs_tests=not _has_workers(config))
        if opts["frameworks"] is None:
            # default: every installed framework (explicitly requested ones are kept, unavailable or not)
            opts["frameworks"] = ",".join(n for n, a in frameworks.items() if a.available) or None
        selection = cls._selection(opts, frameworks)
        devices = resolve_devices(selection, frameworks)
        modes = resolve_modes(selection, frameworks)
        timeout = parse_timeout(config.getoption("vjp_timeout"))
        # everything is validated: only now is anything written
        given = config.getoption("vjp_run_dir")
        if given:
            run_dir = Path(given)
            (run_dir / "parts").mkdir(parents=True, exist_ok=True)
            run_id = run_dir.name
        else:
            run_id, run_dir = make_run_dir(Path(config.getoption("vjp_out") or DEFAULT_OUT))
        sess = cls(selection, frameworks, devices, run_id, run_dir, adapters,
                   timeout, "main", not config.getoption("vjp_no_report"), config.getoption("vjp_expectations"),
                   config.getoption("vjp_claims"), modes)
        sess.write_manifest()
        return sess

    def handoff(self) -> dict[str, Any]:
        return {
            "selection": asdict(self.selection), "run_id": self.run_id, "run_dir": str(self.run_dir),
            "adapters": self.adapters, "timeout": self.timeout, "devices": self.devices, "modes": self.modes,
            "expectations": self.expectations_file, "claims": self.claims_file,
            "report_environment": self.probed_frameworks(),  # workers report what this process did not import
        }

    def probed_frameworks(self) -> list[str]:
        """Built-in frameworks this process knows from package metadata only (adapters/probe.py)."""
        return [n for n, a in self.frameworks.items() if getattr(a.adapter, "probed", False)]

    @classmethod
    def for_worker(cls, config: Any, data: dict[str, Any], worker: str) -> Session:
        selection = Selection(**data["selection"])
        frameworks = discover(tuple(data["adapters"]), selection.frameworks)
        sess = cls(selection, frameworks, data["devices"], data["run_id"], Path(data["run_dir"]),
                   data["adapters"], data["timeout"], worker, expectations=data.get("expectations"),
                   claims=data.get("claims"), modes=data.get("modes"))
        sess.report_environment = list(data.get("report_environment", []))
        return sess

    def special_targets(self) -> list[tuple[Target, Any]]:
        if "special" in self.selection.families:
            return [(t, s) for t in self.targets for s in specials_of(get_op(t.op))]
        return []

    def witness_targets(self) -> list[tuple[Target, Any]]:
        """(target, witness) for every expectation witness of a cell this run covers."""
        if "witness" not in self.selection.families:
            return []
        out = []
        for t in self.targets:
            av = self.frameworks[t.framework]
            if not av.available:
                continue
            version = self.framework_version(t)
            out += [(t, w) for w in self.expectations.witnesses_for(t.framework, t.op, t.dtype, t.device, version,
                                                                    t.mode)]
        return out

    def kink_targets(self) -> list[tuple[Target, Any]]:
        if "convention" in self.selection.families:
            return [(t, k) for t in self.targets for k in get_op(t.op).kinks]
        return []

    # -- per example ---------------------------------------------------------------------------
    @property
    def writer(self) -> RecordWriter:
        if self._writer is None:
            self._writer = RecordWriter(self.run_dir, self.worker)
        return self._writer

    def adapter_for(self, target: Target) -> Availability:
        return self.frameworks[target.framework]

    def prepare(self, target: Target) -> None:
        """Put the framework in the target's precision mode (once per change), and let it set up
        the target's execution mode once per process (an adapter's optional ``warm_up(mode,
        device)``: a compiler's one-time start-up, kept out of the examples' time limit)."""
        av = self.frameworks[target.framework]
        warm_up = getattr(av.adapter, "warm_up", None) if av.available else None
        key = (target.framework, target.mode, target.device)
        if warm_up is not None and key not in self._warm:
            self._warm.add(key)
            warm_up(target.mode, target.device)
        if av.available and self._precision.get(target.framework) != target.precision:
            set_precision = getattr(av.adapter, "set_precision", None)
            if set_precision is not None:
                set_precision(target.precision)
            self._precision[target.framework] = target.precision

    def framework_version(self, target: Target) -> str:
        av = self.frameworks[target.framework]
        return str(av.adapter.version()) if av.available else ""

    def write(self, record: dict[str, Any]) -> None:
        record["worker"] = self.worker
        record["record_id"] = f"{self.run_id}/{self.worker}/{self.writer.count}"
        lost = (record.get("status") == "error" and self.worker.startswith("gw")
                and is_sticky_device_error(str(record.get("device", "cpu")), str(record.get("message", ""))))
        if lost:
            record["device_lost"] = True
            record["message"] = (f"{record.get('message')}\n[the device context is lost after this error: "
                                 f"worker {self.worker} ends here and a fresh worker takes its remaining targets]")
        self.writer.write(record)
        if lost:
            self._end_worker(record["record_id"])

    def _end_worker(self, record_id: str) -> None:
        """A sticky device error: the controller must not record a second, 'crashed' example."""
        self.writer.mark_inflight({"device_lost": record_id})
        self.close(keep_inflight=True)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(DEVICE_LOST_EXIT)

    def close(self, keep_inflight: bool = False) -> None:
        if self._writer is not None:
            self._writer.close(keep_inflight)
        # this process's peak resident memory, for run.json (Linux reports ru_maxrss in KiB)
        import resource

        peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        stats: dict[str, Any] = {"worker": self.worker, "peak_rss_mib": round(peak_kib / 1024, 1),
                                 "records": self._writer.count if self._writer else 0}
        if self.report_environment:  # what the frameworks were where the tests ran (see finish)
            stats["frameworks"] = self.framework_environment(self.report_environment)
        (self.run_dir / "parts" / f"{self.worker}.stats.json").write_text(json.dumps(stats))

    # -- the end -----------------------------------------------------------------------------
    def record_crash(self, nodeid: str, worker: str, message: str) -> None:
        """A worker died: record the example it was running from its in-flight note."""
        inflight = self.run_dir / "parts" / f"{worker}.inflight.json"
        info: dict[str, Any] = {}
        if inflight.exists():
            try:
                info = json.loads(inflight.read_text() or "{}")
            except ValueError:  # cut off mid-write by the crash: the target is still known
                info = {}
            inflight.unlink()
        if info.get("device_lost"):
            return  # the worker recorded the error that lost its device, then ended on purpose
        target = self.target_of(nodeid, info.get("nodeid"))
        if target is None:  # never silently lost: the run says a test died it could not place
            self.note_suite_error(nodeid, f"worker {worker} died in a test with no known target: {message}")
            return
        rec = base_record(target, run_id=self.run_id, framework_version=self.framework_version(target),
                          spec=get_op(target.op))
        rec.update(info)
        rec.update(status="crashed", message=f"worker {worker} died while running this example: {message}",
                   max_abs_err=None, max_rel_err=None, bound_ratio=None, max_ulp=None)
        rec["worker"] = f"{worker}-crash"
        self._attach_witness_inputs(rec)
        self.expectations.apply(rec)  # a crash an entry expects is known, like any other verdict
        path = self.run_dir / "parts" / f"{worker}-crashes.jsonl"
        with open(path, "a", encoding="utf-8") as f:
            rec["record_id"] = f"{self.run_id}/{worker}-crash/{sum(1 for _ in open(path))}"
            f.write(json.dumps(rec, allow_nan=False) + "\n")

    def _attach_witness_inputs(self, rec: dict[str, Any]) -> None:
        """A witness that killed its worker: its inputs are known exactly, so its repro runs."""
        name = rec.get("witness")
        found = [w for e in self.expectations.entries for w in e.witnesses if w.name == name]
        if found:
            case = witness_case(get_op(found[0].op), found[0])
            rec.update(shapes=case.shapes, cotangent_shape=list(case.cotangent.shape))
            attach_repro(rec, case)

    def target_of(self, nodeid: str, inflight_id: str | None = None) -> Target | None:
        """The target a test id belongs to: ``test_vjp[<target>]``, or ``test_x[<target>-<case>]``
        for the special, convention and witness families (the in-flight note names it exactly)."""
        by_id = {t.id: t for t in self.targets}
        if inflight_id in by_id:
            return by_id[inflight_id]
        param = nodeid[nodeid.find("[") + 1:-1] if nodeid.endswith("]") and "[" in nodeid else ""
        if param in by_id:
            return by_id[param]
        # the longest target id the parameter starts with (ids of one op share a prefix)
        found = [t for i, t in by_id.items() if param.startswith(f"{i}-")]
        return max(found, key=lambda t: len(t.id)) if found else None

    def note_suite_error(self, nodeid: str, message: str) -> None:
        """A test that failed without a failing record (the suite's own fault, or a crash it could
        not place): kept in parts/ and listed in run.json, and the run exits 1."""
        path = self.run_dir / "parts" / f"{self.worker}.suite-errors"
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"nodeid": nodeid, "message": message[-4000:]}) + "\n")

    def framework_environment(self, only: list[str] | None = None) -> dict[str, Any]:
        """Per selected framework (or those in ``only``): available or why not, version, devices,
        the adapter's details."""
        fws = {}
        for name, av in self.frameworks.items():
            if name not in self.selection.frameworks or (only is not None and name not in only):
                continue
            entry: dict[str, Any] = {"available": av.available, "source": av.source}
            if av.available:
                entry["version"] = str(av.adapter.version())
                entry["devices"] = av.adapter.devices()
                env = getattr(av.adapter, "environment", None)
                if env is not None:
                    try:
                        entry.update(env())
                    except Exception as e:  # environment details are best effort
                        entry["environment_error"] = f"{type(e).__name__}: {e}"
            else:
                entry["reason"] = av.reason
            fws[name] = entry
        return fws

    def environment(self) -> dict[str, Any]:
        return {
            "python": sys.version.split()[0], "platform": platform.platform(), "numpy": np.__version__,
            "host": socket.gethostname(), "cpu_count": os.cpu_count(), "cpu": self.host,
            "frameworks": self.framework_environment(),
            "gpus": nvidia_gpus(), "threads": threads.recorded(), "vjp_conformance": __version__,
        }

    def write_manifest(self) -> None:
        sel = asdict(self.selection)
        manifest = {
            "schema": SCHEMA_VERSION, "run_id": self.run_id, "started": utc_stamp(), "finished": None,
            "selection": sel, "devices": self.devices, "adapters": self.adapters,
            "hypothesis_profile": self.selection.profile, "seed": self.selection.seed,
            "seed_source": self.selection.seed_source, "values_per_case": self.selection.values_per_structure,
            "precision_modes": list(dict.fromkeys(self.selection.precisions + (self.selection.cpu_precisions or []))),
            "modes": self.modes,  # the execution modes per framework (conformance/modes.py)
            "targets": [t.key() for t in self.targets], "environment": self.environment(),
            "expectations": self.expectations.to_json(),
            "expectations_file": self.expectations_file or "conformance/expectations.toml (shipped)",
            "tolerance_overrides": self.tolerances.rows(),
            # the unsupported claims on the selected frameworks; summary.json gives each one's state
            "claims": [c.to_json() for c in self.claims.claims if c.framework in self.selection.frameworks],
            "claims_file": self.claims_file or "conformance/unsupported.toml (shipped)",
            "probe_unsupported": self.selection.probe_unsupported,
            "unavailable": {n: a.reason for n, a in self.frameworks.items()
                            if n in self.selection.frameworks and not a.available},
        }
        if self.selection.shard is not None:
            manifest["shard"] = self.shard_manifest()
        (self.run_dir / "run.json").write_text(json.dumps(manifest, indent=1, allow_nan=False))

    def shard_manifest(self) -> dict[str, Any]:
        """Which shard this run is, of what: ``merge`` checks that the shards of one selection
        (the same ``selection`` digest) are all there, once each."""
        assert self.selection.shard is not None
        whole = targets(self.selection, self.devices, self.modes, whole=True)
        index, count = self.selection.shard
        return {"index": index, "count": count, "targets": len(self.targets), "of_targets": len(whole),
                "selection": selection_digest(self.selection, whole)}

    def finish(self, exitstatus: int) -> None:
        from conformance.summary import write_summary

        self.close()
        merge_parts(self.run_dir)
        manifest_path = self.run_dir / "run.json"
        manifest = json.loads(manifest_path.read_text())
        manifest["finished"] = utc_stamp()
        manifest["pytest_exitstatus"] = int(exitstatus)
        workers = [json.loads(p.read_text()) for p in sorted((self.run_dir / "parts").glob("*.stats.json"))]
        manifest["workers"] = [{k: v for k, v in w.items() if k != "frameworks"} for w in workers]
        error_files = sorted((self.run_dir / "parts").glob("*.suite-errors"))
        manifest["suite_errors"] = [json.loads(line) for p in error_files
                                    for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
        _frameworks_from_workers(manifest, workers, self.probed_frameworks())
        manifest_path.write_text(json.dumps(manifest, indent=1, allow_nan=False))
        self.summary = write_summary(self.run_dir)
        if self.render:
            try:
                from conformance.report import render_run
            except ImportError:
                return
            render_run(self.run_dir)

    def summary_lines(self) -> list[str]:
        from conformance.summary import table_lines

        summary = getattr(self, "summary", None)
        lines = [f"vjp-conformance run {self.run_id}: {self.run_dir}"]
        if summary is not None:
            lines += table_lines(summary)
        return lines


def _has_workers(config: Any) -> bool:
    """Whether xdist workers run this session's tests (so this process, the controller, runs none)."""
    return not hasattr(config, "workerinput") and config.getoption("dist", "no") != "no"


def _frameworks_from_workers(manifest: dict[str, Any], workers: list[dict[str, Any]], probed: list[str]) -> None:
    """For the ``probed`` frameworks (the controller only read their package metadata), run.json
    takes each one's environment from the first worker that reported it; a framework that no
    worker could import is listed as unavailable, with the worker's reason."""
    frameworks = manifest["environment"]["frameworks"]
    for name in probed:
        if name not in frameworks:
            continue
        seen = [w["frameworks"][name] for w in workers if name in w.get("frameworks", {})]
        if not seen:
            continue
        frameworks[name] = seen[0]
        if not seen[0].get("available"):
            manifest["unavailable"][name] = seen[0].get("reason", "")

