"""Analysts' routes (scope `analyst`): every aggregate with filters, cursor pages and a streamed CSV export, and
the summary a lead reads first. Served from this replica's engine (SQLite), so every figure is exact at read
time: averages and rates are divided here from the sums and counts the aggregates keep."""

import csv
import io
import json
import sqlite3
from collections.abc import Callable, Iterator
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from switchboard.runtime.auth import Principal, Scope, TokenAuth

from ..domain.contributions import KEYS, RECOUNTED
from .summary import DEFINITIONS, summary

Collection = Literal[
    "agent_day", "team_day", "sla_day", "feedback_day", "qa_week", "issue_week", "customer_360", "account_360"
]


class Page(BaseModel):
    """One page of an aggregate: documents with their bucket keys and sums."""

    items: list[dict[str, Any]] = Field(description="Documents: the bucket keys, then `sums` (counts and totals).")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


def _rows(
    conn: sqlite3.Connection,
    collection: str,
    filters: dict[str, str],
    since: str | None,
    until: str | None,
    cursor: str | None,
    limit: int | None,
) -> Iterator[dict[str, Any]]:
    sql = ["SELECT id, doc FROM aggregates WHERE collection = ?"]
    args: list[Any] = [collection]
    fields = _fields(collection)
    period = "day" if "day" in fields else "week" if "week" in fields else None
    for key, value in filters.items():
        sql.append(f"AND json_extract(doc, '$.{key}') = ?")
        args.append(value)
    if since and period:
        sql.append(f"AND json_extract(doc, '$.{period}') >= ?")
        args.append(since)
    if until and period:
        sql.append(f"AND json_extract(doc, '$.{period}') <= ?")
        args.append(until)
    if cursor:
        sql.append("AND id > ?")
        args.append(cursor)
    sql.append("ORDER BY id")
    if limit is not None:
        sql.append("LIMIT ?")
        args.append(limit)
    for doc_id, doc in conn.execute(" ".join(sql), args):
        yield {"id": doc_id, **json.loads(doc)}


def analytics_router(*, conn_provider: Callable[[], sqlite3.Connection], auth: TokenAuth) -> APIRouter:
    router = APIRouter(tags=["analytics"])
    analyst = Annotated[Principal, Depends(auth.require(Scope.ANALYST))]

    @router.get(
        "/v1/metrics/summary",
        summary="First reply, resolution, SLA compliance, CSAT, NPS and backlog for a period",
        description="Each figure, as defined in docs/analytics.md (section 'The summary') and by"
        " `GET /v1/metrics/definitions`:\n\n"
        + "\n".join(f"- **{name}**: {text}" for name, text in DEFINITIONS.items()),
        responses={422: {"description": "A bad date or an empty period."}},
    )
    async def get_summary(
        _: analyst,
        from_: Annotated[date, Query(alias="from", description="First day (UTC), inclusive.")],
        to: Annotated[date, Query(description="Last day (UTC), inclusive.")],
        team: Annotated[str | None, Query(max_length=64, description="Only this team.")] = None,
    ) -> dict[str, Any]:
        if to < from_:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, "`to` is before `from`")
        return summary(conn_provider(), start=from_.isoformat(), end=to.isoformat(), team=team)

    @router.get("/v1/metrics/definitions", summary="What each summary figure means, and its unit")
    async def get_definitions(_: analyst) -> dict[str, str]:
        return dict(DEFINITIONS)

    @router.get(
        "/v1/analytics/{collection}",
        summary="An aggregate's documents, filtered, by cursor page or as CSV",
        response_model=Page,
        responses={200: {"content": {"text/csv": {}}}, 422: {"description": "A bad filter or cursor."}},
    )
    async def list_collection(
        collection: Collection,
        _: analyst,
        since: Annotated[
            str | None,
            Query(
                max_length=10,
                pattern=r"^\d{4}-(\d{2}-\d{2}|W\d{2})$",
                description="First day (YYYY-MM-DD) or week (YYYY-Www), inclusive.",
            ),
        ] = None,
        until: Annotated[
            str | None,
            Query(max_length=10, pattern=r"^\d{4}-(\d{2}-\d{2}|W\d{2})$", description="Last day or week, inclusive."),
        ] = None,
        agent_id: Annotated[str | None, Query(max_length=64)] = None,
        team_id: Annotated[str | None, Query(max_length=64)] = None,
        policy_id: Annotated[str | None, Query(max_length=64)] = None,
        target: Annotated[str | None, Query(max_length=64)] = None,
        priority: Annotated[str | None, Query(max_length=16)] = None,
        language: Annotated[str | None, Query(max_length=35)] = None,
        category: Annotated[str | None, Query(max_length=128)] = None,
        tag: Annotated[str | None, Query(max_length=64)] = None,
        customer_id: Annotated[str | None, Query(max_length=64)] = None,
        account_id: Annotated[str | None, Query(max_length=64)] = None,
        cursor: Annotated[str | None, Query(max_length=400)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        format: Annotated[Literal["json", "csv"], Query(description="csv streams every matching row.")] = "json",
    ) -> Any:
        given = {
            "agent_id": agent_id,
            "team_id": team_id,
            "policy_id": policy_id,
            "target": target,
            "priority": priority,
            "language": language,
            "category": category,
            "tag": tag,
            "customer_id": customer_id,
            "account_id": account_id,
        }
        filters = {k: v for k, v in given.items() if v is not None}
        unknown = sorted(set(filters) - set(_fields(collection)))
        if unknown:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_ENTITY,
                f"{collection} has no {', '.join(unknown)}; its keys are {', '.join(_fields(collection))}",
            )
        conn = conn_provider()
        if format == "csv":
            sums = [
                r[0]
                for r in conn.execute(
                    "SELECT DISTINCT j.key FROM aggregates, json_each(aggregates.doc, '$.sums') AS j"
                    " WHERE collection = ? ORDER BY 1",
                    (collection,),
                )
            ]
            rows = _rows(conn, collection, filters, since, until, None, None)
            return StreamingResponse(
                _csv(rows, collection, sums),
                media_type="text/csv",
                headers={"Content-Disposition": f'attachment; filename="{collection}.csv"'},
            )
        items = list(_rows(conn, collection, filters, since, until, cursor, limit + 1))
        more = len(items) > limit
        items = items[:limit]
        return {"items": items, "next_cursor": items[-1]["id"] if more else None}

    return router


def _csv(rows: Iterator[dict[str, Any]], collection: str, sums: list[str]) -> Iterator[str]:
    """CSV a thousand rows at a time, so an export of every bucket never sits in memory whole."""
    keys = list(_fields(collection))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["id", *keys, *sums])
    writer.writeheader()
    for n, row in enumerate(rows, start=1):
        writer.writerow({"id": row["id"], **{k: row.get(k) for k in keys}, **row["sums"]})
        if n % 1000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _fields(collection: str) -> tuple[str, ...]:
    return KEYS.get(collection) or RECOUNTED[collection]
