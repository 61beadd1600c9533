"""Custom Great Expectations (GX 1.x) for what GX lacks: the privacy contract of an anonymized table.

Importing this package registers the expectations (and their metrics) with GX, so they can be used by class
or by their snake_case type name in a suite:

* :class:`ExpectColumnValuesToNotBeEmailAddresses` — no value contains an e-mail-shaped string (and
  :class:`ExpectTableValuesToNotBeEmailAddresses`, the same over many columns in one pass);
* :class:`ExpectColumnValuesToBeIpPrefixes` — IP addresses carry at most the declared prefix (``/24``, ``/48``);
* :class:`ExpectColumnValuesToBeOnTimeBucket` — timestamps sit on the declared bucket (``1h``, ``15min``);
* :class:`ExpectColumnValuesToBePseudonyms` — values have the declared pseudonym form (e.g. 64 hex digits);
* :class:`ExpectColumnCombinationToBeKAnonymous` — every combination of quasi-identifiers is held by ≥ k records;
* :class:`ExpectTableColumnsToBeWithinSet` — no column outside the declared schema;
* :class:`ExpectTableColumnTypesToMatch` — a table's column types in one expectation.

All work on pandas batches, vectorized (map metrics evaluate each *distinct* value once where parsing is
needed). None of them puts a data value in its result: only counts, column names and the declared parameters.
"""

from __future__ import annotations

from expectations.custom.column_types import ExpectTableColumnTypesToMatch
from expectations.custom.columns_within import ExpectTableColumnsToBeWithinSet
from expectations.custom.ip_prefix import ExpectColumnValuesToBeIpPrefixes
from expectations.custom.k_anonymity import ExpectColumnCombinationToBeKAnonymous
from expectations.custom.not_email import (
    ExpectColumnValuesToNotBeEmailAddresses,
    ExpectTableValuesToNotBeEmailAddresses,
)
from expectations.custom.pseudonym import ExpectColumnValuesToBePseudonyms
from expectations.custom.time_bucket import ExpectColumnValuesToBeOnTimeBucket
from expectations.forms import PSEUDONYM_FORMS, parse_every

__all__ = [
    "PSEUDONYM_FORMS",
    "ExpectColumnCombinationToBeKAnonymous",
    "ExpectColumnValuesToBeIpPrefixes",
    "ExpectColumnValuesToBeOnTimeBucket",
    "ExpectColumnValuesToBePseudonyms",
    "ExpectColumnValuesToNotBeEmailAddresses",
    "ExpectTableColumnTypesToMatch",
    "ExpectTableColumnsToBeWithinSet",
    "ExpectTableValuesToNotBeEmailAddresses",
    "parse_every",
]
