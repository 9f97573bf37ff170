"""The "iprev" method (RFC 8601 §3; results of §2.7.3): which questions it asks and
how it groups them, its verdicts on DNS answers, its arguments and how its result
shows itself."""

from __future__ import annotations

import asyncio
import html
import ipaddress
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import PrettyPrinter
from mailauth._flow import Answer, Outcome, Query
from mailauth._iprev import IPRevResult, check_iprev, iprev_flow
from mailauth.errors import ArgumentTypeError, UsageError
from mailauth.status import Status
from mailauth.testing import FakeResolver, drive

IP = "192.0.2.7"
REV = "7.2.0.192.in-addr.arpa"
IP6 = "2001:db8::1"
REV6 = ipaddress.IPv6Address(IP6).reverse_pointer

ZONE = f"""
$TTL 300
{REV}.                 IN PTR  mail.example.org.
mail.example.org.      IN A    {IP}
mail.example.org.      IN AAAA 2001:db8::99
{REV6}.                IN PTR  v6.example.org.
v6.example.org.        IN AAAA {IP6}
8.2.0.192.in-addr.arpa. IN PTR liar.example.org.
liar.example.org.      IN A    198.51.100.1
"""


def Q(name: str, rdtype: Any) -> Query:
    return Query(name, rdtype)


def run(records: dict[str, Any] | FakeResolver, ip: str = IP, **kw: Any) -> IPRevResult:
    resolver = records if isinstance(records, FakeResolver) else FakeResolver(records)
    return check_iprev(ip, **kw).run(resolver)


# --- pass -------------------------------------------------------------------------------

def test_pass_when_the_ptr_name_resolves_back() -> None:
    result = run(FakeResolver.from_zone(ZONE))
    assert result.status is Status.PASS
    assert result.names == ("mail.example.org",)
    assert result.verified == "mail.example.org"
    assert result.ip == IP
    assert result.reason == "192.0.2.7 has PTR mail.example.org, which resolves back to it"
    assert result.authres() == "iprev=pass policy.iprev=192.0.2.7 (mail.example.org)"


def test_pass_for_ipv6_asks_ip6_arpa_then_aaaa() -> None:
    resolver = FakeResolver.from_zone(ZONE)
    result = drive(iprev_flow(IP6), [Q(REV6, "PTR"), (Q("v6.example.org", "AAAA"),)],
                   resolver=resolver)
    assert REV6.endswith(".8.b.d.0.1.0.0.2.ip6.arpa")
    assert result.status is Status.PASS and result.verified == "v6.example.org"
    # ":" cannot stand in an RFC 2045 token: the pvalue is quoted (RFC 8601 §2.2).
    assert result.authres() == 'iprev=pass policy.iprev="2001:db8::1" (v6.example.org)'


@pytest.mark.parametrize("mapped", ["::ffff:192.0.2.7",
                                    ipaddress.IPv6Address("::ffff:192.0.2.7")])
def test_ipv4_mapped_ipv6_is_checked_as_ipv4(mapped: Any) -> None:
    result = drive(iprev_flow(mapped), [Q(REV, "PTR"), (Q("mail.example.org", "A"),)],
                   resolver=FakeResolver.from_zone(ZONE))
    assert result.status is Status.PASS
    assert result.ip == IP


def test_an_ipaddress_object_is_accepted() -> None:
    result = check_iprev(ipaddress.IPv4Address(IP)).run(FakeResolver.from_zone(ZONE))
    assert result.status is Status.PASS and result.ip == IP


def test_any_one_of_several_names_that_maps_back_passes() -> None:
    records = {REV: {"PTR": ["a.example.org", "b.example.org", "c.example.org"]},
               "a.example.org": {"A": ["198.51.100.1"]},
               "c.example.org": {"A": ["198.51.100.3", IP]}}
    result = run(records)
    assert result.status is Status.PASS
    assert result.verified == "c.example.org"
    assert result.names == ("a.example.org", "b.example.org", "c.example.org")


def test_a_forward_cname_is_followed() -> None:
    records = {REV: {"PTR": ["alias.example.org"]},
               "alias.example.org": {"CNAME": ["host.example.net"]},
               "host.example.net": {"A": [IP]}}
    assert run(records).status is Status.PASS


def test_a_tempfail_does_not_hide_a_name_that_maps_back() -> None:
    records = {REV: {"PTR": ["slow.example.org", "good.example.org"]},
               "good.example.org": {"A": [IP]}}
    resolver = FakeResolver(records, tempfail=["slow.example.org"])
    result = run(resolver)
    assert result.status is Status.PASS and result.verified == "good.example.org"


def test_names_are_lower_case_without_trailing_dot_and_once() -> None:
    records = {REV: {"PTR": ["Mail.Example.ORG.", "mail.example.org", "MX2.example.org"]},
               "mail.example.org": {"A": [IP]}}
    resolver = FakeResolver(records)
    result = drive(iprev_flow(IP), [
        Q(REV, "PTR"), (Q("mail.example.org", "A"), Q("mx2.example.org", "A"))],
        resolver=resolver)
    assert result.names == ("mail.example.org", "mx2.example.org")
    assert result.verified == "mail.example.org"


# --- the questions and their grouping ----------------------------------------------------

def test_forward_lookups_go_out_as_one_tuple_in_ptr_order() -> None:
    names = ["n1.example.org", "n2.example.org", "n3.example.org"]
    ptr = Answer(Q(REV, "PTR"), Outcome.OK, tuple(names))
    forward = (Q("n1.example.org", "A"), Q("n2.example.org", "A"), Q("n3.example.org", "A"))
    replies = (Answer(forward[0], Outcome.NXDOMAIN),
               Answer(forward[1], Outcome.OK, (ipaddress.IPv4Address(IP),)),
               Answer(forward[2], Outcome.NODATA))
    result = drive(iprev_flow(IP), [(Q(REV, "PTR"), ptr), (forward, replies)])
    assert result.status is Status.PASS and result.verified == "n2.example.org"
    assert result.answers == (ptr, *replies)


def test_a_single_name_is_still_asked_as_a_tuple() -> None:
    # One shape for any number of names: gather() splices it with other checks' queries.
    flow = iprev_flow(IP)
    assert next(flow) == Q(REV, "PTR")
    effect = flow.send(Answer(Q(REV, "PTR"), Outcome.OK, ("mail.example.org",)))
    assert effect == (Q("mail.example.org", "A"),)
    flow.close()


def test_at_most_max_names_are_looked_up_and_the_rest_noted() -> None:
    names = [f"h{i}.example.org" for i in range(12)]
    records: dict[str, Any] = {REV: {"PTR": names}, "h11.example.org": {"A": [IP]}}
    resolver = FakeResolver(records)
    result = drive(iprev_flow(IP), [Q(REV, "PTR"),
                                    tuple(Q(n, "A") for n in names[:10])], resolver=resolver)
    # The matching name is the 12th: beyond the limit, it is not asked.
    assert result.status is Status.FAIL
    assert "2 more PTR names ignored (max_names=10)" in result.reason
    assert resolver.asked("h11.example.org") == 0
    assert len(result.names) == 12


def test_max_names_is_a_parameter() -> None:
    records = {REV: {"PTR": ["a.example.org", "b.example.org"]}, "b.example.org": {"A": [IP]}}
    assert run(records, max_names=1).status is Status.FAIL
    assert "1 more PTR name ignored (max_names=1)" in run(records, max_names=1).reason
    assert run(records, max_names=2).status is Status.PASS


def test_ptr_names_that_are_not_domain_names_are_skipped_and_noted() -> None:
    ptr = Answer(Q(REV, "PTR"), Outcome.OK,
                 ("bad\\032name.example", "192.0.2.9", "ok.example.org", "a..b",
                  "x" * 64 + ".org"))
    forward = (Q("ok.example.org", "A"),)
    reply = (Answer(forward[0], Outcome.OK, (ipaddress.IPv4Address(IP),)),)
    result = drive(iprev_flow(IP), [(Q(REV, "PTR"), ptr), (forward, reply)])
    assert result.status is Status.PASS
    assert "4 PTR names not a domain name, skipped" in result.reason


def test_only_unusable_names_fail_without_forward_lookups() -> None:
    ptr = Answer(Q(REV, "PTR"), Outcome.OK, ("not a name", "10.0.0.1"))
    result = drive(iprev_flow(IP), [(Q(REV, "PTR"), ptr)])
    assert result.status is Status.FAIL
    assert "none of which is a domain name" in result.reason
    # The comment shows a name only when it is one.
    assert result.authres() == ('iprev=fail reason="no PTR name resolves back to the '
                                'address" policy.iprev=192.0.2.7')


# --- fail, permerror, temperror (RFC 8601 §2.7.3) ----------------------------------------

def test_fail_when_the_name_resolves_elsewhere() -> None:
    result = run(FakeResolver.from_zone(ZONE), ip="192.0.2.8")
    assert result.status is Status.FAIL
    assert result.verified is None and result.names == ("liar.example.org",)
    assert "liar.example.org A: 198.51.100.1" in result.reason
    assert result.authres() == ('iprev=fail reason="no PTR name resolves back to the '
                                'address" policy.iprev=192.0.2.8 (liar.example.org)')


@pytest.mark.parametrize("forward", [{}, {"ghost.example.org": {"TXT": ["x"]}},
                                     {"ghost.example.org": {"AAAA": [IP6]}}])
def test_fail_when_the_forward_lookup_is_void(forward: dict[str, Any]) -> None:
    records = {REV: {"PTR": ["ghost.example.org"]}, **forward}
    result = run(records)
    assert result.status is Status.FAIL
    assert ("NXDOMAIN" if not forward else "NODATA") in result.reason


def test_permerror_when_no_ptr_record_exists() -> None:
    result = run({})
    assert result.status is Status.PERMERROR
    assert result.reason == f"{IP} has no PTR record ({REV}: NXDOMAIN)"
    assert result.authres() == 'iprev=permerror reason="no PTR record" policy.iprev=192.0.2.7'


def test_permerror_when_the_reverse_name_has_no_ptr_data() -> None:
    resolver = FakeResolver({REV: {"TXT": ["not a pointer"]}})
    result = drive(iprev_flow(IP), [Q(REV, "PTR")], resolver=resolver)
    assert result.status is Status.PERMERROR
    assert "NODATA" in result.reason


def test_temperror_when_the_ptr_lookup_fails_and_nothing_more_is_asked() -> None:
    resolver = FakeResolver({}, tempfail=[REV])
    result = drive(iprev_flow(IP), [Q(REV, "PTR")], resolver=resolver)
    assert result.status is Status.TEMPERROR
    assert result.reason.startswith(f"the PTR lookup of {REV} failed: timeout")
    assert result.authres() == ('iprev=temperror reason="PTR lookup failed" '
                                'policy.iprev=192.0.2.7')


def test_temperror_when_no_name_matched_and_a_forward_lookup_failed() -> None:
    records = {REV: {"PTR": ["slow.example.org", "other.example.org"]},
               "other.example.org": {"A": ["198.51.100.1"]}}
    resolver = FakeResolver(records, tempfail=[("slow.example.org", "A")])
    result = run(resolver)
    assert result.status is Status.TEMPERROR
    assert "slow.example.org A: TEMPFAIL" in result.reason
    assert 'reason="forward lookup failed"' in result.authres()


def test_the_budget_spent_is_temperror() -> None:
    class Slow(FakeResolver):
        def resolve(self, query: Query, *, timeout: float = 5.0) -> Answer:
            time.sleep(0.05)
            return super().resolve(query, timeout=timeout)

    resolver = Slow.from_zone(ZONE)
    result = check_iprev(IP, budget=0.02).run(resolver)
    assert result.status is Status.TEMPERROR
    assert "budget" in result.reason
    assert resolver.asked("mail.example.org") == 0  # past the deadline, not sent


# --- both drivers agree --------------------------------------------------------------------

@pytest.mark.parametrize(("ip", "resolver", "status"), [
    (IP, FakeResolver.from_zone(ZONE), Status.PASS),
    (IP6, FakeResolver.from_zone(ZONE), Status.PASS),
    ("192.0.2.8", FakeResolver.from_zone(ZONE), Status.FAIL),
    ("192.0.2.9", FakeResolver.from_zone(ZONE), Status.PERMERROR),
    (IP, FakeResolver({}, tempfail=[REV]), Status.TEMPERROR),
    (IP, FakeResolver({REV: {"PTR": ["a.example.org"]}}, tempfail=["a.example.org"]),
     Status.TEMPERROR),
])
def test_run_and_arun_agree(ip: str, resolver: FakeResolver, status: Status) -> None:
    check = check_iprev(ip)
    sync = check.run(resolver)
    async_ = asyncio.run(check.arun(resolver))
    assert sync == async_
    assert sync.status is status


def test_arun_sends_the_forward_lookups_together() -> None:
    class Counting(FakeResolver):
        in_flight = 0
        most = 0

        async def aresolve(self, query: Query, *, timeout: float = 5.0) -> Answer:
            Counting.in_flight += 1
            Counting.most = max(Counting.most, Counting.in_flight)
            await asyncio.sleep(0.01)
            Counting.in_flight -= 1
            return self.resolve(query, timeout=timeout)

    names = [f"h{i}.example.org" for i in range(4)]
    resolver = Counting({REV: {"PTR": names}, "h3.example.org": {"A": [IP]}})
    result = asyncio.run(check_iprev(IP).arun(resolver))
    assert result.status is Status.PASS
    assert Counting.most == 4


# --- arguments -------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["not an ip", "", "192.0.2.256", "fe80::1%eth0", "example.org"])
def test_text_that_is_not_an_address_is_a_usage_error(bad: str) -> None:
    with pytest.raises(UsageError, match="ip"):
        check_iprev(bad)
    with pytest.raises(UsageError):
        iprev_flow(bad)  # at once, not when the flow is first stepped


@pytest.mark.parametrize("bad", [b"192.0.2.7", None, 3221225991, ["192.0.2.7"]])
def test_an_ip_of_the_wrong_type_is_an_argument_type_error(bad: Any) -> None:
    with pytest.raises(ArgumentTypeError, match="ip is a str"):
        check_iprev(bad)
    with pytest.raises(TypeError):
        iprev_flow(bad)


def test_max_names_is_checked() -> None:
    with pytest.raises(UsageError, match="max_names"):
        check_iprev(IP, max_names=0)
    with pytest.raises(ArgumentTypeError, match="max_names"):
        check_iprev(IP, max_names="10")  # type: ignore[arg-type]
    with pytest.raises(ArgumentTypeError):
        check_iprev(IP, max_names=True)


def test_a_check_runs_again_with_fresh_answers() -> None:
    check = check_iprev(IP)
    assert check.run(FakeResolver({})).status is Status.PERMERROR
    assert check.run(FakeResolver.from_zone(ZONE)).status is Status.PASS


# --- how the result shows itself -----------------------------------------------------------

def test_str_and_repr_are_the_verdict_line() -> None:
    result = run(FakeResolver.from_zone(ZONE))
    assert str(result) == f"iprev=pass: {result.reason}"
    assert repr(result).startswith("<IPRevResult iprev=pass: 192.0.2.7 has PTR")


def test_the_card_shows_facts_trace_and_header() -> None:
    result = run(FakeResolver.from_zone(ZONE))
    card = result._card()
    assert dict(card.facts) == {"ip": IP, "reverse name": REV, "PTR names": "mail.example.org",
                                "verified": "mail.example.org"}
    assert card.trace == (f"{REV} PTR: 'mail.example.org'", "mail.example.org A: 192.0.2.7")
    assert card.header == result.authres()
    assert result.reverse_name == REV
    printer = PrettyPrinter()
    result._repr_pretty_(printer, False)
    assert "  verified: mail.example.org" in "".join(printer.out)


def test_a_result_built_by_hand_still_shows_itself() -> None:
    result = IPRevResult(Status.FAIL, "not an address", "made up")
    assert result.reverse_name == ""
    assert "made up" in result._repr_html_()
    assert result.authres() == ('iprev=fail reason="no PTR name resolves back to the '
                                'address" policy.iprev="not an address"')


def test_html_escapes_what_the_ptr_record_says() -> None:
    ptr = Answer(Q(REV, "PTR"), Outcome.OK, ("<script>x</script>",))
    result = drive(iprev_flow(IP), [(Q(REV, "PTR"), ptr)])
    page = result._repr_html_()
    assert "<script>" not in page
    assert html.escape("<script>x</script>") in page


def test_an_a_label_name_is_written_as_it_is() -> None:
    ptr = Answer(Q(REV, "PTR"), Outcome.OK, ("xn--fa-hia.example",))
    forward = (Q("xn--fa-hia.example", "A"),)
    reply = (Answer(forward[0], Outcome.OK, (ipaddress.IPv4Address(IP),)),)
    result = drive(iprev_flow(IP), [(Q(REV, "PTR"), ptr), (forward, reply)])
    assert result.authres() == "iprev=pass policy.iprev=192.0.2.7 (xn--fa-hia.example)"
    assert result.authres().isascii()


# --- a model of RFC 8601 §3 on generated reverse zones ----------------------------------------

_LABELS = st.sampled_from(["a", "b", "mx", "Mail", "x-y", "_t", "1", "bad name", "", "c."])


@settings(max_examples=200, deadline=None)
@given(ptr=st.lists(st.lists(_LABELS, min_size=1, max_size=3).map(".".join), max_size=14),
       forward=st.dictionaries(st.sampled_from(["a", "b.a", "mx", "mail", "x-y.b"]),
                               st.sampled_from(["ip", "other", "tempfail", "nodata"])),
       max_names=st.integers(1, 12))
def test_verdict_matches_a_model(ptr: list[str], forward: dict[str, str],
                                 max_names: int) -> None:
    answers: dict[str, Answer] = {}
    ptr_answer = (Answer(Q(REV, "PTR"), Outcome.OK, tuple(ptr)) if ptr
                  else Answer(Q(REV, "PTR"), Outcome.NXDOMAIN))

    def reply(q: Query) -> Answer:
        kind = forward.get(q.name)
        if kind == "ip":
            return Answer(q, Outcome.OK, (ipaddress.IPv4Address(IP),))
        if kind == "other":
            return Answer(q, Outcome.OK, (ipaddress.IPv4Address("198.51.100.1"),))
        if kind == "tempfail":
            return Answer(q, Outcome.TEMPFAIL)
        return Answer(q, Outcome.NODATA if kind else Outcome.NXDOMAIN)

    flow = iprev_flow(IP, max_names=max_names)
    effect: Any = next(flow)
    assert effect == Q(REV, "PTR")
    try:
        effect = flow.send(ptr_answer)
        assert isinstance(effect, tuple) and effect
        answers = {q.name: reply(q) for q in effect}
        flow.send(tuple(answers[q.name] for q in effect))
        raise AssertionError("the flow asked more than two steps")
    except StopIteration as stop:
        result: IPRevResult = stop.value

    # The model: distinct lower-case names, the first max_names, those that are names.
    distinct = list(dict.fromkeys(n.rstrip(".").lower() for n in ptr))
    considered = distinct[:max_names]
    usable = [n for n in considered
              if n and "" not in n.split(".") and " " not in n and not n.split(".")[-1].isdigit()]
    assert set(answers) == set(usable)
    kinds = [forward.get(n) for n in usable]
    if not distinct:
        expected = Status.PERMERROR
    elif "ip" in kinds:
        expected = Status.PASS
    elif "tempfail" in kinds:
        expected = Status.TEMPERROR
    else:
        expected = Status.FAIL
    assert result.status is expected
    assert result.names == tuple(distinct)
    assert (result.verified is not None) == (expected is Status.PASS)
    assert result.authres().isascii()
