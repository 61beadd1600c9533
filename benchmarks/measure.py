"""Timing and memory of a whole command, with its worker subprocesses.

Peak RSS is sampled every 50 ms over the process tree: ``peak_rss_tree_mb`` is the largest sum over the tree
(what the machine must hold), ``peak_rss_max_process_mb`` the largest single process.
"""

from __future__ import annotations

import contextlib
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent


def _tree_rss(proc: psutil.Process) -> tuple[int, int]:
    total = biggest = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0, 0
    for p in procs:
        try:
            rss = p.memory_info().rss
        except psutil.NoSuchProcess:
            continue
        total += rss
        biggest = max(biggest, rss)
    return total, biggest


def _kill_tree(proc: psutil.Process) -> None:
    try:
        procs = [*proc.children(recursive=True), proc]
    except psutil.NoSuchProcess:
        return
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()


def measure(args: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT,
            timeout: float | None = None) -> dict[str, Any]:
    """Run ``args`` (stdout discarded) and return seconds, exit code and peak RSS figures.

    stderr goes to a temporary file (a pipe read only at the end would block a chatty child once it holds
    64 KiB); its last lines are returned when the command fails. After ``timeout`` seconds the whole process
    tree is killed and the result says so (exit code -9, ``timed_out``). ``cpu_seconds`` is the user + system
    time of the command and of every descendant it waited for (its workers): steadier than wall time on a busy
    machine."""
    t0 = time.perf_counter()
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryFile() as errf:
        proc = subprocess.Popen(args, cwd=cwd, env={**os.environ, **(env or {})},
                                stdout=subprocess.DEVNULL, stderr=errf)
        ps = psutil.Process(proc.pid)
        peak_tree = peak_one = 0
        timed_out = False
        while proc.poll() is None:
            tree, one = _tree_rss(ps)
            peak_tree, peak_one = max(peak_tree, tree), max(peak_one, one)
            if timeout is not None and time.perf_counter() - t0 > timeout:
                timed_out = True
                _kill_tree(ps)
                proc.wait()
                break
            time.sleep(0.05)
        seconds = time.perf_counter() - t0
        cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        errf.seek(0)
        err = errf.read().decode(errors="replace")
    tail = [line[:300] for line in err.strip().splitlines()[-3:]] if proc.returncode else []
    if timed_out:
        tail = [*tail, f"killed after the {timeout:.0f} s timeout"]
    out = {"seconds": round(seconds, 3), "returncode": proc.returncode,
           "peak_rss_tree_mb": round(peak_tree / 2**20, 1), "peak_rss_max_process_mb": round(peak_one / 2**20, 1),
           "cpu_seconds": round(cpu1.ru_utime - cpu0.ru_utime + cpu1.ru_stime - cpu0.ru_stime, 2),
           "stderr_tail": tail}
    if timed_out:
        out["timed_out"] = True
    return out


def anonbench(*args: str) -> list[str]:
    return [sys.executable, "-m", "anonbench.cli", *args]


def dir_bytes(path: Path, pattern: str = "**/*.parquet") -> int:
    return sum(p.stat().st_size for p in Path(path).glob(pattern))
