"""Intake's test fixtures: one intake process per test module, in its own namespace."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.harness import API_TOKEN, Servers, ServiceProcess, environment_for, spawn_service


@pytest.fixture(scope="module")
def module_namespace() -> str:
    return f"m{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def intake(
    servers: Servers, module_namespace: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    log = Path(tmp_path_factory.mktemp("intake")) / "intake.log"
    env = environment_for(servers, module_namespace) | {
        "INTAKE_MAX_BODY_BYTES": "65536",
        "INTAKE_DEFAULT_PHONE_REGION": "TR",
        "SWITCHBOARD_API_TOKENS": "agent-token=agent,channel-token=channel",
    }
    service = spawn_service("intake", env, log)
    yield service
    service.terminate()


@pytest.fixture
def api(intake: ServiceProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=intake.url, headers={"authorization": f"Bearer {API_TOKEN}"}, timeout=30) as client:
        yield client


@pytest.fixture
def gateway(intake: ServiceProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=intake.url, headers={"authorization": "Bearer channel-token"}, timeout=30) as client:
        yield client
