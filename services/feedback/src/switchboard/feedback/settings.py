"""Feedback's settings: the shared connection settings plus its own, under the FEEDBACK_ prefix."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict
from switchboard.runtime.settings import ServiceSettings


class FeedbackSettings(ServiceSettings):
    """Everything feedback reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="FEEDBACK_", frozen=True, extra="ignore", populate_by_name=True)

    port: int = Field(default=8084, ge=0, le=65535, description="HTTP port.")
