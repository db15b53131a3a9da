"""The Mongo side of a service: one async client per process, its own database, a cheap liveness check."""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from .settings import ServiceSettings

Document = dict[str, Any]


def make_client(settings: ServiceSettings, *, service: str) -> AsyncMongoClient[Document]:
    """A client that fails fast (readiness must answer quickly when Mongo is gone)."""
    return AsyncMongoClient(
        settings.mongodb_uri.get_secret_value(),
        appname=f"switchboard-{service}",
        serverSelectionTimeoutMS=3000,
        connectTimeoutMS=3000,
        tz_aware=True,
        maxPoolSize=settings.mongodb_max_pool_size,
    )


def database(client: AsyncMongoClient[Document], settings: ServiceSettings, service: str) -> AsyncDatabase[Document]:
    """The service's own database."""
    return client[settings.database_name(service)]


async def ping(client: AsyncMongoClient[Document]) -> None:
    """Raises when Mongo does not answer."""
    await client.admin.command("ping")
