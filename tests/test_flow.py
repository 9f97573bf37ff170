"""Flows and drivers: the same result by hand, through .run() and through .arun()."""

from __future__ import annotations

import asyncio
import ipaddress
import time
from typing import Any

import pytest

from mailauth.flows import (
    MX,
    Answer,
    Check,
    Fetch,
    Flow,
    Outcome,
    Query,
    Response,
    fetch,
    query,
    query_all,
)
from mailauth.testing import FakeFetcher, FakeResolver

ZONE: dict[str, dict[str, list[Any]]] = {
    "example.org": {"TXT": ["v=spf1 include:_spf.example.org -all", ["part one ", "part two"]],
                    "MX": ["10 mx1.example.org", "20 mx2.example.org."]},
    "_spf.example.org": {"TXT": ["v=spf1 ip4:192.0.2.0/24 -all"]},
    "mx1.example.org": {"A": ["192.0.2.25"]},
    "mx2.example.org": {"AAAA": ["2001:db8::25"]},
    "alias.example.org": {"CNAME": ["_spf.example.org."]},
}


def composite() -> Flow[dict[str, object]]:
    """A flow that composes sub-flows with yield from and asks a tuple of queries."""
    txt = yield from query("example.org", "TXT")
    mx = yield from query("example.org", "MX")
    hosts = tuple(Query(r.exchange, t) for r in mx.mx() for t in ("A", "AAAA"))
    addrs = yield from query_all(hosts)
    again = yield from query("EXAMPLE.org.", "TXT")  # cached: same question, other spelling
    missing = yield from query("nope.example.org", "TXT")
    alias = yield from query("alias.example.org", "TXT")
    return {
        "txt": txt.records,
        "mx": mx.records,
        "addresses": tuple(str(a) for ans in addrs for a in ans.records),
        "outcomes": tuple(a.outcome for a in addrs),
        "again": again.records,
        "missing": missing.outcome,
        "alias": (alias.records, alias.canonical_name),
    }


EXPECTED = {
    "txt": ("v=spf1 include:_spf.example.org -all", "part one part two"),
    "mx": (MX(10, "mx1.example.org"), MX(20, "mx2.example.org")),
    "addresses": ("192.0.2.25", "2001:db8::25"),
    "outcomes": (Outcome.OK, Outcome.NODATA, Outcome.NODATA, Outcome.OK),
    "again": ("v=spf1 include:_spf.example.org -all", "part one part two"),
    "missing": Outcome.NXDOMAIN,
    "alias": (("v=spf1 ip4:192.0.2.0/24 -all",), "_spf.example.org"),
}


def drive_by_hand(flow: Flow[dict[str, object]], resolver: FakeResolver) -> dict[str, object]:
    reply: Answer | tuple[Answer, ...] | None = None
    try:
        while True:
            effect = flow.send(reply)
            if isinstance(effect, tuple):
                reply = tuple(resolver.resolve(q) for q in effect if isinstance(q, Query))
            else:
                assert isinstance(effect, Query)
                reply = resolver.resolve(effect)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


def test_same_result_by_hand_run_and_arun() -> None:
    check = Check(composite)
    by_hand = drive_by_hand(check.flow(), FakeResolver(ZONE))
    sync = check.run(FakeResolver(ZONE))
    async_ = asyncio.run(check.arun(FakeResolver(ZONE)))
    awaited = asyncio.run(_await(check, FakeResolver(ZONE)))
    assert by_hand == sync == async_ == awaited == EXPECTED


async def _await(check: Check[dict[str, object]], resolver: FakeResolver) -> dict[str, object]:
    # `await check` uses the default resolver; arun with one is the explicit form
    return await check.arun(resolver)


def test_await_check_directly_uses_arun() -> None:
    async def main() -> object:
        def flow() -> Flow[int]:
            yield from ()
            return 7
        return await Check(flow)
    assert asyncio.run(main()) == 7


def test_driver_caches_answers_within_one_run() -> None:
    resolver = FakeResolver(ZONE)
    Check(composite).run(resolver)
    # example.org TXT asked once although the flow asked twice (second time in upper case)
    assert resolver.asked("example.org", "TXT") == 1
    assert len(resolver.queries) == 8  # 9 questions asked, one answered from the cache


def test_cache_is_per_run() -> None:
    resolver = FakeResolver(ZONE)
    check = Check(composite)
    check.run(resolver)
    check.run(resolver)
    assert resolver.asked("example.org", "TXT") == 2


def test_run_works_inside_a_running_event_loop() -> None:
    """The Jupyter case: a cell runs inside an event loop and calls .run()."""
    async def cell() -> dict[str, object]:
        return Check(composite).run(FakeResolver(ZONE))
    assert asyncio.run(cell()) == EXPECTED


class SlowResolver:
    """Takes `delay` seconds per answer; records how many queries were in flight."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.inner = FakeResolver(ZONE)
        self.in_flight = 0
        self.max_in_flight = 0
        self.count = 0

    def resolve(self, q: Query, *, timeout: float) -> Answer:
        self.count += 1
        time.sleep(min(self.delay, timeout))
        return self.inner.answer(q)

    async def aresolve(self, q: Query, *, timeout: float) -> Answer:
        self.count += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        return self.inner.answer(q)


def test_async_driver_resolves_a_tuple_concurrently() -> None:
    def flow() -> Flow[tuple[Answer, ...]]:
        hosts = [Query(f"h{i}.example.org", "A") for i in range(5)]
        return (yield from query_all((*hosts, Query("h0.example.org", "A"))))
    slow = SlowResolver(0.05)
    answers = asyncio.run(Check(flow).arun(slow))
    assert len(answers) == 6
    assert slow.max_in_flight == 5  # five distinct questions at once, the duplicate shared
    assert slow.count == 5
    assert answers[0] == answers[5]


def five_lookups() -> Flow[list[Answer]]:
    out = []
    for i in range(5):
        out.append((yield from query(f"h{i}.example.org", "A")))
    return out


def test_budget_exhausted_answers_tempfail_without_asking() -> None:
    slow = SlowResolver(0.1)
    answers = Check(five_lookups, budget=0.25).run(slow)
    assert slow.count < 5
    assert answers[-1].outcome is Outcome.TEMPFAIL
    assert "budget" in answers[-1].reason


def test_budget_async() -> None:
    slow = SlowResolver(0.1)
    answers = asyncio.run(Check(five_lookups).arun(slow, budget=0.25))
    assert answers[-1].outcome is Outcome.TEMPFAIL
    assert slow.count < 5


class RaisingResolver:
    def resolve(self, q: Query, *, timeout: float) -> Answer:
        raise RuntimeError("boom")

    async def aresolve(self, q: Query, *, timeout: float) -> Answer:
        raise RuntimeError("boom")


def test_a_raising_resolver_becomes_tempfail() -> None:
    def flow() -> Flow[Answer]:
        return (yield from query("example.org", "TXT"))
    for answer in (Check(flow).run(RaisingResolver()),
                   asyncio.run(Check(flow).arun(RaisingResolver()))):
        assert answer.outcome is Outcome.TEMPFAIL
        assert "boom" in answer.reason


def test_fetch_effects_with_fake_fetcher() -> None:
    url = "https://mta-sts.example.org/.well-known/mta-sts.txt"

    def flow() -> Flow[tuple[Response, Response]]:
        ok = yield from fetch(Fetch(url))
        missing = yield from fetch(Fetch("https://other.example/"))
        return ok, missing

    fetcher = FakeFetcher({url: b"version: STSv1\r\nmode: testing\r\n"})
    for ok, missing in (Check(flow).run(FakeResolver(), fetcher),
                        asyncio.run(Check(flow).arun(FakeResolver(), fetcher))):
        assert ok.status == 200 and ok.body.startswith(b"version: STSv1")
        assert ok.header("content-type") == "text/plain"
        assert missing.error and missing.status is None


def test_fetch_size_cap() -> None:
    url = "https://x.example/"

    def flow() -> Flow[Response]:
        return (yield from fetch(Fetch(url, max_bytes=10)))
    resp = Check(flow).run(FakeResolver(), FakeFetcher({url: b"x" * 11}))
    assert resp.error is not None and "larger" in resp.error


def test_bad_effect_is_a_type_error() -> None:
    def flow() -> Flow[None]:
        yield "not an effect"  # type: ignore[misc]
    with pytest.raises(TypeError, match="expected Query"):
        Check(flow).run(FakeResolver())


def test_check_runs_many_times_and_repr() -> None:
    check = Check(composite)
    assert check.run(FakeResolver(ZONE)) == check.run(FakeResolver(ZONE))
    assert "composite" in repr(check)


def test_answer_describe() -> None:
    q = Query("example.org", "A")
    ok = Answer(q, Outcome.OK, (ipaddress.IPv4Address("192.0.2.1"),))
    assert ok.describe() == "example.org A: 192.0.2.1"
    assert ok.ok and not ok.void
    fail = Answer(q, Outcome.TEMPFAIL, reason="timeout")
    assert fail.describe() == "example.org A: TEMPFAIL (timeout)"
    assert Answer(q, Outcome.NODATA).void


def test_cached_answers_carry_the_question_as_asked() -> None:
    def flow() -> Flow[tuple[Answer, Answer, Answer]]:
        first = yield from query("example.org", "MX")
        other_type = yield from query("example.org", "mx")  # type: ignore[arg-type]
        other_name = yield from query("EXAMPLE.ORG.", "MX")
        return first, other_type, other_name
    resolver = FakeResolver(ZONE)
    for answers in (Check(flow).run(resolver), asyncio.run(Check(flow).arun(resolver))):
        assert [a.query for a in answers] == [Query("example.org", "MX"),
                                              Query("example.org", "mx"),  # type: ignore[arg-type]
                                              Query("EXAMPLE.ORG.", "MX")]
        assert answers[0].records == answers[1].records == answers[2].records
    assert resolver.asked("example.org", "MX") == 2  # once per run
