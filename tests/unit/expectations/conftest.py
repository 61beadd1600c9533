from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the `gx_fakes` helpers, also from tests/unit/expectations/custom


@pytest.fixture(scope="session")
def gx_validator():
    from expectations.engine import GxValidator

    return GxValidator()


@pytest.fixture(scope="session")
def check(gx_validator):
    """check(frame, type, **kwargs) -> the Outcome of one expectation on a pandas frame or Arrow table."""
    from expectations.engine import ExpectationSpec

    def run(frame, type_, **kwargs):
        (outcome,) = gx_validator.validate(frame, [ExpectationSpec(type_, kwargs)], "t")
        return outcome

    return run
