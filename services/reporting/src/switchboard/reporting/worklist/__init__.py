"""The worklist (`GET /v1/tickets`): its table in the engine's SQLite file and its queries; no Kafka, no Mongo."""

from .cache import QueryCache
from .model import MAX_LIMIT, UNASSIGNED, Page, QueryError, Sort, WorklistQuery
from .query import query
from .schema import COLUMNS, INDEX_COLUMNS, INDEXES, UPSERT, ddl, delete, row_of, upsert

__all__ = [
    "COLUMNS",
    "INDEXES",
    "INDEX_COLUMNS",
    "MAX_LIMIT",
    "UNASSIGNED",
    "UPSERT",
    "Page",
    "QueryCache",
    "QueryError",
    "Sort",
    "WorklistQuery",
    "ddl",
    "delete",
    "query",
    "row_of",
    "upsert",
]
