"""`make run`: the whole platform in the foreground - Kafka, FerretDB and the five services.

Data persists in `.local/` across runs. Ctrl-C (or SIGTERM) stops the services gracefully, then the
servers this run started.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import infra

SERVICES = {"intake": 8081, "routing": 8082, "sla": 8083, "feedback": 8084, "reporting": 8085}


def api_token(root: Path) -> str:
    """`SWITCHBOARD_API_TOKEN`, else a random one kept in `.local/api-token` so it survives restarts."""
    token = os.environ.get("SWITCHBOARD_API_TOKEN")
    if token:
        return token
    path = root / ".local" / "api-token"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32) + "\n")
        path.chmod(0o600)
    return path.read_text().strip()


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:  # noqa: S310 (loopback only)
            return bool(response.status == 200)
    except OSError:
        return False


def main() -> int:
    root = infra.ROOT
    print("provisioning and starting Kafka and FerretDB (first run downloads and builds; later runs take seconds)")
    ends = infra.up()
    token = api_token(root)
    env = os.environ | {
        "KAFKA_BOOTSTRAP_SERVERS": ends.kafka_bootstrap,
        "MONGODB_URI": ends.mongodb_uri,
        "SWITCHBOARD_API_TOKEN": token,
    }
    processes: dict[str, subprocess.Popen[bytes]] = {}
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        for name, default_port in SERVICES.items():
            port = os.environ.get(f"{name.upper()}_PORT", str(default_port))
            processes[name] = subprocess.Popen(
                [sys.executable, "-m", f"switchboard.{name}"], env=env | {f"{name.upper()}_PORT": port}
            )
        urls = {
            name: f"http://127.0.0.1:{os.environ.get(f'{name.upper()}_PORT', port)}" for name, port in SERVICES.items()
        }
        deadline = time.monotonic() + 120
        pending = set(urls)
        while pending and not stopping and time.monotonic() < deadline:
            pending = {name for name in pending if not ready(urls[name])}
            for name, process in processes.items():
                if process.poll() is not None:
                    print(f"{name} exited with {process.returncode}", file=sys.stderr)
                    return 1
            time.sleep(0.3)
        print("\nSwitchboard is running:")
        print(f"  Kafka     {ends.kafka_bootstrap}\n  Mongo     {ends.mongodb_uri}")
        for name, url in urls.items():
            state = "ready" if name not in pending else "NOT READY (see its log lines)"
            print(f"  {name:<10}{url}  ({state}; {url}/docs, {url}/metrics)")
        print(f"\nAPI token (Authorization: Bearer ...): {token}\nCtrl-C stops everything.\n", flush=True)
        while not stopping:
            for name, process in processes.items():
                if process.poll() is not None:
                    print(f"{name} exited with {process.returncode}; stopping", file=sys.stderr)
                    stopping = True
            time.sleep(0.5)
        return 0
    finally:
        print("\nstopping services ...", flush=True)
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        if ends.started_kafka or ends.started_ferretdb:
            print("stopping Kafka and FerretDB ...", flush=True)
            infra.down(stop_kafka=ends.started_kafka, stop_ferretdb=ends.started_ferretdb)


if __name__ == "__main__":
    sys.exit(main())
