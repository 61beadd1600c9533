"""``anonbench verify`` and ``pipelines.integrity``: changed, truncated, missing and extra files; page checksums."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from anonbench.commands import verify as verify_cmd
from anonbench.errors import CheckFailed, UsageError
from pipelines.integrity import verify_run
from pipelines.runio import PARQUET_OPTS, read_parquet
from tests.unit.runio.rundata import events, flip_data_byte, make_run

SHARD = "raw/events/part-00001.parquet"


@pytest.fixture
def run(tmp_path):
    return make_run(tmp_path / "run")


def _lines(run, capsys) -> tuple[list[str], str]:
    with pytest.raises(CheckFailed) as e:
        verify_cmd.main(run)
    return capsys.readouterr().out.splitlines(), str(e.value)


def test_an_intact_run_verifies(run, capsys):
    assert verify_cmd.main(run) == 0
    assert capsys.readouterr().out.startswith("ok: 5 files match the manifest")


def test_a_flipped_byte_is_named(run, capsys):
    flip_data_byte(run / SHARD)
    lines, err = _lines(run, capsys)
    assert lines == [f"changed: {SHARD} (sha256 differs)"] and "1 file(s)" in err


def test_a_truncated_shard_is_named(run, capsys):
    data = (run / SHARD).read_bytes()
    (run / SHARD).write_bytes(data[: len(data) // 2])
    assert _lines(run, capsys)[0] == [f"truncated: {SHARD} ({len(data) // 2} of {len(data)} bytes)"]


def test_missing_and_extra_files_are_named_one_line_each(run, capsys):
    (run / SHARD).unlink()
    (run / "anon" / "a" / "events" / "part-00009.parquet").write_bytes(b"PAR1")
    (run / "notes.txt").write_text("x")
    lines, _ = _lines(run, capsys)
    assert lines == [f"missing: {SHARD}", "extra: anon/a/events/part-00009.parquet", "extra: notes.txt"]


def test_changed_rows_are_named(run):
    import json

    man = json.loads((run / "manifest.json").read_text())
    next(f for f in man["files"] if f["path"] == SHARD)["rows"] = 7
    (run / "manifest.json").write_text(json.dumps(man))
    assert [p.line() for p in verify_run(run)] == [f"changed: {SHARD} (500 rows, manifest 7)"]


def test_a_missing_run_or_manifest_is_exit_2(tmp_path, run):
    with pytest.raises(UsageError, match="no such run directory"):
        verify_cmd.main(tmp_path / "nope")
    (run / "manifest.json").unlink()
    with pytest.raises(UsageError, match=r"manifest\.json: no manifest"):
        verify_cmd.main(run)


def test_shards_carry_page_checksums_and_readers_verify_them(tmp_path):
    assert PARQUET_OPTS["write_page_checksum"] is True
    path = tmp_path / "t.parquet"
    opts = {k: v for k, v in PARQUET_OPTS.items() if k != "compression_level"}
    pq.write_table(events(1000), path, **{**opts, "compression": "none"}, use_dictionary=False)
    assert read_parquet(path).num_rows == 1000
    flip_data_byte(path)
    assert pq.read_table(path).num_rows == 1000  # an unverified read takes the flipped value without a word
    with pytest.raises(OSError, match="CRC checksum verification failed"):
        read_parquet(path)
