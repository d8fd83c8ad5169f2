"""How a built-in adapter maps catalogue ops onto framework calls.

Each framework has a package ``<framework>_ops`` with one module per catalogue family. A module
maps an op in one of two forms:

- a row of its ``TABLE`` dict, for an op that is one framework call and nothing else::

      TABLE = {
          "neg": direct("torch.neg"),                                                # torch.neg(x)
          "clip": direct("torch.clamp", min="lo", max="hi"),                         # keywords renamed
          "einsum": direct("torch.einsum", "equation", "x", "y"),                    # positional order
          "mse": direct("torch.nn.functional.mse_loss", const={"reduction": "mean"}),  # a fixed keyword
          "gather": direct("jnp.take", axis="axis", describes=("indices_from_end",)),  # a param the call
      }                                                       # does not take: it names how values were drawn

  The dotted name is resolved in the module's own namespace (its imports), as a function body
  there would read it, when the adapter is built (``collect``). Positional arguments are the
  op's inputs in the catalogue's order, unless the row lists them (input and param names);
  ``keyword=name`` passes an op input or param as that keyword; ``const`` passes fixed values.
  Every input and param of the op is passed exactly once. A row is written with literals only,
  so that it can be read from the source without importing the framework (``table_rows``: the
  repro command writes a row as the function it stands for, ``Direct.source``).
- a function decorated with ``@impl(...)``, for anything else: layouts, argument conversions,
  composites (the op of the same name; a trailing ``_`` is dropped, for names such as ``sum_``
  that would shadow a builtin).

Either way the mapping's ``fn`` takes the framework's tensors as keyword arguments named like the
op's inputs, plus the op's params, and returns the output tensor: layouts, argument names and
padding rules are converted inside ``fn``, never in test code.

Which targets a framework cannot run is data too (``conformance/unsupported.toml``, read by
``conformance.claims``): ``MappedAdapter.supports`` consults it for the adapter's framework, the
op, dtype, device and the installed framework version.
"""

from __future__ import annotations

import ast
import builtins
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from conformance.claims import Claim, ClaimedReason, Claims, shipped


@dataclass(frozen=True)
class OpImpl:
    fn: Callable[..., Any] | None
    call: str  # the framework call used, as people would write it
    composite: bool = False  # built from several framework primitives, not one op
    unsupported: str | None = None  # why the framework cannot do this op at all
    row: Direct | None = None  # the TABLE row it was made from (None: an @impl function)
    source: str | None = None  # a row's function as Python source (``Direct.source``)
    # the mapping reads static sizes (an output shape it must pass on): a compiled mode traces it
    # per input shape instead of once for relaxed sizes (TensorFlow's reduce_retracing)
    static_shapes: bool = False

    def describe(self) -> dict[str, Any]:
        d: dict[str, Any] = {"call": self.call, "composite": self.composite,
                             "form": "function" if self.row is None else "table"}
        if self.unsupported:
            d["unsupported"] = self.unsupported
        return d


def impl(call: str, composite: bool = False, static_shapes: bool = False) -> Callable[[Callable[..., Any]], OpImpl]:
    """Decorator: ``@impl("torch.sigmoid")`` turns a function into an OpImpl."""

    def wrap(fn: Callable[..., Any]) -> OpImpl:
        return OpImpl(fn, call, composite, static_shapes=static_shapes)

    return wrap


class NotInThisVersion(ValueError):
    """A TABLE row's call does not exist in the installed framework (an older release lacks it):
    the op is unsupported there, with this message, instead of the whole adapter failing."""


@dataclass(frozen=True)
class Direct:
    """A TABLE row: the op is the call ``path(*args, **keywords, **const)``, nothing else."""

    path: str  # dotted name as the module spells it: "torch.neg", "tf.nn.relu", "jnp.linalg.inv"
    args: tuple[str, ...] | None = None  # positional op inputs/params; None: the op's inputs in order
    keywords: tuple[tuple[str, str], ...] = ()  # (framework keyword, op input or param)
    const: tuple[tuple[str, Any], ...] = ()  # (framework keyword, fixed value)
    note: str = ""  # said after the call in ``ops --json`` (defaults that matter, for example)
    # params that only describe the case's values (indices_from_end): accepted, not passed on
    describes: tuple[str, ...] = ()

    def positional(self, inputs: tuple[str, ...]) -> tuple[str, ...]:
        if self.args is not None:
            return self.args
        by_keyword = {name for _, name in self.keywords}
        return tuple(i for i in inputs if i not in by_keyword)

    def check(self, inputs: tuple[str, ...], params: tuple[str, ...]) -> None:
        """Every op input and param passed exactly once, nothing else: a ValueError says which."""
        used = [*self.positional(inputs), *(name for _, name in self.keywords), *self.describes]
        names = (*inputs, *params)
        unknown = [u for u in used if u not in names]
        twice = sorted({u for u in used if used.count(u) > 1})
        missing = [n for n in names if n not in used]
        clash = sorted({k for k, _ in self.keywords} & {k for k, _ in self.const})
        problems = [f"{what} {', '.join(map(repr, xs))}" for what, xs in (
            ("passes unknown names", unknown), ("passes twice", twice), ("leaves out", missing),
            ("gives keywords both a name and a constant:", clash)) if xs]
        if problems:
            raise ValueError(f"{'; '.join(problems)} (op inputs {list(inputs)}, params {list(params)})")

    def call_text(self, inputs: tuple[str, ...]) -> str:
        parts = [*self.positional(inputs), *(f"{k}={v}" for k, v in self.keywords),
                 *(f"{k}={v!r}" for k, v in self.const)]
        return f"{self.path}({', '.join(parts)})"

    def describe(self, inputs: tuple[str, ...]) -> str:
        return self.call_text(inputs) + (f" ({self.note})" if self.note else "")

    def function_name(self, op: str) -> str:
        return op + "_" if hasattr(builtins, op) else op

    def source(self, op: str, inputs: tuple[str, ...], params: tuple[str, ...]) -> str:
        """The row as the function a person would write (what ``repro`` copies): ``def neg(x):
        return torch.neg(x)``. It reads one global name, the head of ``path`` (``names()``)."""
        return (f"def {self.function_name(op)}({', '.join((*inputs, *params))}):\n"
                f"    return {self.call_text(inputs)}\n")

    def names(self) -> tuple[str, ...]:
        """The module-level names the row reads: the head of its dotted path."""
        return (self.path.split(".")[0],)

    def resolve(self, namespace: dict[str, Any]) -> Callable[..., Any]:
        head, *rest = self.path.split(".")
        if head not in namespace:
            raise ValueError(f"{self.path!r}: {head!r} is not defined in the module (import it there)")
        obj = namespace[head]
        for i, part in enumerate(rest):
            try:
                obj = getattr(obj, part)
            except AttributeError:
                raise NotInThisVersion(f"{self.path!r}: {'.'.join([head, *rest[:i]])} has no attribute {part!r}") \
                    from None
        if not callable(obj):
            raise ValueError(f"{self.path!r} is not callable")
        return obj

    def bind(self, op: str, inputs: tuple[str, ...], params: tuple[str, ...], namespace: dict[str, Any],
             module: str) -> OpImpl:
        """The OpImpl of ``op`` (its inputs and params) with the call resolved in ``namespace``."""
        self.check(inputs, params)
        target = self.resolve(namespace)
        positional = self.positional(inputs)
        keywords, const = self.keywords, dict(self.const)

        def fn(**kw: Any) -> Any:
            return target(*(kw[a] for a in positional), **{k: kw[v] for k, v in keywords}, **const)

        fn.__name__ = fn.__qualname__ = self.function_name(op)
        fn.__module__ = module
        fn.__doc__ = f"{module} TABLE[{op!r}]: {self.call_text(inputs)}"
        return OpImpl(fn, self.describe(inputs), False, None, self, self.source(op, inputs, params))


def direct(path: str, *args: str, const: dict[str, Any] | None = None, note: str = "",
           describes: tuple[str, ...] = (), **keywords: str) -> Direct:
    """A TABLE row (see the module docstring): ``direct("torch.neg")``, ``direct("F.elu",
    alpha="alpha")``, ``direct("torch.einsum", "equation", "x", "y")``,
    ``direct("F.huber_loss", delta="delta", const={"reduction": "mean"})``; ``describes`` names
    params the call does not take (they say how the case's values were drawn)."""
    for k, v in keywords.items():
        if not isinstance(v, str):
            raise TypeError(f"direct({path!r}): keyword {k}={v!r} must name an op input or param "
                            f"(fixed values go in const=)")
    return Direct(path, tuple(args) if args else None, tuple(keywords.items()), tuple((const or {}).items()), note,
                  tuple(describes))


def table_rows(tree: ast.Module) -> dict[str, Direct]:
    """A module's ``TABLE`` rows read from its parsed source, never imported: ``{op: Direct}``.
    Each row is ``direct(...)`` of literals (a ValueError names the row that is not)."""
    rows: dict[str, Direct] = {}
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, ast.AnnAssign) else []
        if not any(isinstance(t, ast.Name) and t.id == "TABLE" for t in targets) or not isinstance(
                node.value, ast.Dict):
            continue
        for key, value in zip(node.value.keys, node.value.values):
            op = ast.literal_eval(key) if key is not None else None
            if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "direct"):
                raise ValueError(f"TABLE[{op!r}] (line {value.lineno}) is not a direct(...) row")
            try:
                args = [ast.literal_eval(a) for a in value.args]
                kwargs = {k.arg: ast.literal_eval(k.value) for k in value.keywords if k.arg is not None}
            except ValueError:
                raise ValueError(f"TABLE[{op!r}] (line {value.lineno}): a row is written with literals only") from None
            if len(kwargs) != len(value.keywords):
                raise ValueError(f"TABLE[{op!r}] (line {value.lineno}): a row is written with literals only")
            rows[str(op)] = direct(*args, **kwargs)
    return rows


def collect(package: str, families: tuple[str, ...]) -> dict[str, OpImpl]:
    """The mappings defined in ``package.<family>`` modules (``@impl`` functions and ``TABLE``
    rows), by op name; an op mapped twice is refused. Mappings a module merely imports from
    another are not counted again."""
    from conformance.registry import all_ops

    catalogue = all_ops()
    ops: dict[str, OpImpl] = {}

    def add(name: str, op: OpImpl, where: str) -> None:
        if name in ops:
            raise ValueError(f"{package}: op {name!r} mapped twice (again in {where})")
        ops[name] = op

    for fam in families:
        module = importlib.import_module(f"{package}.{fam}")
        for attr, op in vars(module).items():
            if not isinstance(op, OpImpl) or getattr(op.fn, "__module__", module.__name__) != module.__name__:
                continue
            add(attr.removesuffix("_"), op, f"{module.__name__}.{attr}")
        for name, row in getattr(module, "TABLE", {}).items():
            where = f"{module.__name__} TABLE[{name!r}]"
            if not isinstance(row, Direct):
                raise ValueError(f"{where}: a TABLE row is made with direct(...), got {row!r}")
            spec = catalogue.get(name)
            if spec is None:
                raise ValueError(f"{where}: {name!r} is not in the catalogue")
            inputs = tuple(i.name for i in spec.inputs)
            try:
                bound = row.bind(name, inputs, tuple(spec.params), vars(module), module.__name__)
            except NotInThisVersion as e:
                bound = OpImpl(None, row.call_text(inputs), unsupported=f"not in this version of the framework: {e}",
                               row=row, source=row.source(name, inputs, tuple(spec.params)))
            except ValueError as e:
                raise ValueError(f"{where}: {e}") from None
            add(name, bound, where)
    return ops


class MappedAdapter:
    """Shared behaviour of the built-in adapters: lookup, support and description."""

    name = "?"
    api_version = 1
    ops: dict[str, OpImpl] = {}
    dtypes: tuple[str, ...] = ("float16", "bfloat16", "float32", "float64")
    claims: Claims | None = None  # None: the shipped conformance/unsupported.toml

    def version(self) -> str:  # pragma: no cover - overridden
        return ""

    def _claims(self) -> Claims:
        return self.claims if self.claims is not None else shipped()

    def supports(self, op: Any, dtype: str, device: str) -> bool | str:
        """True, or why not. A target an unsupported claim covers (this framework, op, dtype,
        device kind and installed version) answers the claim's reason as a ``ClaimedReason``;
        that check comes last, so a claimed target is one that would otherwise run."""
        mapped = self.ops.get(op.name)
        if mapped is None:
            return f"{self.name} adapter has no mapping for {op.name}"
        if mapped.unsupported:
            return mapped.unsupported
        if dtype not in self.dtypes:
            return f"{self.name} adapter does not handle {dtype}"
        if device not in self.devices():
            return f"device {device} not visible to {self.name}; visible: {self.devices()}"
        claim = self._claims().find(self.name, op.name, dtype, device, str(self.version()))
        if claim is not None:
            return ClaimedReason(claim)
        return True

    def case_claims(self, op: Any, dtype: str, device: str) -> list[Claim]:
        """The ``params``-scoped unsupported claims on a target that runs: each covers the cases
        with its param values (the suite records those ``unsupported``, or probes them)."""
        return self._claims().scoped(self.name, op.name, dtype, device, str(self.version()))

    def describe(self, op: Any) -> dict[str, Any]:
        """The call, whether composite, the mapping's form, and the unsupported claims on the op
        (with whether each covers the installed version)."""
        mapped = self.ops.get(op.name)
        if mapped is None:
            return {"unsupported": f"no mapping for {op.name}"}
        d = mapped.describe()
        version = str(self.version())
        claims = [{"id": c.id, "dtype": list(c.dtypes), "device": list(c.devices), "versions": c.versions,
                   **({"params": c.to_json()["params"]} if c.params else {}),
                   "reason": c.reason, "covers_installed_version": c.covers_version(version)}
                  for c in self._claims().for_framework(self.name) if op.name in c.ops]
        if claims:
            d["claims"] = claims
        return d

    def devices(self) -> list[str]:  # pragma: no cover - overridden
        return ["cpu"]
