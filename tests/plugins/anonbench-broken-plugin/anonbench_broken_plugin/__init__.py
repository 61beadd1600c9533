"""Fails at import time on purpose."""

import anonbench_dependency_that_does_not_exist  # noqa: F401

Thing = None
