"""``check --baseline B``: did any figure of a candidate chain get significantly and materially worse?

B is a run directory (its ``report/summary.json``) or a ``summary.json`` itself — e.g. the artifact of the
last run on main. A *cell* is (chain, check, metric, the params that identify the row: ``p``, ``qi_set``…;
see ``reid.catalog``). For every risk or utility cell of a candidate chain (known-weak ones included) that
both runs measured:

* a one-sided test that it got worse, in the metric's own direction (``reid.catalog``): the two-proportion
  score test when the figure is a proportion with its counts (``successes``/``n``), else a test on the 95%
  intervals when both have one. A figure with neither (``k``, t-closeness, a utility error over all rows) has
  no stated sampling error: on the same data and attack settings (equal ``targets_digest``) and a
  deterministic chain (no step with random noise, e.g. DP) any change is the chain's doing and it is judged by
  the margin alone; otherwise it cannot be tested and is counted as *untested*, never as a pass or a
  regression;
* on a synthetic release, a raw attack rate (``unique_share``, ``top1_copy_share``: copies credited, chance
  included) is context, as anonymeter's ``attack_rate`` is; its excess over the control persons, the risk, is
  compared (``reid.catalog.regression_spec``);
* Holm's correction across all tested cells: a cell regresses when its adjusted p-value is below ``alpha``
  *and* it moved the worse way by more than its materiality margin (``regression`` in the thresholds).

Runs on different populations (not the same targets: another seed, other data) differ by more than sampling
error: each is a sample of its own population. Their tests carry a dispersion factor per check estimated from
the comparison's own cells (:func:`anonbench.report.regression.dispersion`: quasi-binomial variance, robust to a
minority of regressed cells, never below 1); the same targets share one population and get none. A cell whose
check states how much it moves with the population (``params.population_se``, e.g. unicity's Poisson bootstrap:
:mod:`reid.unicity_bootstrap`) also carries both runs' population variances (:attr:`Cell.population_var`) — an
additive term, so one baseline suffices for a figure near 0 in one population and above it in another (unicity
at 8 known days: 0/481 on seed 11, 23/530 on seed 15). Where both state it, it replaces the several baselines'
tau^2 below (both estimate the same between-population variance; the bootstrap from the whole population).

Several baselines (``--baseline B1 --baseline B2 …``: runs of the same chains on other populations, e.g.
main's runs on several seeds) are pooled per cell (:func:`pool`): a proportion's counts are summed, another
figure's values averaged, and the spread of the baselines' figures beyond their sampling variance estimates that
cell's own between-population variance tau^2 (:func:`anonbench.report.regression.between_variance`), which the
cell's test then carries. One baseline gives tau^2 = 0: the comparison is exactly the one described above.

Per-target outcomes are not stored, so runs that attacked the same targets (same data and attack settings:
``targets_digest``) are compared with the independent-sample score test too, which is conservative for them.
Controls are not compared: whether the attacks still catch them is the threshold gate's job.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anonbench import thresholds as th
from anonbench.errors import UsageError
from anonbench.report import regression as stats
from reid import catalog
from reid.result import Z95, wilson_interval
from runformat.layout import SUMMARY_JSON, RunDir

if TYPE_CHECKING:
    from anonbench.report.gate import CheckResult

Key = tuple[str, str, str, tuple[tuple[str, str], ...]]
FIELDS = ("check", "metric", "params", "value", "ci_low", "ci_high", "n", "successes")


@dataclass(frozen=True)
class Cell:
    """One figure of one chain, as both summary.json and the gate's outcomes carry it."""

    chain: str
    check: str
    metric: str
    params: Mapping[str, Any]
    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    successes: int | None

    @property
    def key(self) -> Key:
        return (self.chain, self.check, self.metric, catalog.key_of(self.check, self.params))

    @property
    def label(self) -> str:
        extra = ",".join(f"{k}={v}" for k, v in catalog.key_of(self.check, self.params))
        return f"{self.check}.{self.metric}" + (f"[{extra}]" if extra else "")

    @property
    def population_var(self) -> float:
        """The squared ``params.population_se``: how much the figure moves with the population (e.g.
        :mod:`reid.unicity_bootstrap`); 0 when the check does not estimate it."""
        se = _num(self.params.get("population_se"))
        return se * se if se is not None and se > 0 else 0.0

    @property
    def states_population(self) -> bool:
        """The check estimated how much this figure moves with the population (``params.population_se``)."""
        return _num(self.params.get("population_se")) is not None

    @property
    def comparable(self) -> bool:
        p = self.params
        return (self.value is not None and p.get("applicable", True) is not False and not p.get("error")
                and p.get("measured", True) is not False and p.get("ran_short") is not True)

    def text(self) -> str:
        ci = "" if self.ci_low is None or self.ci_high is None else f" [{self.ci_low:.3g}, {self.ci_high:.3g}]"
        count = f"{self.successes}/{self.n}" if self.successes is not None else f"n={self.n}"
        return f"{self.value:.4g}{ci} ({count})"


@dataclass(frozen=True)
class Comparison:
    """One cell in both runs: how much worse it is now, the test used, its p-values and the verdict."""

    old: Cell
    new: Cell
    kind: str
    worse_by: float
    margin: float
    test: str  # "score", "interval" or "exact"
    p: float | None
    p_holm: float | None = None
    regressed: bool = False
    z: float | None = None  # the test statistic on the sampling (and between-population) variance
    phi: float = 1.0  # the dispersion factor its null variance was scaled by (different populations)
    between_sd: float = 0.0  # sqrt(tau^2): the cell's between-population s.d. from several baselines
    population_sd: float = 0.0  # sqrt of both runs' population variances (bootstrap; different populations)

    def line(self) -> str:
        disp = "" if self.phi <= 1.0 else f", dispersion {self.phi:.3g}"
        disp += "" if self.between_sd <= 0.0 else f", between-population s.d. {self.between_sd:.3g}"
        disp += "" if self.population_sd <= 0.0 else f", population s.d. {self.population_sd:.3g}"
        p = ("" if self.p is None else f", p = {self.p:.2g} (Holm {self.p_holm:.2g}, {self.test} test{disp})")
        what = "utility" if self.kind == "utility" else "risk"
        return (f"chain {self.new.chain}: {self.new.label} {what} got worse: baseline {self.old.text()} -> "
                f"now {self.new.text()}, by {self.worse_by:.4g} > margin {self.margin:g}{p}")


@dataclass(frozen=True)
class BaselineComparison:
    source: str
    cells: tuple[Comparison, ...]
    alpha: float
    same_targets: bool
    only_in_baseline: tuple[str, ...] = ()
    untested: int = 0  # figures without a stated sampling error, on different data: not comparable
    dispersion: Mapping[str, float] = field(default_factory=dict)  # check -> phi (different populations only)
    baselines: int = 1  # how many baseline summaries were pooled

    @property
    def regressions(self) -> tuple[Comparison, ...]:
        return tuple(c for c in self.cells if c.regressed)

    @property
    def problems(self) -> tuple[str, ...]:
        return tuple(f"REGRESSION {c.line()}" for c in self.regressions)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "baselines": self.baselines, "alpha": self.alpha, "same_targets": self.same_targets,
                "compared": len(self.cells), "regressed": len(self.regressions), "untested": self.untested,
                "only_in_baseline": list(self.only_in_baseline), "dispersion": dict(self.dispersion),
                "regressions": [{"chain": c.new.chain, "cell": c.new.label, "kind": c.kind,
                                 "baseline": c.old.value, "baseline_ci": [c.old.ci_low, c.old.ci_high],
                                 "now": c.new.value, "now_ci": [c.new.ci_low, c.new.ci_high],
                                 "worse_by": c.worse_by, "margin": c.margin, "test": c.test, "p": c.p,
                                 "p_holm": c.p_holm, "dispersion": c.phi, "between_sd": c.between_sd,
                                 "population_sd": c.population_sd}
                                for c in self.regressions]}


def targets_digest(manifest: Mapping[str, Any]) -> str | None:
    """What fixes the attacked targets: the generation seed and parameters and the attack parameters."""
    cfg = manifest.get("config")
    if not isinstance(cfg, Mapping):
        return None
    what = {k: cfg.get(k) for k in ("seed", "generate", "attacks")}
    return hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _num(x: Any) -> float | None:
    if x is None or isinstance(x, bool):
        return None
    x = float(x)
    return None if math.isnan(x) else x


def _summary_path(path: Path) -> Path:
    if path.is_dir():
        for candidate in (RunDir(path).report(SUMMARY_JSON), path / SUMMARY_JSON):  # a run, or a published bundle
            if candidate.is_file():
                return candidate
        raise UsageError(f"{path}: --baseline: no report/summary.json in this folder (run `anonbench report` "
                         "on the baseline run first)")
    if not path.is_file():
        raise UsageError(f"{path}: --baseline: no such file or run directory")
    return path


def load_baseline(path: str | Path) -> tuple[list[Cell], str | None, str]:
    """The baseline's cells (candidates' figures), its targets digest and the file read. Exit 2 naming the
    file and what is wrong when it is not a summary.json that carries the cells' counts."""
    file = _summary_path(Path(path)).resolve()
    try:
        doc = json.loads(file.read_text())
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"{file}: --baseline: cannot read ({type(e).__name__})") from None
    except ValueError:
        raise UsageError(f"{file}: --baseline: not valid JSON") from None
    chains = doc.get("chains") if isinstance(doc, dict) else None
    if not isinstance(chains, dict):
        raise UsageError(f"{file}: --baseline: not an anonbench summary.json (no 'chains' mapping)")
    cells = []
    for name, chain in chains.items():
        rows = chain.get("checks") if isinstance(chain, dict) else None
        if not isinstance(rows, list):
            raise UsageError(f"{file}: --baseline: chains.{name}.checks: missing or not a list")
        if chain.get("role") == "control":
            continue
        for i, row in enumerate(rows):
            missing = [f for f in FIELDS if not isinstance(row, dict) or f not in row]
            if missing:
                raise UsageError(f"{file}: --baseline: chains.{name}.checks[{i}]: no {missing[0]!r} (a summary.json "
                                 "written before counts were recorded: re-run `anonbench report` on the baseline)")
            params = row["params"] if isinstance(row["params"], dict) else {}
            successes = row["successes"]
            cells.append(Cell(str(name), str(row["check"]), str(row["metric"]), params, _num(row["value"]),
                              _num(row["ci_low"]), _num(row["ci_high"]), int(row["n"] or 0),
                              None if successes is None else int(successes)))
    digest = doc.get("targets_digest")
    return cells, digest if isinstance(digest, str) else None, str(file)


def _counted(c: Cell) -> bool:
    return c.successes is not None and c.n > 0 and 0 <= c.successes <= c.n


def _test(old: Cell, new: Cell, spec: catalog.MetricSpec, extra_var: float = 0.0) -> tuple[str, float | None]:
    """The test that applies and its z statistic (None: no sampling error stated); ``extra_var``: the
    between-population variance of the difference (several baselines, else 0)."""
    sign = 1 if spec.worse(0.0, 1.0) > 0 else -1
    if spec.proportion and _counted(old) and _counted(new):
        assert old.successes is not None and new.successes is not None
        return "score", stats.score_z(old.successes, old.n, new.successes, new.n, sign, extra_var)
    if None not in (old.ci_low, old.ci_high, new.ci_low, new.ci_high):
        return "interval", stats.wald_z(old.value or 0.0, stats.se_from_ci(old.ci_low or 0.0, old.ci_high or 0.0),
                                        new.value or 0.0, stats.se_from_ci(new.ci_low or 0.0, new.ci_high or 0.0),
                                        sign, extra_var)
    return "exact", None


Between = Mapping[Key, tuple[float, float]]
"""Per cell key: (tau^2, the sum of the squared pooling weights) from several baselines."""


def _pooled_population(cells: list[Cell], weights: list[float]) -> dict[str, Any]:
    """The first cell's params with the pooled figure's population s.e. (independent populations: the root of
    sum w_j^2 var_j) when every baseline states one, else without one."""
    params = {k: v for k, v in cells[0].params.items() if k != "population_se"}
    if not all(c.states_population for c in cells):
        return params
    var = sum(w * w * c.population_var for c, w in zip(cells, weights, strict=True))
    return {**params, "population_se": math.sqrt(var)}


def _pool_cell(cells: list[Cell]) -> tuple[Cell, float, float]:
    """One cell's figures in m >= 2 baselines: the pooled cell, tau^2 and the sum of squared pooling weights."""
    first = cells[0]
    spec = catalog.metric_spec(first.check, first.metric)
    if spec is not None and spec.proportion and all(_counted(c) for c in cells):
        x, n = sum(c.successes or 0 for c in cells), sum(c.n for c in cells)
        p = x / n
        tau2 = stats.between_variance([(c.successes or 0) / c.n for c in cells], [p * (1 - p) / c.n for c in cells])
        lo, hi = wilson_interval(x, n)
        return (replace(first, value=p, ci_low=lo, ci_high=hi, n=n, successes=x,
                        params=_pooled_population(cells, [c.n / n for c in cells])), tau2,
                sum((c.n / n) ** 2 for c in cells))
    if all(c.ci_low is not None and c.ci_high is not None and c.value is not None for c in cells):
        m = len(cells)
        values = [c.value or 0.0 for c in cells]
        var = [stats.se_from_ci(c.ci_low or 0.0, c.ci_high or 0.0) ** 2 for c in cells]
        mean, half = sum(values) / m, Z95 * math.sqrt(sum(var)) / m
        return (replace(first, value=mean, ci_low=mean - half, ci_high=mean + half, n=sum(c.n for c in cells),
                        successes=None, params=_pooled_population(cells, [1.0 / m] * m)),
                stats.between_variance(values, var), 1.0 / m)
    return first, 0.0, 1.0  # no sampling error stated: compared as the first baseline's figure (margin only)


def pool(baselines: Sequence[Iterable[Cell]]) -> tuple[list[Cell], Between]:
    """Several baselines' cells as one: per cell key the pooled figure (counts summed for a proportion, values
    averaged otherwise) and its (tau^2, sum of squared weights); a cell measured by one baseline only is kept as
    it is, with tau^2 = 0."""
    by_key: dict[Key, list[Cell]] = {}
    order: list[Key] = []
    for cells in baselines:
        seen: set[Key] = set()
        for c in cells:
            if c.key in seen:
                continue
            seen.add(c.key)
            if c.key not in by_key:
                order.append(c.key)
            by_key.setdefault(c.key, []).append(c)
    out: list[Cell] = []
    between: dict[Key, tuple[float, float]] = {}
    for key in order:
        cells = [c for c in by_key[key] if c.comparable]
        if len(cells) < 2:
            out.append(cells[0] if cells else by_key[key][0])
            continue
        pooled, tau2, w2 = _pool_cell(cells)
        out.append(pooled)
        between[key] = (tau2, w2)
    return out, between


def compare(now: Iterable[Cell], baseline: Iterable[Cell], policy: th.RegressionPolicy, *, source: str = "",
            same_targets: bool = False, candidates: set[str] | None = None,
            random_chains: set[str] | None = None, between: Between | None = None,
            baselines: int = 1) -> BaselineComparison:
    """Every risk or utility cell present (and measured) in both; Holm across the tested ones. Figures without
    an interval are compared only with ``same_targets`` and for chains not in ``random_chains``. ``between``:
    per cell, (tau^2, sum of squared weights) of pooled baselines (:func:`pool`)."""
    old_by_key: dict[Key, Cell] = {}
    for b in baseline:
        old_by_key.setdefault(b.key, b)
    seen: set[Key] = set()
    raw: list[Comparison] = []
    untested = 0
    for new in now:
        if candidates is not None and new.chain not in candidates:
            continue
        spec = catalog.regression_spec(new.check, new.metric, new.params)
        old = old_by_key.get(new.key)
        if old is not None:
            seen.add(new.key)
        if spec is None or spec.kind == "info" or old is None or not (old.comparable and new.comparable):
            continue
        assert old.value is not None and new.value is not None
        tau2, w2 = (between or {}).get(new.key, (0.0, 1.0))
        # another population: each run's figure also varies with its own population, by what the check's
        # population bootstrap estimated where both runs state it (then the baselines' spread, an estimate of
        # the same variance from a few populations, is not added on top); one population shares it
        stated = not same_targets and old.states_population and new.states_population
        population = old.population_var + new.population_var if stated else 0.0
        tau2 = 0.0 if stated else tau2
        test, z = _test(old, new, spec, tau2 * (1.0 + w2) + population)
        if test == "exact" and (not same_targets or new.chain in (random_chains or set())):
            untested += 1
            continue
        raw.append(Comparison(old, new, spec.kind, spec.worse(old.value, new.value),
                              policy.margin_for(new.check, new.metric), test, None, z=z,
                              between_sd=math.sqrt(tau2) if z is not None else 0.0,
                              population_sd=math.sqrt(population) if z is not None else 0.0))
    # different populations: each check's tests carry the dispersion its cells show (1 for the same targets)
    z_by_check: dict[str, list[float]] = {}
    for r in raw:
        if r.z is not None:
            z_by_check.setdefault(r.new.check, []).append(r.z)
    phi = {} if same_targets else stats.dispersion(z_by_check)
    raw = [replace(r, p=stats.p_of(r.z, phi.get(r.new.check, 1.0)), phi=phi.get(r.new.check, 1.0))
           if r.z is not None else r for r in raw]
    tested = [i for i, r in enumerate(raw) if r.p is not None]
    adjusted = dict(zip(tested, stats.holm([raw[i].p or 0.0 for i in tested]), strict=True))
    cells = []
    for i, r in enumerate(raw):
        p_holm = adjusted.get(i)
        material = r.worse_by > r.margin + 1e-12
        significant = p_holm is None or p_holm < policy.alpha
        cells.append(replace(r, p_holm=p_holm, regressed=material and significant))
    missing = tuple(sorted({f"{k[0]}: {Cell(k[0], k[1], k[2], dict(k[3]), None, None, None, 0, None).label}"
                            for k, b in old_by_key.items() if k not in seen and b.comparable
                            and (candidates is None or k[0] in candidates)}))
    return BaselineComparison(source, tuple(cells), policy.alpha, same_targets, missing, untested,
                              {k: round(v, 4) for k, v in sorted(phi.items())}, baselines)


def cells_of(result: CheckResult) -> list[Cell]:
    """The candidates' figures of a verdict, as cells."""
    return [Cell(o.chain, o.check, o.metric, o.params, o.value, o.ci_low, o.ci_high, o.n, o.successes)
            for v in result.chains if not v.chain.is_control for o in v.outcomes]


Loaded = tuple[list[Cell], str | None, str]


def compare_with(result: CheckResult, baseline: Loaded | Sequence[Loaded]) -> CheckResult:
    """``result`` with its comparison against one loaded baseline (``load_baseline``) or several (pooled per
    cell with their between-population variance, :func:`pool`) attached. The runs share their targets only when
    every baseline has the run's ``targets_digest``."""
    loaded: list[Loaded] = [baseline] if isinstance(baseline, tuple) else list(baseline)
    if not loaded:
        raise ValueError("compare_with: no baseline")
    same = all(digest is not None and digest == result.targets_digest for _, digest, _ in loaded)
    cells, between = (loaded[0][0], {}) if len(loaded) == 1 else pool([c for c, _, _ in loaded])
    comparison = compare(cells_of(result), cells, result.thresholds.regression,
                         source="; ".join(src for _, _, src in loaded), same_targets=same,
                         candidates={v.chain.name for v in result.chains if not v.chain.is_control},
                         random_chains={v.chain.name for v in result.chains if not v.chain.deterministic},
                         between=between, baselines=len(loaded))
    return replace(result, baseline=comparison)
