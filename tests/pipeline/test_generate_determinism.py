"""Same config and seed -> byte-identical shards on every runner and worker count; another seed differs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli, write_config

pytestmark = pytest.mark.pipeline


def digests(run: Path) -> dict[str, str]:
    man = json.loads((run / "manifest.json").read_text())
    return {f["path"]: f["sha256"] for f in man["files"]}


def generate(cfg: Path, out: Path, *extra: str) -> dict[str, str]:
    r = run_cli("generate", "--config", str(cfg), "--out", str(out), *extra)
    assert r.returncode == 0, r.stderr
    return digests(out)


@pytest.fixture(scope="module")
def cfg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_config(tmp_path_factory.mktemp("cfg") / "c.yaml", events=40_000, chunk=10_000)


@pytest.fixture(scope="module")
def reference(cfg: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return generate(cfg, tmp_path_factory.mktemp("ref") / "run", "--", "--direct_num_workers=1")


def test_layout_is_complete(reference: dict[str, str]) -> None:
    tables = {p.split("/")[1] for p in reference if p.startswith("raw/")}
    assert tables == {"orgs", "users", "events", "config_changes"}
    assert "truth/accounts.parquet" in reference and "truth/control/accounts.parquet" in reference
    assert any(p.startswith("truth/control/events/part-") for p in reference)
    assert sum(p.startswith("raw/events/part-") for p in reference) >= 3  # several chunks


def test_two_in_process_workers_give_the_same_bytes(cfg: Path, reference: dict[str, str], tmp_path: Path) -> None:
    assert generate(cfg, tmp_path / "run", "--", "--direct_num_workers=2") == reference


def test_dask_runner_gives_the_same_bytes(cfg: Path, reference: dict[str, str], tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    for n_workers in (2, 1):
        with distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                      dashboard_address=None) as cluster:
            got = generate(cfg, tmp_path / f"dask{n_workers}", "--runner", "DaskRunner", "--",
                           f"--dask_client_address={cluster.scheduler_address}")
        assert got == reference, f"DaskRunner with {n_workers} workers differs"


def test_another_seed_gives_other_bytes(cfg: Path, reference: dict[str, str], tmp_path: Path) -> None:
    other = generate(cfg, tmp_path / "run", "--seed", "6")
    assert other.keys() == reference.keys() or set(other) & set(reference)
    shared = set(other) & set(reference)
    assert all(other[p] != reference[p] for p in shared if p.endswith(".parquet"))


def test_control_accounts_are_held_out_accounts_of_the_raw_orgs(cfg: Path, reference: dict[str, str],
                                                                 tmp_path: Path) -> None:
    """truth/control holds other accounts of the same orgs (anonymeter's held-out part of the population):
    the raw orgs, and no control account or person in raw/, truth/accounts or a release."""
    import polars as pl
    run = tmp_path / "run"
    assert generate(cfg, run, "--", "--direct_num_workers=1") == reference
    r = run_cli("anonymize", "--run", str(run), "--chain", "none")
    assert r.returncode == 0, r.stderr[-2000:]

    def ids(folder: Path, column: str = "account_id") -> set[str]:
        return set(pl.read_parquet(sorted(folder.glob("part-*.parquet")))[column].drop_nulls().to_list())
    ctl_accounts = pl.read_parquet(run / "truth" / "control" / "accounts.parquet")
    raw_accounts = pl.read_parquet(run / "truth" / "accounts.parquet")
    control = set(ctl_accounts["account_id"])
    assert len(control) >= 0.9 * raw_accounts.height                   # control_share 1: as many as raw
    assert ids(run / "truth" / "control" / "orgs", "org_id") == ids(run / "raw" / "orgs", "org_id")
    assert ids(run / "truth" / "control" / "users", "org_id") <= ids(run / "raw" / "orgs", "org_id")
    assert set(ctl_accounts["person_id"]).isdisjoint(raw_accounts["person_id"])
    for base in (run / "raw", run / "anon" / "none"):
        for table in ("users", "events", "config_changes"):
            assert control.isdisjoint(ids(base / table)), (base, table)
