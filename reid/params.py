"""Parameters of the event-level attacks (the ``attacks:`` section of a run config)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class AttackParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
