"""TABLE rows (``direct(...)``): an op that is one framework call is a row, resolved in its module's
namespace when the adapter is built; everything else is an ``@impl`` function."""

from __future__ import annotations

import ast
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from conformance.adapters.mapping import Direct, collect, direct

ROOT = Path(__file__).resolve().parents[1]
OPS_PACKAGES = ("torch_ops", "tf_ops", "jax_ops")


def _package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, body: str) -> str:
    """A throwaway ``<name>_ops`` package with one family module ``fam`` holding ``body``; ``lib`` in
    it records each call it gets."""
    pkg = tmp_path / f"{name}_ops"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "fam.py").write_text(textwrap.dedent("""
        from types import SimpleNamespace

        from conformance.adapters.mapping import direct, impl

        CALLS = []


        def _record(name):
            def call(*args, **kwargs):
                CALLS.append((name, args, kwargs))
                return name
            return call


        lib = SimpleNamespace(nn=SimpleNamespace(neg=_record("lib.nn.neg"), clip=_record("lib.nn.clip")),
                              einsum=_record("lib.einsum"), not_callable=3)
    """) + textwrap.dedent(body))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, f"{name}_ops", raising=False)
    monkeypatch.delitem(sys.modules, f"{name}_ops.fam", raising=False)
    return f"{name}_ops"


def test_rows_pass_inputs_in_order_params_by_keyword_and_constants(tmp_path, monkeypatch):
    package = _package(tmp_path, monkeypatch, "good", """
        TABLE = {
            "neg": direct("lib.nn.neg"),
            "clip": direct("lib.nn.clip", lower="lo", upper="hi", const={"mode": "exact"}, note="a note"),
            "einsum": direct("lib.einsum", "equation", "x", "y"),
        }


        @impl("lib.where(cond, x, y)")
        def where(cond, x, y):
            return "where"
    """)
    ops = collect(package, ("fam",))
    assert set(ops) == {"neg", "clip", "einsum", "where"}
    calls: list[Any] = sys.modules[f"{package}.fam"].CALLS
    assert ops["neg"].fn(x=1) == "lib.nn.neg" and calls[-1] == ("lib.nn.neg", (1,), {})
    ops["clip"].fn(x=1, lo=2, hi=3)
    assert calls[-1] == ("lib.nn.clip", (1,), {"lower": 2, "upper": 3, "mode": "exact"})
    ops["einsum"].fn(y=3, x=2, equation="ij,jk")
    assert calls[-1] == ("lib.einsum", ("ij,jk", 2, 3), {})
    assert ops["clip"].describe() == {"call": "lib.nn.clip(x, lower=lo, upper=hi, mode='exact') (a note)",
                                      "composite": False, "form": "table"}
    assert ops["where"].describe()["form"] == "function"
    assert ops["clip"].source == "def clip(x, lo, hi):\n    return lib.nn.clip(x, lower=lo, upper=hi, mode='exact')\n"
    assert ops["neg"].row is not None and ops["neg"].row.names() == ("lib",)


@pytest.mark.parametrize("table, complaint", [
    ('{"neg": direct("numpy.negative")}', r"TABLE\['neg'\]: 'numpy.negative': 'numpy' is not defined in the module"),
    ('{"neg": direct("lib.not_callable")}', r"TABLE\['neg'\]: 'lib.not_callable' is not callable"),
    ('{"clip": direct("lib.nn.clip", lower="lo")}', r"TABLE\['clip'\]: leaves out 'hi'"),
    ('{"clip": direct("lib.nn.clip", "x", "lo", "hi", upper="hi")}', r"TABLE\['clip'\]: passes twice 'hi'"),
    ('{"neg": direct("lib.nn.neg", y="y")}', r"TABLE\['neg'\]: passes unknown names 'y'"),
    ('{"negate": direct("lib.nn.neg")}', r"TABLE\['negate'\]: 'negate' is not in the catalogue"),
    ('{"neg": "lib.nn.neg"}', r"TABLE\['neg'\]: a TABLE row is made with direct"),
])
def test_bad_rows_are_refused_when_the_adapter_is_built(tmp_path, monkeypatch, table, complaint):
    package = _package(tmp_path, monkeypatch, "bad", f"TABLE = {table}\n")
    with pytest.raises(ValueError, match=rf"bad_ops.fam {complaint}"):
        collect(package, ("fam",))


def test_a_row_whose_call_this_framework_version_lacks_is_an_unsupported_op(tmp_path, monkeypatch):
    # an older release lacks a call a row names (jax 0.4.30 has no jax.nn.dot_product_attention): that
    # op is unsupported there, saying why, and the rest of the adapter still loads
    package = _package(tmp_path, monkeypatch, "older", 'TABLE = {"neg": direct("lib.nn.absent"), '
                                                      '"clip": direct("lib.nn.clip", lower="lo", upper="hi")}\n')
    ops = collect(package, ("fam",))
    assert ops["neg"].fn is None
    assert ops["neg"].unsupported == ("not in this version of the framework: 'lib.nn.absent': lib.nn has no "
                                      "attribute 'absent'")
    assert ops["clip"].unsupported is None and ops["clip"].fn(x=1, lo=2, hi=3) == "lib.nn.clip"


@pytest.mark.parametrize("package", OPS_PACKAGES)
def test_every_builtin_row_resolves_on_the_pinned_versions(package):
    # a misspelt call would otherwise pass for "not in this version": on the versions constraints.txt
    # pins, every row resolves
    framework = {"torch_ops": "torch", "tf_ops": "tensorflow", "jax_ops": "jax"}[package]
    pytest.importorskip(framework)
    from conformance.adapters import discover

    adapter = discover((), [framework])[framework].adapter
    missing = {op: m.unsupported for op, m in adapter.ops.items() if (m.unsupported or "").startswith("not in this")}
    assert missing == {}


def test_an_op_both_a_row_and_a_function_is_mapped_twice(tmp_path, monkeypatch):
    package = _package(tmp_path, monkeypatch, "twice", """
        TABLE = {"neg": direct("lib.nn.neg")}


        @impl("-x")
        def neg(x):
            return -x
    """)
    with pytest.raises(ValueError, match="op 'neg' mapped twice"):
        collect(package, ("fam",))


def test_direct_refuses_a_fixed_value_given_as_a_keyword():
    with pytest.raises(TypeError, match="const="):
        direct("lib.f", reduction=1)  # type: ignore[arg-type]
    assert direct("lib.f") == Direct("lib.f")


def _framework_names(tree: ast.Module) -> set[str]:
    """Names a module binds by importing a framework (not the project's own helpers)."""
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names |= {a.asname or a.name.split(".")[0] for a in node.names
                      if a.name.split(".")[0] not in ("conformance", "reference")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] not in ("conformance", "reference"):
            names |= {a.asname or a.name for a in node.names}
    return names


def _is_pass_through(fn: ast.FunctionDef, frameworks: set[str]) -> bool:
    """``return <framework>.dotted.name(<its arguments>, keyword=<argument or constant>)``, each
    argument once (a call of the module's own helpers is not one)."""
    body = [s for s in fn.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    if len(body) != 1 or not isinstance(body[0], ast.Return) or not isinstance(body[0].value, ast.Call):
        return False
    call = body[0].value
    func = call.func
    while isinstance(func, ast.Attribute):
        func = func.value
    if not isinstance(func, ast.Name) or func.id not in frameworks:
        return False
    params = [a.arg for a in fn.args.args]
    used = []
    for a in [*call.args, *(k.value for k in call.keywords)]:
        if isinstance(a, ast.Name):
            used.append(a.id)
        elif not isinstance(a, ast.Constant) or a in call.args:
            return False
    return sorted(used) == sorted(params)


def test_no_impl_function_is_a_plain_pass_through():
    """An ``@impl`` function whose body is one call of its own arguments is a TABLE row instead."""
    found = []
    for package in OPS_PACKAGES:
        for path in sorted((ROOT / "conformance" / "adapters" / package).glob("*.py")):
            tree = ast.parse(path.read_text())
            frameworks = _framework_names(tree)
            for node in tree.body:
                decorated = isinstance(node, ast.FunctionDef) and any(
                    isinstance(d, ast.Call) and getattr(d.func, "id", None) == "impl" for d in node.decorator_list)
                if decorated and _is_pass_through(node, frameworks):
                    found.append(f"{package}/{path.name}:{node.name}")
    assert not found, f"make these TABLE rows (direct(...)): {found}"


def test_the_pass_through_check_can_see_one():
    tree = ast.parse(textwrap.dedent("""
        import torch
        import torch.nn.functional as F

        def _conv(x, w):
            return x

        def neg(x):
            return torch.neg(x)

        def elu(x, alpha):
            return F.elu(x, alpha=alpha)

        def reshape(x, shape):
            return torch.reshape(x, tuple(shape))

        def conv(x, w):
            return _conv(x, w)
    """))
    frameworks = _framework_names(tree)
    fns = {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef)}
    assert frameworks == {"torch", "F"}
    assert _is_pass_through(fns["neg"], frameworks) and _is_pass_through(fns["elu"], frameworks)
    assert not _is_pass_through(fns["reshape"], frameworks) and not _is_pass_through(fns["conv"], frameworks)


@pytest.mark.parametrize("framework", ["torch", "tensorflow", "jax"])
def test_builtin_rows_read_as_the_functions_they_stand_for(framework):
    """Each row's ``source`` (what repro copies) is a function of the op's inputs and params whose
    body is the call ``describe()`` shows; exec'd in its module's namespace it calls the same object."""
    from conformance.adapters import BUILTIN, load
    from conformance.registry import get_op

    av = load(BUILTIN[framework], framework, "builtin")
    if not av.available:
        pytest.skip(f"{framework} unavailable: {av.reason}")
    rows = {n: m for n, m in av.adapter.ops.items() if m.row is not None}
    assert len(rows) >= 45, f"{framework}: {len(rows)} rows"
    for name, mapped in rows.items():
        spec = get_op(name)
        tree = ast.parse(mapped.source)
        fn = tree.body[0]
        assert isinstance(fn, ast.FunctionDef) and [a.arg for a in fn.args.args] == [
            *(i.name for i in spec.inputs), *spec.params], name
        assert mapped.call.startswith(ast.unparse(fn.body[0].value)), name
        namespace = vars(sys.modules[mapped.fn.__module__])
        assert mapped.row.resolve(namespace) is eval(mapped.row.path, dict(namespace)), name


@pytest.mark.parametrize("package", OPS_PACKAGES)
def test_rows_read_from_the_source_are_the_rows_the_adapter_builds(package):
    """What repro reads without importing the framework (``table_rows``) is the module's TABLE."""
    import importlib

    from conformance.adapters.mapping import table_rows

    framework = {"torch_ops": "torch", "tf_ops": "tensorflow", "jax_ops": "jax"}[package]
    pytest.importorskip(framework)
    for path in sorted((ROOT / "conformance" / "adapters" / package).glob("*.py")):
        module = importlib.import_module(f"conformance.adapters.{package}.{path.stem}")
        assert table_rows(ast.parse(path.read_text())) == getattr(module, "TABLE", {}), path.name


def test_a_row_that_is_not_literal_cannot_be_read_from_the_source():
    from conformance.adapters.mapping import table_rows

    with pytest.raises(ValueError, match=r"TABLE\['mse'\] \(line 2\): a row is written with literals only"):
        table_rows(ast.parse('MEAN = {"reduction": "mean"}\nTABLE = {"mse": direct("F.mse_loss", const=MEAN)}\n'))
    assert table_rows(ast.parse('TABLE = {"neg": direct("torch.neg")}\n')) == {"neg": Direct("torch.neg")}
