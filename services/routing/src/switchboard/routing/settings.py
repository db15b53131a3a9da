"""Routing's settings: the shared connection settings plus its own, under the ROUTING_ prefix."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict
from switchboard.runtime.settings import ServiceSettings

DEFAULT_RULES = Path(__file__).with_name("default_rules.yaml")


class RoutingSettings(ServiceSettings):
    """Everything routing reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="ROUTING_", frozen=True, extra="ignore", populate_by_name=True)

    port: int = Field(default=8082, ge=0, le=65535, description="HTTP port.")
    rules_path: Path = Field(
        default=DEFAULT_RULES,
        description="YAML rule set loaded at start when none is stored yet; later ones come over the admin API.",
    )
    no_response_check_s: float = Field(
        default=30.0, gt=0, description="How often the assigner looks for assignees who stayed silent too long."
    )
