"""DANE for SMTP end to end: TLSA records published at run time in the zones knotd
signs (tests/infra/zones), validated by unbound, and a real STARTTLS SMTP server
(aiosmtpd) on a free port of 127.0.0.1 presenting a chain made by the test.

Every host of these tests exists only in the loopback zones: the check reaches the
server at the addresses the stack's resolver gives, never the system resolver's. The
records are published with ``Infra.set_records`` under names no other test uses, and
removed afterwards, so the tests run as well on a stack started by the fixture as on
one kept running by ``.ci/run`` (``MAILAUTH_INFRA_ENV``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP
from cryptography.hazmat.primitives.serialization import Encoding

from mailauth import check_dane
from mailauth.dane import DANEResult, domain_tlsa_flow, parse_tlsa
from mailauth.fetchers import HTTPSFetcher
from mailauth.flows import Check, Query
from mailauth.smtp_probe import probe_starttls
from mailauth.status import Status
from test_smtp_probe import WebPKI, make_webpki, spki_sha256

ZONE = "example.test"          # signed by knotd, anchored in unbound
UNSIGNED = "unsigned.test"     # served without DNSSEC: insecure
STALL = 20.0                   # seconds the stalling server sleeps on STARTTLS


class _Sink:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 OK"


class _SMTP(SMTP):
    """aiosmtpd's SMTP server that records who said EHLO; with ``stall`` its STARTTLS
    handler sleeps instead of answering (a server that stalls after EHLO)."""

    def __init__(self, *args: Any, owner: SMTPServer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.owner = owner

    async def smtp_EHLO(self, hostname: str) -> None:
        peer: Any = self.session.peer if self.session is not None else None
        self.owner.peers.append(str(peer[0]) if peer else "?")
        await super().smtp_EHLO(hostname)

    async def smtp_STARTTLS(self, arg: str) -> None:
        if self.owner.stall:
            await asyncio.sleep(STALL)
            return
        await super().smtp_STARTTLS(arg)


class SMTPServer(Controller):
    """A STARTTLS SMTP server on a free port of 127.0.0.1, presenting ``pki``'s chain."""

    def __init__(self, pki: WebPKI, *, stall: bool = False) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        super().__init__(_Sink(), hostname="127.0.0.1", port=port,
                         tls_context=pki.server_context(), require_starttls=True)
        self.stall = stall
        self.peers: list[str] = []

    def factory(self) -> Any:
        return _SMTP(self.handler, owner=self, **self.SMTP_kwargs)

    def begin(self) -> SMTPServer:
        self.start()
        return self


@pytest.fixture(scope="module")
def pki() -> WebPKI:
    # One leaf for every host of these tests (WebPKI-valid under pki.root).
    return make_webpki(f"mx.{ZONE}", f"*.{ZONE}")


@pytest.fixture
def smtp(pki: WebPKI) -> Iterator[Callable[..., SMTPServer]]:
    started: list[SMTPServer] = []

    def start(*, stall: bool = False) -> SMTPServer:
        server = SMTPServer(pki, stall=stall).begin()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def publish(infra: Any) -> Iterator[Callable[..., None]]:
    """``publish(zone, owner, rdtype, *rdata)``: records for this test, removed after."""
    done: list[tuple[str, str, str]] = []

    def add(zone: str, owner: str, rdtype: str, *rdata: str) -> None:
        infra.set_records(zone, owner, rdtype, *rdata)
        done.append((zone, owner, rdtype))

    yield add
    for zone, owner, rdtype in reversed(done):
        with contextlib.suppress(RuntimeError):
            infra.set_records(zone, owner, rdtype)


def dane_host(publish: Callable[..., None], label: str, port: int, record: str | None,
              zone: str = ZONE) -> str:
    """``label.zone`` with an A record for 127.0.0.1 and (unless None) ``record`` as its
    TLSA record at ``_<port>._tcp``; the host name."""
    publish(zone, label, "A", "127.0.0.1")
    if record is not None:
        publish(zone, f"_{port}._tcp.{label}", "TLSA", record)
    return f"{label}.{zone}"


def ee_record(der: bytes) -> str:
    return f"3 1 1 {spki_sha256(der)}"


def sts_fetcher(infra: Any) -> HTTPSFetcher:
    if infra.https_port is None or infra.https_ca is None:
        pytest.skip("the HTTPS policy host of tests/infra is not running (NO_HTTPS)")
    return HTTPSFetcher(cafile=infra.https_ca, port=infra.https_port,
                        resolver=infra.resolver(), allow_private=True)


# --- DANE -----------------------------------------------------------------------------

def test_a_matching_3_1_1_record_passes_at_the_address_the_stack_gives(
        infra: Any, smtp: Callable[..., SMTPServer], publish: Callable[..., None],
        pki: WebPKI) -> None:
    server = smtp()
    record = ee_record(pki.leaf)
    host = dane_host(publish, "dane-ok", server.port, record)
    result = check_dane(host, server.port, timeout=10).run(infra.resolver())
    assert result.status is Status.PASS, result.reason
    assert result.matched == parse_tlsa(record)
    assert result.lookup is not None and result.lookup.authentic
    assert result.lookup.addresses_authentic and result.lookup.records == (parse_tlsa(record),)
    probe = result.probe
    assert probe is not None and probe.ok and probe.address == "127.0.0.1"
    assert probe.chain == pki.chain and result.chain_length == 2
    assert server.peers == ["127.0.0.1"]
    # The host is known only to the loopback stack: the system resolver cannot find it.
    alone = probe_starttls(host, server.port, timeout=3)
    assert alone.step == "connect" and alone.error is not None, alone


def test_the_same_through_the_asyncio_driver(
        infra: Any, smtp: Callable[..., SMTPServer], publish: Callable[..., None],
        pki: WebPKI) -> None:
    server = smtp()
    host = dane_host(publish, "dane-async", server.port, ee_record(pki.leaf))
    result = asyncio.run(check_dane(host, server.port, timeout=10).arun(infra.resolver()))
    assert result.status is Status.PASS, result.reason
    assert server.peers == ["127.0.0.1"]


def test_a_record_for_another_key_fails(
        infra: Any, smtp: Callable[..., SMTPServer], publish: Callable[..., None],
        pki: WebPKI) -> None:
    server = smtp()
    host = dane_host(publish, "dane-mismatch", server.port, ee_record(pki.intermediate))
    result = check_dane(host, server.port, timeout=10).run(infra.resolver())
    assert result.status is Status.FAIL, result.reason
    assert result.matched is None and [o.outcome for o in result.records] == ["mismatch"]
    assert result.probe is not None and result.probe.ok  # the server was reached
    assert result.lookup is not None and result.lookup.authentic


def test_an_insecure_zone_is_not_dane_and_the_server_is_not_contacted(
        infra: Any, smtp: Callable[..., SMTPServer], publish: Callable[..., None],
        pki: WebPKI) -> None:
    server = smtp()
    host = dane_host(publish, "dane-mx", server.port, ee_record(pki.leaf), zone=UNSIGNED)
    served = infra.resolver().resolve(Query(f"_{server.port}._tcp.{host}", "TLSA"),
                                      timeout=5)
    assert served.ok and not served.authentic, served  # the records are there, unsigned
    result = check_dane(host, server.port, timeout=10).run(infra.resolver())
    assert result.status is Status.NONE, result.reason
    assert "not DNSSEC-signed" in result.reason and "DANE does not apply" in result.reason
    assert result.probe is None and server.peers == []
    assert result.lookup is not None and not result.lookup.authentic


def test_a_bogus_zone_is_a_temporary_failure_never_no_tlsa(infra: Any) -> None:
    host = "mx.bogus.test"  # its TLSA RRset was altered after signing (tests/infra/up.sh)
    raw = infra.authoritative().resolve(Query(f"_25._tcp.{host}", "TLSA"), timeout=5)
    assert raw.ok and raw.records, raw  # served: the failure is validation, not absence
    started = time.monotonic()
    result = check_dane(host, timeout=10).run(infra.resolver())
    assert result.status is Status.TEMPERROR, result.reason
    assert "never 'no TLSA records'" in result.reason
    assert result.lookup is not None and result.lookup.name == f"_25._tcp.{host}"
    assert result.lookup.records == () and result.probe is None
    assert time.monotonic() - started < 10


def test_a_server_that_stalls_after_ehlo_ends_at_the_timeout(
        infra: Any, smtp: Callable[..., SMTPServer], publish: Callable[..., None],
        pki: WebPKI) -> None:
    server = smtp(stall=True)
    host = dane_host(publish, "dane-stall", server.port, ee_record(pki.leaf))
    timeout = 1.5
    started = time.monotonic()
    result = check_dane(host, server.port, timeout=timeout).run(infra.resolver())
    elapsed = time.monotonic() - started
    assert result.status is Status.TEMPERROR, result.reason
    probe = result.probe
    assert probe is not None and probe.step == "starttls" and probe.starttls
    assert probe.ehlo and probe.error is not None and probe.error.startswith("timeout")
    assert "failed at starttls" in result.reason
    assert timeout - 0.1 <= elapsed < timeout + 1.5, elapsed
    assert server.peers == ["127.0.0.1"]


def test_domain_tlsa_flow_with_a_secure_mx(
        infra: Any, smtp: Callable[..., SMTPServer], publish: Callable[..., None],
        pki: WebPKI) -> None:
    server = smtp()
    dane_host(publish, "dane-mx1", server.port, ee_record(pki.leaf))
    dane_host(publish, "dane-mx2", server.port, None)
    publish(ZONE, "dane-dom", "MX", f"10 dane-mx1.{ZONE}.", f"20 dane-mx2.{ZONE}.")
    domain = f"dane-dom.{ZONE}"
    found = Check(lambda: domain_tlsa_flow(domain, server.port)).run(infra.resolver())
    assert found.status is Status.PASS, found.reason
    assert found.authentic and [str(m) for m in found.mx] == [
        f"10 dane-mx1.{ZONE}", f"20 dane-mx2.{ZONE}"]
    assert [(h.host, h.status) for h in found.hosts] == [
        (f"dane-mx1.{ZONE}", Status.PASS), (f"dane-mx2.{ZONE}", Status.NONE)]
    assert "proven by DNSSEC" in found.hosts[1].reason
    chosen = next(h.host for h in found.hosts if h.applies)
    verdict = check_dane(chosen, server.port, timeout=10).run(infra.resolver())
    assert verdict.status is Status.PASS, verdict.reason
    # The same TLSA-bearing host behind an MX answer that is not signed: no DANE.
    insecure = Check(lambda: domain_tlsa_flow(UNSIGNED)).run(infra.resolver())
    assert insecure.status is Status.NONE and not insecure.authentic, insecure.reason
    assert insecure.hosts == () and "RFC 7672 §2.2.1" in insecure.reason


# --- the MTA-STS view -------------------------------------------------------------------

def sts_check(infra: Any, host: str, port: int, domain: str, roots: list[Any]
              ) -> DANEResult:
    return check_dane(host, port, timeout=10, domain=domain, roots=roots).run(
        infra.resolver(), sts_fetcher(infra))


def test_the_mta_sts_view_of_a_dane_host(
        infra: Any, smtp: Callable[..., SMTPServer], publish: Callable[..., None],
        pki: WebPKI) -> None:
    server = smtp()
    host = dane_host(publish, "dane-sts", server.port, ee_record(pki.leaf))
    result = sts_check(infra, host, server.port, ZONE, [pki.root])
    assert result.status is Status.PASS, result.reason
    view = result.mta_sts
    assert view is not None and view.status is Status.PASS, view
    assert (view.domain, view.host, view.mode) == (ZONE, host, "enforce")
    assert view.mx == (f"mx.{ZONE}", f"*.{ZONE}") and view.matched_pattern == f"*.{ZONE}"
    assert view.host_matches is True and view.webpki_valid is True, view.webpki_reason
    assert view.delivery is not None and view.delivery.allowed
    assert view.dane_applies and view.policy is not None and view.policy.source == "fetched"
    assert server.peers == ["127.0.0.1"]  # one probe serves both views

    # Another domain's policy (sts.test: mx.sts.test, *.mx.sts.test) does not cover it.
    other = sts_check(infra, host, server.port, "sts.test", [pki.root]).mta_sts
    assert other is not None and other.mode == "enforce" and other.host_matches is False
    assert other.webpki_valid is True
    assert other.delivery is not None and not other.delivery.allowed

    # Trust anchors that did not issue the chain: not valid under the WebPKI.
    stranger = make_webpki(f"mx.{ZONE}").root
    untrusted = sts_check(infra, host, server.port, ZONE, [stranger]).mta_sts
    assert untrusted is not None and untrusted.webpki_valid is False
    assert untrusted.webpki_reason.startswith(f"not valid for {host}")
    assert untrusted.delivery is not None and not untrusted.delivery.allowed


def test_without_dane_the_mta_sts_view_still_probes_the_host(
        infra: Any, smtp: Callable[..., SMTPServer], publish: Callable[..., None],
        pki: WebPKI) -> None:
    server = smtp()
    host = dane_host(publish, "dane-none", server.port, None)  # no TLSA: proven absent
    result = sts_check(infra, host, server.port, ZONE, [pki.root])
    assert result.status is Status.NONE and "no TLSA records" in result.reason
    view = result.mta_sts
    assert view is not None and view.host_matches and view.webpki_valid is True
    assert view.delivery is not None and view.delivery.allowed and not view.dane_applies
    assert result.probe is not None and result.probe.chain == pki.chain
    assert server.peers == ["127.0.0.1"]


# --- the command line --------------------------------------------------------------------

def test_mailauth_dane_against_the_stack(
        infra: Any, smtp: Callable[..., SMTPServer], publish: Callable[..., None],
        pki: WebPKI, tmp_path: Path) -> None:
    fetcher = sts_fetcher(infra)  # skips without the HTTPS host
    assert fetcher is not None
    server = smtp()
    record = ee_record(pki.leaf)
    host = dane_host(publish, "dane-cli", server.port, record)
    bundle = tmp_path / "roots.pem"  # the policy host's CA and the SMTP chain's root
    bundle.write_bytes(Path(infra.https_ca).read_bytes()
                       + pki.root.public_bytes(Encoding.PEM))
    command = [sys.executable, "-m", "mailauth", "dane", host, "--port", str(server.port),
               "--nameserver", f"{infra.host}:{infra.dns_resolver_port}", "--dnssec",
               "--timeout", "10", "--domain", ZONE, "--cafile", str(bundle),
               "--https-port", str(infra.https_port), "--allow-private"]
    out = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("dane=pass")
    assert f"  TLSA _{server.port}._tcp.{host}: pass, authentic (DNSSEC)" in lines
    assert f"  matched: {record}" in lines
    assert f"    SPKI SHA-256 {spki_sha256(pki.leaf)}" in lines
    assert f"  MTA-STS of {ZONE}: pass, mode enforce, mx mx.{ZONE}, *.{ZONE}" in lines
    assert f"    {host} matches *.{ZONE}" in lines
    assert any(line.startswith(f"    WebPKI: valid for {host}") for line in lines)

    out = subprocess.run([*command, "--json"], capture_output=True, text=True, timeout=120,
                         check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    data = json.loads(out.stdout)
    assert data["status"] == "pass" and data["probe"]["address"] == "127.0.0.1"
    assert data["probe"]["chain"][0]["spki_sha256"] == spki_sha256(pki.leaf)
    assert data["mta_sts"]["mode"] == "enforce" and data["mta_sts"]["webpki_valid"] is True
    assert data["mta_sts"]["delivery"]["allowed"] is True
    assert len(server.peers) == 2
