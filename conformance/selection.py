"""What a run covers: validated selections of frameworks, devices, ops, dtypes, profile."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from conformance.adapters import Availability
from conformance.dtypes import DTYPES
from conformance.execute import Target
from conformance.modes import expand, modes_of, valid_names
from conformance.registry import all_ops


class Profile(NamedTuple):
    max_examples: int  # structure examples per target (Hypothesis's examples)
    values_per_case: int  # value sets checked per structure example
    description: str
    # the most elements one input of a large-regime example may hold (conformance/regimes.py)
    max_elements: int
    # the wall time a default run of the profile (whole catalogue, three frameworks, four dtypes,
    # the CPU, -n 2 on a 2-core machine) is meant to stay within; a benchmark figure, not enforced
    budget_s: int


PROFILES = {
    "dev": Profile(8, 4, "quick look while developing", 2**19, 600),
    "ci": Profile(25, 8, "per-commit CI", 2**19, 2400),
    "nightly": Profile(150, 32, "nightly runs, GPU runners included", 2**21, 6 * 3600),
}
# more value sets than this per structure is a typo, not a run (each is a framework call)
VALUES_PER_CASE_MAX = 4096
PRECISIONS = ("default", "strict")
# The same command on the same versions draws the same cases: a fixed seed unless asked otherwise
# (``--seed random`` explores fresh ones; the nightly workflow does).
DEFAULT_SEED = 0
SEED_MAX = 2**31 - 1
# accuracy: drawn by Hypothesis; special and convention: fixed cases per op; witness: the exact cases
# that pin each known failure (expectations.toml), so an entry's state never depends on the draws
FAMILIES = ("accuracy", "special", "convention", "witness")


class SelectionError(ValueError):
    """Bad selection: the message names the valid choices."""


def split(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split(",")
    out: list[str] = []
    for v in value:
        out.extend(x.strip() for x in v.split(",") if x.strip())
    return out


def check_choices(kind: str, chosen: list[str], valid: Iterable[str]) -> list[str]:
    valid = list(valid)
    bad = [c for c in chosen if c not in valid]
    if bad:
        raise SelectionError(f"unknown {kind} {', '.join(map(repr, bad))}; valid choices: {', '.join(valid)}")
    return no_repeats(kind, chosen)


def no_repeats(kind: str, chosen: list[str]) -> list[str]:
    repeated = [c for c in dict.fromkeys(chosen) if chosen.count(c) > 1]
    if repeated:
        raise SelectionError(f"{kind} {', '.join(map(repr, repeated))} given more than once")
    return list(chosen)


def parse_seed(value: str | int | None) -> tuple[int, str]:
    """``(seed, source)``: the fixed default, a given integer, or ``random`` (a fresh one, recorded)."""
    if value is None:
        return DEFAULT_SEED, "default"
    if isinstance(value, str) and value.strip().lower() == "random":
        import random

        return random.SystemRandom().randrange(SEED_MAX + 1), "random"
    try:
        seed = int(value)
    except (TypeError, ValueError):
        raise SelectionError(f"--seed must be an integer from 0 to {SEED_MAX} or 'random', got {value!r}") from None
    if not 0 <= seed <= SEED_MAX:
        raise SelectionError(f"--seed must be an integer from 0 to {SEED_MAX} or 'random', got {value!r}")
    return seed, "given"


def parse_shard(value: str | None) -> tuple[int, int] | None:
    """``i/N`` (1 <= i <= N): run only the i-th of N shards of the selected targets."""
    if value is None or value == "":
        return None
    try:
        i, n = (int(x) for x in str(value).split("/"))
    except ValueError:
        raise SelectionError(f"--shard must be i/N with 1 <= i <= N (e.g. 2/3), got {value!r}") from None
    if not 1 <= i <= n:
        raise SelectionError(f"--shard must be i/N with 1 <= i <= N (e.g. 2/3), got {value!r}")
    return i, n


def parse_timeout(value: float | str | None) -> float:
    """The per-example time limit in seconds; 0 turns it off (no limit)."""
    try:
        t = float(60.0 if value is None else value)
    except (TypeError, ValueError):
        raise SelectionError(f"--timeout must be a number of seconds (0: no limit), got {value!r}") from None
    if not t >= 0 or t == float("inf"):
        raise SelectionError(f"--timeout must be 0 (no limit) or a positive number of seconds, got {value!r}")
    return t


@dataclass
class Selection:
    frameworks: list[str]
    devices: list[str] | None  # None: every device each framework has
    ops: list[str]
    dtypes: list[str]
    precisions: list[str] = field(default_factory=lambda: ["default"])
    profile: str = "dev"
    max_examples: int | None = None
    seed: int = DEFAULT_SEED
    seed_source: str = "default"  # default | given | random
    families: list[str] = field(default_factory=lambda: list(FAMILIES))
    cpu_precisions: list[str] | None = None  # None: the same as precisions
    probe_unsupported: bool = False  # run the targets an unsupported claim covers (conformance/claims.py)
    values_per_case: int | None = None  # None: the profile's
    shard: tuple[int, int] | None = None  # (i, N): the i-th of N shards of the targets (1-based)
    modes: list[str] = field(default_factory=lambda: ["default"])  # --modes as given (conformance/modes.py)

    def precisions_on(self, device: str) -> list[str]:
        return self.cpu_precisions if device == "cpu" and self.cpu_precisions else self.precisions

    def __post_init__(self) -> None:
        if self.shard is not None:  # a list, when the selection comes back from JSON (workers)
            self.shard = (int(self.shard[0]), int(self.shard[1]))

    @property
    def values_per_structure(self) -> int:
        """K: value sets checked per structure example (``--values-per-case``, else the profile's)."""
        return self.values_per_case or PROFILES[self.profile].values_per_case


def parse_selection(
    *,
    frameworks: str | None,
    devices: str | None,
    ops: str | None,
    dtypes: str | None,
    precision: str | None,
    profile: str | None,
    max_examples: int | None,
    seed: int | str | None,
    known_frameworks: Iterable[str],
    families: str | None = None,
    cpu_precision: str | None = None,
    seed_source: str | None = None,
    probe_unsupported: bool = False,
    values_per_case: int | None = None,
    shard: str | None = None,
    modes: str | None = None,
    known_modes: dict[str, tuple[str, ...]] | None = None,
) -> Selection:
    """Validate every choice before anything runs or is written."""
    op_names = list(all_ops())
    sel_ops = check_choices("op", split(ops), op_names) if ops else op_names
    sel_dtypes = check_choices("dtype", split(dtypes), DTYPES) if dtypes else list(DTYPES)
    sel_fw = check_choices("framework", split(frameworks), known_frameworks) if frameworks else list(known_frameworks)
    sel_prec = check_choices("precision mode", split(precision), PRECISIONS) if precision else ["default"]
    cpu_prec = check_choices("CPU precision mode", split(cpu_precision), PRECISIONS) if cpu_precision else None
    prof = profile or "dev"
    check_choices("profile", [prof], PROFILES)
    if max_examples is not None and max_examples < 1:
        raise SelectionError(f"--max-examples must be at least 1, got {max_examples}")
    if values_per_case is not None and not 1 <= values_per_case <= VALUES_PER_CASE_MAX:
        raise SelectionError(f"--values-per-case must be from 1 to {VALUES_PER_CASE_MAX}, got {values_per_case}")
    sel_dev = split(devices) or None
    if sel_dev is not None:
        for d in sel_dev:
            if not (d == "cpu" or d == "cuda" or (d.startswith("cuda:") and d[5:].isdigit())):
                raise SelectionError(f"unknown device {d!r}; valid forms: cpu, cuda (every CUDA device), cuda:N")
    sel_fam = check_choices("case family", split(families), FAMILIES) if families else list(FAMILIES)
    if sel_dev is not None:
        no_repeats("device", sel_dev)
    seed_value, source = parse_seed(seed)
    sel_modes = check_choices("mode", split(modes), valid_names(known_modes)) if modes else ["default"]
    return Selection(sel_fw, sel_dev, sel_ops, sel_dtypes, sel_prec, prof, max_examples, seed_value,
                     seed_source or source, sel_fam, cpu_prec, bool(probe_unsupported), values_per_case,
                     parse_shard(shard), sel_modes)


def declared_modes(frameworks: dict[str, Availability]) -> dict[str, tuple[str, ...]]:
    """Each framework's declared modes (the built-ins' known without importing them)."""
    return {name: modes_of(av.adapter, name) for name, av in frameworks.items()}


def resolve_modes(sel: Selection, frameworks: dict[str, Availability]) -> dict[str, list[str]]:
    """The concrete modes per selected framework; a mode name no selected framework has is an error."""
    declared = declared_modes(frameworks)
    per_fw = {name: expand(sel.modes, declared[name]) for name in sel.frameworks}
    for m in sel.modes:
        if not any(expand([m], declared[name]) for name in sel.frameworks):
            have = sorted({x for name in sel.frameworks for x in declared[name]})
            raise SelectionError(f"mode {m!r} is not a mode of any selected framework "
                                 f"({', '.join(sel.frameworks)}: {', '.join(have)})")
    return per_fw


def resolve_devices(sel: Selection, frameworks: dict[str, Availability]) -> dict[str, list[str]]:
    """Devices per selected framework; a requested device no selected framework has is an error."""
    per_fw: dict[str, list[str]] = {}
    for name in sel.frameworks:
        av = frameworks[name]
        have = av.adapter.devices() if av.available else ["cpu"]
        if sel.devices is None:
            per_fw[name] = have
            continue
        chosen: list[str] = []
        for d in sel.devices:
            if d == "cuda":
                chosen += [x for x in have if x.startswith("cuda:")]
            elif d in have:
                chosen.append(d)
        per_fw[name] = list(dict.fromkeys(chosen))
    if sel.devices is not None:
        available = sorted({d for name in sel.frameworks for d in (
            frameworks[name].adapter.devices() if frameworks[name].available else ["cpu"])})
        for d in sel.devices:
            if not any(x == d or (d == "cuda" and x.startswith("cuda:")) for xs in per_fw.values() for x in xs):
                raise SelectionError(
                    f"device {d!r} is not visible to any selected framework; visible devices: {', '.join(available)}"
                )
    return per_fw


def targets(sel: Selection, devices: dict[str, list[str]], modes: dict[str, list[str]] | None = None, *,
            whole: bool = False) -> list[Target]:
    """The targets this run covers: the selection's, or its shard's (``--shard i/N``) unless
    ``whole``. ``modes``: the concrete modes per framework (``resolve_modes``); without it, each
    framework's default mode."""
    ops = all_ops()
    out = []
    for op in sel.ops:
        for fw in sel.frameworks:
            for dev in devices[fw]:
                for dt in sel.dtypes:
                    if dt not in ops[op].dtypes:
                        continue
                    for prec in sel.precisions_on(dev):
                        # a framework none of whose modes was asked for has no target
                        for mode in (modes.get(fw, [""]) if modes is not None else [""]):
                            out.append(Target(op, fw, dev, dt, prec, mode))
    if sel.shard is not None and not whole:
        return shard_of(out, *sel.shard)
    return out


def shard_of(all_targets: list[Target], index: int, count: int) -> list[Target]:
    """Shard ``index`` of ``count`` (1-based): every ``count``-th target in the order of a stable
    hash of their ids (SHA-1), starting at the ``index``-th. Each target falls in exactly one shard,
    shards differ in size by one at most, and the split depends on the selection alone. Hashing
    mixes the matrix's dimensions into every shard: in id order a period that divides the count of
    modes or dtypes put, say, all of torch ``compile`` (the costliest mode) into one shard. The
    shard keeps the selection's own order."""
    ranked = sorted(all_targets, key=lambda t: (hashlib.sha1(t.id.encode()).hexdigest(), t.id))
    chosen = {t.id for t in ranked[index - 1::count]}
    return [t for t in all_targets if t.id in chosen]


def selection_digest(sel: Selection, all_targets: list[Target]) -> str:
    """What shards of one run share: the whole selection's targets and everything that decides
    their cases (seed, profile, examples, value sets, families). ``merge`` groups shards by it."""
    key = {"targets": sorted(t.id for t in all_targets), "seed": sel.seed, "profile": sel.profile,
           "max_examples": sel.max_examples, "values_per_case": sel.values_per_structure,
           "families": sorted(sel.families)}
    return hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
