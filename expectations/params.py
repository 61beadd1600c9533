"""Parameters of validation (the ``validation:`` section of a run config)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ValidationParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
