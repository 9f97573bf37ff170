"""MTA-STS (RFC 8461): policies, TXT records, MX matching, discovery and fetch flows,
the cache, the delivery decision. Offline, on mailauth.testing."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import mailauth.mta_sts as sts
from conftest import PrettyPrinter, shared_vector
from mailauth.errors import ArgumentTypeError, ParseError, UsageError
from mailauth.flows import Fetch, Query, Response
from mailauth.mta_sts import (
    CachedPolicy,
    MemoryStore,
    Policy,
    get_mta_sts_policy,
    match_mx,
    may_deliver,
    parse_policy,
    parse_record,
    policy_flow,
)
from mailauth.status import Status
from mailauth.testing import FakeFetcher, FakeResolver, drive

DOMAIN = "example.com"
URL = "https://mta-sts.example.com/.well-known/mta-sts.txt"
GOOD = (b"version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\nmx: *.example.net\r\n"
        b"max_age: 86400\r\n")
NOW = 1_700_000_000.0


# --- the published policies ---------------------------------------------------------

VECTORS = {
    "01-mode-none.txt": ("none", ("c365-biz.p-v1.mx.microsoft",
                                  "c365-biz.mail.protection.outlook.com"), 600),
    "02-enforce-google-6mx.txt": ("enforce", ("alt1.aspmx.l.google.com",
                                              "alt3.aspmx.l.google.com",
                                              "alt4.aspmx.l.google.com",
                                              "alt2.aspmx.l.google.com", "aspmx.l.google.com",
                                              "smtp.google.com"), 604800),
    "03-enforce-google-14d.txt": ("enforce", ("aspmx.l.google.com", "alt1.aspmx.l.google.com",
                                              "alt2.aspmx.l.google.com",
                                              "alt3.aspmx.l.google.com",
                                              "alt4.aspmx.l.google.com", "smtp.google.com"),
                                  1209600),
    "04-enforce-single-mx.txt": ("enforce", ("battlescars-org-uk01e.mail.protection.outlook.com",),
                                 1209600),
    "05-testing-wildcard-mx.txt": ("testing", ("*.gosia24.eu", "gosia24.home.pl"), 604800),
    "06-testing-trailing-dot-mx.txt": ("testing", ("mail.tutanota.de",), 604800),
    "07-testing-two-mx.txt": ("testing", ("mail.barrettrvrepair.com",
                                          "backupmx.barrettrvrepair.com"), 604800),
}


@pytest.mark.parametrize("name", sorted(VECTORS))
def test_published_policies_parse_to_their_fields(name: str) -> None:
    text = shared_vector("mta-sts-policies", name).read_text(encoding="utf-8")
    policy = parse_policy(text)
    mode, mx, max_age = VECTORS[name]
    assert (policy.version, policy.mode, policy.mx, policy.max_age) == ("STSv1", mode, mx,
                                                                          max_age)
    assert policy.text == text
    # the same policy with CRLF line ends
    assert parse_policy(text.replace("\n", "\r\n")).mx == mx


def test_published_wildcard_and_trailing_dot_match() -> None:
    wild = parse_policy(shared_vector("mta-sts-policies", "05-testing-wildcard-mx.txt")
                        .read_text(encoding="utf-8"))
    assert wild.matches("mx1.gosia24.eu") and wild.matches("GOSIA24.home.pl.")
    assert not wild.matches("gosia24.eu") and not wild.matches("a.b.gosia24.eu")
    dot = parse_policy(shared_vector("mta-sts-policies", "06-testing-trailing-dot-mx.txt")
                       .read_text(encoding="utf-8"))
    assert dot.matches("mail.tutanota.de") and dot.matches("Mail.Tutanota.DE.")


# --- parse_policy: authored cases ---------------------------------------------------

def test_lf_and_crlf_and_no_final_line_end_are_the_same() -> None:
    lf = parse_policy("version: STSv1\nmode: testing\nmx: a.example\nmax_age: 5")
    crlf = parse_policy("version: STSv1\r\nmode: testing\r\nmx: a.example\r\nmax_age: 5\r\n")
    assert (lf.mode, lf.mx, lf.max_age) == (crlf.mode, crlf.mx, crlf.max_age)


def test_unknown_keys_are_ignored_and_kept_as_extensions() -> None:
    policy = parse_policy("version: STSv1\nfoo_bar: anything at all\nmode: none\n"
                          "max_age: 0\nx.y-z: 1\n")
    assert policy.mode == "none" and policy.mx == () and policy.max_age == 0
    assert policy.extensions == (("foo_bar", "anything at all"), ("x.y-z", "1"))


def test_the_first_of_a_repeated_field_counts_and_every_mx_is_kept() -> None:
    policy = parse_policy("version: STSv1\nmode: enforce\nmode: none\nmx: a.example\n"
                          "mx: B.Example.\nmax_age: 10\nmax_age: 99999999999\n")
    assert (policy.mode, policy.mx, policy.max_age) == ("enforce", ("a.example", "b.example"),
                                                        10)


def test_whitespace_around_fields_and_blank_lines_are_tolerated() -> None:
    policy = parse_policy("\nversion:STSv1  \n\n  mode:\tenforce\t\nmx:   a.example\n"
                          "max_age: 31557600\n\n")
    assert (policy.mode, policy.mx, policy.max_age) == ("enforce", ("a.example",), 31557600)


NEGATIVE = {
    "no version": ("mode: enforce\nmx: a.example\nmax_age: 1\n", "version: missing"),
    "version STSv2": ("version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1\n",
                      "version: 'STSv2'"),
    "version in lower case": ("version: stsv1\nmode: enforce\nmx: a.example\nmax_age: 1\n",
                              "version:"),
    "no mode": ("version: STSv1\nmx: a.example\nmax_age: 1\n", "mode: missing"),
    "mode Enforce": ("version: STSv1\nmode: Enforce\nmx: a.example\nmax_age: 1\n",
                     "mode: 'Enforce'"),
    "mode reject": ("version: STSv1\nmode: reject\nmx: a.example\nmax_age: 1\n", "mode:"),
    "no max_age": ("version: STSv1\nmode: enforce\nmx: a.example\n", "max_age: missing"),
    "max_age too large": ("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557601\n",
                          "max_age: 31557601 exceeds"),
    "max_age of 11 digits": ("version: STSv1\nmode: enforce\nmx: a.example\n"
                             "max_age: 00000000001\n", "max_age:"),
    "max_age negative": ("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1\n",
                         "max_age:"),
    "max_age with a unit": ("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1d\n",
                            "max_age:"),
    "max_age empty": ("version: STSv1\nmode: enforce\nmx: a.example\nmax_age:\n", "max_age:"),
    "enforce without mx": ("version: STSv1\nmode: enforce\nmax_age: 1\n", "mx: missing"),
    "testing without mx": ("version: STSv1\nmode: testing\nmax_age: 1\n", "mx: missing"),
    "mx with two wildcards": ("version: STSv1\nmode: enforce\nmx: *.*.example\nmax_age: 1\n",
                              "mx:"),
    "mx with an inner wildcard": ("version: STSv1\nmode: enforce\nmx: a.*.example\n"
                                  "max_age: 1\n", "mx:"),
    "mx with a bare wildcard": ("version: STSv1\nmode: enforce\nmx: *\nmax_age: 1\n", "mx:"),
    "mx with an empty label": ("version: STSv1\nmode: enforce\nmx: a..example\nmax_age: 1\n",
                               "mx:"),
    "mx with a port": ("version: STSv1\nmode: enforce\nmx: a.example:25\nmax_age: 1\n", "mx:"),
    "mx empty": ("version: STSv1\nmode: enforce\nmx:\nmax_age: 1\n", "mx:"),
    "a line without a colon": ("version: STSv1\nmode enforce\nmx: a.example\nmax_age: 1\n",
                               "line 2"),
    "a lone CR inside a value": ("version: STSv1\nmode: enforce\rmx: a.example\nmax_age: 1\n",
                                 "mode:"),
    "an HTML page": ("<html><body>version: STSv1</body></html>", "line 1"),
    "empty": ("", "version: missing"),
}


@pytest.mark.parametrize("case", sorted(NEGATIVE))
def test_invalid_policies_are_refused_naming_the_key(case: str) -> None:
    text, words = NEGATIVE[case]
    with pytest.raises(ParseError) as info:
        parse_policy(text)
    assert words in str(info.value)
    assert info.value.rfc == "RFC 8461 §3.2"
    assert info.value.position is not None and 0 <= info.value.position <= len(text)


def test_parse_policy_wants_text() -> None:
    with pytest.raises(ArgumentTypeError, match="decode"):
        parse_policy(GOOD)  # type: ignore[arg-type]


# --- MX matching (§4.1) -------------------------------------------------------------

@pytest.mark.parametrize(("pattern", "host", "expected"), [
    ("mail.example.com", "mail.example.com", True),
    ("mail.example.com", "MAIL.Example.COM.", True),
    ("mail.example.com.", "mail.example.com", True),
    ("mail.example.com", "mail2.example.com", False),
    ("mail.example.com", "a.mail.example.com", False),
    ("*.example.com", "mx1.example.com", True),
    ("*.example.com", "MX1.EXAMPLE.COM.", True),
    ("*.example.com", "example.com", False),
    ("*.example.com", "a.b.example.com", False),
    ("*.example.com", ".example.com", False),
    ("*.example.com", "*.example.com", False),
    ("*.example.com", "mx1.example.org", False),
    ("*.example.com", "mx1.notexample.com", False),
    ("*.bücher.example", "mx.xn--bcher-kva.example", True),
    ("mx.xn--bcher-kva.example", "mx.bücher.example", True),
    ("mail.example.com", "", False),
])
def test_mx_patterns_match_as_section_4_1_says(pattern: str, host: str,
                                               expected: bool) -> None:
    assert match_mx(pattern, host) is expected


def test_matches_names_the_pattern() -> None:
    policy = parse_policy(GOOD.decode())
    assert policy.matching_pattern("x.example.net") == "*.example.net"
    assert policy.matches("mx1.example.com") and not policy.matches("mx2.example.com")
    with pytest.raises(ArgumentTypeError):
        policy.matches(b"mx1.example.com")  # type: ignore[arg-type]


# --- the TXT record (§3.1) ----------------------------------------------------------

@pytest.mark.parametrize(("text", "id_", "extensions"), [
    ("v=STSv1; id=20160831085700Z;", "20160831085700Z", ()),
    ("v=STSv1;id=1", "1", ()),
    ("v=STSv1 ;  id=abc  ;", "abc", ()),
    ("v=STSv1; foo=bar; id=X1; baz-qux=a:b", "X1", (("foo", "bar"), ("baz-qux", "a:b"))),
    ("v=STSv1; id=" + "a" * 32, "a" * 32, ()),
])
def test_txt_records_parse(text: str, id_: str, extensions: tuple[tuple[str, str], ...]
                           ) -> None:
    record = parse_record(text)
    assert (record.id, record.extensions, str(record)) == (id_, extensions, text)
    assert sts.is_sts_record(text)


@pytest.mark.parametrize(("text", "words"), [
    ("v=STSv1;", "id: missing"),
    ("v=STSv1; id=", "not a 'name=value'"),
    ("v=STSv1; id=" + "a" * 33, "id:"),
    ("v=STSv1; id=a-b", "id:"),
    ("v=STSv1; id=abc def", "expected ';'"),
    ("v=STSv2; id=1", "does not begin"),
    ("id=1; v=STSv1", "does not begin"),
    ("v=STSv1 id=1", "does not begin"),
    ("v=STSv1; =x; id=1", "not a 'name=value'"),
])
def test_invalid_txt_records_are_refused(text: str, words: str) -> None:
    with pytest.raises(ParseError, match=words):
        parse_record(text)


# --- discovery and the policy flow --------------------------------------------------

def resolver(*txt: str, tempfail: bool = False) -> FakeResolver:
    if tempfail:
        return FakeResolver(tempfail=[f"_mta-sts.{DOMAIN}"])
    return FakeResolver({f"_mta-sts.{DOMAIN}": {"TXT": list(txt)}} if txt else {})


def served(body: bytes = GOOD, status: int = 200,
           ctype: str | None = "text/plain", **headers: str) -> FakeFetcher:
    hdrs: tuple[tuple[str, str], ...] = (("Content-Type", ctype),) if ctype else ()
    hdrs += tuple(headers.items())
    return FakeFetcher({URL: Response(URL, status, hdrs, body)})


def run(res: FakeResolver, fetcher: FakeFetcher, **kw: Any) -> sts.MTASTSPolicyResult:
    kw.setdefault("now", NOW)
    return get_mta_sts_policy(DOMAIN, **kw).run(res, fetcher)


def test_the_flow_asks_the_txt_record_then_fetches_the_policy() -> None:
    result = drive(policy_flow(DOMAIN, now=NOW), [
        Query("_mta-sts.example.com", "TXT"),
        Fetch(URL, max_bytes=65536, timeout=60.0),
    ], resolver=resolver("v=STSv1; id=1;"), fetcher=served())
    assert result.status is Status.PASS and result.source == "fetched"
    assert result.policy is not None and result.policy.mode == "enforce"
    assert result.cached == CachedPolicy(DOMAIN, result.policy, "1", NOW)
    assert result.record is not None and result.record.id == "1"


@pytest.mark.parametrize(("txt", "words"), [
    ((), "no _mta-sts.example.com TXT record (NXDOMAIN)"),
    (("v=spf1 -all",), "begins with 'v=STSv1;'"),
    (("v=STSv1; id=1;", "v=STSv1; id=2;"), "2 v=STSv1 records"),
    (("v=STSv1; id=not valid;",), "is invalid"),
    (("v=STSv1;",), "id: missing"),
])
def test_no_usable_record_is_no_policy_and_nothing_is_fetched(txt: tuple[str, ...],
                                                              words: str) -> None:
    fetcher = served()
    result = run(resolver(*txt), fetcher)
    assert result.status is Status.NONE and words in result.reason
    assert result.policy is None and fetcher.requests == []


def test_other_txt_records_beside_the_sts_record_are_discarded() -> None:
    result = run(resolver("v=spf1 -all", "v=STSv1; id=7"), served())
    assert result.status is Status.PASS and result.cached is not None
    assert result.cached.id == "7"


def test_a_dns_tempfail_is_a_temperror_never_no_policy() -> None:
    result = run(resolver(tempfail=True), served())
    assert result.status is Status.TEMPERROR and "failed" in result.reason
    assert result.policy is None


@pytest.mark.parametrize(("fetcher", "status", "words"), [
    (served(status=404, body=b"not found"), Status.PERMERROR, "HTTP 404"),
    (served(status=301, body=b"", Location="https://elsewhere.example/p"),
     Status.PERMERROR, "redirect to https://elsewhere.example/p is not followed"),
    (served(status=503, body=b""), Status.TEMPERROR, "HTTP 503"),
    (served(ctype="text/html"), Status.PERMERROR, "'text/html' is not text/plain"),
    (served(ctype=None), Status.PERMERROR, "'(none)' is not text/plain"),
    (served(body=GOOD + b"x-pad: " + b"a" * 66000 + b"\n"), Status.PERMERROR,
     "larger than 65536"),
    (served(body=b"version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1\xff\n"),
     Status.PERMERROR, "not UTF-8"),
    (served(body=b"version: STSv1\nmode: enforce\nmax_age: 1\n"), Status.PERMERROR,
     "invalid policy: mx: missing"),
    (FakeFetcher(), Status.TEMPERROR, "connection refused"),
])
def test_a_policy_that_cannot_be_fetched_is_an_error_without_a_cache(
        fetcher: FakeFetcher, status: Status, words: str) -> None:
    result = run(resolver("v=STSv1; id=1"), fetcher)
    assert result.status is status and words in result.reason, result.reason
    assert "deliver as though the domain had no MTA-STS" in result.reason
    assert result.policy is None and result.cached is None
    assert result.may_deliver("anything.example", starttls=False,
                              certificate_valid=False).allowed


@pytest.mark.parametrize("ctype", ["text/plain; charset=utf-8", "TEXT/PLAIN",
                                   "text/plain ; charset=\"us-ascii\""])
def test_text_plain_with_parameters_is_accepted(ctype: str) -> None:
    assert run(resolver("v=STSv1; id=1"), served(ctype=ctype)).status is Status.PASS


# --- the cache ----------------------------------------------------------------------

def test_an_unchanged_id_uses_the_cache_and_a_new_id_fetches_again() -> None:
    store = MemoryStore()
    first = run(resolver("v=STSv1; id=1"), served(), cache=store)
    assert first.source == "fetched" and store.get(DOMAIN) == first.cached
    fetcher = served(body=GOOD.replace(b"enforce", b"testing"))
    again = run(resolver("v=STSv1; id=1"), fetcher, cache=store, now=NOW + 60)
    assert again.source == "cache" and again.mode == "enforce" and fetcher.requests == []
    changed = run(resolver("v=STSv1; id=2"), fetcher, cache=store, now=NOW + 120)
    assert changed.source == "fetched" and changed.mode == "testing"
    cached = store.get(DOMAIN)
    assert cached is not None and (cached.id, cached.fetched) == ("2", NOW + 120)


def test_an_expired_policy_is_fetched_again_and_not_applied_when_that_fails() -> None:
    store = MemoryStore()
    run(resolver("v=STSv1; id=1"), served(), cache=store)
    later = NOW + 86400  # max_age is 86400: expired
    refreshed = run(resolver("v=STSv1; id=1"), served(), cache=store, now=later)
    assert refreshed.source == "fetched"
    failed = run(resolver("v=STSv1; id=1"), FakeFetcher(), cache=store, now=later + 86400)
    assert failed.status is Status.TEMPERROR and failed.policy is None


def test_a_failed_refresh_keeps_the_cached_policy_and_says_so() -> None:
    store = MemoryStore()
    run(resolver("v=STSv1; id=1"), served(), cache=store)
    result = run(resolver("v=STSv1; id=2"), served(status=500, body=b""), cache=store,
                 now=NOW + 100)
    assert result.status is Status.PASS and result.source == "cache"
    assert result.mode == "enforce" and result.refresh_error is not None
    assert "HTTP 500" in result.refresh_error and "could not be refreshed" in result.reason
    kept = store.get(DOMAIN)
    assert kept is not None and (kept.id, kept.fetched, kept.refresh_failed) == (
        "1", NOW, NOW + 100)
    assert "HTTP 500" in (kept.refresh_error or "")


def test_a_cached_policy_outlives_a_dns_failure_and_a_removed_record() -> None:
    store = MemoryStore()
    run(resolver("v=STSv1; id=1"), served(), cache=store)
    dns_down = run(resolver(tempfail=True), FakeFetcher(), cache=store, now=NOW + 10)
    assert dns_down.status is Status.PASS and dns_down.source == "cache"
    assert dns_down.refresh_error is not None
    gone = run(resolver(), FakeFetcher(), cache=store, now=NOW + 20)
    assert gone.status is Status.PASS and gone.source == "cache" and gone.refresh_error is None
    assert "until it expires" in gone.reason
    expired = run(resolver(), FakeFetcher(), cache=store, now=NOW + 86400)
    assert expired.status is Status.NONE and store.get(DOMAIN) is None


def test_a_policy_older_than_the_refresh_interval_is_fetched_again() -> None:
    store = MemoryStore()
    run(resolver("v=STSv1; id=1"), served(), cache=store)
    fetcher = served()
    result = run(resolver("v=STSv1; id=1"), fetcher, cache=store, now=NOW + 3600,
                 refresh_interval=1800)
    assert result.source == "fetched" and "(refreshed)" in result.reason
    assert len(fetcher.requests) == 1


def test_a_check_without_a_cache_keeps_its_own_between_runs() -> None:
    check = get_mta_sts_policy(DOMAIN, now=NOW)
    assert check.run(resolver("v=STSv1; id=1"), served()).source == "fetched"
    assert check.run(resolver("v=STSv1; id=1"), FakeFetcher()).source == "cache"


def test_a_broken_store_does_not_stop_the_check() -> None:
    class Broken:
        def get(self, domain: str) -> CachedPolicy | None:
            raise OSError("disk on fire")

        def put(self, entry: CachedPolicy) -> None:
            raise OSError("still on fire")

        def delete(self, domain: str) -> None:
            raise OSError("ashes")

    result = run(resolver("v=STSv1; id=1"), served(), cache=Broken())
    assert result.status is Status.PASS
    assert any("disk on fire" in line for line in result.trace)


def test_the_async_driver_gives_the_same_result() -> None:
    store = MemoryStore()
    check = get_mta_sts_policy(DOMAIN, now=NOW, cache=store)
    result = asyncio.run(check.arun(resolver("v=STSv1; id=1"), served()))
    assert result.status is Status.PASS and store.get(DOMAIN) == result.cached


# --- the delivery decision ----------------------------------------------------------

ENFORCE = parse_policy(GOOD.decode())
TESTING = parse_policy(GOOD.decode().replace("enforce", "testing"))
NONE_MODE = parse_policy("version: STSv1\nmode: none\nmax_age: 1\n")


@pytest.mark.parametrize(("policy", "mx", "tls", "cert", "allowed", "report", "words"), [
    (ENFORCE, "mx1.example.com", True, True, True, False, "matches mx1.example.com"),
    (ENFORCE, "evil.example.org", True, True, False, True, "matches no mx pattern"),
    (ENFORCE, "mx1.example.com", False, False, False, True, "STARTTLS"),
    (ENFORCE, "a.example.net", True, False, False, True, "certificate"),
    (TESTING, "evil.example.org", False, False, True, True, "testing mode: deliver"),
    (TESTING, "a.example.net", True, True, True, False, "TLS is valid"),
    (NONE_MODE, "anything", False, False, True, False, "mode is none"),
    (None, "anything", False, False, True, False, "no MTA-STS policy"),
])
def test_may_deliver(policy: Policy | None, mx: str, tls: bool, cert: bool, allowed: bool,
                     report: bool, words: str) -> None:
    decision = may_deliver(policy, mx, starttls=tls, certificate_valid=cert)
    assert (decision.allowed, decision.report) == (allowed, report)
    assert words in decision.reason
    assert str(decision).startswith("mta-sts=")


def test_may_deliver_wants_booleans() -> None:
    with pytest.raises(ArgumentTypeError):
        may_deliver(ENFORCE, "mx1.example.com", starttls=1,  # type: ignore[arg-type]
                    certificate_valid=True)


# --- the caller's mistakes and the faces --------------------------------------------

def test_the_callers_mistakes() -> None:
    with pytest.raises(ArgumentTypeError):
        get_mta_sts_policy(b"example.com")  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        get_mta_sts_policy("a..example")
    with pytest.raises(ArgumentTypeError, match="PolicyStore"):
        get_mta_sts_policy(DOMAIN, cache={})  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        get_mta_sts_policy(DOMAIN, timeout=0)
    with pytest.raises(ArgumentTypeError):
        get_mta_sts_policy(DOMAIN, now="now")  # type: ignore[arg-type]


def test_a_unicode_domain_is_asked_in_a_labels() -> None:
    res = FakeResolver({"_mta-sts.xn--bcher-kva.example": {"TXT": ["v=STSv1; id=1"]}})
    url = "https://mta-sts.xn--bcher-kva.example/.well-known/mta-sts.txt"
    result = get_mta_sts_policy("Bücher.example.", now=NOW).run(res, FakeFetcher({url: GOOD}))
    assert result.status is Status.PASS and result.url == url


def test_the_result_shows_itself() -> None:
    result = run(resolver("v=STSv1; id=1"), served())
    assert str(result) == "mta-sts=pass: policy id 1 fetched: mode enforce"
    assert repr(result).startswith("<MTASTSPolicyResult mta-sts=pass")
    html = result._repr_html_()
    assert "mx1.example.com" in html and "max_age" in html
    printer = PrettyPrinter()
    result._repr_pretty_(printer, False)
    assert "mode: enforce" in "".join(printer.out)


# --- hypothesis ---------------------------------------------------------------------

_LINES = st.sampled_from(["version: STSv1", "mode: enforce", "mode: testing", "mode: none",
                          "mx: a.example", "mx: *.example", "max_age: 86400", "max_age: x",
                          "version: STSv2", "mx: *.*", "", "junk", "k: v", "max_age:  1 "])


@given(st.text(max_size=300))
def test_parse_policy_raises_only_parse_error_on_any_text(text: str) -> None:
    try:
        policy = parse_policy(text)
    except ParseError:
        return
    assert policy.mode in ("enforce", "testing", "none") and 0 <= policy.max_age <= 31557600


@given(st.lists(_LINES, max_size=12), st.sampled_from(["\n", "\r\n"]))
def test_parse_policy_on_lines_of_fields(lines: list[str], end: str) -> None:
    text = end.join(lines)
    try:
        policy = parse_policy(text)
    except ParseError as exc:
        assert exc.position is not None and 0 <= exc.position <= len(text)
        return
    assert parse_policy(text.replace("\r\n", "\n")) == parse_policy(
        text.replace("\r\n", "\n"))
    assert policy.mx or policy.mode == "none"


@given(st.text(max_size=120))
def test_parse_record_raises_only_parse_error(text: str) -> None:
    with contextlib.suppress(ParseError):
        parse_record(text)


_LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)


@given(st.lists(_LABEL, min_size=1, max_size=4), _LABEL, st.booleans(), st.booleans())
def test_a_wildcard_matches_exactly_one_more_label(base: list[str], left: str, upper: bool,
                                                   dot: bool) -> None:
    domain = ".".join(base)
    host = f"{left}.{domain}"
    shown = (host.upper() if upper else host) + ("." if dot else "")
    assert match_mx(f"*.{domain}", shown)
    assert match_mx(host, shown)
    assert not match_mx(f"*.{domain}", domain)
    assert not match_mx(f"*.{domain}", f"{left}.{host}")
    assert not match_mx(f"*.{host}", host)


@given(st.text(max_size=40), st.text(max_size=40))
def test_match_mx_never_raises(pattern: str, host: str) -> None:
    assert match_mx(pattern, host) in (True, False)


def test_a_failed_refresh_is_not_retried_for_five_minutes() -> None:
    store = MemoryStore()
    run(resolver("v=STSv1; id=1"), served(), cache=store)
    run(resolver("v=STSv1; id=2"), FakeFetcher(), cache=store, now=NOW + 100)
    fetcher = served()
    waiting = run(resolver("v=STSv1; id=2"), fetcher, cache=store, now=NOW + 399)
    assert waiting.source == "cache" and fetcher.requests == []
    assert "the last refresh failed 299 s ago" in waiting.reason
    assert waiting.refresh_error is not None and "connection refused" in waiting.refresh_error
    retried = run(resolver("v=STSv1; id=2"), fetcher, cache=store, now=NOW + 400)
    assert retried.source == "fetched" and len(fetcher.requests) == 1
    cached = store.get(DOMAIN)
    assert cached is not None and (cached.id, cached.refresh_failed) == ("2", None)


_HOST = st.lists(_LABEL, min_size=2, max_size=4).map(".".join)
_PATTERN = st.one_of(_HOST, _HOST.map(lambda h: f"*.{h}"))


@given(st.sampled_from(["enforce", "testing", "none"]), st.lists(_PATTERN, min_size=1,
                                                                  max_size=5),
       st.integers(0, 31557600), st.sampled_from(["\n", "\r\n"]), st.permutations(range(4)))
def test_a_valid_policy_parses_to_its_fields_in_any_order(mode: str, mx: list[str],
                                                          max_age: int, end: str,
                                                          order: list[int]) -> None:
    fields = [["version: STSv1"], [f"mode: {mode}"], [f"mx: {p}" for p in mx],
              [f"max_age: {max_age}"]]
    text = end.join(line for i in order for line in fields[i]) + end
    policy = parse_policy(text)
    assert (policy.mode, policy.mx, policy.max_age) == (mode, tuple(mx), max_age)
    assert all(policy.matches(p.replace("*", "x")) for p in mx)


def test_hostile_policies_finish() -> None:
    """100 KB built to make a backtracking pattern explode finishes (no timing: a
    quadratic reading would take hours here, not a second)."""
    for text in ("mx: " + "a." * 50_000 + "\n", "k" * 100_000, "\n" * 100_000,
                 "version: STSv1\n" + "x-y: " + "a " * 50_000 + "\n",
                 "mx: " + "*." * 50_000 + "a\n", "mx: " + "a-" * 50_000 + "\n"):
        with contextlib.suppress(ParseError):
            parse_policy(text)
        with contextlib.suppress(ParseError):
            parse_record("v=STSv1; " + text.replace("\n", ";"))
