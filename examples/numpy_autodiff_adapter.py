"""A complete third-party adapter in one file: a tiny reverse-mode autodiff engine in NumPy,
and the adapter that points vjp-conformance at it.

Run the suite against it::

    vjp-conformance run --adapter examples.numpy_autodiff_adapter:TinyGradAdapter --frameworks tinygrad

or make it discoverable by installing a package that declares, in its pyproject.toml::

    [project.entry-points."vjp_conformance.adapters"]
    tinygrad = "mypackage.adapter:TinyGradAdapter"

The engine records every operation on a tape; ``backward`` walks the tape in reverse, calling
each primitive's VJP. The adapter maps catalogue ops onto the engine's primitives and says
``unsupported`` (with the reason) for everything else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

# --------------------------------------------------------------------------------------------
# The engine
# --------------------------------------------------------------------------------------------


class Var:
    """A value on the tape. ``parents`` pairs each input Var with the VJP that maps this Var's
    cotangent to that input's contribution."""

    def __init__(self, value: np.ndarray, parents: tuple[tuple[Var, Callable], ...] = ()) -> None:
        self.value = np.asarray(value)
        self.parents = parents
        self.grad: np.ndarray | None = None

    # operators build new tape entries
    def __add__(self, other: Var) -> Var:
        return add(self, other)

    def __mul__(self, other: Var) -> Var:
        return mul(self, other)

    def __matmul__(self, other: Var) -> Var:
        return matmul(self, other)


def _unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for i, n in enumerate(shape):
        if n == 1 and g.shape[i] != 1:
            g = g.sum(axis=i, keepdims=True)
    return g


def add(a: Var, b: Var) -> Var:
    return Var(a.value + b.value, ((a, lambda g: _unbroadcast(g, a.value.shape)),
                                   (b, lambda g: _unbroadcast(g, b.value.shape))))


def sub(a: Var, b: Var) -> Var:
    return Var(a.value - b.value, ((a, lambda g: _unbroadcast(g, a.value.shape)),
                                   (b, lambda g: _unbroadcast(-g, b.value.shape))))


def mul(a: Var, b: Var) -> Var:
    return Var(a.value * b.value, ((a, lambda g: _unbroadcast(g * b.value, a.value.shape)),
                                   (b, lambda g: _unbroadcast(g * a.value, b.value.shape))))


def matmul(a: Var, b: Var) -> Var:
    at, bt = np.swapaxes(a.value, -1, -2), np.swapaxes(b.value, -1, -2)
    return Var(a.value @ b.value, ((a, lambda g: _unbroadcast(g @ bt, a.value.shape)),
                                   (b, lambda g: _unbroadcast(at @ g, b.value.shape))))


def exp(a: Var) -> Var:
    out = np.exp(a.value)
    return Var(out, ((a, lambda g: g * out),))


def tanh(a: Var) -> Var:
    out = np.tanh(a.value)
    return Var(out, ((a, lambda g: g * (1 - out * out)),))


def sigmoid(a: Var) -> Var:
    out = 1.0 / (1.0 + np.exp(-a.value))
    return Var(out, ((a, lambda g: g * out * (1 - out)),))


def relu(a: Var) -> Var:
    mask = a.value > 0
    return Var(np.where(mask, a.value, 0).astype(a.value.dtype), ((a, lambda g: g * mask),))


def softmax(a: Var, axis: int) -> Var:
    shifted = a.value - a.value.max(axis=axis, keepdims=True, initial=-np.inf)  # (initial: an empty axis)
    e = np.exp(shifted)
    s = e / e.sum(axis=axis, keepdims=True)
    return Var(s, ((a, lambda g: s * (g - (g * s).sum(axis=axis, keepdims=True))),))


def backward(out: Var, cotangent: np.ndarray) -> None:
    """Reverse sweep: topological order of the tape, then each VJP once."""
    order: list[Var] = []
    seen: set[int] = set()

    def visit(v: Var) -> None:
        if id(v) in seen:
            return
        seen.add(id(v))
        for p, _ in v.parents:
            visit(p)
        order.append(v)

    visit(out)
    out.grad = cotangent
    for v in reversed(order):
        if v.grad is None:
            continue
        for parent, vjp in v.parents:
            contribution = vjp(v.grad).astype(parent.value.dtype, copy=False)
            parent.grad = contribution if parent.grad is None else parent.grad + contribution


# --------------------------------------------------------------------------------------------
# The adapter (protocol version 1: see conformance/adapters/base.py)
# --------------------------------------------------------------------------------------------

# catalogue op -> function of the op's inputs (Vars) and params, built from engine primitives
OPS: dict[str, Callable[..., Var]] = {
    "sigmoid": lambda x: sigmoid(x),
    "softmax": lambda x, axis: softmax(x, axis),
    "matmul": lambda x, y: x @ y,
    "tanh": lambda x: tanh(x),
    "exp": lambda x: exp(x),
    "relu": lambda x: relu(x),
    "add": lambda x, y: x + y,
    "subtract": lambda x, y: sub(x, y),
    "multiply": lambda x, y: x * y,
}


class TinyGradAdapter:
    name = "tinygrad"
    api_version = 1
    ops = OPS

    def version(self) -> str:
        return "0.1-example"

    def devices(self) -> list[str]:
        return ["cpu"]

    def supports(self, op: Any, dtype: str, device: str) -> bool | str:
        if op.name not in self.ops:
            return f"the example engine has no {op.name}"
        if dtype not in ("float32", "float64"):
            return f"the example engine computes in float32/float64 only, not {dtype}"
        if device != "cpu":
            return "the example engine runs on the CPU only"
        return True

    def describe(self, op: Any) -> dict[str, Any]:
        return {"call": f"tinygrad {op.name}", "composite": op.name == "softmax"} if op.name in self.ops else {
            "unsupported": f"the example engine has no {op.name}"}

    def vjp(self, op: Any, inputs: dict[str, np.ndarray], params: dict[str, Any], cotangent: np.ndarray,
            *, dtype: str, device: str) -> dict[str, np.ndarray]:
        variables = {name: Var(value) for name, value in inputs.items()}
        out = self.ops[op.name](**variables, **params)
        backward(out, cotangent)
        return {  # (np.asarray: a 0-d input's gradient comes back from NumPy's arithmetic as a scalar)
            name: np.asarray(variables[name].grad) if variables[name].grad is not None else np.zeros_like(inputs[name])
            for name in op.differentiable
        }
