"""``DATASET_CARD.md`` of a published bundle, after "Datasheets for Datasets" (Gebru et al., CACM 2021).

Sections: motivation, composition, collection process (the generator, its parameters, seed and versions),
preprocessing (the anonymizer chain, secrets left out), uses, distribution, maintenance, plus the risk,
utility and validation tables. Built from the manifest and the aggregates only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from anonbench.report.gate import ChainVerdict, Outcome
from anonbench.report.glossary import entry
from anonbench.report.results import RunData, step_text
from anonbench.report.scores import headline
from runformat.manifest import STEP_BUDGET, STEP_FLAGS, STEP_REPORT, section

LICENCE = "CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/)"


@dataclass(frozen=True)
class TableFacts:
    name: str
    rows: int
    columns: tuple[str, ...]
    shards: int


def _f(x: float | None) -> str:
    return "–" if x is None else f"{x:.4g}"


def _risk_rows(outcomes: tuple[Outcome, ...], utility: bool) -> list[str]:
    rows = ["| check | metric | value | 95% CI | n | threshold | passed |", "|---|---|---|---|---|---|---|"]
    for o in outcomes:
        if (o.check == "utility") != utility:
            continue
        ci = "" if o.ci_low is None or o.ci_high is None else f"[{_f(o.ci_low)}, {_f(o.ci_high)}]"
        bound = o.threshold.describe() if o.threshold else ""
        passed = {True: "yes", False: "NO", None: ""}[o.passed]
        rows.append(f"| {o.check} | {o.label.split('.', 1)[1]} | {_f(o.value)} | {ci} | {o.n} | {bound} | "
                    f"{passed} |")
    return rows if len(rows) > 2 else ["(none measured)"]


def _steps(verdict: ChainVerdict) -> list[str]:
    if not verdict.chain.steps:
        return ["- (no steps recorded)"]
    return [f"{i}. {step_text(s)}" for i, s in enumerate(verdict.chain.steps, 1)]


def _privacy(verdict: ChainVerdict) -> list[str]:
    """The chain's differential-privacy claims and what is synthetic, from its steps in the manifest."""
    lines: list[str] = []
    for step in verdict.chain.steps:
        flags = step.get(STEP_FLAGS) or {}
        report = step.get(STEP_REPORT) or {}
        budget = report.get(STEP_BUDGET) if isinstance(report, Mapping) else None
        use = step.get("use", "?")
        if isinstance(budget, Mapping) and budget:
            split = budget.get("split") or {}
            bounds = budget.get("bounds") or {}
            lines += [
                f"- **`{use}` is differentially private:** epsilon = {budget.get('epsilon')}, delta = "
                f"{budget.get('delta')} per **{budget.get('privacy_unit', '?')}** (the privacy unit: one "
                "account's presence or absence changes the released tables' distribution by at most that "
                "much; a person with accounts in several orgs counts once per account).",
                f"- **Accounting:** {budget.get('accounting', '?')}; mechanism: {budget.get('mechanism', '?')}.",
                "- **Contribution bounds:** " + (", ".join(f"`{k}={v}`" for k, v in bounds.items()) or "–") + ".",
                "- **Budget split** (in the accounting's own currency): "
                + (", ".join(f"`{k}` {float(v):.3g}" for k, v in split.items()) or "–") + "."]
        if flags.get("synthetic"):
            released = report.get("rows_released") if isinstance(report, Mapping) else None
            lines.append(
                f"- **Synthetic records:** every row of {', '.join(f'`{t}`' for t in (released or {})) or 'its tables'}"
                f" was sampled from a model fitted by `{use}`; no released row belongs to a real (here: raw) "
                "account, and every identifier (org, account, team, session, event, container, object) is a "
                "random `syn-` value. Names, e-mail addresses, domains and IP addresses are not released. "
                "Aggregate patterns (hour-of-week cycles, product and action mixes, activity, sessions) are "
                "kept as far as the noise allows: see the utility table.")
    return lines


def render_card(data: RunData, verdict: ChainVerdict, tables: list[TableFacts],
                validation: Mapping[str, int], thresholds_origin: str) -> str:
    """The dataset card as Markdown."""
    man = data.manifest
    cfg = section(man, "config")
    gen = section(cfg, "generate")
    versions = man.get("versions") or {}
    seed = man.get("seed", cfg.get("seed"))
    chain = verdict.chain
    h = headline(verdict.outcomes)
    composition = [f"| `{t.name}` | {t.rows:,} | {t.shards} | {', '.join(f'`{c}`' for c in t.columns)} |"
                   for t in tables]
    checks = sorted({o.check for o in verdict.outcomes})
    lines = [
        f"# Dataset card: `{data.name}` anonymized with `{chain.name}`", "",
        "Written by `anonbench publish` after *Datasheets for Datasets* (Gebru et al., Communications of the "
        "ACM 64(12), 2021).", "",
        "## Motivation", "",
        "- **Purpose.** A synthetic, multi-tenant SaaS usage-metadata dataset (who did what, when, from where) "
        "released after an anonymization chain, with its measured re-identification risk and utility, for "
        "research on anonymization of telemetry, for teaching, and for testing analytics pipelines.",
        "- **Who created it.** Generated and anonymized by anonbench; the publisher of this bundle is "
        "responsible for its release.",
        "- **Funding.** Not applicable (synthetic data).", "",
        "## Composition", "",
        "Every instance is synthetic: organisations, their accounts and the accounts' events were drawn from a "
        "generative model, not observed. No real person, organisation, e-mail address or IP address is "
        "described. Identifiers were further transformed by the chain below.", "",
        "| table | rows | shards | columns |", "|---|---|---|---|", *composition, "",
        f"- **Headline re-identification risk:** {_f(h.risk)} ({h.risk_from}); **utility score:** {_f(h.utility)}.",
        "- **Confidential or sensitive data.** None real. Ground truth (which account belongs to which "
        "person) and the raw tables are *not* included.",
        "- **Known limits.** Behaviour follows the generator's model (diurnal and weekly cycles, sessions, "
        "teams, bots); conclusions about real products or populations need real data.", "",
        "## Collection process", "",
        f"- **Generator:** anonbench {versions.get('anonbench', '?')}; seed `{seed}`; run `{data.name}`.",
        "- **Parameters:** " + (", ".join(f"`{k}={json.dumps(v, default=str)}`" for k, v in gen.items())
                                if gen else "defaults of that version") + ".",
        "- **Versions:** " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items())) + ".",
        "- **Determinism.** The same configuration, seed, chunk layout and package versions give the same "
        "bytes.", "",
        "## Preprocessing (the anonymization chain)", "",
        f"Chain `{chain.name}` (role: {chain.role}). Secrets (keys, salts) are not included.", "",
        *_steps(verdict), "",
        *((["## Differential privacy and synthetic data", "", *privacy, ""]) if (privacy := _privacy(verdict))
          else []),
        "## Uses", "",
        "- **Intended:** benchmarking anonymizers and attacks; teaching privacy of telemetry; testing "
        "pipelines and dashboards on realistic, privacy-safe metadata.",
        "- **Not intended:** attempts to re-identify anyone; conclusions about real users, vendors or "
        "customers; training models meant to profile real people.",
        "- **Risks.** The figures below bound what the tested attacks achieved; other attacks may do better.", "",
        "## Distribution", "",
        "- **Format:** Apache Parquet (zstd), one folder per table, `part-NNNNN.parquet` shards; "
        "`SHA256SUMS` lists a checksum per file (`sha256sum -c SHA256SUMS`).",
        f"- **Licence:** {LICENCE}.", "",
        "## Maintenance", "",
        "- Regenerate with the same configuration and seed (`anonbench run`), then "
        f"`anonbench publish --chain {chain.name}`; a changed chain or version makes a new bundle.",
        "- Report problems to the publisher of this bundle; errata go into a new version with its own card.", "",
        "## Re-identification risk", "",
        f"Thresholds: {thresholds_origin}. Checks run: {', '.join(checks) or 'none'}.", "",
        *_risk_rows(verdict.outcomes, utility=False), "",
        "## Utility", "", *_risk_rows(verdict.outcomes, utility=True), "",
        "## Validation", "",
        f"Privacy contract of the chain (Great Expectations): {validation.get('passed', 0)} of "
        f"{validation.get('total', 0)} expectations hold; details in `validation/`.", "",
        "## What the checks mean", "",
    ]
    for c in checks:
        e = entry(c)
        lines.append(f"- **{c}** — {e.measures} *Reading:* {e.reading} *Follows:* {e.reference}")
    return "\n".join(lines) + "\n"
