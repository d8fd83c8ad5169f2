"""Elementwise ops, by name: the unary ops (``reference.unary``, ``reference.activations``) and the binary ops with
broadcasting (``reference.binary``), for the registry's elementwise family."""

from __future__ import annotations

from reference import activations, binary, unary


def __getattr__(name: str):
    for module in (unary, activations, binary):
        if hasattr(module, name):
            return getattr(module, name)
    raise AttributeError(f"module 'reference.elementwise' has no attribute {name!r}")
