"""Runner options. The default is Beam's in-process FnApiRunner, named explicitly: the plain DirectRunner
first tries to download the Prism runner from the internet, and anonbench never reaches out.

``--runner`` takes Beam's short names, plus ``DaskRunner`` (which Beam itself only knows by its full path)
and ``InProcess``. Beam options after ``--`` pass through unchanged.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from apache_beam.options.pipeline_options import PipelineOptions

IN_PROCESS = "InProcess"
_ALIASES = {
    None: IN_PROCESS,
    "": IN_PROCESS,
    "inprocess": IN_PROCESS,
    "in-process": IN_PROCESS,
    "fnapirunner": IN_PROCESS,
    "daskrunner": "apache_beam.runners.dask.dask_runner.DaskRunner",
}


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
            raise ValueError("--runner DaskRunner needs the dask extra: pip install 'anonbench[dask]'") from e
        return DaskRunner()
    return key


def make_pipeline_options(runner: str | None = None, beam_args: Sequence[str] = (),
                          workers: int | None = None) -> tuple[Any, PipelineOptions]:
    """(runner, options) for ``beam.Pipeline(runner=..., options=...)``.

    On the in-process runner, ``workers`` > 1 runs bundles in that many worker processes.
    """
    args = list(beam_args)
    for a in args:
        if a.startswith("--direct_num_workers="):
            workers = int(a.split("=", 1)[1])
    runner_obj = resolve_runner(runner, workers)
    is_in_process = not isinstance(runner_obj, str) and type(runner_obj).__name__ == "FnApiRunner"
    if is_in_process and workers and workers > 1 and not any(a.startswith("--direct_num_workers") for a in args):
        args.append(f"--direct_num_workers={workers}")
    opts = PipelineOptions(args, save_main_session=False, pickle_library="cloudpickle")
    return runner_obj, opts
