"""The dnspython adapters against real servers on loopback (tests/infra).

Every answer is asked four ways — ``DNSResolver.resolve()``, ``DNSResolver.aresolve()``,
``Check.run()`` and ``Check.arun()`` — of the validating resolver (unbound) and, where
it matters, of the authoritative server (knotd) directly. The expected data is in
tests/infra/zones/*.zone.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from ipaddress import IPv4Address, IPv6Address
from typing import cast

import dns.asyncbackend
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import pytest

from mailauth import MX, TLSA, Answer, Check, Fetch, Outcome, Query
from mailauth._flow import Flow, RRType, query, query_all
from mailauth.fetchers import HTTPSFetcher
from mailauth.resolvers import DNSResolver

from .conftest import Infra

DRIVERS = ("resolve", "aresolve", "run", "arun")
LONG_TXT = "".join(c * 250 for c in "abcdef")
TLSA_MX = bytes.fromhex("8d02536c887482bc34ff54e41d2ba659bf85b341a0a20afadb5813dcfbcf286d")


def ask(driver: str, resolver: DNSResolver, name: str, rdtype: str,
        *, timeout: float = 5.0, budget: float = 20.0) -> Answer:
    """One question through one of the four ways in."""
    q = Query(name, cast(RRType, rdtype))
    if driver == "resolve":
        return resolver.resolve(q, timeout=timeout)
    if driver == "aresolve":
        return asyncio.run(resolver.aresolve(q, timeout=timeout))
    check = Check(lambda: query(name, q.rdtype), budget=budget, query_timeout=timeout)
    if driver == "run":
        return check.run(resolver)
    return asyncio.run(check.arun(resolver))


@pytest.fixture(params=DRIVERS)
def driver(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["resolver", "authoritative"])
def server(request: pytest.FixtureRequest, infra: Infra) -> DNSResolver:
    if request.param == "resolver":
        return infra.resolver(trust_ad=True)
    return infra.authoritative()


@pytest.fixture
def unbound(infra: Infra) -> DNSResolver:
    return infra.resolver(trust_ad=True)


@pytest.fixture
def knot(infra: Infra) -> DNSResolver:
    return infra.authoritative()


class SilentServer:
    """A UDP socket on 127.0.0.1 that reads queries and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port: int = self.sock.getsockname()[1]
        self.received: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                data, _ = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            self.received.append(data)

    def names_asked(self) -> list[str]:
        return [dns.message.from_wire(d).question[0].name.to_text() for d in self.received]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


class ScriptedServer(SilentServer):
    """A UDP DNS server on 127.0.0.1 that answers every query with ``reply(query)``."""

    def __init__(self, reply: Callable[[dns.message.Message], bytes]) -> None:
        self.reply = reply
        super().__init__()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            self.received.append(data)
            self.sock.sendto(self.reply(dns.message.from_wire(data)), peer)


@contextlib.contextmanager
def scripted(reply: Callable[[dns.message.Message], bytes]) -> Iterator[ScriptedServer]:
    server = ScriptedServer(reply)
    try:
        yield server
    finally:
        server.close()


def _truncated(q: dns.message.Message) -> bytes:
    r = dns.message.make_response(q)
    r.flags |= dns.flags.TC
    return r.to_wire()


def _refused(q: dns.message.Message) -> bytes:
    r = dns.message.make_response(q)
    r.set_rcode(dns.rcode.REFUSED)
    return r.to_wire()


def _garbage(q: dns.message.Message) -> bytes:
    return q.to_wire()[:2] + b"\x81\x80\x00\x01\x00\x01"  # header claims data, none follows


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    server = SilentServer()
    try:
        yield server
    finally:
        server.close()


# --- TXT ----------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "expected"), [
    ("multi.example.test", "v=spf1 ip4:192.0.2.0/24 -all"),
    ("split.example.test", "abcdefghi"),
    ("utf8.example.test", "café"),
    ("unsigned.test", "v=spf1 a mx -all"),
])
def test_txt_strings_of_one_record_are_joined_with_nothing(
        driver: str, server: DNSResolver, name: str, expected: str) -> None:
    answer = ask(driver, server, name, "TXT")
    assert answer.outcome is Outcome.OK, answer.describe()
    assert answer.records == (expected,)


def test_txt_records_at_one_name_stay_separate(driver: str, server: DNSResolver) -> None:
    answer = ask(driver, server, "two.example.test", "TXT")
    assert answer.outcome is Outcome.OK, answer.describe()
    assert sorted(answer.txt()) == ["first record", "second record"]


def test_long_txt_needs_tcp(infra: Infra) -> None:
    # The premise of the next test: over UDP (EDNS 1232, as DNSResolver asks) the
    # answer does not fit and comes back truncated, so the client must retry on TCP.
    for port in (infra.dns_auth_port, infra.dns_resolver_port):
        msg = dns.message.make_query("long.example.test", "TXT", use_edns=0, payload=1232,
                                     want_dnssec=True)
        response = dns.query.udp(msg, infra.host, port=port, timeout=5)
        assert response.flags & dns.flags.TC, f"port {port}: expected TC=1"


def test_long_txt_is_fetched_over_tcp_and_joined(driver: str, server: DNSResolver) -> None:
    answer = ask(driver, server, "long.example.test", "TXT")
    assert answer.outcome is Outcome.OK, answer.describe()
    assert answer.records == (LONG_TXT,)
    assert len(answer.records[0]) == 1500


def test_tcp_only_resolver(driver: str, infra: Infra) -> None:
    resolver = infra.resolver(tcp=True)
    for name, expected in (("multi.example.test", "v=spf1 ip4:192.0.2.0/24 -all"),
                           ("long.example.test", LONG_TXT)):
        answer = ask(driver, resolver, name, "TXT")
        assert answer.records == (expected,), answer.describe()
        assert answer.authentic


# --- typed records ----------------------------------------------------------------------

@pytest.mark.parametrize(("name", "rdtype", "expected"), [
    ("example.test", "A", [IPv4Address("127.0.0.1")]),
    ("example.test", "AAAA", [IPv6Address("::1")]),
    ("example.test", "MX", [MX(10, "mx.example.test"), MX(20, "mx2.example.test")]),
    ("1.2.0.192.in-addr.arpa", "PTR", ["mx.example.test"]),
    ("2.2.0.192.in-addr.arpa", "PTR", ["mx.example.test", "mx2.example.test"]),
    ("_25._tcp.mx.example.test", "TLSA", [TLSA(3, 1, 1, TLSA_MX)]),
    ("_25._tcp.mx2.example.test", "TLSA",
     [TLSA(2, 0, 1, bytes(31) + b"\x01"), TLSA(3, 1, 2, b"\xab" * 64)]),
    ("alias.example.test", "CNAME", ["mx.example.test"]),
])
def test_records_are_typed(driver: str, server: DNSResolver, name: str, rdtype: str,
                           expected: list[object]) -> None:
    answer = ask(driver, server, name, rdtype)
    assert answer.outcome is Outcome.OK, answer.describe()
    assert sorted(answer.records, key=str) == sorted(expected, key=str)
    assert all(type(r) is type(expected[0]) for r in answer.records)
    assert answer.ttl is not None and 0 <= answer.ttl <= 300


# --- one bad record is not a failed lookup (RFC 7671 §4.1) ---------------------------------
# _25._tcp.partial.example.test has a good TLSA record and one with 31 bytes for SHA-256;
# _25._tcp.unusable.example.test only bad ones. knotd serves and signs them, unbound
# validates them; dnspython 2.9 would refuse the whole response.

TLSA_PARTIAL = TLSA(3, 1, 1, b"\xc0" * 32)


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_unusable_tlsa_record_is_left_out(driver: str, infra: Infra, tcp: bool) -> None:
    for resolver, authentic in ((infra.resolver(tcp=tcp), True),
                                (infra.authoritative(tcp=tcp), False)):
        start = time.monotonic()
        answer = ask(driver, resolver, "_25._tcp.partial.example.test", "TLSA")
        assert time.monotonic() - start < 2.0, "waited for a timeout"
        assert answer.outcome is Outcome.OK, answer.describe()
        assert answer.records == (TLSA_PARTIAL,)
        assert answer.authentic is authentic
        assert answer.reason.startswith("1 unusable TLSA record left out"), answer.reason


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_only_unusable_tlsa_records(driver: str, server: DNSResolver, tcp: bool) -> None:
    server.tcp = tcp
    answer = ask(driver, server, "_25._tcp.unusable.example.test", "TLSA")
    # records are published but none is usable: OK with no records, not NODATA
    assert answer.outcome is Outcome.OK, answer.describe()
    assert answer.records == ()
    assert answer.reason.startswith("2 unusable TLSA records left out"), answer.reason


def test_tlsa_through_a_cname_keeps_the_good_record(driver: str, infra: Infra) -> None:
    owner = f"cn-{uuid.uuid4().hex[:8]}"
    infra.set_records("example.test", f"_25._tcp.{owner}", "CNAME",
                      "_25._tcp.partial.example.test.")
    try:
        answer = ask(driver, infra.resolver(), f"_25._tcp.{owner}.example.test", "TLSA")
    finally:
        infra.set_records("example.test", f"_25._tcp.{owner}", "CNAME")
    assert answer.records == (TLSA_PARTIAL,), answer.describe()
    assert answer.canonical_name == "_25._tcp.partial.example.test"
    assert "unusable TLSA record" in answer.reason


def _tlsa_reply(*rdata: bytes, mx: bytes | None = None,
                stray_first: bool = False) -> Callable[[dns.message.Message], list[bytes]]:
    """Replies to a TLSA query with the given raw rdata (unchecked), optionally with an
    MX record in the answer, and optionally after a datagram with another query's id."""
    def reply(q: dns.message.Message) -> list[bytes]:
        r = dns.message.make_response(q)
        owner = q.question[0].name
        tlsa = r.find_rrset(r.answer, owner, dns.rdataclass.IN, dns.rdatatype.TLSA,
                            create=True)
        for data in rdata:
            tlsa.add(dns.rdata.GenericRdata(dns.rdataclass.IN, dns.rdatatype.TLSA, data), 60)
        if mx is not None:
            rrset = r.find_rrset(r.answer, owner, dns.rdataclass.IN, dns.rdatatype.MX,
                                 create=True)
            rrset.add(dns.rdata.GenericRdata(dns.rdataclass.IN, dns.rdatatype.MX, mx), 60)
        wire = r.to_wire()
        stray = ((wire[0] ^ 0x55) & 0xFF).to_bytes(1, "big") + wire[1:]
        return [stray, wire] if stray_first else [wire]
    return reply


class MultiReplyServer(SilentServer):
    """A UDP DNS server on 127.0.0.1 that sends every datagram of ``reply(query)``."""

    def __init__(self, reply: Callable[[dns.message.Message], list[bytes]]) -> None:
        self.reply = reply
        super().__init__()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            self.received.append(data)
            for datagram in self.reply(dns.message.from_wire(data)):
                self.sock.sendto(datagram, peer)


def test_tlsa_datagram_for_another_query_is_ignored(driver: str) -> None:
    good, short = bytes([3, 1, 1]) + b"\xc0" * 32, bytes([3, 1, 1]) + b"\xba" * 31
    server = MultiReplyServer(_tlsa_reply(good, short, stray_first=True))
    try:
        resolver = DNSResolver(["127.0.0.1"], port=server.port, timeout=2.0)
        answer = ask(driver, resolver, "_25._tcp.mx.example.test", "TLSA", timeout=2.0)
    finally:
        server.close()
    assert answer.records == (TLSA_PARTIAL,), answer.describe()
    assert "1 unusable TLSA record" in answer.reason


def test_tlsa_response_with_a_broken_mx_is_tempfail_at_once(driver: str) -> None:
    # Only TLSA/SMIMEA data is forgiven: a broken MX makes the response unusable, and the
    # answer says so without waiting for the timeout.
    good = bytes([3, 1, 1]) + b"\xc0" * 32
    server = MultiReplyServer(_tlsa_reply(good, mx=b"\x00\x0a\x03mx"))
    try:
        resolver = DNSResolver(["127.0.0.1"], port=server.port, timeout=3.0)
        start = time.monotonic()
        answer = ask(driver, resolver, "_25._tcp.mx.example.test", "TLSA", timeout=3.0)
        elapsed = time.monotonic() - start
    finally:
        server.close()
    assert answer.outcome is Outcome.TEMPFAIL, answer.describe()
    assert elapsed < 2.0, f"took {elapsed:.1f}s"


def test_tlsa_question_to_a_silent_server_times_out(driver: str, silent: SilentServer) -> None:
    resolver = DNSResolver(["127.0.0.1"], port=silent.port, timeout=0.5)
    start = time.monotonic()
    answer = ask(driver, resolver, "_25._tcp.mx.example.test", "TLSA", timeout=0.5)
    elapsed = time.monotonic() - start
    assert answer.outcome is Outcome.TEMPFAIL, answer.describe()
    assert "timeout" in answer.reason.lower()
    assert elapsed < 3.0, f"took {elapsed:.1f}s for a 0.5s timeout"
    assert "_25._tcp.mx.example.test." in silent.names_asked()


def _unparsable_first(q: dns.message.Message) -> list[bytes]:
    good = bytes([3, 1, 1]) + b"\xc0" * 32
    truncated_other = dns.message.make_response(q)
    truncated_other.id ^= 0x5555
    truncated_other.flags |= dns.flags.TC
    return [b"\x00\x01 not DNS", truncated_other.to_wire(), *_tlsa_reply(good)(q)]


def test_tlsa_datagrams_that_are_not_our_response_are_ignored(driver: str) -> None:
    # garbage, and a truncated response to another query: neither ends the wait
    server = MultiReplyServer(_unparsable_first)
    try:
        resolver = DNSResolver(["127.0.0.1"], port=server.port, timeout=2.0)
        answer = ask(driver, resolver, "_25._tcp.mx.example.test", "TLSA", timeout=2.0)
    finally:
        server.close()
    assert answer.records == (TLSA_PARTIAL,), answer.describe()
    assert answer.reason == ""


def test_truncated_tlsa_response_goes_to_tcp(driver: str) -> None:
    # our own truncated response sends the question to TCP; nothing listens there
    server = MultiReplyServer(lambda q: [_truncated(q)])
    try:
        resolver = DNSResolver(["127.0.0.1"], port=server.port, timeout=1.0)
        answer = ask(driver, resolver, "_25._tcp.mx.example.test", "TLSA", timeout=1.0)
    finally:
        server.close()
    assert answer.outcome is Outcome.TEMPFAIL, answer.describe()


class TCPScriptedServer:
    """A TCP DNS server on 127.0.0.1: ``reply(query)`` gives the response's wire form, or
    None to close the connection without one."""

    def __init__(self, reply: Callable[[dns.message.Message], bytes | None]) -> None:
        self.reply = reply
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.listener.settimeout(0.1)
        self.port: int = self.listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(2.0)
                try:
                    size = int.from_bytes(conn.recv(2), "big")
                    data = b""
                    while len(data) < size:
                        data += conn.recv(size - len(data))
                    wire = self.reply(dns.message.from_wire(data))
                    if wire is not None:
                        conn.sendall(len(wire).to_bytes(2, "big") + wire)
                except OSError:
                    continue

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.listener.close()


def _other_id(q: dns.message.Message) -> bytes:
    r = dns.message.make_response(q)
    r.id ^= 0x5555
    return r.to_wire()


@pytest.mark.parametrize("reply", [lambda q: None, _other_id], ids=["eof", "other-id"])
def test_broken_tcp_answer_to_a_tlsa_question_is_tempfail(
        driver: str, reply: Callable[[dns.message.Message], bytes | None]) -> None:
    server = TCPScriptedServer(reply)
    try:
        resolver = DNSResolver(["127.0.0.1"], port=server.port, timeout=1.0, tcp=True)
        start = time.monotonic()
        answer = ask(driver, resolver, "_25._tcp.mx.example.test", "TLSA", timeout=1.0)
        elapsed = time.monotonic() - start
    finally:
        server.close()
    assert answer.outcome is Outcome.TEMPFAIL, answer.describe()
    assert elapsed < 2.0, f"took {elapsed:.1f}s"


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_lenient_nameserver_from_a_chosen_source_address(infra: Infra, tcp: bool) -> None:
    # dnspython passes source/source_port through; the lenient path binds to them
    from mailauth.resolvers import _Do53

    nameserver = _Do53(infra.host, infra.dns_auth_port)
    request = dns.message.make_query("_25._tcp.partial.example.test", "TLSA")
    response = nameserver.query(request, 2.0, "127.0.0.1", 0, tcp)
    assert request.is_response(response)
    backend = dns.asyncbackend.get_backend("asyncio")
    response = asyncio.run(nameserver.async_query(request, 2.0, "127.0.0.1", 0, tcp, backend))
    assert request.is_response(response)
    assert len(response.errors) == 1  # the short record, left out


def test_cname_is_followed_and_reported(driver: str, unbound: DNSResolver) -> None:
    answer = ask(driver, unbound, "alias.example.test", "A")
    assert answer.outcome is Outcome.OK, answer.describe()
    assert answer.records == (IPv4Address("127.0.0.1"),)
    assert answer.canonical_name == "mx.example.test"
    assert answer.authentic
    direct = ask(driver, unbound, "mx.example.test", "A")
    assert direct.canonical_name is None  # no CNAME on the way, as FakeResolver says too


def test_cname_to_nothing(driver: str, server: DNSResolver) -> None:
    # RFC 6604 §2.1: the rcode is that of the last name in the chain
    answer = ask(driver, server, "dangling.example.test", "A")
    assert answer.outcome is Outcome.NXDOMAIN, answer.describe()
    assert answer.canonical_name == "nowhere.example.test"
    target = ask(driver, server, "dangling.example.test", "CNAME")
    assert target.records == ("nowhere.example.test",), target.describe()


def test_cname_to_a_name_without_that_type_is_nodata(driver: str, server: DNSResolver) -> None:
    answer = ask(driver, server, "alias.example.test", "TXT")
    assert answer.outcome is Outcome.NODATA, answer.describe()


def test_wildcard(driver: str, unbound: DNSResolver) -> None:
    for name in ("x.wild.example.test", "a.b.wild.example.test"):
        answer = ask(driver, unbound, name, "TXT")
        assert answer.records == ("from the wildcard",), answer.describe()
        assert answer.authentic
    assert ask(driver, unbound, "x.wild.example.test", "A").outcome is Outcome.NODATA


def test_mixed_case_and_trailing_dot(driver: str, server: DNSResolver) -> None:
    answer = ask(driver, server, "MULTI.Example.TEST.", "TXT")
    assert answer.records == ("v=spf1 ip4:192.0.2.0/24 -all",), answer.describe()


def test_resolver_over_ipv6_loopback(driver: str, infra: Infra) -> None:
    resolver = DNSResolver(["::1"], port=infra.dns_resolver_port, trust_ad=True)
    answer = ask(driver, resolver, "example.test", "AAAA")
    assert answer.records == (IPv6Address("::1"),), answer.describe()
    assert answer.authentic


# --- negative answers -----------------------------------------------------------------

@pytest.mark.parametrize(("name", "rdtype", "outcome"), [
    ("nope.example.test", "TXT", Outcome.NXDOMAIN),
    ("deeper.nope.example.test", "A", Outcome.NXDOMAIN),
    ("x.leaf.ent.example.test", "TXT", Outcome.NXDOMAIN),
    ("nope.unsigned.test", "TXT", Outcome.NXDOMAIN),
    ("9.2.0.192.in-addr.arpa", "PTR", Outcome.NXDOMAIN),
    ("example.test", "TLSA", Outcome.NODATA),
    ("multi.example.test", "A", Outcome.NODATA),
    ("ent.example.test", "TXT", Outcome.NODATA),      # empty non-terminal
    ("ent.example.test", "A", Outcome.NODATA),
    ("leaf.ent.example.test", "MX", Outcome.NODATA),
    ("unsigned.test", "AAAA", Outcome.NODATA),
])
def test_nxdomain_and_nodata(driver: str, server: DNSResolver, name: str, rdtype: str,
                             outcome: Outcome) -> None:
    answer = ask(driver, server, name, rdtype)
    assert answer.outcome is outcome, answer.describe()
    assert answer.records == ()
    assert answer.void


def test_negative_ttl_from_the_soa(driver: str, knot: DNSResolver) -> None:
    # RFC 2308 §5: min(SOA TTL, SOA MINIMUM) = 300 in our zones
    for name, rdtype in (("nope.example.test", "TXT"), ("example.test", "TLSA")):
        answer = ask(driver, knot, name, rdtype)
        assert answer.void, answer.describe()
        assert answer.ttl == 300, answer.describe()


# --- failures ----------------------------------------------------------------------------

def test_bogus_record_is_tempfail(driver: str, infra: Infra, unbound: DNSResolver,
                                  knot: DNSResolver) -> None:
    answer = ask(driver, unbound, "tampered.bogus.test", "TXT")
    assert answer.outcome is Outcome.TEMPFAIL, answer.describe()
    assert answer.records == ()
    assert "SERVFAIL" in answer.reason
    # the same name is served fine by the authoritative server: validation failed
    served = ask(driver, knot, "tampered.bogus.test", "TXT")
    assert served.records == ("TAMPERED!",), served.describe()
    # and the zone's untouched records validate
    good = ask(driver, unbound, "good.bogus.test", "TXT")
    assert good.records == ("this one validates",), good.describe()
    assert good.authentic
    tlsa = ask(driver, unbound, "_25._tcp.mx.bogus.test", "TLSA")
    assert tlsa.outcome is Outcome.TEMPFAIL, tlsa.describe()


def test_timeout_is_tempfail(driver: str, silent: SilentServer) -> None:
    resolver = DNSResolver(["127.0.0.1"], port=silent.port, timeout=0.5)
    start = time.monotonic()
    answer = ask(driver, resolver, "example.test", "TXT", timeout=0.5)
    elapsed = time.monotonic() - start
    assert answer.outcome is Outcome.TEMPFAIL, answer.describe()
    assert "timeout" in answer.reason.lower()
    assert elapsed < 3.0, f"took {elapsed:.1f}s for a 0.5s timeout"
    assert "example.test." in silent.names_asked()  # it really asked


def test_check_budget_shortens_the_query_timeout(silent: SilentServer) -> None:
    resolver = DNSResolver(["127.0.0.1"], port=silent.port, timeout=30.0)
    for how in ("run", "arun"):
        start = time.monotonic()
        answer = ask(how, resolver, "example.test", "TXT", timeout=30.0, budget=0.5)
        elapsed = time.monotonic() - start
        assert answer.outcome is Outcome.TEMPFAIL, answer.describe()
        assert elapsed < 3.0, f"{how}: took {elapsed:.1f}s for a 0.5s budget"


def two_questions() -> Flow[tuple[Answer, Answer]]:
    first = yield from query("first.example.test", "TXT")
    second = yield from query("second.example.test", "TXT")
    return first, second


def test_query_after_the_budget_is_spent_is_not_sent(silent: SilentServer) -> None:
    resolver = DNSResolver(["127.0.0.1"], port=silent.port, timeout=30.0)
    check = Check(two_questions, budget=0.5)
    for result in (check.run(resolver), asyncio.run(check.arun(resolver))):
        first, second = result
        assert first.outcome is Outcome.TEMPFAIL, first.describe()
        assert second.outcome is Outcome.TEMPFAIL, second.describe()
        assert "budget" in second.reason, second.describe()
    asked = silent.names_asked()
    assert "first.example.test." in asked
    assert "second.example.test." not in asked


def test_silent_tcp_server_is_tempfail(driver: str) -> None:
    # accepts connections (the kernel does the handshake) and never answers
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        resolver = DNSResolver(["127.0.0.1"], port=listener.getsockname()[1], timeout=0.5,
                               tcp=True)
        start = time.monotonic()
        answer = ask(driver, resolver, "example.test", "A", timeout=0.5)
        elapsed = time.monotonic() - start
    assert answer.outcome is Outcome.TEMPFAIL, answer.describe()
    assert elapsed < 3.0, f"took {elapsed:.1f}s for a 0.5s timeout"


@pytest.mark.parametrize("reply", [_truncated, _refused, _garbage],
                         ids=["truncated-no-tcp", "refused", "garbage"])
def test_misbehaving_server_is_tempfail(
        driver: str, reply: Callable[[dns.message.Message], bytes]) -> None:
    with scripted(reply) as server:
        resolver = DNSResolver(["127.0.0.1"], port=server.port, timeout=1.0)
        start = time.monotonic()
        answer = ask(driver, resolver, "example.test", "TXT", timeout=1.0)
        elapsed = time.monotonic() - start
        assert server.received, "the server was not asked"
    assert answer.outcome is Outcome.TEMPFAIL, answer.describe()
    assert answer.records == ()
    assert elapsed < 3.0, f"took {elapsed:.1f}s"


def test_nothing_listening_is_tempfail(driver: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again below: connection refused
    resolver = DNSResolver(["127.0.0.1"], port=port, timeout=2.0, tcp=True)
    start = time.monotonic()
    answer = ask(driver, resolver, "example.test", "A", timeout=2.0)
    assert answer.outcome is Outcome.TEMPFAIL, answer.describe()
    assert time.monotonic() - start < 3.0


def test_names_outside_the_test_zones_never_leave_the_machine(
        driver: str, unbound: DNSResolver) -> None:
    # The resolver refuses them (local-zone "." refuse): quick TEMPFAIL, no real lookup.
    start = time.monotonic()
    answer = ask(driver, unbound, "example.com", "A")
    assert answer.outcome is Outcome.TEMPFAIL, answer.describe()
    assert time.monotonic() - start < 2.0
    assert ask(driver, unbound, "other.test", "A").outcome is Outcome.NXDOMAIN


# --- DNSSEC: authentic --------------------------------------------------------------------

@pytest.mark.parametrize(("name", "rdtype", "outcome"), [
    ("multi.example.test", "TXT", Outcome.OK),
    ("_25._tcp.mx.example.test", "TLSA", Outcome.OK),
    ("1.2.0.192.in-addr.arpa", "PTR", Outcome.OK),
    ("nope.example.test", "TXT", Outcome.NXDOMAIN),   # authenticated denial (NSEC)
    ("ent.example.test", "TXT", Outcome.NODATA),
])
def test_signed_zone_is_authentic_through_the_validating_resolver(
        driver: str, infra: Infra, name: str, rdtype: str, outcome: Outcome) -> None:
    trusted = ask(driver, infra.resolver(trust_ad=True), name, rdtype)
    assert trusted.outcome is outcome, trusted.describe()
    assert trusted.authentic is True
    # the same AD bit is not reported when the path is not trusted
    untrusted = ask(driver, infra.resolver(trust_ad=False), name, rdtype)
    assert untrusted.outcome is outcome, untrusted.describe()
    assert untrusted.authentic is False
    # an authoritative server does not validate: never authentic
    direct = ask(driver, infra.authoritative(trust_ad=True), name, rdtype)
    assert direct.outcome is outcome, direct.describe()
    assert direct.authentic is False


@pytest.mark.parametrize(("name", "rdtype", "outcome"), [
    ("unsigned.test", "TXT", Outcome.OK),
    ("www.unsigned.test", "A", Outcome.OK),
    ("nope.unsigned.test", "TXT", Outcome.NXDOMAIN),
])
def test_unsigned_zone_is_not_authentic(driver: str, unbound: DNSResolver, name: str,
                                        rdtype: str, outcome: Outcome) -> None:
    answer = ask(driver, unbound, name, rdtype)
    assert answer.outcome is outcome, answer.describe()
    assert answer.authentic is False


# --- checks that ask several questions -------------------------------------------------------

def many() -> Flow[tuple[Answer, ...]]:
    return (yield from query_all((
        Query("example.test", "MX"), Query("mx.example.test", "A"),
        Query("nope.example.test", "A"), Query("tampered.bogus.test", "TXT"),
        Query("example.test", cast(RRType, "mx")),  # same question, other spelling
    )))


def test_independent_queries_together(unbound: DNSResolver) -> None:
    check = Check(many)
    for answers in (check.run(unbound), asyncio.run(check.arun(unbound))):
        assert [a.outcome for a in answers] == [Outcome.OK, Outcome.OK, Outcome.NXDOMAIN,
                                                Outcome.TEMPFAIL, Outcome.OK]
        assert answers[0].records == answers[4].records
        assert answers[4].query == Query("example.test", cast(RRType, "mx"))
        assert answers[1].records == (IPv4Address("127.0.0.1"),)


def test_async_resolver_is_reusable_across_event_loops(unbound: DNSResolver) -> None:
    # one DNSResolver, several asyncio.run() calls (a notebook or a test suite does this)
    for _ in range(3):
        answer = asyncio.run(unbound.aresolve(Query("example.test", "A"), timeout=5))
        assert answer.records == (IPv4Address("127.0.0.1"),), answer.describe()


def test_sync_resolver_shared_by_threads(unbound: DNSResolver) -> None:
    # .run() is documented to work in threads; one resolver object serves them all
    names = [f"{n}.example.test" for n in ("multi", "split", "two", "long", "utf8")] * 8
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(
            lambda n: Check(lambda: query(n, "TXT")).run(unbound), names))
    assert all(a.outcome is Outcome.OK and a.authentic for a in answers), [
        a.describe() for a in answers if not a.ok]
    assert [a.query.name for a in answers] == names
    assert answers[3].records == (LONG_TXT,)


def test_concurrent_async_queries(unbound: DNSResolver) -> None:
    async def main() -> list[Answer]:
        names = [f"{n}.example.test" for n in ("multi", "split", "two", "long", "utf8")] * 4
        return await asyncio.gather(*(unbound.aresolve(Query(n, "TXT"), timeout=5)
                                      for n in names))
    answers = asyncio.run(main())
    assert all(a.outcome is Outcome.OK and a.authentic for a in answers)
    assert answers[3].records == (LONG_TXT,)


# --- runtime zone edits (used by the SPF/DKIM live tests) ----------------------------------

def test_runtime_zone_edit_is_signed_and_seen(driver: str, infra: Infra) -> None:
    owner = f"edit-{uuid.uuid4().hex[:8]}"
    name = f"{owner}.example.test"
    resolver = infra.resolver(trust_ad=True)
    infra.set_records("example.test", owner, "TXT", '"v=spf1 " "-all"', '"second"')
    try:
        answer = ask(driver, resolver, name, "TXT")
        assert sorted(answer.txt()) == ["second", "v=spf1 -all"], answer.describe()
        assert answer.authentic  # knotd signed the new records
    finally:
        infra.set_records("example.test", owner, "TXT")
    assert ask(driver, resolver, name, "TXT").outcome is Outcome.NXDOMAIN


# --- the HTTPS policy host ------------------------------------------------------------------

def test_https_fetcher_against_the_policy_host(infra: Infra) -> None:
    if infra.https_port is None or infra.https_ca is None:
        pytest.skip("the stack was started with NO_HTTPS=1")
    context = ssl.create_default_context(cafile=str(infra.https_ca))
    fetcher = HTTPSFetcher(context=context, port=infra.https_port, address=infra.host)
    ok = fetcher.fetch(Fetch("https://mta-sts.example.test/.well-known/mta-sts.txt"))
    assert ok.error is None and ok.status == 200, ok
    assert ok.body.startswith(b"version: STSv1\r\n") or ok.body.startswith(b"version: STSv1\n")
    missing = asyncio.run(fetcher.afetch(Fetch("https://mta-sts.example.test/nothing")))
    assert missing.status == 404, missing
    bad = fetcher.fetch(Fetch("https://mta-sts.badcert.example.test/.well-known/mta-sts.txt"))
    assert bad.status is None and bad.error and "certificate" in bad.error, bad
    # the system trust store does not know the test CA
    untrusted = HTTPSFetcher(port=infra.https_port, address=infra.host)
    refused = untrusted.fetch(Fetch("https://mta-sts.example.test/.well-known/mta-sts.txt"))
    assert refused.status is None and refused.error and "certificate" in refused.error, refused
