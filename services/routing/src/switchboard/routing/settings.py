"""Routing's settings: the shared connection settings plus its own, under the ROUTING_ prefix."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict
from switchboard.runtime.settings import ServiceSettings


class RoutingSettings(ServiceSettings):
    """Everything routing reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="ROUTING_", frozen=True, extra="ignore", populate_by_name=True)

    port: int = Field(default=8082, ge=0, le=65535, description="HTTP port.")
