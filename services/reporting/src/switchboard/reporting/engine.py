"""The local read-model engine: every event folded into one SQLite file, with the offsets it reflects.

Each replica folds all partitions of every topic itself, so no document has two writers and no replica
depends on which partitions another holds. One SQLite transaction per batch stores the new records, views,
aggregate totals and the next offset of every partition read: a crash loses the whole batch or nothing, and
the replica resumes from its own offsets. Queries (the worklist, analytics) are served from here, with
SQLite's real indexes; the publisher copies changed documents to MongoDB for analysts.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from switchboard.events import Envelope

from . import worklist
from .domain.agent import derive_agent
from .domain.contributions import Contributions, agent_contributions, contributions, keys_of
from .domain.health import summary_of
from .domain.records import Record, add, record_of
from .domain.ticket import BusinessMinutes, derive

#: Bumped whenever a fold's output changes: a local file folded by another version is folded again.
FOLD_VERSION = 1

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS offsets(topic TEXT, partition INTEGER, next INTEGER NOT NULL,"
    " PRIMARY KEY(topic, partition))",
    "CREATE TABLE IF NOT EXISTS ticket_state(id TEXT PRIMARY KEY, records TEXT NOT NULL, view TEXT,"
    " contributions TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS agents(id TEXT PRIMARY KEY, records TEXT NOT NULL, view TEXT NOT NULL,"
    " presence TEXT NOT NULL, contributions TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS aggregates(collection TEXT, id TEXT, doc TEXT NOT NULL, PRIMARY KEY(collection, id))",
    "CREATE TABLE IF NOT EXISTS dirty(collection TEXT, id TEXT, seq INTEGER NOT NULL, PRIMARY KEY(collection, id))",
)

AGENT_KINDS = frozenset({"presence", "roster"})
TICKET_KINDS_EXCLUDED = AGENT_KINDS | {"customer", "account"}


@dataclass(frozen=True)
class Position:
    """Where an event was read: the engine stores the next offset per partition with the effects."""

    topic: str
    partition: int
    offset: int


class Engine:
    """One SQLite database holding every read model of this replica."""

    def __init__(self, conn: sqlite3.Connection, *, business: BusinessMinutes) -> None:
        self.conn = conn
        self._business = business
        self._seq = 0
        # The feed folds in a worker thread and the publisher forgets published changes in another: writes to
        # the one writing connection take turns, and reads go through connections of their own (`reader`).
        self._writing = threading.Lock()
        self._snapshots: sqlite3.Connection | None = None

    @classmethod
    def open(cls, path: str | Path, *, business: BusinessMinutes, durable: bool = True) -> Engine:
        conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={'NORMAL' if durable else 'OFF'}")
        conn.execute("PRAGMA cache_size=-32000")
        found = conn.execute("SELECT name FROM sqlite_master WHERE name='meta'").fetchone()
        version = found and conn.execute("SELECT value FROM meta WHERE key='fold_version'").fetchone()
        if found and (version is None or int(version[0]) != FOLD_VERSION):
            for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall():
                conn.execute(f'DROP TABLE IF EXISTS "{name}"')
        for statement in (*_SCHEMA, *worklist.ddl()):
            conn.execute(statement)
        conn.execute("INSERT OR IGNORE INTO meta VALUES ('fold_version', ?)", (str(FOLD_VERSION),))
        engine = cls(conn, business=business)
        engine._seq = conn.execute("SELECT coalesce(max(seq), 0) FROM dirty").fetchone()[0]
        return engine

    def reader(self) -> sqlite3.Connection:
        """A connection for queries: WAL lets it read the last committed batch while the feed writes the next."""
        path = self.conn.execute("PRAGMA database_list").fetchone()[2]
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA query_only=1")
        return conn

    def offsets(self) -> dict[tuple[str, int], int]:
        """The next offset to read per (topic, partition)."""
        return {(r[0], r[1]): r[2] for r in self.conn.execute("SELECT topic, partition, next FROM offsets")}

    def apply(self, batch: Sequence[tuple[Position, Envelope | None]]) -> int:
        """Fold a batch (None stands for an event read but not decodable); returns the subjects changed."""
        by_subject: dict[tuple[str, str], list[Record]] = {}
        for _, envelope in batch:
            record = record_of(envelope) if envelope is not None else None
            if record is None or envelope is None or record[4] in ("customer", "account"):
                continue
            kind = "agent" if record[4] in AGENT_KINDS else "ticket"
            by_subject.setdefault((kind, envelope.subject), []).append(record)
        with self._writing:
            return self._apply(batch, by_subject)

    def _apply(
        self, batch: Sequence[tuple[Position, Envelope | None]], by_subject: dict[tuple[str, str], list[Record]]
    ) -> int:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            changed = self._fold(by_subject)
            ends: dict[tuple[str, int], int] = {}
            for position, _ in batch:
                key = (position.topic, position.partition)
                ends[key] = max(ends.get(key, 0), position.offset + 1)
            self.conn.executemany(
                "INSERT INTO offsets VALUES (?, ?, ?) ON CONFLICT(topic, partition) DO UPDATE SET next=max(next, excluded.next)",
                [(t, p, n) for (t, p), n in ends.items()],
            )
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        return changed

    def _fold(self, by_subject: dict[tuple[str, str], list[Record]]) -> int:
        delta: Contributions = {}
        views: list[dict[str, Any]] = []
        changed = 0
        for (kind, subject), new in by_subject.items():
            table = "ticket_state" if kind == "ticket" else "agents"
            row = self.conn.execute(f"SELECT records, contributions FROM {table} WHERE id=?", (subject,)).fetchone()
            records: list[Record] = json.loads(row[0]) if row else []
            added = [r for r in new if add(records, r)]
            if not added and row is not None:
                continue
            changed += 1
            before: Contributions = _load(row[1]) if row else {}
            if kind == "ticket":
                view = derive(subject, records, business=self._business)
                after = contributions(view)
                self.conn.execute(
                    "INSERT OR REPLACE INTO ticket_state VALUES (?, ?, ?, ?)",
                    (subject, json.dumps(records), json.dumps(view) if view else None, _dump(after)),
                )
                if view is not None:
                    views.append(view)
                    self._mark("tickets", subject)
            else:
                agent = derive_agent(subject, records)
                after = agent_contributions(agent)
                self.conn.execute(
                    "INSERT OR REPLACE INTO agents VALUES (?, ?, ?, ?, ?)",
                    (subject, json.dumps(records), json.dumps(agent), agent["presence"], _dump(after)),
                )
                self._mark("agents", subject)
            _merge(delta, before, -1.0)
            _merge(delta, after, 1.0)
        if views:
            worklist.upsert(self.conn, views)
            self._recount_360(views)
        self._apply_delta(delta)
        return changed

    def _recount_360(self, views: list[dict[str, Any]]) -> None:
        """Customer and account 360 documents of the tickets that changed, recounted from all their tickets."""
        for key, collection in (("customer_id", "customer_360"), ("account_id", "account_360")):
            for subject in sorted({v[key] for v in views if v.get(key)}):
                rows = self.conn.execute(
                    f"SELECT s.view FROM tickets t JOIN ticket_state s ON s.id = t.id WHERE t.{key} = ?", (subject,)
                ).fetchall()
                doc = summary_of(key, subject, (json.loads(r[0]) for r in rows if r[0]))
                if doc is None:
                    self.conn.execute("DELETE FROM aggregates WHERE collection=? AND id=?", (collection, subject))
                else:
                    self.conn.execute(
                        "INSERT OR REPLACE INTO aggregates VALUES (?, ?, ?)", (collection, subject, json.dumps(doc))
                    )
                self._mark(collection, subject)

    def _apply_delta(self, delta: Contributions) -> None:
        for (collection, bucket), amounts in delta.items():
            if not any(abs(v) > 1e-9 for v in amounts.values()):
                continue
            row = self.conn.execute(
                "SELECT doc FROM aggregates WHERE collection=? AND id=?", (collection, bucket)
            ).fetchone()
            doc: dict[str, Any] = json.loads(row[0]) if row else {**keys_of(collection, bucket), "sums": {}}
            sums = doc["sums"]
            for name, amount in amounts.items():
                sums[name] = round(sums.get(name, 0.0) + amount, 6)
                if abs(sums[name]) < 1e-9:
                    del sums[name]
            if sums:
                self.conn.execute(
                    "INSERT OR REPLACE INTO aggregates VALUES (?, ?, ?)", (collection, bucket, json.dumps(doc))
                )
            else:
                self.conn.execute("DELETE FROM aggregates WHERE collection=? AND id=?", (collection, bucket))
            self._mark(collection, bucket)

    def _mark(self, collection: str, doc_id: str) -> None:
        self._seq += 1
        self.conn.execute(
            "INSERT INTO dirty VALUES (?, ?, ?) ON CONFLICT(collection, id) DO UPDATE SET seq=excluded.seq",
            (collection, doc_id, self._seq),
        )

    # Reading ----------------------------------------------------------------------------------------------

    def ticket(self, ticket_id: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT view FROM ticket_state WHERE id=?", (ticket_id,)).fetchone()
        return json.loads(row[0]) if row and row[0] else None

    def documents(
        self, collection: str, ids: Iterable[str] | None = None
    ) -> Iterable[tuple[str, dict[str, Any] | None]]:
        """(id, document or None when gone) of a projection, as the publisher and reconcile see them."""
        prefix: tuple[str, ...] = ()
        if collection == "tickets":
            sql = "SELECT id, view FROM ticket_state WHERE view IS NOT NULL"
        elif collection == "agents":
            sql = "SELECT id, view FROM agents WHERE 1"
        else:
            sql, prefix = "SELECT id, doc FROM aggregates WHERE collection=?", (collection,)
        if ids is None:
            for doc_id, text in self.conn.execute(sql, prefix):
                yield doc_id, json.loads(text)
            return
        for doc_id in ids:
            row = self.conn.execute(
                f"{sql} AND id=?" if "WHERE" in sql else f"{sql} WHERE id=?", (*prefix, doc_id)
            ).fetchone()
            yield doc_id, json.loads(row[1]) if row else None

    def dirty(self, limit: int) -> list[tuple[str, str, int]]:
        rows = self.conn.execute("SELECT collection, id, seq FROM dirty ORDER BY seq LIMIT ?", (limit,))
        return [(str(c), str(i), int(n)) for c, i, n in rows]

    def changes(self, limit: int) -> Changes:
        """Up to `limit` changed documents and the offsets they reflect, read in one snapshot, so the offsets a
        publisher records never claim a batch whose changes it did not see."""
        if self._snapshots is None:
            self._snapshots = self.reader()
        conn = self._snapshots
        conn.execute("BEGIN")
        try:
            offsets = {(r[0], r[1]): r[2] for r in conn.execute("SELECT topic, partition, next FROM offsets")}
            rows = conn.execute("SELECT collection, id, seq FROM dirty ORDER BY seq LIMIT ?", (limit,)).fetchall()
            dirty = [(str(c), str(i), int(n)) for c, i, n in rows]
            documents: dict[tuple[str, str], dict[str, Any] | None] = {}
            for collection, doc_id, _ in dirty:
                row = conn.execute(
                    _ONE[collection if collection in _ONE else "aggregate"],
                    ((doc_id,) if collection in _ONE else (collection, doc_id)),
                ).fetchone()
                documents[(collection, doc_id)] = json.loads(row[0]) if row and row[0] else None
        finally:
            conn.execute("COMMIT")
        return Changes(offsets, dirty, documents)

    def clean(self, published: Sequence[tuple[str, str, int]]) -> None:
        """Forget published changes, unless the document changed again since it was read."""
        with self._writing:
            self._clean(published)

    def _clean(self, published: Sequence[tuple[str, str, int]]) -> None:
        self.conn.executemany("DELETE FROM dirty WHERE collection=? AND id=? AND seq=?", published)

    def mark_all(self) -> None:
        """Everything is to be published again (a new publisher, or a new projection version)."""
        with self._writing:
            self._mark_all()

    def _mark_all(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        for collection, sql in (
            ("tickets", "SELECT id FROM ticket_state WHERE view IS NOT NULL"),
            ("agents", "SELECT id FROM agents"),
        ):
            for (doc_id,) in self.conn.execute(sql).fetchall():
                self._mark(collection, doc_id)
        for collection, doc_id in self.conn.execute("SELECT collection, id FROM aggregates").fetchall():
            self._mark(collection, doc_id)
        self.conn.execute("COMMIT")


_ONE = {
    "tickets": "SELECT view FROM ticket_state WHERE id = ?",
    "agents": "SELECT view FROM agents WHERE id = ?",
    "aggregate": "SELECT doc FROM aggregates WHERE collection = ? AND id = ?",
}


@dataclass(frozen=True)
class Changes:
    """What a publishing pass sends: offsets, the changes (collection, id, seq) and each document (None: gone)."""

    offsets: dict[tuple[str, int], int]
    dirty: list[tuple[str, str, int]]
    documents: dict[tuple[str, str], dict[str, Any] | None]


def _dump(c: Contributions) -> str:
    return json.dumps([[col, bucket, amounts] for (col, bucket), amounts in c.items()])


def _load(text: str) -> Contributions:
    return {(col, bucket): amounts for col, bucket, amounts in json.loads(text)}


def _merge(into: Contributions, part: Contributions, sign: float) -> None:
    for key, amounts in part.items():
        target = into.setdefault(key, {})
        for name, amount in amounts.items():
            target[name] = target.get(name, 0.0) + sign * amount
