"""Errors that map to the exit codes fixed in DESIGN.md.

* ``UsageError``  -> exit 2: bad usage, config or input. The message is one line and names the file, key or
  column at fault. Raised anywhere in the project (the Beam-free packages raise ``ValueError`` subclasses of
  their own; the CLI converts those that are marked as input errors).
* ``CheckFailed`` -> exit 1: the work completed, but a check or threshold failed.
"""

from __future__ import annotations


class AnonbenchError(Exception):
    exit_code = 2


class UsageError(AnonbenchError):
    """Bad usage, configuration or input (exit 2). One line, naming the file, key or column."""

    exit_code = 2


class CheckFailed(AnonbenchError):
    """The run completed but a check or threshold failed (exit 1)."""

    exit_code = 1
