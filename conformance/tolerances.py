"""Tolerance budgets as data (``tolerances.toml``), with the reason for every number."""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.matching import allowed, field_matches

DEFAULT_FILE = Path(__file__).with_name("tolerances.toml")
MATCH_KEYS = ("op", "framework", "device", "dtype", "precision")


@dataclass(frozen=True)
class Budget:
    base: float
    sqrt_terms: float
    reason: str

    def for_terms(self, terms: int) -> float:
        return self.base + self.sqrt_terms * math.sqrt(max(int(terms), 1))


class Tolerances:
    def __init__(self, data: dict[str, Any], source: str = "<data>") -> None:
        d = data.get("default")
        if not d:
            raise ValueError(f"{source}: missing [default] budget")
        self.default = self._budget(d, f"{source} [default]")
        self.overrides: list[tuple[dict[str, tuple[str, ...]], Budget]] = []
        for i, row in enumerate(data.get("override", [])):
            where = f"{source} override #{i + 1}"
            unknown = set(row) - set(MATCH_KEYS) - {"base", "sqrt_terms", "reason"}
            if unknown:
                raise ValueError(
                    f"{where}: unknown keys {sorted(unknown)}; valid: {MATCH_KEYS} + base, sqrt_terms, reason"
                )
            if "op" not in row:
                raise ValueError(f"{where}: needs an op")
            match = {k: allowed(row[k]) for k in MATCH_KEYS if k in row}
            merged = {"base": self.default.base, "sqrt_terms": self.default.sqrt_terms, **row}
            self.overrides.append((match, self._budget(merged, where)))

    @staticmethod
    def _budget(row: dict[str, Any], where: str) -> Budget:
        if not str(row.get("reason", "")).strip():
            raise ValueError(f"{where}: every budget needs a one-line reason")
        return Budget(float(row["base"]), float(row["sqrt_terms"]), str(row["reason"]))

    @classmethod
    def load(cls, path: Path = DEFAULT_FILE) -> Tolerances:
        with open(path, "rb") as f:
            return cls(tomllib.load(f), str(path))

    def rows(self) -> list[dict[str, Any]]:
        """Every override as data (for run.json and the report)."""
        return [{**{k: list(v) if len(v) > 1 else v[0] for k, v in m.items()}, "base": b.base,
                 "sqrt_terms": b.sqrt_terms, "reason": b.reason} for m, b in self.overrides]

    def budget(self, op: str, framework: str = "", device: str = "", dtype: str = "", precision: str = "") -> Budget:
        key = {"op": op, "framework": framework, "device": device, "dtype": dtype, "precision": precision}
        best, best_n = self.default, -1
        for match, b in self.overrides:
            if all(field_matches(k, key[k], v) for k, v in match.items()):
                if len(match) > best_n:
                    best, best_n = b, len(match)
        return best

