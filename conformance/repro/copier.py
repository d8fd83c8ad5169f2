"""The project's own source, copied into repro scripts as text (read with ``ast``, never imported).

Three things are copied:

- a built-in adapter's **repro section**: the lines between ``# -- repro section`` and ``# -- end
  of repro section`` in ``conformance/adapters/<framework>_adapter.py``, verbatim and whole (the
  VJP step ``framework_vjp``, the conversions and device lookup it uses, the ``STRICT_PRECISION``
  table and ``set_precision_flags``), with the imports it needs. The adapter's ``vjp`` and
  ``set_precision`` call that same code, so the script runs the adapter's own steps. The section
  may use only the standard library, NumPy, the framework and its own names; anything else is an
  error here, not a silent import;
- an op's **mapping**, the ``@impl`` function in ``conformance/adapters/<framework>_ops`` named
  after the op, with the helpers it uses (dependencies first; annotations and ``@impl`` left out).
  Where it cannot be copied the script imports it and says so;
- the suite's ``compare`` and ``verdict`` (``conformance/compare.py``), likewise.
"""

from __future__ import annotations

import ast
import builtins
import copy
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from conformance.adapters import BUILTIN
from conformance.adapters.mapping import Direct, table_rows
from conformance.registry import get_op
from conformance.repro.find import ReproError

ROOT = Path(__file__).resolve().parent.parent.parent
ADAPTER_MODULES = {fw: ref.partition(":")[0] for fw, ref in BUILTIN.items()}
OPS_PACKAGES = {"torch": "conformance.adapters.torch_ops", "tensorflow": "conformance.adapters.tf_ops",
                "jax": "conformance.adapters.jax_ops"}
LOCAL_PACKAGES = ("conformance", "reference")
DROPPED_DECORATORS = ("impl",)
SECTION_BEGIN = "# -- repro section"
SECTION_END = "# -- end of repro section"
# what the script's driver calls: every repro section defines these
SECTION_ENTRIES = frozenset({"framework_vjp", "STRICT_PRECISION", "set_precision_flags"})


class Unresolvable(Exception):
    """A definition cannot be copied as standalone code; the message says why."""


# -- reading a module's source --------------------------------------------------------------------
@dataclass(frozen=True)
class Module:
    path: Path
    text: str
    body: list[ast.stmt]
    defs: dict[str, ast.stmt]  # top-level name -> the statement that defines it
    imports: dict[str, tuple[str, str | None, str]]  # local name -> (module, attribute, import statement)


def _imports_of(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """Module-level imports, also those inside a top-level ``with``, ``try`` or ``if`` (TensorFlow's
    adapter imports it inside a block that silences its banners)."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, (ast.With, ast.If)):
            yield from _imports_of(node.body)
        elif isinstance(node, ast.Try):
            yield from _imports_of(node.body)


@functools.cache
def read_module(name: str) -> Module | None:
    """The source of the project's module ``name`` (``conformance.compare``), parsed."""
    base = ROOT.joinpath(*name.split("."))
    path = base.with_suffix(".py") if base.with_suffix(".py").exists() else base / "__init__.py"
    if not path.exists():
        return None
    text = path.read_text(encoding="utf-8")
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    body = ast.parse(text).body
    defs: dict[str, ast.stmt] = {}
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            defs[node.name] = node
        elif isinstance(node, ast.Assign):
            defs.update({t.id: node for t in node.targets if isinstance(t, ast.Name)})
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            defs[node.target.id] = node
    imports: dict[str, tuple[str, str | None, str]] = {}
    for node in _imports_of(body):
        if isinstance(node, ast.Import):
            for a in node.names:
                local = a.asname or a.name.split(".")[0]
                imports[local] = (a.name, None, f"import {a.name}" + (f" as {a.asname}" if a.asname else ""))
        elif node.module != "__future__":
            mod = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(up + ([mod] if mod else []))
            for a in node.names:
                imports[a.asname or a.name] = (mod, a.name, f"from {mod} import {a.name}"
                                               + (f" as {a.asname}" if a.asname else ""))
    return Module(path, text, body, defs, imports)


def _is_local(module: str) -> bool:
    """A module of this project (never imported by a script)."""
    return module.split(".")[0] in LOCAL_PACKAGES


# -- an adapter's repro section, verbatim ---------------------------------------------------------
@dataclass(frozen=True)
class Section:
    where: str  # the adapter's file, relative to the project
    code: str  # the lines between the markers, as written
    imports: tuple[str, ...]  # the import statements it needs
    names: frozenset[str]  # what it defines


def _start(node: ast.stmt) -> int:
    """A statement's first line, its decorators included."""
    return min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])


def _free_names(node: ast.stmt) -> list[str]:
    """Names a statement reads and does not bind itself (nor are builtins): what it needs from
    its module. (A name bound anywhere in the statement counts as bound throughout it.)"""
    bound: set[str] = set()
    loaded: dict[str, None] = {}
    for n in ast.walk(node):
        if isinstance(n, ast.Name):
            if isinstance(n.ctx, ast.Load):
                loaded.setdefault(n.id, None)
            else:
                bound.add(n.id)
        elif isinstance(n, ast.arg):
            bound.add(n.arg)
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n is not node:
            bound.add(n.name)
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            bound.update(a.asname or a.name.split(".")[0] for a in n.names)
    return [name for name in loaded if name not in bound and not hasattr(builtins, name)]


@functools.cache
def adapter_section(framework: str) -> Section:
    """The built-in ``framework`` adapter's repro section and the imports it needs."""
    module = ADAPTER_MODULES[framework]
    parsed = read_module(module)
    where = module.replace(".", "/") + ".py"
    if parsed is None:
        raise ReproError(f"no source for {module}")
    lines = parsed.text.splitlines()
    begins = [i for i, line in enumerate(lines, 1) if line.startswith(SECTION_BEGIN)]
    ends = [i for i, line in enumerate(lines, 1) if line.startswith(SECTION_END)]
    if len(begins) != 1 or len(ends) != 1 or ends[0] < begins[0]:
        raise ReproError(f"{where} needs one {SECTION_BEGIN!r} line and, after it, one {SECTION_END!r} line")
    first, last = begins[0] + 1, ends[0] - 1  # the section's own lines (1-based, inclusive)
    nodes = []
    for node in parsed.body:
        start, end = _start(node), int(node.end_lineno or node.lineno)
        if first <= start and end <= last:
            nodes.append(node)
        elif start <= last and end >= first:
            raise ReproError(f"{where}: a statement at line {start} crosses a repro section marker")
    names = frozenset(n for n, node in parsed.defs.items() if node in nodes)
    missing = sorted(SECTION_ENTRIES - names)
    if missing:
        raise ReproError(f"{where}'s repro section does not define {', '.join(missing)}")
    imports: dict[str, None] = {}
    for node in nodes:
        for name in _free_names(node):
            if name in names:
                continue
            found = parsed.imports.get(name)
            if found is None or _is_local(found[0]):
                raise ReproError(f"{where}: the repro section uses {name}, which it does not define and which "
                                 "is not an import of the standard library, NumPy or the framework")
            imports.setdefault(found[2], None)
    code = "\n".join(lines[first - 1:last]).strip("\n")
    return Section(where, code, tuple(imports), names)


# -- a mapping or the comparison, with what it uses ---------------------------------------------------
def _dropped(node: ast.stmt) -> bool:
    """The adapter's ``@impl(...)`` decorators are left out (the copy is the plain function)."""
    decorators = getattr(node, "decorator_list", [])
    return bool(decorators) and all(
        isinstance(d, ast.Call) and isinstance(d.func, ast.Name) and d.func.id in DROPPED_DECORATORS
        for d in decorators)


def _source(text: str, node: ast.stmt) -> str:
    """A definition's source. Functions lose their signature's annotations (the names they use are
    not copied) and the adapter's @impl; classes (dataclasses need theirs) are copied as written."""
    lines = text.splitlines()
    if not isinstance(node, ast.FunctionDef):
        return "\n".join(lines[_start(node) - 1:node.end_lineno])
    if node.body[0].lineno == node.lineno:  # a one-line function: keep it whole
        return str(ast.get_source_segment(text, node))
    args = copy.deepcopy(node.args)
    for a in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
        if a is not None:
            a.annotation = None
    sig = ast.FunctionDef(name=node.name, args=args, body=[ast.Pass()], returns=None, type_params=[],
                          decorator_list=[] if _dropped(node) else node.decorator_list, lineno=1, col_offset=0)
    header = ast.unparse(sig).rsplit("\n", 1)[0]
    first = min([node.body[0].lineno] + [n.lineno for n in ast.walk(node.body[0]) if hasattr(n, "lineno")])
    while first - 2 > node.lineno - 1 and lines[first - 2].strip().startswith("#"):
        first -= 1  # comments just above the first statement belong to the body
    return header + "\n" + "\n".join(lines[first - 1:node.end_lineno])


def _names_used(node: ast.stmt) -> list[str]:
    """Names a definition reads (annotations and dropped decorators left out)."""
    if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
        parts: list[ast.AST] = list(node.body)
        if not _dropped(node):
            parts += node.decorator_list
        if isinstance(node, ast.FunctionDef):
            parts += [d for d in node.args.defaults + node.args.kw_defaults if d is not None]
        else:
            parts += node.bases
    else:
        parts = [node.value] if getattr(node, "value", None) is not None else []
    seen: dict[str, None] = {}
    for part in parts:
        for n in ast.walk(part):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
                seen.setdefault(n.id, None)
    return list(seen)


class Copier:
    """Collects a definition and everything it needs, dependencies first."""

    def __init__(self) -> None:
        self.blocks: dict[str, tuple[str, str | None]] = {}  # name -> (module, source)
        self.order: list[str] = []
        self.imports: list[str] = []

    def need(self, module: str, name: str) -> None:
        parsed = read_module(module)
        if parsed is None:
            raise Unresolvable(f"no source for {module}")
        if name in parsed.defs:
            if name in self.blocks:
                if self.blocks[name][0] != module:
                    raise Unresolvable(f"{name} is defined in two modules")
                return
            node = parsed.defs[name]
            self.blocks[name] = (module, None)
            for dep in _names_used(node):
                if dep in parsed.defs or dep in parsed.imports:
                    self.need(module, dep)
            self.blocks[name] = (module, _source(parsed.text, node))
            self.order.append(name)
        elif name in parsed.imports:
            mod, attr, stmt = parsed.imports[name]
            if not _is_local(mod):
                if stmt not in self.imports:
                    self.imports.append(stmt)
            elif attr is None:
                raise Unresolvable(f"{name} is a module of the project ({mod})")
            else:
                self.need(mod, attr)
                if attr != name:
                    self.blocks[name] = (module, f"{name} = {attr}")
                    self.order.append(name)
        else:
            raise Unresolvable(f"{name} not found in {module}")

    def check(self, taken: frozenset[str]) -> None:
        """Refuse a copy that would redefine one of the script's own names."""
        clash = sorted(set(self.blocks) & taken)
        if clash:
            raise Unresolvable(f"{', '.join(clash)} would clash with the script's own names")

    def code(self) -> str:
        return "\n\n\n".join(str(self.blocks[n][1]) for n in self.order)


def _is_mapping(node: ast.stmt) -> bool:
    """A function decorated with ``@impl(...)`` (how adapters declare a mapping)."""
    return isinstance(node, ast.FunctionDef) and any(
        isinstance(d, ast.Call) and getattr(d.func, "id", None) == "impl" for d in node.decorator_list)


def find_mapping(framework: str, op: str) -> tuple[str, str, Direct | None] | None:
    """(module, function name, TABLE row or None) of the built-in adapter's mapping of ``op``: its
    ``@impl`` function (named after the op, with a trailing ``_`` where the name would shadow a
    builtin), or its row in the module's ``TABLE`` (read from the source, never imported)."""
    package = OPS_PACKAGES[framework]
    for path in sorted(ROOT.joinpath(*package.split(".")).glob("*.py")):
        parsed = read_module(f"{package}.{path.stem}")
        if parsed is None:
            continue
        for name in (op, op + "_"):
            node = parsed.defs.get(name)
            if node is not None and _is_mapping(node):
                return f"{package}.{path.stem}", name, None
        row = table_rows(ast.Module(body=parsed.body, type_ignores=[])).get(op)
        if row is not None:
            return f"{package}.{path.stem}", row.function_name(op), row
    return None


@functools.cache
def mapping_source(framework: str, op: str, taken: frozenset[str] = frozenset()) -> tuple[tuple[str, ...], str]:
    """(import lines, code defining ``op``) for a built-in framework's mapping of ``op``; ``taken``
    are names the script already defines."""
    found = find_mapping(framework, op)
    if found is None:
        raise ReproError(f"the {framework} adapter has no mapping for {op}")
    module, fn, row = found
    copier = Copier()
    try:
        if row is None:
            copier.need(module, fn)
        else:  # the row as the function it stands for, with the import its call's head needs
            for name in row.names():
                copier.need(module, name)
            spec = get_op(op)
            copier.blocks[fn] = (module, row.source(op, tuple(i.name for i in spec.inputs), tuple(spec.params)))
            copier.order.append(fn)
        copier.check(taken)
    except Unresolvable as e:
        if row is not None:
            raise ReproError(f"the {framework} adapter's TABLE row for {op} cannot be written out: {e}") from None
        return (), (f"# The {framework} adapter's mapping of {op} could not be copied as standalone code ({e}),\n"
                    f"# so this script imports it: it needs vjp-conformance installed.\n"
                    f"from {module} import {fn} as _mapped\n\nop = _mapped.fn\n")
    where = module.replace(".", "/") + ".py"
    how = (f"its TABLE row in\n# {where}, written as the function it stands for" if row is not None else
           f"copied from\n# {where} (and the helpers it uses), its @impl decorator left out")
    code = (f"# The op exactly as the vjp-conformance {framework} adapter calls it: {how}.\n\n"
            f"{copier.code()}\n\n\nop = {fn}\n")
    return tuple(copier.imports), code


@functools.cache
def comparison_source(taken: frozenset[str] = frozenset()) -> tuple[tuple[str, ...], str, frozenset[str]]:
    """(import lines, code, names defined) of the suite's own ``check_output``, ``compare`` and ``verdict``; ``taken``
    are names the script already defines."""
    copier = Copier()
    try:
        for name in ("check_output", "compare", "verdict"):
            copier.need("conformance.compare", name)
        copier.check(taken)
    except Unresolvable as e:  # a change in compare.py that this copier cannot follow
        raise ReproError(f"cannot copy the suite's comparison: {e}") from None
    code = ("# The suite's own comparison, copied from conformance/compare.py: the same figures as\n"
            "# the record, from the same code.\n\n" + copier.code() + "\n")
    return tuple(copier.imports), code, frozenset(copier.blocks)
