"""`anonbench check` end to end on fixture runs: exit 0/1/2, each breach named, summaries agree."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fixtures_run import make_run

from anonbench.cli import app
from anonbench.config import CONFIG_DIR

pytestmark = pytest.mark.e2e
STRICT = CONFIG_DIR / "thresholds" / "strict.yaml"


def check(run: Path, *extra: str):
    return CliRunner().invoke(app, ["check", "--run", str(run), *extra])


def summary(run: Path) -> tuple[dict, str]:
    return (json.loads((run / "report" / "summary.json").read_text()),
            (run / "report" / "summary.md").read_text())


def test_default_run_passes(tmp_path):
    run = make_run(tmp_path / "run")
    res = check(run)
    assert res.exit_code == 0, res.output
    doc, md = summary(run)
    assert doc["passed"] is True and md.startswith("## anonbench: ✅ passed")
    assert "✅ caught" in res.stdout and "check passed" in res.stdout


def test_strict_file_fails_and_names_breaches(tmp_path):
    run = make_run(tmp_path / "run")
    res = check(run, "--thresholds", str(STRICT))
    assert res.exit_code == 1
    breaches = [line for line in res.stderr.splitlines() if line.startswith("BREACH ")]
    assert "BREACH chain generalize: check unicity, metric reidentified_share[p=4] (ci_high) = 0.07693, " \
           "threshold <= 0.01 (n=200)" in breaches
    doc, md = summary(run)
    assert doc["passed"] is False and doc["problems"] == [b.removeprefix("BREACH ") for b in breaches]
    assert all(b.removeprefix("BREACH ").replace("|", "\\|") in md for b in breaches)
    # back to the defaults: green again, and the summaries follow
    assert check(run).exit_code == 0 and summary(run)[0]["passed"] is True


def test_disabled_attack_lets_a_control_escape(tmp_path):
    run = make_run(tmp_path / "run", drop_checks={"none": ("leak_scan",)})
    res = check(run)
    assert res.exit_code == 1
    assert "BREACH control chain none escaped: check leak_scan did not run" in res.stderr
    doc, md = summary(run)
    assert doc["chains"]["none"]["passed"] is False and doc["chains"]["none"]["caught"] is False
    assert "| `none` | control | ❌ escaped |" in md


@pytest.mark.parametrize(("content", "message"), [
    ("quasi_identifiers.k: {min: many}\n", "bad.yaml: quasi_identifiers.k.min: must be a number"),
    ("unicity: 0.1\n", "bad.yaml: unicity: a check alone can only be switched off"),
    ("unicity.reidentifed_share: 0.01\n", "bad.yaml: unicity.reidentifed_share: unknown metric 'reidentifed_share' "
     "of check unicity (valid: baseline, control_unique_share, reidentified_share, unique_share)"),
    ("known_weak: [generalise]\n", "bad.yaml: known_weak.generalise: unknown chain 'generalise' (valid: generalize, "
     "naive-hash, none)"),
    ("controls: {nonne: {caught_by: [leak_scan]}}\n", "bad.yaml: controls.nonne: unknown chain 'nonne' (valid: "),
    ("unicity.reidentified_share: {max: 0.1, where: {points: 4}}\n",
     "bad.yaml: unicity.reidentified_share.where.points: unknown parameter of check unicity (valid: actor_column, "),
    ("a.b: [\n", "bad.yaml: line"),
])
def test_bad_thresholds_file_exits_2(tmp_path, content, message):
    run = make_run(tmp_path / "run")
    bad = tmp_path / "bad.yaml"
    bad.write_text(content)
    res = check(run, "--thresholds", str(bad))
    assert res.exit_code == 2
    assert message in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and not (run / "report").exists()  # nothing half-written


def test_missing_run_exits_2(tmp_path):
    res = check(tmp_path / "nope")
    assert res.exit_code == 2 and "no such run directory" in res.stderr


def _raise_in(run: Path, chain: str, check: str) -> None:
    """Replace a check's results by the row ``reid.harness`` leaves when the check raised."""
    from pipelines.runio import write_parquet_atomic
    from reid.harness import raised
    from reid.result import to_table

    write_parquet_atomic(to_table(raised(check, ValueError("x")), chain), run / "risk" / chain / f"{check}.parquet")


def test_a_check_that_raised_fails_as_not_measured(tmp_path):
    run = make_run(tmp_path / "run")
    _raise_in(run, "generalize", "unicity")
    res = check(run)
    assert res.exit_code == 1
    assert "BREACH chain generalize: check unicity not measured: it raised ValueError" in res.stderr
    doc, _ = summary(run)
    assert doc["chains"]["generalize"]["not_measured"] == [
        "chain generalize: check unicity not measured: it raised ValueError (see `anonbench attack --debug`)"]
    off = tmp_path / "off.yaml"
    off.write_text("unicity: off\n")  # switched off explicitly: no longer a failure
    assert check(run, "--thresholds", str(off)).exit_code == 0


def test_a_control_whose_catching_check_raised_escapes(tmp_path):
    run = make_run(tmp_path / "run")
    _raise_in(run, "none", "leak_scan")
    res = check(run)
    assert res.exit_code == 1 and "control chain none escaped: check leak_scan did not run" in res.stderr


def test_nan_figure_and_missing_expected_check_are_not_measured(tmp_path):
    run = make_run(tmp_path / "run", override={("generalize", "unicity", "reidentified_share"): float("nan")},
                   config_thresholds={})
    res = check(run)
    assert res.exit_code == 1
    assert "BREACH chain generalize: check unicity not measured: no value (NaN) for reidentified_share[p=1]" in res.stderr
    off = tmp_path / "off.yaml"
    # the controls were caught by unicity's default threshold too: judge them by the other attacks here
    off.write_text("unicity.reidentified_share: null\n"
                   "controls: {none: {caught_by: [leak_scan]}, naive-hash: {caught_by: [dictionary]}}\n")
    assert check(run, "--thresholds", str(off)).exit_code == 0


def test_config_with_unknown_known_weak_chain_is_rejected(tmp_path):
    from anonbench.config import load_run_config
    from anonbench.errors import UsageError

    cfg = tmp_path / "c.yaml"
    cfg.write_text("chains: [none, generalize]\nthresholds: {known_weak: [kanon]}\n")
    with pytest.raises(UsageError, match=r"c\.yaml: thresholds: known_weak\.kanon: unknown chain 'kanon' "
                                         r"\(valid: generalize, none\)"):
        load_run_config(cfg)


def test_baseline_flags_a_worse_run_and_not_itself(tmp_path):
    base = make_run(tmp_path / "base")
    assert check(base).exit_code == 0
    same = check(base, "--baseline", str(base))
    assert same.exit_code == 0 and "0 regressed" in same.stdout
    # under the threshold (0.09) but clearly worse than the baseline: only the comparison catches it
    worse = make_run(tmp_path / "worse", override={("generalize", "unicity", "reidentified_share"): 0.085})
    res = check(worse, "--baseline", str(base / "report" / "summary.json"))
    assert res.exit_code == 1, res.output
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("REGRESSION ")]
    assert any(ln.startswith("REGRESSION chain generalize: unicity.reidentified_share[knowledge=1h:action,p=1] "
                             "risk got worse: baseline 0.01 [0.00275, 0.0357] (2/200) -> now 0.085 [0.0537, 0.132] (17/200), by 0.075 > "
                             "margin 0.02, p = 0.00021 (Holm 0.0015, score test)") for ln in lines), lines
    doc, md = summary(worse)
    assert doc["baseline"]["regressed"] == len(lines) and doc["passed"] is False
    assert "### Compared with the baseline" in md and "unicity.reidentified_share[knowledge=1h:action,p=1]" in md
    assert "Compared with the baseline" in (worse / "report" / "index.html").read_text()
    cell = next(r for r in doc["chains"]["generalize"]["checks"] if r["metric"] == "reidentified_share")
    assert cell["successes"] == 17 and cell["n"] == 200 and doc["targets_digest"]


@pytest.mark.parametrize("bad", ["missing.json", "notjson"])
def test_bad_baseline_exits_2(tmp_path, bad):
    run = make_run(tmp_path / "run")
    path = tmp_path / bad
    if bad == "notjson":
        path.write_text("{")
    res = check(run, "--baseline", str(path))
    assert res.exit_code == 2 and "--baseline" in res.stderr and len(res.stderr.strip().splitlines()) == 1
