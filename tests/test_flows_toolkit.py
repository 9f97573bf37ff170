"""The public flow toolkit: gather, work, drive, fetches under the budget, one-shot
checks, typed records (mailauth.flows, mailauth.testing)."""

from __future__ import annotations

import asyncio
import ipaddress
import threading
import time

import pytest

import mailauth
from mailauth.errors import UsageError
from mailauth.flows import (
    MX,
    TLSA,
    Answer,
    Check,
    Fetch,
    Flow,
    Outcome,
    Query,
    Response,
    Work,
    fetch,
    gather,
    query,
    query_all,
    work,
)
from mailauth.testing import FakeFetcher, FakeResolver, drive

DNS = FakeResolver({
    "a.example": {"TXT": ["alpha"], "A": ["192.0.2.1"]},
    "b.example": {"TXT": ["beta"], "MX": ["10 mx.b.example", "20 mx2.b.example"]},
    "c.example": {"AAAA": ["2001:db8::1"], "TLSA": ["3 1 1 " + "ab" * 32]},
})


def txt_of(name: str) -> Flow[str]:
    answer = yield from query(name, "TXT")
    return answer.txt()[0] if answer.ok else answer.outcome.value


def two_steps(first: str, second: str) -> Flow[tuple[str, str]]:
    a = yield from txt_of(first)
    b = yield from txt_of(second)
    return a, b


# --- gather -----------------------------------------------------------------------

def test_gather_merges_pending_queries_into_one_tuple_per_step() -> None:
    flow = gather(two_steps("a.example", "b.example"), txt_of("b.example"), txt_of("x.example"))
    result = drive(flow, [
        (Query("a.example", "TXT"), Query("b.example", "TXT"), Query("x.example", "TXT")),
        Query("b.example", "TXT"),   # one sub-flow left: its effect passes through as is
    ], resolver=DNS)
    assert result == (("alpha", "beta"), "beta", "nxdomain")


def test_gather_results_follow_argument_order_and_tuples_are_split_back() -> None:
    def pair() -> Flow[tuple[str, ...]]:
        answers = yield from query_all((Query("b.example", "TXT"), Query("a.example", "TXT")))
        return tuple(a.txt()[0] for a in answers)

    flow = gather(txt_of("a.example"), pair())
    result = drive(flow, [(Query("a.example", "TXT"), Query("b.example", "TXT"),
                           Query("a.example", "TXT"))], resolver=DNS)
    assert result == ("alpha", ("beta", "alpha"))


def test_gather_of_flows_that_ask_nothing_and_of_nothing() -> None:
    def constant() -> Flow[int]:
        return 7
        yield  # pragma: no cover - makes this a generator

    assert drive(gather(constant(), constant()), []) == (7, 7)
    assert drive(gather(), []) == ()


def test_gather_asks_each_question_once_per_check_in_both_drivers() -> None:
    fake = FakeResolver({"a.example": {"TXT": ["alpha"]}})

    def flow() -> Flow[tuple[str, str, str]]:
        return (yield from gather(txt_of("a.example"), txt_of("A.EXAMPLE."), txt_of("a.example")))

    assert Check(flow).run(fake) == ("alpha",) * 3
    assert fake.asked("a.example", "TXT") == 1
    assert asyncio.run(Check(flow).arun(fake)) == ("alpha",) * 3
    assert fake.asked("a.example", "TXT") == 2


def test_gather_sends_the_merged_tuple_concurrently_under_arun() -> None:
    class Slow:
        def __init__(self) -> None:
            self.active = 0
            self.peak = 0

        async def aresolve(self, q: Query, *, timeout: float) -> Answer:
            self.active += 1
            self.peak = max(self.peak, self.active)
            await asyncio.sleep(0.05)
            self.active -= 1
            return DNS.answer(q)

    slow = Slow()
    check = Check(lambda: gather(txt_of("a.example"), txt_of("b.example"), txt_of("c.example")))
    assert asyncio.run(check.arun(slow)) == ("alpha", "beta", "nodata")
    assert slow.peak == 3


def test_gather_closes_the_others_when_one_raises() -> None:
    closed: list[str] = []

    def waiting(name: str) -> Flow[str]:
        try:
            return (yield from txt_of(name))
        finally:
            closed.append(name)

    def broken() -> Flow[str]:
        yield Query("a.example", "TXT")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        Check(lambda: gather(two_steps("a.example", "b.example"), broken(),
                             waiting("c.example"))).run(DNS)
    assert closed == ["c.example"]


def test_nested_gather() -> None:
    inner = gather(txt_of("a.example"), txt_of("b.example"))
    flow = gather(inner, txt_of("c.example"))
    assert drive(flow, [(Query("a.example", "TXT"), Query("b.example", "TXT"),
                         Query("c.example", "TXT"))], resolver=DNS) == \
        (("alpha", "beta"), "nodata")


# --- work ------------------------------------------------------------------------------

def test_work_runs_in_place_under_run_and_in_a_thread_under_arun() -> None:
    def where() -> Flow[int]:
        return (yield from work(threading.get_ident))

    here = threading.get_ident()
    assert Check(where).run(DNS) == here
    assert asyncio.run(Check(where).arun(DNS)) != threading.get_ident()


def test_work_exceptions_are_raised_in_the_flow() -> None:
    def fails() -> int:
        raise OSError("disk gone")

    def flow() -> Flow[str]:
        try:
            yield from work(fails)
        except OSError as exc:
            return f"caught {exc}"
        return "no"

    assert Check(flow).run(DNS) == "caught disk gone"
    assert asyncio.run(Check(flow).arun(DNS)) == "caught disk gone"


def test_work_and_queries_in_one_tuple_overlap_under_arun() -> None:
    started = threading.Event()

    def hashing() -> str:
        # Waits for the query to be in flight: only possible if both run at once.
        assert started.wait(2), "the query did not start while the work ran"
        return "digest"

    class Signalling:
        async def aresolve(self, q: Query, *, timeout: float) -> Answer:
            started.set()
            await asyncio.sleep(0.01)
            return DNS.answer(q)

    def flow() -> Flow[tuple[str, str]]:
        return (yield from gather(txt_of("a.example"), work(hashing)))

    assert asyncio.run(Check(flow).arun(Signalling())) == ("alpha", "digest")
    started.clear()
    started.set()  # run() does them in order; the event is already set
    assert Check(flow).run(DNS) == ("alpha", "digest")


# --- drive -----------------------------------------------------------------------------

def test_drive_with_replies_in_the_script() -> None:
    q = Query("a.example", "TXT")
    answer = Answer(q, Outcome.OK, ("scripted",))
    assert drive(txt_of("a.example"), [(q, answer)]) == "scripted"


def test_drive_reports_the_wrong_question() -> None:
    with pytest.raises(AssertionError, match=r"step 1: expected .*b\.example.*asked.*a\.example"):
        drive(txt_of("a.example"), [Query("b.example", "TXT")], resolver=DNS)


def test_drive_reports_a_grouping_that_differs() -> None:
    flow = gather(txt_of("a.example"), txt_of("b.example"))
    with pytest.raises(AssertionError, match="step 1"):
        drive(flow, [Query("a.example", "TXT"), Query("b.example", "TXT")], resolver=DNS)


def test_drive_reports_a_short_or_long_script() -> None:
    with pytest.raises(AssertionError, match="beyond the end of the script"):
        drive(two_steps("a.example", "b.example"), [Query("a.example", "TXT")], resolver=DNS)
    with pytest.raises(AssertionError, match="ended after 1 scripted steps"):
        drive(txt_of("a.example"), [Query("a.example", "TXT"), Query("b.example", "TXT")],
              resolver=DNS)


def test_drive_runs_work_itself() -> None:
    def flow() -> Flow[tuple[str, int, str]]:
        return (yield from gather(txt_of("a.example"), work(len, b"abc"), txt_of("b.example")))

    result = drive(flow(), [(Query("a.example", "TXT"), Query("b.example", "TXT"))],
                   resolver=DNS)
    assert result == ("alpha", 3, "beta")

    def only_work() -> Flow[int]:
        return (yield from work(sum, [1, 2]))

    assert drive(only_work(), []) == 3


def test_drive_rejects_a_bare_effect_without_a_resolver() -> None:
    with pytest.raises(TypeError, match="expected_effect, reply"):
        drive(txt_of("a.example"), [Query("a.example", "TXT")])


def test_drive_with_a_fetcher() -> None:
    def flow() -> Flow[bytes]:
        response = yield from fetch(Fetch("https://policy.example/x"))
        return response.body

    fetcher = FakeFetcher({"https://policy.example/x": b"hello"})
    assert drive(flow(), [Fetch("https://policy.example/x")], fetcher=fetcher) == b"hello"


# --- fetches and the budget ----------------------------------------------------------------

class RecordingFetcher:
    def __init__(self, delay: float = 0.0) -> None:
        self.seen: list[Fetch] = []
        self.delay = delay

    def fetch(self, request: Fetch) -> Response:
        self.seen.append(request)
        time.sleep(self.delay)
        return Response(request.url, 200, (), b"ok")

    async def afetch(self, request: Fetch) -> Response:
        self.seen.append(request)
        await asyncio.sleep(self.delay)
        return Response(request.url, 200, (), b"ok")


def fetch_flow() -> Flow[Response]:
    return (yield from fetch(Fetch("https://policy.example/", timeout=60.0)))


def test_a_fetch_gets_at_most_the_time_left() -> None:
    fetcher = RecordingFetcher()
    Check(fetch_flow, budget=2.0).run(DNS, fetcher)
    asyncio.run(Check(fetch_flow, budget=2.0).arun(DNS, fetcher))
    assert [0 < f.timeout <= 2.0 for f in fetcher.seen] == [True, True]
    Check(fetch_flow, budget=100.0).run(DNS, fetcher)
    assert fetcher.seen[-1].timeout == 60.0  # its own timeout when that is shorter


def test_no_fetch_once_the_budget_is_spent() -> None:
    def late() -> Flow[Response]:
        yield from work(time.sleep, 0.15)
        return (yield from fetch_flow())

    fetcher = RecordingFetcher()
    response = Check(late, budget=0.1).run(DNS, fetcher)
    assert fetcher.seen == []
    assert response.error is not None and "time budget of 0.1 s" in response.error


def test_the_async_driver_gives_up_a_fetch_when_the_budget_runs_out() -> None:
    fetcher = RecordingFetcher(delay=1.5)
    t0 = time.monotonic()
    response = asyncio.run(Check(fetch_flow, budget=0.5).arun(DNS, fetcher))
    elapsed = time.monotonic() - t0
    assert response.error is not None
    assert "time budget of 0.5 s" in response.error and "given up" in response.error
    assert elapsed < 1.2, elapsed  # well before the fetcher's 1.5 s


def test_queries_past_the_budget_name_it() -> None:
    def late() -> Flow[Answer]:
        yield from work(time.sleep, 0.15)
        return (yield from query("a.example", "TXT"))

    answer = Check(late, budget=0.1).run(DNS)
    assert answer.outcome is Outcome.TEMPFAIL
    assert answer.reason == "the time budget of 0.1 s for this check is exhausted"


# --- checks ----------------------------------------------------------------------------

def test_a_one_shot_check_says_so_and_refuses_a_second_run() -> None:
    check = Check(lambda: txt_of("a.example"), reusable=False)
    assert not check.reusable and "one-shot" in repr(check)
    assert check.run(DNS) == "alpha"
    with pytest.raises(UsageError, match="can be read only once"):
        check.run(DNS)
    with pytest.raises(mailauth.MailAuthError):
        asyncio.run(check.arun(DNS))
    again = Check(lambda: txt_of("a.example"))
    assert again.reusable and again.run(DNS) == again.run(DNS) == "alpha"


def test_a_bad_budget_is_refused() -> None:
    with pytest.raises(ValueError, match="budget"):
        Check(lambda: txt_of("a.example"), budget=0)


def test_an_effect_that_is_not_one_is_a_type_error_in_both_drivers() -> None:
    def bad() -> Flow[None]:
        yield "TXT example.org"  # type: ignore[misc]

    def bad_in_tuple() -> Flow[None]:
        yield (Query("a.example", "TXT"), 42)  # type: ignore[misc]

    for flow in (bad, bad_in_tuple):
        with pytest.raises(TypeError, match="expected Query, Fetch, Work"):
            Check(flow).run(DNS)
        with pytest.raises(TypeError, match="expected Query, Fetch, Work"):
            asyncio.run(Check(flow).arun(DNS))


# --- typed records -------------------------------------------------------------------------

def test_query_types_are_checked() -> None:
    assert Query("a.example", "txt").key() == ("a.example", "TXT")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unsupported record type 'SPF'"):
        Query("a.example", "SPF")  # type: ignore[arg-type]


def test_answer_accessors_give_typed_records() -> None:
    def flow() -> Flow[tuple[Answer, ...]]:
        return (yield from query_all((Query("a.example", "TXT"), Query("a.example", "A"),
                                      Query("b.example", "MX"), Query("c.example", "AAAA"),
                                      Query("c.example", "TLSA"))))

    txt, a, mx, aaaa, tlsa = Check(flow).run(DNS)
    assert txt.txt() == ("alpha",) and txt.mx() == ()
    assert a.addresses() == (ipaddress.IPv4Address("192.0.2.1"),)
    assert mx.mx() == (MX(10, "mx.b.example"), MX(20, "mx2.b.example"))
    assert aaaa.addresses() == (ipaddress.IPv6Address("2001:db8::1"),)
    assert tlsa.tlsa() == (TLSA(3, 1, 1, bytes.fromhex("ab" * 32)),)
    assert tlsa.txt() == () and Work(len, (b"",))() == 0
