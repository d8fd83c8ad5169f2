"""The run's options, declared once: ``vjp-conformance run --X`` and pytest's ``--vjp-X`` are both
built from this table, and the command line forwards each option it was given to the suite.

Values are validated in one place too (``selection.parse_selection``, ``parse_seed``,
``parse_shard``, ``parse_timeout``), where the suite's session starts, so a bad value is refused with the same
message whichever way the suite was started.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from conformance.modes import BUILTIN_MODES
from conformance.selection import FAMILIES, PRECISIONS, PROFILES


@dataclass(frozen=True)
class Option:
    name: str  # the command line's --name; pytest's --vjp-name
    help: str
    default: Any = None
    kind: str = "value"  # value | int | repeat (may be given several times) | flag

    @property
    def dest(self) -> str:
        return self.name.replace("-", "_")

    def add_to(self, add: Callable[..., Any], prefix: str = "") -> None:
        """Declare it through an argparse ``add_argument`` or pytest ``addoption``."""
        kwargs: dict[str, Any] = {"help": self.help, "dest": prefix.replace("-", "_") + self.dest}
        if self.kind == "flag":
            kwargs.update(action="store_true")
        elif self.kind == "repeat":
            kwargs.update(action="append", default=[])
        else:
            kwargs.update(default=self.default)
            if self.kind == "int":
                kwargs.update(type=int)
        add(f"--{prefix}{self.name}", **kwargs)

    def forward(self, value: Any) -> list[str]:
        """The suite's arguments for a value the command line was given ([] when it was not)."""
        if self.kind == "flag":
            return [f"--vjp-{self.name}"] if value else []
        if self.kind == "repeat":
            return [x for v in value or [] for x in (f"--vjp-{self.name}", str(v))]
        if value is None or value == self.default:
            return []
        return [f"--vjp-{self.name}", str(value)]


RUN_OPTIONS = (
    Option("frameworks", "comma list (default: every installed framework)"),
    Option("devices", "comma list: cpu, cuda (every CUDA device), cuda:N (default: every visible device)"),
    Option("ops", "comma list (default: the whole catalogue)"),
    Option("dtypes", "comma list (default: float16,bfloat16,float32,float64)"),
    Option("precision", f"comma list of precision modes: {', '.join(PRECISIONS)} (default: default)"),
    Option("cpu-precision", "precision modes for CPU targets, where they should differ from --precision "
                            "(the CPU has no TF32: gpu-check runs it once, in default)"),
    Option("modes", "comma list of execution modes: default (each framework's own: torch eager, tensorflow eager, "
                    "jax jit), eager, compiled (every mode but eager), or a framework's mode ("
                    + "; ".join(f"{fw} {'|'.join(m)}" for fw, m in BUILTIN_MODES.items()) + ") (default: default)"),
    Option("families", f"case families: {', '.join(FAMILIES)} (default: all)"),
    Option("profile", f"Hypothesis profile: {', '.join(PROFILES)} (default: dev)", "dev"),
    Option("max-examples", "structure examples per target (overrides the profile)", kind="int"),
    Option("values-per-case", "value sets (inputs and cotangent) checked per structure example, through the "
                              "same compiled program (overrides the profile: "
                              + ", ".join(f"{n} {p.values_per_case}" for n, p in PROFILES.items()) + ")",
           kind="int"),
    Option("shard", "i/N: run only the i-th of N shards of the selected targets (for a CI matrix; "
                    "vjp-conformance merge checks that the N shards make the whole run)"),
    Option("seed", "an integer, or 'random' for fresh cases (default: 0, so the same command on the same "
                   "versions draws the same cases; recorded in run.json and the report)"),
    Option("adapter", "extra adapter package.module:attr (repeatable)", kind="repeat"),
    Option("expectations", "known-failures file (default: the shipped conformance/expectations.toml)"),
    Option("claims", "unsupported-claims file (default: the shipped conformance/unsupported.toml)"),
    Option("probe-unsupported", "run the targets an unsupported claim covers anyway: a claim whose target runs "
                                "is reported stale, one whose targets still raise holds (summary.json)", kind="flag"),
    Option("timeout", "per-example time limit in seconds (default: 60; 0: no limit; five times it in a compiled mode, "
                      "where a call may compile first)", "60"),
    Option("no-report", "skip index.html", kind="flag"),
)


def add_run_options(parser: argparse.ArgumentParser) -> None:
    for opt in RUN_OPTIONS:
        opt.add_to(parser.add_argument)


def forwarded(args: argparse.Namespace) -> list[str]:
    """``vjp-conformance run``'s options as the suite's ``--vjp-*`` arguments."""
    return [x for opt in RUN_OPTIONS for x in opt.forward(getattr(args, opt.dest))]
