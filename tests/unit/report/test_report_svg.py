"""anonbench.report.svg: well-formed SVG, marks inside the canvas, text escaped."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anonbench.report import svg

unit = st.floats(0, 1, allow_nan=False)


def _parse(doc: str) -> ET.Element:
    return ET.fromstring(doc)


def _inside(doc: str, width: float, height: float) -> bool:
    nums = [(float(x), float(y)) for x, y in re.findall(r'c[x]="([-\d.]+)" c[y]="([-\d.]+)"', doc)]
    return all(-1 <= x <= width + 1 and -1 <= y <= height + 1 for x, y in nums)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=12), unit, unit, st.booleans()), max_size=8))
def test_scatter_is_wellformed(points):
    pts = [svg.Point(label, x, y, svg.colour(i), hollow) for i, (label, x, y, hollow) in enumerate(points)]
    doc = svg.scatter(pts, "risk", "utility", "t", 0.09, pts[:3])
    root = _parse(doc)
    assert len(root.findall(".//circle")) == len(points)
    assert _inside(doc, 640, 380)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.tuples(st.integers(1, 20), unit), min_size=1, max_size=6, unique_by=lambda t: t[0]),
                min_size=1, max_size=5))
def test_lines_is_wellformed(data):
    series = [svg.Series(f"s{i}", tuple(float(x) for x, _ in d), tuple(y for _, y in d), svg.colour(i), i % 2 == 1)
              for i, d in enumerate(data)]
    doc = svg.lines(series, "p", "share", "t", 0.09)
    root = _parse(doc)
    assert len(root.findall(".//polyline")) == len(series)
    assert _inside(doc, 640, 340)


def test_week_profile_and_dot_plot():
    raw = [1 / 168] * 168
    anon = [(h % 24) / (24 * 11.5 * 7) for h in range(168)]
    root = _parse(svg.week_profile(raw, anon, "generalize", "#000", "TVD 0.1"))
    assert root.find(".//polygon") is not None and root.find(".//polyline") is not None
    assert [t.text for t in root.findall(".//text")][:7] == list(svg.DAYS)
    root = _parse(svg.dot_plot(["a.b", "c.d"], [("raw", [0.5, 0.5], "#000"), ("x", [0.4, 0.6], "#111")], "t"))
    assert len(root.findall(".//circle")) == 4 + 2  # dots + legend


def test_labels_are_escaped():
    doc = svg.scatter([svg.Point("<script>&", 0.5, 0.5, "#000")], "x<", "y>", "t<")
    _parse(doc)
    assert "<script>" not in doc and "&lt;script&gt;&amp;" in doc


def test_no_external_references():
    doc = svg.lines([svg.Series("a", (1.0, 2.0), (0.1, 0.2), "#000")], "p", "y", "t")
    assert "http" not in doc and "href" not in doc


@pytest.mark.parametrize(("hi", "expected"), [
    (0.19, [0.0, 0.05, 0.1, 0.15, 0.2]), (1.0, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]), (0.013, [0.0, 0.005, 0.01, 0.015]),
])
def test_nice_ticks(hi, expected):
    assert svg.nice_ticks(hi, 4 if hi != 1.0 else 5) == pytest.approx(expected)
