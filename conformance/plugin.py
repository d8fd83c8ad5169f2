"""pytest plugin: selection options, the target matrix, per-worker records, the run's end.

Options: every ``vjp-conformance run --X`` is ``pytest --vjp-X`` (one table, conformance/options.py),
for example ``--vjp-frameworks torch,jax --vjp-ops sigmoid,conv2d --vjp-dtypes float32 --vjp-seed 3``;
and ``--vjp-out DIR`` (runs go to DIR/<run-id>/).

The plugin only acts when the suite (``conformance.suite``) is in the session.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from conformance import session as run_session
from conformance.options import RUN_OPTIONS
from conformance.outcome import only_verdict_failures
from conformance.selection import PROFILES, SelectionError

# Deadlines are off: the first call of a target pays for imports, kernel selection and (JAX)
# compilation, which makes per-example wall-clock deadlines meaningless; a hung example is caught
# by the suite's own per-example time limit (--timeout) instead. Health checks stay on, except
# differing_executors: each target runs its own nested @given function (same code, a different
# closure per target), which that check would take for one test called from several executors.
for _name, _profile in PROFILES.items():
    settings.register_profile(
        f"vjp-{_name}", max_examples=_profile.max_examples, deadline=None, database=None, print_blob=True,
        suppress_health_check=(HealthCheck.differing_executors,),
    )


# the run's Session, kept on pytest's config (controller and each worker have their own)
SESSION = pytest.StashKey[run_session.Session]()


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("vjp-conformance", "VJP conformance suite (conformance.suite)")
    for opt in RUN_OPTIONS:
        opt.add_to(g.addoption, prefix="vjp-")
    g.addoption("--vjp-out", default=None, help="folder that runs are written under (default: reports)")
    g.addoption("--vjp-run-dir", default=None, help="use this existing run directory (set by the command line)")


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


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A suite test that failed without a failing verdict is the suite's own fault: note it (the
    run then exits 1 and run.json lists it), so that no failure passes unseen."""
    outcome = yield
    report = outcome.get_result()
    sess = item.config.stash.get(SESSION, None)
    if sess is None or not report.failed or call.excinfo is None:
        return
    if only_verdict_failures(call.excinfo.value):
        return
    sess.note_suite_error(item.nodeid, f"{report.when}: {report.longreprtext[-3000:]}")


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
