"""Reading a YAML file, and one-line errors for it (exit 2, naming the file, the line and the key).

Used by the run config (``anonbench.config``) and the thresholds files (``anonbench.thresholds``); it
imports neither, so the two no longer import each other.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from anonbench.errors import UsageError


def _loc_part(p: object) -> str:
    """A key as written, or quoted where it is empty or holds a character that would break the one-line error."""
    s = str(p)
    return s if s and s.isprintable() else repr(s)


def _loc(err: Any) -> str:
    return ".".join(_loc_part(p) for p in err.get("loc", ())) or "(top level)"


def format_validation_error(path: str | Path, e: ValidationError) -> str:
    first = e.errors()[0]
    more = f" (and {e.error_count() - 1} more)" if e.error_count() > 1 else ""
    return f"{path}: {_loc(first)}: {first['msg']}{more}"


def load_yaml(path: str | Path) -> Any:
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except OSError as e:
        raise UsageError(f"{path}: cannot read: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise UsageError(f"{path}: not UTF-8 text (byte {e.start})") from None
    try:
        return yaml.safe_load(text)
    except RecursionError:
        raise UsageError(f"{path}: not valid YAML: nested too deeply") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        if isinstance(e, yaml.reader.ReaderError):  # a character YAML does not allow (no problem mark)
            where, problem = f" position {e.position}:", f"character #x{e.character:04x} is not allowed"
        else:
            where, problem = (f" line {mark.line + 1}:" if mark else ""), str(getattr(e, "problem", None) or e)
        raise UsageError(f"{path}:{where} not valid YAML: {' '.join(str(problem).split())}") from None


__all__ = ["format_validation_error", "load_yaml"]
