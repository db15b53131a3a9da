"""Reporting's settings: the shared connection settings plus its own, under the REPORTING_ prefix."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict
from switchboard.runtime.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    """Everything reporting reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="REPORTING_", frozen=True, extra="ignore", populate_by_name=True)

    port: int = Field(default=8085, ge=0, le=65535, description="HTTP port.")
    engine_path: Path | None = Field(
        default=None,
        description="This replica's SQLite file of read models (an emptyDir on Kubernetes: lost with the pod, it "
        "is folded again from the log). Two replicas never share one; unset, it is "
        "`.local/reporting/<namespace>-<port>.sqlite3`.",
    )
    publish_period_s: float = Field(
        default=0.2, gt=0, le=60, description="How often the publishing replica copies changes to MongoDB."
    )
    publisher_lease_ttl_s: float = Field(
        default=10.0, gt=0, description="After this long without renewal another replica takes publishing over."
    )

    def engine_file(self) -> Path:
        return self.engine_path or Path(f".local/reporting/{self.namespace or 'default'}-{self.port}.sqlite3")
