"""Flows and their drivers (DESIGN.md §1).

A check is written once as a generator, a *flow*, that yields effects and is resumed
with their replies:

- a :class:`Query` (one DNS question) is answered with an :class:`Answer`;
- a tuple of queries (independent questions) with a tuple of answers, in order;
- a :class:`Fetch` (one HTTPS GET) with a :class:`Response`.

:class:`Check` wraps a flow factory and drives it: ``.run()`` blocking, ``await
.arun()`` (or ``await check``) on asyncio. Both keep a per-check answer cache and a
wall-clock budget; a query asked after the deadline is answered TEMPFAIL without
being sent.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass, field
from enum import StrEnum
from time import monotonic as _monotonic
from typing import Any, Generic, Protocol, TypeAlias, TypeVar, cast, runtime_checkable

__all__ = [
    "MX",
    "TLSA",
    "Answer",
    "AsyncFetcher",
    "AsyncResolver",
    "Check",
    "Effect",
    "Fetch",
    "Fetcher",
    "Flow",
    "Outcome",
    "Query",
    "Reply",
    "Resolver",
    "Response",
    "fetch",
    "normalize_qname",
    "query",
    "query_all",
]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

DEFAULT_BUDGET = 20.0
"""Seconds one check may spend on DNS and HTTPS (RFC 7208 §4.6.4 suggests 20)."""

DEFAULT_QUERY_TIMEOUT = 5.0
"""Seconds one query may take before it is answered TEMPFAIL."""


class Outcome(StrEnum):
    """How a DNS question ended, as protocol code needs to tell it apart."""

    OK = "ok"
    NXDOMAIN = "nxdomain"
    NODATA = "nodata"
    TEMPFAIL = "tempfail"


@dataclass(frozen=True, slots=True)
class MX:
    """One MX record (RFC 1035 §3.3.9)."""

    preference: int
    exchange: str

    def __str__(self) -> str:
        return f"{self.preference} {self.exchange}"


@dataclass(frozen=True, slots=True)
class TLSA:
    """One TLSA record (RFC 6698 §2.1): usage, selector, matching type, data."""

    usage: int
    selector: int
    mtype: int
    data: bytes

    def __str__(self) -> str:
        return f"{self.usage} {self.selector} {self.mtype} {self.data.hex()}"


Record: TypeAlias = Any
"""A typed record: ``IPv4Address`` (A), ``IPv6Address`` (AAAA), :class:`MX`, ``str``
(TXT, one RR's strings joined with nothing between them, RFC 7208 §3.3; PTR, CNAME:
the target name without its trailing dot), :class:`TLSA`."""


def normalize_qname(name: str) -> str:
    """The form a query name is compared and cached in: lower case, no trailing dot."""
    name = name.rstrip(".") if name != "." else name
    return name.lower()


@dataclass(frozen=True, slots=True)
class Query:
    """A DNS question. ``rdtype`` is the type's mnemonic: A AAAA MX TXT PTR TLSA CNAME."""

    name: str
    rdtype: str
    _key: tuple[str, str] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        # The cache key is made once per Query: the drivers ask for it on every lookup.
        name = self.name
        if name.endswith(".") and name != ".":
            name = name[:-1]
        object.__setattr__(self, "_key", (name.lower(), self.rdtype.upper()))

    def key(self) -> tuple[str, str]:
        """The cache key: the normalised name and the upper-case type."""
        return self._key

    def __str__(self) -> str:
        return f"{self.name} {self.rdtype}"


@dataclass(frozen=True, slots=True)
class Answer:
    """The answer to a :class:`Query`.

    ``records`` holds typed records (see :data:`Record`) when ``outcome`` is OK and is
    empty otherwise. ``authentic`` is the DNSSEC AD bit of a resolver trusted to
    validate. ``reason`` says why a TEMPFAIL happened (timeout, SERVFAIL, deadline).
    ``canonical_name`` is the name the records were found at after CNAMEs, if any.
    """

    query: Query
    outcome: Outcome
    records: tuple[Record, ...] = ()
    ttl: int | None = None
    authentic: bool = False
    reason: str = ""
    canonical_name: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK

    @property
    def void(self) -> bool:
        """True for NXDOMAIN and for NODATA (an empty answer), RFC 7208 §4.6.4."""
        return self.outcome in (Outcome.NXDOMAIN, Outcome.NODATA)

    def describe(self) -> str:
        """A one-line human description, e.g. ``example.org TXT: NXDOMAIN``."""
        if self.outcome is Outcome.OK:
            shown = ", ".join(_show(r) for r in self.records[:5])
            more = f" (+{len(self.records) - 5} more)" if len(self.records) > 5 else ""
            return f"{self.query}: {shown}{more}"
        text = f"{self.query}: {self.outcome.name}"
        return f"{text} ({self.reason})" if self.reason else text


def _show(record: Record) -> str:
    if isinstance(record, str):
        return repr(record)
    return str(record)


@dataclass(frozen=True, slots=True)
class Fetch:
    """An HTTPS GET (used by MTA-STS): no redirects, a size cap, a timeout."""

    url: str
    max_bytes: int = 64 * 1024
    timeout: float = 60.0
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Response:
    """The reply to a :class:`Fetch`; ``error`` is set when no HTTP response was had."""

    url: str
    status: int | None = None
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    error: str | None = None

    def header(self, name: str) -> str | None:
        """The first header of that name (case-insensitive), or None."""
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return None


Effect: TypeAlias = Query | tuple[Query, ...] | Fetch
Reply: TypeAlias = Answer | tuple[Answer, ...] | Response
Flow: TypeAlias = Generator[Effect, Reply, T]


# --- helpers for protocol code ----------------------------------------------------

def query(name: str, rdtype: str) -> Flow[Answer]:
    """Ask one DNS question: ``answer = yield from query(name, "TXT")``."""
    reply = yield Query(name, rdtype)
    return cast(Answer, reply)


def query_all(queries: tuple[Query, ...]) -> Flow[tuple[Answer, ...]]:
    """Ask independent questions together (resolved concurrently by ``arun``)."""
    if not queries:
        return ()
    reply = yield queries
    return cast(tuple[Answer, ...], reply)


def fetch(request: Fetch) -> Flow[Response]:
    """Fetch one URL: ``response = yield from fetch(Fetch(url))``."""
    reply = yield request
    return cast(Response, reply)


# --- what the drivers talk to -------------------------------------------------------

@runtime_checkable
class Resolver(Protocol):
    """Answers one query, blocking. Must not raise: failures are TEMPFAIL answers."""

    def resolve(self, query: Query, *, timeout: float) -> Answer: ...


@runtime_checkable
class AsyncResolver(Protocol):
    """Answers one query on asyncio. Must not raise: failures are TEMPFAIL answers."""

    async def aresolve(self, query: Query, *, timeout: float) -> Answer: ...


@runtime_checkable
class Fetcher(Protocol):
    def fetch(self, request: Fetch) -> Response: ...


@runtime_checkable
class AsyncFetcher(Protocol):
    async def afetch(self, request: Fetch) -> Response: ...


# --- the drivers --------------------------------------------------------------------

class _Session:
    """State one run of a check shares: the answer cache and the deadline."""

    __slots__ = ("cache", "deadline", "query_timeout")

    def __init__(self, budget: float, query_timeout: float) -> None:
        self.cache: dict[tuple[str, str], Answer] = {}
        self.deadline = time.monotonic() + budget
        self.query_timeout = query_timeout

    def timeout(self) -> float:
        """Seconds the next query may take, or 0 when the budget is spent."""
        left = self.deadline - time.monotonic()
        return max(0.0, min(left, self.query_timeout))

    def cached(self, key: tuple[str, str], q: Query) -> Answer | None:
        hit = self.cache.get(key)
        if hit is None or hit.query is q or _same_words(hit.query, q):
            return hit
        return _rebind(hit, q)  # the same question spelt otherwise: answer in its words

    def store(self, key: tuple[str, str], q: Query, answer: Answer) -> Answer:
        if answer.query is not q and answer.query != q:
            answer = _rebind(answer, q)
        self.cache[key] = answer
        return answer


def _same_words(a: Query, b: Query) -> bool:
    return a.name == b.name and a.rdtype == b.rdtype


def _rebind(answer: Answer, q: Query) -> Answer:
    return Answer(q, answer.outcome, answer.records, answer.ttl, answer.authentic,
                  answer.reason, answer.canonical_name)


def _deadline_answer(q: Query) -> Answer:
    return Answer(q, Outcome.TEMPFAIL, reason="time budget for this check exhausted")


def _crash_answer(q: Query, exc: BaseException) -> Answer:
    return Answer(q, Outcome.TEMPFAIL, reason=f"resolver error: {type(exc).__name__}: {exc}")


def _resolve_sync(session: _Session, resolver: Resolver, q: Query) -> Answer:
    # The hot path of every check: kept to plain attribute and dict operations.
    key = q.key()
    hit = session.cache.get(key)
    if hit is not None:
        return hit if hit.query is q or _same_words(hit.query, q) else _rebind(hit, q)
    timeout = session.deadline - _monotonic()
    if timeout <= 0:
        return _deadline_answer(q)  # not cached: a later run may have time
    timeout = min(timeout, session.query_timeout)
    try:
        answer = resolver.resolve(q, timeout=timeout)
    except Exception as exc:  # a resolver must not raise; keep the promise anyway
        answer = _crash_answer(q, exc)
    return session.store(key, q, answer)


async def _resolve_async(session: _Session, resolver: AsyncResolver, q: Query) -> Answer:
    key = q.key()
    hit = session.cached(key, q)
    if hit is not None:
        return hit
    timeout = session.timeout()
    if timeout <= 0:
        return _deadline_answer(q)
    try:
        answer = await asyncio.wait_for(resolver.aresolve(q, timeout=timeout), timeout + 0.5)
    except TimeoutError:
        answer = Answer(q, Outcome.TEMPFAIL, reason="timeout")
    except Exception as exc:
        answer = _crash_answer(q, exc)
    return session.store(key, q, answer)


def _fetch_sync(fetcher: Fetcher | None, request: Fetch) -> Response:
    if fetcher is None:
        fetcher = cast(Fetcher, _default_fetcher())
    try:
        return fetcher.fetch(request)
    except Exception as exc:
        return Response(request.url, error=f"fetch error: {type(exc).__name__}: {exc}")


async def _fetch_async(fetcher: AsyncFetcher | None, request: Fetch) -> Response:
    if fetcher is None:
        fetcher = cast(AsyncFetcher, _default_fetcher())
    try:
        return await fetcher.afetch(request)
    except Exception as exc:
        return Response(request.url, error=f"fetch error: {type(exc).__name__}: {exc}")


def _bad_effect(effect: object) -> TypeError:
    return TypeError(f"a flow yielded {effect!r}; expected Query, tuple of Query, or Fetch")


class Check(Generic[T_co]):
    """A check ready to run: ``.run()``, ``await .arun()`` or ``await check``.

    ``factory`` makes a fresh flow for each run, so a Check can be run many times.
    ``budget`` is the wall-clock limit in seconds for all its DNS and HTTPS work.
    """

    __slots__ = ("_factory", "budget", "query_timeout")

    def __init__(self, factory: Callable[[], Flow[T_co]], *, budget: float = DEFAULT_BUDGET,
                 query_timeout: float = DEFAULT_QUERY_TIMEOUT) -> None:
        self._factory = factory
        self.budget = budget
        self.query_timeout = query_timeout

    def flow(self) -> Flow[T_co]:
        """A fresh flow, for driving by hand (sans-I/O)."""
        return self._factory()

    def _start(self, budget: float | None) -> tuple[_Session, Flow[T_co]]:
        return (_Session(self.budget if budget is None else budget, self.query_timeout),
                self._factory())

    def run(self, resolver: Resolver | None = None, fetcher: Fetcher | None = None, *,
            budget: float | None = None) -> T_co:
        """Run blocking; the system resolver when none is given. Never touches asyncio."""
        resolver = resolver or _default_resolver()
        session, gen = self._start(budget)
        reply: Reply | None = None
        try:
            while True:
                effect = gen.send(reply)  # type: ignore[arg-type]
                if isinstance(effect, Query):
                    reply = _resolve_sync(session, resolver, effect)
                elif isinstance(effect, tuple):
                    reply = tuple(_resolve_sync(session, resolver, q) for q in effect)
                elif isinstance(effect, Fetch):
                    reply = _fetch_sync(fetcher, effect)
                else:
                    gen.close()
                    raise _bad_effect(effect)
        except StopIteration as stop:
            return cast(T_co, stop.value)

    async def arun(self, resolver: AsyncResolver | None = None,
                   fetcher: AsyncFetcher | None = None, *, budget: float | None = None) -> T_co:
        """Run on asyncio; independent queries a flow yields together go out together."""
        resolver = resolver or _default_resolver()
        session, gen = self._start(budget)
        reply: Reply | None = None
        try:
            while True:
                effect = gen.send(reply)  # type: ignore[arg-type]
                if isinstance(effect, Query):
                    reply = await _resolve_async(session, resolver, effect)
                elif isinstance(effect, tuple):
                    reply = await _gather(session, resolver, effect)
                elif isinstance(effect, Fetch):
                    reply = await _fetch_async(fetcher, effect)
                else:
                    gen.close()
                    raise _bad_effect(effect)
        except StopIteration as stop:
            return cast(T_co, stop.value)

    def __await__(self) -> Generator[Any, None, T_co]:
        return self.arun().__await__()

    def __repr__(self) -> str:
        name = getattr(self._factory, "__qualname__", repr(self._factory))
        return f"<Check {name} budget={self.budget}s>"


async def _gather(session: _Session, resolver: AsyncResolver,
                  queries: tuple[Query, ...]) -> tuple[Answer, ...]:
    # One task per distinct question; duplicates share it.
    tasks: dict[tuple[str, str], Awaitable[Answer]] = {}
    for q in queries:
        if q.key() not in tasks:
            tasks[q.key()] = _resolve_async(session, resolver, q)
    keys = list(tasks)
    results = await asyncio.gather(*(tasks[k] for k in keys))
    by_key = dict(zip(keys, results, strict=True))
    return tuple(by_key[q.key()] if by_key[q.key()].query == q else _rebind(by_key[q.key()], q)
                 for q in queries)


def _default_resolver() -> Any:
    from .resolvers import DNSResolver
    return DNSResolver()


def _default_fetcher() -> Any:
    from .fetchers import HTTPSFetcher
    return HTTPSFetcher()
