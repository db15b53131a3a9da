"""The load intake is measured under: bodies of POST /v1/tickets (new customers, or a pool of regulars), one
connection per client, closed loops of clients and an open loop on a fixed timetable, and the tally of what the
load generator saw."""

from __future__ import annotations

import asyncio
import contextlib
import random
import ssl
import time
from collections import Counter
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from bench.figures import Json, percentile

T = TypeVar("T")
RECURRING_CUSTOMERS = 100


SUBJECTS = [
    "Cannot log in after password reset",
    "Invoice shows the wrong VAT number",
    "Order #{n} arrived damaged",
    "Refund not received yet",
    "App crashes when uploading a photo",
]
DESCRIPTIONS = [
    "Hello, since this morning I cannot log in to my account. I reset my password twice and the reset e-mail "
    "arrives, but the new password is refused with 'invalid credentials'. I use the web app in Firefox on "
    "Windows and also tried the mobile app. Could you please check whether my account is locked? Thanks.",
    "Good afternoon, the invoice for last month lists our old VAT number although we updated it in the account "
    "settings in March. Our accounting department cannot book it like this. Please send a corrected invoice to "
    "this address and make sure future invoices use the new number. Kind regards.",
    "Hi, my order arrived today but the box was crushed and the screen of the monitor inside is cracked. I took "
    "photos of the package and the damage before unpacking anything else. What should I do now, can you send a "
    "replacement or should I return it first? I need it for work next week.",
    "Guten Tag, ich habe die Bestellung vor drei Wochen zurückgeschickt und die Rücksendung wurde laut "
    "Sendungsverfolgung am Montag zugestellt. Die Erstattung ist aber noch nicht auf meinem Konto eingegangen. "
    "Können Sie bitte nachsehen, wann das Geld überwiesen wird? Vielen Dank.",
    "Bonjour, l'application se ferme dès que j'essaie d'envoyer une photo depuis la galerie. Le problème a "
    "commencé après la dernière mise à jour. J'ai déjà réinstallé l'application et redémarré le téléphone, sans "
    "succès. Pouvez-vous m'aider ? Merci d'avance.",
    "Merhaba, dün verdiğim siparişin durumu hâlâ hazırlanıyor olarak görünüyor. Kargo takip numarası da "
    "gelmedi. Siparişimin ne zaman gönderileceğini öğrenebilir miyim? Acil ihtiyacım var, teşekkürler.",
]
CHANNELS = ["email", "api", "email", "web_form"]


class Opener:
    """Builds open-ticket bodies; a fresh customer e-mail each time, or one of a fixed pool of regulars."""

    def __init__(self, run_id: str, seed: int = 7) -> None:
        self._run = run_id
        self._n = 0
        self._random = random.Random(seed)

    def body(self, *, recurring: bool) -> Json:
        self._n += 1
        n = self._n
        if recurring:
            k = self._random.randrange(RECURRING_CUSTOMERS)
            email, name = f"regular-{k}.{self._run}@customers.example.com", f"Regular Customer {k}"
        else:
            email, name = f"c{n}.{self._run}@customers.example.com", f"Customer {n}"
        return {
            "subject": self._random.choice(SUBJECTS).format(n=n),
            "description": self._random.choice(DESCRIPTIONS),
            "channel": self._random.choice(CHANNELS),
            "customer": {"email": email, "name": name},
        }


@dataclass
class Tally:
    """What the load generator saw in one phase."""

    latencies: list[float] = field(default_factory=list)  # of the 201s
    statuses: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)  # one sample answer per failure kind
    ticket_ids: list[str] = field(default_factory=list)
    last_created: float = 0.0  # monotonic time of the last 201
    last_answer: float = field(default_factory=time.monotonic)  # of the last response of any kind
    in_flight: int = 0
    stalled: bool = False

    def record(self, response: httpx.Response | None, latency: float, error: Exception | None = None) -> None:
        self.last_answer = time.monotonic()
        if response is not None and response.status_code == 201:
            self.latencies.append(latency)
            self.ticket_ids.append(str(response.json()["id"]))
            self.last_created = self.last_answer
            self.statuses["201"] += 1
        elif response is not None:
            self.statuses[str(response.status_code)] += 1
            self.examples.setdefault(str(response.status_code), response.text[:300])
        else:
            kind = type(error).__name__
            self.statuses[kind] += 1
            self.examples.setdefault(kind, repr(error)[:300])

    @property
    def created(self) -> int:
        return len(self.ticket_ids)

    @property
    def failed(self) -> int:
        """Requests sent that did not answer 201 (requests the open loop never sent are not counted)."""
        return sum(count for status, count in self.statuses.items() if status not in ("201", "unsent"))

    @property
    def valid(self) -> bool:
        """Figures from this phase mean something: it did not stall and (nearly) every answer was a 201."""
        return not self.stalled and self.created > 0 and self.failed <= 0.01 * (self.created + self.failed)


async def post_open(client: httpx.AsyncClient, body: Json, tally: Tally, started: float) -> None:
    tally.in_flight += 1
    try:
        response = await client.post("/v1/tickets", json=body)
    except httpx.HTTPError as exc:
        tally.record(None, time.monotonic() - started, exc)
        return
    finally:
        tally.in_flight -= 1
    tally.record(response, time.monotonic() - started)


@contextlib.asynccontextmanager
async def connections(url: str, token: str, count: int) -> AsyncIterator[list[httpx.AsyncClient]]:
    """`count` keep-alive connections, each its own one-connection client: httpx's pool costs the load
    generator CPU in proportion to the connections it holds, which on a small machine is taken from the
    server under test. They share one TLS context (never used on http://, but httpx builds one per client,
    which costs milliseconds each)."""
    tls = ssl.create_default_context()
    async with contextlib.AsyncExitStack() as stack:
        yield [
            await stack.enter_async_context(
                httpx.AsyncClient(
                    base_url=url,
                    headers={"authorization": f"Bearer {token}"},
                    verify=tls,
                    limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
                    timeout=httpx.Timeout(120.0),  # the stall watchdog, not a timeout, ends a hung phase
                )
            )
            for _ in range(count)
        ]


async def unless_stalled(work: Coroutine[Any, Any, T], tally: Tally, stall_s: float) -> T | None:
    """Run `work`; cancel it if requests are outstanding but nothing has answered for `stall_s` seconds."""
    task = asyncio.ensure_future(work)
    while not task.done():
        await asyncio.wait({task}, timeout=0.25)
        if not task.done() and tally.in_flight and time.monotonic() - tally.last_answer > stall_s:
            tally.stalled = True
            tally.statuses["abandoned (stall)"] += tally.in_flight
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            return None
    return task.result()


async def closed_loop(
    url: str,
    token: str,
    opener: Opener,
    *,
    clients: int,
    seconds: float,
    stall_s: float,
    max_requests: int = 100_000,
    recurring: bool = False,
) -> tuple[Tally, float]:
    """`clients` tasks each sending one open after another for `seconds` (or `max_requests` in all).

    Returns the tally and the seconds it covers (up to the last answer when the phase stalled)."""
    tally = Tally()
    budget = [max_requests]
    async with connections(url, token, clients) as pool:
        t0 = time.monotonic()
        deadline = t0 + seconds

        async def worker(client: httpx.AsyncClient) -> None:
            while time.monotonic() < deadline and budget[0] > 0:
                budget[0] -= 1
                await post_open(client, opener.body(recurring=recurring), tally, time.monotonic())

        async def all_workers() -> None:
            await asyncio.gather(*(worker(client) for client in pool))

        await unless_stalled(all_workers(), tally, stall_s)
        elapsed = (tally.last_answer if tally.stalled else time.monotonic()) - t0
    return tally, elapsed


@dataclass
class OpenLoopRun:
    tally: Tally
    scheduled: int
    unsent: int
    elapsed: float
    lateness_ms_p99: float  # how late the generator itself dispatched requests (its own health)


async def open_loop(
    url: str,
    token: str,
    opener: Opener,
    *,
    rate: float,
    seconds: float,
    max_in_flight: int,
    grace: float,
    stall_s: float,
) -> OpenLoopRun:
    """Requests on a fixed timetable; latency counts from the scheduled send time, so a slow server (or a
    full in-flight window) shows up as latency instead of as fewer requests. Requests still waiting for a
    slot `grace` seconds after the timetable ends are never sent and count with the latency they had so far
    (a lower bound); requests already sent are always awaited, so every ticket opened is accounted for."""
    tally = Tally()
    count = round(rate * seconds)
    lateness: list[float] = []
    waiting: dict[asyncio.Task[None], float] = {}  # not yet sent -> scheduled time
    tasks: set[asyncio.Task[None]] = set()

    async with connections(url, token, max_in_flight) as pool:
        idle: asyncio.Queue[httpx.AsyncClient] = asyncio.Queue()
        for client in pool:
            idle.put_nowait(client)
        t0 = cut = time.monotonic() + 0.05

        async def one(scheduled: float, body: Json) -> None:
            client = await idle.get()  # FIFO: requests get a connection in timetable order
            try:
                task = asyncio.current_task()
                assert task is not None
                waiting.pop(task, None)
                await post_open(client, body, tally, scheduled)
            finally:
                idle.put_nowait(client)

        async def timetable() -> None:
            nonlocal cut
            for i in range(count):
                scheduled = t0 + i / rate
                delay = scheduled - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                lateness.append(max(0.0, time.monotonic() - scheduled))
                task = asyncio.create_task(one(scheduled, opener.body(recurring=False)))
                waiting[task] = scheduled
                tasks.add(task)
            if waiting:  # give the backlog `grace` seconds to get a slot
                await asyncio.wait(set(waiting), timeout=max(0.0, t0 + count / rate + grace - time.monotonic()))
            cut = time.monotonic()
            for task, scheduled in list(waiting.items()):
                task.cancel()
                tally.latencies.append(cut - scheduled)  # censored: at least this late, never sent
                tally.statuses["unsent"] += 1
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            await unless_stalled(timetable(), tally, stall_s)
        finally:
            unsent = len(waiting) if tally.stalled else tally.statuses["unsent"]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        end = tally.last_answer if tally.stalled else max(tally.last_created, cut)
    return OpenLoopRun(tally, count, unsent, end - t0, percentile(lateness, 99) * 1000)
