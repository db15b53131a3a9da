"""Reporting benchmark: how fresh the read models are at 1,000 events/s, and how fast a rebuild folds the log,
next to raw Kafka and Mongo rates measured in the same run.

`.venv/bin/python bench/reporting.py` starts its own Kafka and FerretDB under `.local/bench-reporting/` (ports
29492 and 27121, wiped first; `KAFKA_BOOTSTRAP_SERVERS` / `MONGODB_URI` override them), then:

* baseline: ticket lives (bench/reporting_workload.py: intake's, routing's, SLA's and feedback's events, ~13 a
  ticket) published with raw aiokafka at `--rate` events/s to a copy of the six catalogue topics, read back by a
  plain consumer of every partition: produce -> consume latency, the floor under any freshness;
* freshness: one reporting process (`python -m switchboard.reporting`, its SQLite file under the data folder) in
  a fresh namespace, the same kind of lives straight to its topics at `--rate` for `--warm-up` + `--seconds`;
  lags from each event's time (see bench/reporting_freshness.py): to its fold committed in the replica (every
  event, read from the replica's offsets), to reporting's `GET /v1/tickets/{id}` showing it and to Mongo's
  `tickets_v1` showing it (1 ticket in `--sample-every`, polled), and the service's own histogram;
* rebuild: `--tickets` lives over `--days` (with presence and customers) produced to a second namespace, read raw
  (every partition from the beginning; then also decoded), `python -m switchboard.reporting rebuild` run over it
  as a subprocess (py-spy on it when available), its ticket documents inserted again with raw `insert_many`; then
  (`--profile`) the fold alone under cProfile in this process.

Results are merged into `bench/results/latest.json` (other keys kept; details under `_meta_reporting`). Everything
it started is stopped on the way out. Not a test: it exits 1 only when the run is not clean (an event never
folded, a sampled step never shown, a rebuild that failed or folded fewer events than the log holds).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import secrets
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python bench/reporting.py` puts bench/ on the path
from bench import RESULTS, ROOT
from bench.figures import Json, Results, log, merge_into, metric_table
from bench.machine import machine_facts
from bench.profiling import SCRATCH_VENV, find_py_spy, profile_lines
from bench.reporting_phases import Bench, Options, freshness
from bench.reporting_rebuild import rebuild_phase
from bench.servers import own_servers, server_pids

DATA = ROOT / ".local" / "bench-reporting"
KAFKA_PORT = 29492
MONGO_PORT = 27121


def uptime() -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


async def run(options: Options) -> tuple[Results, bool]:
    results = Results()
    namespace = f"benchrep{secrets.token_hex(4)}"
    results.meta = machine_facts() | {"namespace": namespace, "settings": dataclasses.asdict(options)}
    results.meta["uptime_at_start"] = uptime()
    log(f"machine: {results.meta['uptime_at_start']}")
    started = time.monotonic()
    clean = True
    async with own_servers(DATA, kafka_port=KAFKA_PORT, mongo_port=MONGO_PORT) as ends:
        results.meta["servers"] = {"kafka": ends.kafka_bootstrap, "mongodb": ends.mongodb_uri}
        results.meta["servers"]["started_here"] = ends.started_kafka or ends.started_ferretdb
        pids = server_pids(DATA) | {"bench": os.getpid()}
        py_spy = None
        if options.profile:
            py_spy = await asyncio.to_thread(find_py_spy, options.install_py_spy, (SCRATCH_VENV,))
        bench = Bench(options, results, namespace, ends, pids, DATA, py_spy)
        if options.only in (None, "freshness"):
            clean &= await freshness(bench)
        if options.only in (None, "rebuild"):
            clean &= await rebuild_phase(bench)
        log("stopping the servers ...")
    results.meta["wall_seconds"] = round(time.monotonic() - started, 1)
    results.meta["uptime_at_end"] = uptime()
    results.meta["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    log(f"machine: {results.meta['uptime_at_end']}")
    return results, clean


def table(results: Results) -> str:
    lines = metric_table(results)
    phases: Json = results.meta.get("phases", {})
    lines += ["", "CPU (cores busy):"]
    for name, phase in phases.items():
        cpu = phase.get("cpu") if isinstance(phase, dict) else None
        if cpu:
            cores = ", ".join(f"{k} {v:.2f}" for k, v in cpu["busy_cores_by_process"].items())
            lines.append(
                f"  {name:10} {cores}; others {cpu['busy_cores_other_processes']:.2f}; "
                f"idle {cpu['machine_idle_cores']:.2f} of {cpu['cores']} over {cpu['window_s']} s"
            )
    fresh = phases.get("freshness", {})
    for key in (
        "lag_ms_by_topic",
        "lag_p99_ms_by_5s_of_timetable",
        "histogram",
        "feed_commits",
        "sampling",
        "mongo_commands_per_s",
    ):
        if key in fresh:
            lines.append(f"  {key}: {fresh[key]}")
    built = phases.get("rebuild", {})
    for key in ("log", "report", "fold_in_process"):
        if key in built:
            shown = built[key] if key != "fold_in_process" else built[key].get("plain")
            lines.append(f"  rebuild {key}: {shown}")
    profile = built.get("fold_in_process", {}).get("cprofile", {})
    if profile.get("by_own_time"):
        lines += ["", "the fold under cProfile, by own time:", *profile["by_own_time"][:25]]
    live = phases.get("freshness_profiled", {}).get("profile")
    lines += profile_lines(
        live, "py-spy on reporting at the rate ({samples} samples, busy {busy_share_of_one_thread}):"
    )
    spy = built.get("py_spy")
    lines += profile_lines(spy, "py-spy on the rebuild ({samples} samples of busy threads):")
    if spy and spy.get("top_leaf_functions_percent"):
        lines += [f"  {v:5.1f}%  {k}" for k, v in spy["top_leaf_functions_percent"].items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=1000.0, help="events per second (default 1000)")
    parser.add_argument("--seconds", type=float, default=30.0, help="measured freshness window (default 30)")
    parser.add_argument("--warm-up", type=float, default=5.0, help="seconds at the rate before it (default 5)")
    parser.add_argument("--gap", type=float, default=0.25, help="seconds between a ticket's events (default 0.25)")
    parser.add_argument("--sample-every", type=int, default=20, help="poll 1 ticket in N over HTTP and Mongo")
    parser.add_argument("--http-poll-ms", type=float, default=25.0, help="HTTP polling period (default 25)")
    parser.add_argument("--mongo-poll-ms", type=float, default=50.0, help="Mongo polling period (default 50)")
    parser.add_argument("--offsets-poll-ms", type=float, default=5.0, help="SQLite offsets polling (default 5)")
    parser.add_argument("--baseline-seconds", type=float, default=20.0, help="raw Kafka latency run (default 20)")
    parser.add_argument("--tickets", type=int, default=30_000, help="tickets in the rebuild's log (default 30000)")
    parser.add_argument("--days", type=int, default=60, help="days the rebuild's log spans (default 60)")
    parser.add_argument("--no-profile", action="store_true", help="no py-spy on the rebuild, no cProfile of the fold")
    parser.add_argument("--profile-events", type=int, default=150_000, help="events of the log the cProfile folds")
    parser.add_argument("--no-install", action="store_true", help="do not pip-install py-spy into /tmp if missing")
    parser.add_argument("--only", choices=("freshness", "rebuild"), help="run one of the two parts")
    parser.add_argument("--note", default=None, help="a remark stored with the results (_meta_reporting.note)")
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.json", help="results file to merge into")
    args = parser.parse_args(argv)
    options = Options(
        rate=args.rate,
        seconds=args.seconds,
        warm_up=args.warm_up,
        gap_s=args.gap,
        sample_every=args.sample_every,
        http_poll_ms=args.http_poll_ms,
        mongo_poll_ms=args.mongo_poll_ms,
        offsets_poll_ms=args.offsets_poll_ms,
        baseline_seconds=args.baseline_seconds,
        tickets=args.tickets,
        days=args.days,
        profile=not args.no_profile,
        profile_events=args.profile_events,
        install_py_spy=not args.no_install,
        only=args.only,
    )
    results, clean = asyncio.run(run(options))
    results.meta["date_end"] = datetime.now(UTC).isoformat(timespec="seconds")
    if args.note:
        results.meta["note"] = args.note
    output: Path = args.output.resolve()
    merge_into(output, results, "_meta_reporting")
    print(table(results))
    print(f"\nmerged into {output.relative_to(ROOT) if output.is_relative_to(ROOT) else output}")
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
