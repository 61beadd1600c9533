"""Fresh noise in every process: ``dp_audit``'s test that a DP step's noise is not reproducible.

A differentially private release must draw its noise from a secure random source (Mironov, CCS 2012; Google's
differential-privacy library and OpenDP seed from the operating system). Noise that is a function of the code —
a generator seeded with a constant when the library is loaded, a seed taken from the configuration — is the same
in every run: two releases of overlapping data subtract it away, and anyone who runs the code recomputes it.
Within one process such noise still looks random (the generator moves on), so the black-box tests of
:mod:`reid.dp_audit` cannot see it; two fresh processes can.

The test: the step's input D (the audit's neighbouring-dataset sample) is written to a temporary folder and two
new interpreters (``python -m reid.dp_repeat``) each rebuild the step from the run's manifest and release D once
with the noise off and with it on (again, up to ``ATTEMPTS`` times, until a release holds a cell: partition
selection is random too). What identifies a noise draw: when every noise-off value is a whole number
(sums of counts) the fractional part of each noisy value, to 6 decimals — contribution bounding may sample a
different subset in each process and move the whole part, never the fractional part of the noise; otherwise the
noisy minus the noise-off value. These are compared as sets — a library may hand its draws to the cells in a
different order in each process (hash randomization) — and the test fails when at least half of one
process's draws recur in the other's. Continuous noise never recurs (two values agreeing to 6 decimals by
chance: about one in 10^5 per pair); discrete noise loses nothing to the fractional part, as its noisy minus
noise-off values at the scale of a DP count (hundreds or more) recur in a few cells at most.

How to read it: ``fresh_noise_ok`` 1 = the two processes drew different noise; 0 = the noise is reproducible.
``n`` is the number of noise values compared (the smaller process's), ``noise_repeated`` how many recurred. A
subprocess that fails leaves the figure unmeasured (NaN), which the gate counts as a failure.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc as ipc

from reid.result import Metric

CHECK = "dp_audit"
TIMEOUT = 300.0
ATTEMPTS = 20
"""Noisy releases a process makes until one holds a cell (each noise draw of the failed ones is kept too)."""


def _write(folder: Path, tables: Mapping[str, pa.Table]) -> None:
    for name, t in tables.items():
        with ipc.new_file(folder / f"{name}.arrow", t.schema) as w:
            w.write_table(t)


def _read(folder: Path) -> dict[str, pa.Table]:
    return {p.stem: ipc.open_file(p).read_all() for p in sorted(folder.glob("*.arrow"))}


class Pending:
    """Two release processes started on one input; :meth:`finish` waits for them and compares their noise.

    Started early, they run beside the in-process tests of :mod:`reid.dp_audit` instead of
    after them; :meth:`cancel` stops them when the audit is retried on a larger input."""

    def __init__(self, run: Path, chain: str, index: int, tables: Mapping[str, pa.Table],
                 columns: Mapping[str, Sequence[str]]) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="anonbench-dp-repeat-")
        folder = Path(self._tmp.name)
        _write(folder, tables)
        args = [sys.executable, "-m", "reid.dp_repeat", str(run), chain, str(index), str(folder),
                json.dumps({t: list(c) for t, c in columns.items()})]
        self._procs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        env=dict(os.environ)) for _ in range(2)]

    def cancel(self) -> None:
        for p in self._procs:
            p.kill()
            p.communicate()
        self._tmp.cleanup()

    def finish(self, common: Mapping[str, object]) -> Metric:
        """``fresh_noise_ok`` from the two processes (see the module docstring)."""
        outs, failed = [], None
        try:
            for p in self._procs:
                try:
                    out, err = p.communicate(timeout=TIMEOUT)
                except subprocess.TimeoutExpired:
                    p.kill()
                    out, err = p.communicate()
                    failed = failed or f"a release process timed out after {TIMEOUT:g} s"
                if p.returncode != 0:
                    failed = failed or f"a release process exited {p.returncode}: {(err or '').strip()[-200:]}"
                else:
                    outs.append(json.loads(out.strip().splitlines()[-1]))
        finally:
            self._tmp.cleanup()
        return _compare(outs, failed, common)


def fresh_noise(run: Path, chain: str, index: int, tables: Mapping[str, pa.Table],
                columns: Mapping[str, Sequence[str]], common: Mapping[str, object]) -> Metric:
    """``fresh_noise_ok`` of step ``index`` of ``chain`` on input ``tables`` (see the module docstring)."""
    return Pending(run, chain, index, tables, columns).finish(common)


def _compare(outs: list[dict], failed: str | None, common: Mapping[str, object]) -> Metric:
    params = {**common, "mode": "fresh_noise"}
    if not failed and len(outs) == 2 and not (outs[0]["noisy"] and outs[1]["noisy"]):
        failed = f"a release process released no cell in {ATTEMPTS} releases: nothing to compare"
    if failed or len(outs) != 2:
        return Metric(CHECK, "fresh_noise_ok", math.nan, 0, passed=False,
                      params={**params, "measured": False, "reason": failed or "no release"})
    whole = all(o["whole"] for o in outs)
    a, b = (sorted(round(y % 1.0, 6) % 1.0 for y in o["noisy"]) if whole else sorted(o["noise"]) for o in outs)
    n = min(len(a), len(b))
    other = set(b if len(a) <= len(b) else a)
    repeated = sum(1 for x in (a if len(a) <= len(b) else b) if x in other)
    ok = 2 * repeated < n
    return Metric(CHECK, "fresh_noise_ok", float(ok), n, passed=ok, params={**params, "noise_repeated": repeated})


def main(argv: list[str] | None = None) -> int:
    """``python -m reid.dp_repeat RUN CHAIN INDEX TABLES COLUMNS``: the noise of one release (noisy minus
    noise-off value of every cell both released), as JSON on stdout."""
    from reid.dp_audit import call_measure
    from reid.dp_neighbours import chain_of_run

    run, chain, index, folder, columns = sys.argv[1:] if argv is None else argv
    step = chain_of_run(Path(run), chain).steps[int(index)]
    tables, cols = _read(Path(folder)), json.loads(columns)
    center = call_measure(step.anonymizer, tables, cols, noise=False)
    noise: list[float] = []
    noisy: list[float] = []
    for _ in range(ATTEMPTS):   # partition selection is random too: a release may hold no cell
        release = call_measure(step.anonymizer, tables, cols, noise=True)
        noise += [release[k] - center[k] for k in sorted(release, key=repr) if k in center]
        noisy += [release[k] for k in sorted(release, key=repr)]
        if noisy:
            break
    print(json.dumps({"noise": noise, "noisy": noisy,
                      "whole": bool(center) and all(float(v).is_integer() for v in center.values())}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
