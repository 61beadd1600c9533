"""The privacy–utility frontier: one point per chain and ε, the sweep joined in ε order, the Pareto front."""

from __future__ import annotations

import re

import pytest

from anonbench.report.gate import ChainVerdict, CheckResult, Outcome
from anonbench.report.page import _colours, frontier_section
from anonbench.report.results import ChainInfo
from reid.utility import DIRECTION, HEADLINE


def dp_step(eps: float) -> dict:
    return {"use": "dp.synthesize", "report": {"budget": {"epsilon": eps, "delta": 1e-6}}}


def verdict(name: str, risk: float, utility: float, role: str = "candidate", steps: tuple = ()) -> ChainVerdict:
    """A chain whose headline risk is ``risk`` and whose headline figures all score ``utility``."""
    outs = [Outcome(name, "unicity", "reidentified_share", {"p": 4}, risk, None, None, 100)]
    for m in HEADLINE:
        f = DIRECTION[m]
        outs.append(Outcome(name, "utility", m, {}, f.worst + utility * (f.best - f.worst), None, None, 10))
    return ChainVerdict(ChainInfo(name, role, steps), tuple(outs), True)


@pytest.mark.parametrize(("steps", "eps"), [
    ((), None), ((dp_step(1.0),), 1.0), ((dp_step(0.5), {"use": "drop"}, dp_step(0.25)), 0.75),
    (({"use": "x", "report": {"budget": {"epsilon": "1"}}},), None), (({"use": "x", "report": "n/a"},), None),
])
def test_chain_epsilon_from_the_manifest_steps(steps, eps):
    assert ChainInfo("c", steps=steps).epsilon == eps


def test_frontier_labels_chains_and_epsilons_and_joins_a_sweep():
    sweep = [verdict(f"dp-synthetic-eps{e:g}", 0.01 * e, min(1.0, 0.3 + 0.1 * e), steps=(dp_step(e),))
             for e in (4, 0.5, 1, 2)]
    chains = (verdict("pseudonymize", 0.9, 1.0), verdict("kanon", 0.95, 0.8), *sweep,
              verdict("none", 1.0, 1.0, role="control"))
    result = CheckResult("r", chains, (0, 0))
    html = frontier_section(result, _colours(result))
    for e in ("0.5", "1", "2", "4"):
        assert f"dp-synthetic ε={e}</text>" in html
    assert "none (control)" in html and "pseudonymize</text>" in html
    colours = _colours(result)
    assert len({colours[v.chain.name] for v in sweep}) == 1           # one family, one colour
    sweep_line = re.search(rf'<polyline points="([^"]+)" fill="none" stroke="{colours[sweep[0].chain.name]}"', html)
    assert sweep_line is not None
    xs = [float(p.split(",")[0]) for p in sweep_line.group(1).split()]
    assert xs == sorted(xs) and len(xs) == 4                           # in ε order (risk grows with ε here)
    assert "Pareto front" in html                                      # the staircase
    rows = dict(re.findall(r"<tr><td>([^<]+)</td>.*?<td>(on the front|)</td></tr>", html))
    assert rows["dp-synthetic ε=4"] == "on the front" and rows["pseudonymize"] == "on the front"
    assert rows["kanon"] == "" and rows["none (control)"] == ""         # dominated; controls are not candidates
    assert "lower is safer" in html and "higher keeps more" in html
