"""The worklist benchmark's load generator, run as its own process: closed-loop clients on raw HTTP/1.1
keep-alive connections (asyncio + uvloop; httpx would spend more CPU per request than the server it
measures), each sending the workload's mix and following `next_cursor` where a request asks for more pages.

`python -m bench.worklist_client --port P --tokens FILE --clients 16 --seconds 20 --warmup 2` prints one JSON
object: per page its kind, page number, latency and status (measured after the warm-up only).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.worklist_workload import Request, request


class Connection:
    """One keep-alive HTTP/1.1 connection that sends GETs and reads Content-Length answers."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self._reader, self._writer, self._host = reader, writer, host

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, f"{host}:{port}")

    async def get(self, path: str, token: str) -> tuple[int, bytes]:
        self._writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {self._host}\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
        )
        head = await self._reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        body = await self._reader.readexactly(length)
        return status, body

    def close(self) -> None:
        self._writer.close()


def next_cursor(body: bytes) -> str | None:
    """The page's next_cursor without parsing its items (the server writes it after them)."""
    at = body.rfind(b'"next_cursor":')
    if at < 0 or body[at + 14 : at + 15] != b'"':
        return None
    end = body.index(b'"', at + 15)
    return body[at + 15 : end].decode()


async def client(
    n: int, port: int, tokens: dict[str, str], lead: str, start: float, end: float, out: list[list[Any]]
) -> None:
    rng = random.Random(1000 + n)
    agents = sorted(tokens)
    conn = await Connection.open("127.0.0.1", port)
    try:
        while time.perf_counter() < end:
            wanted: Request = request(rng, agents)
            token = lead if wanted.agent is None else tokens[wanted.agent]
            cursor: str | None = None
            for page in range(1, wanted.pages + 1):
                t0 = time.perf_counter()
                status, body = await conn.get(wanted.path(cursor), token)
                t1 = time.perf_counter()
                if t0 >= start:
                    out.append([wanted.kind, page, round((t1 - t0) * 1000, 3), status, t1])
                cursor = next_cursor(body) if status == 200 else None
                if cursor is None or t1 >= end:
                    break
    finally:
        conn.close()


async def run(args: argparse.Namespace, spec: dict[str, Any]) -> dict[str, Any]:
    out: list[list[Any]] = []
    start = time.perf_counter() + args.warmup
    end = start + args.seconds
    await asyncio.gather(
        *(client(n, args.port, spec["agents"], spec["lead"], start, end, out) for n in range(args.clients))
    )
    return {"clients": args.clients, "seconds": args.seconds, "start": start, "end": end, "pages": out}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tokens", required=True, help="JSON: {lead: token, agents: {agent id: token}}")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    args = parser.parse_args()
    spec = json.loads(Path(args.tokens).read_text())
    print(json.dumps(uvloop.run(run(args, spec))))


if __name__ == "__main__":
    main()
