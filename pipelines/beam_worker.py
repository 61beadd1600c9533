"""Entry point of the in-process runner's worker subprocesses: Beam's SDK harness with its INFO chatter
turned off (it ignores the pipeline's log level in this mode). ``ANONBENCH_DEBUG=1`` keeps every line."""

from __future__ import annotations

import logging
import os
import sys

if __name__ == "__main__":
    if not os.environ.get("ANONBENCH_DEBUG"):
        logging.disable(logging.WARNING)
    from apache_beam.runners.worker import sdk_worker_main

    sdk_worker_main.main(sys.argv)
