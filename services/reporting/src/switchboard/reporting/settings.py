"""Reporting's settings: the shared connection settings plus its own, under the REPORTING_ prefix."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict
from switchboard.runtime.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    """Everything reporting reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="REPORTING_", frozen=True, extra="ignore", populate_by_name=True)

    port: int = Field(default=8085, ge=0, le=65535, description="HTTP port.")
