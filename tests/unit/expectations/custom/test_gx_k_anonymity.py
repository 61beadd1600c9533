from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from expectations.custom.k_anonymity import class_sizes, k_anonymity_stats

FRAME = pd.DataFrame({"a": ["x", "x", "x", "y", "y", None], "b": [1, 1, 1, 2, 2, 2], "w": [1, 1, 1, 5, 5, 1]})


@pytest.mark.parametrize(("cols", "k", "weight", "ok", "below", "min_size"), [
    (["a"], 2, None, False, 1, 1),        # the null forms its own class of one
    (["a", "b"], 3, None, False, 3, 1),
    (["b"], 3, None, True, 0, 3),
    (["a"], 2, "w", False, 1, 1),
    (["b"], 4, "w", False, 3, 3),
    (["b"], 3, "w", True, 0, 3),
])
def test_expectation(check, cols, k, weight, ok, below, min_size):
    o = check(FRAME, "expect_column_combination_to_be_k_anonymous", column_list=cols, k=k, weight_column=weight)
    assert (o.success, o.unexpected_count, o.observed) == (ok, below, min_size)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2)), min_size=1, max_size=60), st.integers(1, 6))
def test_stats_match_a_plain_count(rows, k):
    df = pd.DataFrame(rows, columns=["a", "b"])
    sizes = class_sizes(df, ["a", "b"])
    counts = df.groupby(["a", "b"]).size().to_numpy()
    assert sorted(sizes) == sorted(counts)
    stats = k_anonymity_stats(np.asarray(sizes), k)
    assert stats["records_below_k"] == counts[counts < k].sum()
    assert stats["records"] == len(rows)
