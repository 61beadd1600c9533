"""anonbench.report.page: one self-contained, offline page with its plots, tables and glossary."""

from __future__ import annotations

import json
import re

import pytest
from fixtures_run import raw_identifiers

from anonbench.report.gate import evaluate
from anonbench.report.page import CSP, render
from anonbench.report.profiles import activity_profiles
from anonbench.report.results import load_run

URL_ATTR = re.compile(r"""(?:src|href|xlink:href|action|srcset)\s*=\s*["']?\s*(?!#)([^"'\s>]+)""", re.I)


@pytest.fixture
def page(run_dir) -> str:
    data = load_run(run_dir)
    return render(data, evaluate(data), activity_profiles(run_dir, [c.name for c in data.chains]))


def test_self_contained(page):
    assert f'content="{CSP}"' in page
    assert URL_ATTR.findall(page) == []          # only in-page #anchors
    assert "<script" not in page.lower() and "<link" not in page.lower() and "@import" not in page
    assert "url(" not in page


def test_sections_and_plots(page):
    for anchor in ("verdict", "frontier", "unicity", "profiles", "risk", "validation", "metrics", "thresholds",
                   "run"):
        assert f"id='{anchor}'" in page
    assert page.count("<svg") == 1 + 2 + 3 + 1  # frontier, 2 unicity charts, 3 week profiles, actions
    assert "de Montjoye" in page and "Gebru" not in page and "EMA Policy 0070" in page


def test_no_raw_value(page):
    leaked = [v for v in raw_identifiers() if v in page]
    assert leaked == []


def test_run_strings_are_escaped(make):
    run = make()
    (run / "anon" / "generalize").rename(run / "anon" / "<b>x")
    man = json.loads((run / "manifest.json").read_text())
    man["chains"]["<b>x"] = man["chains"]["generalize"]
    (run / "manifest.json").write_text(json.dumps(man))
    data = load_run(run)
    html = render(data, evaluate(data), {})
    assert "<b>x" not in html and "&lt;b&gt;x" in html
