"""``anonbench import``: a user's own event log (and optionally a release made elsewhere) as a run directory.

The log may use any column names: a mapping names the columns that hold the person, the time and the action
(required) and, optionally, the org, product, client address, user agent, object, container, session, outcome
and country. The result is an ordinary run directory — ``raw/events`` (and ``raw/users`` when an accounts file
is given) in the raw schema of :mod:`generators.schema` (unmapped columns are null), ``truth/accounts.parquet``
(account -> person, the person being the mapped column) and a manifest — so ``anonymize``, ``attack``,
``report`` and ``check`` work on it as on a generated run. There is no control population unless
``--control-share S`` holds out a share of the accounts as one (:mod:`pipelines.import_control`); without it,
checks that need one say so.

Times: Parquet timestamps keep their zone (converted to UTC); text is parsed as ISO 8601, with or without a UTC
offset (``Z``, ``+02:00``, ``+0200``); naive times are taken as UTC. The offset of every event is kept in
``utc_offset_minutes`` (null when the input had none), so local-time features stay available.

With ``--anonymized FILE`` a release made outside anonbench is imported as ``anon/<name>/events``, rows
aligned with the raw rows through a row key present in both files (``--key``) or by position
(``--same-order``), so that the harness scores it against the truth like any chain.

All work is vectorized in Polars; nothing here prints or records a raw value (errors name columns and counts).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from generators.errors import InputError
from generators.schema import ACCOUNTS_TRUTH, EVENTS, USERS
from pipelines import commit, import_control, manifest
from pipelines.runio import PARQUET_OPTS, atomic_path, sha256_file, shard_name
from runformat import layout
from runformat import manifest as keys
from runformat.layout import ACCOUNTS_FILE, RunDir

EVENT_FIELDS = {"person": "account_id", "time": "event_time", "action": "action", "org": "org_id",
                "product": "product", "ip": "client_ip", "user_agent": "user_agent", "object": "object_id",
                "container": "container_id", "session": "session_id", "outcome": "outcome",
                "country": "geo_country", "auth": "auth_type", "event_id": "event_id"}
REQUIRED_EVENT_FIELDS = ("person", "time", "action")
ACCOUNT_FIELDS = {"person": "account_id", "timezone": "timezone", "type": "account_type", "role": "role",
                  "org": "org_id", "country": "country", "locale": "locale", "created": "created_at",
                  "team": "team_id"}
# An account type as the user's log names it -> the raw schema's (DESIGN.md: human, integration, external).
ACCOUNT_TYPES = {"app": ("app", "bot", "integration", "service", "automation", "api", "system"),
                 "customer": ("customer", "external", "guest", "collaborator", "contractor")}
ROWS_PER_SHARD = 250_000


class ImportError_(InputError):
    """A mapping or input problem; one line naming the file, the key or the column."""


@dataclass(frozen=True)
class Mapping_:
    """``field -> source column`` of one input file."""

    fields: Mapping[str, str]

    @classmethod
    def parse(cls, text: str, allowed: Mapping[str, str], required: tuple[str, ...], option: str) -> Mapping_:
        fields: dict[str, str] = {}
        for part in (p.strip() for p in text.split(",") if p.strip()):
            if "=" not in part:
                raise ImportError_(f"{option}: {part!r} is not field=COLUMN")
            key, col = (s.strip() for s in part.split("=", 1))
            if key not in allowed:
                raise ImportError_(f"{option}: unknown field {key!r} (fields: {', '.join(allowed)})")
            if key in fields:
                raise ImportError_(f"{option}: field {key!r} given twice")
            if not col:
                raise ImportError_(f"{option}: field {key!r} names no column")
            fields[key] = col
        missing = [k for k in required if k not in fields]
        if missing:
            raise ImportError_(f"{option}: missing required field(s) {', '.join(missing)}")
        return cls(fields)


def _scan(path: Path) -> pl.LazyFrame:
    """A lazy view of a Parquet or CSV file (CSV as text, so types are checked per mapped column)."""
    if not path.is_file():
        raise ImportError_(f"{path}: no such file")
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        # Polars does not check Parquet page checksums: one streaming pass of pyarrow with verification first,
        # so a flipped bit in a page that carries a CRC fails the import instead of changing a value.
        try:
            for _ in pq.ParquetFile(path, page_checksum_verification=True).iter_batches(batch_size=1 << 16):
                pass
        except (pa.ArrowException, OSError) as e:
            what = "damaged (page checksum mismatch)" if "checksum" in str(e).lower() else "not a readable"
            raise ImportError_(f"{path}: {what} Parquet file ({type(e).__name__})") from None
        return pl.scan_parquet(path)
    if name.endswith((".csv", ".csv.gz", ".tsv")):
        return pl.scan_csv(path, infer_schema=False, separator="\t" if name.endswith(".tsv") else ",")
    raise ImportError_(f"{path}: unknown file type (expected .parquet, .csv or .tsv)")


def _columns(lf: pl.LazyFrame, path: Path) -> pl.Schema:
    try:
        return lf.collect_schema()
    except pl.exceptions.PolarsError as e:
        raise ImportError_(f"{path}: cannot read the header ({type(e).__name__})") from None


def _check_columns(schema: pl.Schema, mapping: Mapping_, path: Path, option: str) -> None:
    for key, col in mapping.fields.items():
        if col not in schema:
            raise ImportError_(f"{path}: {option} {key}={col}: no column {col!r} in the file")


def _time_expr(col: str, dtype: pl.DataType) -> tuple[pl.Expr, pl.Expr]:
    """(UTC timestamp[us], offset minutes or null) of a time column of any supported type."""
    if isinstance(dtype, pl.Datetime):
        t = pl.col(col)
        if dtype.time_zone is None:
            return t.dt.cast_time_unit("us").dt.replace_time_zone("UTC"), pl.lit(None, pl.Int16)
        offset = (t.dt.base_utc_offset() + t.dt.dst_offset()).dt.total_minutes().cast(pl.Int16)
        return t.dt.cast_time_unit("us").dt.convert_time_zone("UTC"), offset
    if dtype == pl.Date:
        return pl.col(col).cast(pl.Datetime("us")).dt.replace_time_zone("UTC"), pl.lit(None, pl.Int16)
    if dtype.is_integer():  # seconds since the epoch
        return pl.from_epoch(pl.col(col), "s").dt.cast_time_unit("us").dt.replace_time_zone("UTC"), \
            pl.lit(None, pl.Int16)
    if dtype != pl.String:
        raise TypeError(str(dtype))
    return _text_times(pl.col(col), fast=True)


def _text_times(text: pl.Expr, fast: bool) -> tuple[pl.Expr, pl.Expr]:
    """Text times: ``fast`` parses the column in the one ISO 8601 format Polars infers from its first value
    (offsets become UTC directly) and reads the offset at its fixed place at the end of the text (``Z``,
    ``+HH:MM``, ``+HHMM``; slices, no regex: the regex was most of the import's time); the general path
    parses each value on its own, trailing blanks stripped (used for what the fast path leaves unparsed: mixed
    formats, some values with an offset and some without)."""
    if fast:
        return text.str.to_datetime(time_unit="us", time_zone="UTC", strict=False), _offset_minutes(text)
    off = text.str.strip_chars_end().str.slice(-6).str.extract(r"(Z|[+-]\d{2}:?\d{2})$", 1)  # short strings
    sign = pl.when(off.str.starts_with("-")).then(-1).otherwise(1)
    digits = off.str.replace_all(r"[^0-9]", "")
    minutes = (pl.when(off == "Z").then(0)
               .when(off.is_not_null()).then(sign * (digits.str.slice(0, 2).cast(pl.Int32, strict=False) * 60
                                                     + digits.str.slice(2, 2).cast(pl.Int32, strict=False)))
               .otherwise(None)).cast(pl.Int16)
    bare = text.str.strip_chars().str.replace(" ", "T", literal=True).str.replace(r"(Z|[+-]\d{2}:?\d{2})$", "")
    local = bare.str.to_datetime(time_unit="us", strict=False)
    utc = (local - pl.duration(minutes=minutes.fill_null(0))).dt.replace_time_zone("UTC")
    return utc, minutes


def _two_digits(text: pl.Expr) -> pl.Expr:
    """A two-character text of digits as an integer, else null (a leading sign or blank is not a digit; the
    cast rejects any other non-digit)."""
    first = text.str.head(1)
    return pl.when((first >= "0") & (first <= "9")).then(text.cast(pl.Int32, strict=False))


def _offsets_by_tail(text: pl.Series) -> pl.Series:
    """:func:`_offset_minutes` of each value, worked out once per distinct six-character tail (the offset
    lives there, and a log holds few distinct offsets)."""
    tails = text.str.tail(6)
    distinct = tails.drop_nulls().unique()
    if distinct.len() > 100_000:  # e.g. naive times ending in microseconds: no gain
        return pl.select(_offset_minutes(pl.lit(text))).to_series()
    minutes = pl.select(_offset_minutes(pl.lit(distinct))).to_series()
    return tails.replace_strict(distinct, minutes, default=None, return_dtype=pl.Int16)


def _offset_minutes(text: pl.Expr) -> pl.Expr:
    """The UTC offset at the end of an ISO 8601 text in minutes (``Z`` 0, ``+HH:MM``, ``+HHMM``), else null."""
    t6 = text.str.tail(6)
    colon = t6.str.slice(3, 1) == ":"
    sign_char = pl.when(colon).then(t6.str.head(1)).otherwise(text.str.tail(5).str.head(1))
    hours = _two_digits(pl.when(colon).then(t6.str.slice(1, 2)).otherwise(text.str.tail(4).str.head(2)))
    minutes = _two_digits(text.str.tail(2))
    sign = pl.when(sign_char == "+").then(1).when(sign_char == "-").then(-1)
    return pl.when(text.str.ends_with("Z")).then(0).otherwise(sign * (hours * 60 + minutes)).cast(pl.Int16)


def _string(col: str) -> pl.Expr:
    return pl.col(col).cast(pl.String)


def events_frame(path: Path, mapping: Mapping_, option: str = "--map") -> pl.DataFrame:
    """The log's events in the raw events schema (plus ``utc_offset_minutes``), in time order."""
    lf = _scan(path)
    schema = _columns(lf, path)
    _check_columns(schema, mapping, path, option)
    f = mapping.fields
    try:
        t, offset = _time_expr(f["time"], schema[f["time"]])
    except TypeError:
        raise ImportError_(f"{path}: {option} time={f['time']}: column {f['time']!r} is "
                           f"{schema[f['time']]}, expected a timestamp, a date, epoch seconds or text") from None
    text = schema[f["time"]] == pl.String
    exprs: dict[str, pl.Expr] = {"event_time": t, "utc_offset_minutes": pl.lit(None, pl.Int16) if text else offset}
    for key, target in EVENT_FIELDS.items():
        if key in ("time",) or target in exprs:
            continue
        exprs[target] = _string(f[key]) if key in f else pl.lit(None, pl.String)
    if "org" not in f:
        exprs["org_id"] = pl.lit("org-imported")
    exprs["_time_text"] = pl.col(f["time"])
    try:
        df = lf.select([e.alias(k) for k, e in exprs.items()]).collect()
    except pl.exceptions.PolarsError as e:
        raise ImportError_(f"{path}: cannot read the mapped columns ({type(e).__name__})") from None
    if text:
        df = df.with_columns(_offsets_by_tail(df["_time_text"]).alias("utc_offset_minutes"))
    missed = df["event_time"].is_null() & df["_time_text"].is_not_null()
    if missed.any() and text:
        utc, minutes = _text_times(pl.col("_time_text"), fast=False)
        df = df.with_columns(pl.when(missed).then(utc).otherwise(pl.col("event_time")).alias("event_time"),
                             pl.when(missed).then(minutes).otherwise(pl.col("utc_offset_minutes"))
                             .alias("utc_offset_minutes"))
        missed = df["event_time"].is_null() & df["_time_text"].is_not_null()
    bad = int(missed.sum())
    df = df.drop("_time_text")
    if bad:
        raise ImportError_(f"{path}: {option} time={f['time']}: {bad} value(s) of column {f['time']!r} are not "
                           "times (ISO 8601 with or without an offset, a timestamp, or epoch seconds)")
    for key in REQUIRED_EVENT_FIELDS:
        nulls = df[EVENT_FIELDS[key]].null_count()
        if nulls:
            raise ImportError_(f"{path}: {option} {key}={f[key]}: column {f[key]!r} has {nulls} empty value(s)")
    if "event_id" not in f:
        df = df.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).cast(pl.String).alias("event_id"))
    elif df["event_id"].n_unique() != df.height:
        raise ImportError_(f"{path}: {option} event_id={f['event_id']}: column {f['event_id']!r} has duplicate keys")
    return df


def users_frame(path: Path, mapping: Mapping_, persons: pl.Series, option: str = "--map-accounts") -> pl.DataFrame:
    """The accounts file in the raw users schema; one row per account of the log (unknown ones added)."""
    lf = _scan(path)
    schema = _columns(lf, path)
    _check_columns(schema, mapping, path, option)
    f = mapping.fields
    exprs = {}
    for key, target in ACCOUNT_FIELDS.items():
        if key == "created":
            continue
        exprs[target] = _string(f[key]) if key in f else pl.lit(None, pl.String)
    if "created" in f:
        t, _ = _time_expr(f["created"], schema[f["created"]])
        exprs["created_at"] = t
    else:
        exprs["created_at"] = pl.lit(None, pl.Datetime("us", "UTC"))
    df = lf.select([e.alias(k) for k, e in exprs.items()]).collect()
    dup = df.height - df["account_id"].n_unique()
    if dup:
        raise ImportError_(f"{path}: {option} person={f['person']}: column {f['person']!r} has {dup} duplicate "
                           "key(s)")
    if "type" in f:
        lowered = pl.col("account_type").str.to_lowercase().str.strip_chars()
        kind = pl.lit("atlassian")
        for name, words in ACCOUNT_TYPES.items():
            kind = pl.when(lowered.is_in(list(words))).then(pl.lit(name)).otherwise(kind)
        df = df.with_columns(kind.alias("account_type"))
    else:
        df = df.with_columns(pl.lit("atlassian").alias("account_type"))
    known = pl.DataFrame({"account_id": persons.unique().sort()})
    missing = known.join(df, on="account_id", how="anti").with_columns(
        pl.lit("atlassian").alias("account_type"))
    return pl.concat([df, missing], how="diagonal_relaxed")


def _to_schema(df: pl.DataFrame, schema: pa.Schema, extra: tuple[str, ...] = ()) -> pa.Table:
    """``df`` in ``schema`` (then the ``extra`` columns), strings as Arrow string views: Polars hands those over
    without a copy, and a Parquet file written without the Arrow schema (``_write_shard``) reads back as
    ``schema`` says (strings as ``string``)."""
    df = df.with_columns([pl.lit(None, pl.String).alias(c.name) for c in schema if c.name not in df.columns])
    names = [c.name for c in schema] + [c for c in extra if c in df.columns]
    table = df.select(names).to_arrow(compat_level=pl.CompatLevel.newest())
    cols = [pa.field(c.name, pa.string_view() if c.type == pa.string() else c.type) for c in schema] \
        + [table.schema.field(c) for c in names[len(schema):]]
    return table.cast(pa.schema(cols))


def _write_shard(table: pa.Table, path: Path) -> None:
    """One Parquet file; without the Arrow schema, so string views read back as strings."""
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, store_schema=False, **PARQUET_OPTS)


def _write_shards(table: pa.Table, folder: Path) -> int:
    """``ROWS_PER_SHARD`` rows per shard, the shards written by two threads (pyarrow encodes and compresses
    without the GIL)."""
    starts = range(0, max(table.num_rows, 1), ROWS_PER_SHARD)
    with ThreadPoolExecutor(max_workers=2) as pool:
        for done in [pool.submit(_write_shard, table.slice(start, ROWS_PER_SHARD), folder / shard_name(n))
                     for n, start in enumerate(starts)]:
            done.result()
    return len(starts)


def import_log(events: Path, mapping: str, out: Path, *, accounts: Path | None = None,
               map_accounts: str | None = None, anonymized: Path | None = None, key: str | None = None,
               same_order: bool = False, map_anonymized: str | None = None, name: str = "external",
               overwrite: bool = False, control_share: float = 0.0) -> dict[str, Any]:
    """Write the run directory ``out``; returns the manifest's ``import`` section. ``control_share``: the
    share of accounts held out as the control population (:mod:`pipelines.import_control`)."""
    t0 = time.perf_counter()
    emap = Mapping_.parse(mapping, EVENT_FIELDS, REQUIRED_EVENT_FIELDS, "--map")
    amap = Mapping_.parse(map_accounts or "", ACCOUNT_FIELDS, ("person",), "--map-accounts") \
        if accounts is not None else None
    if accounts is None and map_accounts:
        raise ImportError_("--map-accounts: given without --accounts FILE")
    if anonymized is not None and (key is None) == (not same_order):
        raise ImportError_("--anonymized: give exactly one of --key COLUMN or --same-order")
    if anonymized is None and (key or same_order):
        raise ImportError_("--key/--same-order: given without --anonymized FILE")
    if not 0.0 <= control_share < 1.0:
        raise ImportError_(f"--control-share: {control_share} is not in [0, 1)")
    if control_share > 0 and anonymized is not None:
        raise ImportError_("--control-share: not with --anonymized (the release was made from every account, "
                           "so held-out accounts would not be controls)")
    if not re.match(r"^[a-z0-9][a-z0-9_.-]*$", name):
        raise ImportError_(f"--name: {name!r} is not a chain name (lower case letters, digits, . _ -)")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ImportError_(f"{out}: exists and is not a directory")
    if out.is_dir() and any(not p.name.startswith(".") for p in out.iterdir()):
        if not overwrite:
            raise ImportError_(f"{out}: exists and is not empty (use --overwrite)")
        if not manifest.is_complete(out):  # --overwrite replaces a run, never a folder of other files
            raise ImportError_(f"{out}: --overwrite: not an anonbench run (no manifest.json); choose an empty "
                               "or new folder")
    key_col: pl.Series | None = None
    if key is not None:
        lf = _scan(events)
        if key not in _columns(lf, events):
            raise ImportError_(f"{events}: --key {key}: no column {key!r} in the file")
        key_col = lf.select(pl.col(key).cast(pl.String)).collect()[key]
        if key_col.null_count() or key_col.n_unique() != len(key_col):
            raise ImportError_(f"{events}: --key {key}: column {key!r} has duplicate or empty keys")
    hasher = ThreadPoolExecutor(max_workers=1)  # the source's digest, read while the log is parsed
    try:
        return _import(events, emap, out, amap=amap, accounts=accounts, anonymized=anonymized, key=key,
                       key_col=key_col, map_anonymized=map_anonymized, mapping=mapping, name=name, t0=t0,
                       digest=hasher.submit(sha256_file, events).result, control_share=control_share)
    finally:
        hasher.shutdown(wait=False, cancel_futures=True)


def _import(events: Path, emap: Mapping_, out: Path, *, amap: Mapping_ | None, accounts: Path | None,
            anonymized: Path | None, key: str | None, key_col: pl.Series | None, map_anonymized: str | None,
            mapping: str, name: str, t0: float, digest: Callable[[], str], control_share: float = 0.0
            ) -> dict[str, Any]:
    ev = events_frame(events, emap)
    order = None
    if not ev["event_time"].is_sorted():  # a stable sort by time: equal times keep the log's order
        order = ev.select(pl.int_range(pl.len(), dtype=pl.UInt32).sort_by("event_time", maintain_order=True)
                          ).to_series()
        ev = ev[order]
    users = users_frame(accounts, amap, ev["account_id"]) if accounts is not None and amap is not None else None
    if users is not None and "org" not in emap.fields and "org" in amap.fields:  # type: ignore[union-attr]
        ev = ev.drop("org_id").join(users.select("account_id", "org_id"), on="account_id", how="left") \
            .with_columns(pl.col("org_id").fill_null("org-imported")).select(ev.columns)
    ctl: tuple[pl.DataFrame, pl.DataFrame | None] | None = None
    if control_share > 0:
        try:
            ev, users, ev_ctl, users_ctl = import_control.split(ev, users, control_share)
        except ValueError as e:
            raise ImportError_(f"--control-share {control_share}: {e}") from None
        ctl = (ev_ctl, users_ctl)
    release = None
    release_name = ""
    if anonymized is not None:
        release_name = anonymized.name
        rmap = Mapping_.parse(map_anonymized or mapping, EVENT_FIELDS, ("person",), "--map-anonymized")
        raw_keys = key_col if key_col is None or order is None else key_col[order]
        release = _release_frame(anonymized, rmap, key, raw_keys, ev.height)
    # Written beside ``out`` and swapped in with one rename, manifest last (pipelines.commit): a kill at any
    # moment leaves the earlier run (with --overwrite) or no run, never a half-written one.
    with commit.staging(out) as tmp:
        staged = RunDir(tmp)
        shards = _write_shards(_to_schema(ev, EVENTS, ("utc_offset_minutes",)), staged.raw("events"))
        truth = _truth(ev)
        staged.truth.mkdir()
        _write_shard(_to_schema(truth, ACCOUNTS_TRUTH), staged.truth_accounts)
        if users is not None:
            _write_shards(_to_schema(_users(users), USERS), staged.raw("users"))
        control = None
        if ctl is not None:  # the held-out accounts, laid out as a generated run's control population
            ev_ctl, users_ctl = ctl
            cdir = staged.control()
            _write_shards(_to_schema(ev_ctl, EVENTS, ("utc_offset_minutes",)), cdir / "events")
            ctruth = _truth(ev_ctl)
            _write_shard(_to_schema(ctruth, ACCOUNTS_TRUTH), cdir / ACCOUNTS_FILE)
            if users_ctl is not None:
                _write_shards(_to_schema(_users(users_ctl), USERS), cdir / "users")
            control = {"share": control_share, "rule": "sha256 of the account id below the share",
                       "accounts": int(ctruth.height), "rows": ev_ctl.height}
        if release is not None:
            _write_release(release, staged.anon(name, "events"))
        section = {"events_file": events.name, "events_sha256": digest(), "rows": ev.height,
                   "accounts": int(truth.height), "mapping": dict(emap.fields), "shards": shards,
                   "accounts_file": accounts.name if accounts else None,
                   "accounts_mapping": dict(amap.fields) if amap else None,
                   "offsets_kept": bool(ev["utc_offset_minutes"].is_not_null().any()),
                   "columns": {"events": sorted({"event_id", "org_id", "utc_offset_minutes",
                                                 *(EVENT_FIELDS[k] for k in emap.fields)}),
                               **({"users": sorted({"account_id", "account_type", *(ACCOUNT_FIELDS[k] for k in amap.fields)})}
                                  if amap else {})},
                   "control": control, "seconds": round(time.perf_counter() - t0, 3)}
        span = ev.select(pl.col("event_time").min().alias("a"), pl.col("event_time").max().alias("b")).row(0)
        man: dict[str, Any] = {
            keys.NAME: out.name, keys.KIND: keys.IMPORT_KIND, keys.IMPORT: section,
            keys.CONFIG: {"name": out.name, "generate": None,
                          "period": {"start": str(span[0]), "end": str(span[1])}},
            keys.FILES: manifest.list_files(tmp, *[d for d in (layout.RAW, layout.TRUTH, layout.ANON)
                                                   if (tmp / d).exists()]),
        }
        if release is not None:
            man[keys.CHAINS] = {name: {"name": name, "role": "candidate", "source": "import",
                                        "description": f"a release made outside anonbench ({release_name})",
                                        "steps": [], "imported": {"file": release_name,
                                                                  "aligned_by": f"key {key}" if key else "position",
                                                                  "rows": release.height}}}
        commit.commit(out, lambda _: man, staged=tmp, fresh=True)
    return section


def _truth(ev: pl.DataFrame) -> pl.DataFrame:
    """``truth/accounts.parquet`` of imported events: each account is its own person."""
    return ev.group_by("account_id").agg(pl.col("org_id").first()).sort("account_id") \
        .with_columns(pl.col("account_id").alias("person_id")).select("account_id", "person_id", "org_id")


def _users(users: pl.DataFrame) -> pl.DataFrame:
    """An accounts list in the raw users schema (no e-mail or name is imported)."""
    return users.with_columns(pl.lit(None, pl.String).alias("email"),
                              pl.lit(None, pl.String).alias("display_name")).sort("account_id")


def _release_frame(path: Path, mapping: Mapping_, key: str | None, raw_keys: pl.Series | None,
                   raw_rows: int) -> pl.DataFrame:
    """The release's events in raw order (rows the release dropped are absent), mapped like the raw log."""
    lf = _scan(path)
    schema = _columns(lf, path)
    _check_columns(schema, mapping, path, "--map-anonymized")
    f = mapping.fields
    exprs: dict[str, pl.Expr] = {}
    for k, target in EVENT_FIELDS.items():
        if k not in f:
            continue
        if k == "time":
            try:
                exprs["event_time"] = _time_expr(f[k], schema[f[k]])[0]
            except TypeError:
                raise ImportError_(f"{path}: time={f[k]}: column {f[k]!r} is {schema[f[k]]}, not a time") from None
        else:
            exprs[target] = _string(f[k])
    if key is not None:
        if key not in schema:
            raise ImportError_(f"{path}: --key {key}: no column {key!r} in the file")
        exprs["_key"] = pl.col(key).cast(pl.String)
    df = lf.select([e.alias(k) for k, e in exprs.items()]).collect(engine="streaming")
    if key is None:
        if df.height != raw_rows:
            raise ImportError_(f"{path}: --same-order: {df.height} rows, the events file has {raw_rows}")
        return df
    assert raw_keys is not None
    if df["_key"].null_count() or df["_key"].n_unique() != df.height:
        raise ImportError_(f"{path}: --key {key}: column {key!r} has duplicate or empty keys")
    unknown = df.join(pl.DataFrame({"_key": raw_keys}), on="_key", how="anti").height
    if unknown:
        raise ImportError_(f"{path}: --key {key}: {unknown} key(s) not in the events file")
    pos = pl.DataFrame({"_key": raw_keys}).with_row_index("_pos")
    return df.join(pos, on="_key", how="inner").sort("_pos").drop("_key")


def _write_release(df: pl.DataFrame, folder: Path) -> None:
    """Release rows in the shard of their raw row (``_pos``), so the harness aligns shard by shard: by position
    where a shard kept all its rows, by fingerprint where the release dropped some."""
    if "_pos" not in df.columns:
        df = df.with_row_index("_pos")
    shard = (pl.col("_pos") // ROWS_PER_SHARD).alias("_shard")
    cols = [c for c in df.columns if c != "_pos"]
    arrow = df.head(0).select(cols).to_arrow().schema
    schema = pa.schema([EVENTS.field(c) if c in EVENTS.names else arrow.field(c) for c in cols])
    for (n,), part in df.with_columns(shard).sort("_pos").group_by("_shard", maintain_order=True):
        with atomic_path(folder / shard_name(int(n))) as tmp:  # type: ignore[arg-type]
            pq.write_table(part.select(cols).to_arrow().cast(schema), tmp, **PARQUET_OPTS)
