"""Committing a stage's outputs to a run directory: write beside, swap in with one rename, manifest last.

A stage never writes inside ``RUN/``. It writes its outputs into a *staging area*, a sibling folder
``<parent>/.<run>.stage-<nonce>/`` laid out like a run (e.g. ``anon/<chain>/<table>/part-NNNNN.parquet``).
To commit, it builds the next version of the whole run beside it, ``<parent>/.<run>.tmp-<nonce>/``: hard links
to every file of ``RUN/`` that stays (no data is copied), the staged outputs renamed in, and the new
``manifest.json`` written last. One ``renameat2(RENAME_EXCHANGE)`` then swaps the two folders: at every instant
``RUN/`` is either the complete old run or the complete new one, and what its manifest lists is there with its
checksum. The old version (now at the ``.tmp-`` name) is deleted afterwards.

A kill at any moment leaves ``RUN/`` untouched (before the swap) or committed (after it), plus sibling
leftovers that the next stage removes (:func:`cleanup`). Commits of one parent folder are serialised by an
``flock`` on that folder; a staging area is flock'ed by its owner while it lives, so a cleaner never deletes
the work of a stage that is still running. Without ``RENAME_EXCHANGE`` (not Linux, or a file system without
it) the swap takes two renames; a kill between them leaves no ``RUN/`` and the old run at ``.old-<nonce>``,
which :func:`cleanup` moves back. Files are renamed, never rewritten in place, so a hard-linked file of the old
version never changes. Durability against power loss (fsync) is not attempted: the guarantee is for killed
processes, the case ``make killtest`` tests.

``ANONBENCH_KILLPOINT=<name>`` (a test hook, inert unless set) makes the process stop itself with SIGSTOP at
the named point: ``commit-begin``, ``commit-built`` (new version complete, before the swap), ``commit-swapped``
(after the swap, before the old version is deleted) and ``commit-gap`` (between the two renames of the
fallback), so the kill test can SIGKILL it exactly there.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import secrets
import shutil
import signal
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from pipelines import manifest
from runformat.layout import MANIFEST, sibling_kind, sibling_name

KILLPOINT_ENV = "ANONBENCH_KILLPOINT"
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


class CommitError(OSError):
    """The run directory cannot be swapped (e.g. it is a mount point, or its parent is read-only)."""


def killpoint(name: str) -> None:
    """Stop this process (SIGSTOP) when ``$ANONBENCH_KILLPOINT`` names this point; nothing otherwise."""
    if os.environ.get(KILLPOINT_ENV) == name:
        os.kill(os.getpid(), signal.SIGSTOP)


def _resolved(run: str | Path) -> Path:
    run = Path(run).resolve()
    if not run.name:
        raise CommitError(f"{run}: a run directory cannot be a file-system root")
    return run


def _sibling(run: Path, kind: str) -> Path:
    return run.parent / sibling_name(run.name, kind, secrets.token_hex(6))


def _siblings(run: Path) -> list[tuple[str, Path]]:
    out = []
    with contextlib.suppress(FileNotFoundError):
        for p in run.parent.iterdir():
            kind = sibling_kind(run.name, p.name)
            if kind is not None:
                out.append((kind, p))
    return sorted(out, key=lambda kp: kp[1].name)


@contextlib.contextmanager
def _locked(path: Path, how: int) -> Iterator[bool]:
    """Hold an ``flock`` on ``path`` (a folder); yields False when a non-blocking lock is refused."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        yield False
        return
    try:
        try:
            fcntl.flock(fd, how)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def parent_lock(run: Path) -> contextlib.AbstractContextManager[bool]:
    """Serialise commits (and cleanups) of the runs in one folder."""
    run.parent.mkdir(parents=True, exist_ok=True)
    return _locked(run.parent, fcntl.LOCK_EX)


def _rmtree(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _cleanup_locked(run: Path) -> list[Path]:
    removed = []
    siblings = _siblings(run)
    if not run.exists():  # killed between the two renames of the fallback swap: put the old run back
        olds = [p for kind, p in siblings if kind == "old" and manifest.is_complete(p)]
        if olds:
            os.rename(olds[-1], run)
            siblings = _siblings(run)
    for kind, p in siblings:
        if kind == "stage":
            with _locked(p, fcntl.LOCK_EX | fcntl.LOCK_NB) as free:
                if not free:
                    continue  # a stage that is still running
        _rmtree(p)
        removed.append(p)
    return removed


def cleanup(run: str | Path) -> list[Path]:
    """Remove what killed stages of ``run`` left beside it (staging areas, unfinished or old versions);
    restore the old run when a fallback swap was cut between its two renames. Returns what was removed."""
    run = _resolved(run)
    with parent_lock(run):
        return _cleanup_locked(run)


class StagingArea:
    """A fresh staging area for one stage of a run, flock'ed while it lives; ``close`` removes it. Creating
    one first cleans the leftovers of killed stages. (``with staging(run) as path`` does both.)"""

    def __init__(self, run: str | Path) -> None:
        run = _resolved(run)
        cleanup(run)
        self.path = _sibling(run, "stage")
        try:
            self.path.mkdir()
        except OSError as e:
            raise CommitError(f"{run.parent}: cannot write there ({e.strerror})") from None
        self._fd: int | None = os.open(self.path, os.O_RDONLY)
        fcntl.flock(self._fd, fcntl.LOCK_SH)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        _rmtree(self.path)


@contextlib.contextmanager
def staging(run: str | Path) -> Iterator[Path]:
    """A :class:`StagingArea` of ``run`` for the block: yields its path, removes it afterwards."""
    area = StagingArea(run)
    try:
        yield area.path
    finally:
        area.close()


def _under(rel: str, prefixes: Sequence[str]) -> bool:
    return any(rel == p or rel.startswith(p + "/") for p in prefixes)


def _link_tree(src: Path, dst: Path, skip: Sequence[str]) -> None:
    """Mirror ``src`` into ``dst`` with hard links (copies where the file system has none), leaving out
    ``skip`` (relative paths) and every dot-name (leftovers of interrupted writers)."""
    for folder, dirs, files in os.walk(src):
        here = Path(folder)
        rel_dir = here.relative_to(src).as_posix()
        rel_dir = "" if rel_dir == "." else rel_dir + "/"
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not _under(rel_dir + d, skip))
        (dst / rel_dir).mkdir(parents=True, exist_ok=True)
        for name in files:
            rel = rel_dir + name
            if name.startswith(".") or _under(rel, skip):
                continue
            try:
                os.link(here / name, dst / rel)
            except OSError:
                shutil.copy2(here / name, dst / rel)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux ``renameat2``); False where the system cannot."""
    if os.environ.get("ANONBENCH_NO_EXCHANGE"):
        return False
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise CommitError(f"{b}: cannot swap the new version in ({os.strerror(err)}); a run directory must be a "
                      "plain folder on a local file system (not a mount point)")


def _swap_in(new: Path, run: Path) -> Path | None:
    """Put ``new`` at ``run`` with one rename; returns where the old version went (to delete), if any."""
    if not run.exists():
        os.rename(new, run)
        return None
    if _exchange(new, run):
        return new
    old = _sibling(run, "old")
    os.rename(run, old)
    killpoint("commit-gap")
    os.rename(new, run)
    return old


def commit(run: str | Path, update: Callable[[dict[str, Any]], dict[str, Any]], *,
           staged: Path | None = None, replace: Sequence[str] = (), fresh: bool = False) -> dict[str, Any]:
    """Commit the paths ``replace`` (relative to the run; files or folders) from ``staged`` into ``run``.

    What ``replace`` names is dropped from the current run and taken from ``staged`` where it exists there
    (so a path staged nowhere is removed). ``update`` gets the current manifest and returns the new one; the
    file index of the replaced paths is rebuilt from the staged files, every other entry is kept (those files
    are hard links of the same bytes). With ``fresh`` (``generate``), ``staged`` *is* the complete new run
    and ``update({})`` its whole manifest. Returns the manifest written.
    """
    run = _resolved(run)
    killpoint("commit-begin")
    with parent_lock(run):
        _cleanup_locked(run)
        if fresh:
            assert staged is not None
            new = staged
            man = update({})
        else:
            man = update(manifest.load(run))
            new = _sibling(run, "tmp")
            new.mkdir()
            _link_tree(run, new, [*replace, MANIFEST])
            for rel in replace:
                src = staged / rel if staged is not None else None
                if src is not None and src.exists():
                    (new / rel).parent.mkdir(parents=True, exist_ok=True)
                    os.rename(src, new / rel)
            kept = [f for f in man.get("files", []) if not _under(f["path"], replace)]
            fresh_files = manifest.list_files(new, *[r for r in replace if (new / r).exists()])
            man["files"] = sorted(kept + fresh_files, key=lambda f: f["path"])
        manifest.write(new, man)
        killpoint("commit-built")
        old = _swap_in(new, run)
        killpoint("commit-swapped")
        if old is not None:
            _rmtree(old)
    return man


__all__ = ["CommitError", "StagingArea", "cleanup", "commit", "killpoint", "staging"]
