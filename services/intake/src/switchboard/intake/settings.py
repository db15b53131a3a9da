"""Intake's settings: the shared connection settings plus intake's own, under the INTAKE_ prefix."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict
from switchboard.runtime.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    """Everything intake reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="INTAKE_", frozen=True, extra="ignore", populate_by_name=True)

    port: int = Field(default=8081, ge=0, le=65535, description="HTTP port.")
    reference_prefix: str = Field(default="SB", pattern=r"^[A-Z]{1,8}$", description="Ticket reference prefix.")
    max_body_bytes: int = Field(default=1_048_576, ge=1024, description="Largest request body accepted (413 above).")
