"""The flow toolkit: write checks and resolvers of your own (docs/architecture.md).

A check is a generator, a *flow*, that yields effects and is resumed with their
replies; it never does I/O itself::

    from mailauth.flows import Check, Flow, Query, gather, query

    def has_mx(domain: str) -> Flow[bool]:
        answer = yield from query(domain, "MX")
        return answer.ok and bool(answer.mx())

    def both(a: str, b: str) -> Flow[tuple[bool, bool]]:
        return (yield from gather(has_mx(a), has_mx(b)))   # asked together

    Check(lambda: both("example.org", "example.net")).run()

Effects and their replies:

- :class:`Query` → :class:`Answer` (``query()``; ``query_all()`` for several);
- :class:`Fetch` → :class:`Response` (``fetch()``), within the check's time budget;
- :class:`Work` → what its function returns (``work()``): blocking work that is not
  network I/O, run in a worker thread under asyncio;
- a tuple of those → a tuple of replies, in order (``gather()`` builds them from
  whole sub-flows).

A resolver is any object with ``resolve(query, *, timeout) -> Answer``
(:class:`Resolver`) or ``async aresolve(...)`` (:class:`AsyncResolver`), which must
not raise; fetchers likewise (:class:`Fetcher`, :class:`AsyncFetcher`).
:mod:`mailauth.testing` has in-memory ones and ``drive()`` for stepping a flow by
hand.
"""

from __future__ import annotations

from ._flow import (
    MX,
    TLSA,
    Answer,
    AsyncFetcher,
    AsyncResolver,
    Check,
    Effect,
    Fetch,
    Fetcher,
    Flow,
    Outcome,
    Query,
    Record,
    Reply,
    Resolver,
    Response,
    RRType,
    Work,
    fetch,
    gather,
    query,
    query_all,
    work,
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
    "query",
    "query_all",
    "work",
]
