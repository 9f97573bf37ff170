"""SPF (RFC 7208): the real-world cases of CASES.md 1–21, the public API, results,
Received-SPF, hostile DNS and parser properties."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mailauth
from conftest import PrettyPrinter
from mailauth import Answer, Outcome, ParseError, Query, Status
from mailauth._headerfmt import unfold
from mailauth.errors import ArgumentTypeError, MailAuthError, UsageError
from mailauth.spf import (
    Macro,
    Mechanism,
    SPFResult,
    check_host,
    check_host_flow,
    check_spf,
    check_spf_flow,
    parse_macro_string,
    parse_record,
)
from mailauth.testing import FakeResolver

IP = "192.0.2.1"


def spf(records: dict[str, Any] | FakeResolver, ip: str = IP, sender: str = "user@example.org",
        helo: str | None = "mx.example.org", **kw: Any) -> tuple[SPFResult, FakeResolver]:
    resolver = records if isinstance(records, FakeResolver) else FakeResolver(records)
    domain = sender.rpartition("@")[2]
    result = check_host(ip, domain, sender, helo=helo, **kw).run(resolver)
    return result, resolver


def txt(*values: Any) -> dict[str, list[Any]]:
    return {"TXT": list(values)}


# --- CASES.md 1–21 ------------------------------------------------------------------

def test_case1_split_inside_a_token_is_joined_without_separator() -> None:
    r, _ = spf({"example.org": txt(["v=spf1 ip4:59.10", "6.116.96/27 -all"])},
               ip="59.106.116.100")
    assert r.status is Status.PASS
    assert r.matched == "ip4:59.106.116.96/27"


def test_case2_split_string_starting_with_space() -> None:
    r, _ = spf({"example.org": txt(["v=spf1", " ip4:192.0.2.0/24", " -all"])})
    assert r.status is Status.PASS


def test_case3_two_spf_records_permerror_but_other_txt_ignored() -> None:
    r, _ = spf({"example.org": txt("v=spf1 +all", "v=spf1 -all")})
    assert r.status is Status.PERMERROR
    assert "2 v=spf1 records" in r.problem
    r, _ = spf({"example.org": txt("google-site-verification=abc", "v=spf1 ip4:192.0.2.1 -all",
                                   "MS=ms1234")})
    assert r.status is Status.PASS


def test_case4_include_of_domain_without_spf_is_permerror() -> None:
    r, _ = spf({"example.org": txt("v=spf1 include:other.example -all"),
                "other.example": txt("some verification text")})
    assert r.status is Status.PERMERROR
    assert "RFC 7208 §5.2" in r.problem


def test_case5_include_of_nxdomain_is_permerror_and_void() -> None:
    r, _ = spf({"example.org": txt("v=spf1 include:missing.example -all")})
    assert r.status is Status.PERMERROR
    assert r.void_lookups == 1


def test_case6_redirect_without_spf_permerror_and_ignored_with_all() -> None:
    r, _ = spf({"example.org": txt("v=spf1 redirect=other.example"),
                "other.example": txt("not spf")})
    assert r.status is Status.PERMERROR
    r, res = spf({"example.org": txt("v=spf1 ?all redirect=other.example"),
                  "other.example": txt("v=spf1 -all")})
    assert r.status is Status.NEUTRAL
    assert res.asked("other.example") == 0


def _chain(n_terms: int) -> dict[str, Any]:
    # top includes i1; i1 includes i2 ... ; each include is one DNS-querying term.
    zone: dict[str, Any] = {"example.org": txt("v=spf1 include:i1.example.org -all")}
    for i in range(1, n_terms):
        zone[f"i{i}.example.org"] = txt(f"v=spf1 include:i{i + 1}.example.org -all")
    zone[f"i{n_terms}.example.org"] = txt("v=spf1 ip4:192.0.2.1 -all")
    return zone


def test_case7_exactly_ten_terms_pass_eleventh_permerror() -> None:
    r, _ = spf(_chain(10))
    assert r.status is Status.PASS
    assert r.lookups == 10
    r, _ = spf(_chain(11))
    assert r.status is Status.PERMERROR
    assert "more than 10 DNS-querying terms" in r.problem


def test_case8_mx_counts_once_and_more_than_ten_mx_is_permerror() -> None:
    r, _ = spf({"example.org": {"TXT": ["v=spf1 mx -all"], "MX": ["10 mx.example.org"]},
                "mx.example.org": {"A": [IP]}})
    assert r.status is Status.PASS
    assert r.lookups == 1
    many = {"example.org": {"TXT": ["v=spf1 mx -all"],
                            "MX": [f"{i} mx{i}.example.org" for i in range(11)]}}
    r, res = spf(many)
    assert r.status is Status.PERMERROR
    assert res.asked("mx0.example.org") == 0  # no address lookups were spent


def test_case9_exp_not_counted_and_missing_exp_is_empty() -> None:
    zone = _chain(10)
    zone["i10.example.org"] = txt("v=spf1 -all exp=why.example.org")
    zone["why.example.org"] = txt("nope %{i}")
    r, _ = spf(zone)
    # The fail inside includes is "no match"; the top-level -all decides.
    assert r.status is Status.FAIL and r.lookups == 10
    r, _ = spf({"example.org": txt("v=spf1 -all exp=why.example.org"),
                "why.example.org": txt("%{i} is not one of %{d}'s senders")})
    assert r.explanation == "192.0.2.1 is not one of example.org's senders"
    r, _ = spf({"example.org": txt("v=spf1 -all exp=missing.example.org")})
    assert r.status is Status.FAIL and r.explanation == ""


def test_case10_third_void_lookup_is_permerror() -> None:
    r, _ = spf({"example.org": txt("v=spf1 a:n1.example.org a:n2.example.org ~all")})
    assert r.status is Status.SOFTFAIL and r.void_lookups == 2
    r, _ = spf({"example.org": txt("v=spf1 a:n1.example.org a:n2.example.org "
                                   "a:n3.example.org ~all")})
    assert r.status is Status.PERMERROR
    assert "void lookups" in r.problem


def test_case10_ipv6_client_against_ipv4_only_hosts_counts_void() -> None:
    zone = {"example.org": txt("v=spf1 a:h1.example.org a:h2.example.org a:h3.example.org "
                               "-all")}
    for h in ("h1", "h2", "h3"):
        zone[f"{h}.example.org"] = {"A": ["192.0.2.10"]}
    r, _ = spf(zone, ip="2001:db8::1")
    assert r.status is Status.PERMERROR  # three AAAA NODATA answers


def test_case11_no_space_before_all_is_syntax_error() -> None:
    r, _ = spf({"example.org": txt("v=spf1 ip4:203.0.113.7~all")})
    assert r.status is Status.PERMERROR
    with pytest.raises(ParseError) as exc:
        parse_record("v=spf1 ip4:203.0.113.7~all")
    assert exc.value.position == 11  # where the network starts


def test_case12_unknown_modifier_after_all_is_valid() -> None:
    rec = parse_record("v=spf1 mx ra=postmaster -all")
    assert [m.name for m in rec.modifiers] == ["ra"]
    r, _ = spf({"example.org": {"TXT": ["v=spf1 mx ra=postmaster -all"],
                                "MX": ["10 mx.example.org"]},
                "mx.example.org": {"A": [IP]}})
    assert r.status is Status.PASS


@pytest.mark.parametrize(("text", "status"), [
    ("v=spf10 +all", Status.NONE), ("v=spf1x +all", Status.NONE),
    ("V=SPF1 +all", Status.PASS), ("v=spf1", Status.NEUTRAL)])
def test_case13_version_rules(text: str, status: Status) -> None:
    r, _ = spf({"example.org": txt(text)})
    assert r.status is status


@pytest.mark.parametrize("record", [
    "v=spf1 ip6:fe80::0000:0000:0000:0000:0000:1 -all",
    "v=spf1 ip6:FE80:0:0:0:0:0:0:1/128 -all", "v=spf1 ip6:fe80::1 -all",
    "v=spf1 ip6:fe80::/64 -all"])
def test_case14_ipv6_literals_in_every_form(record: str) -> None:
    r, _ = spf({"example.org": txt(record)}, ip="fe80::1")
    assert r.status is Status.PASS


@pytest.mark.parametrize("record", ["v=spf1 ip4:192.0.2.0/33 -all",
                                    "v=spf1 ip6:2001:db8::/129 -all",
                                    "v=spf1 a/33 -all", "v=spf1 mx//129 -all"])
def test_case14_invalid_cidr_is_permerror(record: str) -> None:
    r, _ = spf({"example.org": txt(record)})
    assert r.status is Status.PERMERROR


def test_case15_macros() -> None:
    nibbles = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
    r, _ = spf({"example.org": txt("v=spf1 exists:%{ir}.%{v}.bl.example.org -all"),
                f"{nibbles}.ip6.bl.example.org": {"A": ["127.0.0.2"]}}, ip="2001:db8::1")
    assert r.status is Status.PASS
    # %{d} inside an include is the include's target.
    r, _ = spf({"example.org": txt("v=spf1 include:inc.example.org -all"),
                "inc.example.org": txt("v=spf1 exists:%{d}.x.example.org -all"),
                "inc.example.org.x.example.org": {"A": ["127.0.0.2"]}})
    assert r.status is Status.PASS
    r, _ = spf({"example.org": txt("v=spf1 exists:%{l1r+}.%{o}.y.example.org -all"),
                "first.example.org.y.example.org": {"A": ["127.0.0.2"]}},
               sender="first+last@example.org")
    assert r.status is Status.PASS
    r, _ = spf({"example.org": txt("v=spf1 -all exp=e.example.org"),
                "e.example.org": txt("see http://x.example/?s=%{S}")},
               sender="a b&c@example.org")
    assert r.explanation == "see http://x.example/?s=a%20b%26c%40example.org"


def test_case15_macro_parsing() -> None:
    ms = parse_macro_string("%{l1r+}.%{O}%%%_%-")
    assert ms.parts[0] == Macro("l", 1, True, "+")
    assert ms.parts[2] == Macro("o", url_escape=True)
    assert ms.parts[3] == "% %20"
    with pytest.raises(ParseError):
        parse_macro_string("%{c}")  # c only in exp (RFC 7208 §7.1)
    with pytest.raises(ParseError):
        parse_macro_string("%{d0}")  # DIGIT must be nonzero (§7.3)
    assert parse_macro_string("%{c}", exp=True).parts == (Macro("c"),)


def test_case16_two_includes_cnamed_to_one_record() -> None:
    r, _ = spf({"example.org": txt("v=spf1 include:a.example.net include:b.example.net -all"),
                "a.example.net": {"CNAME": ["spf.provider.example"]},
                "b.example.net": {"CNAME": ["spf.provider.example"]},
                "spf.provider.example": txt("v=spf1 ip4:198.51.100.0/24 ~all")})
    assert r.status is Status.FAIL


def test_case17_servfail_is_temperror_and_nxdomain_is_none() -> None:
    r, _ = spf(FakeResolver(tempfail=["example.org"]))
    assert r.status is Status.TEMPERROR
    r, _ = spf({})
    assert r.status is Status.NONE


def test_case18_ipv4_mapped_client_matches_ip4() -> None:
    r, _ = spf({"example.org": txt("v=spf1 ip4:192.0.2.0/24 -all")}, ip="::ffff:192.0.2.1")
    assert r.status is Status.PASS and r.ip == "192.0.2.1"


def test_case19_null_sender_checks_postmaster_at_helo() -> None:
    resolver = FakeResolver({"mx.example.org": txt("v=spf1 exists:%{l}.%{d}.pm.example -all"),
                             "postmaster.mx.example.org.pm.example": {"A": ["127.0.0.2"]}})
    r = check_spf(IP, "", "mx.example.org").run(resolver)
    assert r.status is Status.PASS
    assert (r.identity, r.sender, r.domain) == ("mailfrom", "postmaster@mx.example.org",
                                                "mx.example.org")
    assert r.helo is not None and r.helo.identity == "helo"


class _TruncatingResolver(FakeResolver):
    def resolve(self, query: Query, *, timeout: float = 5.0) -> Answer:
        self.queries.append(query)
        return Answer(query, Outcome.TEMPFAIL,
                      reason="answer truncated over UDP and TCP refused")


def test_case20_truncated_answer_without_tcp_is_temperror_with_reason() -> None:
    r, _ = spf(_TruncatingResolver())
    assert r.status is Status.TEMPERROR
    assert "TCP refused" in r.problem


def test_case21_include_loop_is_permerror_with_bounded_queries() -> None:
    r, res = spf({"example.org": txt("v=spf1 include:b.example.org -all"),
                  "b.example.org": txt("v=spf1 include:example.org -all")})
    assert r.status is Status.PERMERROR
    assert len(res.queries) <= 11


# --- check_spf, results, Received-SPF -------------------------------------------------

ZONE = {"example.org": txt("v=spf1 ip4:192.0.2.0/24 -all"),
        "mx.example.org": txt("v=spf1 a -all") | {"A": ["192.0.2.1"]}}


def test_check_spf_top_level_and_both_identities() -> None:
    assert mailauth.check_spf is check_spf and mailauth.SPFResult is SPFResult
    r = mailauth.check_spf(IP, "user@example.org", "mx.example.org",
                           receiver="mx.local").run(FakeResolver(ZONE))
    assert (r.status, r.identity, r.matched) == (Status.PASS, "mailfrom", "ip4:192.0.2.0/24")
    assert r.helo is not None
    assert (r.helo.status, r.helo.identity, r.helo.matched) == (Status.PASS, "helo", "a")


def test_received_spf_and_authres() -> None:
    r = check_spf("198.51.100.99", "user@example.org", "mx.example.org",
                  receiver="mx.local").run(FakeResolver(ZONE))
    assert r.status is Status.FAIL
    assert r.received_spf() == (
        "Received-SPF: fail (mx.local: domain of user@example.org does not designate\r\n"
        " 198.51.100.99 as permitted sender) client-ip=198.51.100.99;\r\n"
        ' envelope-from="user@example.org"; helo=mx.example.org; receiver=mx.local;\r\n'
        " identity=mailfrom; mechanism=-all;")
    assert r.authres() == "spf=fail smtp.mailfrom=user@example.org"
    assert r.helo is not None and r.helo.authres() == "spf=fail smtp.helo=mx.example.org"


def test_trace_shows_terms_budget_and_answers() -> None:
    r, _ = spf({"example.org": txt("v=spf1 a:h.example.org -all"),
                "h.example.org": {"A": ["192.0.2.1"]}})
    steps = [(s.term, s.outcome, s.lookups) for s in r.trace]
    assert steps[0][0] == "record"
    assert ("a:h.example.org", "match", 1) in steps
    assert "h.example.org A: 192.0.2.1" in r.trace_text()
    assert r.lookups == 1 and r.void_lookups == 0


def test_results_are_frozen_values() -> None:
    r, _ = spf({"example.org": txt("v=spf1 -all")})
    with pytest.raises(AttributeError):
        r.status = Status.PASS  # type: ignore[misc]
    assert isinstance(r.trace, tuple)


def test_results_are_ordinary_dataclass_values() -> None:
    import dataclasses

    r, _ = spf({"example.org": txt("v=spf1 a:h.example.org -all"),
                "h.example.org": {"A": ["192.0.2.1"]}})
    values = [getattr(r, f.name) for f in dataclasses.fields(r)]
    plain = SPFResult(*values)
    assert r == plain and hash(r) == hash(plain) and repr(r) == repr(plain)
    assert dataclasses.replace(r, helo=plain).helo == plain
    with pytest.raises(AttributeError):
        r.lookups = 0  # type: ignore[misc]


def test_result_class_is_not_patched() -> None:
    # Every field is the slot the dataclass made: nothing replaced after the class was
    # built. The trace is an ordinary property over the private field of plain steps.
    slot_type = type(SPFResult.__dict__["status"])
    for f in SPFResult.__dataclass_fields__:
        assert type(SPFResult.__dict__[f]) is slot_type, f
    assert type(SPFResult.__dict__["trace"]) is property
    assert "trace" not in SPFResult.__dataclass_fields__


def test_steps_are_plain_tuples_and_the_trace_is_made_from_them() -> None:
    from mailauth.spf import TraceStep
    r, _ = spf({"example.org": txt("v=spf1 ip4:10.0.0.0/8 -all")})
    assert r._steps and all(type(step) is tuple for step in r._steps)
    assert r.trace == tuple(TraceStep(*step) for step in r._steps)
    assert [s.term for s in r.trace] == ["record", "ip4:10.0.0.0/8", "-all"]


def test_results_with_the_same_trace_are_equal_and_others_are_not() -> None:
    import dataclasses

    zone = {"example.org": txt("v=spf1 ip4:10.0.0.0/8 -all")}
    first, _ = spf(zone)
    again, _ = spf(zone)
    assert first == again and hash(first) == hash(again)
    other = dataclasses.replace(first, _steps=first._steps[:-1])
    assert other != first and other.trace == first.trace[:-1]
    # replace() keeps the trace of the result it copies
    assert dataclasses.replace(first, reason="x").trace == first.trace


def test_trace_is_made_of_trace_steps_whenever_it_is_read() -> None:
    import copy
    import dataclasses
    import pickle

    from mailauth.spf import TraceStep
    zone = {"example.org": txt("v=spf1 ip4:10.0.0.0/8 include:i.example.org -all"),
            "i.example.org": txt("v=spf1 a:h.example.org -all"),
            "h.example.org": {"A": ["192.0.2.1"]}}
    reads: dict[str, Callable[[SPFResult], Any]] = {
        "attribute": lambda r: r.trace,
        "repr": lambda r: dataclasses.replace(r).trace if repr(r) else None,
        "eq": lambda r: r.trace if r == r else None,
        "replace": lambda r: dataclasses.replace(r, reason="x").trace,
        "pickle": lambda r: pickle.loads(pickle.dumps(r)).trace,
        "copy": lambda r: copy.copy(r).trace,
        "text": lambda r: r.trace if "include:i.example.org" in r.trace_text() else None,
    }
    expected = None
    for how, read in reads.items():
        r, _ = spf(zone)
        trace = read(r)
        assert isinstance(trace, tuple), how
        assert all(type(step) is TraceStep for step in trace), how
        assert r.trace == r.trace, how
        if expected is None:
            expected = trace
        assert trace == expected, how
    assert expected is not None
    assert [(s.depth, s.term, s.outcome, s.lookups) for s in expected] == [
        (0, "record", "found: v=spf1 ip4:10.0.0.0/8 include:i.example.org -all", 0),
        (0, "ip4:10.0.0.0/8", "no match", 0),
        (0, "include:i.example.org", "evaluating", 1),
        (1, "record", "found: v=spf1 a:h.example.org -all", 1),
        (1, "a:h.example.org", "match", 2),
        (0, "include:i.example.org", "match (included result pass)", 2)]


def test_bad_arguments_raise_value_error() -> None:
    with pytest.raises(ValueError):
        check_host("not an ip", "example.org", "a@example.org")
    with pytest.raises(TypeError):
        check_host(12, "example.org", "a@example.org")  # type: ignore[arg-type]


_SPF_VERBS: dict[str, Callable[..., Any]] = {
    "check_spf": lambda ip="192.0.2.1", mail_from="u@example.org", helo="mx.example.org", **kw:
        check_spf(ip, mail_from, helo, **kw),
    "check_host": lambda ip="192.0.2.1", mail_from="u@example.org", helo="mx.example.org", **kw:
        check_host(ip, "example.org", mail_from, helo=helo, **kw),
    "check_spf_flow": lambda ip="192.0.2.1", mail_from="u@example.org", helo="mx.example.org",
        **kw: check_spf_flow(ip, mail_from, helo, now=kw.pop("now", 0.0), **kw),
    "check_host_flow": lambda ip="192.0.2.1", mail_from="u@example.org", helo="mx.example.org",
        **kw: check_host_flow(ip, "example.org", mail_from, helo=helo, now=kw.pop("now", 0.0),
                              **kw),
}


@pytest.mark.parametrize("verb", list(_SPF_VERBS))
@pytest.mark.parametrize("kw", [
    {"ip": "999.1.1.1"}, {"ip": "192.0.2.1%eth0"}, {"ip": ""}, {"ip": "example.org"},
    {"max_lookups": -1}, {"max_void_lookups": -5},
], ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()))
def test_caller_value_mistakes_are_usage_errors(verb: str, kw: dict[str, Any]) -> None:
    with pytest.raises(UsageError) as info:
        _SPF_VERBS[verb](**kw)
    assert isinstance(info.value, ValueError) and isinstance(info.value, MailAuthError)
    assert next(iter(kw)) in str(info.value)


@pytest.mark.parametrize("verb", list(_SPF_VERBS))
@pytest.mark.parametrize("kw", [
    {"ip": b"192.0.2.1"}, {"ip": None}, {"ip": 3221225985},
    {"mail_from": b"u@example.org"}, {"mail_from": None},
    {"helo": b"mx.example.org"}, {"receiver": b"mx.local"},
    {"default_explanation": None}, {"max_lookups": "10"}, {"max_mx": 2.5},
    {"max_ptr": True}, {"now": "yesterday"},
], ids=lambda kw: "-".join(f"{k}={v!r}" for k, v in kw.items()))
def test_caller_type_mistakes_are_argument_type_errors(verb: str, kw: dict[str, Any]) -> None:
    with pytest.raises(ArgumentTypeError) as info:
        _SPF_VERBS[verb](**kw)
    assert isinstance(info.value, TypeError) and isinstance(info.value, MailAuthError)
    name = next(iter(kw))
    assert (name if name != "mail_from" or verb.startswith("check_spf") else "sender") \
        in str(info.value)


@pytest.mark.parametrize(("kw", "error"), [
    ({"domain": b"example.org"}, ArgumentTypeError), ({"domain": None}, ArgumentTypeError),
    ({"identity": "pra"}, UsageError), ({"identity": None}, ArgumentTypeError),
])
def test_check_host_domain_and_identity_mistakes(kw: dict[str, Any], error: type) -> None:
    from mailauth.spf import check_host_flow
    args: dict[str, Any] = {"domain": "example.org", **kw}
    with pytest.raises(error, match=next(iter(kw))):
        check_host(IP, args.pop("domain"), "u@example.org", **args)
    args = {"domain": "example.org", **kw}
    with pytest.raises(error, match=next(iter(kw))):
        check_host_flow(IP, args.pop("domain"), "u@example.org", now=0.0, **args)


def test_flows_refuse_a_missing_time() -> None:
    from mailauth.spf import check_host_flow, check_spf_flow
    with pytest.raises(ArgumentTypeError, match="now"):
        check_host_flow(IP, "example.org", "u@example.org", now=None)  # type: ignore[arg-type]
    with pytest.raises(ArgumentTypeError, match="now"):
        check_spf_flow(IP, "u@example.org", "mx.example.org", now=None)  # type: ignore[arg-type]


def test_good_arguments_of_every_accepted_kind() -> None:
    # str or address for ip (IPv4-mapped IPv6 is IPv4), int or float for now, no helo.
    zone = FakeResolver({"example.org": txt("v=spf1 ip4:192.0.2.0/24 -all")})
    for ip in ("192.0.2.1", " 192.0.2.1 ", ipaddress.ip_address("192.0.2.1"),
               ipaddress.ip_address("::ffff:192.0.2.1"), "::ffff:192.0.2.1"):
        r = check_spf(ip, "u@example.org", None, now=1).run(zone)
        assert (r.status, r.ip) == (Status.PASS, "192.0.2.1"), ip
    assert check_host(IP, "example.org", "u@example.org", identity="helo",
                      max_lookups=0, now=1.5).run(zone).status is Status.PASS


def test_mistakes_are_raised_when_the_check_is_made_not_when_it_runs() -> None:
    # A check that was made runs: nothing about its arguments can fail later.
    with pytest.raises(ArgumentTypeError):
        check_spf(IP, b"u@example.org", "mx.example.org")  # type: ignore[arg-type]
    check = check_spf(IP, "u@example.org", "mx.example.org")
    assert check.run(FakeResolver({})).status is Status.NONE


def test_async_driver_gives_the_same_result() -> None:
    import asyncio

    async def go() -> SPFResult:
        return await check_spf(IP, "user@example.org", "mx.example.org")\
            .arun(FakeResolver(ZONE))

    assert asyncio.run(go()).status is Status.PASS


def test_limits_are_configurable() -> None:
    r, _ = spf(_chain(3), max_lookups=2)
    assert r.status is Status.PERMERROR
    r, _ = spf({"example.org": txt("v=spf1 a:n1.example.org ~all")}, max_void_lookups=0)
    assert r.status is Status.PERMERROR


def test_ptr_mechanism_and_p_macro() -> None:
    zone = {"example.org": txt("v=spf1 ptr -all exp=e.example.org"),
            "e.example.org": txt("from %{p}"),
            "1.2.0.192.in-addr.arpa": {"PTR": ["mail.example.org"]},
            "mail.example.org": {"A": ["192.0.2.1"]}}
    r, _ = spf(zone)
    assert r.status is Status.PASS
    r, _ = spf(zone, ip="192.0.2.7")
    assert r.status is Status.FAIL and r.explanation == "from unknown"


# --- hostile DNS ------------------------------------------------------------------------

def test_twelve_deep_include_chain_stops_at_the_limit() -> None:
    r, res = spf(_chain(12))
    assert r.status is Status.PERMERROR
    assert len(res.queries) <= 11


def test_fifty_void_terms() -> None:
    terms = " ".join(f"exists:v{i}.example.org" for i in range(50))
    r, res = spf({"example.org": txt(f"v=spf1 {terms} -all")})
    assert r.status is Status.PERMERROR
    assert len(res.queries) == 4  # the record and three void lookups


def test_huge_txt_answers() -> None:
    big = "v=spf1 " + " ".join(f"ip4:10.{i // 250}.{i % 250}.0/24" for i in range(2000)) + " -all"
    junk = ["x" * 4000 for _ in range(50)]
    r, _ = spf({"example.org": txt(big, *junk)}, ip="10.7.249.3")
    assert r.status is Status.PASS
    r, _ = spf({"example.org": txt(*junk)})
    assert r.status is Status.NONE


def test_txt_records_that_are_not_strings_are_ignored() -> None:
    class Odd:
        def resolve(self, query: Query, *, timeout: float) -> Answer:
            records: tuple[Any, ...] = (["v=spf1 +all"], b"v=spf1 +all", "v=spf1 -all")
            if query.rdtype != "TXT":
                return Answer(query, Outcome.NXDOMAIN)
            return Answer(query, Outcome.OK, records)

    for _ in range(2):  # the second time through the record cache
        r = check_host(IP, "example.org", "u@example.org").run(Odd())
        assert r.status is Status.FAIL and r.record == "v=spf1 -all"


def test_cname_loop_is_temperror() -> None:
    r, res = spf({"example.org": {"CNAME": ["loop.example.org"]},
                  "loop.example.org": {"CNAME": ["example.org"]}})
    assert r.status is Status.TEMPERROR
    assert len(res.queries) == 1


def test_tempfail_everywhere() -> None:
    resolver = FakeResolver({"example.org": txt("v=spf1 a mx ptr include:x.example.org "
                                                "exists:y.example.org -all")},
                            tempfail=["example.net", ("example.org", "A"),
                                      ("example.org", "MX")])
    r, res = spf(resolver)
    assert r.status is Status.TEMPERROR
    assert len(res.queries) == 2


class _SlowResolver(FakeResolver):
    """Answers after ``delay`` seconds of wall-clock time."""

    def __init__(self, records: dict[str, Any], delay: float) -> None:
        super().__init__(records)
        self.delay = delay

    def resolve(self, query: Query, *, timeout: float = 5.0) -> Answer:
        import time
        time.sleep(self.delay)
        return super().resolve(query, timeout=timeout)


def test_time_budget_gives_temperror() -> None:
    # The record lookup spends the whole budget: the A lookup is never sent.
    resolver = _SlowResolver({"example.org": txt("v=spf1 a:h.example.org +all"),
                              "h.example.org": {"A": [IP]}}, delay=0.05)
    r = check_host(IP, "example.org", "u@example.org", budget=0.02).run(resolver)
    assert r.status is Status.TEMPERROR
    assert "budget" in r.problem
    assert [str(q) for q in resolver.queries] == ["example.org TXT"]


@pytest.mark.parametrize("record", [
    "v=spf1 a:%{H}.x.example -all", "v=spf1 exists:%{i}%{i}%{i}%{i}%{i}%{i}%{i}%{i}.e -all",
    "v=spf1 include:%{l}%{l}%{l}%{l}.example -all", "v=spf1 mx:%{s}.%{s}.%{s} -all"])
def test_odd_expansions_never_raise(record: str) -> None:
    r, _ = spf({"example.org": txt(record)}, sender=("x" * 60 + "@example.org"),
               helo="[192.0.2.1]")
    assert isinstance(r.status, Status)


# --- properties -------------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80) | st.from_regex(r"v=spf1( [-+~?]?[a-z0-9:./%{}=_-]{0,20}){0,6}",
                                            fullmatch=True))
def test_parse_record_raises_only_parse_error(text: str) -> None:
    try:
        rec = parse_record(text)
    except ParseError as exc:
        assert exc.position is None or 0 <= exc.position <= len(text)
    else:
        assert rec.text == text


_domains = st.from_regex(r"[a-z][a-z0-9]{0,8}(\.[a-z][a-z0-9]{0,8}){1,3}", fullmatch=True)
_qual = st.sampled_from(["", "+", "-", "~", "?"])


@st.composite
def _term(draw: st.DrawFn) -> str:
    q = draw(_qual)
    kind = draw(st.sampled_from(["all", "a", "mx", "ip4", "ip6", "include", "exists", "ptr",
                                 "mod", "redirect", "exp"]))
    if kind == "ip4":
        net = ipaddress.IPv4Network((draw(st.integers(0, 2**32 - 1)),
                                     draw(st.integers(0, 32))), strict=False)
        return f"{q}ip4:{net}"
    if kind == "ip6":
        net6 = ipaddress.IPv6Network((draw(st.integers(0, 2**128 - 1)),
                                      draw(st.integers(0, 128))), strict=False)
        return f"{q}ip6:{net6}"
    if kind in ("a", "mx"):
        dom = draw(st.none() | _domains | st.just("%{l1r-}.%{d}"))
        c4 = draw(st.none() | st.integers(0, 32))
        c6 = draw(st.none() | st.integers(0, 128))
        return (f"{q}{kind}" + (f":{dom}" if dom else "") + (f"/{c4}" if c4 is not None else "")
                + (f"//{c6}" if c6 is not None else ""))
    if kind in ("include", "exists"):
        return f"{q}{kind}:{draw(_domains | st.just('%{ir}.%{v}.x.%{d2}'))}"
    if kind == "ptr":
        return f"{q}ptr" + draw(st.just("") | _domains.map(lambda d: f":{d}"))
    if kind == "mod":
        return f"x-{draw(st.from_regex(r'[a-z]{1,5}', fullmatch=True))}=%{{h}}.v"
    return ""  # redirect and exp are added once below


@settings(max_examples=300, deadline=None)
@given(st.lists(_term(), max_size=8), st.none() | _domains, st.none() | _domains)
def test_valid_records_round_trip(terms: list[str], redirect: str | None,
                                  exp: str | None) -> None:
    text = " ".join(["v=spf1", *[t for t in terms if t]]
                    + ([f"redirect={redirect}"] if redirect else [])
                    + ([f"exp={exp}"] if exp else []))
    rec = parse_record(text)
    again = parse_record(rec.render())
    assert again == rec
    assert parse_record(str(again)) == rec
    assert all(isinstance(m, Mechanism) for m in rec.mechanisms)


# --- review fixes ------------------------------------------------------------------------

HUGE = "9" * 5000


@pytest.mark.parametrize("text", [
    f"v=spf1 a/{HUGE} -all", f"v=spf1 mx//{HUGE} -all", f"v=spf1 a:example.org/{HUGE} -all",
    f"v=spf1 ip4:192.0.2.0/{HUGE} -all", f"v=spf1 ip6:2001:db8::/{HUGE} -all"],
    ids=["a", "mx", "a-domain", "ip4", "ip6"])
def test_huge_cidr_length_is_a_parse_error_and_permerror(text: str) -> None:
    with pytest.raises(ParseError):
        parse_record(text)
    r, _ = spf({"example.org": txt(text)})
    assert r.status is Status.PERMERROR, r.problem


def test_huge_macro_digits_are_read_as_128() -> None:
    # RFC 7208 §7.3: values up to 128 MUST be supported; larger ones keep every part.
    ms = parse_macro_string(f"%{{d{HUGE}r}}.%{{l{'0' * 5000}1}}")
    assert ms.parts[0] == Macro("d", 128, True)
    assert ms.parts[2] == Macro("l", 1)
    with pytest.raises(ParseError):
        parse_macro_string("%{d" + "0" * 5000 + "}")  # still zero (§7.3)
    r, _ = spf({"example.org": txt(f"v=spf1 exists:%{{d{HUGE}}}.x.example -all"),
                "example.org.x.example": {"A": ["127.0.0.2"]}})
    assert r.status is Status.PASS, r.problem


def test_unparsable_explanation_is_ignored() -> None:
    # RFC 7208 §6.2: an explanation that cannot be used gives the default explanation.
    r, _ = spf({"example.org": txt("v=spf1 -all exp=e.example.org"),
                "e.example.org": txt("bad %{d" + HUGE + "}")}, default_explanation="dflt")
    assert r.status is Status.FAIL and r.explanation == "bad example.org"
    r, _ = spf({"example.org": txt("v=spf1 -all exp=e.example.org"),
                "e.example.org": txt("bad %{x}")}, default_explanation="dflt")
    assert r.status is Status.FAIL and r.explanation == "dflt"


# RFC 7208 §7.4: <sender> strong-bad@email.example.com, clients 192.0.2.3 and
# 2001:db8::cb01, PTR name mx.example.org.
RFC7208_7_4 = [
    ("%{s}", "strong-bad@email.example.com"), ("%{o}", "email.example.com"),
    ("%{d}", "email.example.com"), ("%{d4}", "email.example.com"),
    ("%{d3}", "email.example.com"), ("%{d2}", "example.com"), ("%{d1}", "com"),
    ("%{dr}", "com.example.email"), ("%{d2r}", "example.email"), ("%{l}", "strong-bad"),
    ("%{l-}", "strong.bad"), ("%{lr}", "strong-bad"), ("%{lr-}", "bad.strong"),
    ("%{l1r-}", "strong"),
    ("%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"),
    ("%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"),
    ("%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"),
    ("%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com"),
    ("%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net"),
]


@pytest.mark.parametrize(("ip", "macro", "expansion"), [
    *(("192.0.2.3", m, e) for m, e in RFC7208_7_4),
    ("2001:db8::cb01", "%{ir}.%{v}._spf.%{d2}",
     "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"),
])
def test_rfc7208_section_7_4_macro_examples(ip: str, macro: str, expansion: str) -> None:
    resolver = FakeResolver({"email.example.com": txt(f"v=spf1 exists:{macro} -all")})
    check_host(ip, "email.example.com", "strong-bad@email.example.com").run(resolver)
    assert resolver.queries[1] == Query(expansion, "A")


# --- the clock: read by the public verb, once per run ---------------------------------

_EXP_T = {"example.org": txt("v=spf1 -all exp=exp.example.org"),
          "exp.example.org": txt("stamp %{t}"),
          "mx.example.org": txt("v=spf1 -all exp=exp.example.org")}


def test_t_macro_is_the_time_given() -> None:
    r = check_host(IP, "example.org", "u@example.org", now=1234567890.9).run(
        FakeResolver(_EXP_T))
    assert r.explanation == "stamp 1234567890"


def test_verbs_read_the_clock_once_per_run(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    readings = iter([1000.0, 2000.0, 3000.0])
    calls: list[float] = []

    def clock() -> float:
        calls.append(value := next(readings))
        return value

    monkeypatch.setattr(time, "time", clock)
    check = check_spf(IP, "u@example.org", "mx.example.org")
    assert calls == []  # building a check reads no clock
    first = check.run(FakeResolver(_EXP_T))
    # One reading serves both identities of the run.
    assert calls == [1000.0]
    assert first.explanation == "stamp 1000"
    assert first.helo is not None and first.helo.explanation == "stamp 1000"
    second = check.run(FakeResolver(_EXP_T))
    assert calls == [1000.0, 2000.0] and second.explanation == "stamp 2000"
    third = check_host(IP, "example.org", "u@example.org").run(FakeResolver(_EXP_T))
    assert calls == [1000.0, 2000.0, 3000.0] and third.explanation == "stamp 3000"
    # A time given is used as it is: no reading.
    check_host(IP, "example.org", "u@example.org", now=5.0).run(FakeResolver(_EXP_T))
    assert len(calls) == 3


def test_flows_take_the_time_from_their_caller() -> None:
    from mailauth.spf import check_host_flow, check_spf_flow
    with pytest.raises(TypeError):
        check_host_flow(IP, "example.org", "u@example.org")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        check_spf_flow(IP, "u@example.org", "mx.example.org")  # type: ignore[call-arg]


def test_ip6_nibbles_lower_in_names_upper_in_explanation_text() -> None:
    # Queried names follow RFC 7208 §7.4 (lower case); explanation text keeps the
    # upper case the RFC 7208 suite's v-macro-ip6 case expects.
    r, res = spf({"example.org": txt("v=spf1 exists:%{ir}.x.example.org -all exp=%{ir}.e.example"),
                  "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.e.example":
                      txt("%{ir}")}, ip="2001:db8::1")
    assert r.status is Status.FAIL
    assert res.queries[1].name.startswith("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.")
    assert res.queries[2].name.endswith(".8.b.d.0.1.0.0.2.e.example")
    assert r.explanation == "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.B.D.0.1.0.0.2"


@pytest.mark.parametrize("spec", ["foo.%%%%", "foo.%%", "foo.%%%_", "x.%%%%%%", "%{d}%%", "foo.%-"])
def test_domain_spec_ending_in_a_macro_expand_is_valid(spec: str) -> None:
    # RFC 7208 §7.1: domain-end = ( "." toplabel [ "." ] ) / macro-expand; "%%" is one.
    rec = parse_record(f"v=spf1 a:{spec} -all")
    assert rec.mechanisms[0].target is not None
    assert rec.mechanisms[0].target.text == spec


@pytest.mark.parametrize("spec", ["foo.%%%", "foo.%%.", "foo.%%x", "%{d}."])
def test_domain_spec_not_ending_in_a_domain_end_is_an_error(spec: str) -> None:
    with pytest.raises(ParseError):
        parse_record(f"v=spf1 a:{spec} -all")


@pytest.mark.parametrize(("helo", "why"), [
    ("[192.0.2.1]", "address literal"), ("[IPv6:2001:db8::1]", "address literal"),
    ("192.0.2.1", "IP address"), ("2001:db8::1", "IP address"),
    ("mail.example.123", "all-numeric"), ("mail!.example.org", "characters other than"),
    ("JUMPIN' JUPITER.example", "characters other than"), ("OEMCOMPUTER", "multi-label")])
def test_helo_that_is_not_a_domain_name_is_none_without_a_query(helo: str, why: str) -> None:
    # RFC 7208 §2.3, §4.3: the HELO identity is a fully qualified domain name.
    resolver = FakeResolver({})
    r = check_spf(IP, "", helo).run(resolver)
    assert r.helo is not None
    assert r.status is Status.NONE and r.helo.status is Status.NONE
    assert why in r.helo.reason and why in r.reason
    assert resolver.queries == []


def test_helo_with_underscore_label_is_still_checked() -> None:
    r = check_spf(IP, "", "_x.mx.example.org").run(
        FakeResolver({"_x.mx.example.org": txt("v=spf1 +all")}))
    assert r.status is Status.PASS


def test_trailing_dot_domain_is_normalised() -> None:
    zone = {"example.org": txt("v=spf1 exists:%{d2}.x.example ptr -all"),
            "example.org.x.example": {"A": ["127.0.0.2"]}}
    r = check_host(IP, "example.org.", "user@example.org").run(FakeResolver(zone))
    assert r.status is Status.PASS and r.domain == "example.org"
    zone = {"example.org": txt("v=spf1 ptr -all"),
            "1.2.0.192.in-addr.arpa": {"PTR": ["mail.example.org"]},
            "mail.example.org": {"A": [IP]}}
    r = check_host(IP, "example.org.", "user@example.org").run(FakeResolver(zone))
    assert r.status is Status.PASS


def _header_lines(field: str) -> list[str]:
    lines = field.split("\r\n")
    assert all(line.isascii() and line.isprintable() for line in lines), field
    assert all(len(line) <= 998 for line in lines), [len(x) for x in lines]
    assert all(line.startswith(" ") and line.strip() for line in lines[1:]), field
    return lines


def test_received_spf_is_ascii_folded_and_bounded() -> None:
    # RFC 7208 §9.1 (RFC 5322 comment and quoted-string: ASCII), RFC 5322 §2.1.1.
    r, _ = spf({"example.org": txt("v=spf1 " + "q" * 1500)}, receiver="mx.local")
    assert r.status is Status.PERMERROR and "§" in r.problem  # the human text is kept
    field = r.received_spf()
    lines = _header_lines(field)
    assert len(lines) > 3 and "...\";" in field and len(field) < 1200
    assert 'problem="syntax error in the record of example.org' in "".join(lines)
    r, _ = spf({"example.org": txt("v=spf1 include:other.example -all"),
                "other.example": txt("not spf")}, receiver="mx.local")
    assert "RFC 7208 §5.2" in r.problem and "RFC 7208 §5.2" in r.comment()
    field = r.received_spf()
    # folded between comment words, between key=value pairs and, in a quoted value too
    # long for a line, at its spaces (RFC 5322 §3.2.4 allows FWS there)
    assert all(len(line) <= 78 for line in _header_lines(field))
    assert "RFC 7208 section 5.2" in unfold(field) and "§" not in field
    assert unfold(field).count("RFC 7208 section 5.2") == 2  # the comment and problem=
    # A HELO name IDNA 2008 refuses stays as given, and is shown with "?"; one it
    # accepts is shown in its A-label form (RFC 8616 §4).
    r, _ = spf({"example.org": txt("v=spf1 -all")}, sender="j\u00f6rg\r\n@example.org",
               helo="h\u2603lo.example")
    field = r.received_spf()
    _header_lines(field)
    assert 'envelope-from="j?rg??@example.org";' in field and "helo=h?lo.example;" in field
    assert r.authres() == "spf=fail smtp.mailfrom=j?rg??@example.org"
    r, _ = spf({"example.org": txt("v=spf1 -all")}, helo="h\u00e9lo.example")
    assert "helo=xn--hlo-bma.example;" in r.received_spf()
    long_sender = "x" * 2000 + "@example.org"
    r, _ = spf({"example.org": txt("v=spf1 -all")}, sender=long_sender)
    _header_lines(r.received_spf())
    assert r.authres().isascii() and len(r.authres()) < 300


@pytest.mark.parametrize(("domain", "sender", "identity", "expected"), [
    # RFC 8601 §2.2: a pvalue is bare only as a token dot-atom or an address whose
    # domain is a domain-name of two or more labels; anything else is a quoted-string.
    ("localhost", "user@localhost", "mailfrom", 'spf=none smtp.mailfrom="user@localhost"'),
    ("mx/1.example", "postmaster@mx/1.example", "helo", 'spf=none smtp.helo="mx/1.example"'),
    ("a=b.example", "postmaster@a=b.example", "helo", 'spf=none smtp.helo="a=b.example"'),
    ("example.org", "a/b=c@example.org", "mailfrom", "spf=none smtp.mailfrom=a/b=c@example.org"),
    ("example.org", "a b@example.org", "mailfrom", 'spf=none smtp.mailfrom="a b@example.org"'),
])
def test_authres_values_are_rfc_8601_pvalues(domain: str, sender: str, identity: str,
                                            expected: str) -> None:
    r = check_host(IP, domain, sender, identity=identity).run(FakeResolver({}))
    assert r.authres() == expected


def test_received_spf_names_the_receiver_only_when_known() -> None:
    from mailauth.spf import check_host
    from mailauth.testing import FakeResolver

    dns = FakeResolver({"example.org": {"TXT": ["v=spf1 ip4:192.0.2.0/24 -all"]}})
    plain = check_host("192.0.2.1", "example.org", "a@example.org").run(dns)
    assert plain.received_spf().startswith(
        "Received-SPF: pass (domain of a@example.org designates 192.0.2.1")
    named = check_host("192.0.2.1", "example.org", "a@example.org",
                       receiver="mx.example.net").run(dns)
    assert named.received_spf().startswith("Received-SPF: pass (mx.example.net: domain of")
    assert "receiver=mx.example.net;" in named.received_spf()


# --- results people can read: str, repr, notebooks ---------------------------------------

_EVERY_STATUS: dict[str, tuple[dict[str, Any] | FakeResolver, str]] = {
    "pass": (ZONE, "example.org designates 192.0.2.1 as permitted sender (ip4:192.0.2.0/24)"),
    "fail": ({"example.org": txt("v=spf1 -all")},
             "example.org does not designate 192.0.2.1 as permitted sender (-all)"),
    "softfail": ({"example.org": txt("v=spf1 ~all")},
                 "example.org does not designate 192.0.2.1, softly (~all)"),
    "neutral": ({"example.org": txt("v=spf1 ip4:10.0.0.1")},
                "no mechanism of example.org matched 192.0.2.1"),
    "none": ({}, "example.org publishes no SPF record"),
    "permerror": ({"example.org": txt("v=spf1 bogus -all")},
                  "syntax error in the record of example.org"),
    "temperror": (FakeResolver(tempfail=["example.org"]), "DNS lookup of example.org TXT failed"),
}


@pytest.mark.parametrize("status", list(_EVERY_STATUS))
def test_str_is_a_short_verdict_line_and_repr_is_short(status: str) -> None:
    zone, reason = _EVERY_STATUS[status]
    r, _ = spf(zone)
    assert str(r.status) == status
    assert str(r) == f"spf={status}: {r.reason}" and r.reason.startswith(reason)
    assert "\n" not in str(r) and len(str(r)) < 200
    assert repr(r).startswith(f"<SPFResult spf={status}: ") and repr(r).endswith(">")
    assert "\n" not in repr(r) and len(repr(r)) <= 140
    assert "TraceStep" not in repr(r) and "_steps" not in repr(r)


def test_repr_of_a_long_reason_is_cut() -> None:
    r, _ = spf({"example.org": txt("v=spf1 " + "q" * 500)})
    assert r.status is Status.PERMERROR and len(r.reason) > 200
    assert len(repr(r)) <= 140 and repr(r).endswith("...>")




def test_notebook_html_shows_verdict_facts_helo_header_and_folded_trace() -> None:
    r = check_spf(IP, "user@example.org", "mx.example.org",
                  receiver="mx.local").run(FakeResolver(ZONE))
    page = r._repr_html_()
    assert page.startswith('<div class="mailauth-result">') and page.endswith("</div>")
    assert "<code>spf</code>" in page and ">pass<" in page
    assert "example.org designates 192.0.2.1 as permitted sender" in page
    for name, value in [("identity", "mailfrom"), ("domain", "example.org"),
                        ("sender", "user@example.org"), ("ip", "192.0.2.1"),
                        ("matched", "ip4:192.0.2.0/24"), ("lookups", "0/10"),
                        ("void lookups", "0/2"), ("record", "v=spf1 ip4:192.0.2.0/24 -all")]:
        assert f">{name}</th>" in page and f"<code>{value}</code>" in page, name
    assert "<li>HELO mx.example.org: " in page and "<code>helo</code>" in page
    assert page.count("<details>") == 4  # header field, trace, A-R fragment, HELO trace
    assert "<summary>trace (2 steps)</summary>" in page  # record, ip4 match
    assert "Received-SPF: pass (mx.local: domain of user@example.org designates" in page
    assert "spf=pass smtp.mailfrom=user@example.org" in page
    assert "\r" not in page


def test_notebook_html_escapes_what_came_from_dns() -> None:
    r, _ = spf({"example.org": txt("v=spf1 a:<b>x</b>.example.org -all")})
    page = r._repr_html_()
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page


def test_ipython_text_display() -> None:
    r = check_spf(IP, "user@example.org", "mx.example.org").run(FakeResolver(ZONE))
    printer = PrettyPrinter()
    r._repr_pretty_(printer, False)
    lines = "".join(printer.out).splitlines()
    assert lines[0] == str(r)
    assert "  lookups: 0/10" in lines and "  matched: ip4:192.0.2.0/24" in lines
    assert any(line.startswith("  - HELO mx.example.org: pass") for line in lines)
    assert lines[-1] == "  (2 trace steps: see .trace)"
    printer = PrettyPrinter()
    r._repr_pretty_(printer, True)
    assert printer.out == ["<SPFResult ...>"]


def test_a_result_without_helo_or_record_displays_too() -> None:
    r, _ = spf({}, helo=None)
    assert r.helo is None and r.record is None
    page = r._repr_html_()
    assert ">none<" in page and "<ol>" not in page and ">record</th>" not in page
    assert "<code>(no term)</code>" in page
