"""Column types match the declared schema — one expectation for a whole table.

GX's ``expect_column_values_to_be_of_type`` checks one column per expectation, and each expectation costs
GX about 15 ms of bookkeeping whatever the data size; a table's schema is one question, so it is one
expectation here. Types are the names GX reports for pandas columns (``str``, ``Timestamp``, ``bool``,
``int32``, ...); a declared column that is missing is not counted (``expect_table_columns_to_match_set``
covers presence).
"""

from __future__ import annotations

from typing import Any, ClassVar

from great_expectations.compatibility import pydantic
from great_expectations.expectations.expectation import BatchExpectation


class ExpectTableColumnTypesToMatch(BatchExpectation):
    """Expect each listed column that exists to have the declared (pandas) type name.

    Args:
        column_types: column -> type name as GX reports it for pandas (``str``, ``Timestamp``, ``int32``);
            alternatives separated by ``|`` (``bool|object_``: a boolean column with nulls is object).

    How to read it: ``unexpected_count`` columns have another type; the result names them with both types.
    """

    column_types: dict[str, str] = pydantic.Field(..., description="Column -> expected type name.")
    metric_dependencies = ("table.column_types",)
    success_keys = ("column_types",)
    domain_keys = ("batch_id", "row_condition", "condition_parser")
    args_keys = ("column_types",)
    library_metadata: ClassVar[dict] = {"tags": ["schema", "anonbench"], "contributors": ["anonbench"]}

    def _validate(self, metrics: dict, runtime_configuration: dict | None = None,
                  execution_engine: Any = None) -> dict:
        actual = {str(t["name"]): _type_name(t["type"]) for t in metrics["table.column_types"]}
        wrong = {c: f"{actual[c]} (expected {want})" for c, want in sorted(self.column_types.items())
                 if c in actual and actual[c] not in want.split("|")}
        return {"success": not wrong,
                "result": {"observed_value": len(actual),
                           "unexpected_count": len(wrong), "details": {"mismatched": wrong}}}


def _type_name(dtype: Any) -> str:
    name = getattr(getattr(dtype, "type", None), "__name__", str(dtype))
    return {"str_": "str", "bool_": "bool"}.get(name, name)
