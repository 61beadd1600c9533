"""The run-directory format, owned in one place: folder and file names (``layout``) and the manifest's
sections and keys (``manifest``).

Every writer (``pipelines``, ``anonbench``), every reader (``reid``, ``expectations``, ``generators.realism``,
the report) and the test fixtures spell a path or a manifest key through this package, never as a literal.
It is Beam-free and imports nothing of the project but ``generators.errors`` (the root of the package graph),
so every package may import it: ``anonbench -> pipelines -> {generators, anonymizers, reid, expectations}
-> runformat``. DESIGN.md ("A run directory") is the contract it implements.
"""
