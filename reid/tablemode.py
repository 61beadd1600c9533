"""Table mode: the risk metrics on any table with one row per person, without a generator's ground truth.

What a researcher holds who did not generate the data: the original table, the released ("anonymized" or
synthetic) table made from it, and optionally a control table — real records of the same population kept out
of the release (anonymeter's control set; Giomi et al., PoPETs 2023). From these:

* ``quasi_identifiers`` on the released table for the given QIs (and sensitive attribute): k, classes, unique
  share, prosecutor risk, l-diversity, t-closeness (``reid.quasi_identifiers``);
* ``singling_out`` — univariate and multivariate (``reid.singling_out``), on every column the tables share;
* ``linkability`` between two auxiliary column sets (``reid.linkability``); without ``aux_a``/``aux_b`` the QIs
  are split in two halves;
* ``inference`` of the sensitive column from the QIs (``reid.inference``).

Columns whose type differs between the tables (a generalised ``age`` released as text, say) are compared as
text in every table; ``params.as_text`` lists them.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from generators.errors import InputError
from reid.inference import inference
from reid.linkability import linkability
from reid.neighbors import is_numeric
from reid.quasi_identifiers import quasi_identifiers
from reid.result import Metric
from reid.singling_out import singling_out

__all__ = ["TableError", "evaluate_tables", "read_table"]

CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
PARQUET_SUFFIXES = {".parquet", ".pq"}


class TableError(InputError):
    """Bad input table or column. The message names the file or column, never a value."""


def _read_parquet(path: Path) -> pl.DataFrame:
    """Parquet through pyarrow with page checksum verification (Polars' reader does not check the CRCs, so a
    flipped bit would silently change the figures); a checksum mismatch is a one-line error naming the file."""
    try:
        table = pq.read_table(path, page_checksum_verification=True)
    except OSError as e:
        if "checksum" in str(e).lower():
            raise TableError(f"{path}: damaged Parquet file (page checksum mismatch)") from None
        raise
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def read_table(path: str | Path) -> pl.DataFrame:
    """A CSV (values read as they are, e.g. leading spaces kept) or Parquet file, or a folder of Parquet files.
    Parquet pages that carry checksums are verified."""
    path = Path(path)
    if not path.exists():
        raise TableError(f"{path}: no such file")
    try:
        if path.is_dir():
            parts = sorted(path.glob("*.parquet"))
            if not parts:
                raise TableError(f"{path}: folder holds no .parquet file")
            frames = [_read_parquet(p) for p in parts]
            for p, f in zip(parts[1:], frames[1:], strict=True):
                if f.columns != frames[0].columns:  # types may differ (widened below); the columns may not
                    col = next((c for c in frames[0].columns if c not in f.columns), None) or next(
                        (c for c in f.columns if c not in frames[0].columns), frames[0].columns[0])
                    raise TableError(f"{p}: column {col!r}: the shard's columns differ from {parts[0].name}'s")
            return pl.concat(frames, how="vertical_relaxed")
        suffix = path.suffix.lower()
        if suffix in PARQUET_SUFFIXES:
            return _read_parquet(path)
        if suffix in CSV_SUFFIXES:
            sep = "\t" if suffix == ".tsv" else ","
            return pl.read_csv(path, separator=sep, infer_schema_length=None)
    except TableError:
        raise
    except (pl.exceptions.PolarsError, pa.ArrowException, OSError) as e:
        raise TableError(f"{path}: cannot be read ({type(e).__name__})") from None
    raise TableError(f"{path}: unknown format (expected .csv, .tsv or .parquet)")


def _columns(spec: str | list[str] | None) -> list[str]:
    if spec is None:
        return []
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    return [c.strip() for c in items if c.strip()]


def _require(df: pl.DataFrame, cols: list[str], label: str) -> None:
    for c in cols:
        if c not in df.columns:
            raise TableError(f"{label}: no column {c!r}")


def _harmonise(tables: dict[str, pl.DataFrame], columns: list[str]) -> tuple[dict[str, pl.DataFrame], list[str]]:
    """Select ``columns`` in every table; columns whose types disagree become text everywhere."""
    as_text = []
    for c in columns:
        dtypes = {t.schema[c] for t in tables.values()}
        numeric = {is_numeric(d) for d in dtypes}
        if len(dtypes) > 1 and (len(numeric) > 1 or pl.String in dtypes or pl.Boolean in dtypes):
            as_text.append(c)
    out = {}
    for name, t in tables.items():
        exprs = [pl.col(c).cast(pl.String) if c in as_text else pl.col(c) for c in columns]
        out[name] = t.select(exprs)
    return out, as_text


def evaluate_tables(original: pl.DataFrame | str | Path, anonymized: pl.DataFrame | str | Path,
                    control: pl.DataFrame | str | Path | None = None, *,
                    qis: str | list[str], sensitive: str | None = None,
                    aux_a: str | list[str] | None = None, aux_b: str | list[str] | None = None,
                    n_attacks: int = 2000, n_cols: int = 3, n_neighbors: int = 1, seed: int = 0,
                    max_attempts: int | None = 10_000_000, score_all_queries: bool = True,
                    labels: tuple[str, str, str] = ("original", "anonymized", "control")) -> list[Metric]:
    """All table-mode checks; see the module docstring. Raises ``TableError`` on a bad file or column.

    ``labels`` name the three tables in error messages (e.g. their file names). Multivariate singling out
    builds every query anonymeter would (``reid.singling_search``): it enumerates all singling-out queries
    when drawing them one by one would cost more; a search that could not enumerate stops after
    ``max_attempts`` candidates (anonymeter's ten million) and then says ``ran_short`` in its params. Where all
    singling-out queries are enumerated, all are scored (exact rates, ``n`` = their number, ``scored: all``);
    ``score_all_queries=False`` scores a sample of ``n_attacks`` as anonymeter does (for parity experiments).
    """
    frames = {"original": original, "anonymized": anonymized}
    if control is not None:
        frames["control"] = control
    label = dict(zip(("original", "anonymized", "control"), labels, strict=True))
    tables = {k: v if isinstance(v, pl.DataFrame) else read_table(v) for k, v in frames.items()}
    for role, t in tables.items():
        if t.height == 0:
            raise TableError(f"{label[role]}: the table has no rows")
    qis = _columns(qis)
    if not qis:
        raise TableError("--quasi-identifiers: at least one column is needed")
    a, b = _columns(aux_a), _columns(aux_b)
    if bool(a) != bool(b):
        raise TableError("--aux-a/--aux-b: give both auxiliary column sets or neither")
    named = [*qis, *([sensitive] if sensitive else []), *a, *b]
    for role, t in tables.items():
        _require(t, named, label[role])
    if sensitive and sensitive in qis:
        raise TableError(f"{sensitive}: the sensitive column cannot also be a quasi-identifier")
    shared = [c for c in tables["anonymized"].columns if all(c in t.columns for t in tables.values())]
    tables, as_text = _harmonise(tables, shared)
    ori, syn, ctl = tables["original"], tables["anonymized"], tables.get("control")
    note = {"as_text": as_text} if as_text else {}

    out = quasi_identifiers(syn, qis, sensitive, params={"table": "anonymized", **note})
    for mode in ("univariate", "multivariate"):
        out += singling_out(ori, syn, ctl, mode=mode, n_attacks=n_attacks, n_cols=n_cols, seed=seed,
                            max_attempts=max_attempts, score_all_queries=score_all_queries)
    if not a and len(qis) >= 2:
        half = (len(qis) + 1) // 2
        a, b = qis[:half], qis[half:]
    if a:
        out += linkability(ori, syn, a, b, ctl, n_attacks=n_attacks, n_neighbors=n_neighbors, seed=seed)
    if sensitive:
        out += inference(ori, syn, qis, sensitive, ctl, n_attacks=n_attacks, seed=seed)
    if note:
        out = [m if "as_text" in m.params else Metric(**{**m.__dict__, "params": {**m.params, **note}})
               for m in out]
    return out
