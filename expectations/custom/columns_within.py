"""No column outside the declared schema: a release holds the columns its chain declares, and no more.

A column that the chain does not know about (a new raw field, a debug column, a join left-over) is released
without any anonymization step having looked at it — data minimisation, GDPR Art. 5(1)(c).
"""

from __future__ import annotations

from typing import Any, ClassVar

from great_expectations.compatibility import pydantic
from great_expectations.expectations.expectation import BatchExpectation


class ExpectTableColumnsToBeWithinSet(BatchExpectation):
    """Expect every column of the table to be in ``column_set`` (declared columns may be missing).

    Args:
        column_set: the declared columns.

    How to read it: ``unexpected_count`` columns are released although no step declared them; the result
    names them (column names, never values).
    """

    column_set: list[str] = pydantic.Field(..., description="The declared columns.")
    metric_dependencies = ("table.columns",)
    success_keys = ("column_set",)
    domain_keys = ("batch_id", "row_condition", "condition_parser")
    args_keys = ("column_set",)
    library_metadata: ClassVar[dict] = {"tags": ["privacy", "anonbench"], "contributors": ["anonbench"]}

    def _validate(self, metrics: dict, runtime_configuration: dict | None = None,
                  execution_engine: Any = None) -> dict:
        actual = [str(c) for c in metrics["table.columns"]]
        extra = sorted(set(actual) - set(self.column_set))
        return {"success": not extra,
                "result": {"observed_value": len(actual),
                           "unexpected_count": len(extra), "details": {"unexpected_columns": extra}}}
