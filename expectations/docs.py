"""Data Docs: a small static HTML site of the validation results, under ``validation/docs/``.

GX's own site builder loads its styles and scripts from CDNs and renders from stored GX results; anonbench's
docs are rendered from the result rows instead (counts, column names, declared parameters — the same
no-raw-values guarantee as ``validation/<stage>.parquet``), with inline CSS and no script or network request.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path

import pyarrow as pa

from runformat.layout import RAW_STAGE, TMP_PREFIX

CSS = """body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;
margin:.5em 0 1.5em}th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4}.ok{color:#1a7f37;font-weight:600}.ko{color:#cf222e;font-weight:600}
code{font-size:12px;color:#555;word-break:break-all}.num{text-align:right}h2{margin-top:1.5em}"""

ROLE_NOTE = {"raw": "data quality of the generated tables",
             "candidate": "privacy contract of a candidate chain: every expectation must pass",
             "control": "privacy contract of a control chain: expected to break (the harness must catch it)"}


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _badge(ok: bool) -> str:
    return '<span class="ok">pass</span>' if ok else '<span class="ko">FAIL</span>'


def _page(title: str, body: str) -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'">'
            f"<title>{_e(title)}</title><style>{CSS}</style></head><body>{body}</body></html>\n")


def _num(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}" if not v.is_integer() else f"{int(v):,}"
    return f"{v:,}" if isinstance(v, int) else _e(v)


def stage_page(stage: str, role: str, table: pa.Table) -> str:
    rows = table.to_pylist()
    ok = all(r["success"] for r in rows)
    parts = [f"<p><a href=\"index.html\">&larr; all stages</a></p><h1>{_e(stage)} {_badge(ok)}</h1>",
             f"<p>{_e(ROLE_NOTE.get(role, role))}. {len(rows)} expectations, "
             f"{sum(not r['success'] for r in rows)} failed.</p>"]
    for tname in sorted({r["table"] for r in rows}):
        parts.append(f"<h2>{_e(tname)}</h2><table><tr><th></th><th>expectation</th><th>column(s)</th>"
                     "<th>parameters</th><th>scope</th><th>shards</th><th>unexpected</th><th>elements</th>"
                     "<th>observed</th><th>seconds</th></tr>")
        for r in rows:
            if r["table"] != tname:
                continue
            err = f' <span class="ko">{_e(r["error"])}</span>' if r["error"] else ""
            parts.append(
                f"<tr><td>{_badge(r['success'])}</td><td>{_e(r['expectation'])}{err}</td>"
                f"<td>{_e(r['columns'])}</td><td><code>{_e(r['kwargs'])}</code></td><td>{_e(r['scope'])}</td>"
                f"<td class=num>{_num(r['shards'])}</td><td class=num>{_num(r['unexpected_count'])}</td>"
                f"<td class=num>{_num(r['element_count'])}</td><td class=num>{_num(r['observed'])}</td>"
                f"<td class=num>{r['seconds']:.3f}</td></tr>")
        parts.append("</table>")
    return _page(f"Validation: {stage}", "".join(parts))


def index_page(stages: Mapping[str, tuple[str, pa.Table]]) -> str:
    rows = []
    for stage, (role, table) in sorted(stages.items(), key=lambda kv: (kv[0] != RAW_STAGE, kv[0])):
        success = table.column("success").to_pylist()
        rows.append(f"<tr><td><a href=\"{_e(stage)}.html\">{_e(stage)}</a></td><td>{_e(role)}</td>"
                    f"<td>{_badge(all(success))}</td><td class=num>{len(success)}</td>"
                    f"<td class=num>{success.count(False)}</td></tr>")
    body = ("<h1>anonbench validation</h1><p>Great Expectations suites on the raw tables and each chain's "
            "privacy contract. Results hold counts only, never data values.</p><table><tr><th>stage</th>"
            "<th>role</th><th>result</th><th>expectations</th><th>failed</th></tr>" + "".join(rows) + "</table>")
    return _page("anonbench validation", body)


def write_docs(folder: str | Path, stages: Mapping[str, tuple[str, pa.Table]]) -> list[Path]:
    """Write ``index.html`` and one page per stage (``stages``: stage -> (role, result table)), each under a
    temporary name first and renamed into place."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    pages = {f"{stage}.html": stage_page(stage, role, table) for stage, (role, table) in stages.items()}
    pages["index.html"] = index_page(stages)
    written = []
    for name, text in pages.items():
        tmp = folder / f"{TMP_PREFIX}{name}"
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(folder / name)
        written.append(folder / name)
    return written
