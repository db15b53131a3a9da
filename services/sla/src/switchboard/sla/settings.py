"""Sla's settings: the shared connection settings plus its own, under the SLA_ prefix."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict
from switchboard.runtime.settings import ServiceSettings


class SlaSettings(ServiceSettings):
    """Everything sla reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="SLA_", frozen=True, extra="ignore", populate_by_name=True)

    port: int = Field(default=8083, ge=0, le=65535, description="HTTP port.")
