"""Local infrastructure for `make run`, `make infra-up` and the tests: Kafka and FerretDB, no Docker.

Where `KAFKA_BOOTSTRAP_SERVERS` or `MONGODB_URI` is set, that server is used and nothing is started.
Stdlib only, so it runs before the project's virtualenv exists.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"switchboard_local_{name}", HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


kafka = _load("kafka")
ferretdb = _load("ferretdb")


@dataclass(frozen=True)
class Endpoints:
    """Where the servers answer, and which of them this call started (and so should stop)."""

    kafka_bootstrap: str
    mongodb_uri: str
    started_kafka: bool
    started_ferretdb: bool


def up(*, root: Path = ROOT, data: Path | None = None, kafka_port: int = 9092, mongo_port: int = 27017) -> Endpoints:
    """Provision what is missing and start what is not running; honours the env overrides."""
    data = data or root / ".local"
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    uri = os.environ.get("MONGODB_URI")
    started_kafka = started_ferretdb = False
    if not bootstrap:
        kafka.provision(root)
        started_kafka = kafka.start(root=root, data_dir=data / "kafka" / "data", port=kafka_port) is not None
        bootstrap = f"127.0.0.1:{kafka_port}"
    if not uri:
        ferretdb.provision(root)
        started_ferretdb = ferretdb.start(root=root, data_dir=data / "ferretdb" / "data", port=mongo_port) is not None
        uri = f"mongodb://127.0.0.1:{mongo_port}/"
    return Endpoints(bootstrap, uri, started_kafka, started_ferretdb)


def down(*, root: Path = ROOT, data: Path | None = None, stop_kafka: bool = True, stop_ferretdb: bool = True) -> None:
    """Stop the local servers started from this data folder."""
    data = data or root / ".local"
    if stop_ferretdb:
        ferretdb.stop(data_dir=data / "ferretdb" / "data")
    if stop_kafka:
        kafka.stop(data_dir=data / "kafka" / "data")


def provision(*, root: Path = ROOT) -> None:
    """Download the Kafka jars and build FerretDB, if not yet done."""
    kafka.provision(root)
    ferretdb.provision(root)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["up", "down", "provision"])
    parser.add_argument("--kafka-port", type=int, default=int(os.environ.get("SWITCHBOARD_KAFKA_PORT", "9092")))
    parser.add_argument("--mongo-port", type=int, default=int(os.environ.get("SWITCHBOARD_MONGO_PORT", "27017")))
    args = parser.parse_args(argv)
    if args.command == "provision":
        provision()
    elif args.command == "down":
        down()
        print("local Kafka and FerretDB stopped")
    else:
        ends = up(kafka_port=args.kafka_port, mongo_port=args.mongo_port)
        print(f"KAFKA_BOOTSTRAP_SERVERS={ends.kafka_bootstrap}")
        print(f"MONGODB_URI={ends.mongodb_uri}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
