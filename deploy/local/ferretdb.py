"""Build, start and stop a local FerretDB (MongoDB wire protocol on SQLite) for development without Docker.

The binary is built from deploy/local/ferretdb (a small main embedding FerretDB v1.24) with two small edits to
FerretDB's own SQLite backend (SOURCE_EDITS), because upstream makes every lookup by _id scan the collection:

* Query pushes a filter down to SQL only when it is exactly ``{_id: <string|ObjectId>}``; any other key next to
  _id (a guarded upsert such as ``{_id: x, "seq": {"$lt": n}}``) makes find/update/delete/findAndModify/count
  read and decode every document. The edit pushes ``WHERE _id = ?`` down whenever the filter has a top-level
  string/ObjectId _id, whatever else it holds. That is safe: top-level filter keys are ANDed, the backend
  contract lets Query apply a filter partially, and every caller re-applies the whole filter to the rows Query
  returns (FilterIterator/FilterDocument; $match stages likewise), so the edit only skips rows that cannot match.
* Even that ``WHERE _id = ?`` missed the _id index (the query spells the JSON path differently from the index
  expression), so SQLite still scanned the table; the second edit makes the spellings agree.
* An update needs two pooled connections at once; with 100 per database, 100 concurrent updates deadlock.
  The third edit raises the pool to 1000 (clients keep their own pools far smaller).

Filters whose _id is an operator (``{_id: {"$in": [...]}}``) or another type are still not pushed down.

provision() copies the FerretDB module from the Go module cache into .local/ferretdb-src, applies the edits
(failing loudly if the expected upstream text is not there) and builds with a generated go.mod in
.local/ferretdb-build that replaces the module with that copy, so no machine-specific path is committed.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE_SUBDIR = Path("deploy/local/ferretdb")
SOURCE_FILES = ("main.go", "go.mod", "go.sum")
BINARY_NAME = "switchboard-ferretdb"
DEFAULT_PORT = 27017
HOST = "127.0.0.1"
FERRETDB_MODULE = "github.com/FerretDB/FerretDB"

_OP_MSG = 2013


@dataclass(frozen=True)
class SourceEdit:
    """A literal replacement in one file of the FerretDB module; ``old`` must occur exactly ``count`` times."""

    path: str
    old: str
    new: str
    count: int


# Both Collection.Query and Collection.Explain (which must report the plan Query would use) carry this test.
# The callers of Query with a filter (find/getMore, aggregate's leading $match, count, distinct, update,
# findAndModify, delete) all re-filter its rows with the full filter, and pass a Limit only when there is no
# filter. Map() rather than Get(): Get panics on a duplicated key, and with duplicates ANDed any one value
# (Map keeps the last) is as safe to push down.
SOURCE_EDITS: tuple[SourceEdit, ...] = (
    SourceEdit(
        path="internal/backends/sqlite/collection.go",
        old='\tif params.Filter.Len() == 1 {\n\t\tv, _ := params.Filter.Get("_id")\n',
        new=(
            "\t// Switchboard patch (deploy/local/ferretdb.py): push _id equality down whenever the filter has a\n"
            "\t// top-level _id, not only when it is the sole key; the handler re-applies the whole filter.\n"
            '\tif v, ok := params.Filter.Map()["_id"]; ok {\n'
        ),
        count=2,
    ),
    # Without this the pushed-down `_id = ?` still scans the table (in SQL rather than Go, so faster but O(n)):
    # the _id index is created on `_ferretdb_sjson->"_id"` (a label) while Query/UpdateAll/DeleteAll/Explain
    # compare `_ferretdb_sjson->'$._id'` (a path), an expression SQLite does not match to that index. For
    # SQLite's -> operator the label '_id' means the same as the path '$._id', so only the plan changes.
    SourceEdit(
        path="internal/backends/sqlite/metadata/metadata.go",
        old="\tIDColumn = DefaultColumn + \"->'$._id'\"\n",
        new=(
            "\t// Switchboard patch (deploy/local/ferretdb.py): a label, as in the _id index expression (not the\n"
            "\t// equivalent path '$._id'), so that SQLite uses that index.\n"
            "\tIDColumn = DefaultColumn + \"->'_id'\"\n"
        ),
        count=1,
    ),
    # An update holds the query's rows (one pooled connection) while it opens its write transaction (a
    # second one). With 100 connections per database, 100 concurrent updates each hold one and wait for
    # another forever: FerretDB deadlocks. A larger pool, with clients capped well below it (Switchboard's
    # MONGODB_MAX_POOL_SIZE defaults to 32), keeps every update able to get its second connection.
    SourceEdit(
        path="internal/backends/sqlite/metadata/pool/opendb.go",
        old="\tdb.SetMaxIdleConns(100)\n\tdb.SetMaxOpenConns(100)\n",
        new=(
            "\t// Switchboard patch (deploy/local/ferretdb.py): room for two connections per client operation.\n"
            "\tdb.SetMaxIdleConns(100)\n\tdb.SetMaxOpenConns(1000)\n"
        ),
        count=1,
    ),
)


def binary_path(root: Path = ROOT) -> Path:
    """Where provision() puts the FerretDB binary."""
    return root / ".local" / "bin" / BINARY_NAME


def default_data_dir(root: Path = ROOT) -> Path:
    """Default directory for the SQLite files, log and pid file."""
    return root / ".local" / "ferretdb" / "data"


def _source_digest(src: Path) -> str:
    digest = hashlib.sha256()
    for name in SOURCE_FILES:
        digest.update(name.encode())
        digest.update(b"\0")
        digest.update((src / name).read_bytes())
        digest.update(b"\0")
    for edit in SOURCE_EDITS:
        digest.update(json.dumps([edit.path, edit.old, edit.new, edit.count]).encode())
        digest.update(b"\0")
    return digest.hexdigest()


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _go(go: str, args: list[str], *, cwd: Path, env: dict[str, str]) -> str:
    cmd = [go, *args]
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"building FerretDB failed ({' '.join(cmd)}):\n{result.stdout}{result.stderr}")
    return result.stdout


def _make_writable(tree: Path) -> None:
    """Add owner write permission throughout tree (the Go module cache is read-only)."""
    for dirpath, _, filenames in os.walk(tree):
        for path in (Path(dirpath), *(Path(dirpath, name) for name in filenames)):
            mode = path.lstat().st_mode
            if not stat.S_ISLNK(mode) and not mode & stat.S_IWUSR:
                path.chmod(mode | stat.S_IWUSR)


def _patched_module(go: str, src: Path, dest: Path, env: dict[str, str]) -> None:
    """Copy FerretDB (the version src/go.mod requires) from the module cache into dest and apply SOURCE_EDITS."""
    info = json.loads(_go(go, ["mod", "download", "-json", FERRETDB_MODULE], cwd=src, env=env))
    if info.get("Error") or not info.get("Dir"):
        raise RuntimeError(f"could not download {FERRETDB_MODULE}: {info.get('Error') or info}")
    if dest.exists():
        _make_writable(dest)
        shutil.rmtree(dest)
    shutil.copytree(info["Dir"], dest, copy_function=shutil.copyfile)
    _make_writable(dest)
    for edit in SOURCE_EDITS:
        path = dest / edit.path
        text = path.read_text()
        found = text.count(edit.old)
        if found != edit.count:
            raise RuntimeError(
                f"cannot patch {FERRETDB_MODULE}@{info.get('Version')}: expected {edit.count} occurrence(s) of"
                f" {edit.old!r} in {edit.path}, found {found}; update SOURCE_EDITS in {Path(__file__).name}"
            )
        path.write_text(text.replace(edit.old, edit.new))


def provision(root: Path = ROOT) -> Path:
    """Build the patched FerretDB binary into .local/bin unless it is up to date with its sources; return its path."""
    root = root.resolve()  # the go commands below run in src, so every path handed to them must be absolute
    src = root / SOURCE_SUBDIR
    binary = binary_path(root)
    marker = binary.with_name(BINARY_NAME + ".sha256")
    digest = _source_digest(src)

    def up_to_date() -> bool:
        return binary.is_file() and marker.is_file() and marker.read_text().strip() == digest

    if up_to_date():
        return binary

    with _file_lock(binary.with_name(BINARY_NAME + ".lock")):
        if up_to_date():  # another process built it while we waited
            return binary
        go = shutil.which("go")
        if go is None:
            raise RuntimeError("the Go toolchain ('go') is needed to build FerretDB but is not on PATH")
        env = {**os.environ, "GOTOOLCHAIN": "local", "CGO_ENABLED": "0"}
        patched = root / ".local" / "ferretdb-src"
        _patched_module(go, src, patched, env)
        # A throwaway copy of go.mod/go.sum (-modfile reads the go.sum beside it) replacing FerretDB by the copy.
        build_dir = root / ".local" / "ferretdb-build"
        build_dir.mkdir(parents=True, exist_ok=True)
        modfile = build_dir / "go.mod"
        shutil.copyfile(src / "go.mod", modfile)
        shutil.copyfile(src / "go.sum", build_dir / "go.sum")
        _go(go, ["mod", "edit", f"-replace={FERRETDB_MODULE}={patched}", str(modfile)], cwd=src, env=env)
        tmp = binary.with_name(BINARY_NAME + ".tmp")
        try:
            _go(
                go,
                ["build", f"-modfile={modfile}", "-trimpath", "-buildvcs=false", "-o", str(tmp), "."],
                cwd=src,
                env=env,
            )
        except RuntimeError:
            tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, binary)
        marker.write_text(digest + "\n")
    return binary


def _bson_cstring(value: str) -> bytes:
    return value.encode() + b"\0"


def _bson_ping(db: str) -> bytes:
    body = (
        b"\x10"
        + _bson_cstring("ping")
        + struct.pack("<i", 1)
        + b"\x02"
        + _bson_cstring("$db")
        + struct.pack("<i", len(db) + 1)
        + _bson_cstring(db)
    )
    return struct.pack("<i", len(body) + 5) + body + b"\0"


def _bson_ok(doc: bytes) -> bool:
    """Return whether the top-level field 'ok' of a BSON document is truthy (handles the numeric types)."""
    pos = 4
    end = len(doc) - 1
    while pos < end:
        kind = doc[pos]
        name_end = doc.index(b"\0", pos + 1)
        name = doc[pos + 1 : name_end]
        pos = name_end + 1
        if kind == 0x01:  # double
            value: float = struct.unpack_from("<d", doc, pos)[0]
            pos += 8
        elif kind == 0x10:  # int32
            value = struct.unpack_from("<i", doc, pos)[0]
            pos += 4
        elif kind in (0x12, 0x11, 0x09):  # int64, timestamp, datetime
            value = struct.unpack_from("<q", doc, pos)[0]
            pos += 8
        elif kind == 0x08:  # bool
            value = doc[pos]
            pos += 1
        elif kind in (0x02, 0x0D, 0x0E):  # string, code, symbol
            pos += 4 + struct.unpack_from("<i", doc, pos)[0]
            continue
        elif kind in (0x03, 0x04):  # document, array
            pos += struct.unpack_from("<i", doc, pos)[0]
            continue
        elif kind == 0x05:  # binary
            pos += 5 + struct.unpack_from("<i", doc, pos)[0]
            continue
        elif kind == 0x07:  # ObjectId
            pos += 12
            continue
        elif kind in (0x0A, 0x06, 0x7F, 0xFF):  # null, undefined, max/min key
            continue
        else:
            return False  # a type a ping reply never holds before 'ok': give up
        if name == b"ok":
            return bool(value)
    return False


def ping(port: int = DEFAULT_PORT, *, host: str = HOST, timeout: float = 1.0) -> bool:
    """Send a MongoDB OP_MSG ``{ping: 1}`` and return whether the server answered ok."""
    body = struct.pack("<I", 0) + b"\x00" + _bson_ping("admin")
    message = struct.pack("<iiii", 16 + len(body), 1, 0, _OP_MSG) + body
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(message)
            header = _recv_exact(sock, 16)
            length, _, _, opcode = struct.unpack("<iiii", header)
            payload = _recv_exact(sock, length - 16)
    except (OSError, ValueError, struct.error):
        return False
    if opcode != _OP_MSG or len(payload) < 5 or payload[4] != 0:
        return False
    try:
        return _bson_ok(payload[5:])
    except (ValueError, IndexError, struct.error):
        return False


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    if size < 0 or size > 48 * 1024 * 1024:
        raise ValueError(f"implausible message size {size}")
    chunks: list[bytes] = []
    while size:
        chunk = sock.recv(size)
        if not chunk:
            raise ValueError("connection closed mid-message")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _port_open(port: int, host: str = HOST) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _pid_file(data_dir: Path) -> Path:
    return data_dir / "ferretdb.pid"


def _log_file(data_dir: Path) -> Path:
    return data_dir / "ferretdb.log"


def _log_tail(data_dir: Path, lines: int = 30) -> str:
    try:
        text = _log_file(data_dir).read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


def _is_alive(pid: int) -> bool:
    try:
        # Reap it if it is our own child that already exited (else it would linger as a zombie).
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.parent.parent.is_dir():  # Linux: make sure the pid was not reused by something else
        try:
            return BINARY_NAME.encode() in cmdline.read_bytes()
        except OSError:
            return False
    return True


def running_pid(data_dir: Path) -> int | None:
    """Return the pid of the FerretDB recorded in data_dir if it is still running."""
    try:
        pid = int(_pid_file(data_dir).read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _is_alive(pid) else None


def start(
    *, root: Path = ROOT, data_dir: Path | None = None, port: int = DEFAULT_PORT, wait: float = 30.0
) -> subprocess.Popen[bytes] | None:
    """Start FerretDB on 127.0.0.1:port; return None if a server already answers there."""
    data_dir = (data_dir or default_data_dir(root)).resolve()
    if ping(port):
        return None
    if _port_open(port):
        raise RuntimeError(f"{HOST}:{port} is taken by something that does not answer a MongoDB ping")

    binary = provision(root)
    data_dir.mkdir(parents=True, exist_ok=True)
    with _log_file(data_dir).open("ab") as log:
        proc = subprocess.Popen(
            [str(binary), "-listen-addr", f"{HOST}:{port}", "-sqlite-dir", str(data_dir)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _pid_file(data_dir).write_text(f"{proc.pid}\n")

    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            _pid_file(data_dir).unlink(missing_ok=True)
            tail = _log_tail(data_dir)
            raise RuntimeError(f"FerretDB exited with code {proc.returncode} during start-up; log tail:\n{tail}")
        if ping(port):
            return proc
        time.sleep(0.05)

    stop(data_dir=data_dir)
    tail = _log_tail(data_dir)
    raise RuntimeError(f"FerretDB did not answer a ping on {HOST}:{port} within {wait}s; log tail:\n{tail}")


def stop(*, data_dir: Path | None = None, timeout: float = 15) -> None:
    """Stop the FerretDB recorded in data_dir: SIGTERM, then SIGKILL after timeout; no-op if not running."""
    data_dir = (data_dir or default_data_dir()).resolve()
    pid = running_pid(data_dir)
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _is_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _is_alive(pid):
            try:
                os.killpg(pid, signal.SIGKILL)  # start() made it a process-group leader
            except ProcessLookupError:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 5
            while _is_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
    _pid_file(data_dir).unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: provision | start | stop | status."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=("provision", "start", "stop", "status"))
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--data", type=Path, help="data directory (default: .local/ferretdb/data)")
    args = parser.parse_args(argv)
    data_dir: Path = (args.data or default_data_dir()).resolve()

    try:
        if args.command == "provision":
            print(provision())
        elif args.command == "start":
            proc = start(data_dir=data_dir, port=args.port)
            if proc is None:
                print(f"FerretDB already answering on {HOST}:{args.port}; reusing it")
            else:
                print(f"FerretDB started on {HOST}:{args.port} (pid {proc.pid}, data {data_dir})")
        elif args.command == "stop":
            stop(data_dir=data_dir)
            print("FerretDB stopped")
        else:
            pid = running_pid(data_dir)
            answering = ping(args.port)
            pid_text = str(pid) if pid is not None else "none"
            print(f"pid: {pid_text}; ping on {HOST}:{args.port}: {'ok' if answering else 'no answer'}")
            return 0 if answering else 1
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
