"""Intake's settings: the shared connection settings plus intake's own, under the INTAKE_ prefix."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict
from switchboard.runtime.settings import ServiceSettings

from .language import DEFAULT_LANGUAGES, validate_languages


class IntakeSettings(ServiceSettings):
    """Everything intake reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="INTAKE_", frozen=True, extra="ignore", populate_by_name=True)

    port: int = Field(default=8081, ge=0, le=65535, description="HTTP port.")
    reference_prefix: str = Field(default="SB", pattern=r"^[A-Z]{1,8}$", description="Ticket reference prefix.")
    max_body_bytes: int = Field(default=1_048_576, ge=1024, description="Largest request body accepted (413 above).")
    default_phone_region: str | None = Field(
        default=None,
        pattern=r"^[A-Z]{2}$",
        description="ISO country assumed for phone numbers written without +country code (e.g. 'TR').",
    )
    channel_window_minutes: int = Field(
        default=240,
        ge=0,
        description="A call, chat or social message joins the customer's ticket on the same channel if it was "
        "active this recently; otherwise it opens a new ticket.",
    )
    publish: bool = Field(
        default=True,
        description="Publish stored events to Kafka. False keeps storing them (e.g. while Kafka is being "
        "migrated); they go out, in order, once it is true again.",
    )
    languages: tuple[str, ...] = Field(
        default=DEFAULT_LANGUAGES, description="ISO 639-1 codes language detection chooses between."
    )

    @field_validator("languages", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        return tuple(value.split(",")) if isinstance(value, str) else value

    @field_validator("languages")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return validate_languages(value)
