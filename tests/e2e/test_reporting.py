"""Reporting through real processes: two replicas, a publisher killed mid-run, a reconcile and a rebuild.

Each reporting replica folds every partition itself, so no replica's view of a ticket depends on which
partitions another holds; one replica at a time publishes to MongoDB. Here the first replica is killed
with SIGKILL while tickets keep coming, the second takes publishing over, and a fresh fold of the whole log
(`python -m switchboard.reporting reconcile`) finds the live projections equal to it, before and after a
`rebuild` into a new version.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from typing import Any

import httpx
import pytest

from tests.e2e.support import until
from tests.harness import ROOT, ServiceProcess, StartService

pytestmark = pytest.mark.e2e


def maintenance(command: str, env: dict[str, str]) -> tuple[int, dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "switchboard.reporting", command],
        env=os.environ | env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.stdout.strip(), done.stderr[-3000:]
    return done.returncode, json.loads(done.stdout)


async def work(client: httpx.AsyncClient, i: int) -> str:
    """One ticket's life on intake: opened, and by its number replied to, solved, reopened."""
    opened = await client.post(
        "/v1/tickets",
        json={
            "subject": f"Order {i} missing",
            "description": f"Sifariş {i} çatmadı",
            "channel": "email",
            "customer": {"email": f"c{i % 7}@example.com"},
        },
    )
    assert opened.status_code == 201, opened.text
    ticket = str(opened.json()["id"])
    if i % 2 == 0:
        reply = {"kind": "agent_reply", "body_text": "On it", "author_id": "ayla", "public": True}
        assert (await client.post(f"/v1/tickets/{ticket}/interactions", json=reply)).status_code == 201
    if i % 4 == 0:
        assert (await client.post(f"/v1/tickets/{ticket}/status", json={"status": "solved"})).status_code == 200
    if i % 8 == 0:
        assert (await client.post(f"/v1/tickets/{ticket}/status", json={"status": "open"})).status_code == 200
    return ticket


async def listed(replica: ServiceProcess, headers: dict[str, str]) -> int:
    async with httpx.AsyncClient(base_url=replica.url, headers=headers, timeout=10) as client:
        response = await client.get("/v1/tickets", params={"count": "true", "limit": 1})
        assert response.status_code == 200, response.text
        return int(response.json()["count"])


async def test_two_replicas_a_killed_publisher_reconcile_and_rebuild(
    start_service: StartService, auth_headers: dict[str, str], service_env: dict[str, str]
) -> None:
    intake = start_service("intake")
    start_service("routing")
    start_service("sla")
    fast_takeover = {"REPORTING_PUBLISHER_LEASE_TTL_S": "2"}
    first = start_service("reporting", env=fast_takeover)
    second = start_service("reporting", env=fast_takeover)

    async with httpx.AsyncClient(base_url=intake.url, headers=auth_headers, timeout=30) as client:
        ids = [await work(client, i) for i in range(24)]
        await until(lambda: _all_listed(first, second, auth_headers, len(ids)), 60)
        first.process.kill()  # mid-run: it may hold the publisher lease
        first.process.wait()
        ids += await asyncio.gather(*(work(client, i) for i in range(24, 40)))
    assert await until(lambda: _all_listed(second, second, auth_headers, len(ids)), 60)

    async with httpx.AsyncClient(base_url=second.url, headers=auth_headers, timeout=10) as client:
        view = (await client.get(f"/v1/tickets/{ids[8]}")).json()
    assert view["status"] == "open" and view["reopens"] == 1 and view["public_replies"] == 1
    assert view["resolution_minutes"] is None  # reopened: not resolved
    assert view["first_reply_minutes"]["calendar"] >= 0

    code, report = maintenance("reconcile", service_env)
    assert code == 0 and report["differences"] == 0, report
    assert report["collections"]["tickets"]["documents"] == len(ids)

    code, rebuilt = maintenance("rebuild", service_env)
    assert code == 0 and rebuilt["version"] == 2 and rebuilt["events"] > len(ids), rebuilt
    code, report = maintenance("reconcile", service_env)
    assert code == 0 and report["version"] == 2 and report["differences"] == 0, report


async def _all_listed(a: ServiceProcess, b: ServiceProcess, headers: dict[str, str], n: int) -> bool:
    return await listed(a, headers) == n and await listed(b, headers) == n
