"""Provision (from Maven Central) and run a local single-node KRaft Apache Kafka broker, without Docker."""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
POM = Path(__file__).resolve().parent / "kafka" / "pom.xml"
MARKER = ".provisioned"
LOG_FILE = "kafka.log"
PID_FILE = "kafka.pid"
CLUSTER_ID_FILE = "cluster.id"
PROPERTIES_FILE = "server.properties"
NODE_ID = 1
HEAP = ("-Xms256m", "-Xmx1g")
# The broker logs through SLF4J 1.7 (Kafka pulls slf4j-api 1.7.36); slf4j-simple writes to stderr.
LOGGING = (
    "-Dorg.slf4j.simpleLogger.defaultLogLevel=info",
    "-Dorg.slf4j.simpleLogger.showDateTime=true",
    "-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSS",
    "-Dorg.slf4j.simpleLogger.showThreadName=false",
    "-Dorg.slf4j.simpleLogger.log.kafka.request.logger=warn",
    "-Dorg.slf4j.simpleLogger.log.state.change.logger=warn",
    "-Dorg.slf4j.simpleLogger.log.kafka.log.LogCleaner=warn",
    # log4j-core is on the classpath (Kafka's Log4jController) but unused; keep it quiet.
    "-Dlog4j2.statusLoggerLevel=OFF",
)


def libs_dir(root: Path) -> Path:
    return root / ".local" / "kafka" / "libs"


def default_data_dir(root: Path) -> Path:
    return root / ".local" / "kafka" / "data"


def _pom_digest() -> str:
    return hashlib.sha256(POM.read_bytes()).hexdigest()


def _is_provisioned(libs: Path, digest: str) -> bool:
    marker = libs / MARKER
    return marker.is_file() and marker.read_text().strip() == digest


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def provision(root: Path = ROOT) -> Path:
    """Copy the broker's runtime jars into ``<root>/.local/kafka/libs`` unless already done for this pom."""
    libs = libs_dir(root)
    digest = _pom_digest()
    if _is_provisioned(libs, digest):
        return libs
    with _locked(libs.parent / "provision.lock"):
        if _is_provisioned(libs, digest):  # another process finished while we waited
            return libs
        mvn = shutil.which("mvn")
        if mvn is None:
            raise RuntimeError("Maven (mvn) is required to provision Kafka but is not on PATH")
        staging = libs.with_name(libs.name + ".tmp")
        shutil.rmtree(staging, ignore_errors=True)
        result = subprocess.run(
            [mvn, "-B", "-q", "-f", str(POM), "package", f"-DoutputDirectory={staging}"],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0 or not any(staging.glob("kafka_2.13-*.jar")):
            raise RuntimeError(
                f"mvn failed to provision Kafka (rc={result.returncode}):\n"
                f"{result.stdout[-4000:]}{result.stderr[-4000:]}"
            )
        (staging / MARKER).write_text(digest + "\n")
        shutil.rmtree(libs, ignore_errors=True)
        staging.rename(libs)
    return libs


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise RuntimeError("Java 17+ is required to run Kafka but `java` is not on PATH")
    return java


def _port_answers(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _read_exact(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("connection closed by broker")
        data += chunk
    return data


def broker_count(port: int, host: str = "127.0.0.1", timeout: float = 2.0) -> int:
    """Send a Kafka Metadata v1 request (no topics) and return how many live brokers the answer lists."""
    client_id = b"switchboard-local"
    header = struct.pack(">hhih", 3, 1, 1, len(client_id)) + client_id  # api_key=Metadata, version 1
    body = struct.pack(">i", 0)  # empty topic list: brokers only
    request = header + body
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(struct.pack(">i", len(request)) + request)
        (size,) = struct.unpack(">i", _read_exact(sock, 4))
        payload = _read_exact(sock, size)
    correlation_id, brokers = struct.unpack_from(">ii", payload, 0)
    if correlation_id != 1:
        raise ConnectionError(f"unexpected correlation id {correlation_id}")
    return int(brokers)


def _broker_ready(port: int) -> bool:
    try:
        return broker_count(port) >= 1
    except (OSError, struct.error):
        return False


def _properties(data_dir: Path, port: int, controller_port: int) -> str:
    settings: dict[str, str | int] = {
        "process.roles": "broker,controller",
        "node.id": NODE_ID,
        "controller.quorum.voters": f"{NODE_ID}@127.0.0.1:{controller_port}",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": str(data_dir / "logs"),
        "num.partitions": 12,
        "default.replication.factor": 1,
        "min.insync.replicas": 1,
        "auto.create.topics.enable": "true",
        "offsets.topic.replication.factor": 1,
        "offsets.topic.num.partitions": 12,
        "transaction.state.log.replication.factor": 1,
        "transaction.state.log.min.isr": 1,
        "transaction.state.log.num.partitions": 12,
        "share.coordinator.state.topic.replication.factor": 1,
        "share.coordinator.state.topic.min.isr": 1,
        "share.coordinator.state.topic.num.partitions": 12,
        "group.initial.rebalance.delay.ms": 0,
        "log.cleaner.dedupe.buffer.size": 16 * 1024 * 1024,
        "log.cleaner.threads": 1,
        "num.network.threads": 2,
        "num.io.threads": 4,
        "num.recovery.threads.per.data.dir": 2,
    }
    lines = [f"{key}={value}" for key, value in settings.items()]
    return "# Written by deploy/local/kafka.py on every start.\n" + "\n".join(lines) + "\n"


def _run_tool(java: str, libs: Path, *args: str) -> str:
    result = subprocess.run(
        [java, *LOGGING, "-cp", f"{libs}/*", "kafka.tools.StorageTool", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"kafka-storage {args[0]} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def _format_storage(java: str, libs: Path, data_dir: Path, properties: Path) -> None:
    if (data_dir / "logs" / "meta.properties").is_file():
        return
    id_file = data_dir / CLUSTER_ID_FILE
    if not id_file.is_file():
        id_file.write_text(_run_tool(java, libs, "random-uuid").strip() + "\n")
    cluster_id = id_file.read_text().strip()
    # controller.quorum.voters is set (static quorum), so format without --standalone.
    _run_tool(java, libs, "format", "--config", str(properties), "--cluster-id", cluster_id)


def _log_excerpt(data_dir: Path, tail: int = 30) -> str:
    """The log's first error lines (the cause) followed by its last ``tail`` lines."""
    log = data_dir / LOG_FILE
    if not log.is_file():
        return "(no log)"
    lines = log.read_text(errors="replace").splitlines()
    errors = [line for line in lines if " ERROR " in line or line.startswith("Caused by:")][:8]
    cause = "\n".join(errors) + "\n...\n" if errors else ""
    return cause + "\n".join(lines[-tail:])


def _read_pid(data_dir: Path) -> int | None:
    try:
        return int((data_dir / PID_FILE).read_text().strip())
    except (OSError, ValueError):
        return None


def _exists(pid: int) -> bool:
    """True while ``pid`` is a process that has not exited (zombies count as exited)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


def _is_broker(pid: int) -> bool:
    try:
        return b"kafka.Kafka" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def running_pid(data_dir: Path) -> int | None:
    pid = _read_pid(data_dir)
    return pid if pid is not None and _exists(pid) and _is_broker(pid) else None


def start(
    *,
    root: Path = ROOT,
    data_dir: Path | None = None,
    port: int = 9092,
    controller_port: int | None = None,
    wait: float = 60.0,
) -> subprocess.Popen[bytes] | None:
    """Start a broker on 127.0.0.1:``port`` and wait until it serves metadata.

    Returns None when something already answers on the port (it is reused, not restarted).
    """
    if _port_answers(port):
        return None
    data_dir = (data_dir or default_data_dir(root)).resolve()
    controller_port = controller_port if controller_port is not None else port + 1
    if running_pid(data_dir) is not None:
        raise RuntimeError(f"a broker already runs from {data_dir} (pid file) but not on port {port}")
    if _port_answers(controller_port):
        raise RuntimeError(f"controller port {controller_port} is already in use; pass controller_port")
    libs = provision(root)
    java = _java()
    data_dir.mkdir(parents=True, exist_ok=True)
    properties = data_dir / PROPERTIES_FILE
    properties.write_text(_properties(data_dir, port, controller_port))
    _format_storage(java, libs, data_dir, properties)

    log = data_dir / LOG_FILE
    if log.exists():
        log.replace(data_dir / (LOG_FILE + ".1"))
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                java,
                *HEAP,
                "-Djava.awt.headless=true",
                *LOGGING,
                "-cp",
                f"{libs}/*",
                "kafka.Kafka",
                str(properties),
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=data_dir,
            start_new_session=True,
        )
    (data_dir / PID_FILE).write_text(f"{proc.pid}\n")

    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            (data_dir / PID_FILE).unlink(missing_ok=True)
            raise RuntimeError(f"Kafka exited with {proc.returncode} during startup:\n{_log_excerpt(data_dir)}")
        if _broker_ready(port):
            return proc
        time.sleep(0.2)
    stop(data_dir=data_dir)
    raise RuntimeError(f"Kafka not ready on port {port} after {wait:.0f}s:\n{_log_excerpt(data_dir)}")


def stop(*, data_dir: Path | None = None, timeout: float = 30) -> None:
    """SIGTERM the broker in ``data_dir``'s pid file, SIGKILL it after ``timeout``; no-op if not running."""
    data_dir = (data_dir or default_data_dir(ROOT)).resolve()
    pid_file = data_dir / PID_FILE
    pid = running_pid(data_dir)
    if pid is None:
        pid_file.unlink(missing_ok=True)
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _exists(pid):
        if time.monotonic() >= deadline:
            os.killpg(pid, signal.SIGKILL)  # started with its own session: pgid == pid
            while _exists(pid):
                time.sleep(0.05)
            break
        time.sleep(0.1)
    pid_file.unlink(missing_ok=True)


def status(*, data_dir: Path | None = None, port: int = 9092) -> str:
    data_dir = (data_dir or default_data_dir(ROOT)).resolve()
    pid = running_pid(data_dir)
    ready = _broker_ready(port)
    owner = f"pid {pid} from {data_dir}" if pid is not None else f"no broker from {data_dir}"
    return f"port {port}: {'ready' if ready else 'not serving Kafka'}; {owner}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["provision", "start", "stop", "status"])
    parser.add_argument("--port", type=int, default=9092)
    parser.add_argument("--controller-port", type=int, default=None)
    parser.add_argument("--data", type=Path, default=None, help="data dir (default: .local/kafka/data)")
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--wait", type=float, default=60.0)
    args = parser.parse_args(argv)
    data_dir: Path = args.data or default_data_dir(args.root)
    try:
        if args.command == "provision":
            print(provision(args.root))
        elif args.command == "start":
            began = time.monotonic()
            proc = start(
                root=args.root,
                data_dir=data_dir,
                port=args.port,
                controller_port=args.controller_port,
                wait=args.wait,
            )
            if proc is None:
                print(f"something already answers on 127.0.0.1:{args.port}; reusing it")
            else:
                print(
                    f"Kafka ready on 127.0.0.1:{args.port} (pid {proc.pid}, "
                    f"{time.monotonic() - began:.1f}s, log {data_dir / LOG_FILE})"
                )
        elif args.command == "stop":
            stop(data_dir=data_dir)
        else:
            print(status(data_dir=data_dir, port=args.port))
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
