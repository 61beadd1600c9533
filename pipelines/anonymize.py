"""The anonymize pipeline: ``RUN/raw/<table>/part-NNNNN.parquet`` -> ``RUN/anon/<chain>/<table>/part-NNNNN.parquet``.

One Beam element per raw shard. For every stateful step, a first pass pushes each shard through the steps
before it and reduces it to the step's ``partial``; ``CombinePerKey`` merges the partials per table and the
step's ``finalize`` turns them into a state that is handed off once (``pipelines.handoff``) and joined to
every shard of the later passes (no side inputs: the DaskRunner recomputes them in every reader). A
shard-releasing aggregator with ``bucketed_tables`` (``dp.synthesize``) never gathers its big tables: each
shard's partial is cut into pieces per bucket of privacy units and handed off as files, the pieces of a
bucket are summarized together, and only the summaries meet in one place. The main
pass streams each shard batch by batch through the whole chain and writes the shard under the same number,
atomically. An aggregating step
(``dp.aggregate``) pre-aggregates per shard, sums per (account, partition) across shards and runs PipelineDP
on its ``BeamBackend``. Everything goes to a staging area beside the run and is committed at the end with one
rename (``pipelines.commit``), the manifest written last with ``chains[<chain>]`` (parameters with key
*references* only, rows in/out per table, rows dropped per step, step reports, privacy budget).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq

from anonymizers import registry as registry_mod
from anonymizers.chain import Chain, find_chain, load_spec, resolve_chain, secret_references
from anonymizers.dp_aggregate import rows_of
from anonymizers.local import TableStats, apply_steps, first_pass_tables, step_partial
from pipelines import commit, handoff
from pipelines.integrity import require_intact
from pipelines.manifest import RunError
from pipelines.options import converge, default_workers, gather, make_pipeline_options
from pipelines.runio import (
    PARQUET_OPTS,
    atomic_path,
    parquet_file,
    shard_name,
    shards,
    write_parquet_atomic,
)
from runformat import layout
from runformat import manifest as keys
from runformat.layout import RunDir

BATCH_ROWS = 1 << 17
"""Rows per batch inside a shard (fixed: per-batch randomness such as time jitter depends on it)."""

Element = tuple[str, int, str]  # (table, shard number, path)


def raw_elements(run: Path) -> list[Element]:
    out = []
    raw = RunDir(run).raw()
    for folder in sorted(raw.iterdir()) if raw.is_dir() else []:
        for p in shards(folder):
            out.append((folder.name, layout.shard_chunk(p), str(p)))
    return out


def raw_schemas(run: Path) -> dict[str, pa.Schema]:
    """Table -> schema of its shards; :class:`RunError` naming the shard and the column when the shards of one
    table disagree (a drifted shard would otherwise fail half-way through the pipeline)."""
    out = {}
    for folder in sorted(RunDir(run).raw().iterdir()):
        parts = shards(folder) if folder.is_dir() else []
        if not parts:
            continue
        first = pq.read_schema(parts[0])
        for p in parts[1:]:
            other = pq.read_schema(p)
            if not other.equals(first, check_metadata=False):
                col = next((f.name for f in first if f.name not in other.names
                            or other.field(f.name).type != f.type), None) \
                    or next(f.name for f in other if f.name not in first.names)
                raise RunError(f"{p}: column {col!r}: schema differs from {parts[0].name} of the same table")
        out[folder.name] = first
    return out


def iter_batches(path: str, columns: Sequence[str] | None = None) -> Iterator[tuple[int, pa.Table]]:
    f = parquet_file(path)
    n = 0
    for rb in f.iter_batches(batch_size=BATCH_ROWS, columns=list(columns) if columns is not None else None):
        yield n, pa.Table.from_batches([rb])
        n += 1
    if n == 0:
        empty = f.schema_arrow.empty_table()
        yield 0, empty.select(list(columns)) if columns is not None else empty


def rows_per_table(elements: list[Element]) -> dict[str, int]:
    out: dict[str, int] = {}
    for table, _, path in elements:
        out[table] = out.get(table, 0) + pq.ParquetFile(path).metadata.num_rows
    return out


def _read_columns(chain: Chain, step_index: int, table: str) -> tuple[str, ...] | None:
    """The columns a stateful step's first pass must read from a raw shard of ``table``: those its
    ``partial`` declares when no earlier step touches the table (else all)."""
    if any(table in s.tables for s in chain.steps[:step_index]):
        return None
    return chain.steps[step_index].anonymizer.input_columns(table)


def _states(kw: Mapping[str, Any]) -> dict[int, Any]:
    return {int(k[1:]): v for k, v in kw.items()}


def anonymize_shard(element: Element, chain: Chain, out_dir: str, stats_dir: str, **states) -> None:
    """Stream one raw shard through the chain and write it under the same shard number (nothing when the
    chain no longer releases the table); its row counts go to ``stats_dir``."""
    table, shard, path = element
    st = _states(states)
    schema = None if table in chain.released_by else chain.output_schemas.get(table)
    total = TableStats()
    consumer = _consumed_by_aggregator(chain, table)
    if consumer is not None:  # the table ends with an aggregating step before any other touches it
        rows = pq.ParquetFile(path).metadata.num_rows
        total = TableStats(rows_in=rows, rows_out=0, dropped_by_step={consumer: rows} if rows else {})
    elif schema is None:
        for no, batch in iter_batches(path):
            total = total.add(apply_steps(chain, table, batch, st, shard, no)[1])
    else:
        with atomic_path(Path(out_dir) / table / shard_name(shard)) as tmp, \
                pq.ParquetWriter(tmp, schema, **PARQUET_OPTS) as writer:
            for no, batch in iter_batches(path):
                out, stats = apply_steps(chain, table, batch, st, shard, no)
                total = total.add(stats)
                if out is not None and out.num_rows:
                    writer.write_table(out.select(schema.names).cast(schema))
    _write_json(Path(stats_dir) / f"table-{table}-{shard:05d}.json", total.as_dict())


def _consumed_by_aggregator(chain: Chain, table: str) -> str | None:
    """The label of the aggregating step that consumes ``table`` if it is the first step touching it."""
    for step in chain.steps:
        if table in step.tables:
            return step.label if step.released_tables and table in step.columns else None
    return None


def shard_partial(element: Element, chain: Chain, step_index: int, **states) -> Iterator[tuple[str, Any]]:
    table, shard, path = element
    step = chain.steps[step_index]
    st = _states(states)
    for no, batch in iter_batches(path, _read_columns(chain, step_index, table)):
        part = step_partial(chain, step, table, batch, st, shard, no)
        if part is not None:
            yield table, part


def _job(kv: tuple[Element, Any]) -> tuple[Element, dict[str, handoff.Ticket]]:
    element, values = kv
    tickets = [v for v in values if v is not None]
    assert len(tickets) == 1, f"{element[0]} shard {element[1]}: {len(tickets)} state tickets"
    return tuple(element), tickets[0]  # type: ignore[return-value]


def _loaded(tickets: Mapping[str, handoff.Ticket]) -> dict[str, Any]:
    return {k: handoff.get(t) for k, t in tickets.items()}


def shard_partial_job(job: tuple[Element, Mapping[str, handoff.Ticket]], chain: Chain,
                      step_index: int) -> Iterator[tuple[str, Any]]:
    """:func:`shard_partial` of a job (a shard element and the tickets of the states before the step)."""
    element, tickets = job
    return shard_partial(element, chain, step_index, **_loaded(tickets))


def anonymize_job(job: tuple[Element, Mapping[str, handoff.Ticket]], chain: Chain, out_dir: str,
                  stats_dir: str) -> None:
    """:func:`anonymize_shard` of a job (a shard element and the tickets of every stateful step's state)."""
    element, tickets = job
    anonymize_shard(element, chain, out_dir, stats_dir, **_loaded(tickets))


def shard_buckets_job(job: tuple[Element, Mapping[str, handoff.Ticket]], chain: Chain, step_index: int,
                      buckets: int, spill_dir: str) -> Iterator[tuple[int, handoff.Ticket]]:
    """One shard of a bucketed table: its partials merged, cut into one piece per bucket of privacy units
    (``bucket``) and each piece handed off to a file; -> (bucket, ticket). Nothing of the shard stays in
    memory and only tickets travel through the shuffle (a retried attempt rewrites the same bytes)."""
    (table, shard, path), tickets = job
    step = chain.steps[step_index]
    st = _states(_loaded(tickets))
    merged = None
    for no, batch in iter_batches(path, _read_columns(chain, step_index, table)):
        part = step_partial(chain, step, table, batch, st, shard, no)
        if part is not None:
            merged = part if merged is None else step.anonymizer.merge(merged, part)
    if merged is None:
        return
    for b, piece in step.anonymizer.bucket(table, merged, buckets):
        yield b, handoff.put(piece, spill_dir, f"bucket-{b:05d}-{table}-{shard:05d}")


def context_ticket(pairs: list[tuple[str, Any]], chain: Chain, step_index: int, stats_dir: str) -> handoff.Ticket:
    """The merged partials of a bucketed step's other (small) tables, handed off once to every bucket."""
    context = chain.steps[step_index].anonymizer.context(dict(sorted(pairs, key=lambda kv: kv[0])))
    return handoff.put(context, Path(stats_dir) / "handoff", f"context-{step_index}")


def summarize_bucket(kv: tuple[int, Any], chain: Chain, step_index: int, buckets: int) -> tuple[int, Any]:
    """(bucket, summary) from the bucket's pieces of every shard and the context (tag 0: context ticket,
    1: piece tickets)."""
    bucket, values = kv
    values = list(values)
    contexts = [t for tag, t in values if tag == 0]
    assert len(contexts) == 1, f"bucket {bucket}: {len(contexts)} context tickets"
    pieces = sorted((t for tag, t in values if tag == 1), key=lambda t: t.path)
    anonymizer = chain.steps[step_index].anonymizer
    return bucket, anonymizer.summarize(handoff.get(contexts[0]), bucket, buckets,
                                        [handoff.take(t) for t in pieces])


def fit_release_buckets_ticket(summaries: list[tuple[int, Any]], chain: Chain, step_index: int, buckets: int,
                               stats_dir: str) -> handoff.Ticket:
    """The DP core of a bucketed release: the buckets' summaries combined (in bucket order), measured with
    noise and fitted once, handed off to the shard writers."""
    got = sorted(summaries, key=lambda kv: kv[0])
    assert [b for b, _ in got] == list(range(buckets)), f"step {step_index}: buckets {[b for b, _ in got]}"
    step = chain.steps[step_index]
    release = step.anonymizer.fit_release(step.anonymizer.combine([s for _, s in got]))
    _write_json(Path(stats_dir) / f"step-{step_index}.json", step.anonymizer.report(release))
    return handoff.put(release, Path(stats_dir) / "handoff", f"release-{step_index}")


def add_state(pair: list[tuple[int, Any]], name: str) -> tuple[list[Element], dict[str, handoff.Ticket]]:
    """(elements, tickets) with the ticket of one more state."""
    (_, (elements, tickets)), (_, ticket) = sorted(pair, key=lambda kv: kv[0])
    return elements, {**tickets, name: ticket}


class MergePartials(beam.CombineFn):
    """Merges a stateful step's partials of one table (the step's own ``merge``)."""

    def __init__(self, chain: Chain, step_index: int) -> None:
        self.anonymizer = chain.steps[step_index].anonymizer

    def create_accumulator(self) -> Any:
        return None

    def add_input(self, acc: Any, part: Any) -> Any:
        return part if acc is None else self.anonymizer.merge(acc, part)

    def merge_accumulators(self, accs: Any) -> Any:
        out = None
        for a in accs:
            if a is not None:
                out = a if out is None else self.anonymizer.merge(out, a)
        return out

    def extract_output(self, acc: Any) -> Any:
        return acc


def finalize_state(pairs: list[tuple[str, Any]], chain: Chain, step_index: int, stats_dir: str) -> Any:
    step = chain.steps[step_index]
    state = step.anonymizer.finalize(dict(sorted(pairs, key=lambda kv: kv[0])))
    _write_json(Path(stats_dir) / f"step-{step_index}.json", step.anonymizer.report(state))
    return state


def finalize_state_ticket(pairs: list[tuple[str, Any]], chain: Chain, step_index: int,
                          stats_dir: str) -> handoff.Ticket:
    """:func:`finalize_state`, the state handed off once to the passes that need it."""
    state = finalize_state(pairs, chain, step_index, stats_dir)
    return handoff.put(state, Path(stats_dir) / "handoff", f"state-{step_index}")


def write_release(results: list[Any], chain: Chain, step_index: int, out_dir: str) -> None:
    step = chain.steps[step_index]
    assert isinstance(step.releases, str)
    aggregator: Any = step.anonymizer  # an aggregating anonymizer (dp.aggregate)
    released = aggregator.to_table(results, chain.output_schemas[step.releases])
    write_parquet_atomic(released, Path(out_dir) / step.releases / shard_name(0))


def fit_release(pairs: list[tuple[str, Any]], chain: Chain, step_index: int, stats_dir: str) -> Any:
    """The DP core of a shard-releasing aggregator: finalize (bounding), measure (noise), fit."""
    step = chain.steps[step_index]
    state = step.anonymizer.finalize(dict(sorted(pairs, key=lambda kv: kv[0])))
    release = step.anonymizer.fit_release(state)
    _write_json(Path(stats_dir) / f"step-{step_index}.json", step.anonymizer.report(release))
    return release


def fit_release_ticket(pairs: list[tuple[str, Any]], chain: Chain, step_index: int,
                       stats_dir: str) -> handoff.Ticket:
    """:func:`fit_release`, the release handed off once to the shard writers (see :mod:`pipelines.handoff`:
    a side input would be recomputed, noise included, by every reader on the DaskRunner)."""
    release = fit_release(pairs, chain, step_index, stats_dir)
    return handoff.put(release, Path(stats_dir) / "handoff", f"release-{step_index}")


def release_jobs(ticket: handoff.Ticket, chain: Chain, step_index: int) -> list[tuple[int, handoff.Ticket]]:
    """One (shard number, ticket) per output shard of the handed-off release."""
    n = chain.steps[step_index].anonymizer.release_shards(handoff.get(ticket))
    return [(i, ticket) for i in range(n)]


def write_release_job(job: tuple[int, handoff.Ticket], chain: Chain, step_index: int, out_dir: str,
                      stats_dir: str) -> None:
    i, ticket = job
    write_release_shard(i, chain, step_index, out_dir, stats_dir, handoff.get(ticket))


def write_release_shard(i: int, chain: Chain, step_index: int, out_dir: str, stats_dir: str,
                        release: Any) -> None:
    """Shard ``i`` of every table the step releases, written atomically (and its row counts)."""
    step = chain.steps[step_index]
    tables = step.anonymizer.release_shard(release, i)
    counts = {}
    for t in step.released_tables:
        schema = chain.output_schemas[t]
        data = tables[t].select(schema.names).cast(schema) if t in tables else schema.empty_table()
        write_parquet_atomic(data, Path(out_dir) / t / shard_name(i))
        counts[t] = data.num_rows
    _write_json(Path(stats_dir) / f"release-{step_index}-{i:05d}.json", counts)


def _write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, sort_keys=True, default=str))


class AnonymizeChain(beam.PTransform):
    """Shard elements -> written ``anon/<chain>/`` shards (first passes, main pass, releases)."""

    def __init__(self, chain: Chain, out_dir: Path, stats_dir: Path, rows: Mapping[str, int] | None = None) -> None:
        super().__init__()
        self.chain, self.out_dir, self.stats_dir = chain, str(out_dir), str(stats_dir)
        self.rows = dict(rows or {})
        """Raw rows per table (sizes the buckets of a bucketed step)."""

    def expand(self, elements: beam.PCollection) -> Any:
        # No side inputs: Beam's DaskRunner recomputes a side input's whole upstream graph in every task that
        # reads it. Each stateful step's finalized state is handed off once (pipelines.handoff) and its ticket
        # joined to every shard element; the first passes and the main pass take (element, tickets) jobs.
        chain = self.chain
        states = gather(elements, "ListShards") | "NoStateYet" >> beam.Map(lambda es: (es, {}))
        for step in chain.steps:
            if not step.stateful:
                continue
            tables = set(first_pass_tables(step))
            i = step.index
            if step.shard_release and step.anonymizer.bucketed_tables:
                self._release_buckets(self._jobs(elements, states, f"Step{i}"), i, tables)
                continue
            partials = (self._jobs(elements, states, f"Step{i}")
                        | f"Step{i}ShardsFor{step.use}" >> beam.Filter(lambda j, ts=tables: j[0][0] in ts)
                        | f"Step{i}Partial" >> beam.FlatMap(shard_partial_job, chain, i))
            if step.shard_release:
                self._release_shards(partials, step.index)
                continue
            if step.releases:
                self._release(partials, step.index)
                continue
            merged = partials | f"Step{i}MergePerTable" >> beam.CombinePerKey(MergePartials(chain, i))
            ticket = (gather(merged, f"Step{i}Gather")
                      | f"Step{i}Finalize" >> beam.Map(finalize_state_ticket, chain, i, self.stats_dir))
            both = ((states | f"Step{i}TagStates" >> beam.Map(lambda s: (0, s)),
                     ticket | f"Step{i}TagTicket" >> beam.Map(lambda t: (1, t)))
                    | f"Step{i}Both" >> beam.Flatten())
            states = gather(both, f"Step{i}Pair") | f"Step{i}AddState" >> beam.Map(add_state, f"s{i}")
        return (self._jobs(elements, states, "Main")
                | "AnonymizeShards" >> beam.Map(anonymize_job, chain, self.out_dir, self.stats_dir))

    @staticmethod
    def _jobs(elements: beam.PCollection, states: beam.PCollection, label: str) -> beam.PCollection:
        """(element, tickets) for every shard element: the tickets fanned out and joined to the elements by
        key (the join also spreads the jobs over the elements' partitions on Dask, where Reshuffle does not)."""
        return ((elements | f"{label}KeyShards" >> beam.Map(lambda e: (e, None)),
                 states | f"{label}FanOut" >> beam.FlatMap(lambda s: [(e, s[1]) for e in s[0]]))
                | f"{label}JoinFlatten" >> beam.Flatten()
                | f"{label}Join" >> beam.GroupByKey()
                | f"{label}Jobs" >> beam.Map(_job))

    def _release_shards(self, partials: beam.PCollection, i: int) -> None:
        chain = self.chain
        # The release is computed once and reaches the shard writers in the main input, by ticket (not as a
        # side input: the DaskRunner recomputes a side input, noise included, in every task that reads it).
        merged = partials | f"Step{i}MergePerTable" >> beam.CombinePerKey(MergePartials(chain, i))
        ticket = (gather(merged, f"Step{i}Gather")
                  | f"Step{i}FitRelease" >> beam.Map(fit_release_ticket, chain, i, self.stats_dir))
        self._write_release(ticket, i)

    def _write_release(self, ticket: beam.PCollection, i: int) -> None:
        chain = self.chain
        (ticket
         | f"Step{i}Shards" >> beam.FlatMap(release_jobs, chain, i)
         | f"Step{i}Spread" >> beam.Reshuffle()
         | f"Step{i}WriteShards" >> beam.Map(write_release_job, chain, i, self.out_dir, self.stats_dir))

    def _release_buckets(self, jobs: beam.PCollection, i: int, tables: set[str]) -> None:
        """A bucketed release (see the bucketed contract in :mod:`anonymizers.base`): the big tables' partials
        go, shard by shard, into one handed-off piece per bucket of privacy units; the small tables' are
        merged into a context handed off once; per bucket, the pieces and the context become a summary; the
        summaries are combined, measured and fitted once, and the release written shard by shard."""
        chain, step = self.chain, self.chain.steps[i]
        bucketed = set(step.anonymizer.bucketed_tables) & tables
        buckets = step.anonymizer.buckets(sum(self.rows.get(t, 0) for t in bucketed))
        spill = str(Path(self.stats_dir) / "handoff" / f"step-{i}-buckets")
        pieces = (jobs
                  | f"Step{i}BucketedShards" >> beam.Filter(lambda j, ts=bucketed: j[0][0] in ts)
                  | f"Step{i}Buckets" >> beam.FlatMap(shard_buckets_job, chain, i, buckets, spill)
                  | f"Step{i}TagPieces" >> beam.Map(lambda kv: (kv[0], (1, kv[1]))))
        context = (jobs
                   | f"Step{i}ContextShards" >> beam.Filter(lambda j, ts=tables - bucketed: j[0][0] in ts)
                   | f"Step{i}ContextPartial" >> beam.FlatMap(shard_partial_job, chain, i)
                   | f"Step{i}ContextMerge" >> beam.CombinePerKey(MergePartials(chain, i)))
        fanned = (gather(context, f"Step{i}ContextGather")
                  | f"Step{i}Context" >> beam.Map(context_ticket, chain, i, self.stats_dir)
                  | f"Step{i}ContextToBuckets" >> beam.FlatMap(lambda t, k: [(b, (0, t)) for b in range(k)],
                                                               buckets))
        summaries = ((pieces, fanned)
                     | f"Step{i}BucketFlatten" >> beam.Flatten()
                     | f"Step{i}PerBucket" >> beam.GroupByKey()
                     | f"Step{i}Summarize" >> beam.Map(summarize_bucket, chain, i, buckets))
        ticket = (gather(summaries, f"Step{i}Summaries")
                  | f"Step{i}FitRelease" >> beam.Map(fit_release_buckets_ticket, chain, i, buckets, self.stats_dir))
        self._write_release(ticket, i)

    def _release(self, partials: beam.PCollection, i: int) -> None:
        import pipeline_dp

        step = self.chain.steps[i]
        summed = (partials
                  | f"Step{i}RowsPerUnitAndPartition" >> beam.FlatMap(lambda kv: rows_of(kv[1]))
                  | f"Step{i}SumPerUnitAndPartition" >> beam.CombinePerKey(sum))
        aggregator: Any = step.anonymizer
        released, accountant = aggregator.release(summed, pipeline_dp.BeamBackend())
        accountant.compute_budgets()
        (gather(released, f"Step{i}GatherRelease")
         | f"Step{i}WriteRelease" >> beam.Map(write_release, self.chain, i, self.out_dir))


def ephemeral_for(chain_ref: str | Path, key: bytes | None) -> dict[str, bytes] | None:
    """The chain's unset ``env:`` references mapped to ``key`` (``anonbench run`` with an ephemeral key)."""
    if key is None:
        return None
    spec = load_spec(find_chain(chain_ref))
    refs = secret_references(spec, registry_mod.load())
    return {r: key for r in refs if r.startswith("env:") and not os.environ.get(r[4:])} or None


def _gather_stats(chain: Chain, stats_dir: Path) -> tuple[dict[str, Any], dict[int, Any]]:
    tables: dict[str, TableStats] = {}
    for p in sorted(stats_dir.glob("table-*.json")):
        d = json.loads(p.read_text())
        name = p.stem[len("table-"):].rsplit("-", 1)[0]
        tables[name] = tables.get(name, TableStats()).add(TableStats(**d))
    reports = {int(p.stem.split("-")[1]): json.loads(p.read_text()) for p in stats_dir.glob("step-*.json")}
    return {t: s.as_dict() for t, s in sorted(tables.items())}, reports


def check_chain(chain: str | Path, ephemeral_key: bytes | None = None) -> Chain:
    """Validate a chain against the raw schemas of ``generators.schema`` without a run (``anonbench run``
    calls this for every chain before generating, so a bad chain fails in seconds)."""
    return resolve_chain(chain, ephemeral_secrets=ephemeral_for(chain, ephemeral_key))


def anonymize_run(run_dir: str | Path, chain: str | Path, runner: str | None = None,
                  beam_args: Sequence[str] = (), ephemeral_key: bytes | None = None,
                  workers: int | None = None) -> dict[str, Any]:
    """Apply one chain to a run; returns the manifest section written under ``chains[<name>]``.

    Raises :class:`anonymizers.chain.ChainError` (bad chain, unresolvable key) or :class:`RunError` (bad run)
    before any data moves. ``ephemeral_key`` (``anonbench run`` only) stands in for unset ``env:`` keys;
    ``workers`` > 1 runs the in-process runner with that many worker processes (default: 2 from
    ``pipelines.options.TWO_WORKERS_FROM_ROWS`` raw rows on, else 1; a ``--direct_num_workers`` Beam option wins).
    """
    run = Path(run_dir)
    require_intact(run, [layout.RAW])  # RunError naming a missing, damaged or emptied raw file, before any work
    elements = raw_elements(run)
    if not elements:
        raise RunError(f"{RunDir(run).raw()}: no raw shards")
    resolved = resolve_chain(chain, schemas=raw_schemas(run), ephemeral_secrets=ephemeral_for(chain, ephemeral_key))
    name = resolved.name
    started = time.monotonic()
    if workers is None:
        workers = default_workers(len(elements), sum(rows_per_table(elements).values()))
    runner_obj, options = make_pipeline_options(runner, beam_args, workers=workers)  # OptionsError: exit 2
    area = commit.StagingArea(run)  # written beside the run, committed below with one rename (pipelines.commit)
    out_tmp, stats_dir = RunDir(area.path).anon(name), area.path / "stats"
    out_tmp.mkdir(parents=True)
    logging.getLogger("apache_beam").setLevel(logging.WARNING)
    try:
        with beam.Pipeline(runner=runner_obj, options=options) as p:
            _ = (p
                 | "ListRawShards" >> beam.Create(elements)
                 | f"Anonymize[{name}]" >> AnonymizeChain(resolved, out_tmp, stats_dir, rows_per_table(elements)))
            converge(p)
        tables, reports = _gather_stats(resolved, stats_dir)
        final = out_tmp  # the staged chain: what the commit below swaps in as anon/<name>
    except BaseException:
        area.close()
        raise
    section = resolved.manifest_section()
    for s in section["steps"]:
        step = resolved.steps[s["index"]]
        s["rows_dropped"] = {t: st["dropped_by_step"].get(step.label, 0) for t, st in tables.items()
                             if t in step.tables}
        if s["index"] in reports:
            s["report"] = reports[s["index"]]
        if step.shard_release:
            s["report"] = {"budget": step.anonymizer.budget(), **reports.get(s["index"], {})}
            for t in step.released_tables:
                n = sum(pq.ParquetFile(f).metadata.num_rows for f in shards(final / t))
                # rows_in/dropped: the raw table the step consumed (if of the same name); rows_out: synthetic
                tables[t] = {"rows_in": None, "dropped_by_step": {}, **tables.get(t, {}), "rows_out": n}
            s["report"]["rows_released"] = {t: tables[t]["rows_out"] for t in step.released_tables}
        elif step.releases:
            assert isinstance(step.releases, str)
            released = final / step.releases / shard_name(0)
            n = pq.ParquetFile(released).metadata.num_rows if released.is_file() else 0
            s["report"] = {"budget": step.anonymizer.budget(), "partitions_released": n}
            tables[step.releases] = {"rows_in": None, "rows_out": n, "dropped_by_step": {}}
    section.update({"tables": tables, "output_schemas": {t: [f"{f.name}: {f.type}" for f in sch]
                                                          for t, sch in resolved.output_schemas.items()},
                    "runner": runner or "InProcess", "seconds": round(time.monotonic() - started, 3)})
    try:
        commit.commit(run, lambda man: {**man, keys.CHAINS: {**keys.section(man, keys.CHAINS), name: section}},
                      staged=area.path, replace=[layout.anon_rel(name)])
    finally:
        area.close()
    return section
