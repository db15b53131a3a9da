"""The worklist benchmark's server, run as its own process: reporting's worklist router on uvicorn with uvloop,
configured as `switchboard.runtime.service.serve` configures every service, over a reader connection opened
as `Engine.reader()` opens it (the bench has no Kafka, so the rest of reporting's app is not started).

`python -m bench.worklist_server --db FILE --port P --tokens FILE`; `wait_ready` waits for it to answer.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import sqlite3
import sys
import time
import urllib.request
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from switchboard.reporting.api.worklist import worklist_router
from switchboard.runtime.auth import Scope, TokenAuth

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.worklist_workload import agent_queues


def reader(path: str, pragmas: list[str]) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA query_only=1")
    for pragma in pragmas:
        conn.execute(f"PRAGMA {pragma}")
    return conn


def create_app(db: str, tokens_file: str, pragmas: list[str]) -> FastAPI:
    spec = json.loads(Path(tokens_file).read_text())
    tokens = {spec["lead"]: frozenset({Scope.ADMIN})} | {t: frozenset({Scope.AGENT}) for t in spec["agents"].values()}
    auth = TokenAuth(tokens, {token: agent for agent, token in spec["agents"].items()})
    conn = reader(db, pragmas)
    app = FastAPI(title="worklist bench")
    app.include_router(worklist_router(engine_provider=lambda: conn, auth=auth, agent_queues=agent_queues))
    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def answers(port: int, token: str) -> bool:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/tickets?limit=1")
    req.add_header("Authorization", f"Bearer {token}")
    with contextlib.suppress(OSError), urllib.request.urlopen(req, timeout=2) as answer:  # noqa: S310 - loopback
        return bool(answer.status == 200)
    return False


async def wait_ready(port: int, token: str, process: asyncio.subprocess.Process, limit_s: float = 60.0) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if process.returncode is not None:
            raise RuntimeError(f"the worklist server exited with {process.returncode}")
        if await asyncio.to_thread(answers, port, token):
            return
        await asyncio.sleep(0.2)
    raise TimeoutError("the worklist server did not answer within 60 s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tokens", required=True)
    parser.add_argument("--pragma", action="append", default=[], help="extra PRAGMA for the reader, e.g. mmap_size=N")
    args = parser.parse_args()
    app = create_app(args.db, args.tokens, args.pragma)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=args.port, log_config=None, access_log=False, loop="uvloop", log_level="warning"
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
