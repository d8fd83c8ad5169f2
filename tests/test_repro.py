"""``vjp-conformance repro``: standalone scripts that reproduce a record's figures.

A planted failure (``ScaledTorch``: torch's gradient times 1.01) goes through a real run, and its
repro script must show the record's figures. Scripts for the built-in frameworks must run with
vjp-conformance and its oracle unimportable and give the record's figures exactly.
"""

from __future__ import annotations

import ast
import inspect
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import ml_dtypes
import numpy as np
import pytest

from conformance.cli import main
from conformance.repro import (
    OPS_PACKAGES,
    ReproError,
    adapter_section,
    array_literal,
    build_script,
    comparison_source,
    find_record,
    mapping_source,
)
from tests.runner import ROOT, cli, fault
from tests.synthetic_runs import make_run, record, sigmoid_repro

FIGURES = ("max_abs_err", "max_rel_err", "max_ulp", "bound_ratio", "budget")
# run scripts with the project's own packages unimportable (only the framework and NumPy remain),
# one after the other in one process (the framework is imported once)
STANDALONE = textwrap.dedent("""
    import sys
    sys.modules["conformance"] = None
    sys.modules["reference"] = None
    for path in sys.argv[1:]:
        print(f"=== {path}", flush=True)
        exec(compile(open(path).read(), path, "exec"), {"__name__": "__main__"})
""")


class ScaledTorch:
    """A wrong VJP on purpose: torch's gradient times 1.01 (a planted failure for the repro test)."""

    name = "scaled-torch"
    api_version = 1

    def __init__(self) -> None:
        from conformance.adapters.torch_adapter import TorchAdapter

        self.inner = TorchAdapter()

    def version(self) -> str:
        return self.inner.version() + "-scaled"

    def devices(self) -> list[str]:
        return ["cpu"]

    def supports(self, op: Any, dtype: str, device: str) -> bool | str:
        return self.inner.supports(op, dtype, device)

    def vjp(self, op, inputs, params, cotangent, *, dtype, device):
        got = self.inner.vjp(op, inputs, params, cotangent, dtype=dtype, device=device)
        return {k: (v * 1.01).astype(v.dtype) for k, v in got.items()}


def run_scripts(paths: list[Path], standalone: bool = True) -> list[str]:
    """Each script's output; standalone: with vjp-conformance and its oracle unimportable."""
    args = [sys.executable, "-c", STANDALONE, *map(str, paths)] if standalone else [sys.executable, str(paths[0])]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300, cwd=paths[0].parent,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout.split("=== ")[1:] if standalone else [proc.stdout]


def figures_of(output: str) -> tuple[dict[str, float], str]:
    m = re.search(r"this run: (.*) -> (\S+)", output)
    assert m, output
    return {k: float(v) for k, v in re.findall(r"(\w+)=(\S+)", m.group(1))}, m.group(2)


def assert_same_figures(output: str, rec: dict[str, Any]) -> None:
    got, verdict = figures_of(output)
    for k in FIGURES:
        if rec.get(k) is not None:
            assert got[k] == pytest.approx(rec[k], rel=1e-12, abs=0), (k, got, rec)
    assert f"-> {rec['status']}" in output


# -- planted failures, end to end ----------------------------------------------------------------------
def planted_failure_repro(tmp_path: Path, adapter: str, framework: str, op: str, extra: tuple[str, ...] = ()
                          ) -> tuple[dict[str, Any], str, Path]:
    """Run ``op`` on a wrong adapter, take its last failing record (the shrunk one), and run the
    script ``vjp-conformance repro`` prints for it; return the record, the output, the run."""
    res = cli("run", "--adapter", adapter, "--frameworks", framework, "--ops", op, "--families", "accuracy",
              "--max-examples", "3", "--seed", "11", "--out", str(tmp_path / "runs"), *extra)
    assert res.code == 1 and res.run_dir is not None, res.out[-2000:] + res.err[-2000:]
    failing = [r for r in res.records() if r["status"] == "fail"]
    assert failing, [r["status"] for r in res.records()]
    rec = failing[-1]
    assert rec["bound_ratio"] > rec["budget"]
    printed = cli("repro", rec["record_id"], "--out", str(tmp_path / "runs"))
    assert printed.code == 0, printed.err
    assert f"ADAPTER = {adapter!r}" in printed.out  # a third-party adapter: the script loads it
    script = tmp_path / "repro.py"
    script.write_text(printed.out)
    [output] = run_scripts([script], standalone=False)
    return rec, output, res.run_dir


def test_planted_torch_failure_repro_shows_the_recorded_error(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    rec, output, run_dir = planted_failure_repro(tmp_path, "tests.test_repro:ScaledTorch", "scaled-torch",
                                                 "softmax", ("--dtypes", "float64"))
    assert_same_figures(output, rec)
    page = (run_dir / "index.html").read_text()  # written at the end of the run
    sid = "s-" + re.sub(r"[^0-9A-Za-z]", "-", rec["record_id"])
    assert f'data-target="{sid}"' in page and f'<pre id="{sid}"><code>' in page
    assert "ScaledTorch" in page.split(f'<pre id="{sid}">')[1].split("</pre>")[0]


def test_planted_failure_repro_without_any_framework(tmp_path: Path) -> None:
    """The NumPy example engine with a wrong softmax VJP: runs wherever the project does."""
    rec, output, _ = planted_failure_repro(tmp_path, fault("BrokenSoftmax"), "tinygrad-broken", "softmax",
                                           ("--dtypes", "float32"))
    assert_same_figures(output, rec)


# -- built-in frameworks: standalone scripts, exact figures --------------------------------------------
MAKE_RECORDS = textwrap.dedent("""
    import json, sys
    import numpy as np
    from conformance.adapters import BUILTIN, load
    from conformance.case import Case
    from conformance.dtypes import get_dtype
    from conformance.execute import Target, run_example
    from conformance.registry import get_op
    from conformance.tolerances import Tolerances

    fw, out = sys.argv[1], sys.argv[2]
    adapter = load(BUILTIN[fw], fw, "builtin").adapter
    rng = np.random.default_rng(7)
    cases = [
        ("conv2d", "float32", "default", {"x": (1, 5, 6, 2), "w": (2, 3, 2, 2)},
         {"stride": (2, 1), "dilation": (1, 2), "padding": [[1, 0], [0, 2]]}),
        ("softmax", "bfloat16", "default", {"x": (3, 4)}, {"axis": 0}),
        # last: the scripts run one after another in one process, and strict flags stay set
        ("matmul", "float64", "strict", {"x": (2, 3, 4), "y": (4, 2)}, {}),
    ]
    flags = {}
    with open(out, "w") as f:
        for i, (op, dtype, precision, shapes, params) in enumerate(cases):
            spec = get_op(op)
            flags[precision] = adapter.set_precision(precision)
            npdt = get_dtype(dtype).numpy
            inputs = {k: rng.standard_normal(s).astype(npdt) for k, s in shapes.items()}
            z = spec.reference(**{k: v.astype(np.float64) for k, v in inputs.items()}, **params)
            case = Case(op, dtype, inputs, params, rng.standard_normal(np.shape(z)).astype(npdt))
            rec = run_example(Target(op, fw, "cpu", dtype, precision), spec, case, adapter, Tolerances.load(),
                              run_id="t", framework_version=adapter.version())
            rec["record_id"] = f"t/main/{i}"
            f.write(json.dumps(rec) + "\\n")
    with open(out + ".flags.json", "w") as f:
        json.dump(flags, f)
""")


@pytest.mark.parametrize("framework", sorted(OPS_PACKAGES))
def test_builtin_scripts_run_standalone_with_exact_figures(framework: str, tmp_path: Path) -> None:
    """Each script gives its record's figures exactly, with only the framework and NumPy importable;
    a strict-precision record's script sets the adapter's strict flags (the values the adapter's
    ``set_precision('strict')`` reports), a default one sets none."""
    pytest.importorskip({"tensorflow": "tensorflow", "torch": "torch", "jax": "jax"}[framework])
    results = tmp_path / "results.jsonl"
    proc = subprocess.run([sys.executable, "-c", MAKE_RECORDS, framework, str(results)], capture_output=True,
                          text=True, cwd=ROOT, timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    flags = json.loads((tmp_path / "results.jsonl.flags.json").read_text())
    assert flags["strict"] != flags["default"]  # else the check below could not tell them apart
    recs, scripts = [json.loads(line) for line in results.read_text().splitlines()], []
    for index, rec in enumerate(recs):
        assert rec["status"] == "pass" and "repro" in rec, rec
        scripts.append(tmp_path / f"{rec['op']}.py")
        assert main(["repro", str(results), "--index", str(index), "--output", str(scripts[-1])]) == 0
        assert not re.search(r"^\s*(from|import) (conformance|reference)\b", scripts[-1].read_text(), re.M)
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", "--isolated", "--select", "F821,F811",
                           "--output-format", "concise", *map(str, scripts)], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout[-3000:]  # no undefined or doubly defined name
    outputs = run_scripts(scripts)
    assert len(outputs) == len(recs) == 3
    for output, rec in zip(outputs, recs):
        assert_same_figures(output, rec)
        set_flags = re.findall(r"^precision flags: (.*)$", output, re.M)
        if rec["precision"] == "strict":
            assert [ast.literal_eval(f) for f in set_flags] == [flags["strict"]], output
        else:
            assert set_flags == [], output


# -- pieces -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float16, ml_dtypes.bfloat16, np.float32, np.float64, np.int64, np.bool_])
def test_array_literals_round_trip_exactly(dtype: Any) -> None:
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.standard_normal(40) * 10.0 ** rng.integers(-8, 8, 40),
                             [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-40, 6.1e-5]])
    with np.errstate(over="ignore"):  # float16 overflows to inf: literals must keep that too
        a = values.astype(dtype) if np.dtype(dtype).kind == "f" or dtype is ml_dtypes.bfloat16 else \
            (rng.integers(-5, 5, 12) if dtype is np.int64 else rng.integers(0, 2, 12).astype(bool))
    a = a.reshape(-1, 1)[: a.size // 2 * 2].reshape(2, -1)
    literal = array_literal(a, ".astype(DTYPE)")
    back = eval(literal, {"np": np, "DTYPE": dtype, "inf": float("inf"), "nan": float("nan")})
    assert back.dtype == a.dtype and back.shape == a.shape
    assert back.tobytes() == a.tobytes() or np.array_equal(back, a, equal_nan=True)
    assert np.array_equal(np.signbit(back.astype(np.float64)), np.signbit(a.astype(np.float64)))


def test_every_builtin_mapping_copies_into_valid_code(tmp_path: Path) -> None:
    """Each op each built-in adapter maps is either copied with its helpers (code with no undefined
    name, importing no project module) or imported from the adapter, with the reason said."""
    from conformance.registry import all_ops

    _, cmp_code, taken = comparison_source()
    copied = fallback = 0
    for fw in OPS_PACKAGES:
        for op in all_ops():
            try:
                imports, code = mapping_source(fw, op, taken)
            except ReproError:
                continue  # the adapter does not map this op
            if "could not be copied" in code:
                fallback += 1
                assert f"from conformance.adapters.{fw.replace('tensorflow', 'tf')}_ops" in code
                continue
            copied += 1
            source = "from __future__ import annotations\n" + "\n".join(imports) + "\n\n" + code
            assert "conformance" not in "\n".join(imports) and "reference" not in "\n".join(imports)
            path = tmp_path / f"{fw}_{op}.py"
            path.write_text(source + "\n\nop(**{})\n")
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--isolated", "--select", "F821,F811",
                           "--output-format", "concise", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert copied > 12 and copied > 4 * fallback, (copied, fallback)


def test_mapping_that_cannot_be_copied_is_imported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from conformance.repro import copier

    pkg = tmp_path / "conformance" / "adapters" / "torch_ops"
    pkg.mkdir(parents=True)
    (pkg / "odd.py").write_text(textwrap.dedent("""
        import torch
        from conformance.adapters.mapping import impl
        from reference import conv

        @impl("torch.odd")
        def odd(x):
            return torch.sigmoid(x) * conv.FACTOR

        OPS = {"odd": odd}
    """))
    monkeypatch.setattr(copier, "ROOT", tmp_path)
    copier.read_module.cache_clear()
    try:
        imports, code = mapping_source("torch", "odd")
    finally:
        copier.read_module.cache_clear()
    assert imports == ()
    assert "could not be copied as standalone code" in code
    assert "from conformance.adapters.torch_ops.odd import odd as _mapped" in code and "op = _mapped.fn" in code


def test_find_record_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rec = record(3, status="fail", bound_ratio=40.0, repro=sigmoid_repro())
    run_dir = make_run(tmp_path / "out", [record(0), rec])
    found, base = find_record(rec["record_id"], out=str(tmp_path / "out"))
    assert found == rec and base == run_dir
    found, _ = find_record(str(run_dir / "results.jsonl"), index=1)
    assert found["record_id"] == rec["record_id"]
    assert main(["repro", rec["record_id"], "--run-dir", str(run_dir)]) == 0
    assert "torch.autograd.grad" in capsys.readouterr().out
    cases = [
        (["repro", "x/main/9", "--out", str(tmp_path / "out")], "record x/main/9 not found"),
        (["repro", "nonsense", "--out", str(tmp_path / "out")], "neither a record id"),
        (["repro", str(run_dir / "results.jsonl")], "--index N"),
        (["repro", str(run_dir / "results.jsonl"), "--index", "7"], "has no line 7"),
        (["repro", f"{rec['run_id']}/main/0", "--run-dir", str(run_dir)], "carries no inputs"),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        assert message in capsys.readouterr().err, argv
    with pytest.raises(ReproError, match="'unsupported'.*nothing to reproduce"):
        build_script(record(0, status="unsupported", message="no kernel"))


ADAPTER_MODULES = {"torch": "torch_adapter", "tensorflow": "tf_adapter", "jax": "jax_adapter"}


@pytest.mark.parametrize("framework", sorted(OPS_PACKAGES))
def test_strict_precision_and_device_reach_the_script(framework: str) -> None:
    """A strict record's script holds the adapter's STRICT_PRECISION table as the adapter's source
    has it and sets it before the VJP; the device reaches it. (The flags such a script sets when it
    runs: test_builtin_scripts_run_standalone_with_exact_figures.)"""
    source = (ROOT / "conformance" / "adapters" / f"{ADAPTER_MODULES[framework]}.py").read_text()
    [table] = [ast.get_source_segment(source, n) for n in ast.parse(source).body
               if isinstance(n, ast.Assign) and [getattr(t, "id", None) for t in n.targets] == ["STRICT_PRECISION"]]
    strict = build_script(record(0, framework=framework, device="cuda:1", precision="strict", repro=sigmoid_repro()))
    assert str(table) in strict and "DEVICE = 'cuda:1'" in strict and "PRECISION = 'strict'" in strict
    reproduce = strict[strict.index("def reproduce():"):]
    assert reproduce.index("set_precision_flags(STRICT_PRECISION)") < reproduce.index("return framework_vjp(")
    default = build_script(record(0, framework=framework, repro=sigmoid_repro()))
    assert "PRECISION = 'default'" in default and "DEVICE = 'cpu'" in default
    compile(strict, "repro.py", "exec")


@pytest.mark.parametrize("framework", sorted(OPS_PACKAGES))
def test_script_runs_the_adapters_own_vjp_step(framework: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The script's VJP step, conversions and precision flags are the adapter's own functions as
    written, and the adapter's vjp and set_precision go through exactly those functions."""
    pytest.importorskip({"tensorflow": "tensorflow", "torch": "torch", "jax": "jax"}[framework])
    import importlib

    from conformance.adapters import BUILTIN, load
    from conformance.registry import get_op

    module = importlib.import_module(f"conformance.adapters.{ADAPTER_MODULES[framework]}")
    script = build_script(record(0, framework=framework, repro=sigmoid_repro()))
    section = adapter_section(framework)
    functions = [name for name in sorted(section.names) if inspect.isfunction(getattr(module, name))]
    assert {"framework_vjp", "set_precision_flags"} <= set(functions)
    for name in functions:
        assert inspect.getsource(getattr(module, name)) in script, name
    assert script.count("def framework_vjp(") == 1

    adapter = load(BUILTIN[framework], framework, "builtin").adapter
    calls: list[str] = []
    for name in ("framework_vjp", "set_precision_flags"):
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, _real=real, _name=name, **k: calls.append(_name) or _real(*a, **k))
    assert adapter.set_precision("strict") == module.STRICT_PRECISION
    adapter.set_precision("default")
    x = np.array([0.5, -1.0], np.float32)
    got = adapter.vjp(get_op("sigmoid"), {"x": x}, {}, np.ones(2, np.float32), dtype="float32", device="cpu")
    assert calls == ["set_precision_flags", "set_precision_flags", "framework_vjp"]
    assert got["x"].dtype == np.float32 and got["x"].shape == (2,)


def test_the_templates_hold_no_framework_step() -> None:
    """What is left as template text is the driver and the third-party adapter's reproduce(): the
    framework steps come from the adapters' repro sections only."""
    from conformance.repro import templates

    text = Path(templates.__file__).read_text()
    for word in ("autograd", "GradientTape", "jax.vjp", "jax.jit", "allow_tf32", "tensor_float_32",
                 "jax_default_matmul_precision", "jax_enable_x64", "device_put", "from_numpy"):
        assert word not in text, word


def test_repro_section_may_use_only_its_own_names_and_imports(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from conformance.repro import copier

    adapters = tmp_path / "conformance" / "adapters"
    adapters.mkdir(parents=True)
    good = textwrap.dedent("""
        import numpy as np
        import torch

        from conformance.adapters.mapping import collect

        LIMIT = 3
        # -- repro section
        STRICT_PRECISION = {"cudnn.allow_tf32": False}


        def set_precision_flags(flags):
            return dict(flags)


        def framework_vjp(fn, inputs, params, cotangent, differentiable, device):
            return {n: np.asarray(torch.ones(1)) for n in differentiable}{extra}
        # -- end of repro section
    """)
    cases = {
        "": None,
        "\n\n\ndef helper():\n    return LIMIT": "uses LIMIT, which it does not define",
        "\n\n\ndef helper():\n    return collect": "uses collect, which it does not define",
    }
    monkeypatch.setattr(copier, "ROOT", tmp_path)
    try:
        for extra, problem in cases.items():
            (adapters / "torch_adapter.py").write_text(good.replace("{extra}", extra))
            copier.read_module.cache_clear()
            copier.adapter_section.cache_clear()
            if problem is None:
                section = copier.adapter_section("torch")
                assert section.imports == ("import numpy as np", "import torch")
                assert section.names == {"STRICT_PRECISION", "set_precision_flags", "framework_vjp"}
                assert section.code.startswith("STRICT_PRECISION = ") and "# -- " not in section.code
            else:
                with pytest.raises(ReproError, match=problem):
                    copier.adapter_section("torch")
        (adapters / "torch_adapter.py").write_text(good.replace("{extra}", "").replace("# -- end of repro section", ""))
        copier.read_module.cache_clear()
        copier.adapter_section.cache_clear()
        with pytest.raises(ReproError, match="needs one"):
            copier.adapter_section("torch")
    finally:
        copier.read_module.cache_clear()
        copier.adapter_section.cache_clear()


COMPILED_RECORD = textwrap.dedent("""
    import json, sys
    import numpy as np
    from conformance.adapters import BUILTIN, load
    from conformance.case import Case
    from conformance.execute import Target, run_example
    from conformance.registry import get_op
    from conformance.tolerances import Tolerances

    fw, mode, out = sys.argv[1], sys.argv[2], sys.argv[3]
    adapter = load(BUILTIN[fw], fw, "builtin").adapter
    rng = np.random.default_rng(11)
    spec = get_op("sigmoid")
    x = rng.standard_normal((3, 4))
    case = Case("sigmoid", "float64", {"x": x}, {}, rng.standard_normal((3, 4)))
    rec = run_example(Target("sigmoid", fw, "cpu", "float64", "default", mode), spec, case, adapter,
                      Tolerances.load(), run_id="t", framework_version=adapter.version())
    rec["record_id"] = "t/main/0"
    with open(out, "w") as f:
        f.write(json.dumps(rec) + "\\n")
""")
# after the script: what shows that its compiled path ran (torch: the graphs dynamo compiled)
COMPILED_PROBE = {"torch": "from torch._dynamo.utils import counters\n"
                           "print('graphs', counters['stats']['unique_graphs'])"}


@pytest.mark.parametrize(("framework", "mode"), [("torch", "aot_eager"), ("jax", "eager"), ("tensorflow", "function")])
def test_compiled_mode_record_script_runs_its_mode(framework: str, mode: str, tmp_path: Path) -> None:
    """A record of a non-default execution mode carries it; its script sets MODE, passes it to the
    adapter's framework_vjp and gives the record's figures (torch: through a graph dynamo compiled)."""
    pytest.importorskip({"tensorflow": "tensorflow", "torch": "torch", "jax": "jax"}[framework])
    results = tmp_path / "results.jsonl"
    proc = subprocess.run([sys.executable, "-c", COMPILED_RECORD, framework, mode, str(results)], capture_output=True,
                          text=True, cwd=ROOT, timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    rec = json.loads(results.read_text())
    assert rec["mode"] == mode and rec["status"] == "pass", rec
    script = tmp_path / "repro.py"
    assert main(["repro", str(results), "--index", "0", "--output", str(script)]) == 0
    text = script.read_text()
    assert f"MODE = {mode!r}" in text and "DIFFERENTIABLE, DEVICE, MODE, **LAYOUT_ARGS)" in text
    probe = COMPILED_PROBE.get(framework, "")
    run = subprocess.run([sys.executable, "-c", f"import runpy; runpy.run_path({str(script)!r}, run_name='__main__')\n"
                          + probe], capture_output=True, text=True, timeout=300, cwd=tmp_path,
                         env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert f"mode {mode}" in run.stdout
    assert_same_figures(run.stdout, rec)
    if probe:
        assert re.search(r"^graphs [1-9]", run.stdout, re.M), run.stdout[-2000:]
