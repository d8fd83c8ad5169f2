"""The JSON Schemas of the record and of summary.json: shipped, valid, strict where it matters,
tolerant of extra fields, and checked against real records from a real run."""

from __future__ import annotations

import copy
import json
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

from conformance.records import SCHEMA_MAJOR, SCHEMA_VERSION, SchemaError, read_jsonl
from conformance.report.data import load_run
from tests.synthetic_runs import RECORD, SUMMARY, errors, make_run, real_run, record, synthetic_records, validator


def test_schemas_name_the_supported_major_version() -> None:
    for name in ("record", "summary"):
        schema = validator(name).schema
        assert schema["properties"]["schema"]["pattern"] == rf"^{SCHEMA_MAJOR}\.[0-9]+$"
        assert schema["$id"].endswith(f":{SCHEMA_MAJOR}")
    assert SCHEMA_VERSION.startswith(f"{SCHEMA_MAJOR}.")


def test_real_records_and_summary_validate(tmp_path_factory: pytest.TempPathFactory) -> None:
    run = load_run(real_run(tmp_path_factory))
    assert run.records, "the run wrote no records"
    families = {r.get("case_family") for r in run.records}
    assert {"accuracy", "convention"} <= families  # relu has a kink: the probe ran
    for rec in run.records:
        assert errors(RECORD, rec) == [], rec.get("record_id")
    assert errors(SUMMARY, run.summary) == []
    assert run.summary["records"] == len(run.records)


def test_synthetic_records_are_realistic(tmp_path: Path) -> None:
    """The report tests' records obey the same schema as real ones (so those tests mean something)."""
    for rec in synthetic_records():
        assert errors(RECORD, rec) == [], rec["record_id"]
    assert errors(SUMMARY, load_run(make_run(tmp_path)).summary) == []


@pytest.mark.parametrize("change, complaint", [
    (lambda r: r.pop("status"), "'status' is a required property"),
    (lambda r: r.update(status="maybe"), "'maybe' is not one of"),
    (lambda r: r.update(bound_ratio=None), "None is not of type 'number'"),  # a pass carries its figures
    (lambda r: r.update(max_abs_err=-1.0), "-1.0 is less than the minimum of 0"),
    (lambda r: r.update(record_id="no-slashes"), "does not match"),
    (lambda r: r.update(status="convention", case_family="convention"), "'choice' is a required property"),
    (lambda r: r.update(status="known"), "'expectation' is a required property"),
    (lambda r: r.update(repro={"inputs": {"x": {"dtype": "float32", "shape": [1]}}, "cotangent": {}}),
     "'b64' is a required property"),
])
def test_schema_rejects_broken_records(change: Any, complaint: str) -> None:
    rec = record(0)
    assert errors(RECORD, rec) == []
    change(rec)
    assert any(complaint in e for e in errors(RECORD, rec)), errors(RECORD, rec)


def test_extra_fields_are_tolerated(tmp_path: Path) -> None:
    rec = record(0, future_field={"anything": [1, 2]}, schema="1.7")
    assert errors(RECORD, rec) == []
    summary = load_run(make_run(tmp_path, [rec])).summary
    summary["future_section"] = {"x": 1}
    assert errors(SUMMARY, summary) == []
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps(rec) + "\n")
    assert read_jsonl([path]).records[0]["future_field"] == {"anything": [1, 2]}


def test_unknown_major_version_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    rec = record(0, schema="2.0")
    assert any("does not match" in e for e in errors(RECORD, rec))
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps(record(1)) + "\n" + json.dumps(rec) + "\n")
    with pytest.raises(SchemaError, match=r"r\.jsonl:2: schema version 2\.0 is not supported by this reader "
                                          r"\(major version 1\); upgrade vjp-conformance"):
        read_jsonl([path])
    run_dir = make_run(tmp_path / "run", [record(0)])
    manifest = json.loads((run_dir / "run.json").read_text())
    bad = copy.deepcopy(manifest) | {"schema": "3.1"}
    (run_dir / "run.json").write_text(json.dumps(bad))
    with pytest.raises(SchemaError, match="run.json.*schema version 3.1"):
        load_run(run_dir)


def test_schema_enums_are_the_outcome_table_and_the_entry_states() -> None:
    """Verdict names live in conformance/outcome.py only: the schemas must list exactly them."""
    from conformance.expectations import ENTRY_STATES
    from conformance.outcome import EXPECTABLE, FAILING, STATUSES

    record = json.loads(files("conformance").joinpath("schemas", "record.schema.json").read_text())
    assert record["properties"]["status"]["enum"] == list(STATUSES)
    summary = json.loads(files("conformance").joinpath("schemas", "summary.schema.json").read_text())
    states = summary["properties"]["expectations"]["items"]["properties"]["state"]["enum"]
    assert sorted(states) == sorted(ENTRY_STATES)
    assert set(FAILING) <= set(EXPECTABLE) and "known" not in EXPECTABLE
