"""Value sets per structure example: one Hypothesis example draws a structure, K value sets come
from seeds derived from it, and every one of them runs through the same adapter call (for JAX:
one compiled program). What is checked: the value sets themselves (valid, reproducible, distinct,
value set 0 the plain case), the records a run writes for them (one per structure with the worst
value set's figures, every other value set that did not pass its own, reproducible record), the
counts, and that JAX compiles once per structure."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from conformance.execute import Call, Checker, Target, structure_record, worst_value_set
from conformance.opspec import InputSpec, OpSpec
from conformance.records import decode_array
from conformance.registry import all_ops, get_op
from conformance.strategies import Structure, StructureExample, cases, draw_values, structures, value_set_rng
from conformance.tolerances import Tolerances
from tests import examples
from tests.runner import cli, fault
from tests.test_repro import assert_same_figures, run_scripts

DRAWS = settings(max_examples=examples(4), deadline=None, database=None,
                 suppress_health_check=[HealthCheck.too_slow])


def _dtype_of(spec: OpSpec) -> str:
    return "float32" if "float32" in spec.dtypes else spec.dtypes[0]


@pytest.mark.parametrize("op", sorted(all_ops()))
def test_every_value_set_is_a_valid_reproducible_case_of_its_structure(op: str) -> None:
    spec = get_op(op)
    dtype = _dtype_of(spec)

    @DRAWS
    @given(example=structures(spec, dtype))
    def check(example: StructureExample) -> None:
        first = example.first
        differs = False
        for j in (1, 2, 3):
            case, again = example.case(j), example.case(j)
            assert case.value_set == j and case.seed == first.seed
            assert case.shapes == first.shapes and case.params == first.params
            assert case.cotangent.shape == first.cotangent.shape and case.cotangent.dtype == first.cotangent.dtype
            for name, a in case.inputs.items():
                assert a.dtype == first.inputs[name].dtype, name
                assert np.array_equal(a, again.inputs[name], equal_nan=True), f"value set {j} is not reproducible"
                differs |= not np.array_equal(a, first.inputs[name])
            assert np.array_equal(case.cotangent, again.cotangent)
            differs |= not np.array_equal(case.cotangent, first.cotangent)
            # the op's own forward gives the cotangent's shape, and the oracle takes the value set
            out = np.asarray(spec.reference(**case.oracle_inputs(), **case.params))
            assert out.shape == case.cotangent.shape
            with np.errstate(all="ignore"):
                grads = spec.reference_vjp(**case.oracle_inputs(), dz=case.cotangent.astype(np.float64),
                                           **case.params)
            assert set(grads) == set(spec.differentiable)
        assert differs or all(a.size == 0 for a in first.inputs.values()), "value sets 1-3 repeat value set 0"

    check()


@pytest.mark.parametrize("op", ["sparse_softmax_cross_entropy", "solve", "relu", "max"])
def test_value_sets_keep_the_ops_own_choices_and_kink_margins(op: str) -> None:
    """Inputs the op chooses itself (labels, well-conditioned matrices) are chosen again for each
    value set, as the op chooses them; inputs stay off the kinks in every value set."""
    spec = get_op(op)
    seen_new_choice = []

    @DRAWS
    @given(example=structures(spec, "float32"))
    def check(example: StructureExample) -> None:
        for j in range(1, 5):
            case = example.case(j)
            if op == "sparse_softmax_cross_entropy":
                labels, k = case.inputs["labels"], case.inputs["logits"].shape[-1]
                ignored = labels == case.params["ignore_index"]  # the ignore_index's rows: any label is
                assert labels.dtype.kind == "i" and ((0 <= labels) & (labels < k) | ignored).all()
                assert not ignored[:1].any(), "row 0 always counts (a mean over the kept rows is defined)"
                seen_new_choice.append(not np.array_equal(labels, example.first.inputs["labels"]))
            elif op == "solve":
                a = case.inputs["a"].astype(np.float64)
                assert np.linalg.cond(a).max(initial=0.0) < 1e3  # well conditioned (an empty batch: none)
                seen_new_choice.append(not np.array_equal(a, example.first.inputs["a"]))
            elif op == "relu":
                assert (np.abs(case.inputs["x"].astype(np.float64)) > 0).all()
            else:  # max: no ties along the reduced axes
                x = case.inputs["x"].astype(np.float64)
                axis = case.params.get("axis")
                top = np.max(x, axis=axis, keepdims=True)
                assert ((x == top).sum(axis=axis) == 1).all()

    check()
    if op in ("sparse_softmax_cross_entropy", "solve"):
        assert any(seen_new_choice), "the op's own choices never changed between value sets"


def test_value_set_zero_is_the_plain_case_and_others_follow_from_the_seed() -> None:
    spec = get_op("sigmoid")  # no op-chosen values, no kinks: inputs are the generator's draws
    drawn: list = []

    @DRAWS
    @seed(5)
    @given(case=cases(spec, "float32"))
    def plain(case) -> None:
        drawn.append(case)

    @DRAWS
    @seed(5)
    @given(example=structures(spec, "float32"))
    def structured(example: StructureExample) -> None:
        drawn.append(example)

    plain()
    n = len(drawn)
    structured()
    assert len(drawn) == 2 * n
    for case, example in zip(drawn[:n], drawn[n:]):
        assert example.first.seed == case.seed and np.array_equal(example.first.inputs["x"], case.inputs["x"])
        one = example.case(1)
        want = draw_values(value_set_rng(one.seed, 1), one.inputs["x"].shape, "real", one.scale, one.distribution)
        assert np.array_equal(one.inputs["x"], want.astype(np.float32))


def test_a_structure_whose_shapes_depend_on_its_rng_is_refused_on_replay() -> None:
    def structure(draw, rng):
        draw(st.integers(0, 3))
        n = int(rng.integers(1, 1000))  # a shape from the generator: value sets could not share a program
        return Structure({"x": (n,)}, values={"x": rng.standard_normal(n)})

    spec = OpSpec("bad_structure", "elementwise", (InputSpec("x"),), structure, lambda x: x,
                  lambda x, dz: {"x": dz}, "dx = dz")

    @DRAWS
    @given(example=structures(spec, "float32"))
    def check(example: StructureExample) -> None:
        with pytest.raises(ValueError, match="another structure on a replay"):
            for j in range(1, 6):
                example.case(j)

    check()


def _rec(status: str, ratio: float | None, budget: float = 1.0) -> dict:
    return {"status": status, "bound_ratio": ratio, "budget": budget, "adapter_s": 0.5, "oracle_s": 0.25}


def test_the_worst_value_set_speaks_for_the_structure() -> None:
    recs = [_rec("pass", 0.1), _rec("pass", 0.7), _rec("known", 9.0), _rec("pass", 0.3)]
    assert worst_value_set(recs) == 2  # a worse verdict before any ratio
    assert worst_value_set([_rec("pass", 0.1), _rec("pass", 0.7, budget=0.5), _rec("pass", 0.9, budget=2.0)]) == 1
    assert worst_value_set([_rec("fail", 3.0), _rec("error", None), _rec("fail", 9.0)]) == 1
    recs[2]["value_set"] = 2
    head = structure_record(recs[2], 4, [r["status"] for r in recs], [Call(r) for r in recs])
    assert head is recs[2] and head["value_set"] == 2 and head["values_per_case"] == 4
    assert head["value_statuses"] == {"pass": 3, "known": 1}
    assert head["adapter_s"] == 2.0 and head["oracle_s"] == 1.0  # the structure's time, all K


@settings(max_examples=examples(100), deadline=None)
@given(dtype=st.sampled_from(["float16", "bfloat16", "float32", "float64"]),
       shape=st.lists(st.integers(1, 5), max_size=3).map(tuple), k=st.integers(2, 6),
       data_seed=st.integers(0, 2**32 - 1), inputs=st.integers(1, 3), array_tiny=st.booleans(),
       off_by=st.lists(st.sampled_from([0.0, 1.0, 100.0, 1e4]), min_size=6, max_size=6))
def test_screen_gives_each_value_sets_headline_ratio_and_budget_as_compare_does(
        dtype, shape, k, data_seed, inputs, array_tiny, off_by) -> None:
    """The comparison of K value sets stacked on a leading axis must give, bit for bit, what
    compare() gives each alone: the verdict and the worst value set are chosen from it."""
    from conformance.compare import compare, screen, verdict
    from conformance.dtypes import get_dtype
    from reference import Grad

    d = get_dtype(dtype)
    rng = np.random.default_rng(data_seed)
    names = ["x", "y", "w"][:inputs]
    budgets = {"x": 2.0, "y": 5.0, "w": 0.5}
    gots, refs = [], []
    for j in range(k):
        ref, got = {}, {}
        for n in names:
            want = rng.standard_normal(shape) * 10.0 ** rng.uniform(-3, 3)
            want = np.where(rng.random(shape) < 0.2, 0.0, want)
            magnitude = np.abs(want) * rng.uniform(1, 3, shape) * (rng.random(shape) < 0.8)
            tiny = rng.uniform(0, 2, shape) * (rng.random(shape) < 0.5) if array_tiny else 1.0
            ref[n] = Grad(want, magnitude, terms=int(rng.integers(1, 9)), tiny=tiny)
            got[n] = (want * (1 + off_by[j] * d.unit_roundoff * rng.standard_normal(shape))).astype(d.numpy)
        gots.append(got)
        refs.append(ref)

    def budget_of(name, grad):
        return budgets[name] * grad.terms

    with np.errstate(all="ignore"):
        screened = screen(gots, refs, d, budget_of)
        figures = [compare(g, r, d, budget_of) for g, r in zip(gots, refs)]
    assert screened is not None
    for (ratio, budget), fig in zip(screened, figures):
        assert (ratio, budget) == (fig.bound_ratio, fig.budget)
        assert ("fail" if ratio > budget else "pass") == verdict(fig)


def test_screen_leaves_non_finite_values_to_compare() -> None:
    from conformance.compare import screen
    from conformance.dtypes import get_dtype
    from reference import Grad

    ref = {"x": Grad(np.ones(3), np.ones(3), terms=1)}
    got = [{"x": np.ones(3, np.float32)}, {"x": np.array([1.0, np.inf, 1.0], np.float32)}]
    assert screen(got, [ref, ref], get_dtype("float32"), lambda n, g: 1.0) is None


def test_failing_value_sets_each_get_a_record_that_reproduces_them(tmp_path) -> None:
    res = cli("run", "--adapter", fault("WrongOnSomeValues"), "--frameworks", "tinygrad-some-values",
              "--ops", "sigmoid", "--dtypes", "float32", "--families", "accuracy", "--max-examples", "6",
              "--values-per-case", "8", "--seed", "4", "-n", "0", "--out", str(tmp_path / "runs"))
    assert res.code == 1, res.out[-2000:] + res.err[-2000:]
    recs = res.records()
    heads = [r for r in recs if "value_set_of" not in r]
    extras = [r for r in recs if "value_set_of" in r]
    assert heads and extras
    ids = {r["record_id"]: r for r in heads}
    for h in heads:
        assert h["values_per_case"] == 8 and sum(h["value_statuses"].values()) == 8
        assert h["status"] == ("fail" if h["value_statuses"].get("fail") else "pass")
        mine = [e for e in extras if e["value_set_of"] == h["record_id"]]
        # every value set that did not pass has exactly one record: the structure's own, or its own
        assert len(mine) + (h["status"] != "pass") == 8 - h["value_statuses"].get("pass", 0)
        sets = [e["value_set"] for e in mine] + [h["value_set"]]
        assert len(set(sets)) == len(sets)
        for e in mine:
            assert e["status"] == "fail" and "repro" in e and "adapter_s" not in e
            assert (e["seed"], e["shapes"], e["example"], e["phase"]) == (h["seed"], h["shapes"], h["example"],
                                                                          h["phase"])
            # reproducible from its seed: sigmoid's inputs are value set j's generator's draws
            x = decode_array(e["repro"]["inputs"]["x"]).reshape(e["shapes"]["x"])
            want = draw_values(value_set_rng(e["seed"], e["value_set"]), tuple(e["shapes"]["x"]), "real",
                               e["scale"], e["distribution"])
            assert np.array_equal(x, want.astype(np.float32))
    assert all(e["value_set_of"] in ids for e in extras)
    assert any(h["value_statuses"].get("pass") and h["value_statuses"].get("fail") for h in heads), \
        "no structure had both passing and failing value sets: the fault does not depend on the values"
    manifest = json.loads((res.run_dir / "run.json").read_text())
    assert manifest["values_per_case"] == 8 and manifest["selection"]["values_per_case"] == 8
    summary = res.summary()
    counted = [h for h in heads if h["phase"] != "shrink"]
    assert summary["examples"] == len(counted) and summary["value_sets"] == 8 * len(counted)
    [cell] = summary["cells"]
    assert sum(cell["counts"].values()) == cell["examples"] == len(counted)

    extra = next(e for e in extras if e["phase"] != "shrink")
    page = (res.run_dir / "index.html").read_text()  # listed with the failures, counted once
    assert extra["record_id"] in page and f"{len(counted)} examples, {8 * len(counted)} value sets" in page
    printed = cli("repro", extra["record_id"], "--out", str(tmp_path / "runs"))
    assert printed.code == 0, printed.err
    script = tmp_path / "repro.py"
    script.write_text(printed.out)
    [output] = run_scripts([script], standalone=False)
    assert_same_figures(output, extra)


# -- JAX: one compiled program per structure --------------------------------------------------------------
LOWERING = "/jax/core/compile/jaxpr_to_mlir_module_duration"  # once per jit cache miss, persistent cache or not
_events: list[str] = []


@pytest.mark.parametrize("op", ["matmul", "conv2d", "softmax", "solve", "sparse_softmax_cross_entropy"])
def test_jax_compiles_once_per_structure_not_per_value_set(op: str) -> None:
    jax = pytest.importorskip("jax")
    from conformance.adapters.jax_adapter import JaxAdapter

    if not _events:
        _events.append("registered")
        jax.monitoring.register_event_duration_secs_listener(
            lambda name, secs, **kw: _events.append(name) if name == LOWERING else None)
    spec = get_op(op)
    checker = Checker(Target(op, "jax", "cpu", "float32"), spec, JaxAdapter(), Tolerances.load(), run_id="t",
                      framework_version=jax.__version__)
    compiled: set[str] = set()

    @settings(max_examples=6, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
    @seed(1)
    @given(example=structures(spec, "float32"))
    def check(example: StructureExample) -> None:
        program = json.dumps([example.first.shapes, repr(example.first.params)])
        before = _events.count(LOWERING)
        for j in range(8):
            rec = checker.run(example.case(j))
            assert rec["status"] == "pass", rec
        lowered = _events.count(LOWERING) - before
        # a structure not seen before compiles exactly once; one seen before not at all
        assert lowered == (0 if program in compiled else 1), (program, lowered)
        compiled.add(program)

    check()
    assert len(compiled) >= 2  # at least one structure after the first compiled again: the count is live


def test_a_run_does_not_hash_the_suites_test_source_per_target_and_regime(tmp_path):
    """The run keeps no example database, so the suite gives Hypothesis no key to compute (its
    default hashes the test function's source with inspect and tokenize: ~1 ms per target and
    regime, 20% of a torch run's CPU). Fails if Hypothesis stops honouring the key it is given."""
    import subprocess
    import sys

    pytest.importorskip("torch")
    script = f"""
import sys
import hypothesis.core as core
from conformance import cli
hashed = []
real = core.function_digest
core.function_digest = lambda f: hashed.append(getattr(f, "__qualname__", "?")) or real(f)
code = cli.main(["run", "--frameworks", "torch", "--devices", "cpu", "--ops", "neg,sum", "--dtypes", "float32",
                 "--families", "accuracy", "--max-examples", "3", "-n", "0", "--no-report", "--out", {str(tmp_path)!r}])
print("HASHED", [h for h in hashed if "_check_regime" in h])
sys.exit(code)
"""
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    assert "HASHED []" in p.stdout, p.stdout[-2000:]
