"""Tolerances and expectations are data: validated on load, matched as documented."""

from __future__ import annotations

import math

import pytest

from conformance.expectations import Expectations, entry_states
from conformance.registry import all_ops
from conformance.tolerances import Tolerances


def test_shipped_files_load_and_name_real_ops():
    tol = Tolerances.load()
    exp = Expectations.load()
    ops = set(all_ops())
    for match, _ in tol.overrides:
        assert set(match["op"]) <= ops, match
    for e in exp.entries:
        assert set(e.match["op"]) <= ops | {"*"}, e.match
        assert e.reason.strip()


def test_default_budget_grows_with_reduction_length():
    tol = Tolerances.load()
    b = tol.budget("matmul", "torch", "cpu", "float32")
    assert b.for_terms(1) < b.for_terms(100) < b.for_terms(10_000)
    assert b.for_terms(10_000) - b.for_terms(100) == pytest.approx(b.sqrt_terms * (100 - 10))


def test_tf32_budget_applies_only_where_the_framework_defaults_to_tf32():
    """The TF32 rows: GPU, float32, default mode, and only the ops and frameworks that use TF32 by
    default (JAX dot/conv; torch cuDNN convolutions, not torch matmuls). Strict and CPU keep float32's."""
    tol = Tolerances.load()
    f32 = tol.default.base
    tf32 = {(op, fw) for op in ("matmul", "conv2d", "conv3d_bias", "einsum") for fw in ("jax", "torch")
            if tol.budget(op, fw, "cuda:0", "float32", "default").base > f32}
    assert tf32 == {("matmul", "jax"), ("conv2d", "jax"), ("conv3d_bias", "jax"), ("einsum", "jax"),
                    ("conv2d", "torch"), ("conv3d_bias", "torch")}
    for args in (("matmul", "jax", "cuda:0", "float32", "strict"), ("matmul", "jax", "cpu", "float32", "default"),
                 ("matmul", "jax", "cuda:0", "float16", "default"), ("softmax", "jax", "cuda:0", "float32", "default")):
        assert tol.budget(*args).base == f32, args
    assert tol.budget("matmul", "jax", "cuda:0", "float32", "default").base == 8192 * f32


def test_most_specific_override_wins_and_needs_a_reason():
    data = {
        "default": {"base": 6, "sqrt_terms": 3, "reason": "r"},
        "override": [
            {"op": "matmul", "base": 10, "reason": "matmul"},
            {"op": "matmul", "framework": "jax", "device": "cuda", "base": 20, "reason": "jax gpu"},
        ],
    }
    tol = Tolerances(data)
    assert tol.budget("matmul", "torch", "cpu").base == 10
    assert tol.budget("matmul", "jax", "cuda:0").base == 20
    assert tol.budget("softmax", "jax", "cuda:0").base == 6
    with pytest.raises(ValueError, match="reason"):
        Tolerances({"default": {"base": 1, "sqrt_terms": 1, "reason": " "}})
    with pytest.raises(ValueError, match="unknown keys"):
        Tolerances({**data, "override": [{"op": "x", "frame": "y", "reason": "z"}]})


def test_expectation_turns_matching_failure_into_known_and_keeps_the_verdict():
    exp = Expectations.parse({"expect": [{"framework": "jax", "op": "softmax", "dtype": "float32",
                                          "versions": ">=0.4,<1", "reason": "flush to zero",
                                          "link": "https://example.invalid/1"}]})
    rec = {"framework": "jax", "op": "softmax", "dtype": "float32", "device": "cpu", "status": "fail",
           "framework_version": "0.10.2", "case_family": "accuracy"}
    exp.apply(rec)
    assert rec["status"] == "known" and rec["expected_status"] == "fail"
    assert rec["expectation"]["reason"] == "flush to zero"
    other = {**rec, "status": "fail", "framework_version": "1.2.0"}
    exp.apply(other)
    assert other["status"] == "fail"  # outside the version range
    passing = {**rec, "status": "pass"}
    assert exp.apply(passing)["status"] == "pass"


def test_a_crash_is_known_only_where_an_entry_names_it():
    rows = [{"framework": "jax", "op": "conv2d", "dtype": "float64", "reason": "XLA aborts", "id": "abort",
             "statuses": ["crashed"]},
            {"framework": "jax", "op": "conv2d", "reason": "wrong for float32", "id": "wrong"}]
    exp = Expectations.parse({"expect": rows})
    crash = {"framework": "jax", "op": "conv2d", "dtype": "float64", "device": "cpu", "status": "crashed",
             "framework_version": "0.10.2"}
    exp.apply(crash)
    assert crash["status"] == "known" and crash["expected_status"] == "crashed"
    assert crash["expectation"]["id"] == "abort"
    other = {**crash, "dtype": "float32", "status": "crashed"}
    del other["expectation"], other["expected_status"]
    assert exp.apply(other)["status"] == "crashed"  # "wrong" names no statuses: it never swallows a crash
    failing = {**other, "status": "fail"}
    assert exp.apply(failing)["expectation"]["id"] == "wrong"


def test_entry_states_known_fixed_stale():
    entries = Expectations.parse({"expect": [
        {"framework": "jax", "op": "softmax", "reason": "a", "id": "A"},
        {"framework": "torch", "op": "matmul", "reason": "b", "id": "B"},
        {"framework": "tensorflow", "op": "conv2d", "reason": "c", "id": "C"},
    ]}).to_json()
    records = [
        {"framework": "jax", "op": "softmax", "status": "known", "expectation": {"id": "A"}},
        {"framework": "torch", "op": "matmul", "status": "pass"},
    ]
    states = {e["id"]: e["state"] for e in entry_states(entries, records)}
    # none has a witness: a draw that reproduced A says known, but passing draws never say fixed
    # (tests/test_witnesses.py has the pinned states)
    assert states == {"A": "known", "B": "stale", "C": "stale"}


@pytest.mark.parametrize("row, msg", [
    ({"op": "x", "reason": "r"}, "needs 'framework'"),
    ({"framework": "jax", "op": "x", "reason": "r", "versions": "not a range"}, "bad versions"),
    ({"framework": "jax", "op": "x", "reason": "r", "statuses": ["pass"]}, "cannot be expected"),
    ({"framework": "jax", "op": "x", "reason": "r", "colour": "red"}, "unknown keys"),
])
def test_bad_expectation_rows_are_rejected_with_the_reason(row, msg):
    with pytest.raises(ValueError, match=msg):
        Expectations.parse({"expect": [row]})


def test_budget_is_finite_for_every_op():
    tol = Tolerances.load()
    for op in all_ops():
        assert math.isfinite(tol.budget(op).for_terms(10**6))


def test_shipped_claims_load_and_name_real_ops_frameworks_and_observations():
    from conformance.adapters import BUILTIN
    from conformance.claims import FRAMEWORKS, Claims

    assert set(FRAMEWORKS) == set(BUILTIN)
    claims = Claims.load()
    assert claims.claims, "the shipped unsupported.toml holds claims"
    ops = set(all_ops())
    for c in claims.claims:
        assert set(c.ops) <= ops and c.framework in BUILTIN, c
        assert c.devices and c.dtypes and c.reason.strip() and c.observed.strip(), c
        assert ":" in c.reason.split(" ")[0], f"{c.id}: the reason is the framework's message, '<Exception>: ...'"


_CLAIM = {"framework": "torch", "op": "det", "dtype": "float16", "device": "cpu", "reason": "r", "observed": "o"}


@pytest.mark.parametrize("change, complaint", [
    ({"framework": "mxnet"}, r"#2 \(second\): framework: unknown framework 'mxnet'"),
    ({"op": ["det", "determinant"]}, r"#2 \(second\): op: 'determinant' not in the catalogue"),
    ({"dtype": "float8"}, r"#2 \(second\): dtype: unknown dtype 'float8'"),
    ({"device": "gpu"}, r"#2 \(second\): device: unknown device kind 'gpu'"),
    ({"versions": "two point thirteen"}, r"#2 \(second\): versions: 'two point thirteen' is not a PEP 440 range"),
    ({"colour": "red"}, r"#2 \(second\): unknown key\(s\) \['colour'\]"),
    ({"observed": None}, r"#2 \(second\): needs 'observed'"),
    ({"id": "first"}, r"#2 \(first\): id 'first' is used by .*#1"),
    ({"op": "solve"}, None),
])
def test_bad_claim_rows_are_refused_naming_file_row_and_key(change, complaint):
    from conformance.claims import Claims, ClaimsError

    second = {**_CLAIM, "id": "second", **change}
    second = {k: v for k, v in second.items() if v is not None}
    data = {"claim": [{**_CLAIM, "id": "first", "op": "inv"}, second]}
    if complaint is None:
        assert len(Claims.parse(data, "x.toml").claims) == 2
        return
    with pytest.raises(ClaimsError, match=r"^x\.toml \[\[claim\]\] " + complaint):
        Claims.parse(data, "x.toml")


def test_a_cell_claimed_twice_is_refused():
    from conformance.claims import Claims, ClaimsError

    with pytest.raises(ClaimsError, match="torch det float16 on cpu is claimed by .*#1 too"):
        Claims.parse({"claim": [_CLAIM, {**_CLAIM, "op": ["inv", "det"], "reason": "again"}]})
