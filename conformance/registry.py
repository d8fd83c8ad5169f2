"""The op registry: every OpSpec of every family module, by name."""

from __future__ import annotations

import importlib

from conformance.opspec import OpSpec

# Family modules under conformance.ops, in catalogue order; an OpSpec's family is its module.
FAMILIES = ("elementwise", "reduction", "normloss", "linalg", "conv", "shape", "attention")

_REGISTRY: dict[str, OpSpec] | None = None


def _load() -> dict[str, OpSpec]:
    global _REGISTRY
    if _REGISTRY is None:
        reg: dict[str, OpSpec] = {}
        for fam in FAMILIES:
            module = importlib.import_module(f"conformance.ops.{fam}")
            for spec in module.OPS:
                if spec.family != fam:
                    raise ValueError(f"op {spec.name!r} in conformance.ops.{fam} says family {spec.family!r}")
                if spec.name in reg:
                    raise ValueError(f"op {spec.name!r} registered twice (conformance.ops.{fam})")
                reg[spec.name] = spec
        _REGISTRY = reg
    return _REGISTRY


def all_ops() -> dict[str, OpSpec]:
    return dict(_load())


def get_op(name: str) -> OpSpec:
    reg = _load()
    try:
        return reg[name]
    except KeyError:
        raise ValueError(f"unknown op {name!r}; valid: {', '.join(sorted(reg))}") from None
