"""The processes a bench measures: its own Kafka and FerretDB (started with deploy/local/infra.py), and service
processes started as the test harness starts them, with their /metrics and the warnings in their logs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import sys
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import httpx
from prometheus_client.metrics_core import Metric as MetricFamily
from prometheus_client.parser import text_string_to_metric_families

from bench import PARTITIONS, ROOT
from bench.figures import Json
from tests.harness import Servers, ServiceProcess, environment_for, spawn_service, wait_ready

sys.path.insert(0, str(ROOT / "deploy" / "local"))
import infra

Endpoints = infra.Endpoints  # where the servers answer, and which of them a bench started
READY_S = 120.0  # a service's start-up, Kafka topics and consumer groups included
STOP_S = 25.0  # SIGTERM, then a kill


@contextlib.asynccontextmanager
async def own_servers(data: Path, *, kafka_port: int, mongo_port: int) -> AsyncIterator[Endpoints]:
    """Kafka and FerretDB with their data under `data`, on fixed ports, from empty; stopped on the way out.

    `KAFKA_BOOTSTRAP_SERVERS` / `MONGODB_URI` replace them, as for the tests: then nothing is wiped or stopped.
    """
    if not (os.environ.get("KAFKA_BOOTSTRAP_SERVERS") and os.environ.get("MONGODB_URI")):
        await asyncio.to_thread(infra.down, data=data)  # leftovers of an interrupted run, by their pid files
        shutil.rmtree(data, ignore_errors=True)  # every run starts from empty servers
    await asyncio.to_thread(data.mkdir, parents=True, exist_ok=True)
    ends = await asyncio.to_thread(infra.up, data=data, kafka_port=kafka_port, mongo_port=mongo_port)
    try:
        yield ends
    finally:
        await asyncio.to_thread(
            infra.down, data=data, stop_kafka=ends.started_kafka, stop_ferretdb=ends.started_ferretdb
        )


def server_pids(data: Path) -> dict[str, int]:
    """The pids of the servers running from `data` (none when the environment supplied them)."""
    pids = {}
    if (pid := infra.ferretdb.running_pid(data / "ferretdb" / "data")) is not None:
        pids["ferretdb"] = pid
    if (pid := infra.kafka.running_pid(data / "kafka" / "data")) is not None:
        pids["kafka"] = pid
    return pids


def service_environment(ends: Endpoints, namespace: str) -> dict[str, str]:
    """The test harness's environment for a service in `namespace` (its API token included), with the benches'
    partitions per topic and INFO logs."""
    servers = Servers(ends.kafka_bootstrap, ends.mongodb_uri, origin="bench")
    return environment_for(servers, namespace) | {"SWITCHBOARD_TOPIC_PARTITIONS": str(PARTITIONS), "LOG_LEVEL": "INFO"}


@contextlib.asynccontextmanager
async def service_process(name: str, env: dict[str, str], log_path: Path) -> AsyncIterator[ServiceProcess]:
    """`python -m switchboard.<name>` on a free port, started by the test harness's `spawn_service`, once its
    /readyz answers 200; stopped on the way out."""
    service = spawn_service(name, env, log_path, ready=False)
    try:
        try:
            await asyncio.to_thread(wait_ready, service.url, service.process, timeout=READY_S)
        except (RuntimeError, TimeoutError) as exc:
            raise RuntimeError(f"{name} did not become ready:\n{service.log()[-3000:]}") from exc
        yield service
    finally:
        await asyncio.to_thread(service.terminate, STOP_S)


async def metric_families(url: str) -> list[MetricFamily]:
    """A service's Prometheus metrics from its /metrics, parsed; none if it does not answer."""
    with contextlib.suppress(httpx.HTTPError):
        async with httpx.AsyncClient(timeout=5) as client:
            text = (await client.get(f"{url}/metrics")).text
        return list(text_string_to_metric_families(text))
    return []


def log_problems(path: Path, since: float = 0.0) -> Json:
    """Warnings and errors in a service's JSON log since `since` (epoch s): count and last line of each kind."""
    kinds: Counter[str] = Counter()
    last: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for line in path.read_text().splitlines():
            with contextlib.suppress(ValueError, KeyError):
                entry = json.loads(line)
                if entry.get("level") not in ("warning", "error"):
                    continue
                if datetime.fromisoformat(entry["timestamp"].replace("Z", "+00:00")).timestamp() < since:
                    continue
                kinds[entry["event"]] += 1
                if exception := entry.get("exception"):
                    last[entry["event"]] = exception.strip().splitlines()[-1][:300]
    return {"counts": dict(kinds), "last_exception": last}
