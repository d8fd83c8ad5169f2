"""pytest plugin: selection options, the target matrix, per-worker records, the run's end.

Options (the command line's ``vjp-conformance run --X`` is ``pytest --vjp-X``)::

    --vjp-frameworks torch,jax   --vjp-devices cpu,cuda   --vjp-ops sigmoid,conv2d
    --vjp-dtypes float32         --vjp-precision default,strict
    --vjp-profile dev|ci|nightly --vjp-max-examples N     --vjp-seed N
    --vjp-out DIR (runs go to DIR/<run-id>/)  --vjp-adapter module:attr (repeatable)
    --vjp-timeout SECONDS (per example)

The plugin only acts when the suite (``conformance.suite``) is in the session.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from conformance import session as run_session
from conformance.selection import PROFILES, SelectionError

# Deadlines are off: the first call of a target pays for imports, kernel selection and (JAX)
# compilation, which makes per-example wall-clock deadlines meaningless; a hung example is caught
# by the suite's own per-example time limit (--timeout) instead. Health checks stay on, except
# differing_executors: each target runs its own nested @given function (same code, a different
# closure per target), which that check would take for one test called from several executors.
for _name, (_n, _doc) in PROFILES.items():
    settings.register_profile(
        f"vjp-{_name}", max_examples=_n, deadline=None, database=None, print_blob=True,
        suppress_health_check=(HealthCheck.differing_executors,),
    )


# the run's Session, kept on pytest's config (controller and each worker have their own)
SESSION = pytest.StashKey[run_session.Session]()


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("vjp-conformance", "VJP conformance suite (conformance.suite)")
    g.addoption("--vjp-frameworks", default=None, help="comma list of frameworks (default: all installed)")
    g.addoption("--vjp-devices", default=None, help="comma list: cpu, cuda, cuda:N (default: all visible)")
    g.addoption("--vjp-ops", default=None, help="comma list of ops (default: whole catalogue)")
    g.addoption("--vjp-dtypes", default=None, help="comma list of dtypes (default: all four)")
    g.addoption("--vjp-precision", default=None, help="comma list of precision modes: default, strict")
    g.addoption("--vjp-cpu-precision", default=None, help="precision modes for CPU targets (default: --vjp-precision)")
    g.addoption("--vjp-families", default=None, help="case families: accuracy, special, convention (default: all)")
    g.addoption("--vjp-profile", default=None, help=f"Hypothesis profile: {', '.join(PROFILES)}")
    g.addoption("--vjp-max-examples", type=int, default=None, help="examples per target (overrides profile)")
    g.addoption("--vjp-seed", default=None, help="seed for every target: an integer or 'random' (default: 0)")
    g.addoption("--vjp-seed-source", default=None, help=argparse.SUPPRESS)
    g.addoption("--vjp-out", default=None, help="folder that runs are written under (default: reports)")
    g.addoption("--vjp-run-dir", default=None, help="use this existing run directory (set by the command line)")
    g.addoption("--vjp-adapter", action="append", default=[], help="extra adapter as package.module:attr")
    g.addoption("--vjp-expectations", default=None, help="known-failures file (default: the shipped one)")
    g.addoption("--vjp-timeout", default="60", help="per-example time limit in seconds (0: no limit)")
    g.addoption("--vjp-no-report", action="store_true", help="do not render index.html at the end")


def _suite_requested(config: pytest.Config) -> bool:
    if config.getoption("vjp_out") or config.getoption("vjp_run_dir"):
        return True
    args = [str(a) for a in config.invocation_params.args]
    return any("conformance.suite" in a or a.replace(os.sep, "/").endswith("conformance/suite.py") for a in args)


def pytest_configure(config: pytest.Config) -> None:
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        if "vjp_session" in workerinput:
            config.stash[SESSION] = run_session.Session.for_worker(config, json.loads(workerinput["vjp_session"]),
                                                         workerinput.get("workerid", "gw"))
        return
    if not _suite_requested(config):
        return
    try:
        config.stash[SESSION] = run_session.Session.create(config)
    except SelectionError as e:
        raise pytest.UsageError(str(e)) from None


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:  # xdist controller -> each worker
    sess = node.config.stash.get(SESSION, None)
    if sess is not None:
        node.workerinput["vjp_session"] = json.dumps(sess.handoff())


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    names = {"vjp_target", "vjp_special", "vjp_kink", "vjp_witness"} & set(metafunc.fixturenames)
    if not names:
        return
    sess = metafunc.config.stash.get(SESSION, None)
    if sess is None:
        raise pytest.UsageError("the conformance suite needs the vjp-conformance plugin session "
                                "(run it as: pytest --pyargs conformance.suite)")
    if "vjp_target" in names:
        metafunc.parametrize("vjp_target", sess.targets, ids=[t.id for t in sess.targets])
    if "vjp_special" in names:
        pairs = sess.special_targets()
        metafunc.parametrize("vjp_special", pairs, ids=[f"{t.id}-{s.name}" for t, s in pairs])
    if "vjp_kink" in names:
        pairs = sess.kink_targets()
        metafunc.parametrize("vjp_kink", pairs, ids=[f"{t.id}-{k.name}" for t, k in pairs])
    if "vjp_witness" in names:
        pairs = sess.witness_targets()
        metafunc.parametrize("vjp_witness", pairs, ids=[f"{t.id}-{w.name}" for t, w in pairs])


@pytest.fixture
def vjp_session(request: pytest.FixtureRequest) -> run_session.Session:
    return request.config.stash[SESSION]


@pytest.hookimpl(optionalhook=True)
def pytest_handlecrashitem(crashitem: str, report: Any, sched: Any) -> None:
    """xdist: a worker died while running ``crashitem``; record the example it was running."""
    sess = _CONTROLLER.get("session")
    if sess is not None:
        worker = getattr(getattr(report, "node", None), "workerinput", {}).get("workerid", "unknown")
        sess.record_crash(crashitem, worker, str(report.longrepr)[-1000:])


_CONTROLLER: dict[str, Any] = {}


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    sess = session.config.stash.get(SESSION, None)
    if sess is not None and not hasattr(session.config, "workerinput"):
        _CONTROLLER["session"] = sess


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    sess = session.config.stash.get(SESSION, None)
    if sess is None:
        return
    if hasattr(session.config, "workerinput"):
        sess.close()
        return
    sess.finish(exitstatus)
    _CONTROLLER.pop("session", None)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    sess = config.stash.get(SESSION, None)
    if sess is None or hasattr(config, "workerinput") or config.getoption("verbose") < 0:
        return  # the command line prints its own summary when it runs pytest quietly
    for line in sess.summary_lines():
        terminalreporter.write_line(line)
