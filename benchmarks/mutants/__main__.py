"""``python -m benchmarks.mutants`` (``make mutants``): see :mod:`benchmarks.mutants.runner`."""

from benchmarks.mutants.runner import main

raise SystemExit(main())
