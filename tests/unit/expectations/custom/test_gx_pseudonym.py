from __future__ import annotations

import hashlib
import re

import pyarrow as pa
import pytest

from expectations.forms import PSEUDONYM_FORMS, pseudonym_regex

SHA = hashlib.sha256(b"x").hexdigest()


@pytest.mark.parametrize(("form", "value", "ok"), [
    ("hex64", SHA, True),
    ("hex64", SHA.upper(), False),
    ("hex64", SHA[:32], False),
    ("hex64", SHA + "0", False),
    ("hex32", SHA[:32], True),
    (r"u_[0-9a-f]{32}", "u_" + SHA[:32], True),
    (r"u_[0-9a-f]{32}", SHA[:32], False),
    ("uuid", "123e4567-e89b-12d3-a456-426614174000", True),
    ("hex64", "ann@example.com", False),
])
def test_forms(check, form, value, ok):
    o = check(pa.table({"p": [value, None]}), "expect_column_values_to_be_pseudonyms", column="p", form=form)
    assert o.success is ok
    assert o.unexpected_count == (0 if ok else 1)


def test_named_forms_compile_and_unknown_regex_is_refused():
    assert all(pseudonym_regex(name) == rx for name, rx in PSEUDONYM_FORMS.items())
    with pytest.raises(re.error):
        pseudonym_regex("[unclosed")


@pytest.mark.parametrize("repeats", [1, 5])  # all distinct (row by row) and repeated (once per distinct value)
def test_full_match_agrees_with_python_re(repeats):
    import pandas as pd

    from expectations.arrowcol import full_match

    values = [SHA, SHA[:63] + "g", None, "u_" + SHA[:32], SHA.upper(), ""] * repeats
    got = full_match(pd.Series(values, dtype="str"), PSEUDONYM_FORMS["hex64"]).tolist()
    assert got == [v is None or re.fullmatch(PSEUDONYM_FORMS["hex64"], v) is not None for v in values]
