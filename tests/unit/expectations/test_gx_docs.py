from __future__ import annotations

import re

from expectations.docs import write_docs
from expectations.results import Outcome, to_table


def test_docs_are_offline_and_escape_everything(tmp_path):
    rows = [Outcome("users", "expect_x", "<b>col</b>", '{"regex": "<script>"}', False, 1, 2),
            Outcome("users", "expect_y", "c", "{}", True, 0, 2)]
    files = write_docs(tmp_path, {"raw": ("raw", to_table("raw", rows)),
                                  "anon-x": ("control", to_table("anon-x", rows[1:]))})
    assert {f.name for f in files} == {"index.html", "raw.html", "anon-x.html"}
    for f in files:
        text = f.read_text()
        assert "<script" not in text and not re.search(r"(src|href)=\"(https?:)?//", text)
        assert "default-src 'none'" in text
    raw = (tmp_path / "raw.html").read_text()
    assert "&lt;b&gt;col&lt;/b&gt;" in raw and "FAIL" in raw
    assert not list(tmp_path.glob(".tmp-*"))
