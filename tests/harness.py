"""Test harness shared by every tier: real Kafka and Mongo-wire servers, per-test namespaces, and
services started as real processes. The root conftest.py exposes its fixtures.

Servers come from, in order: `KAFKA_BOOTSTRAP_SERVERS` / `MONGODB_URI`; testcontainers when a Docker
engine answers; else a local Kafka and FerretDB under `.local/test/`, started and stopped here.
Unit tests (`-m unit`) touch none of this.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy" / "local"))
import infra  # noqa: E402

TEST_DATA = ROOT / ".local" / "test"
API_TOKEN = secrets.token_urlsafe(16)  # fresh per session, like a real secret


def _docker_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=5).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@contextmanager
def _kafka_container() -> Iterator[str]:
    """apache/kafka in KRaft mode; the advertised port must be the host port, so it is fixed up front."""
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.waiting_utils import wait_for_logs

    port = free_port()
    env = {
        "KAFKA_NODE_ID": "1",
        "KAFKA_PROCESS_ROLES": "broker,controller",
        "KAFKA_LISTENERS": "PLAINTEXT://:9092,CONTROLLER://:9093",
        "KAFKA_ADVERTISED_LISTENERS": f"PLAINTEXT://127.0.0.1:{port}",
        "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
        "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@localhost:9093",
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
        "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR": "1",
        "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
    }
    container = DockerContainer("apache/kafka:4.1.1").with_bind_ports(9092, port)
    for key, value in env.items():
        container = container.with_env(key, value)
    with container:
        wait_for_logs(container, "Kafka Server started", timeout=120)
        yield f"127.0.0.1:{port}"


@dataclass(frozen=True)
class Servers:
    kafka_bootstrap: str
    mongodb_uri: str
    origin: str


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    uri = os.environ.get("MONGODB_URI")
    with ExitStack() as stack:
        if (not bootstrap or not uri) and _docker_answers():
            from testcontainers.mongodb import MongoDbContainer

            if not bootstrap:
                bootstrap = stack.enter_context(_kafka_container())
            if not uri:
                uri = stack.enter_context(MongoDbContainer("mongo:7")).get_connection_url()
            yield Servers(bootstrap, uri, "testcontainers")
            return
        if bootstrap and uri:
            yield Servers(bootstrap, uri, "environment")
            return
        # Each session gets empty servers of its own (its own ports and folder), so two test runs on one
        # machine - a developer's and a helper's, or CI's - never share or wipe each other's data.
        data = TEST_DATA / str(os.getpid())
        shutil.rmtree(data, ignore_errors=True)
        kafka_port = free_port_pair()
        ends = infra.up(data=data, kafka_port=kafka_port, mongo_port=free_port())
        stack.callback(shutil.rmtree, data, ignore_errors=True)
        stack.callback(infra.down, data=data)
        yield Servers(bootstrap or ends.kafka_bootstrap, uri or ends.mongodb_uri, "local")


@pytest.fixture
def namespace() -> str:
    """A fresh prefix for topics, consumer groups and databases: tests never see each other's data."""
    return f"t{uuid.uuid4().hex[:10]}"


def environment_for(servers: Servers, namespace: str) -> dict[str, str]:
    """Environment for a service process (or a settings object) in `namespace`."""
    return {
        "KAFKA_BOOTSTRAP_SERVERS": servers.kafka_bootstrap,
        "MONGODB_URI": servers.mongodb_uri,
        "SWITCHBOARD_NAMESPACE": namespace,
        "SWITCHBOARD_API_TOKEN": API_TOKEN,
        "SWITCHBOARD_TOPIC_PARTITIONS": "4",
        "LOG_JSON": "true",
    }


@pytest.fixture
def service_env(servers: Servers, namespace: str) -> dict[str, str]:
    return environment_for(servers, namespace)


def free_port_pair() -> int:
    """A free port whose successor is free too (Kafka's controller listens on port + 1)."""
    for _ in range(50):
        port = free_port()
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no free pair of ports")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServiceProcess:
    """A service running as its own process, as it runs in production."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def terminate(self, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def wait_ready(url: str, process: subprocess.Popen[bytes] | None = None, *, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode}")
        try:
            response = httpx.get(f"{url}/readyz", timeout=2)
            if response.status_code == 200:
                return
            last = response.text
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.2)
    raise TimeoutError(f"{url} not ready after {timeout}s: {last}")


StartService = Callable[..., ServiceProcess]


def spawn_service(name: str, env: dict[str, str], log_path: Path, *, ready: bool = True) -> ServiceProcess:
    """`python -m switchboard.<name>` on a free port, as it runs in production."""
    port = free_port()
    process_env = os.environ | {f"{name.upper()}_PORT": str(port)} | env
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", f"switchboard.{name}"], env=process_env, stdout=log_file, stderr=log_file, cwd=ROOT
        )
    service = ServiceProcess(name, f"http://127.0.0.1:{port}", process, log_path)
    if ready:
        try:
            wait_ready(service.url, process)
        except Exception as exc:
            service.kill()
            raise RuntimeError(f"{name} did not become ready:\n{service.log()[-4000:]}") from exc
    return service


@pytest.fixture
def start_service(service_env: dict[str, str], tmp_path: Path) -> Iterator[StartService]:
    """Start services in this test's namespace; all are stopped afterwards."""
    started: list[ServiceProcess] = []

    def start(name: str, *, env: dict[str, str] | None = None, ready: bool = True) -> ServiceProcess:
        log_path = tmp_path / f"{name}-{len(started)}.log"
        own = (
            {"REPORTING_ENGINE_PATH": str(tmp_path / f"reporting-{len(started)}.sqlite3")}
            if name == "reporting"
            else {}
        )
        service = spawn_service(name, service_env | own | (env or {}), log_path, ready=ready)
        started.append(service)
        return service

    yield start
    for service in started:
        service.terminate(timeout=20)


@pytest.fixture
def auth_headers() -> dict[str, str]:
    return {"authorization": f"Bearer {API_TOKEN}"}


async def read_topic(
    bootstrap: str, topic: str, *, at_least: int, wait_s: float = 30.0, keys: set[bytes] | None = None
) -> list[Any]:
    """Every record on `topic` from the beginning, waiting until there are at least `at_least` (and, if given,
    until every key in `keys` has been seen)."""
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    records: list[Any] = []
    try:
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for batch in batches.values():
                records.extend(batch)
            if len(records) >= at_least and (keys is None or keys <= {r.key for r in records}):
                # one more short poll, so that extra (duplicate) records would be seen too
                for batch in (await consumer.getmany(timeout_ms=1000)).values():
                    records.extend(batch)
                break
    finally:
        await consumer.stop()
    return records
