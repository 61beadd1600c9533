"""Great Expectations suites and the custom privacy expectations. Beam-free.

* :mod:`expectations.custom` — GX custom Expectations for what GX lacks (e-mails, IP prefixes, time buckets,
  pseudonym forms, k-anonymity, columns within a declared schema);
* :mod:`expectations.suites` — the raw tables' suites (schema, types, nulls, value sets, ranges) and their
  cross-shard checks (key uniqueness, referential integrity, volumes);
* :mod:`expectations.contract` — an anonymizer chain's privacy contract, derived from its steps;
* :mod:`expectations.plan` — what to validate per stage, as plain data shipped to workers;
* :mod:`expectations.engine` — one ephemeral GX context per worker, validating a shard against a suite;
* :mod:`expectations.stage` — validate one shard; finish a stage from its shards (or both, in a local loop);
* :mod:`expectations.aggregate` — per-shard partial statistics and the checks that need all shards;
* :mod:`expectations.results` — result rows (counts only) and their Arrow schema;
* :mod:`expectations.docs` — static, offline Data Docs;
* :mod:`expectations.forms`, :mod:`expectations.arrowcol` — value forms (GX-free) and Arrow column helpers.
"""

from __future__ import annotations

import os

# GX must never phone home: set before great_expectations is first imported by any submodule.
os.environ["GX_ANALYTICS_ENABLED"] = "False"
