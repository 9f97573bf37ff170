"""Flows and their drivers (docs/architecture.md).

A check is written once as a generator, a *flow*, that yields effects and is resumed
with their replies:

- a :class:`Query` (one DNS question) is answered with an :class:`Answer`;
- a tuple of queries (independent questions) with a tuple of answers, in order;
- a :class:`Fetch` (one HTTPS GET) with a :class:`Response`;
- a :class:`Work` (blocking work that is not network I/O: reading and hashing a body)
  with what its function returns;
- a tuple of those (independent effects) with a tuple of their replies, in order.

:class:`Check` wraps a flow factory and drives it: ``.run()`` blocking, ``await
.arun()`` (or ``await check``) on asyncio, where the items of a tuple run concurrently
and :class:`Work` runs in a worker thread. Both drivers keep a per-check answer cache
and a wall-clock budget; a query asked after the deadline is answered TEMPFAIL without
being sent, and a fetch gets at most the time left. :func:`gather` runs whole
sub-flows together.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import time
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass, field
from enum import StrEnum
from time import monotonic as _monotonic
from typing import (
    Any,
    Generic,
    Literal,
    Protocol,
    TypeAlias,
    TypeVar,
    cast,
    get_args,
    overload,
    runtime_checkable,
)

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
    "RRType",
    "Record",
    "Reply",
    "Resolver",
    "Response",
    "Work",
    "fetch",
    "gather",
    "normalize_qname",
    "query",
    "query_all",
    "work",
]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
T1 = TypeVar("T1")
T2 = TypeVar("T2")
T3 = TypeVar("T3")
T4 = TypeVar("T4")

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


RRType: TypeAlias = Literal["A", "AAAA", "CNAME", "MX", "PTR", "TLSA", "TXT"]
"""The record types the checks ask for (their mnemonics, upper case)."""

RR_TYPES: frozenset[str] = frozenset(get_args(RRType))


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


IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address

Record: TypeAlias = IPAddress | MX | TLSA | str
"""A typed record: ``IPv4Address`` (A), ``IPv6Address`` (AAAA), :class:`MX`, ``str``
(TXT, one RR's strings joined with nothing between them, RFC 7208 §3.3; PTR, CNAME:
the target name without its trailing dot), :class:`TLSA`. The accessors of
:class:`Answer` (``txt()``, ``mx()``, ``addresses()``, ``names()``, ``tlsa()``) give
them typed."""


def normalize_qname(name: str) -> str:
    """The form a query name is compared and cached in: lower case, no trailing dot."""
    name = name.rstrip(".") if name != "." else name
    return name.lower()


@dataclass(frozen=True, slots=True)
class Query:
    """A DNS question: a name and a record type (:data:`RRType`, e.g. ``"TXT"``).

    A type in lower case is accepted and kept as given; its cache key is upper case.
    An unknown type is a ``ValueError``.
    """

    name: str
    rdtype: RRType
    _key: tuple[str, str] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        # The cache key is made once per Query: the drivers ask for it on every lookup.
        name = self.name
        if name.endswith(".") and name != ".":
            name = name[:-1]
        rdtype: str = self.rdtype
        if rdtype not in RR_TYPES:
            rdtype = rdtype.upper() if isinstance(rdtype, str) else rdtype
            if rdtype not in RR_TYPES:
                raise ValueError(f"unsupported record type {self.rdtype!r}; one of "
                                 f"{', '.join(sorted(RR_TYPES))}")
        object.__setattr__(self, "_key", (name.lower(), rdtype))

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
    validate. ``reason`` says why a TEMPFAIL happened (timeout, SERVFAIL, deadline), or
    what a resolver left out of an OK answer (an unusable record, RFC 7671 §4.1).
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

    def txt(self) -> tuple[str, ...]:
        """The TXT records, each one RR's strings joined (RFC 7208 §3.3)."""
        return tuple(r for r in self.records if isinstance(r, str))

    def names(self) -> tuple[str, ...]:
        """The target names of PTR or CNAME records (no trailing dot)."""
        return tuple(r for r in self.records if isinstance(r, str))

    def mx(self) -> tuple[MX, ...]:
        """The MX records, in the order the resolver gave them."""
        return tuple(r for r in self.records if isinstance(r, MX))

    def addresses(self) -> tuple[IPAddress, ...]:
        """The addresses of A or AAAA records."""
        return tuple(r for r in self.records
                     if isinstance(r, ipaddress.IPv4Address | ipaddress.IPv6Address))

    def tlsa(self) -> tuple[TLSA, ...]:
        """The TLSA records."""
        return tuple(r for r in self.records if isinstance(r, TLSA))

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
    """An HTTPS GET (used by MTA-STS): no redirects, a size cap, a timeout.

    The drivers lower ``timeout`` to the time left in the check's budget before the
    fetcher sees it.
    """

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


@dataclass(frozen=True, slots=True)
class Work:
    """Blocking work that is not network I/O, such as reading and hashing a body.

    The sync driver calls ``fn(*args)`` in place; the async driver calls it in a
    worker thread, so the event loop stays free. ``fn`` must be safe to call from
    another thread. Protocol code yields it through :func:`work`, which also
    re-raises in the flow what ``fn`` raised.
    """

    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()

    def __call__(self) -> Any:
        """Run it; an exception is returned wrapped, for :func:`work` to re-raise."""
        try:
            return self.fn(*self.args)
        except Exception as exc:
            return _Raised(exc)

    def __repr__(self) -> str:
        name = getattr(self.fn, "__qualname__", repr(self.fn))
        return f"Work({name}, {len(self.args)} args)"


@dataclass(frozen=True, slots=True)
class _Raised:
    """What a :class:`Work` raised, carried to the flow as its reply."""

    exc: Exception


Single: TypeAlias = Query | Fetch | Work
Effect: TypeAlias = Single | tuple[Single, ...]
Reply: TypeAlias = Any
"""An :class:`Answer` for a Query, a :class:`Response` for a Fetch, what the function
returned for a Work, and a tuple of those for a tuple."""
Flow: TypeAlias = Generator[Effect, Reply, T]


# --- helpers for protocol code ----------------------------------------------------

def query(name: str, rdtype: RRType) -> Flow[Answer]:
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


def work(fn: Callable[..., T], *args: Any) -> Flow[T]:
    """Run blocking work off the event loop: ``digest = yield from work(hash_body, m)``.

    What ``fn`` raises is raised here, in the flow.
    """
    reply = yield Work(fn, args)
    if isinstance(reply, _Raised):
        raise reply.exc
    return cast(T, reply)


def returned(value: T) -> Flow[T]:
    """A flow that asks nothing and returns ``value``: a known result in a :func:`gather`."""
    return value
    yield  # unreachable: makes this a generator


@overload
def gather(f1: Flow[T1], /) -> Flow[tuple[T1]]: ...
@overload
def gather(f1: Flow[T1], f2: Flow[T2], /) -> Flow[tuple[T1, T2]]: ...
@overload
def gather(f1: Flow[T1], f2: Flow[T2], f3: Flow[T3], /) -> Flow[tuple[T1, T2, T3]]: ...
@overload
def gather(f1: Flow[T1], f2: Flow[T2], f3: Flow[T3], f4: Flow[T4], /
           ) -> Flow[tuple[T1, T2, T3, T4]]: ...
@overload
def gather(*flows: Flow[Any]) -> Flow[tuple[Any, ...]]: ...


def gather(*flows: Flow[Any]) -> Flow[tuple[Any, ...]]:
    """Run sub-flows together; their results, in argument order.

    At each step the effects the sub-flows are waiting on are merged into one tuple,
    so ``arun()`` sends them at once (and ``run()`` in order); the check's answer
    cache still answers each question once. While only one sub-flow is left, its
    effects pass through unchanged. If a sub-flow raises, the others are closed and
    the exception propagates.
    """
    results: list[Any] = [None] * len(flows)
    pending: dict[int, Effect] = {}
    try:
        for i, sub in enumerate(flows):
            try:
                pending[i] = next(sub)
            except StopIteration as stop:
                results[i] = stop.value
        while pending:
            if len(pending) == 1:
                ((i, effect),) = pending.items()
                reply = yield effect
                try:
                    pending[i] = flows[i].send(reply)
                except StopIteration as stop:
                    results[i] = stop.value
                    del pending[i]
                continue
            items: list[Single] = []
            spans: list[tuple[int, int, int, bool]] = []
            for i, effect in pending.items():
                if isinstance(effect, tuple):
                    spans.append((i, len(items), len(effect), True))
                    items.extend(effect)
                else:
                    spans.append((i, len(items), 1, False))
                    items.append(effect)
            replies = yield tuple(items)
            pending = {}
            for i, start, count, many in spans:
                reply = tuple(replies[start:start + count]) if many else replies[start]
                try:
                    pending[i] = flows[i].send(reply)
                except StopIteration as stop:
                    results[i] = stop.value
    finally:
        for i in pending:
            flows[i].close()
    return tuple(results)


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
    """Fetches one URL, blocking, within ``request.timeout`` seconds in all. Must not
    raise: failures are responses with ``error`` set."""

    def fetch(self, request: Fetch) -> Response: ...


@runtime_checkable
class AsyncFetcher(Protocol):
    """Fetches one URL on asyncio. Must not raise: failures set ``Response.error``."""

    async def afetch(self, request: Fetch) -> Response: ...


# --- the drivers --------------------------------------------------------------------

class _Session:
    """State one run of a check shares: the answer cache and the deadline."""

    __slots__ = ("budget", "cache", "deadline", "query_timeout")

    def __init__(self, budget: float, query_timeout: float) -> None:
        self.cache: dict[tuple[str, str], Answer] = {}
        self.budget = budget
        self.deadline = time.monotonic() + budget
        self.query_timeout = query_timeout

    def left(self) -> float:
        """Seconds left in the budget (0 when it is spent)."""
        return max(0.0, self.deadline - time.monotonic())

    def timeout(self) -> float:
        """Seconds the next query may take, or 0 when the budget is spent."""
        return min(self.left(), self.query_timeout)

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

    def spent(self) -> str:
        return f"the time budget of {self.budget:g} s for this check is exhausted"


def _same_words(a: Query, b: Query) -> bool:
    return a.name == b.name and a.rdtype == b.rdtype


def _rebind(answer: Answer, q: Query) -> Answer:
    return Answer(q, answer.outcome, answer.records, answer.ttl, answer.authentic,
                  answer.reason, answer.canonical_name)


def _deadline_answer(session: _Session, q: Query) -> Answer:
    return Answer(q, Outcome.TEMPFAIL, reason=session.spent())


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
        return _deadline_answer(session, q)  # not cached: a later run may have time
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
        return _deadline_answer(session, q)
    try:
        answer = await asyncio.wait_for(resolver.aresolve(q, timeout=timeout), timeout + 0.5)
    except TimeoutError:
        answer = Answer(q, Outcome.TEMPFAIL, reason="timeout")
    except Exception as exc:
        answer = _crash_answer(q, exc)
    return session.store(key, q, answer)


def _bounded(session: _Session, request: Fetch) -> Fetch | Response:
    """The request with its timeout lowered to the time left, or the reply when no
    time is left."""
    left = session.left()
    if left <= 0:
        return Response(request.url, error=session.spent())
    if request.timeout > left:
        return dataclasses.replace(request, timeout=left)
    return request


def _fetch_sync(session: _Session, fetcher: Fetcher | None, request: Fetch) -> Response:
    bounded = _bounded(session, request)
    if isinstance(bounded, Response):
        return bounded
    if fetcher is None:
        fetcher = cast(Fetcher, _default_fetcher())
    try:
        response = fetcher.fetch(bounded)
    except Exception as exc:
        response = Response(request.url, error=f"fetch error: {type(exc).__name__}: {exc}")
    return _blame_budget(session, request, bounded, response)


def _blame_budget(session: _Session, request: Fetch, bounded: Fetch,
                  response: Response) -> Response:
    """A fetch the budget, not its own timeout, cut short says so."""
    if response.error and bounded is not request and session.left() <= 0:
        return dataclasses.replace(response, error=f"{session.spent()} ({response.error})")
    return response


async def _fetch_async(session: _Session, fetcher: AsyncFetcher | None,
                       request: Fetch) -> Response:
    bounded = _bounded(session, request)
    if isinstance(bounded, Response):
        return bounded
    if fetcher is None:
        fetcher = cast(AsyncFetcher, _default_fetcher())
    try:
        # The fetcher should keep to the timeout; the driver does not wait beyond it.
        response = await asyncio.wait_for(fetcher.afetch(bounded), bounded.timeout)
        return _blame_budget(session, request, bounded, response)
    except TimeoutError:
        if bounded.timeout < request.timeout:
            return Response(request.url, error=f"{session.spent()} (the fetch was given up)")
        return Response(request.url, error=f"timeout after {request.timeout:g} s")
    except Exception as exc:
        return Response(request.url, error=f"fetch error: {type(exc).__name__}: {exc}")


def _bad_effect(effect: object) -> TypeError:
    return TypeError(f"a flow yielded {effect!r}; expected Query, Fetch, Work or a tuple "
                     "of them")


class Check(Generic[T_co]):
    """A check ready to run: ``.run()``, ``await .arun()`` or ``await check``.

    ``factory`` makes a fresh flow for each run, so a Check can be run many times,
    unless it reads a source that can be read only once (a pipe, a socket): then
    ``reusable`` is False from construction, and a second run raises
    :class:`~mailauth.errors.UsageError`. ``budget`` is the wall-clock limit in
    seconds for all its DNS and HTTPS work.
    """

    __slots__ = ("_factory", "_runs", "budget", "query_timeout", "reusable")

    def __init__(self, factory: Callable[[], Flow[T_co]], *, budget: float = DEFAULT_BUDGET,
                 query_timeout: float = DEFAULT_QUERY_TIMEOUT, reusable: bool = True) -> None:
        if not budget > 0:
            raise ValueError(f"budget must be a positive number of seconds, not {budget!r}")
        self._factory = factory
        self._runs = 0
        self.budget = budget
        self.query_timeout = query_timeout
        self.reusable = reusable

    def flow(self) -> Flow[T_co]:
        """A fresh flow, for driving by hand (sans-I/O)."""
        self._count_run()
        return self._factory()

    def _count_run(self) -> None:
        if self._runs and not self.reusable:
            from .errors import UsageError
            raise UsageError("this check reads a message that can be read only once (an "
                             "unseekable stream) and has already run; make a new check, or "
                             "pass bytes or a seekable file")
        self._runs += 1

    def _start(self, budget: float | None) -> tuple[_Session, Flow[T_co]]:
        flow = self.flow()
        return (_Session(self.budget if budget is None else budget, self.query_timeout), flow)

    def run(self, resolver: Resolver | None = None, fetcher: Fetcher | None = None, *,
            budget: float | None = None) -> T_co:
        """Run blocking; the system resolver when none is given. Never touches asyncio."""
        resolver = resolver or _default_resolver()
        session, gen = self._start(budget)
        reply: Reply = None
        try:
            while True:
                effect = gen.send(reply)
                if isinstance(effect, Query):
                    reply = _resolve_sync(session, resolver, effect)
                elif isinstance(effect, tuple):
                    reply = tuple(_one_sync(session, resolver, fetcher, e) for e in effect)
                else:
                    reply = _one_sync(session, resolver, fetcher, effect)
        except StopIteration as stop:
            return cast(T_co, stop.value)
        except _BadEffect as bad:
            gen.close()
            raise _bad_effect(bad.effect) from None

    async def arun(self, resolver: AsyncResolver | None = None,
                   fetcher: AsyncFetcher | None = None, *, budget: float | None = None) -> T_co:
        """Run on asyncio: the items of a tuple run concurrently, Work in a thread."""
        resolver = resolver or _default_resolver()
        session, gen = self._start(budget)
        reply: Reply = None
        try:
            while True:
                effect = gen.send(reply)
                if isinstance(effect, Query):
                    reply = await _resolve_async(session, resolver, effect)
                elif isinstance(effect, tuple):
                    reply = await _gather(session, resolver, fetcher, effect)
                else:
                    reply = await _one_async(session, resolver, fetcher, effect)
        except StopIteration as stop:
            return cast(T_co, stop.value)
        except _BadEffect as bad:
            gen.close()
            raise _bad_effect(bad.effect) from None

    def __await__(self) -> Generator[Any, None, T_co]:
        return self.arun().__await__()

    def __repr__(self) -> str:
        name = getattr(self._factory, "__qualname__", repr(self._factory))
        once = "" if self.reusable else " one-shot"
        return f"<Check {name} budget={self.budget}s{once}>"


class _BadEffect(Exception):
    def __init__(self, effect: object) -> None:
        super().__init__(effect)
        self.effect = effect


def _one_sync(session: _Session, resolver: Resolver, fetcher: Fetcher | None,
              effect: object) -> Reply:
    if isinstance(effect, Query):
        return _resolve_sync(session, resolver, effect)
    if isinstance(effect, Work):
        return effect()
    if isinstance(effect, Fetch):
        return _fetch_sync(session, fetcher, effect)
    raise _BadEffect(effect)


async def _one_async(session: _Session, resolver: AsyncResolver,
                     fetcher: AsyncFetcher | None, effect: object) -> Reply:
    if isinstance(effect, Query):
        return await _resolve_async(session, resolver, effect)
    if isinstance(effect, Work):
        return await asyncio.to_thread(effect)
    if isinstance(effect, Fetch):
        return await _fetch_async(session, fetcher, effect)
    raise _BadEffect(effect)


async def _gather(session: _Session, resolver: AsyncResolver, fetcher: AsyncFetcher | None,
                  effects: tuple[object, ...]) -> tuple[Reply, ...]:
    # One task per distinct question (duplicates share it); fetches and work each
    # their own.
    for effect in effects:
        if not isinstance(effect, Query | Fetch | Work):
            raise _BadEffect(effect)
    tasks: dict[object, Awaitable[Reply]] = {}
    keys: list[object] = []
    for i, effect in enumerate(effects):
        key: object = effect.key() if isinstance(effect, Query) else i
        if key not in tasks:
            tasks[key] = _one_async(session, resolver, fetcher, effect)
        keys.append(key)
    order = list(tasks)
    done = dict(zip(order, await asyncio.gather(*(tasks[k] for k in order)), strict=True))
    replies: list[Reply] = []
    for effect, key in zip(effects, keys, strict=True):
        reply = done[key]
        if isinstance(effect, Query) and reply.query != effect:
            reply = _rebind(reply, effect)
        replies.append(reply)
    return tuple(replies)


def _default_resolver() -> Any:
    from .resolvers import DNSResolver
    return DNSResolver()


def _default_fetcher() -> Any:
    from .fetchers import HTTPSFetcher
    return HTTPSFetcher()
