#!/usr/bin/env bash
# `make crosscheck`: anonbench's table mode side by side with pyCANON 1.3.6 and anonymeter 1.1.0, run live on
# the same Adult rows.
#
# The two tools need an older numpy/pandas than anonbench pins, so they live in their own venv,
# .venv-crosscheck (never in .venv). anonymeter 1.1.0 wants numpy<1.27 while pyCANON 1.3.6 pins numpy==2.0.2:
# pyCANON is installed without its pins (it only needs numpy, pandas and scipy at run time) into the venv
# that anonymeter's requirements define, with pandas 2.3.3 (pyCANON's pin).
#
#   ANONBENCH_REFERENCE_DATA  folder with uci_adult.csv, adults_ori.csv, adults_syn_ctgan.csv, adults_control.csv
#   CROSSCHECK_SEEDS          seeds of the anonymeter comparisons (default "42 123")
#   CROSSCHECK_OUT            where the raw JSON lines and the summary go (default build/crosscheck)
#   CROSSCHECK_ATTACKS        attacks per evaluator in the table-mode comparison (default 2000)
#   CROSSCHECK_UNI_DRAWS      seeds of extra anonymeter univariate singling-out draws (default "1 2 3 4 5 6 7 8")
#
# The table-mode comparison runs anonymeter's four evaluators (n_attacks for all, 3 columns per multivariate
# query as both tools default to, 10 neighbours, income as the secret, all columns) and then anonbench's whole
# table mode with the same parameters; it records both tools' figures, queries built and times in
# benchmarks/results/crosscheck_tablemode.json.
set -euo pipefail
cd "$(dirname "$0")/.."

DATA="${ANONBENCH_REFERENCE_DATA:-../shared/data/adult}"
OUT="${CROSSCHECK_OUT:-build/crosscheck}"
SEEDS="${CROSSCHECK_SEEDS:-42 123}"
ATTACKS="${CROSSCHECK_ATTACKS:-2000}"
UNI_DRAWS="${CROSSCHECK_UNI_DRAWS:-1 2 3 4 5 6 7 8}"
PY="${PYTHON:-python3}"
VENV=.venv-crosscheck
STAMP="$VENV/.installed-anonymeter-1.1.0-pycanon-1.3.6-pandas-2.3.3"

for f in uci_adult.csv adults_ori.csv adults_syn_ctgan.csv adults_control.csv; do
  if [ ! -f "$DATA/$f" ]; then
    echo "crosscheck: $DATA/$f: missing (set ANONBENCH_REFERENCE_DATA to the Adult reference folder)" >&2
    exit 2
  fi
done

if [ ! -f "$STAMP" ]; then
  echo "== installing anonymeter 1.1.0 and pyCANON 1.3.6 into $VENV (once)"
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q "anonymeter==1.1.0" "pandas==2.3.3"
  "$VENV/bin/python" -m pip install -q --no-deps "pycanon==1.3.6"
  touch "$STAMP"
fi
test -x .venv/bin/python || { echo "crosscheck: .venv missing (run make install)" >&2; exit 2; }

mkdir -p "$OUT"
: > "$OUT/pycanon.jsonl"
: > "$OUT/anonymeter.jsonl"
XC="$VENV/bin/python"

echo "== pyCANON on $DATA/uci_adult.csv"
while IFS='|' read -r name qi sa; do
  "$XC" scripts/crosscheck_pycanon.py "$DATA/uci_adult.csv" --qi "$qi" --sensitive "$sa" --name "$name" \
    >> "$OUT/pycanon.jsonl"
done < scripts/crosscheck_qi_sets.txt

echo "== anonymeter on ori/syn/control (seeds: $SEEDS)"
for seed in $SEEDS; do
  "$XC" scripts/crosscheck_anonymeter.py --ori "$DATA/adults_ori.csv" --syn "$DATA/adults_syn_ctgan.csv" \
    --control "$DATA/adults_control.csv" --scenario ctgan --seed "$seed" >> "$OUT/anonymeter.jsonl"
  "$XC" scripts/crosscheck_anonymeter.py --ori "$DATA/adults_ori.csv" --syn "$DATA/adults_syn_ctgan.csv" \
    --control "$DATA/adults_control.csv" --scenario copy --copy-rows 10000 --seed "$seed" \
    >> "$OUT/anonymeter.jsonl"
done
"$XC" scripts/crosscheck_anonymeter.py --ori "$DATA/adults_ori.csv" --syn "$DATA/adults_syn_ctgan.csv" \
  --control "$DATA/adults_control.csv" --scenario nn --nn-check 300 > "$OUT/neighbors.jsonl"

echo "== anonymeter on ori/syn/control, table-mode parameters ($ATTACKS attacks per evaluator, 3 columns)"
"$XC" scripts/crosscheck_anonymeter.py --ori "$DATA/adults_ori.csv" --syn "$DATA/adults_syn_ctgan.csv" \
  --control "$DATA/adults_control.csv" --scenario tablemode --seed 42 --n-uni "$ATTACKS" --n-multi "$ATTACKS" \
  --n-link "$ATTACKS" --n-inf "$ATTACKS" --n-cols 3 > "$OUT/tablemode.jsonl"

echo "== anonbench on the same rows, and the comparison"
status=0
.venv/bin/python scripts/crosscheck_compare.py --data "$DATA" --out "$OUT" || status=$?

echo "== more anonymeter draws of univariate singling out (seeds: $UNI_DRAWS) against anonbench's exact figure"
: > "$OUT/univariate_draws.jsonl"
for seed in $UNI_DRAWS; do
  "$XC" scripts/crosscheck_anonymeter.py --ori "$DATA/adults_ori.csv" --syn "$DATA/adults_syn_ctgan.csv" \
    --control "$DATA/adults_control.csv" --scenario tablemode --seed "$seed" --n-uni "$ATTACKS" --only uni \
    >> "$OUT/univariate_draws.jsonl"
done
.venv/bin/python scripts/crosscheck_draws.py --draws "$OUT/univariate_draws.jsonl"
exit "$status"
