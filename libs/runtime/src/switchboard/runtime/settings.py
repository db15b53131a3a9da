"""Settings every service shares: where Kafka and Mongo are, the HTTP port, tokens, topic namespace.

Each service has exactly one settings class deriving from `ServiceSettings`, with its own env prefix for
its own knobs (`INTAKE_PORT`); the platform-wide connection settings keep their conventional unprefixed
names (`KAFKA_BOOTSTRAP_SERVERS`, `MONGODB_URI`) because operators set them once for every service.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _shared(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


class ServiceSettings(BaseSettings):
    """Connection and runtime settings common to all services; subclass once per service."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias=_shared("KAFKA_BOOTSTRAP_SERVERS"),
        description="Comma-separated Kafka bootstrap servers.",
    )
    mongodb_uri: SecretStr = Field(
        default=SecretStr("mongodb://127.0.0.1:27017/"),
        validation_alias=_shared("MONGODB_URI"),
        description="MongoDB (or FerretDB) connection string; may hold credentials.",
    )
    mongodb_max_pool_size: int = Field(
        default=32,
        ge=1,
        le=500,
        validation_alias=_shared("MONGODB_MAX_POOL_SIZE"),
        description="Connections per process to Mongo. Kept small: FerretDB deadlocks when a database gets as "
        "many concurrent updates as its own pool has connections.",
    )
    namespace: str = Field(
        default="",
        validation_alias=_shared("SWITCHBOARD_NAMESPACE"),
        pattern=r"^[a-z0-9_-]*$",
        description="Prefix for topic and database names, keeping environments and test runs apart.",
    )
    topic_partitions: int = Field(
        default=12,
        ge=1,
        validation_alias=_shared("SWITCHBOARD_TOPIC_PARTITIONS"),
        description="Partitions for topics this service creates; the unit of consumer scaling.",
    )
    topic_replication: int = Field(
        default=1,
        ge=1,
        validation_alias=_shared("SWITCHBOARD_TOPIC_REPLICATION"),
        description="Replication factor for topics this service creates.",
    )
    api_token: SecretStr | None = Field(
        default=None,
        validation_alias=_shared("SWITCHBOARD_API_TOKEN"),
        description="Bearer token with every scope (admin). Unset: mutating endpoints refuse everyone.",
    )
    api_tokens: SecretStr | None = Field(
        default=None,
        validation_alias=_shared("SWITCHBOARD_API_TOKENS"),
        description="More bearer tokens with scopes: 'token=scope+scope,token2=scope'.",
    )
    log_level: str = Field(default="INFO", validation_alias=_shared("LOG_LEVEL"), description="Log level.")
    log_json: bool | None = Field(
        default=None,
        validation_alias=_shared("LOG_JSON"),
        description="JSON log lines (default: when stderr is not a terminal).",
    )
    host: str = Field(default="127.0.0.1", description="Interface the HTTP server binds to.")
    port: int = Field(default=8080, ge=0, le=65535, description="HTTP port (health, metrics, API).")
    gc_freeze_interval_s: float = Field(
        default=1.0,
        ge=0,
        description="Move objects that survived this long out of the garbage collector's passes (0: never); "
        "keeps its pauses short in services with large in-memory state.",
    )
    gc_full_interval_s: float = Field(
        default=600.0,
        ge=0,
        description="A full garbage collection over everything, frozen objects included, this often (0: never).",
    )
    graceful_timeout_s: float = Field(
        default=15.0, gt=0, description="How long shutdown waits for in-flight messages; keep the pod's grace longer."
    )

    def database_name(self, service: str) -> str:
        """This service's own Mongo database; no service reads another's."""
        return f"{self.namespace}_{service}" if self.namespace else service
