"""Claims that a framework cannot run an op, as data (``unsupported.toml``).

A claim says: this framework, in these versions, on this kind of device, raises for these ops in
these dtypes (optionally: only for cases with these param values), with this message (the
framework's own), observed there. A built-in adapter's
``supports()`` answers a covered target with the claim's reason (a :class:`ClaimedReason`, which
carries the claim); a target the claim does not cover (another device, a version outside its
range) runs. A claim scoped by ``params`` (for example tf.gather, which has no negative indices)
covers only the cases with those param values: the target's scoped claims (:meth:`Claims.scoped`) are matched per case
and the target's other cases run. ``--probe-unsupported`` runs the covered targets anyway, and each claim's state in
the run says whether it still holds (:func:`claim_states`).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from conformance.dtypes import DTYPES
from conformance.matching import allowed, version_in
from conformance.modes import default_mode
from conformance.outcome import FAILING

DEFAULT_FILE = Path(__file__).with_name("unsupported.toml")
# the frameworks a claim may name: the built-in adapters (conformance.adapters.BUILTIN)
FRAMEWORKS = ("torch", "tensorflow", "jax")
DEVICES = ("cpu", "cuda", "any")  # a device kind: "cuda" covers every cuda:N
REQUIRED = ("framework", "op", "dtype", "device", "reason", "observed")
KEYS = REQUIRED + ("id", "versions", "params")
# A claim's state in a run, from the records of the targets it covers (the report and the
# summary's schema say these meanings; this is their one home):
CLAIM_STATE_MEANINGS = {
    "holds": "probed: every example raised (recorded unsupported, with the framework's message)",
    "stale": "probed: examples ran and every one passed, so the framework can do it now (end the claim's range)",
    "changed": "probed: an example ran to a failing verdict (no longer raises, yet wrong: a finding), or none "
               "raised cleanly nor ran (crashed or timed out)",
    "unprobed": "its targets were recorded unsupported from the claim, without --probe-unsupported",
    "unused": "no target of the run fell under it (not selected, another device or version)",
}
CLAIM_STATES = tuple(CLAIM_STATE_MEANINGS)


class ClaimsError(ValueError):
    """A malformed claims file: the message names the file, the row and the bad key."""


@dataclass(frozen=True)
class Claim:
    id: str
    framework: str
    ops: tuple[str, ...]
    dtypes: tuple[str, ...]
    devices: tuple[str, ...]
    reason: str
    observed: str
    versions: str = ""
    # (param, accepted values): the claim covers only cases whose params match every one
    params: tuple[tuple[str, tuple[Any, ...]], ...] = ()

    def covers_device(self, device: str) -> bool:
        kind = device.split(":")[0]
        return "any" in self.devices or kind in self.devices

    def covers_version(self, version: str) -> bool:
        """Whether ``version`` (its local part, ``+cpu``, left out) is in the claim's range."""
        return version_in(version, self.versions)

    def covers(self, framework: str, op: str, dtype: str, device: str, version: str) -> bool:
        """Whether the claim covers the target (a ``params``-scoped one: some of its cases)."""
        return (framework == self.framework and op in self.ops and dtype in self.dtypes
                and self.covers_device(device) and self.covers_version(version))

    def covers_params(self, params: dict[str, Any]) -> bool:
        """Whether a case with these params falls under the claim (an unscoped claim: every case)."""
        return all(_plain(params.get(name)) in accepted for name, accepted in self.params)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "framework": self.framework, "op": list(self.ops), "dtype": list(self.dtypes),
                "device": list(self.devices), "versions": self.versions, "reason": self.reason,
                "observed": self.observed, **({"params": {k: list(v) for k, v in self.params}} if self.params else {})}


class ClaimedReason(str):
    """What ``supports()`` answers for a target a claim covers: the claim's reason, carrying the
    claim (so the suite can record which claim it was, and probe it)."""

    claim: Claim

    def __new__(cls, claim: Claim) -> ClaimedReason:
        reason = super().__new__(cls, claim.reason)
        reason.claim = claim
        return reason


def _strings(where: str, key: str, value: Any) -> tuple[str, ...]:
    values = allowed(value)
    if not values or not all(isinstance(v, str) and v for v in values):
        raise ClaimsError(f"{where}: {key} must be a non-empty string or list of strings, got {value!r}")
    return values


def _plain(value: Any) -> Any:
    """A param value as TOML and JSON spell it (tuples as lists, NumPy scalars as Python ones)."""
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value.item() if hasattr(value, "item") else value


def _params(where: str, value: Any, op_names: tuple[str, ...],
            check_ops: bool) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    """A claim's ``params`` table: each key a param of every op it names, each value one accepted
    value or a list of them."""
    if not isinstance(value, dict) or not value:
        raise ClaimsError(f"{where}: params must be a non-empty table of param = value (or [values])")
    if check_ops:
        from conformance.registry import get_op

        for op in op_names:
            unknown = sorted(set(value) - set(get_op(op).params))
            if unknown:
                raise ClaimsError(f"{where}: params: {op} has no param {', '.join(map(repr, unknown))}; "
                                  f"valid: {', '.join(get_op(op).params) or 'none'}")
    return tuple((k, tuple(v) if isinstance(v, list) else (v,)) for k, v in sorted(value.items()))


class Claims:
    def __init__(self, claims: list[Claim], source: str = "<data>") -> None:
        self.claims = claims
        self.source = source

    @classmethod
    def parse(cls, data: dict[str, Any], source: str = "<data>", check_ops: bool = True) -> Claims:
        """Validate every row: the error names ``source``, the row and the bad key."""
        from conformance.registry import all_ops

        ops = set(all_ops()) if check_ops else None
        extra = set(data) - {"claim"}
        if extra:
            raise ClaimsError(f"{source}: unknown tables {sorted(extra)}; the file holds [[claim]] rows only")
        out: list[Claim] = []
        seen: dict[str, str] = {}
        cells: dict[tuple[str, str, str, str, str], str] = {}
        for i, row in enumerate(data.get("claim", [])):
            where = f"{source} [[claim]] #{i + 1}" + (f" ({row['id']})" if isinstance(row.get("id"), str) else "")
            unknown = sorted(set(row) - set(KEYS))
            if unknown:
                raise ClaimsError(f"{where}: unknown key(s) {unknown}; valid: {', '.join(KEYS)}")
            missing = [k for k in REQUIRED if k not in row]
            if missing:
                raise ClaimsError(f"{where}: needs {', '.join(map(repr, missing))}")
            framework = row["framework"]
            if framework not in FRAMEWORKS:
                raise ClaimsError(f"{where}: framework: unknown framework {framework!r}; "
                                  f"valid: {', '.join(FRAMEWORKS)}")
            op_names = _strings(where, "op", row["op"])
            bad = [o for o in op_names if ops is not None and o not in ops]
            if bad:
                raise ClaimsError(f"{where}: op: {', '.join(map(repr, bad))} not in the catalogue")
            dtypes = _strings(where, "dtype", row["dtype"])
            bad = [d for d in dtypes if d not in DTYPES]
            if bad:
                raise ClaimsError(f"{where}: dtype: unknown dtype {', '.join(map(repr, bad))}; "
                                  f"valid: {', '.join(DTYPES)}")
            devices = _strings(where, "device", row["device"])
            bad = [d for d in devices if d not in DEVICES]
            if bad:
                raise ClaimsError(f"{where}: device: unknown device kind {', '.join(map(repr, bad))}; "
                                  f"valid: {', '.join(DEVICES)}")
            versions = row.get("versions", "")
            try:
                SpecifierSet(versions)
            except (InvalidSpecifier, TypeError) as e:
                raise ClaimsError(f"{where}: versions: {versions!r} is not a PEP 440 range: {e}") from None
            for key in ("reason", "observed"):
                if not isinstance(row[key], str) or not row[key].strip():
                    raise ClaimsError(f"{where}: {key} must be a non-empty string")
            ident = row.get("id") or f"{framework}/{'|'.join(op_names)}/{'|'.join(dtypes)}/{'|'.join(devices)}"
            if not isinstance(ident, str):
                raise ClaimsError(f"{where}: id must be a string")
            if ident in seen:
                raise ClaimsError(f"{where}: id {ident!r} is used by {seen[ident]} too")
            seen[ident] = where
            scope = _params(where, row["params"], op_names, ops is not None) if "params" in row else ()
            for op in op_names:
                for dt in dtypes:
                    for dev in devices:
                        key = (framework, op, dt, dev, versions, repr(scope))
                        if key in cells:
                            raise ClaimsError(f"{where}: {framework} {op} {dt} on {dev} is claimed by {cells[key]} too")
                        cells[key] = where
            out.append(Claim(ident, framework, op_names, dtypes, devices, row["reason"].strip(),
                             row["observed"].strip(), versions, scope))
        return cls(out, source)

    @classmethod
    def load(cls, path: Path | str = DEFAULT_FILE) -> Claims:
        path = Path(path)
        try:
            with open(path, "rb") as f:
                data = tomllib.load(f)
        except tomllib.TOMLDecodeError as e:
            raise ClaimsError(f"{path}: not valid TOML: {e}") from None
        return cls.parse(data, str(path))

    def find(self, framework: str, op: str, dtype: str, device: str, version: str) -> Claim | None:
        """The claim that covers the whole target, or None (it runs; a ``params``-scoped claim
        may still cover some of its cases: :meth:`scoped`)."""
        return next((c for c in self.claims if not c.params and c.covers(framework, op, dtype, device, version)),
                    None)

    def scoped(self, framework: str, op: str, dtype: str, device: str, version: str) -> list[Claim]:
        """The ``params``-scoped claims on a target that runs: each covers the cases whose params
        it matches (``Claim.covers_params``, asked per case by the suite's checker)."""
        return [c for c in self.claims if c.params and c.covers(framework, op, dtype, device, version)]

    def for_framework(self, framework: str) -> list[Claim]:
        return [c for c in self.claims if c.framework == framework]

    def to_json(self) -> list[dict[str, Any]]:
        return [c.to_json() for c in self.claims]


@cache
def shipped() -> Claims:
    """The shipped ``conformance/unsupported.toml`` (read once per process)."""
    return Claims.load(DEFAULT_FILE)


def claim_record(claim: Claim, probed: bool) -> dict[str, Any]:
    """What a record says about the claim it ran (or was skipped) under."""
    return {"id": claim.id, "reason": claim.reason, "probed": probed}


def target_labels(records: list[dict[str, Any]]) -> list[str]:
    """The targets ``records`` ran in, each once, as ``op/device/dtype/mode`` (a record without a
    mode, from before modes, ran in its framework's default)."""
    return sorted({"/".join(str(v) for v in (r.get("op"), r.get("device"), r.get("dtype"),
                                             r.get("mode") or default_mode(str(r.get("framework")))))
                   for r in records})


# statuses that say the framework computed the example (any verdict on its gradient)
_NOT_A_VERDICT = ("unsupported", "crashed", "timeout")


def claim_states(claims: list[dict[str, Any]], records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each claim (as run.json lists them) with its state in the run (``CLAIM_STATES``), from the
    records that ran or were skipped under it."""
    by_id: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        c = r.get("claim")
        if isinstance(c, dict) and r.get("phase") != "shrink":
            by_id.setdefault(str(c.get("id")), []).append(r)
    out = []
    for claim in claims:
        under = by_id.get(str(claim.get("id")), [])
        probed = [r for r in under if (r.get("claim") or {}).get("probed")]
        ran = [r for r in probed if r.get("status") not in _NOT_A_VERDICT]
        raised = [r for r in probed if r.get("status") == "unsupported"]
        wrong = [r for r in ran if r.get("status") in FAILING]
        if wrong:
            state = "changed"
        elif ran:
            state = "stale"
        elif raised:
            state = "holds"
        elif probed:
            state = "changed"
        elif under:
            state = "unprobed"
        else:
            state = "unused"
        messages = list(dict.fromkeys(str(r.get("message") or "").split("\n", 1)[0] for r in raised))
        entry = {**claim, "state": state, "records": len(under), "probed": len(probed), "ran": len(ran),
                 "raised": len(raised),
                 "targets": target_labels(under)}
        if raised:  # the framework's messages (first lines), and whether the claim's own was among them
            entry["messages"] = messages[:5]
            entry["message_seen"] = claim.get("reason") in messages
        if wrong:  # ran without raising, to a failing verdict: a finding, not a stale claim
            entry["failed_targets"] = target_labels(wrong)
        if ran:
            entry["ran_targets"] = target_labels(ran)
        out.append(entry)
    return out
