"""`anonbench evaluate` end to end: table mode on small CSV/Parquet files, exit codes, risk files."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest

from reid.result import RISK_SCHEMA
from tests.conftest import run_cli

pytestmark = pytest.mark.e2e


def population(n: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame({"age": rng.integers(18, 90, n), "zip": rng.choice([f"z{i}" for i in range(30)], n),
                         "sex": rng.choice(["F", "M"], n), "hours": rng.integers(10, 60, n),
                         "income": rng.choice(["<=50K", ">50K"], n)})


@pytest.fixture
def files(tmp_path):
    ori, ctl = population(400, 1), population(300, 2)
    paths = {"ori": tmp_path / "ori.csv", "syn": tmp_path / "syn.parquet", "ctl": tmp_path / "ctl.csv"}
    ori.write_csv(paths["ori"])
    ori.write_parquet(paths["syn"])  # the worst release: a copy
    ctl.write_csv(paths["ctl"])
    return paths


def evaluate(files, *extra: str, **override: str):
    args = {"--original": files["ori"], "--anonymized": files["syn"], "--control": files["ctl"],
            "-q": "age,zip,sex", "-s": "income", "--n-attacks": "200", **override}
    flat = [str(x) for kv in args.items() for x in kv]
    return run_cli("evaluate", *flat, *extra, timeout=300)


def test_a_copy_is_caught_and_every_check_is_written(files, tmp_path):
    out = tmp_path / "risk"
    res = evaluate(files, "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert "singling_out" in res.stdout and "quasi_identifiers" in res.stdout
    written = sorted(p.name for p in out.iterdir())
    assert written == ["inference.parquet", "linkability.parquet", "quasi_identifiers.parquet",
                       "singling_out.parquet"]
    rows = []
    for p in out.iterdir():
        table = pq.read_table(p)
        assert table.schema.equals(RISK_SCHEMA)
        rows += table.to_pylist()
    assert {r["chain"] for r in rows} == {"table"} and all(r["n"] > 0 for r in rows)
    risk = {(r["check"], json.loads(r["params"]).get("mode")): r["value"] for r in rows if r["metric"] == "risk"}
    assert risk[("singling_out", "multivariate")] > 0.5  # a copy gives people away
    assert risk[("inference", None)] > 0.5
    assert ("linkability", None) in risk  # QIs split in two halves by default
    k = next(r for r in rows if r["metric"] == "k")
    assert k["value"] == 1 and k["n"] == 400


def test_no_control_and_explicit_aux_sets(files, tmp_path):
    out = tmp_path / "risk"
    out.mkdir()
    (out / "inference.parquet").write_bytes(b"stale")  # from an earlier evaluation with --sensitive
    res = run_cli("evaluate", "--original", str(files["ori"]), "--anonymized", str(files["syn"]),
                  "-q", "age,sex", "--aux-a", "age,sex", "--aux-b", "zip,hours", "--n-attacks", "50",
                  "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert "linkability" in res.stdout and "inference" not in res.stdout
    assert not (out / "inference.parquet").exists()
    control = [r for r in pq.read_table(out / "linkability.parquet").to_pylist() if r["metric"] == "control_rate"]
    assert control[0]["n"] == 0 and control[0]["value"] is None  # no control table: no control rate


@pytest.mark.parametrize(("override", "named"), [
    ({"-q": "age,nope"}, "nope"),
    ({"-s": "salary"}, "salary"),
    ({"--original": "/nonexistent/ori.csv"}, "/nonexistent/ori.csv"),
    ({"--aux-a": "age"}, "--aux-a"),
])
def test_bad_input_exits_2_naming_it(files, override, named):
    res = evaluate(files, **override)
    assert res.returncode == 2, res.stdout + res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0] and "Traceback" not in res.stderr


def test_a_bit_flipped_checksummed_parquet_is_refused(files, tmp_path):
    from tests.unit.runio.rundata import flip_data_byte

    syn = tmp_path / "flipped.parquet"
    pq.write_table(population(400, 1).to_arrow(), syn, compression="none", use_dictionary=False,
                   write_page_checksum=True)
    flip_data_byte(syn, column=0)
    assert pq.read_table(syn).num_rows == 400  # readable without verification: the figures would just change
    res = evaluate(files, **{"--anonymized": str(syn)})
    assert res.returncode == 2, res.stdout + res.stderr
    assert res.stderr.strip().splitlines() == [f"anonbench: error: {syn}: damaged Parquet file (page checksum "
                                               "mismatch)"]
