"""Run pyCANON 1.3.6 on a CSV and print its figures as JSON (crosscheck venv only).

Usage: .venv-crosscheck/bin/python scripts/crosscheck_pycanon.py FILE.csv --qi a,b,c --sensitive s [--name N]

The file is read as pyCANON reads it (``pandas.read_csv``, values as-is, leading spaces kept). One JSON
object goes to stdout: k, equivalence classes, unique share, l (distinct and entropy), t, max/average rir.
"""

from __future__ import annotations

import argparse
import json
import time

import pandas as pd
from pycanon import anonymity
from pycanon.anonymity.utils import aux_anonymity
from pycanon.metrics import average_rir, max_rir


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--qi", required=True)
    ap.add_argument("--sensitive", required=True)
    ap.add_argument("--name", default="")
    a = ap.parse_args()
    df = pd.read_csv(a.file)
    qi = a.qi.split(",")
    sa = [a.sensitive]
    t0 = time.perf_counter()
    classes = aux_anonymity.get_equiv_class(df, qi)
    sizes = [len(c) for c in classes]
    row = {
        "tool": "pycanon", "name": a.name, "quasi_identifiers": qi, "sensitive": a.sensitive,
        "records": len(df),
        "k": int(anonymity.k_anonymity(df, qi)),
        "equivalence_classes": len(classes),
        "unique_share": sum(1 for s in sizes if s == 1) / len(df),
        "l_distinct": int(anonymity.l_diversity(df, qi, sa)),
        "l_entropy_int": int(anonymity.entropy_l_diversity(df, qi, sa)),
        "t_closeness": float(anonymity.t_closeness(df, qi, sa)),
        "prosecutor_risk_max": float(max_rir(df, qi)),
        "class_risk_avg": float(average_rir(df, qi)),
    }
    row["seconds"] = time.perf_counter() - t0
    print(json.dumps(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
