"""The report in a real browser (Debian's headless Chromium): plots drawn, nothing requested, no raw value.

Chromium's own background traffic (component updates, account checks) is routed to a dead local proxy and
told apart from the page's requests by its initiator ("not an origin"); a canary page that does load a
remote image proves the detector sees a page's request.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fixtures_run import make_run, raw_identifiers

from anonbench.report import check_run, write_report
from anonbench.report.svg import PALETTE

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.e2e, pytest.mark.skipif(
    CHROMIUM is None, reason="needs Debian's chromium: apt-get update && apt-get install -y chromium")]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-default-apps",
         "--proxy-server=127.0.0.1:9", "--hide-scrollbars"]


def chromium(tmp: Path, url: str, *extra: str) -> tuple[str, list[tuple[str, str]]]:
    """Render ``url``; return the DOM after load and the (initiator, url) of every request started."""
    netlog = tmp / f"net-{len(list(tmp.glob('net-*')))}.json"
    proc = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp / 'profile'}", f"--log-net-log={netlog}",
                           *extra, url], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    log = json.loads(netlog.read_text())
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    requests = [(e["params"].get("initiator", ""), e["params"]["url"]) for e in log["events"]
                if e["type"] == start and "url" in e.get("params", {})]
    return proc.stdout, requests


def page_requests(requests: list[tuple[str, str]]) -> list[str]:
    """Requests the page made (not Chromium's own) that leave file://."""
    return [url for initiator, url in requests if initiator != "not an origin" and not url.startswith("file:")]


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    run = make_run(tmp_path_factory.mktemp("browser") / "run",
                   override={("generalize", "unicity", "reidentified_share"): 0.2})  # a failing run shows more
    result = check_run(run)
    return write_report(run, result).html


def test_detector_sees_a_page_request(tmp_path):
    canary = tmp_path / "canary.html"
    canary.write_text('<!doctype html><img src="http://127.0.0.1:9/canary.png">')
    _, requests = chromium(tmp_path, canary.as_uri(), "--dump-dom")
    assert page_requests(requests) == ["http://127.0.0.1:9/canary.png"]


def test_report_renders_offline_with_plots(report, tmp_path):
    dom, requests = chromium(tmp_path, report.as_uri(), "--dump-dom")
    assert page_requests(requests) == []
    assert dom.count("<svg") == 7
    assert len(re.findall(r"<circle", dom)) > 30 and len(re.findall(r"<polyline", dom)) >= 6
    assert "Privacy–utility frontier" in dom and "❌" not in dom  # badges are words, not emoji
    assert [v for v in raw_identifiers() if v in dom] == []


def test_screenshot_shows_the_plots(report, tmp_path):
    from PIL import Image  # Pillow comes with apache-beam

    shot = tmp_path / "report.png"
    _, requests = chromium(tmp_path, report.as_uri(), "--window-size=1400,2600", f"--screenshot={shot}")
    assert page_requests(requests) == []
    img = Image.open(shot).convert("RGB")
    counts = {c: n for n, c in img.getcolors(maxcolors=1 << 20)}
    for hexcol in PALETTE[:3]:  # the three chains' colours are painted (points, lines, profiles)
        rgb = tuple(int(hexcol[i:i + 2], 16) for i in (1, 3, 5))
        assert counts.get(rgb, 0) > 200, hexcol
