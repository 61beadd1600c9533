"""Errors that map to the exit codes fixed in DESIGN.md; ``anonbench.cli`` maps them, in one place.

* :class:`InputError` (``generators.errors``) -> exit 2: bad usage, config or input. The message is one line
  and names the file, key or column at fault. The whole family maps to exit 2: the Beam-free packages and
  ``pipelines`` raise subclasses of their own (``ChainError``, ``SecretError``, ``PluginError``,
  ``TableError``, ``RunError``, ``ImportError_``), the commands raise :class:`UsageError`.
* :class:`CheckFailed` -> exit 1: the work completed, but a check or threshold failed.
* anything else is a bug -> exit 3 (one line; ``--debug`` for the traceback).
"""

from __future__ import annotations

import re
import sys

from generators.errors import InputError


class AnonbenchError(Exception):
    """An outcome with its own exit code (``exit_code``)."""

    exit_code = 2


class UsageError(InputError):
    """Bad usage, configuration or input (exit 2), raised by the commands. One line, naming the file, key or
    column."""

    exit_code = 2


class CheckFailed(AnonbenchError):
    """The run completed but a check or threshold failed (exit 1)."""

    exit_code = 1


_BEAM_SUFFIX = re.compile(r" \[while running '[^']*'\]$")
_REMOTE = re.compile(r"^([A-Za-z_][\w.]*)\.([A-Za-z_]\w*): (.*)$")


def _remote_input_error(e: BaseException) -> str | None:
    """The message of an input error raised in a Beam worker process, whose runner re-raised it as a
    ``RuntimeError`` carrying the remote traceback as text (``module.Class: message`` on its last line)."""
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    for line in reversed(lines):
        m = _REMOTE.match(line)
        if not m:
            continue
        module = sys.modules.get(m.group(1))
        cls = getattr(module, m.group(2), None) if module is not None else None
        if isinstance(cls, type) and issubclass(cls, InputError):
            return m.group(3)
    return None


def classify(e: BaseException) -> tuple[int, str]:
    """(exit code, one-line message) of an exception that ended a command: 2 for the input-error family
    (also when a runner wrapped it: Beam re-raises a worker's error with ``[while running ...]`` appended, or
    as text from a worker process), 1 for a failed check, 3 for anything else (a bug)."""
    seen: set[int] = set()
    cur: BaseException | None = e
    while cur is not None and id(cur) not in seen:  # the error itself, or what it was raised from (not an
        # error it was raised *while handling*: a bug in an ``except InputError`` block stays a bug)
        seen.add(id(cur))
        if isinstance(cur, InputError | AnonbenchError):
            text = str(cur).strip()
            line = _BEAM_SUFFIX.sub("", text.splitlines()[0]) if text else type(cur).__name__
            return (2 if isinstance(cur, InputError) else cur.exit_code), line
        cur = cur.__cause__
    remote = _remote_input_error(e)
    if remote is not None:
        return 2, _BEAM_SUFFIX.sub("", remote)
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    # Beam wraps worker errors in a RuntimeError whose text is the remote traceback: show its last line.
    msg = lines[-1] if lines and lines[0].startswith("Traceback") else (lines[0] if lines else "")
    return 3, f"internal error: {type(e).__name__}: {msg} (re-run with --debug for the traceback)"


__all__ = ["AnonbenchError", "CheckFailed", "InputError", "UsageError", "classify"]
