"""``report/index.html``: one self-contained page (inline CSS and SVG, no script, nothing from the network).

A Content-Security-Policy of ``default-src 'none'`` makes the browser refuse any request the page might make,
so the file opens offline and phones nowhere. Every string from the run is HTML-escaped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from anonbench.report import svg
from anonbench.report.gate import ChainVerdict, CheckResult, Outcome
from anonbench.report.glossary import GLOSSARY
from anonbench.report.profiles import Profile, top_actions, tvd
from anonbench.report.results import RunData, step_text
from anonbench.report.scores import headline, pareto
from anonbench.report.summary import verdict_word
from anonbench.report.svg import escape
from reid.params import AttackParams
from reid.utility import DIRECTION
from runformat.layout import DOCS, RunDir
from runformat.manifest import section

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
CSS = """
:root{--ink:#1f2328;--muted:#57606a;--line:#d8dee4;--ok:#1a7f37;--bad:#cf222e;--bg:#f6f8fa}
*{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:var(--ink);background:#fff}header{padding:28px 40px 20px;border-bottom:1px solid var(--line);background:var(--bg)}
h1{margin:0 0 6px;font-size:26px}h2{margin:36px 0 8px;font-size:20px;border-bottom:1px solid var(--line);
padding-bottom:6px}h3{font-size:16px;margin:22px 0 6px}main{padding:0 40px 60px;max-width:1320px}
.lede{color:var(--muted);margin:0}.badge{display:inline-block;padding:2px 10px;border-radius:12px;
font-weight:600;font-size:13px}.ok{background:#dafbe1;color:var(--ok)}.bad{background:#ffebe9;color:var(--bad)}
.neutral{background:#eaeef2;color:var(--muted)}.warn{background:#fff8c5;color:#9a6700}nav{margin-top:12px;font-size:14px}nav a{margin-right:14px;color:#0969da;text-decoration:none}
table{border-collapse:collapse;margin:8px 0 16px;font-size:13.5px}th,td{padding:5px 10px;border-bottom:1px solid var(--line);
text-align:left;vertical-align:top}th{background:var(--bg);font-weight:600}td.num{text-align:right;
font-variant-numeric:tabular-nums}tr.fail td{background:#fff5f5}.grid{display:grid;
grid-template-columns:repeat(auto-fit,minmax(560px,1fr));gap:18px 28px;align-items:start}
figure{margin:8px 0}figcaption{color:var(--muted);font-size:13px;max-width:640px}svg.chart{max-width:100%;height:auto}
.problems li{color:var(--bad)}.note{color:var(--muted);font-size:13px}code{background:var(--bg);padding:1px 4px;
border-radius:4px;font-size:12.5px}dl.gloss dt{font-weight:600;margin-top:12px}dl.gloss dd{margin:2px 0 0 0}
.small{font-size:12.5px;color:var(--muted)}.nowrap{white-space:nowrap}details.chain{margin:10px 0;border:1px solid var(--line);
border-radius:6px;padding:8px 14px}details.chain>summary{cursor:pointer;font-size:16px;font-weight:600}
details.chain[open]>summary{margin-bottom:8px}
"""


def _badge(ok: bool | None, yes: str, no: str, unknown: str = "—") -> str:
    if ok is None:
        return f'<span class="badge neutral">{unknown}</span>' if unknown else ""
    cls = "warn" if ok and yes == "known weak" else "ok" if ok else "bad"
    return f'<span class="badge {cls}">{escape(yes if ok else no)}</span>'


def _f(x: float | None, digits: int = 3) -> str:
    return "–" if x is None else escape(f"{x:.{digits}g}")


def _colours(result: CheckResult) -> dict[str, str]:
    """One colour per chain; the chains of one ε sweep (``name-epsX``) share their family's."""
    families: dict[str, int] = {}
    for v in result.chains:
        families.setdefault(_family(v.chain.name), len(families))
    return {v.chain.name: svg.colour(families[_family(v.chain.name)]) for v in result.chains}


def verdict_section(result: CheckResult) -> str:
    rows = []
    for v in result.chains:
        h = headline(v.outcomes)
        rows.append(f'<tr class="{"" if v.passed else "fail"}"><td><code>{escape(v.chain.name)}</code></td>'
                    f"<td>{escape(v.chain.role)}</td><td>{_badge(v.passed, *_words(v))}</td>"
                    f'<td class="num">{_f(h.risk)}</td><td>{escape(h.risk_from)}</td>'
                    f'<td class="num">{_f(h.utility)}</td><td class="num">{len(v.breaches)}</td></tr>')
    total, failed = result.raw_validation
    probs = "".join(f"<li>{escape(p)}</li>" for p in result.problems)
    weak = "".join(f"<li><code>{escape(v.chain.name)}</code>: {len(v.accepted)} breaches accepted as a known-weak "
                   f"baseline — {escape(v.known_weak)}</li>" for v in result.chains if v.accepted)
    return ("<h2 id='verdict'>Verdict</h2><table><tr><th>chain</th><th>role</th><th>verdict</th>"
            "<th>headline risk</th><th>from</th><th>utility</th><th>breaches</th></tr>" + "".join(rows) +
            "</table>" + (f'<ul class="problems">{probs}</ul>' if probs else "") +
            (f'<ul class="note">{weak}</ul>' if weak else "") +
            f"<p class='note'>Raw-table validation: {total - failed} of {total} expectations hold. Candidates pass "
            "when no figure breaches its threshold; controls pass when they are caught (see "
            "<a href='#thresholds'>thresholds</a>). Headline risk = the largest re-identification share of any "
            "attack (a leaked identifier counts as 1); utility = the mean score of the headline utility figures, each "
            "in its declared direction (1 = as the raw data, 0 = nothing released).</p>")


def _words(v: ChainVerdict) -> tuple[str, str]:
    w = verdict_word(v).split(" ", 1)[1]
    return (w, w)


EPS_SUFFIX = re.compile(r"-eps[0-9.]+$")


def _family(name: str) -> str:
    """Chains of one ε sweep share a family: ``dp-synthetic-eps0.25`` -> ``dp-synthetic``."""
    return EPS_SUFFIX.sub("", name) or name


def frontier_points(result: CheckResult, colours: Mapping[str, str]
                    ) -> tuple[list[tuple[ChainVerdict, svg.Point]], list[str]]:
    """One point per chain (labelled with its ε when it declares one), and the chains without a point."""
    pts, missing = [], []
    for v in result.chains:
        h = headline(v.outcomes)
        if h.risk is None or h.utility is None:
            missing.append(v.chain.name)
            continue
        eps = v.chain.epsilon
        label = _family(v.chain.name) + (f" ε={eps:g}" if eps is not None else "") + \
            (" (control)" if v.chain.is_control else "")
        note = f"chain {v.chain.name}, {v.chain.role}; risk from {h.risk_from}"
        pts.append((v, svg.Point(label, h.risk, h.utility, colours[v.chain.name], v.chain.is_control, note)))
    return pts, missing


def frontier_section(result: CheckResult, colours: Mapping[str, str]) -> str:
    chains, missing = frontier_points(result, colours)
    pts = [p for _, p in chains]
    candidates = [p for p in pts if not p.hollow]
    front = set(pareto([(p.label, p.x, p.y) for p in candidates]))
    families: dict[str, list[tuple[float, svg.Point]]] = {}
    for v, p in chains:
        if v.chain.epsilon is not None:
            families.setdefault(_family(v.chain.name), []).append((v.chain.epsilon, p))
    paths = [(ms[0][1].colour, [p for _, p in sorted(ms, key=lambda t: t[0])]) for ms in families.values()
             if len(ms) > 1]
    limit = result.thresholds.thresholds.get("unicity.reidentified_share")
    chart = svg.scatter(pts, "headline re-identification risk → (lower is safer)",
                        "headline utility (higher keeps more; raw data = 1)", "Privacy–utility frontier",
                        limit.bound if limit and limit.op == "max" else None,
                        [p for p in candidates if p.label in front], paths)
    rows = "".join(
        f"<tr><td>{escape(p.label)}</td><td class='num'>{_f(p.x)}</td><td class='num'>{_f(p.y)}</td>"
        f"<td>{'on the front' if p.label in front else ''}</td></tr>"
        for p in sorted(pts, key=lambda p: (p.hollow, p.x, -p.y)))
    table = ("<table><tr><th>chain</th><th>headline risk (lower is safer)</th><th>headline utility (higher "
             f"keeps more)</th><th>Pareto</th></tr>{rows}</table>" if pts else "")
    note = (f"<p class='note'>Not plotted (no risk or no utility figure): {escape(', '.join(missing))}.</p>"
            if missing else "")
    return ("<h2 id='frontier'>Privacy–utility frontier</h2><figure>" + chart + "<figcaption>One point per chain "
            "(and per privacy budget ε where a chain declares one; the points of one chain at several ε are "
            "joined in ε order). Hollow points are controls, which should sit far right. The dashed staircase is "
            "the Pareto front of the candidates: no candidate has both lower risk and higher utility than a "
            "point on it. Utility is the mean score of the headline utility figures, each scored in its declared "
            "direction (1 = as the raw data, 0 = nothing of it released).</figcaption></figure>" + table + note)


def _knowledge_sets(result: CheckResult, data: RunData | None = None) -> list[str]:
    """The attacker knowledge sets of the unicity rows, in the order of the run config's ``attacks.knowledge``
    (then any other)."""
    seen = list(dict.fromkeys(str(o.params["knowledge"]) for v in result.chains for o in v.outcomes
                              if o.check == "unicity" and "knowledge" in o.params))
    attacks = section(data.manifest, "config").get("attacks") if data is not None else None
    try:
        order = [k.label for k in AttackParams.model_validate(attacks or {}).knowledge_sets]
    except ValidationError:
        order = []
    return [k for k in order if k in seen] + [k for k in seen if k not in order]


def knowledge_table(result: CheckResult, data: RunData | None = None) -> str:
    """Re-identified share per chain and knowledge set, at the largest p measured (with its 95% CI and n)."""
    sets = _knowledge_sets(result, data)
    if len(sets) < 2:
        return ""
    rows = []
    for v in result.chains:
        cells = []
        for k in sets:
            got = [o for o in v.outcomes if o.check == "unicity" and o.metric == "reidentified_share"
                   and str(o.params.get("knowledge")) == k and o.value is not None and "p" in o.params]
            top = max(got, key=lambda o: float(o.params["p"])) if got else None
            cells.append("<td class='num'>—</td>" if top is None else
                         f"<td class='num'>{_f(top.value)} [{_f(top.ci_low)}, {_f(top.ci_high)}] "
                         f"(p={top.params['p']}, n={top.n})</td>")
        rows.append(f"<tr><td>{escape(v.chain.name)}</td>{''.join(cells)}</tr>")
    head = "".join(f"<th>{escape(k)}</th>" for k in sets)
    return ("<table><tr><th>chain</th>" + head + "</tr>" + "".join(rows) + "</table><p class='note'>Re-identified "
            "share per attacker knowledge set (time resolution : fields known of each event), at the largest "
            "number of known points measured. Times are compared at the coarser of the attacker's and the "
            "release's resolution; a field the release does not carry comparably is left out.</p>")


def unicity_section(data: RunData, result: CheckResult, colours: Mapping[str, str]) -> str:
    charts = []
    limit = result.thresholds.thresholds.get("unicity.reidentified_share")
    sets = _knowledge_sets(result, data)
    shown = sets[0] if sets else None   # the curves of one knowledge set; the others in the table below
    for metric, title in (("reidentified_share", "Re-identified share"), ("unique_share", "Unique share")):
        series = []
        for v in result.chains:
            pts = sorted((float(o.params["p"]), o.value) for o in v.outcomes
                         if o.check == "unicity" and o.metric == metric and "p" in o.params and o.value is not None
                         and (shown is None or str(o.params.get("knowledge")) == shown))
            if pts:
                series.append(svg.Series(v.chain.name, tuple(p for p, _ in pts), tuple(y for _, y in pts),
                                         colours[v.chain.name], v.chain.is_control))
        if series:
            same: dict[tuple[float, ...], list[str]] = {}
            for ser in series:
                same.setdefault(tuple(round(y, 3) for y in ser.ys) + ser.xs, []).append(ser.label)
            overlap = "; ".join(", ".join(names) for names in same.values() if len(names) > 1)
            lim = limit.bound if metric == "reidentified_share" and limit and limit.op == "max" else None
            charts.append("<figure>" + svg.lines(series, "known points p", title.lower(), f"{title} vs p", lim) +
                          f"<figcaption>{title} of targets against the number p of their events an attacker "
                          "knows (dashed: controls)" + (f", knowledge set {escape(shown)}" if shown else "") +
                          "." + (f" Curves on top of each other: {escape(overlap)}."
                                                          if overlap else "") + "</figcaption></figure>")
    body = "<div class='grid'>" + "".join(charts) + "</div>" + knowledge_table(result, data) if charts else \
        "<p class='note'>No unicity results in this run.</p>"
    return "<h2 id='unicity'>Unicity against known points</h2>" + body


def profiles_section(profiles: Mapping[str, Profile], result: CheckResult, colours: Mapping[str, str]) -> str:
    raw = profiles.get("raw")
    if raw is None or raw.hour_of_week is None:
        return "<h2 id='profiles'>Activity profiles</h2><p class='note'>No raw events to profile.</p>"
    weeks = []
    for v in result.chains:
        p = profiles.get(v.chain.name)
        if p is None:
            continue
        note = (f"TVD {tvd(raw.hour_of_week, p.hour_of_week):.3f} · {p.events:,} events" if p.hour_of_week
                else p.note or "no timestamps")
        weeks.append("<figure>" + svg.week_profile(raw.hour_of_week, p.hour_of_week, v.chain.name,
                                                   colours[v.chain.name], note) + "</figure>")
    cats = top_actions(raw)
    series = [("raw", [raw.actions.get(c, 0.0) for c in cats], svg.INK)]
    series += [(v.chain.name, [profiles[v.chain.name].actions.get(c, 0.0) for c in cats], colours[v.chain.name])
               for v in result.chains if v.chain.name in profiles and profiles[v.chain.name].actions]
    dots = svg.dot_plot(cats, series, "Share of events per action") if cats else ""
    return ("<h2 id='profiles'>Activity profiles: raw against anonymized</h2>"
            f"<p class='note'>Share of events per hour of the week (UTC; grey area = raw, {raw.events:,} events; "
            "line = the chain). TVD = total variation distance between the two profiles (0 = same shape).</p>"
            "<div class='grid'>" + "".join(weeks) + "</div><h3>Actions</h3><figure>" + dots +
            "<figcaption>The ten most frequent raw actions; hollow ring = raw, dots = chains.</figcaption>"
            "</figure>")


def _risk_row(o: Outcome) -> str:
    ci = "" if o.ci_low is None or o.ci_high is None else f"[{_f(o.ci_low)}, {_f(o.ci_high)}]"
    bound = escape(o.threshold.describe()) if o.threshold else ""
    src = f' title="{escape(o.threshold.source)}"' if o.threshold else ""
    declared = DIRECTION.get(o.metric) if o.check == "utility" else None
    way = (f" <span class='small'>({'higher' if declared.higher_is_better else 'lower'} is better)</span>"
           if declared else "")
    return (f'<tr class="{"fail" if o.passed is False else ""}"><td>{escape(o.check)}</td>'
            f"<td>{escape(o.label.split('.', 1)[1])}{way}</td><td class='num'>{_f(o.value, 4)}</td>"
            f"<td class='num'>{ci}</td><td class='num'>{o.n:,}</td><td{src}>{bound}</td>"
            f"<td>{_badge(o.passed, 'pass', 'breach', '')}</td></tr>")


RISK_HEAD = ("<table><tr><th>check</th><th>metric</th><th>value</th><th>95% CI</th><th>n</th><th>threshold</th>"
             "<th></th></tr>")


def _chain_figures(v: ChainVerdict) -> str:
    measured = [o for o in v.outcomes if o.applicable or o.value is not None]
    gated = [o for o in measured if o.threshold is not None]
    other = [o for o in measured if o.threshold is None]
    skipped: dict[str, str] = {}
    for o in v.outcomes:
        if not o.applicable and o.value is None:
            skipped.setdefault(o.check, str(o.params.get("reason", "not applicable")))
    steps = "".join(f"<li>{escape(step_text(s))}</li>" for s in v.chain.steps)
    body = (f"<ol class='small'>{steps}</ol>" if steps else "<p class='small'>No steps (the raw tables).</p>")
    body += RISK_HEAD + "".join(_risk_row(o) for o in gated) + "</table>"
    if skipped:
        body += "<p class='note'>Not applicable to this release: " + "; ".join(
            f"<code>{escape(c)}</code> ({escape(r)})" for c, r in sorted(skipped.items())) + ".</p>"
    if other:
        body += (f"<details><summary class='small'>{len(other)} more figures without a threshold</summary>"
                 + RISK_HEAD + "".join(_risk_row(o) for o in other) + "</table></details>")
    return body


def risk_section(result: CheckResult) -> str:
    parts = ["<h2 id='risk'>Risk and utility figures</h2><p class='note'>Every figure with its sample size n and, "
             "for estimated proportions, a 95% Wilson interval. Hover a threshold for its source. Chains that "
             "failed are open; click a chain to fold or unfold it.</p>"]
    for v in result.chains:
        gated = sum(o.threshold is not None for o in v.outcomes)
        summary = (f"<summary><code>{escape(v.chain.name)}</code> ({escape(v.chain.role)}) "
                   f"{_badge(v.passed, *_words(v))} <span class='small'>{gated} figures with a threshold, "
                   f"{len(v.breaches)} breaching</span></summary>")
        parts.append(f"<details class='chain'{'' if v.passed else ' open'}>{summary}{_chain_figures(v)}</details>")
    return "".join(parts)


def validation_section(data: RunData) -> str:
    df = data.validation
    if df.is_empty():
        return "<h2 id='validation'>Validation</h2><p class='note'>No validation results in this run.</p>"
    rows = []
    for (stage,), g in sorted(df.group_by(["stage"]), key=lambda kv: str(kv[0][0])):
        failed = g.filter(~g["success"].fill_null(False))
        rows.append(f"<tr class='{'fail' if failed.height else ''}'><td><code>{escape(str(stage))}</code></td>"
                    f"<td class='num'>{g.height}</td><td class='num'>{failed.height}</td>"
                    f"<td>{_badge(not failed.height, 'all hold', 'failures')}</td></tr>")
    failures = df.filter(~df["success"].fill_null(False)).head(200)
    frows = "".join(
        f"<tr class='fail'><td><code>{escape(str(r['stage']))}</code></td><td>{escape(str(r['table']))}</td>"
        f"<td>{escape(str(r['expectation']))}</td><td>{escape(str(r['column'] or ''))}</td>"
        f"<td class='num'>{'' if r['unexpected_count'] is None else r['unexpected_count']}</td></tr>"
        for r in failures.iter_rows(named=True))
    detail = ("<h3>Failed expectations</h3><table><tr><th>stage</th><th>table</th><th>expectation</th>"
              f"<th>column</th><th>unexpected</th></tr>{frows}</table>") if frows else ""
    return ("<h2 id='validation'>Validation (Great Expectations)</h2><table><tr><th>stage</th>"
            "<th>expectations</th><th>failed</th><th></th></tr>" + "".join(rows) + "</table>" + detail +
            "<p class='note'>Counts only: validation keeps no unexpected values. "
            + (f"Great Expectations Data Docs of this run: <code>{DOCS}/index.html</code>."
               if (RunDir(data.path).docs / "index.html").is_file() else "") + "</p>")


def glossary_section() -> str:
    items = "".join(f"<dt>{escape(e.title)} <code>{escape(k)}</code></dt><dd>{escape(e.measures)} "
                    f"<em>Reading:</em> {escape(e.reading)} <span class='small'>Follows: {escape(e.reference)}"
                    "</span></dd>" for k, e in GLOSSARY.items())
    return f"<h2 id='metrics'>What the metrics mean</h2><dl class='gloss'>{items}</dl>"


def thresholds_section(result: CheckResult) -> str:
    ts = result.thresholds
    rows = "".join(f"<tr><td><code>{escape(k)}</code></td><td class='nowrap'>{escape(t.describe())}"
                   f"{escape(' where ' + json.dumps(dict(t.where))) if t.where else ''}"
                   f"{escape(' on ' + t.on) if t.on != 'value' else ''}</td><td class='small'>{escape(t.source)}"
                   "</td></tr>" for k, t in sorted(ts.thresholds.items()))
    controls = "".join(f"<tr><td><code>{escape(k)}</code></td><td>{escape(', '.join(c.caught_by) or 'any check')}"
                       f"</td><td class='small'>{escape(c.reason)}</td></tr>" for k, c in sorted(ts.controls.items()))
    return ("<h2 id='thresholds'>Thresholds</h2><p class='note'>In force: " + escape(" → ".join(ts.origins)) +
            ".</p><table><tr><th>figure</th><th>bound</th><th>source</th></tr>" + rows + "</table>"
            "<h3>When is a control caught?</h3><table><tr><th>control chain</th><th>must breach in</th>"
            f"<th>why</th></tr>{controls}</table>")


def run_section(data: RunData) -> str:
    man = data.manifest
    cfg = section(man, "config")
    facts = {"run": data.name, "seed": man.get("seed", cfg.get("seed")), "created by": "anonbench " +
             str((man.get("versions") or {}).get("anonbench", "?"))}
    gen = section(cfg, "generate")
    rows = "".join(f"<tr><th>{escape(str(k))}</th><td>{escape(str(v))}</td></tr>" for k, v in facts.items())
    gen_rows = "".join(f"<tr><td>{escape(str(k))}</td><td>{escape(_short(v))}</td></tr>" for k, v in gen.items())
    vers = "".join(f"<tr><td>{escape(str(k))}</td><td>{escape(str(v))}</td></tr>"
                   for k, v in sorted((man.get("versions") or {}).items()))
    return ("<h2 id='run'>About this run</h2><div class='grid'><div><table>" + rows + "</table>" +
            (f"<h3>Generator parameters</h3><table>{gen_rows}</table>" if gen_rows else "") +
            "</div><div>" + (f"<h3>Versions</h3><table>{vers}</table>" if vers else "") + "</div></div>")


def _short(v: Any) -> str:
    s = json.dumps(v, default=str) if isinstance(v, (dict, list)) else str(v)
    return s if len(s) <= 120 else s[:117] + "…"


def baseline_section(result: CheckResult) -> str:
    """``check --baseline``: how many figures were compared, and each regressed one with both figures and p."""
    b = result.baseline
    if b is None:
        return ""
    rows = "".join(
        f"<tr class='fail'><td><code>{escape(c.new.chain)}</code></td><td>{escape(c.new.label)}</td>"
        f"<td>{escape(c.kind)}</td><td class='num'>{escape(c.old.text())}</td>"
        f"<td class='num'>{escape(c.new.text())}</td><td class='num'>{_f(c.worse_by)}</td>"
        f"<td class='num'>{_f(c.margin)}</td><td class='num'>{_f(c.p, 2)}</td><td class='num'>{_f(c.p_holm, 2)}</td>"
        f"<td>{escape(c.test)}</td></tr>" for c in b.regressions)
    table = ("<table><tr><th>chain</th><th>figure</th><th>kind</th><th>baseline</th><th>now</th><th>worse by</th>"
             "<th>margin</th><th>p</th><th>Holm p</th><th>test</th></tr>" + rows + "</table>") if rows else ""
    disp = ", ".join(f"{k} {v:.3g}" for k, v in b.dispersion.items() if v > 1.0)
    pairing = ("the same targets were attacked (the score test is conservative for such paired samples; "
               "per-target outcomes are not stored)" if b.same_targets else
               "the runs attacked different targets (different populations: each check's test variance is scaled "
               "by the dispersion its figures show" + (f": {disp})" if disp else ": none above 1 here)"))
    badge = _badge(not b.regressions, "no regression", f"{len(b.regressions)} regressed")
    return (f"<h2 id='baseline'>Compared with the baseline</h2><p>{badge} <code>{escape(b.source)}</code>: "
            f"{len(b.cells)} figures of "
            f"candidate chains compared; {escape(pairing)}.</p>{table}<p class='note'>A figure regresses when a "
            f"one-sided test says it got worse (score test on the counts of a proportion, else on the 95% "
            f"intervals) at Holm-corrected alpha = {b.alpha:g} across all compared figures, and it moved the worse "
            "way by more than its materiality margin. A figure without a sampling interval (k, a utility error) "
            "is judged by the margin alone on the same data, and not compared on other data "
            f"({b.untested} such figures here).</p>")


def render(data: RunData, result: CheckResult, profiles: Mapping[str, Profile]) -> str:
    colours = _colours(result)
    verdict = _badge(result.passed, "passed", "failed")
    toc = "".join(f"<a href='#{a}'>{t}</a>" for a, t in (
        ("verdict", "Verdict"), ("frontier", "Frontier"), ("unicity", "Unicity"), ("profiles", "Profiles"),
        ("risk", "Risk"), ("validation", "Validation"), ("metrics", "Metrics"), ("thresholds", "Thresholds"),
        ("run", "Run")))
    body = "".join((verdict_section(result), baseline_section(result), frontier_section(result, colours),
                    unicity_section(data, result, colours), profiles_section(profiles, result, colours),
                    risk_section(result), validation_section(data), glossary_section(),
                    thresholds_section(result), run_section(data)))
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            "<meta name='viewport' content='width=device-width,initial-scale=1'>"
            f"<title>anonbench report — {escape(data.name)}</title><style>{CSS}</style></head><body><header>"
            f"<h1>anonbench report — {escape(data.name)} {verdict}</h1><p class='lede'>Who can be re-identified in "
            "this 'anonymized' usage metadata, and how much use is left in it? "
            f"{len(result.chains)} chains, scored against the generator's ground truth.</p>"
            f"<nav>{toc}</nav></header><main>{body}</main></body></html>\n")

