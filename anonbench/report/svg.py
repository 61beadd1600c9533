"""Hand-written inline SVG charts: no JavaScript, no fonts or styles from anywhere but the page itself.

Four kinds, each a function returning one ``<svg>`` string: a scatter (the privacy–utility frontier), lines
(unicity against known points), a 168-hour profile (raw shaded, anonymized as a line), and a dot plot (shares
per category). Every mark carries a ``<title>`` so hovering shows its exact figure. Colours are the Okabe–Ito
palette, safe for colour-blind readers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape as _html_escape

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#8C6D1F", "#5E5E9E")
INK, GRID, MUTED, RAW = "#1f2328", "#d8dee4", "#57606a", "#8c959f"
FONT = 'font-family="system-ui,-apple-system,Segoe UI,Roboto,sans-serif"'


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def escape(text: str) -> str:
    """HTML/XML-escaped text without control characters (which XML forbids)."""
    return _html_escape(_CONTROL.sub("", text))


def colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def fmt(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:,.0f}"


@dataclass(frozen=True)
class Frame:
    """A plotting area inside an SVG canvas, with linear scales."""

    width: int = 640
    height: int = 360
    left: int = 64
    right: int = 24
    top: int = 20
    bottom: int = 52
    x0: float = 0.0
    x1: float = 1.0
    y0: float = 0.0
    y1: float = 1.0

    def x(self, v: float) -> float:
        span = (self.x1 - self.x0) or 1.0
        return self.left + (v - self.x0) / span * (self.width - self.left - self.right)

    def y(self, v: float) -> float:
        span = (self.y1 - self.y0) or 1.0
        return self.height - self.bottom - (v - self.y0) / span * (self.height - self.top - self.bottom)

    def open(self, label: str) -> str:
        return (f'<svg viewBox="0 0 {self.width} {self.height}" '
                f'width="{self.width}" height="{self.height}" role="img" aria-label="{escape(label)}" {FONT} '
                f'font-size="12" class="chart"><title>{escape(label)}</title>')

    def axes(self, x_ticks: Sequence[float], y_ticks: Sequence[float], x_label: str, y_label: str,
             x_fmt=fmt, y_fmt=fmt) -> str:
        out = []
        for t in y_ticks:
            yy = self.y(t)
            out.append(f'<line x1="{self.left}" x2="{self.width - self.right}" y1="{yy:.1f}" y2="{yy:.1f}" '
                       f'stroke="{GRID}"/><text x="{self.left - 6}" y="{yy + 4:.1f}" text-anchor="end" '
                       f'fill="{MUTED}">{escape(y_fmt(t))}</text>')
        base = self.height - self.bottom
        for t in x_ticks:
            xx = self.x(t)
            out.append(f'<line x1="{xx:.1f}" x2="{xx:.1f}" y1="{base}" y2="{base + 4}" stroke="{MUTED}"/>'
                       f'<text x="{xx:.1f}" y="{base + 18}" text-anchor="middle" fill="{MUTED}">'
                       f'{escape(x_fmt(t))}</text>')
        out.append(f'<line x1="{self.left}" x2="{self.width - self.right}" y1="{base}" y2="{base}" '
                   f'stroke="{INK}"/>')
        mid_x = (self.left + self.width - self.right) / 2
        mid_y = (self.top + base) / 2
        out.append(f'<text x="{mid_x:.1f}" y="{self.height - 12}" text-anchor="middle" fill="{INK}">'
                   f'{escape(x_label)}</text>')
        out.append(f'<text transform="translate(16 {mid_y:.1f}) rotate(-90)" text-anchor="middle" '
                   f'fill="{INK}">{escape(y_label)}</text>')
        return "".join(out)


def ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    step = (hi - lo) / n if hi > lo else 1.0
    return [lo + i * step for i in range(n + 1)]


def nice_ticks(hi: float, n: int = 5) -> list[float]:
    """0 and round steps (1, 2 or 5 × 10^k) up to at least ``hi``."""
    raw = max(hi, 1e-12) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    return [i * step for i in range(math.ceil(hi / step - 1e-9) + 1)]


@dataclass(frozen=True)
class Point:
    label: str
    x: float
    y: float
    colour: str
    hollow: bool = False
    note: str = ""


def _staircase(f: Frame, front: Sequence[Point]) -> str:
    """The Pareto front as steps: from each front point right to the next one's risk, then up to it."""
    pts = sorted(front, key=lambda p: (p.x, p.y))
    if not pts:
        return ""
    xy = [(f.x(pts[0].x), f.y(pts[0].y))]
    for p in pts[1:]:
        xy += [(f.x(p.x), xy[-1][1]), (f.x(p.x), f.y(p.y))]
    xy.append((f.x(1.0), xy[-1][1]))                    # nothing better exists beyond the last point
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
    return (f'<polyline points="{path}" fill="none" stroke="{MUTED}" stroke-width="1.5" stroke-dasharray="5 4">'
            "<title>Pareto front: no chain has both lower risk and higher utility than a point on it</title>"
            "</polyline>")


def scatter(points: Sequence[Point], x_label: str, y_label: str, title: str,
            x_limit: float | None = None, frontier: Sequence[Point] = (),
            paths: Sequence[tuple[str, Sequence[Point]]] = ()) -> str:
    """Points in [0,1]², a shaded band right of ``x_limit``, the ``frontier`` as a dashed staircase, and
    ``paths`` (colour, points) as thin lines — e.g. one chain at several privacy budgets, in ε order."""
    f = Frame(width=720, height=420 + 14 * max(0, len(points) - 8), right=170, x0=-0.03, x1=1.03, y0=-0.04,
              y1=1.04)
    out = [f.open(title)]
    if x_limit is not None and 0 <= x_limit < 1:
        xl = f.x(x_limit)
        out.append(f'<rect x="{xl:.1f}" y="{f.y(1.04):.1f}" width="{f.x(1.03) - xl:.1f}" '
                   f'height="{f.y(-0.04) - f.y(1.04):.1f}" '
                   f'fill="#ffebe9"/><text x="{xl + 6:.1f}" y="{f.y(0) - 8:.1f}" '
                   f'fill="#cf222e">risk above threshold {fmt(x_limit)}</text>')
    out.append(f.axes(ticks(0, 1), ticks(0, 1), x_label, y_label))
    out.append(f'<text x="{f.x(0) + 4:.1f}" y="{f.y(1.04) + 14:.1f}" fill="{MUTED}" font-style="italic">'
               "↖ better: safer and more useful</text>")
    for col, members in paths:
        if len(members) > 1:
            line = " ".join(f"{f.x(min(max(p.x, 0), 1)):.1f},{f.y(min(max(p.y, 0), 1)):.1f}" for p in members)
            out.append(f'<polyline points="{line}" fill="none" stroke="{col}" stroke-width="1.5" '
                       'stroke-opacity="0.7"/>')
    if len(frontier) > 1:
        out.append(_staircase(f, frontier))
    groups: dict[tuple[int, int], list[Point]] = {}  # points at (about) the same spot share one label block
    for p in sorted(points, key=lambda p: (-p.y, p.x)):
        cx, cy = f.x(min(max(p.x, 0), 1)), f.y(min(max(p.y, 0), 1))
        groups.setdefault((round(cx / 8), round(cy / 8)), []).append(p)
    placed: list[tuple[float, float, float, float]] = []  # label blocks drawn: x0, x1, y0, y1
    for members in groups.values():
        cx, cy = f.x(min(max(members[0].x, 0), 1)), f.y(min(max(members[0].y, 0), 1))
        for k, p in enumerate(members):
            angle = 2 * math.pi * k / len(members)
            px, py = (cx, cy) if k == 0 else (cx + 8 * math.cos(angle), cy + 8 * math.sin(angle))
            fill = "white" if p.hollow else p.colour
            tip = f"{p.label}: risk {fmt(p.x)}, utility {fmt(p.y)}" + (f" ({p.note})" if p.note else "")
            out.append(f'<g class="point"><title>{escape(tip)}</title><circle cx="{px:.1f}" cy="{py:.1f}" r="7" '
                       f'fill="{fill}" stroke="{p.colour}" stroke-width="2.5"/></g>')
        width = 7.0 * max(len(p.label) for p in members) + 14
        left_side = cx + 16 + width > f.width - 4
        x0 = cx - 16 - width if left_side else cx + 16
        y0 = cy - 6 if len(members) == 1 else cy - 2
        height = 15 * len(members)
        while any(a < x0 + width and x0 < b and c < y0 + height and y0 < d for a, b, c, d in placed):
            y0 += 15
        placed.append((x0, x0 + width, y0, y0 + height))
        for i, p in enumerate(members):
            ty = y0 + 10 + 15 * i
            out.append(f'<rect x="{x0:.1f}" y="{ty - 8:.1f}" width="9" height="9" rx="2" fill="{p.colour}"/>'
                       f'<text x="{x0 + 13:.1f}" y="{ty:.1f}" fill="{INK}" font-weight="600" stroke="white" '
                       f'stroke-width="3" paint-order="stroke">{escape(p.label)}</text>')
    return "".join(out) + "</svg>"


@dataclass(frozen=True)
class Series:
    label: str
    xs: tuple[float, ...]
    ys: tuple[float, ...]
    colour: str
    dashed: bool = False


def lines(series: Sequence[Series], x_label: str, y_label: str, title: str,
          y_limit: float | None = None) -> str:
    """Line chart with markers; y in [0,1]; x spans the data; a dashed red rule at ``y_limit``."""
    xs = [x for s in series for x in s.xs] or [1.0]
    lo, hi = min(xs), max(xs)
    f = Frame(width=640, height=340, right=150, x0=lo, x1=hi if hi > lo else lo + 1)
    out = [f.open(title)]
    x_ticks = sorted(set(xs)) if len(set(xs)) <= 12 else ticks(lo, hi)
    out.append(f.axes(x_ticks, ticks(0, 1), x_label, y_label, x_fmt=lambda v: f"{v:g}"))
    if y_limit is not None and 0 < y_limit < 1:
        yl = f.y(y_limit)
        out.append(f'<line x1="{f.left}" x2="{f.width - f.right}" y1="{yl:.1f}" y2="{yl:.1f}" stroke="#cf222e" '
                   f'stroke-dasharray="6 4"/><text x="{f.width - f.right + 4}" y="{yl + 4:.1f}" '
                   f'fill="#cf222e">threshold {fmt(y_limit)}</text>')
    for i, s in enumerate(series):
        pts = sorted(zip(s.xs, s.ys, strict=True))
        path = " ".join(f"{f.x(x):.1f},{f.y(y):.1f}" for x, y in pts)
        dash = ' stroke-dasharray="4 3"' if s.dashed else ""
        out.append(f'<g class="series"><polyline points="{path}" fill="none" stroke="{s.colour}" '
                   f'stroke-width="2.5"{dash}/>')
        for x, y in pts:
            out.append(f'<circle cx="{f.x(x):.1f}" cy="{f.y(y):.1f}" r="3.5" fill="{s.colour}">'
                       f'<title>{escape(s.label)}: p={x:g}, {fmt(y)}</title></circle>')
        if pts:
            ly = f.top + 14 + 18 * i
            out.append(f'<line x1="{f.width - f.right + 10}" x2="{f.width - f.right + 30}" y1="{ly - 4}" '
                       f'y2="{ly - 4}" stroke="{s.colour}" stroke-width="2.5"{dash}/>'
                       f'<text x="{f.width - f.right + 35}" y="{ly}" fill="{INK}">{escape(s.label)}</text>')
        out.append("</g>")
    return "".join(out) + "</svg>"


DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def week_profile(raw: Sequence[float], anon: Sequence[float] | None, label: str, anon_colour: str,
                 note: str = "") -> str:
    """168 hourly shares: raw as a grey area, the chain's as a line; days marked below."""
    peak = max([*raw, *(anon or ()), 1e-9])
    f = Frame(width=640, height=170, left=48, right=12, top=26, bottom=26, x0=0, x1=168, y0=0, y1=peak * 1.1)
    out = [f.open(f"Events per hour of week: raw and {label}")]
    for d in range(7):
        xx = f.x(d * 24)
        out.append(f'<line x1="{xx:.1f}" x2="{xx:.1f}" y1="{f.top}" y2="{f.y(0):.1f}" stroke="{GRID}"/>'
                   f'<text x="{f.x(d * 24 + 12):.1f}" y="{f.height - 8}" text-anchor="middle" '
                   f'fill="{MUTED}">{DAYS[d]}</text>')
    area = " ".join(f"{f.x(h + 0.5):.1f},{f.y(v):.1f}" for h, v in enumerate(raw))
    out.append(f'<polygon points="{f.x(0.5):.1f},{f.y(0):.1f} {area} {f.x(167.5):.1f},{f.y(0):.1f}" '
               f'fill="{RAW}" fill-opacity="0.45"><title>raw</title></polygon>')
    out.append(f'<text x="{f.left}" y="14" fill="{INK}" font-weight="600">{escape(label)}</text>'
               f'<text x="{f.width - f.right}" y="14" text-anchor="end" fill="{MUTED}">'
               f'{escape(note)}</text>')
    if anon:
        line = " ".join(f"{f.x(h + 0.5):.1f},{f.y(v):.1f}" for h, v in enumerate(anon))
        out.append(f'<polyline points="{line}" fill="none" stroke="{anon_colour}" stroke-width="1.6">'
                   f'<title>{escape(label)}</title></polyline>')
    out.append(f'<line x1="{f.left}" x2="{f.width - f.right}" y1="{f.y(0):.1f}" y2="{f.y(0):.1f}" '
               f'stroke="{INK}"/><text x="{f.left - 6}" y="{f.top + 8}" text-anchor="end" fill="{MUTED}">'
               f'{peak:.1%}</text>')
    return "".join(out) + "</svg>"


def dot_plot(categories: Sequence[str], series: Sequence[tuple[str, Sequence[float], str]], title: str) -> str:
    """One row per category, one dot per series (label, shares, colour); x = share of events."""
    grid = nice_ticks(max([v for _, vals, _ in series for v in vals] + [1e-9]), 4)
    peak = grid[-1] / 1.08
    row = 24
    f = Frame(width=640, height=row * len(categories) + 70 + 18 * ((len(series) + 3) // 4), left=170, right=24,
              top=12, bottom=46 + 18 * ((len(series) + 3) // 4), x0=0, x1=peak * 1.08, y0=0, y1=1)
    out = [f.open(title)]
    for i, cat in enumerate(categories):
        yy = f.top + row * i + row / 2
        out.append(f'<line x1="{f.left}" x2="{f.width - f.right}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="{GRID}"/>'
                   f'<text x="{f.left - 8}" y="{yy + 4:.1f}" text-anchor="end" fill="{INK}">{escape(cat)}</text>')
        for j, (label, vals, col) in enumerate(series):
            v = vals[i]
            hollow = label == "raw"
            dy = (j - (len(series) - 1) / 2) * min(4.0, 16 / max(len(series), 1))
            out.append(f'<circle cx="{f.x(v):.1f}" cy="{yy + dy:.1f}" r="{6 if hollow else 4.5}" '
                       f'fill="{"none" if hollow else col}" stroke="{col}" stroke-width="2">'
                       f'<title>{escape(label)}: {escape(cat)} {v:.2%}</title></circle>')
    base = f.top + row * len(categories)
    for t in grid:
        out.append(f'<text x="{f.x(t):.1f}" y="{base + 16}" text-anchor="middle" fill="{MUTED}">{t:.0%}</text>')
    out.append(f'<text x="{(f.left + f.width - f.right) / 2:.1f}" y="{base + 34}" text-anchor="middle" '
               f'fill="{INK}">share of events</text>')
    for j, (label, _, col) in enumerate(series):
        lx, ly = f.left + 115 * (j % 4), base + 56 + 18 * (j // 4)
        out.append(f'<circle cx="{lx}" cy="{ly - 4}" r="5" fill="{"none" if label == "raw" else col}" '
                   f'stroke="{col}" stroke-width="2"/><text x="{lx + 10}" y="{ly}" fill="{INK}">'
                   f'{escape(label)}</text>')
    return "".join(out) + "</svg>"
