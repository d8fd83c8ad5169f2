"""Witness cases: the exact inputs that pin a known failure (``[[expect.witness]]`` in
``expectations.toml``).

An expectation entry says "this framework gets this op wrong here". Whether a run's random draws
happen to reach the fault says nothing about whether it is still there, so each entry carries at
least one witness: exact input values, parameters and (optionally) the cotangent that reproduce
it. Every run executes the witnesses of the cells it covers (case family ``witness``), and the
entry's state (known / fixed / changed / stale) is read from them.

Entries that match only the special-values or convention families need no witness of their own:
those families are fixed cases already, executed by every run that selects them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from conformance.case import Case, in_dtype
from conformance.dtypes import DTYPES
from conformance.matching import field_matches
from conformance.opspec import OpSpec
from conformance.specials import exact_case

WITNESS_KEYS = ("op", "dtype", "device", "params", "inputs", "cotangent", "note", "repeat")
# a fault that shows only some of the time (uninitialised memory) is pinned by running its witness
# up to ``repeat`` times: it reproduces when any attempt does
MAX_REPEAT = 100
# the families whose cases are fixed, not drawn: an entry confined to them is its own witness
FIXED_FAMILIES = ("special", "convention")


@dataclass(frozen=True)
class Witness:
    entry: str  # the expectation entry's id
    index: int  # its position among the entry's witnesses
    op: str
    dtype: str
    device: str  # "cpu", "cuda" (any CUDA device) or "cuda:N"
    params: dict[str, Any]
    inputs: dict[str, Any]
    cotangent: Any = None  # None: all ones of the output's shape
    note: str = ""
    frameworks: tuple[str, ...] = field(default_factory=tuple)
    repeat: int = 1

    @property
    def name(self) -> str:
        return f"{self.entry}#{self.index}"

    def applies_to(self, framework: str, op: str, dtype: str, device: str) -> bool:
        return (framework in self.frameworks and op == self.op and dtype == self.dtype
                and field_matches("device", device, (self.device,)))

    def to_json(self) -> dict[str, Any]:
        return {"op": self.op, "dtype": self.dtype, "device": self.device, "params": self.params,
                "inputs": self.inputs, "cotangent": self.cotangent, "note": self.note, "repeat": self.repeat}


def parse_witnesses(entry_id: str, row: dict[str, Any], where: str, ops: dict[str, OpSpec] | None) -> list[Witness]:
    """The ``witness`` tables of one ``[[expect]]`` row, validated against the entry and the op."""
    raw = row.get("witness", [])
    if isinstance(raw, dict):
        raw = [raw]
    frameworks = _as_tuple(row["framework"])
    entry_ops = _as_tuple(row["op"])
    entry_dtypes = _as_tuple(row.get("dtype", DTYPES))
    out = []
    for i, w in enumerate(raw):
        here = f"{where} witness #{i + 1}"
        unknown = set(w) - set(WITNESS_KEYS)
        if unknown:
            raise ValueError(f"{here}: unknown keys {sorted(unknown)}; valid: {', '.join(WITNESS_KEYS)}")
        op = w.get("op") or (entry_ops[0] if len(entry_ops) == 1 else None)
        if op is None:
            raise ValueError(f"{here}: the entry covers several ops ({', '.join(entry_ops)}): name the witness's op")
        if op not in entry_ops:
            raise ValueError(f"{here}: op {op!r} is not one of the entry's ({', '.join(entry_ops)})")
        dtype = w.get("dtype") or (entry_dtypes[0] if len(entry_dtypes) == 1 else None)
        if dtype is None or dtype not in entry_dtypes:
            raise ValueError(f"{here}: needs a dtype among the entry's ({', '.join(entry_dtypes)})")
        device = w.get("device") or (_as_tuple(row["device"])[0] if row.get("device") else "cpu")
        if not isinstance(w.get("inputs"), dict) or not w["inputs"]:
            raise ValueError(f"{here}: needs inputs = {{name = values, ...}}")
        if ops is not None:
            spec = ops.get(op)
            if spec is None:
                raise ValueError(f"{here}: unknown op {op!r}")
            names = {inp.name for inp in spec.inputs}
            if set(w["inputs"]) != names:
                raise ValueError(f"{here}: {op} takes inputs {sorted(names)}, the witness gives {sorted(w['inputs'])}")
            if dtype not in spec.dtypes:
                raise ValueError(f"{here}: {op} does not declare dtype {dtype}")
        repeat = w.get("repeat", 1)
        if not isinstance(repeat, int) or not 1 <= repeat <= MAX_REPEAT:
            raise ValueError(f"{here}: repeat must be an integer from 1 to {MAX_REPEAT}, got {repeat!r}")
        out.append(Witness(entry_id, i, op, dtype, device, dict(w.get("params", {})), dict(w["inputs"]),
                           w.get("cotangent"), str(w.get("note", "")), frameworks, repeat))
    return out


def witness_case(spec: OpSpec, w: Witness) -> Case:
    """The witness as a Case (a fixed case, as the special and convention families build theirs):
    its inputs rounded to its dtype, its cotangent (or all ones of the output's shape)."""
    params = {k: _tuplify(v) for k, v in w.params.items()}
    inputs = {inp.name: witness_values(w.inputs[inp.name], w.name) for inp in spec.inputs}
    case = exact_case(spec, inputs, params, w.dtype, "witness", meta={"witness": w.name, "witness_note": w.note})
    if w.cotangent is not None:
        cotangent = in_dtype(witness_values(w.cotangent, w.name).astype(np.float64), case.cotangent.dtype)
        if cotangent.shape != case.cotangent.shape:
            raise ValueError(f"witness {w.name}: cotangent shape {list(cotangent.shape)} is not the output's "
                             f"{list(case.cotangent.shape)}")
        case.cotangent = cotangent
    return case


def witness_values(v: Any, where: str) -> np.ndarray:
    """A witness input's values: a (nested) list, or ``{ pattern = [...], shape = [...] }`` for one too
    large to write out (the pattern repeated in row-major order to fill the shape: exact, and the
    same on every machine)."""
    if isinstance(v, dict):
        if set(v) != {"pattern", "shape"} or not v["pattern"]:
            raise ValueError(f"witness {where}: a generated input is {{ pattern = [values], shape = [sides] }}, "
                             f"got keys {sorted(v)}")
        return np.resize(np.asarray(v["pattern"]), tuple(int(s) for s in v["shape"]))
    return np.asarray(v)


def _tuplify(v: Any) -> Any:
    """TOML has arrays only; the catalogue's params use tuples (paddings, strides, axes)."""
    if isinstance(v, list):
        return tuple(_tuplify(x) for x in v)
    return v


def _as_tuple(v: Any) -> tuple[str, ...]:
    if isinstance(v, str):
        return (v,)
    return tuple(v)
