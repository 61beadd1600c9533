"""A privacy mutation score for the harness (`make mutants`, issue 9 item 6).

Mutation testing asks of a test suite "would you notice this bug?"; here the suite is anonbench's CI gate and
the bugs are changes that make a release *less private*: a coarsening made finer, a step dropped, a key that
anyone can recompute, DP noise scaled down. Each mutant of the corpus (:mod:`benchmarks.mutants.corpus`) is
applied *outside* the checked-out sources — a mutated chain YAML in a temporary folder, or a monkeypatch
loaded through a ``sitecustomize`` module on the subprocess's ``PYTHONPATH`` (:mod:`benchmarks.mutants.patches`)
— and the gate is run on ``configs/ci.yaml`` against the unmutated run as baseline. The score is killed /
valid mutants; the harmless mutants (refactors that keep every output byte) must not be flagged.

    python -m benchmarks.mutants [--jobs N] [--only a,b] [--baseline-run DIR] [--out FILE]
"""
