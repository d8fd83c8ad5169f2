"""Elementwise ops, by name: the unary ops (``reference.unary``) and the binary ops with
broadcasting (``reference.binary``), for the registry's elementwise family."""

from __future__ import annotations

from reference import binary, unary


def __getattr__(name: str):
    for module in (unary, binary):
        if hasattr(module, name):
            return getattr(module, name)
    raise AttributeError(f"module 'reference.elementwise' has no attribute {name!r}")
