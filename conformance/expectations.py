"""Known failures as data (``expectations.toml``): which framework faults are known, why, where
they are reported upstream, and the witness cases that reproduce them (``conformance.witness``).

A matching failing example becomes ``known``. An entry's state in a run comes from its witnesses
(or, for an entry confined to the fixed special/convention families, from those cases), never
from whether random draws happened to reach it: ``known`` (a witness reproduced the fault),
``fixed`` (every witness ran and passed: end the entry's version range), ``changed`` (a witness
failed otherwise than the entry says), ``stale`` (no witness ran: the run did not cover the
entry's cells, or the framework's version is outside the entry's range)."""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from conformance.matching import allowed, field_matches, version_in
from conformance.outcome import EXPECTABLE, EXPECTED_BY_DEFAULT, PASSING
from conformance.witness import FIXED_FAMILIES, Witness, parse_witnesses

DEFAULT_FILE = Path(__file__).with_name("expectations.toml")
MATCH_KEYS = ("framework", "op", "dtype", "device", "precision", "mode", "family", "special", "kink", "regime",
              "layout")
# what else an entry may say: ``cpu_features`` (the host's oneDNN may use them all: run.json's
# cpu.effective_features), ``tf_onednn`` (TensorFlow's oneDNN kernels on or off in the run),
# ``inactive`` (set by for_host, carried in run.json)
ENTRY_KEYS = ("reason", "link", "versions", "statuses", "id", "witness", "cpu_features", "tf_onednn", "inactive")


@dataclass(frozen=True)
class Expectation:
    id: str
    match: dict[str, tuple[str, ...]]
    reason: str
    link: str = ""
    versions: str = ""
    statuses: tuple[str, ...] = EXPECTED_BY_DEFAULT
    witnesses: tuple[Witness, ...] = field(default_factory=tuple)
    cpu_features: tuple[str, ...] = ()  # the host CPU must have all of these (effective ones) for it to hold
    inactive: str = ""  # why the entry does not apply on this host ("" where it does)
    tf_onednn: bool | None = None  # holds only where TensorFlow's oneDNN kernels are on (True) / off (False)

    @property
    def pinned_by_fixed_families(self) -> bool:
        """Confined to the special/convention families, whose cases are fixed: its own witness."""
        fams = self.match.get("family")
        return bool(fams) and all(f in FIXED_FAMILIES for f in fams)

    def covers_version(self, version: str) -> bool:
        return version_in(version, self.versions)

    def matches_cell(self, rec: dict[str, Any]) -> bool:
        """Same framework/op/dtype/... (ignoring the example's status). A witness record is
        claimed by its own entry only, whatever its case family."""
        witness = rec.get("witness")
        if witness is not None and str(witness).rsplit("#", 1)[0] != self.id:
            return False
        for key, accepted in self.match.items():
            if witness is not None and key in ("family", "special", "kink", "regime", "layout"):
                continue
            if not field_matches(key, rec.get(key if key != "family" else "case_family"), accepted):
                return False
        return self.covers_version(str(rec.get("framework_version", "")))


class Expectations:
    def __init__(self, entries: list[Expectation]) -> None:
        self.entries = entries

    @classmethod
    def parse(cls, data: dict[str, Any], source: str = "<data>", check_ops: bool = True) -> Expectations:
        from conformance.registry import all_ops

        ops = all_ops() if check_ops else None
        entries = []
        seen: set[str] = set()
        for i, row in enumerate(data.get("expect", [])):
            where = f"{source} [[expect]] #{i + 1}"
            unknown = set(row) - set(MATCH_KEYS) - set(ENTRY_KEYS)
            if unknown:
                raise ValueError(f"{where}: unknown keys {sorted(unknown)}; valid: {MATCH_KEYS} + "
                                 f"{', '.join(ENTRY_KEYS)}")
            for need in ("framework", "op", "reason"):
                if not row.get(need):
                    raise ValueError(f"{where}: needs {need!r}")
            if row.get("versions"):
                try:
                    SpecifierSet(row["versions"])
                except InvalidSpecifier as e:
                    raise ValueError(f"{where}: bad versions {row['versions']!r}: {e}") from None
            match = {k: allowed(row[k]) for k in MATCH_KEYS if k in row}
            statuses = tuple(row.get("statuses", EXPECTED_BY_DEFAULT))
            bad = [s for s in statuses if s not in EXPECTABLE]
            if bad:
                raise ValueError(f"{where}: statuses {bad} cannot be expected; valid: {EXPECTABLE}")
            ident = row.get("id") or "/".join("|".join(v) for v in match.values())
            if ident in seen:
                raise ValueError(f"{where}: id {ident!r} is used twice")
            seen.add(ident)
            witnesses = tuple(parse_witnesses(ident, row, where, ops))
            features = tuple(allowed(row.get("cpu_features", [])))
            tf_onednn = row.get("tf_onednn")
            if tf_onednn is not None and not isinstance(tf_onednn, bool):
                raise ValueError(f"{where}: tf_onednn must be true or false, got {tf_onednn!r}")
            entries.append(Expectation(ident, match, row["reason"], row.get("link", ""), row.get("versions", ""),
                                       statuses, witnesses, features, str(row.get("inactive", "")), tf_onednn))
        return cls(entries)

    def for_host(self, host: dict[str, Any] | None) -> Expectations:
        """The entries as they stand on this host (``cpuinfo.host_conditions()``): an entry that
        needs a CPU feature the host's kernels cannot use, or a TensorFlow oneDNN setting the
        process does not have, is inactive here (it expects nothing and runs no witness)."""
        if host is None:
            return self
        features = host.get("effective_features")
        out = []
        for e in self.entries:
            why = []
            if e.cpu_features and features is not None:
                missing = [f for f in e.cpu_features if f not in features]
                if missing:
                    capped = host.get("onednn_max_cpu_isa")
                    why.append(f"this CPU lacks {', '.join(missing)}" + (
                        f" (or ONEDNN_MAX_CPU_ISA={capped} keeps oneDNN from it)" if capped else ""))
            if e.tf_onednn is not None and host.get("tf_onednn") is not None and host["tf_onednn"] != e.tf_onednn:
                why.append(f"TensorFlow's oneDNN is {'on' if host['tf_onednn'] else 'off'} here")
            out.append(dataclasses.replace(e, inactive="; ".join(why)))
        return Expectations(out)

    def witnesses_for(self, framework: str, op: str, dtype: str, device: str, version: str,
                      mode: str | None = None) -> list[Witness]:
        """The witnesses a target runs: its cell, where the entry covers the framework's version
        (and its execution mode, where the entry names modes)."""
        return [w for e in self.entries if not e.inactive and e.covers_version(version)
                and (mode is None or "mode" not in e.match or field_matches("mode", mode, e.match["mode"]))
                for w in e.witnesses if w.applies_to(framework, op, dtype, device)]

    @classmethod
    def load(cls, path: Path = DEFAULT_FILE) -> Expectations:
        with open(path, "rb") as f:
            return cls.parse(tomllib.load(f), str(path))

    def apply(self, rec: dict[str, Any]) -> dict[str, Any]:
        """Turn a failing record that an entry expects into ``known`` (its own verdict kept)."""
        status = rec.get("status")
        if status not in EXPECTABLE:
            return rec
        for e in self.entries:
            if not e.inactive and status in e.statuses and e.matches_cell(rec):
                rec["expected_status"] = status
                rec["status"] = "known"
                rec["expectation"] = {"id": e.id, "reason": e.reason, "link": e.link}
                break
        return rec

    def to_json(self) -> list[dict[str, Any]]:
        return [{"id": e.id, "match": {k: list(v) for k, v in e.match.items()}, "reason": e.reason,
                 "link": e.link, "versions": e.versions, "statuses": list(e.statuses),
                 "witnesses": [w.to_json() for w in e.witnesses], "cpu_features": list(e.cpu_features),
                 "tf_onednn": e.tf_onednn, "inactive": e.inactive} for e in self.entries]


ENTRY_STATES = ("known", "fixed", "changed", "stale")


def _row(entry: dict[str, Any]) -> dict[str, Any]:
    """An entry as run.json carries it (``to_json``), back in the data file's row form."""
    row = dict(entry["match"])
    for key in ENTRY_KEYS:
        value = entry.get("witnesses" if key == "witness" else key)
        if value is not None:
            row[key] = value
    return row


def entry_states(entries: list[dict[str, Any]], records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each entry's state in a run, from its witnesses (module docstring), with how many of the
    run's other examples fell under it and how many of those it turned ``known``."""
    exps = Expectations.parse({"expect": [_row(e) for e in entries]}, check_ops=False)
    out = []
    for raw, e in zip(entries, exps.entries):
        under = [r for r in records if e.matches_cell(r) and r.get("phase") != "shrink"]
        known = sum(1 for r in under if r.get("status") == "known" and r.get("expectation", {}).get("id") == e.id)
        if e.witnesses:
            pins = [r for r in under if r.get("witness")]
        elif e.pinned_by_fixed_families:
            pins = under
        else:
            pins = []
        reproduced = [r for r in pins if r.get("status") == "known" and r.get("expectation", {}).get("id") == e.id]
        if e.inactive:
            state = "stale"  # it does not apply on the host that ran: nothing was expected of it
        elif not e.witnesses and not e.pinned_by_fixed_families and known:
            state = "known"  # an unpinned entry (no witness): only a draw that reached it says anything
        elif reproduced:
            state = "known"
        elif not pins:
            state = "stale"
        elif all(r.get("status") in PASSING for r in pins):
            state = "fixed"
        else:
            state = "changed"
        out.append({**raw, "state": state, "witness_records": len(pins), "reproduced": len(reproduced),
                    # examples: structures and fixed cases (a structure's other value sets are
                    # records of their own, counted under known but not as examples again)
                    "examples": sum(1 for r in under if not r.get("value_set_of")), "known": known,
                    "pinned": "witness" if e.witnesses else ("fixed cases" if e.pinned_by_fixed_families else "none"),
                    **({"why": e.inactive} if e.inactive else {})})
    return out
