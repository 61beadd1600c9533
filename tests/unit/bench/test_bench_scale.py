"""The scale benchmark's bookkeeping: targets from stage results (a missing figure fails), the sink loop,
sizes and stages from the environment."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from benchmarks import bench_scale as bs
from pipelines.runio import write_parquet_atomic


def stage(seconds: float, events: int, rss: float = 500.0) -> dict:
    return {"returncode": 0, "seconds": seconds, "events": events, "events_per_s": round(events / seconds),
            "us_per_event": 1e6 * seconds / events, "peak_rss_tree_mb": rss, "cpu_seconds": 1.8 * seconds}


def sizes(large_gen_s: float = 200.0, attack: dict | None = None) -> dict:
    small = {"generate": stage(25, 10_000_000), "sink": {"returncode": 0, "events": 10_000_000, "seconds": 10.0},
             "anonymize": stage(20, 10_000_000), "attack": stage(40, 10_000_000, 3000)}
    large = {"generate": stage(large_gen_s, 100_000_000, 1500),
             "sink": {"returncode": 0, "events": 100_000_000, "seconds": 100.0, "cpu_seconds": 99.0},
             "anonymize": stage(210, 100_000_000, 1200),
             "attack": attack if attack is not None else stage(450, 100_000_000, 6000)}
    return {"10000000": small, "100000000": large}


def test_all_targets_met_when_every_figure_is_in_bounds() -> None:
    r = bs.summarize(sizes(), 10_000_000, 100_000_000)
    assert r["all_targets_met"], r["targets"]
    assert r["ratios"]["generate_vs_sink"]["100000000"] == 0.5
    assert r["ratios"]["us_per_event_large_over_small"]["attack"] == pytest.approx(1.125)
    assert r["ratios"]["generate_vs_sink_by_cpu_2_cores"] == {"10000000": None, "100000000": 0.55}


def test_a_missing_or_failed_stage_fails_its_targets() -> None:
    r = bs.summarize(sizes(attack={"returncode": None, "skipped": "not selected"}), 10_000_000, 100_000_000)
    t = r["targets"]
    assert not t["attack_finished_both_sizes"] and not t["attack_time_per_event_within_25pct"]
    assert not t["attack_peak_rss_lt_8gb_at_large"] and not r["all_targets_met"]
    assert t["generate_finished_both_sizes"] and t["anonymize_peak_rss_lt_2gb_at_large"]
    r = bs.summarize({"10000000": sizes()["10000000"]}, 10_000_000, 100_000_000)  # large size never ran
    assert not any(v for k, v in r["targets"].items() if "at_large" in k or "both" in k)


def test_slow_generation_and_big_memory_fail() -> None:
    s = sizes(large_gen_s=320.0)  # 312k/s vs the sink's 1M/s: 0.31x; 3.2 us/event vs 2.5 at 10M: 1.28x
    s["100000000"]["anonymize"]["peak_rss_tree_mb"] = 2100.0
    t = bs.summarize(s, 10_000_000, 100_000_000)["targets"]
    assert not t["generate_ge_0_5x_sink_at_large"] and not t["generate_time_per_event_within_25pct"]
    assert not t["anonymize_peak_rss_lt_2gb_at_large"]


def test_sink_rewrites_every_event_shard_and_leaves_nothing(tmp_path: Path) -> None:
    run = tmp_path / "run"
    for i, n in enumerate((3, 5)):
        write_parquet_atomic(pa.table({"x": list(range(n))}), run / "raw" / "events" / f"part-{i:05d}.parquet")
    out = bs.sink(run, tmp_path / "scratch")
    assert out["events"] == 8 and out["shards"] == 2 and out["seconds"] >= 0
    assert list((tmp_path / "scratch").iterdir()) == []


def test_sizes_and_stages_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert bs._sizes(False) == bs.SIZES and bs._sizes(True) == bs.QUICK_SIZES
    monkeypatch.setenv("ANONBENCH_SCALE_SIZES", "1000,5000")
    assert bs._sizes(False) == (1000, 5000)
    monkeypatch.setenv("ANONBENCH_SCALE_SIZES", "5000,1000")
    with pytest.raises(bs.ScaleError, match="ANONBENCH_SCALE_SIZES"):
        bs._sizes(False)
    monkeypatch.setenv("ANONBENCH_SCALE_STAGES", "sink,generate")
    assert bs._stages() == ("generate", "sink")
    monkeypatch.setenv("ANONBENCH_SCALE_STAGES", "anonymize")
    with pytest.raises(bs.ScaleError, match="generate"):
        bs._stages()
