"""``summary.json`` (the DESIGN shape) and ``summary.md`` (a CI job summary or PR comment), from one verdict.

Both are rendered from the same ``CheckResult`` that ``check`` returns, so they say what ``check`` says.
"""

from __future__ import annotations

import re
from typing import Any

from anonbench.report.gate import ChainVerdict, CheckResult, Outcome
from anonbench.report.scores import headline, utility_directions, utility_figures
from reid import catalog

_TAG = re.compile(r"<(?=[A-Za-z/!?])")
MAX_MD_ROWS = 40  # per chain, inside <details>; keeps a PR comment far below GitHub's 65,536 characters


def _check_row(o: Outcome) -> dict[str, Any]:
    spec = catalog.metric_spec(o.check, o.metric)
    return {"check": o.check, "metric": o.metric, "params": dict(o.params), "value": o.value,
            "ci_low": o.ci_low, "ci_high": o.ci_high, "n": o.n, "successes": o.successes,
            "kind": spec.kind if spec else None, "threshold": o.threshold.bound if o.threshold else None,
            "op": o.threshold.op if o.threshold else None, "passed": o.passed}


def _chain_json(v: ChainVerdict) -> dict[str, Any]:
    h = headline(v.outcomes)
    return {"role": v.chain.role, "passed": v.passed, "caught": v.caught,
            "checks": [_check_row(o) for o in v.outcomes], "utility": utility_figures(v.outcomes),
            "headline": {"risk": h.risk, "risk_from": h.risk_from, "utility": h.utility,
                         "epsilon": v.chain.epsilon},
            "problems": list(v.problems), "accepted": list(v.accepted),
            "not_measured": list(v.not_measured), "known_weak": v.known_weak or None}


def summary_json(result: CheckResult) -> dict[str, Any]:
    """``{"run", "chains": {NAME: {"checks": [...], "utility": {...}, "passed"}}, "passed"}`` plus context:
    each check row carries its counts (``n``, ``successes``) and ``targets_digest`` says which targets were
    attacked, so the file can serve as the baseline of a later ``check --baseline``; ``utility_directions``
    declares each utility metric's direction (``reid.utility.DIRECTION``)."""
    total, failed = result.raw_validation
    return {"run": result.run, "passed": result.passed, "targets_digest": result.targets_digest,
            "baseline": result.baseline.to_dict() if result.baseline is not None else None,
            "chains": {v.chain.name: _chain_json(v) for v in result.chains},
            "validation": {"raw": {"expectations": total, "failed": failed, "passed": failed == 0}},
            "thresholds": list(result.thresholds.origins), "problems": list(result.problems),
            "utility_directions": utility_directions()}


def _f(x: float | None, digits: int = 3) -> str:
    return "–" if x is None else f"{x:.{digits}g}"


def verdict_word(v: ChainVerdict) -> str:
    if v.chain.is_control:
        return "✅ caught" if v.passed else "❌ escaped"
    if v.passed and v.accepted:
        return "⚠️ known weak"
    return "✅ pass" if v.passed else "❌ fail"


def _ci(o: Outcome) -> str:
    return "" if o.ci_low is None or o.ci_high is None else f"[{_f(o.ci_low)}, {_f(o.ci_high)}]"


def _mark(o: Outcome) -> str:
    return {True: "✅", False: "❌", None: ""}[o.passed]


def _md_escape(s: str) -> str:
    """Table-safe text: pipes escaped, and no '<' that could open an HTML tag ('<=' stays readable)."""
    return _TAG.sub("&lt;", s.replace("|", "\\|"))


def baseline_md(result: CheckResult) -> list[str]:
    """The comparison with the baseline: how many cells, and each regressed one with both figures and p."""
    b = result.baseline
    if b is None:
        return []
    same = "same targets: the score test is conservative for such paired samples" if b.same_targets else \
        "different data: independent samples"
    lines = ["", "### Compared with the baseline", "",
             f"`{_md_escape(b.source)}`: {len(b.cells)} figures of candidate chains compared ({same}); "
             f"{len(b.regressions)} got significantly and materially worse (Holm, alpha = {b.alpha:g})."
             + (f" {b.untested} figures without a sampling interval could not be compared across different data."
                if b.untested else "")]
    if b.regressions:
        lines += ["", "| chain | figure | baseline | now | worse by | margin | p | Holm p |",
                  "|---|---|---|---|---|---|---|---|"]
        for c in b.regressions:
            lines.append(f"| `{_md_escape(c.new.chain)}` | {_md_escape(c.new.label)} | {_md_escape(c.old.text())} "
                         f"| {_md_escape(c.new.text())} | {c.worse_by:.3g} | {c.margin:g} | {_f(c.p, 2)} "
                         f"| {_f(c.p_holm, 2)} |")
    if b.only_in_baseline:
        lines += ["", f"{len(b.only_in_baseline)} figures of the baseline were not measured in this run: "
                  + _md_escape(", ".join(b.only_in_baseline[:10])) + (" …" if len(b.only_in_baseline) > 10 else "")]
    return lines


def summary_md(result: CheckResult) -> str:
    """Markdown: verdict, one row per chain, the failures by name, then every figure folded per chain."""
    head = "✅ passed" if result.passed else "❌ failed"
    lines = [f"## anonbench: {head} — run `{_md_escape(result.run)}`", "",
             "| chain | role | verdict | headline risk | utility | breaches |", "|---|---|---|---|---|---|"]
    for v in result.chains:
        h = headline(v.outcomes)
        lines.append(f"| `{_md_escape(v.chain.name)}` | {v.chain.role} | {verdict_word(v)} | {_f(h.risk)} "
                     f"({_md_escape(h.risk_from)}) | {_f(h.utility)} | {len(v.breaches)} |")
    total, failed = result.raw_validation
    lines += ["", f"Raw-table validation: {total - failed} of {total} expectations hold." if total
              else "Raw-table validation: not run."]
    if result.problems:
        lines += ["", "### What failed", ""] + [f"- {_md_escape(p)}" for p in result.problems]
    weak = [v for v in result.chains if v.accepted]
    if weak:
        lines += ["", "### Accepted breaches (known-weak baselines)", ""] + [
            f"- `{_md_escape(v.chain.name)}`: {len(v.accepted)} breaches accepted — {_md_escape(v.known_weak)}"
            for v in weak]
    lines += baseline_md(result)
    lines += ["", "Candidates pass when no figure breaches its threshold; controls (`none`, `naive-hash`) "
              "pass when the attacks catch them. Thresholds: " + ", ".join(result.thresholds.origins) + "."]
    for v in result.chains:
        rows = [o for o in v.outcomes if o.threshold is not None] + [o for o in v.outcomes if o.threshold is None]
        lines += ["", f"<details><summary><code>{_md_escape(v.chain.name)}</code> — {len(v.outcomes)} figures"
                  "</summary>", "", "| check | metric | value | 95% CI | n | threshold | |", "|---|---|---|---|---|---|---|"]
        for o in rows[:MAX_MD_ROWS]:
            bound = o.threshold.describe() if o.threshold else ""
            lines.append(f"| {o.check} | {_md_escape(o.label.split('.', 1)[1])} | {_f(o.value, 4)} | {_ci(o)} "
                         f"| {o.n} | {bound} | {_mark(o)} |")
        if len(rows) > MAX_MD_ROWS:
            lines.append(f"| … | {len(rows) - MAX_MD_ROWS} more in report/index.html | | | | | |")
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"
