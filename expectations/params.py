"""Parameters of validation (the ``validation:`` section of a run config)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from expectations.forms import pseudonym_regex

HEX_16_64 = r"[0-9a-f]{16,64}"


class KAnonymityCheck(BaseModel):
    """An extra k-anonymity expectation on every anonymized stage that still has ``table``."""

    model_config = ConfigDict(extra="forbid")
    table: str
    columns: list[str] = Field(..., min_length=1, description="Quasi-identifier columns.")
    k: int = Field(default=5, ge=2, description="Smallest class size allowed.")


class ValidationParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(default=True, description="`anonbench run` validates raw and every chain.")
    raw: bool = Field(default=True, description="Validate the raw tables (stage `raw`).")
    workers: int | None = Field(default=None, ge=1, le=64, description=(
        "Worker processes on the in-process runner (None: 2 when there are several large shards, else 1)."))
    email_scan: Literal["all", "strings"] = Field(default="strings", description=(
        "Where anonymized stages look for e-mail addresses: every string column (`strings`), or also the "
        "text form of every other column (`all`)."))
    pseudonym_forms: dict[str, str] = Field(
        default_factory=lambda: {"pseudonymize.hmac": HEX_16_64, "tokenize.random": HEX_16_64, "hash.sha256": "hex64"},
        description=("Pseudonym form per anonymizer (a named form such as hex64, or a full-match regex); a step's "
                     "own `length`/`prefix` parameters refine it."))
    k_anonymity: list[KAnonymityCheck] = Field(
        default_factory=list, description="Extra k-anonymity checks for every anonymized stage.")
    events_tolerance: float = Field(default=0.0, ge=0, le=1, description=(
        "Relative tolerance of the raw events count against `generate.events` (exact by default)."))
    docs: bool = Field(default=True, description="Write the Data Docs HTML under validation/docs/.")

    @field_validator("pseudonym_forms")
    @classmethod
    def _forms(cls, v: dict[str, str]) -> dict[str, str]:
        for name, form in v.items():
            try:
                pseudonym_regex(form)
            except Exception as e:
                raise ValueError(f"{name}: not a pseudonym form or regex: {e}") from None
        return v
