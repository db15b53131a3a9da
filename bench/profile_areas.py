"""Where the services' time goes: the areas of intake's and routing's code (and of the libraries under them) that
their py-spy samples are counted in."""

from __future__ import annotations

from bench.profiling import Areas, Matcher

# ----------------------------------------------------------------------------------------------------------
# intake


def package(file: str) -> str:
    """py-spy names files from their import root ('pymongo/pool.py', 'intake/commands/tickets.py', 'uuid.py')."""
    return file.split("/", 1)[0]


# What a sample's innermost frame is part of (py-spy samples only running threads: this is CPU time).
# First match wins; arguments are (file, function name without its class or closure).
_INTAKE_INNERMOST: list[tuple[str, Matcher]] = [
    ("language detection (lingua)", lambda f, fn: package(f) == "lingua" or f == "intake/language.py"),
    ("pymongo / bson (Mongo client)", lambda f, fn: package(f) in ("pymongo", "bson")),
    ("aiokafka / faststream (Kafka client)", lambda f, fn: package(f) in ("aiokafka", "faststream")),
    ("pydantic (validation, dumps)", lambda f, fn: package(f).startswith("pydantic")),
    ("email_validator / dns", lambda f, fn: package(f) in ("email_validator", "dns")),
    ("fastapi / starlette", lambda f, fn: package(f) in ("fastapi", "starlette")),
    ("uvicorn / h11 / httptools", lambda f, fn: package(f) in ("uvicorn", "h11", "httptools")),
    ("json (stdlib)", lambda f, fn: package(f) == "json"),
    ("prometheus_client", lambda f, fn: package(f) == "prometheus_client"),
    ("structlog / logging", lambda f, fn: package(f) in ("structlog", "logging")),
    ("switchboard code", lambda f, fn: package(f) in ("intake", "runtime", "events")),
    ("asyncio / uvloop (event loop)", lambda f, fn: package(f) in ("asyncio", "uvloop")),
]

# Time spent inside (anywhere below) these calls, whatever the innermost frame.
_INTAKE_INCLUSIVE: list[tuple[str, Matcher]] = [
    ("POST /v1/tickets handler (all of it)", lambda f, fn: fn == "open_ticket" and f == "intake/api/tickets.py"),
    ("  Customers.resolve (find or create)", lambda f, fn: fn == "resolve" and f == "intake/commands/customers.py"),
    ("  language detection", lambda f, fn: fn == "detect" and f == "intake/language.py"),
    ("  EventStore.read (history reads)", lambda f, fn: fn == "read" and f == "runtime/eventstore.py"),
    ("  EventStore.append (commit insert)", lambda f, fn: fn == "append" and f == "runtime/eventstore.py"),
    ("  commit_document / CloudEvents encode", lambda f, fn: fn in ("commit_document", "encode")),
    ("FastAPI request parsing + validation", lambda f, fn: fn == "solve_dependencies"),
    ("FastAPI response serialisation", lambda f, fn: fn == "serialize_response"),
    ("outbox relay publish", lambda f, fn: fn == "publish" and f == "runtime/outbox.py"),
    ("outbox sweep", lambda f, fn: fn == "sweep_once" and f == "runtime/outbox.py"),
    ("any pymongo / bson frame", lambda f, fn: package(f) in ("pymongo", "bson")),
    ("any aiokafka / faststream frame", lambda f, fn: package(f) in ("aiokafka", "faststream")),
    ("any pydantic frame", lambda f, fn: package(f).startswith("pydantic")),
]

INTAKE_AREAS = Areas(_INTAKE_INNERMOST, _INTAKE_INCLUSIVE, other="other (stdlib, runpy, ...)")


# ----------------------------------------------------------------------------------------------------------
# routing


def path(file: str) -> str:
    """A file as py-spy names it, with a leading '/' so that suffixes and folders match whole names."""
    return "/" + file.lstrip("/")


def under(*parts: str) -> Matcher:
    """In a folder of one of these names, at any depth."""
    return lambda f, fn: any(f"/{part}/" in path(f) for part in parts)


def at(suffix: str, *functions: str) -> Matcher:
    """In the file ending with `suffix` (and, if given, in one of these functions)."""
    return lambda f, fn: path(f).endswith("/" + suffix) and (not functions or fn in functions)


# What a sample's innermost frame is part of (py-spy samples running threads only: this is CPU time).
_ROUTING_INNERMOST: list[tuple[str, Matcher]] = [
    ("pymongo / bson (Mongo client)", under("pymongo", "bson")),
    ("aiokafka / faststream / kafka (Kafka client)", under("aiokafka", "faststream", "kafka")),
    ("pydantic (validation, dumps)", lambda f, fn: "/pydantic" in path(f)),
    ("routing rules: text folding / words", at("domain/text.py")),
    ("routing domain (board, pick, roster, rules)", under("domain")),
    ("routing service (subscribers, assigner, store)", under("routing")),
    ("switchboard runtime / events", under("runtime", "events")),
    ("fastapi / starlette / uvicorn", under("fastapi", "starlette", "uvicorn", "h11", "httptools")),
    ("json (stdlib)", under("json")),
    ("uuid / datetime / unicodedata", lambda f, fn: path(f).endswith(("/uuid.py", "/datetime.py", "/_strptime.py"))),
    ("prometheus_client", under("prometheus_client")),
    ("structlog / logging", under("structlog", "logging")),
    ("asyncio (event loop)", under("asyncio")),
]

# Time spent inside (anywhere below) these calls, whatever the innermost frame.
_ROUTING_INCLUSIVE: list[tuple[str, Matcher]] = [
    ("consumer batch: EventConsumer._on_batch (all)", at("runtime/consumer.py", "_on_batch")),
    ("  CloudEvents decode (events.codec.decode)", at("events/codec.py", "decode")),
    ("  Reactions.on_ticket_opened", at("routing/subscribers.py", "on_ticket_opened")),
    ("    rules: route()", at("rules/evaluate.py", "route")),
    ("      subject words (domain/text.words)", at("domain/text.py", "words")),
    ("    Reactions.record (store TicketRouted)", at("routing/subscribers.py", "record")),
    ("    Assigner.submit (publish to the board topic)", at("routing/assigner.py", "submit")),
    ("board: Assigner._apply_logged (all)", at("routing/assigner.py", "_apply_logged")),
    ("  BoardInput.model_validate_json", lambda f, fn: fn == "model_validate_json" and "/pydantic" in path(f)),
    ("  board_inputs.react (the domain reaction)", at("routing/board_inputs.py", "react")),
    ("    on_routed", at("assignment/reactions.py", "on_routed")),
    ("    on_roster_changed / roster_from_document", lambda f, fn: fn in ("on_roster_changed", "roster_from_document")),
    (
        "    Draft copy + Board freeze",
        lambda f, fn: (
            (f.endswith("assignment/draft.py") and fn in ("__init__", "result"))
            or (f.endswith("assignment/board.py") and fn == "__post_init__")
        ),
    ),
    ("    pick / candidates / roster.members", lambda f, fn: fn in ("pick", "candidates", "members")),
    ("  Assigner._record (store the decision)", at("routing/assigner.py", "_record")),
    ("EventStore.append", at("runtime/eventstore.py", "append")),
    ("EventStore.read", at("runtime/eventstore.py", "read")),
    ("  commit_document / CloudEvents encode", lambda f, fn: fn in ("commit_document", "encode")),
    ("outbox relay publish", at("runtime/outbox.py", "publish")),
    ("any pymongo / bson frame", under("pymongo", "bson")),
    ("any aiokafka / faststream frame", under("aiokafka", "faststream")),
    ("any pydantic frame", lambda f, fn: "/pydantic" in path(f)),
    ("any structlog / logging frame", under("structlog", "logging")),
]

ROUTING_AREAS = Areas(_ROUTING_INNERMOST, _ROUTING_INCLUSIVE, other="other (stdlib, ...)")
