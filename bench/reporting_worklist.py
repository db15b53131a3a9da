"""Worklist benchmark: `GET /v1/tickets` over 100,000 tickets in reporting's SQLite file, at 16 concurrent
clients, next to the raw query rate of the same requests without HTTP, measured in the same run.

`.venv/bin/python bench/reporting_worklist.py` works under `.local/bench-worklist/` (wiped first) and, in order:

* seeding: 100,000 ticket views (bench/worklist_workload.py: 20 queues in 5 teams, 200 agents, a desk's
  statuses, priorities, tags, 4 languages, SLA deadlines around now) written through `worklist.upsert` into a
  file set up as the engine sets it up (`worklist.ddl()`, WAL, synchronous=NORMAL), 1,000 per transaction;
* baseline: the request mix run in this process straight through `worklist.query` on one reader connection,
  one page after another (`--raw-seconds`): pages/s and latency per page without HTTP;
* the service: `python -m bench.worklist_server` (the worklist router on uvicorn + uvloop, as the services
  run) and `python -m bench.worklist_client` (16 closed-loop keep-alive clients in their own process) for
  `--seconds` after a warm-up, while this process keeps committing `--write-rate` changed tickets per second
  (10 transactions/s) into the file, as the feed would (during the baseline too); CPU of each process.

The mix: an agent's open tickets by deadline, a queue's open tickets by deadline with `count=true` (its header),
a team's breaches (lead), subject search (lead), a queue's open tickets by last update with pages 2 and 3
through `next_cursor`, and open tickets with a tag by priority. A count over tens of thousands of rows (open
tickets with a common tag) costs ~10-20 ms once per commit; it is measured on its own, not in the mix.

Figures: `reporting.worklist.p99_ms`, `.p50_ms` and `.pages_per_s` (baseline: the raw figures; ratio =
service / raw), merged into `bench/results/latest.json` (details under `_meta_reporting_worklist`). Not a test:
exits 1 only when a request failed. Everything it started is stopped on the way out.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python bench/...` puts bench/ on the path
# the service's own modules, imported here only
from switchboard.reporting import worklist

from bench import RESULTS, ROOT
from bench.figures import Json, Results, latency_summary, log, merge_into, metric_table
from bench.machine import CpuWatch, machine_facts
from bench.worklist_server import free_port, wait_ready
from bench.worklist_workload import AGENTS, NOW, OPEN, Request, agent_queues, request, ticket_view

DATA = ROOT / ".local" / "bench-worklist"
CLIENT_AGENTS = AGENTS[::12][:16]
READER_PRAGMAS = ["mmap_size=268435456", "cache_size=-65536"]


def seed(path: Path, tickets: int) -> tuple[list[dict[str, Any]], Json]:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    for statement in worklist.ddl():
        conn.execute(statement)
    rng = random.Random(7)
    views = [ticket_view(rng, n) for n in range(tickets)]
    t0 = time.perf_counter()
    for i in range(0, len(views), 1000):
        conn.execute("BEGIN")
        worklist.upsert(conn, views[i : i + 1000])
        conn.execute("COMMIT")
    seconds = time.perf_counter() - t0
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    size = path.stat().st_size
    return views, {"tickets": tickets, "seconds": round(seconds, 2), "upserts_per_s": round(tickets / seconds),
                   "file_mb": round(size / 2**20, 1)}  # fmt: skip


def query_of(wanted: Request, cursor: str | None) -> worklist.WorklistQuery:
    """The request's query string as the route turns it into a query."""
    many: dict[str, list[str]] = defaultdict(list)
    one: dict[str, Any] = {}
    for key, value in wanted.params:
        if key in ("q", "sort"):
            one[key] = value
        elif key == "count":
            one[key] = value == "true"
        else:
            many[key].append(value)
    fields: dict[str, Any] = {k: tuple(v) for k, v in many.items()} | one
    return worklist.WorklistQuery(**fields, cursor=cursor)


def reader(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA query_only=1")
    for pragma in READER_PRAGMAS:
        conn.execute(f"PRAGMA {pragma}")
    return conn


def raw_rate(path: Path, seconds: float) -> Json:
    """The mix through `worklist.query` on one connection, page after page, as fast as it goes."""
    conn = reader(path)
    cache = worklist.QueryCache()
    rng = random.Random(99)
    latencies: list[float] = []
    by_kind: dict[str, list[float]] = defaultdict(list)
    end = time.perf_counter() + seconds
    t0 = time.perf_counter()
    while time.perf_counter() < end:
        wanted = request(rng, CLIENT_AGENTS)
        visible = None if wanted.agent is None else agent_queues(wanted.agent)
        cursor = None
        for _ in range(wanted.pages):
            s = time.perf_counter()
            page = worklist.query(conn, query_of(wanted, cursor), visible_queues=visible, agent_id=wanted.agent,
                                  cache=cache)  # fmt: skip
            page.json_bytes()
            latencies.append(time.perf_counter() - s)
            by_kind[wanted.kind].append(latencies[-1])
            cursor = page.next_cursor
            if cursor is None:
                break
    wall = time.perf_counter() - t0
    broad = []  # a count over tens of thousands of rows, as after every commit (no cache): not in the mix
    for tag in ("billing", "refund", "login", "bug"):
        counted = worklist.WorklistQuery(tags=(tag,), status=OPEN, sort=worklist.Sort.PRIORITY, count=True)
        s = time.perf_counter()
        worklist.query(conn, counted, visible_queues=None, agent_id=None)
        broad.append(time.perf_counter() - s)
    conn.close()
    return {"pages": len(latencies), "pages_per_s": round(len(latencies) / wall, 1), **latency_summary(latencies),
            "by_kind": {k: latency_summary(v) for k, v in sorted(by_kind.items())},
            "uncached_count_tag_and_open": latency_summary(broad)}  # fmt: skip


async def write_changes(path: Path, views: list[dict[str, Any]], rate: float, stop: asyncio.Event) -> int:
    """Commit `rate` changed tickets per second in 10 transactions a second (a status, a deadline, updated_at),
    as the feed folds batches; returns how many were written."""
    if rate <= 0:
        return 0
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=NORMAL")
    rng = random.Random(5)
    per_batch = max(1, round(rate / 10))
    written = 0
    t0 = time.perf_counter()
    while not stop.is_set():
        batch = []
        for view in rng.sample(views, per_batch):
            view = dict(view, updated_at=(NOW.isoformat().replace("+00:00", "Z")))
            view["status"] = rng.choice([*OPEN, "solved"])
            batch.append(view)
        conn.execute("BEGIN IMMEDIATE")
        worklist.upsert(conn, batch)
        conn.execute("COMMIT")
        written += len(batch)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), max(0.0, t0 + written / rate - time.perf_counter()))
    conn.close()
    return written


async def service_run(path: Path, args: argparse.Namespace) -> Json:
    lead = "lead-" + os.urandom(8).hex()
    tokens: Json = {"lead": lead, "agents": {a: f"{a}-{os.urandom(8).hex()}" for a in CLIENT_AGENTS}}
    tokens_file = DATA / "tokens.json"
    tokens_file.write_text(json.dumps(tokens))
    port = free_port()
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    server_cmd = [sys.executable, "-m", "bench.worklist_server", "--db", str(path), "--port", str(port),
                  "--tokens", str(tokens_file), *(f"--pragma={p}" for p in READER_PRAGMAS)]  # fmt: skip
    server = await asyncio.create_subprocess_exec(
        *server_cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        await wait_ready(port, lead, server)
        client_cmd = [sys.executable, "-m", "bench.worklist_client", "--port", str(port), "--tokens",
                      str(tokens_file), "--clients", str(args.clients), "--seconds", str(args.seconds),
                      "--warmup", str(args.warmup)]  # fmt: skip
        client = await asyncio.create_subprocess_exec(*client_cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE)
        await asyncio.sleep(args.warmup)
        watch = CpuWatch({"server": server.pid, "client": client.pid, "bench_writer": os.getpid()}, threads_of="server")
        watch.start()
        await asyncio.sleep(args.seconds - 0.5)  # stopped before the client exits, or its CPU is unreadable
        cpu = watch.stop()
        out, _ = await asyncio.wait_for(client.communicate(), args.seconds + args.warmup + 60)
    finally:
        if server.returncode is None:
            server.terminate()
        try:
            _, errors = await asyncio.wait_for(server.communicate(), 10)
        except TimeoutError:
            server.kill()
            _, errors = await server.communicate()
        (DATA / "server.log").write_bytes(errors or b"")
    (DATA / "client.json").write_bytes(out)
    report = json.loads(out)
    pages = report["pages"]
    ok = [p for p in pages if p[3] == 200]
    by_kind: dict[str, list[float]] = defaultdict(list)
    for kind, number, ms, _, _ in ok:
        by_kind[f"{kind}#{number}" if number > 1 else kind].append(ms / 1000)
    statuses: dict[int, int] = defaultdict(int)
    for page in pages:
        statuses[page[3]] += 1
    return {
        "clients": args.clients, "seconds": args.seconds, "pages": len(ok), "statuses": dict(statuses),
        "pages_per_s": round(len(ok) / args.seconds, 1), **latency_summary([p[2] / 1000 for p in ok]),
        "by_kind": {k: latency_summary(v) for k, v in sorted(by_kind.items())},
        "server_cpu_ms_per_page": per_page(cpu, "server", len(ok) * cpu["window_s"] / args.seconds),
        "client_cpu_ms_per_page": per_page(cpu, "client", len(ok) * cpu["window_s"] / args.seconds),
        "cpu": cpu,
    }  # fmt: skip


def per_page(cpu: Json, process: str, pages: float) -> float | None:
    """CPU ms a process spent per page over the watched window (pages scaled to that window)."""
    used = cpu["cpu_seconds_by_process"].get(process)
    return None if used is None or pages <= 0 else round(used * 1000 / pages, 3)


async def run(args: argparse.Namespace) -> tuple[Results, bool]:
    results = Results()
    results.meta["machine"] = machine_facts()
    shutil.rmtree(DATA, ignore_errors=True)
    DATA.mkdir(parents=True)
    path = DATA / "worklist.db"
    log(f"seeding {args.tickets:,} tickets into {path}")
    views, seeded = await asyncio.to_thread(seed, path, args.tickets)
    results.meta["seed"] = seeded
    log(f"  {seeded}")
    stop = asyncio.Event()  # the feed's commits go on through both phases
    t0 = time.perf_counter()
    writer = asyncio.create_task(write_changes(path, views, args.write_rate, stop))
    try:
        log(f"baseline: the mix straight through worklist.query for {args.raw_seconds:g} s")
        raw = await asyncio.to_thread(raw_rate, path, args.raw_seconds)
        results.meta["raw"] = raw
        log(f"service: {args.clients} clients for {args.seconds:g} s (+{args.warmup:g} s warm-up)")
        service = await service_run(path, args)
        results.meta["service"] = service
    finally:
        stop.set()
        written = await writer
    results.meta["writes"] = {"tickets": written, "per_s": round(written / (time.perf_counter() - t0), 1)}
    results.meta["reader_pragmas"] = READER_PRAGMAS
    results.add("reporting.worklist.p99_ms", service["p99_ms"], "ms", raw["p99_ms"])
    results.add("reporting.worklist.p50_ms", service["p50_ms"], "ms", raw["p50_ms"])
    results.add("reporting.worklist.pages_per_s", service["pages_per_s"], "pages/s", raw["pages_per_s"])
    clean = set(service["statuses"]) == {200}
    return results, clean


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=100_000, help="tickets seeded (100,000)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (16)")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured window (20)")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up before it (2)")
    parser.add_argument("--raw-seconds", type=float, default=5.0, help="raw baseline (5)")
    parser.add_argument("--write-rate", type=float, default=100.0, help="changed tickets committed per second (100)")
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.json", help="results file to merge into")
    args = parser.parse_args(argv)
    results, clean = asyncio.run(asyncio.wait_for(run(args), 600))
    output: Path = args.output.resolve()
    merge_into(output, results, "_meta_reporting_worklist")
    print("\n".join(metric_table(results)))
    service = results.meta["service"]
    print("\nper kind (service, ms):")
    for kind, summary in service["by_kind"].items():
        print(f"  {kind:24} p50 {summary['p50_ms']}  p99 {summary['p99_ms']}  max {summary['max_ms']}")
    print(f"cpu (cores): {json.dumps(service['cpu']['busy_cores_by_process'])}, other processes"
          f" {service['cpu']['busy_cores_other_processes']}; server {service['server_cpu_ms_per_page']} ms CPU per page,"
          f" raw {1000 / results.meta['raw']['pages_per_s']:.3f} ms")  # fmt: skip
    print(f"\nmerged into {output.relative_to(ROOT) if output.is_relative_to(ROOT) else output}")
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
