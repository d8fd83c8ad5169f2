"""Known failures as data (``expectations.toml``): which framework faults are known, why, and
where they are reported upstream. A matching failing example becomes ``known``; an entry that
matches no example of a run is ``stale``; an entry whose examples all pass is ``fixed``."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from conformance.matching import allowed, field_matches

DEFAULT_FILE = Path(__file__).with_name("expectations.toml")
MATCH_KEYS = ("framework", "op", "dtype", "device", "precision", "family", "special", "kink")
FAILING = ("fail", "nonfinite", "bad-output", "error", "timeout")
# a crash is expected only where an entry names it: it costs a worker, so no entry swallows one
# by default
EXPECTABLE = (*FAILING, "crashed")


@dataclass(frozen=True)
class Expectation:
    id: str
    match: dict[str, tuple[str, ...]]
    reason: str
    link: str = ""
    versions: str = ""
    statuses: tuple[str, ...] = FAILING
    extra: dict[str, Any] = field(default_factory=dict)

    def matches_cell(self, rec: dict[str, Any]) -> bool:
        """Same framework/op/dtype/... (ignoring the example's status)."""
        for key, accepted in self.match.items():
            if not field_matches(key, rec.get(key if key != "family" else "case_family"), accepted):
                return False
        if self.versions:
            try:
                if Version(str(rec.get("framework_version", "")).split("+")[0]) not in SpecifierSet(self.versions):
                    return False
            except InvalidVersion:
                return False
        return True


class Expectations:
    def __init__(self, entries: list[Expectation]) -> None:
        self.entries = entries

    @classmethod
    def parse(cls, data: dict[str, Any], source: str = "<data>") -> Expectations:
        entries = []
        for i, row in enumerate(data.get("expect", [])):
            where = f"{source} [[expect]] #{i + 1}"
            unknown = set(row) - set(MATCH_KEYS) - {"reason", "link", "versions", "statuses", "id"}
            if unknown:
                raise ValueError(f"{where}: unknown keys {sorted(unknown)}; valid: {MATCH_KEYS} + reason, link, "
                                 "versions, statuses, id")
            for need in ("framework", "op", "reason"):
                if not row.get(need):
                    raise ValueError(f"{where}: needs {need!r}")
            if row.get("versions"):
                try:
                    SpecifierSet(row["versions"])
                except InvalidSpecifier as e:
                    raise ValueError(f"{where}: bad versions {row['versions']!r}: {e}") from None
            match = {k: allowed(row[k]) for k in MATCH_KEYS if k in row}
            statuses = tuple(row.get("statuses", FAILING))
            bad = [s for s in statuses if s not in EXPECTABLE]
            if bad:
                raise ValueError(f"{where}: statuses {bad} cannot be expected; valid: {EXPECTABLE}")
            ident = row.get("id") or "/".join("|".join(v) for v in match.values())
            entries.append(Expectation(ident, match, row["reason"], row.get("link", ""), row.get("versions", ""),
                                       statuses))
        return cls(entries)

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
            if status in e.statuses and e.matches_cell(rec):
                rec["expected_status"] = status
                rec["status"] = "known"
                rec["expectation"] = {"id": e.id, "reason": e.reason, "link": e.link}
                break
        return rec

    def to_json(self) -> list[dict[str, Any]]:
        return [{"id": e.id, "match": {k: list(v) for k, v in e.match.items()}, "reason": e.reason,
                 "link": e.link, "versions": e.versions, "statuses": list(e.statuses)} for e in self.entries]


def entry_states(entries: list[dict[str, Any]], records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """known: some example matched and failed as expected; fixed: its examples ran and none failed;
    stale: no example of the run falls under it (framework not run, op renamed, version moved on)."""
    exps = Expectations.parse({"expect": [{**{k: v for k, v in e["match"].items()}, "reason": e["reason"],
                                           "link": e["link"], "versions": e["versions"],
                                           "statuses": e["statuses"], "id": e["id"]} for e in entries]})
    out = []
    for raw, e in zip(entries, exps.entries):
        under = [r for r in records if e.matches_cell(r) and r.get("phase") != "shrink"]
        known = sum(1 for r in under if r.get("status") == "known" and r.get("expectation", {}).get("id") == e.id)
        state = "known" if known else ("fixed" if under else "stale")
        out.append({**raw, "state": state, "examples": len(under), "known": known})
    return out
