"""Which questions SPF asks together, pinned step by step with ``drive()``; and the
time budget both identities of ``check_spf`` share (RFC 7208 §2.3, §2.4, §4.6.4)."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

from mailauth import Answer, Outcome, Query, Status
from mailauth.spf import check_host_flow, check_spf, check_spf_flow
from mailauth.testing import FakeResolver, drive

IP = "192.0.2.1"
IP6 = "2001:db8::1"


def Q(name: str, rdtype: Any = "TXT") -> Query:
    return Query(name, rdtype)


# --- mx: the MX lookup, then the address lookups of all its hosts in one step --------

MX_ZONE = {
    "example.org": {"TXT": ["v=spf1 mx -all"],
                    "MX": ["10 mx1.example.org", "20 mx2.example.org", "30 mx3.example.org"]},
    "mx1.example.org": {"A": ["198.51.100.1"], "AAAA": ["2001:db8::a"]},
    "mx2.example.org": {"A": ["198.51.100.2"]},
    "mx3.example.org": {"A": [IP], "AAAA": [IP6]},
}


def test_mx_asks_the_addresses_of_all_its_hosts_together() -> None:
    flow = check_host_flow(IP, "example.org", "u@example.org", now=0)
    result = drive(flow, [
        Q("example.org"),
        Q("example.org", "MX"),
        (Q("mx1.example.org", "A"), Q("mx2.example.org", "A"), Q("mx3.example.org", "A")),
    ], resolver=FakeResolver(MX_ZONE))
    assert result.status is Status.PASS and result.matched == "mx"


def test_mx_asks_aaaa_for_an_ipv6_client() -> None:
    flow = check_host_flow(IP6, "example.org", "u@example.org", now=0)
    result = drive(flow, [
        Q("example.org"),
        Q("example.org", "MX"),
        (Q("mx1.example.org", "AAAA"), Q("mx2.example.org", "AAAA"),
         Q("mx3.example.org", "AAAA")),
    ], resolver=FakeResolver(MX_ZONE))
    assert result.status is Status.PASS


def test_mx_with_one_host_still_asks_a_tuple() -> None:
    zone = {"example.org": {"TXT": ["v=spf1 mx -all"], "MX": ["10 mx.example.org"]},
            "mx.example.org": {"A": ["198.51.100.1"]}}
    ans = FakeResolver(zone).answer
    flow = check_host_flow(IP, "example.org", "u@example.org", now=0)
    result = drive(flow, [
        (Q("example.org"), ans(Q("example.org"))),
        (Q("example.org", "MX"), ans(Q("example.org", "MX"))),
        ((Q("mx.example.org", "A"),), (ans(Q("mx.example.org", "A")),)),
    ])
    assert result.status is Status.FAIL


# --- check_spf: both identities' record lookups in the first step --------------------

SPF_ZONE = {
    "example.org": {"TXT": ["v=spf1 include:_spf.example.org -all"]},
    "_spf.example.org": {"TXT": ["v=spf1 ip4:192.0.2.0/24 -all"]},
    "mx.example.net": {"TXT": ["v=spf1 a -all"], "A": [IP]},
}


def test_check_spf_asks_both_records_in_the_first_step() -> None:
    # MAIL FROM's question first (the synchronous driver asks in order), then the
    # rest of MAIL FROM's evaluation alone, then the rest of HELO's.
    result = drive(check_spf(IP, "u@example.org", "mx.example.net").flow(), [
        (Q("example.org"), Q("mx.example.net")),
        Q("_spf.example.org"),
        Q("mx.example.net", "A"),
    ], resolver=FakeResolver(SPF_ZONE))
    assert result.status is Status.PASS and result.identity == "mailfrom"
    assert result.helo is not None and result.helo.status is Status.PASS
    assert result.helo.identity == "helo" and result.helo.matched == "a"
    # The HELO trace shows the record answer it was given.
    assert result.helo.trace[0].answers[0].query == Q("mx.example.net")


def test_check_spf_flow_by_hand_gives_the_replies_to_the_right_identity() -> None:
    ans = FakeResolver(SPF_ZONE).answer
    nx = Answer(Q("example.org"), Outcome.NXDOMAIN)
    flow = check_spf_flow(IP, "u@example.org", "mx.example.net", now=0)
    result = drive(flow, [
        ((Q("example.org"), Q("mx.example.net")), (nx, ans(Q("mx.example.net")))),
        (Q("mx.example.net", "A"), ans(Q("mx.example.net", "A"))),
    ])
    assert result.status is Status.NONE
    assert result.helo is not None and result.helo.status is Status.PASS


def test_check_spf_without_helo_check_asks_mail_from_only() -> None:
    result = drive(check_spf(IP, "u@example.org", "mx.example.net", check_helo=False).flow(),
                   [Q("example.org"), Q("_spf.example.org")], resolver=FakeResolver(SPF_ZONE))
    assert result.status is Status.PASS and result.helo is None


def test_check_spf_asks_nothing_for_a_helo_that_is_no_domain_name() -> None:
    result = drive(check_spf(IP, "u@example.org", "[192.0.2.1]").flow(),
                   [Q("example.org"), Q("_spf.example.org")], resolver=FakeResolver(SPF_ZONE))
    assert result.status is Status.PASS
    assert result.helo is not None and result.helo.status is Status.NONE


def test_null_sender_does_not_ask_one_question_twice_in_a_step() -> None:
    # RFC 7208 §2.4: the MAIL FROM identity is postmaster@<helo>, the HELO domain: its
    # record is asked once for MAIL FROM; HELO's evaluation asks again (a driver's
    # answer cache replies).
    result = drive(check_spf(IP, "", "mx.example.net").flow(), [
        Q("mx.example.net"), Q("mx.example.net", "A"),
        Q("mx.example.net"), Q("mx.example.net", "A"),
    ], resolver=FakeResolver(SPF_ZONE))
    assert result.status is Status.PASS and result.sender == "postmaster@mx.example.net"


# --- the budget: a slow HELO domain cannot spend MAIL FROM's time -------------------

def _chain(base: str, length: int) -> dict[str, dict[str, list[str]]]:
    """``base`` includes i1.base, which includes i2.base, ... the last passes IP."""
    zone: dict[str, dict[str, list[str]]] = {}
    names = [base, *(f"i{i}.{base}" for i in range(1, length + 1))]
    for name, nxt in itertools.pairwise(names):
        zone[name] = {"TXT": [f"v=spf1 include:{nxt} -all"]}
    zone[names[-1]] = {"TXT": [f"v=spf1 ip4:{IP} -all"]}
    return zone


SLOW = 0.1     # seconds per question under slow.example.net
BUDGET = 0.45  # the HELO chain alone needs 0.6 s; MAIL FROM's 6 steps in lockstep
               # with HELO's would need 0.6 s too
ZONE = {**_chain("example.org", 5), **_chain("slow.example.net", 5)}


class SlowHelo(FakeResolver):
    """Answers at once, except names under slow.example.net: SLOW seconds each."""

    def resolve(self, query: Query, *, timeout: float = 5.0) -> Answer:
        if query.name.endswith("slow.example.net"):
            time.sleep(min(SLOW, timeout))
        return super().resolve(query, timeout=timeout)

    async def aresolve(self, query: Query, *, timeout: float = 5.0) -> Answer:
        if query.name.endswith("slow.example.net"):
            await asyncio.sleep(min(SLOW, timeout))
        return await super().aresolve(query, timeout=timeout)


def _check_budget_shared(result: Any, resolver: SlowHelo) -> None:
    assert result.status is Status.PASS, result.trace_text()
    assert result.lookups == 5
    helo = result.helo
    assert helo is not None and helo.status is Status.TEMPERROR
    assert "budget" in helo.problem
    # Every MAIL FROM question was asked; of HELO's chain, only what the time allowed.
    assert resolver.asked("i5.example.org", "TXT") == 1
    assert resolver.asked("i5.slow.example.net", "TXT") == 0


def test_slow_helo_leaves_mail_from_its_budget() -> None:
    resolver = SlowHelo(ZONE)
    start = time.monotonic()
    result = check_spf(IP, "u@example.org", "slow.example.net", budget=BUDGET).run(resolver)
    _check_budget_shared(result, resolver)
    assert time.monotonic() - start < BUDGET + 2 * SLOW


def test_slow_helo_leaves_mail_from_its_budget_on_asyncio() -> None:
    resolver = SlowHelo(ZONE)
    result = asyncio.run(check_spf(IP, "u@example.org", "slow.example.net",
                                   budget=BUDGET).arun(resolver))
    _check_budget_shared(result, resolver)
