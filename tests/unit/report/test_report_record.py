"""anonbench.report.record: check_run writes threshold/passed columns and the manifest's check section."""

from __future__ import annotations

import json

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from anonbench.errors import UsageError
from anonbench.report.record import check_run, judge
from pipelines.manifest import load


def _risk(run):
    return pl.concat([pl.from_arrow(pq.read_table(p)) for p in sorted((run / "risk").glob("*/*.parquet"))])


def test_columns_written_consistently(run_dir):
    assert _risk(run_dir)["passed"].null_count() == _risk(run_dir).height  # attacks leave them empty
    result = check_run(run_dir)
    risk = _risk(run_dir)
    gated = risk.filter(pl.col("threshold").is_not_null())
    assert gated.height and gated["passed"].null_count() == 0
    assert risk.filter(pl.col("threshold").is_null())["passed"].null_count() == risk.filter(
        pl.col("threshold").is_null()).height
    breached = {(r["chain"], r["check"], r["metric"]) for r in risk.filter(~pl.col("passed")).to_dicts()}
    expected = {(o.chain, o.check, o.metric) for v in result.chains for o in v.breaches if o.check != "validation"}
    assert breached == expected
    assert ("none", "leak_scan", "leaked_values") in breached


def test_manifest_records_thresholds_and_files(run_dir, tmp_path):
    strict = tmp_path / "strict.yaml"
    strict.write_text("quasi_identifiers.k: {min: 20, source: test}\n")
    result = check_run(run_dir, strict)
    man = load(run_dir)
    assert man["check"]["passed"] is result.passed is False
    assert man["check"]["origins"] == ["defaults", str(strict)]
    assert man["check"]["thresholds"]["quasi_identifiers.k"]["min"] == 20
    risk_files = {f["path"] for f in man["files"] if f["path"].startswith("risk/")}
    assert "risk/generalize/unicity.parquet" in risk_files
    # the report judges with what check recorded, so it says the same
    _, again = judge(run_dir)
    assert again.problems == result.problems
    # a plain check goes back to defaults + run config
    assert check_run(run_dir).passed
    assert judge(run_dir)[1].passed


def test_run_config_thresholds_apply(make):
    run = make(config_thresholds={"unicity.reidentified_share": 0.02})
    result = check_run(run, record=False)
    assert [p for p in result.problems if p.startswith("chain generalize")] == [
        "chain generalize: check unicity, metric reidentified_share[p=2] = 0.03, threshold <= 0.02 (n=200)",
        "chain generalize: check unicity, metric reidentified_share[p=4] = 0.04, threshold <= 0.02 (n=200)"]
    assert "check" not in json.loads((run / "manifest.json").read_text())


def test_bad_run_config_thresholds_name_the_config(make):
    run = make(config_thresholds={"quasi_identifiers.k": {"min": "x"}})
    man = json.loads((run / "manifest.json").read_text())
    man["config_source"] = "configs/my.yaml"
    (run / "manifest.json").write_text(json.dumps(man))
    with pytest.raises(UsageError, match=r"^configs/my\.yaml: thresholds: quasi_identifiers\.k\.min: must be a number"):
        check_run(run)


def test_write_back_keeps_schema_and_extra_columns(run_dir):
    from pipelines.runio import write_parquet_atomic
    from reid.result import RISK_SCHEMA

    path = run_dir / "risk" / "generalize" / "unicity.parquet"
    table = pq.read_table(path)
    write_parquet_atomic(table.append_column("extra", pa.array(["x"] * table.num_rows)), path)
    check_run(run_dir)
    after = pq.read_table(path)
    assert after.column_names == [*RISK_SCHEMA.names, "extra"]
    assert after.schema.field("threshold").type == pa.float64() and after.schema.field("passed").type == pa.bool_()
    assert after.column("extra").to_pylist() == ["x"] * table.num_rows
