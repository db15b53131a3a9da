"""An in-memory stand-in for PyMongo's async client, database and collection, for unit tests of the services'
use cases with no servers.

It answers as MongoDB does for what the project calls - the same result objects, the same exceptions with the
same details (a `DuplicateKeyError` with code 11000, a `BulkWriteError` whose `writeErrors` carry the failed
request's index) - so the runtime's concurrency checks (an insert colliding on `_id`, a guarded upsert, an
ordered insert stopping at the first taken slot) behave in a unit test as on the server. Anything the project
does not use (projections, aggregation, regular expressions, unique secondary indexes, ...) raises
NotImplementedError instead of answering differently from the server. libs/runtime/tests/test_testing_contract.py
runs the same tests against it and a real server.

    db = MemoryDatabase()
    store = IntakeStore(db.as_pymongo(), namespace="t")   # or: memory_database(), then memory_of(...)
    db["commits"].fail_next_writes(1)                     # the next write command fails: a lost connection
    relay = RecordingRelay()                              # what the use cases hand the outbox relay
    assert db["commits"].writes == 0                      # commands run, by collection

Documents are copied in and out through BSON, as over the wire: changing a returned document changes nothing
stored, and values come back as the client decodes them (aware UTC datetimes at millisecond precision, lists
for tuples). `MemoryDatabase(server="ferretdb")` answers a failed update in a bulk as FerretDB 1.x does (see
`server.Server`), to reach the code paths that handle it.
"""

from .collection import IndexRecord, MemoryCollection
from .cursor import MemoryCursor
from .database import MemoryClient, MemoryDatabase, memory_database, memory_of
from .relay import RecordingRelay
from .server import Server
from .values import Document

__all__ = [
    "Document",
    "IndexRecord",
    "MemoryClient",
    "MemoryCollection",
    "MemoryCursor",
    "MemoryDatabase",
    "RecordingRelay",
    "Server",
    "memory_database",
    "memory_of",
]
