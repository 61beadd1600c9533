"""The bad-input corpus: broken files, tables, runs and configs for ``evaluate``, ``import``, ``anonymize``,
``validate`` and config loading (``generate``/``run``).

Every case states its exact exit code and the file, column or key that the one line on stderr must name; no
case may print a traceback (except with ``--debug``), and no case may leave a half-written output: the target
folder is unchanged or absent afterwards, and nothing is left beside it. Inputs are generated in ``tmp_path``
on the fly (no binary fixtures). Most cases run the CLI in-process (``typer.testing.CliRunner``, the same
``_call`` and exit-code mapping as the console script); two run it as a subprocess, as a user would.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from anonbench.cli import app
from pipelines import manifest as manifest_io
from pipelines.runio import file_entry
from tests.conftest import run_cli

pytestmark = pytest.mark.e2e
KEY = "bad-input-test-key-0123456789abcdef0123"
MAP = "person=who,time=ts,action=what,user_agent=ua,session=sess"
EMOJI = ["👩‍💻 Ada", "שלום עולם", "مرحبا بالعالم", "e\u0301\u200f\u202e-mix", "🏳️‍🌈", "\u202bRTL\u202c", "zero\u200bwidth"]


# --- helpers ----------------------------------------------------------------------------------------------

def cli(*args: str, env: dict[str, str] | None = None) -> object:
    return CliRunner().invoke(app, list(args), env={"ANONBENCH_KEY": KEY, **(env or {})})


def input_error(r, *names: str, code: int = 2) -> str:
    """The exit code is ``code``; the error is one line, the last of stderr (after any progress lines), and it
    names every one of ``names``; no traceback anywhere."""
    out = (r.stdout or "") + (r.stderr or "")
    assert r.exit_code == code, f"exit {r.exit_code}: {out[-1500:]}"
    assert "Traceback" not in out, out[-1500:]
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("anonbench: error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], r.stderr
    assert "internal error" not in errors[0], errors[0]
    for name in names:
        assert name in errors[0], f"{name!r} not named in: {errors[0]}"
    assert KEY not in out
    return errors[0]


def tree(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (relative path -> sha256), dot-files included."""
    if not folder.exists():
        return {}
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def siblings(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.parent.iterdir())


def write_pq(table: pa.Table, path: Path) -> Path:
    """Uncompressed, with page checksums (so a flipped data byte is detectable, as in a run's files)."""
    pq.write_table(table, path, compression="none", write_page_checksum=True)
    return path


def flip_byte(path: Path) -> None:
    """Flip one bit inside the first data page of the first column (not in a header)."""
    meta = pq.ParquetFile(path).metadata.row_group(0).column(0)
    at = (meta.dictionary_page_offset or meta.data_page_offset) + meta.total_compressed_size - 2
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def zero(path: Path) -> None:
    path.write_bytes(b"")


# --- evaluate ---------------------------------------------------------------------------------------------

def people(n: int = 120, seed: int = 0) -> pl.DataFrame:
    return pl.DataFrame({
        "age": [(i * 7 + seed) % 60 + 18 for i in range(n)],
        "zip": [f"{(i * 13 + seed) % 9:05d}" for i in range(n)],
        "sex": ["f" if i % 2 else "m" for i in range(n)],
        "disease": [["flu", "none", "asthma"][i % 3] for i in range(n)],
    })


def evaluate(ori: Path, ano: Path, *extra: str, qis: str = "age,zip,sex"):
    return cli("evaluate", "--original", str(ori), "--anonymized", str(ano), "-q", qis, "--n-attacks", "20",
               *extra)


@pytest.fixture
def tables(tmp_path: Path) -> tuple[Path, Path]:
    ori, ano = tmp_path / "ori.parquet", tmp_path / "ano.parquet"
    write_pq(people().to_arrow(), ori)
    write_pq(people(seed=1).to_arrow(), ano)
    return ori, ano


@pytest.mark.parametrize("damage", [zero, truncate, flip_byte], ids=["zero-byte", "truncated", "bit-flipped"])
def test_evaluate_refuses_a_damaged_parquet(tables, tmp_path, damage):
    ori, ano = tables
    damage(ano)
    out = tmp_path / "risk"
    input_error(evaluate(ori, ano, "--out", str(out)), "ano.parquet")
    assert not out.exists()


def test_evaluate_refuses_schema_drift_between_shards(tmp_path, tables):
    ori, _ = tables
    folder = tmp_path / "shards"
    folder.mkdir()
    write_pq(people(60).to_arrow(), folder / "part-0.parquet")
    write_pq(people(60).drop("zip").to_arrow(), folder / "part-1.parquet")
    input_error(evaluate(ori, folder), "part-1.parquet", "zip")


def test_evaluate_names_a_missing_column(tables):
    ori, ano = tables
    input_error(evaluate(ori, ano, qis="age,postcode"), "postcode")


def test_evaluate_all_null_column(tmp_path, tables):
    """A quasi-identifier that is null in every row is a column with one value: the figures are computed."""
    ori, _ = tables
    ano = tmp_path / "nulls.parquet"
    write_pq(people(seed=1).with_columns(pl.lit(None, pl.String).alias("zip")).to_arrow(), ano)
    r = evaluate(ori, ano)
    assert r.exit_code == 0, r.stderr
    assert "Traceback" not in r.stdout + r.stderr


def test_evaluate_emoji_and_rtl_text(tmp_path):
    df = people().with_columns(pl.Series("zip", [EMOJI[i % len(EMOJI)] for i in range(120)]))
    ori, ano = tmp_path / "o.csv", tmp_path / "a.csv"
    df.write_csv(ori)
    df.write_csv(ano)
    r = evaluate(ori, ano, "--sensitive", "disease")
    assert r.exit_code == 0, r.stderr
    assert not any(e in r.stdout + r.stderr for e in EMOJI)  # values are never printed


def test_evaluate_mixed_type_csv_column(tmp_path, tables):
    """``age`` holds numbers in one file and text in the other: compared as text (``params.as_text``)."""
    ori, _ = tables
    ano = tmp_path / "mixed.csv"
    ano.write_text("age,zip,sex,disease\n" + "".join(
        f"{'unknown' if i % 5 == 0 else 20 + i % 40},{i % 9:05d},{'fm'[i % 2]},flu\n" for i in range(120)))
    out = tmp_path / "risk"
    r = evaluate(ori, ano, "--out", str(out))
    assert r.exit_code == 0, r.stderr
    params = pl.read_parquet(out / "quasi_identifiers.parquet")["params"].to_list()
    assert all("age" in json.loads(p)["as_text"] for p in params)


def test_evaluate_ragged_csv(tmp_path, tables):
    ori, _ = tables
    ano = tmp_path / "ragged.csv"
    ano.write_text("age,zip,sex\n30,00001,f\n31,00002,m,extra,fields\n")
    input_error(evaluate(ori, ano), "ragged.csv")


@pytest.mark.parametrize("n", ["0", "-5", str(10**15)])
def test_evaluate_absurd_attack_counts(tables, n):
    ori, ano = tables
    r = cli("evaluate", "--original", str(ori), "--anonymized", str(ano), "-q", "age,zip", "--n-attacks", n)
    input_error(r, "--n-attacks")


def test_evaluate_unknown_format(tmp_path, tables):
    ori, _ = tables
    ano = tmp_path / "release.xlsx"
    ano.write_bytes(b"PK\x03\x04 not really")
    input_error(evaluate(ori, ano), "release.xlsx")


def test_evaluate_64mib_string(tmp_path):
    """One value of 64 MiB in a quasi-identifier: no crash, no value in the output (the one large case)."""
    big = "x" * (64 << 20)
    df = people(40).with_columns(pl.Series("zip", [big if i == 0 else f"{i % 5}" for i in range(40)]))
    ori = tmp_path / "big.parquet"
    df.write_parquet(ori, compression="zstd")
    del big, df
    r = cli("evaluate", "--original", str(ori), "--anonymized", str(ori), "-q", "zip,sex", "--n-attacks", "5")
    assert r.exit_code == 0, r.stderr[-2000:]
    assert "xxxxxxxxxxxxxxxx" not in r.stdout + r.stderr


# --- import -----------------------------------------------------------------------------------------------

def log_frame(n: int = 400, text: list[str] | None = None) -> pl.DataFrame:
    text = text or ["issue.viewed", "page.updated", "user.logged_in"]
    return pl.DataFrame({
        "who": [f"acct-{i % 23:03d}" for i in range(n)],
        "ts": [f"2026-03-{2 + i % 20:02d}T{(i * 5) % 24:02d}:{i % 60:02d}:00Z" for i in range(n)],
        "what": [text[i % len(text)] for i in range(n)],
        "ua": [f"Mozilla/5.0 (X11; Linux x86_64; rv:12{i % 5}.0) Gecko/20100101 Firefox/12{i % 5}.0"
               for i in range(n)],
        "sess": [f"s-{i // 7}" for i in range(n)],
    })


def do_import(log: Path, out: Path, *extra: str, mapping: str = MAP):
    return cli("import", "--events", str(log), "--map", mapping, "--out", str(out), *extra)


@pytest.mark.parametrize("damage", [zero, truncate, flip_byte], ids=["zero-byte", "truncated", "bit-flipped"])
def test_import_refuses_a_damaged_parquet(tmp_path, damage):
    log = write_pq(log_frame().to_arrow(), tmp_path / "log.parquet")
    damage(log)
    out = tmp_path / "run"
    input_error(do_import(log, out), "log.parquet")
    assert siblings(out) == ["log.parquet"]


def test_import_zero_byte_csv(tmp_path):
    log = tmp_path / "log.csv"
    log.write_bytes(b"")
    input_error(do_import(log, tmp_path / "run"), "log.csv")
    assert siblings(tmp_path / "run") == ["log.csv"]


@pytest.mark.parametrize(("mapping", "names"), [
    ("person=who,time=ts,action=nope", ["nope"]),
    ("person=who,time=ts", ["action"]),
    ("person=who,time=ts,action=what,colour=ua", ["colour"]),
    ("person=who,time=ts,action=what,time=ts", ["time"]),
])
def test_import_mapping_mistakes(tmp_path, mapping, names):
    log = tmp_path / "log.csv"
    log_frame().write_csv(log)
    input_error(do_import(log, tmp_path / "run", mapping=mapping), *names)
    assert siblings(tmp_path / "run") == ["log.csv"]


def test_import_all_null_person_column(tmp_path):
    log = tmp_path / "log.parquet"
    log_frame().with_columns(pl.lit(None, pl.String).alias("who")).write_parquet(log)
    input_error(do_import(log, tmp_path / "run"), "who")


def test_import_mixed_type_time_column(tmp_path):
    log = tmp_path / "log.csv"
    log_frame().with_columns(pl.when(pl.int_range(pl.len()) % 9 == 0).then(pl.lit("yesterday"))
                             .otherwise(pl.col("ts")).alias("ts")).write_csv(log)
    input_error(do_import(log, tmp_path / "run"), "log.csv", "ts")


def test_import_refuses_to_overwrite_a_folder_that_is_not_a_run(tmp_path):
    log = tmp_path / "log.csv"
    log_frame().write_csv(log)
    home = tmp_path / "home"
    home.mkdir()
    (home / "thesis.tex").write_text("precious")
    before = tree(home)
    input_error(do_import(log, home, "--overwrite"), str(home))
    assert tree(home) == before


def test_import_out_is_a_file(tmp_path):
    log = tmp_path / "log.csv"
    log_frame().write_csv(log)
    input_error(do_import(log, log), "log.csv")


def test_import_overwrite_is_crash_safe(tmp_path):
    """``--overwrite`` builds the new run beside the old one and swaps it in: a failing re-import leaves the
    old run byte for byte; a successful one leaves nothing beside it."""
    log = tmp_path / "log.csv"
    log_frame().write_csv(log)
    out = tmp_path / "run"
    assert do_import(log, out).exit_code == 0
    before = tree(out)
    bad = tmp_path / "bad.csv"
    log_frame().with_columns(pl.lit("not a time").alias("ts")).write_csv(bad)
    input_error(do_import(bad, out, "--overwrite"), "ts")
    assert tree(out) == before
    log_frame(300).write_csv(log)
    assert do_import(log, out, "--overwrite").exit_code == 0
    assert manifest_io.load(out)["import"]["rows"] == 300
    assert siblings(out) == ["bad.csv", "log.csv", "run"]


# --- anonymize and validate on a run ----------------------------------------------------------------------

CHAIN = """name: textchain
steps:
  - use: pseudonymize.hmac
    columns: {events: [account_id, session_id]}
    with: {key: env:ANONBENCH_KEY}
  - use: generalize.user_agent
    columns: {events: [user_agent]}
    with: {level: family_major}
  - use: generalize.time_bucket
    columns: {events: [event_time]}
    with: {every: 1h}
"""


@pytest.fixture(scope="module")
def base_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run (``anonbench import``; no Beam) with two raw event shards, emoji and right-to-left text."""
    base = tmp_path_factory.mktemp("badrun")
    log = base / "log.csv"
    log_frame(600, text=EMOJI).write_csv(log)
    run = base / "run"
    r = do_import(log, run)
    assert r.exit_code == 0, r.stderr
    # A second shard (the first one's second half), listed in the manifest, so drift can be staged below.
    first = run / "raw" / "events" / "part-00000.parquet"
    t = pq.read_table(first)
    pq.write_table(t.slice(0, 300), first, write_page_checksum=True)
    pq.write_table(t.slice(300), first.with_name("part-00001.parquet"), write_page_checksum=True)
    relist(run)
    return run


def relist(run: Path) -> None:
    """Rewrite the manifest's file index for what is on disk now (a consistent, if changed, run)."""
    man = manifest_io.load(run)
    man["files"] = [file_entry(run, p) for p in sorted(run.rglob("*.parquet"))]
    (run / "manifest.json").write_text(json.dumps(man))


@pytest.fixture
def run(base_run: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "run"
    shutil.copytree(base_run, dst)
    (tmp_path / "textchain.yaml").write_text(CHAIN)
    return dst


SHARD = "raw/events/part-00001.parquet"


def drift(run: Path) -> None:
    p = run / SHARD
    t = pq.read_table(p)
    i = t.schema.get_field_index("action")
    pq.write_table(t.set_column(i, "action", pa.array(range(t.num_rows), pa.int64())), p)
    relist(run)


def missing(run: Path) -> None:
    (run / SHARD).unlink()


def bad_manifest(run: Path) -> None:
    (run / "manifest.json").write_text('{"files": [')


CASES: dict[str, tuple[Callable[[Path], None], list[str]]] = {
    "bit-flipped": (lambda r: flip_byte(r / SHARD), ["part-00001.parquet", "changed"]),
    "truncated": (lambda r: truncate(r / SHARD), ["part-00001.parquet", "truncated"]),
    "zero-byte": (lambda r: zero(r / SHARD), ["part-00001.parquet", "truncated"]),
    "missing-shard": (missing, ["part-00001.parquet", "missing"]),
    "schema-drift": (drift, ["part-00001.parquet", "action"]),
    "manifest-not-json": (bad_manifest, ["manifest.json"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_anonymize_refuses_a_damaged_run(run, case):
    damage, names = CASES[case]
    damage(run)
    before, beside = tree(run), siblings(run)
    input_error(cli("anonymize", "--run", str(run), "--chain", str(run.parent / "textchain.yaml")), *names)
    assert tree(run) == before and siblings(run) == beside


@pytest.mark.parametrize("case", ["bit-flipped", "truncated", "missing-shard", "manifest-not-json"])
def test_validate_refuses_a_damaged_run(run, case):
    damage, names = CASES[case]
    damage(run)
    before, beside = tree(run), siblings(run)
    input_error(cli("validate", "--run", str(run)), *names)
    assert tree(run) == before and siblings(run) == beside


def test_validate_unknown_chain(run):
    before = tree(run)
    input_error(cli("validate", "--run", str(run), "--chain", "nope"), "--chain nope")
    assert tree(run) == before


@pytest.mark.parametrize(("chain", "names"), [
    ("name: c\nsteps:\n  - use: drop\n    columns: {events: [colour]}\n", ["colour"]),
    ("name: c\nsteps:\n  - use: drop\n    colums: {events: [ua]}\n", ["colums"]),
    ("name: c\nsteps:\n  - use: generalize.time_bucket\n    columns: {events: [event_time]}\n"
     "    with: {every: 10}\n", ["every"]),
    ("name: c\nsteps:\n  - use: no.such.thing\n    columns: {events: [action]}\n", ["no.such.thing"]),
    ("name: c\nsteps: {use: drop}\n", ["steps"]),
    ("- just\n- a list\n", ["c.yaml"]),
    ("name: c\nsteps: [\n", ["c.yaml"]),
])
def test_anonymize_bad_chain_files(run, chain, names):
    path = run.parent / "c.yaml"
    path.write_text(chain)
    before = tree(run)
    input_error(cli("anonymize", "--run", str(run), "--chain", str(path)), *names)
    assert tree(run) == before


def test_anonymize_bad_runner_leaves_nothing_beside_the_run(run):
    before, beside = tree(run), siblings(run)
    input_error(cli("anonymize", "--run", str(run), "--chain", str(run.parent / "textchain.yaml"), "--runner",
                    "NoSuchRunner"), "--runner NoSuchRunner")
    assert tree(run) == before and siblings(run) == beside


def test_anonymize_emoji_and_rtl_text(run):
    """Emoji, combining marks, bidi controls and zero-width characters go through a chain on Beam."""
    r = cli("anonymize", "--run", str(run), "--chain", str(run.parent / "textchain.yaml"))
    assert r.exit_code == 0, r.stderr[-2000:]
    out = pl.read_parquet(run / "anon" / "textchain" / "events" / "*.parquet")
    assert out.height == 600 and sorted(set(out["action"])) == sorted(EMOJI)
    assert siblings(run) == ["run", "textchain.yaml"]


# --- config loading ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "names"), [
    ("name: t\ngenerate:\n  events: 1000\n  colour: red\n", ["generate.colour"]),
    ("name: t\nattack:\n  k: 3\n", ["attack"]),
    ("generate:\n  events: many\n", ["generate.events"]),
    ("generate:\n  events: 1000000000000000\n", ["generate", "events"]),
    ("generate:\n  events: -1\n", ["generate.events"]),
    ("generate:\n  days: -3\n", ["generate.days"]),
    ("generate:\n  events_per_chunk: 1000000000000000\n", ["generate.events_per_chunk"]),
    ("seed: 1e400\n", ["seed"]),
    ("generate: 5\n", ["generate"]),
    ("chains: nope\n", ["chains"]),
    ("- a\n- b\n", ["mapping"]),
    ("name: [unclosed\n", ["line"]),
    ("thresholds:\n  quasi_identifiers.k: {min: lots}\n", ["quasi_identifiers.k.min"]),
])
def test_generate_bad_configs(tmp_path, text, names):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(text)
    out = tmp_path / "run"
    input_error(cli("generate", "--config", str(cfg), "--out", str(out)), "c.yaml", *names)
    assert not out.exists() and siblings(out) == ["c.yaml"]


def test_generate_override_on_a_scalar_section(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("generate: 5\n")
    input_error(cli("generate", "--config", str(cfg), "--out", str(tmp_path / "r"), "--events", "10"),
                "c.yaml", "generate")


@pytest.mark.parametrize("content", [b"\xff\xfe\x00garbage\x80", b"a: \x00\x01"], ids=["not-utf8", "control"])
def test_generate_binary_config(tmp_path, content):
    cfg = tmp_path / "c.yaml"
    cfg.write_bytes(content)
    input_error(cli("generate", "--config", str(cfg), "--out", str(tmp_path / "r")), "c.yaml")


def test_generate_absurd_event_count_on_the_command_line(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("name: t\n")
    input_error(cli("generate", "--config", str(cfg), "--out", str(tmp_path / "r"), "--events", str(10**15)),
                "events")


def test_generate_bad_beam_options(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("generate:\n  events: 1000\n  events_per_chunk: 1000\n")
    out = tmp_path / "r"
    input_error(cli("generate", "--config", str(cfg), "--out", str(out), "--runner", "NoSuchRunner"),
                "--runner NoSuchRunner")
    input_error(cli("generate", "--config", str(cfg), "--out", str(out), "--", "--direct_num_workers=two"),
                "direct_num_workers")
    assert siblings(out) == ["c.yaml"]


def test_run_config_with_unknown_chain(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("chains: [nope]\n")
    input_error(cli("run", "--config", str(cfg), "--out", str(tmp_path / "r")), "c.yaml", "nope")
    assert siblings(tmp_path / "r") == ["c.yaml"]


# --- as a user runs it: a subprocess; --debug shows the traceback -----------------------------------------

def test_subprocess_one_line_then_traceback_with_debug(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("generate:\n  colour: red\n")
    env = {"PYTHONPATH": str(Path(__file__).resolve().parents[2]) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    r = run_cli("generate", "--config", str(cfg), "--out", str(tmp_path / "r"), env=env)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().splitlines() == [f"anonbench: error: {cfg}: generate.colour: Extra inputs are not "
                                             "permitted"]
    r = run_cli("--debug", "generate", "--config", str(cfg), "--out", str(tmp_path / "r"), env=env)
    assert r.returncode == 2 and "Traceback" in r.stderr
