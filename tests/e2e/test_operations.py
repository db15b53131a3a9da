"""What an operations team checks of every service: probes, metrics, JSON logs, clean SIGTERM."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.harness import StartService

pytestmark = pytest.mark.e2e

SERVICES = ("intake", "routing", "sla", "feedback", "reporting")


def test_every_service_probes_metrics_json_logs_and_a_clean_sigterm(start_service: StartService) -> None:
    running = [start_service(name) for name in SERVICES]  # start_service waits for /readyz == 200

    for service in running:
        assert httpx.get(f"{service.url}/healthz").json() == {"status": "alive"}
        ready = httpx.get(f"{service.url}/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"]["mongo"] == "ok"
        metrics = httpx.get(f"{service.url}/metrics")
        assert metrics.status_code == 200
        assert "python_info" in metrics.text
        spec = httpx.get(f"{service.url}/asyncapi.json").json()
        assert spec["channels"], f"{service.name} documents no channels"

    for service in running:
        assert service.terminate(timeout=30) == 0, service.log()[-2000:]
        lines = [line for line in service.log().splitlines() if line.strip()]
        records = [json.loads(line) for line in lines]  # every line is JSON
        assert any(r.get("event") == "service stopped" and r.get("service") == service.name for r in records)


def test_readiness_says_why_when_mongo_is_unreachable(start_service: StartService) -> None:
    service = start_service("reporting", env={"MONGODB_URI": "mongodb://127.0.0.1:1/"}, ready=False)
    deadline = time.monotonic() + 60
    response = None
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"{service.url}/readyz", timeout=10)
            break
        except httpx.HTTPError:
            time.sleep(0.3)
    assert response is not None, service.log()[-2000:]
    assert response.status_code == 503
    assert response.json()["checks"]["mongo"] != "ok"
    assert httpx.get(f"{service.url}/healthz").status_code == 200  # alive, just not ready
