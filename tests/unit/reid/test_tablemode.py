"""evaluate_tables: reading files, naming bad files and columns, comparing columns of different types."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from reid.tablemode import TableError, evaluate_tables, read_table


def people(n: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame({"age": rng.integers(20, 60, n), "zip": rng.choice(["a", "b", "c"], n),
                         "job": rng.choice(["x", "y"], n), "pay": rng.choice(["lo", "hi"], n)})


def test_csv_is_read_as_is_and_parquet_folders_too(tmp_path):
    (tmp_path / "t.csv").write_text("a,b\n 1, x\n2,?\n")
    df = read_table(tmp_path / "t.csv")
    assert df["b"].to_list() == [" x", "?"]  # leading spaces and '?' kept, as pyCANON reads them
    folder = tmp_path / "parts"
    folder.mkdir()
    pl.DataFrame({"a": [1]}).write_parquet(folder / "part-00000.parquet")
    pl.DataFrame({"a": [2]}).write_parquet(folder / "part-00001.parquet")
    assert read_table(folder)["a"].to_list() == [1, 2]


@pytest.mark.parametrize(("name", "content", "message"), [
    ("missing.csv", None, "no such file"),
    ("t.json", "{}", "unknown format"),
    ("bad.parquet", "not parquet", "cannot be read"),
])
def test_bad_files_are_named(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(TableError, match=message) as err:
        read_table(path)
    assert name in str(err.value)


def test_every_check_runs_and_the_qis_are_split_for_linkability():
    ori, ctl = people(300, 1), people(200, 2)
    ms = evaluate_tables(ori, ori, ctl, qis="age,zip,job", sensitive="pay", n_attacks=50)
    checks = {(m.check, m.params.get("mode")) for m in ms}
    assert checks == {("quasi_identifiers", None), ("singling_out", "univariate"),
                      ("singling_out", "multivariate"), ("linkability", None), ("inference", None)}
    link = next(m for m in ms if m.check == "linkability")
    assert link.params["aux_a"] == ["age", "zip"] and link.params["aux_b"] == ["job"]


def test_columns_of_different_types_are_compared_as_text():
    ori = people(100, 3)
    released = ori.with_columns((pl.col("age") // 10 * 10).cast(pl.String).alias("age"))  # generalised
    ms = evaluate_tables(ori, released, None, qis=["age", "zip"], n_attacks=20)
    assert all(m.params.get("as_text") == ["age"] for m in ms)


@pytest.mark.parametrize(("kw", "message"), [
    ({"qis": "age,nope"}, "nope"),
    ({"qis": ""}, "at least one"),
    ({"qis": "age", "sensitive": "age"}, "cannot also be"),
    ({"qis": "age", "aux_a": "zip"}, "both"),
])
def test_bad_columns_are_named(kw, message):
    ori = people(20, 4)
    with pytest.raises(TableError, match=message):
        evaluate_tables(ori, ori, None, n_attacks=5, **kw)
