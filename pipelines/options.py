"""Runner options. The default is Beam's in-process FnApiRunner, named explicitly: the plain DirectRunner
first tries to download the Prism runner from the internet, and anonbench never reaches out.

``--runner`` takes Beam's short names, plus ``DaskRunner`` (which Beam itself only knows by its full path)
and ``InProcess``. Beam options after ``--`` pass through unchanged.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Sequence
from typing import Any

from apache_beam.options.pipeline_options import PipelineOptions

from generators.errors import InputError

IN_PROCESS = "InProcess"
DASK_NPARTITIONS = "--dask_npartitions=2"
"""The DaskRunner's default unless ``--dask_npartitions``/``--dask_partition_size`` is given: the shard elements
in two Dask partitions (raise it to the cluster's worker count). Beam 2.77's own default puts up to 128 elements
in one partition, so a run of fewer shards went through one task chain on one worker (measured on a 2-worker
cluster: 10 tasks on one worker, 1 on the other); one element per partition multiplies the tasks of every
shuffle and join (kanon: 30,741 tasks, 422 s on a busy 2-core machine, for ~23 s of work per worker)."""
_ALIASES = {
    None: IN_PROCESS,
    "": IN_PROCESS,
    "inprocess": IN_PROCESS,
    "in-process": IN_PROCESS,
    "fnapirunner": IN_PROCESS,
    "daskrunner": "apache_beam.runners.dask.dask_runner.DaskRunner",
}


TWO_WORKERS_FROM_ROWS = 10_000_000
"""Below this many rows, a second in-process worker costs more than it saves. Starting the worker processes
takes seconds (measured ~7 s on a busy 2-core machine) while one worker anonymizes ~400k events/s with
``generalize``; for ``validate`` each worker also imports pandas and GX and the shard results travel between
processes (5M rows, raw + 4 chains of a 1M-event run: two workers cost 18 s of CPU against 12 s for one, for
about the same wall time on 2 cores)."""


def default_workers(n_tasks: int, total_rows: int) -> int:
    """In-process workers for a stage of ``n_tasks`` elements over ``total_rows`` rows: 2 (at most the CPU
    count) from :data:`TWO_WORKERS_FROM_ROWS` rows and 2 elements on, else 1. A ``--direct_num_workers``
    Beam option wins over it."""
    return min(2, os.cpu_count() or 1) if n_tasks > 1 and total_rows >= TWO_WORKERS_FROM_ROWS else 1


class OptionsError(InputError):
    """A runner or Beam option that cannot be used (exit 2); the message names the option."""


def resolve_runner(name: str | None, workers: int | None = None) -> Any:
    """A runner object or a name Beam understands.

    The in-process runner with ``workers`` > 1 runs bundles in worker subprocesses started through
    ``pipelines.beam_worker`` (Beam's harness without its log chatter).
    """
    key = _ALIASES.get(name.lower() if name else name, name)
    if key == IN_PROCESS:
        from apache_beam.runners.portability.fn_api_runner import FnApiRunner

        if workers and workers > 1:
            from apache_beam.transforms import environments

            env = environments.SubprocessSDKEnvironment.from_command_string(
                f"{sys.executable} -m pipelines.beam_worker")
            return FnApiRunner(default_environment=env)
        return FnApiRunner()
    if key == "apache_beam.runners.dask.dask_runner.DaskRunner":
        try:
            from apache_beam.runners.dask.dask_runner import DaskRunner
        except ImportError as e:  # pragma: no cover - depends on the extra
            raise OptionsError("--runner DaskRunner needs the dask extra: pip install 'anonbench[dask]'") from e
        return DaskRunner()
    from apache_beam.runners.runner import create_runner

    try:
        create_runner(str(key))  # a name Beam does not know fails here, before any work, not inside the run
    except (ValueError, ImportError) as e:
        raise OptionsError(f"--runner {name}: {str(e).splitlines()[0][:200]}") from None
    return key


def make_pipeline_options(runner: str | None = None, beam_args: Sequence[str] = (),
                          workers: int | None = None) -> tuple[Any, PipelineOptions]:
    """(runner, options) for ``beam.Pipeline(runner=..., options=...)``.

    On the in-process runner, ``workers`` > 1 runs bundles in that many worker processes.
    """
    args = list(beam_args)
    for a in args:
        if a.startswith("--direct_num_workers="):
            try:
                workers = int(a.split("=", 1)[1])
            except ValueError:
                raise OptionsError(f"beam options: {a}: not a whole number") from None
    runner_obj = resolve_runner(runner, workers)
    is_in_process = not isinstance(runner_obj, str) and type(runner_obj).__name__ == "FnApiRunner"
    if is_in_process and workers and workers > 1 and not any(a.startswith("--direct_num_workers") for a in args):
        args.append(f"--direct_num_workers={workers}")
    if not isinstance(runner_obj, str) and type(runner_obj).__name__ == "DaskRunner" and not any(
            a.startswith(("--dask_npartitions", "--dask_partition_size")) for a in args):
        args.append(DASK_NPARTITIONS)
    opts = PipelineOptions(args, save_main_session=False, pickle_library="cloudpickle")
    try:  # Beam parses the options lazily with argparse, which prints its usage and exits on a bad value
        with contextlib.redirect_stderr(io.StringIO()) as err:
            opts.get_all_options()
    except SystemExit:
        last = [ln for ln in err.getvalue().splitlines() if ln.strip()]
        raise OptionsError(f"beam options: {last[-1].split('error: ', 1)[-1] if last else 'invalid'}") from None
    return runner_obj, opts


def converge(pipeline: Any) -> None:
    """Join every leaf of ``pipeline`` into one final transform.

    Beam's DaskRunner (2.77) computes only the Dask bag of the *last* transform it visits ("connected to the
    full task graph", its comment assumes); a pipeline with several sinks — an aggregating release beside the
    main pass, a result written beside the shards — silently skips all but one of them (``dp-aggregates``
    released 0 partitions on Dask, 8 in-process). Flattening every unconsumed output into one counted sink
    makes the last transform depend on all of them, on every runner. Call it after building the pipeline,
    before it runs.
    """
    import apache_beam as beam
    from apache_beam.pipeline import PipelineVisitor
    from apache_beam.pvalue import PCollection

    consumed: set[int] = set()
    produced: list[PCollection] = []

    class _Leaves(PipelineVisitor):
        def visit_transform(self, node: Any) -> None:
            consumed.update(id(i) for i in node.inputs)
            consumed.update(id(si.pvalue) for si in node.side_inputs)
            produced.extend(o for o in node.outputs.values() if isinstance(o, PCollection))

    pipeline.visit(_Leaves())
    leaves = [pc for pc in produced if id(pc) not in consumed]
    if len(leaves) > 1:
        # without_defaults: a CombineGlobally with defaults reads its result back as a side input, which the
        # DaskRunner materializes by recomputing the whole pipeline inside one task (see ``gather``)
        _ = (tuple(leaves)
             | "ConvergeLeaves" >> beam.Flatten()
             | "AllSinksDone" >> beam.combiners.Count.Globally().without_defaults())


def gather(pcoll: Any, label: str) -> Any:
    """All elements of ``pcoll`` as one list (``[]`` when it is empty), without side inputs.

    ``beam.combiners.ToList()`` injects its default for an empty input through a side input, and Beam's
    DaskRunner (2.77) materializes a side input inside every task that reads it by recomputing the side
    input's whole upstream graph there (``DaskBagWindowedIterator.__iter__``: ``list(bag)``). That repeats
    the upstream work, draws the noise of a DP step again, and can return an element twice (its ``OneReceiver``
    keeps the outputs of earlier bundles). Here a seed element keeps the group non-empty instead.
    """
    import apache_beam as beam

    seed = pcoll.pipeline | f"{label}Seed" >> beam.Create([None])
    return ((pcoll | f"{label}Key" >> beam.Map(lambda x: (0, (1, x))),
             seed | f"{label}KeySeed" >> beam.Map(lambda _: (0, (0, None))))
            | f"{label}Flatten" >> beam.Flatten()
            | f"{label}Group" >> beam.GroupByKey()
            | f"{label}List" >> beam.Map(lambda kv: [x for tag, x in kv[1] if tag]))
