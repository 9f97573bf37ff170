"""The SMTP STARTTLS probe and the live DANE check, against tiny SMTP servers on
127.0.0.1 started by the tests."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import hashlib
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mailauth import DANEResult, check_dane
from mailauth.smtp_probe import ProbeResult, probe_starttls
from mailauth.status import Status
from mailauth.testing import FakeResolver

HOST = "mx.example.test"


@dataclass
class Server:
    """A one-trick SMTP server on 127.0.0.1 (``mode`` says which trick)."""

    mode: str
    context: ssl.SSLContext
    sock: socket.socket = field(init=False)
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.1)
        thread = threading.Thread(target=self._serve, daemon=True)
        thread.start()
        self.threads.append(thread)

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            thread = threading.Thread(target=self._session, args=(conn,), daemon=True)
            thread.start()
            self.threads.append(thread)

    def _session(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        with contextlib.suppress(OSError), conn:
            if self.mode == "silent":
                self.stop.wait(5)
                return
            if self.mode == "trickle":
                for byte in b"220 mx.example.test ESMTP a very slow greeting\r\n":
                    if self.stop.wait(0.1):
                        return
                    conn.sendall(bytes([byte]))
                return
            if self.mode == "garbage":
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
                return
            conn.sendall(b"220 mx.example.test ESMTP test\r\n")
            reader = conn.makefile("rb")
            reader.readline()  # EHLO
            if self.mode == "drop_after_ehlo":
                return
            if self.mode == "stall_after_ehlo":
                self.stop.wait(5)
                return
            extensions = [b"PIPELINING", b"SIZE 10240000"]
            if self.mode != "no_starttls":
                extensions.append(b"STARTTLS")
            lines = [b"mx.example.test Hello", *extensions]
            conn.sendall(b"".join(b"250-" + x + b"\r\n" for x in lines[:-1])
                         + b"250 " + lines[-1] + b"\r\n")
            command = reader.readline()
            if command.strip().upper() != b"STARTTLS":
                conn.sendall(b"221 bye\r\n")
                return
            conn.sendall(b"220 go ahead\r\n")
            if self.mode == "stall_in_tls":
                self.stop.wait(5)
                return
            with self.context.wrap_socket(conn, server_side=True) as tls:
                tls.settimeout(5)
                data = tls.recv(1024)
                if data.strip().upper() == b"QUIT":
                    tls.sendall(b"221 bye\r\n")

    def close(self) -> None:
        self.stop.set()
        self.sock.close()
        for thread in self.threads:
            thread.join(5)


Serve = Callable[[str], Server]


@dataclass
class PKI:
    ca: trustme.CA
    leaf_pem: trustme.LeafCert
    leaf: bytes
    intermediate: bytes

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.leaf_pem.configure_cert(context)
        return context


@dataclass
class WebPKI:
    """A root, an intermediate and a leaf made as the WebPKI makes them (a CA/Browser
    Forum profile that cryptography's verifier accepts, unlike trustme's leaves)."""

    root: x509.Certificate
    leaf: bytes
    intermediate: bytes
    key_pem: bytes

    @property
    def chain(self) -> tuple[bytes, bytes]:
        return (self.leaf, self.intermediate)

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        pem = b"".join(x509.load_der_x509_certificate(d).public_bytes(Encoding.PEM)
                       for d in self.chain)
        with tempfile.TemporaryDirectory() as where:
            cert_file, key_file = Path(where, "chain.pem"), Path(where, "key.pem")
            cert_file.write_bytes(pem)
            key_file.write_bytes(self.key_pem)
            context.load_cert_chain(cert_file, key_file)
        return context


def make_webpki(*names: str, days: int = 90) -> WebPKI:
    """A chain for ``names`` under a fresh root (valid from yesterday for ``days``)."""
    now = datetime.datetime.now(datetime.UTC)
    keys = [ec.generate_private_key(ec.SECP256R1()) for _ in range(3)]
    subjects = [x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
                for cn in ("mailauth test root", "mailauth test intermediate", names[0])]

    def build(i: int, issuer: int, extensions: list[tuple[x509.ExtensionType, bool]],
              lifetime: int) -> x509.Certificate:
        builder = (x509.CertificateBuilder().subject_name(subjects[i])
                   .issuer_name(subjects[issuer]).public_key(keys[i].public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(days=1))
                   .not_valid_after(now + datetime.timedelta(days=lifetime))
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(
                       keys[i].public_key()), critical=False))
        if i != issuer:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    keys[issuer].public_key()), critical=False)
        for extension, critical in extensions:
            builder = builder.add_extension(extension, critical=critical)
        return builder.sign(keys[issuer], hashes.SHA256())

    ca_usage = x509.KeyUsage(digital_signature=True, content_commitment=False,
                             key_encipherment=False, data_encipherment=False,
                             key_agreement=False, key_cert_sign=True, crl_sign=True,
                             encipher_only=False, decipher_only=False)
    root = build(0, 0, [(x509.BasicConstraints(ca=True, path_length=None), True),
                        (ca_usage, True)], 3650)
    middle = build(1, 0, [(x509.BasicConstraints(ca=True, path_length=0), True),
                          (ca_usage, True)], 1825)
    leaf = build(2, 1, [(x509.BasicConstraints(ca=False, path_length=None), True),
                        (x509.SubjectAlternativeName([x509.DNSName(n) for n in names]),
                         False),
                        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)],
                 days)
    key_pem = keys[2].private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    return WebPKI(root, leaf.public_bytes(Encoding.DER), middle.public_bytes(Encoding.DER),
                  key_pem)


def make_pki() -> PKI:
    """A root, an intermediate and a leaf for the test host (trustme)."""
    root = trustme.CA()
    intermediate = root.create_child_ca()
    leaf = intermediate.issue_cert(HOST)
    blobs = [x509.load_pem_x509_certificate(b.bytes()) for b in leaf.cert_chain_pems]
    return PKI(intermediate, leaf, blobs[0].public_bytes(Encoding.DER),
               blobs[1].public_bytes(Encoding.DER))


@pytest.fixture(scope="module")
def pki() -> PKI:
    return make_pki()


@pytest.fixture
def serve(pki: PKI) -> Iterator[Callable[[str], Server]]:
    yield from servers(pki)


def servers(pki: PKI) -> Iterator[Callable[[str], Server]]:
    """Starts servers on demand; closes them all when resumed."""
    servers: list[Server] = []

    def start(mode: str) -> Server:
        server = Server(mode, pki.server_context())
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def spki_sha256(der: bytes) -> str:
    key = x509.load_der_x509_certificate(der).public_key()
    return hashlib.sha256(key.public_bytes(Encoding.DER,
                                           PublicFormat.SubjectPublicKeyInfo)).hexdigest()


def probe(server: Server, timeout: float = 5.0) -> ProbeResult:
    return probe_starttls(HOST, server.port, address="127.0.0.1", timeout=timeout)


def test_a_good_server_gives_its_chain_leaf_first(serve: Serve, pki: PKI) -> None:
    server = serve("good")
    result = probe(server)
    assert result.error is None and result.step == "done" and result.ok
    assert result.address == "127.0.0.1" and result.port == server.port
    assert result.banner == "mx.example.test ESMTP test"
    assert result.starttls and "STARTTLS" in result.ehlo
    assert result.chain[0] == pki.leaf
    assert result.chain[1:] == (pki.intermediate,)
    assert result.tls_version is not None and result.tls_version.startswith("TLS")
    assert result.cipher


def test_no_starttls_offered(serve: Serve) -> None:
    result = probe(serve("no_starttls"))
    assert result.step == "starttls" and not result.starttls and result.chain == ()
    assert result.error == "the server does not offer STARTTLS"
    assert "PIPELINING" in result.ehlo


def test_a_garbage_banner(serve: Serve) -> None:
    result = probe(serve("garbage"))
    assert result.step == "banner"
    assert result.error is not None and "not an SMTP reply" in result.error


def test_a_server_that_never_answers_is_cut_off_at_the_deadline(serve: Serve) -> None:
    server = serve("silent")
    started = time.monotonic()
    result = probe(server, timeout=0.5)
    assert time.monotonic() - started < 2
    assert result.step == "banner"
    assert result.error is not None and result.error.startswith("timeout")


def test_a_server_that_drops_after_ehlo(serve: Serve) -> None:
    result = probe(serve("drop_after_ehlo"))
    assert result.step == "ehlo" and result.error is not None
    assert "closed" in result.error or "reset" in result.error.lower()


def test_nothing_listening() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = probe_starttls(HOST, port, address="127.0.0.1", timeout=2)
    assert result.step == "connect" and result.address is None
    assert result.error is not None and "cannot connect" in result.error


# --- check_dane against the live server ----------------------------------------------


def zone(record: str, port: int) -> dict[str, dict[str, list[str]]]:
    """The TLSA records at the test server's port: ``_<port>._tcp.<host>`` (RFC 6698 §3)."""
    return {HOST: {"A": ["127.0.0.1"]}, f"_{port}._tcp.{HOST}": {"TLSA": [record]}}


def live(server: Server, record: str, *, authentic: bool = True,
         timeout: float = 5.0) -> DANEResult:
    signed = [HOST, f"_{server.port}._tcp.{HOST}"] if authentic else []
    resolver = FakeResolver(zone(record, server.port), authentic=signed)
    return check_dane(HOST, server.port, address="127.0.0.1", timeout=timeout).run(resolver)


def test_check_dane_live_match(serve: Serve, pki: PKI) -> None:
    result = live(serve("good"), f"3 1 1 {spki_sha256(pki.leaf)}")
    assert result.status is Status.PASS, result.reason
    assert result.matched is not None and result.chain_length == 2
    assert result.probe is not None and result.probe.chain[0] == pki.leaf
    assert "server" in result._repr_html_()


def test_check_dane_live_mismatch(serve: Serve) -> None:
    result = live(serve("good"), "3 1 1 " + "ab" * 32)
    assert result.status is Status.FAIL
    assert result.matched is None and result.probe is not None


def test_check_dane_live_insecure_does_not_probe(serve: Serve, pki: PKI) -> None:
    server = serve("silent")  # would stall, were it asked
    started = time.monotonic()
    result = live(server, f"3 1 1 {spki_sha256(pki.leaf)}", authentic=False, timeout=3)
    assert time.monotonic() - started < 1
    assert result.status is Status.NONE and result.probe is None


def test_check_dane_live_stalled_server_is_a_temperror(serve: Serve, pki: PKI) -> None:
    server = serve("stall_after_ehlo")
    started = time.monotonic()
    result = live(server, f"3 1 1 {spki_sha256(pki.leaf)}", timeout=0.5)
    assert time.monotonic() - started < 2
    assert result.status is Status.TEMPERROR
    assert "ehlo" in result.reason and "timeout" in result.reason
    assert result.probe is not None and result.probe.step == "ehlo"


def test_check_dane_live_no_starttls_is_a_temperror(serve: Serve, pki: PKI) -> None:
    result = live(serve("no_starttls"), f"3 1 1 {spki_sha256(pki.leaf)}")
    assert result.status is Status.TEMPERROR and "STARTTLS" in result.reason


def test_check_dane_live_under_asyncio(serve: Serve, pki: PKI) -> None:
    server = serve("good")
    resolver = FakeResolver(zone(f"3 1 1 {spki_sha256(pki.leaf)}", server.port),
                            authentic=[HOST, f"_{server.port}._tcp.{HOST}"])

    async def main() -> DANEResult:
        return await check_dane(HOST, server.port, address="127.0.0.1",
                                timeout=5).arun(resolver)

    assert asyncio.run(main()).status is Status.PASS


@pytest.mark.parametrize(("mode", "step"), [("trickle", "banner"), ("stall_in_tls", "tls")])
def test_one_deadline_for_the_whole_probe(serve: Serve, mode: str, step: str) -> None:
    server = serve(mode)
    started = time.monotonic()
    result = probe(server, timeout=0.5)
    assert time.monotonic() - started < 2
    assert result.step == step
    assert result.error is not None and result.error.startswith("timeout")


def test_the_leaf_alone_when_the_chain_cannot_be_had(pki: PKI) -> None:
    from mailauth.smtp_probe import _chain

    class Leaf:  # an SSL socket of a Python without get_unverified_chain
        def getpeercert(self, binary_form: bool = False) -> bytes:
            return pki.leaf

    chain, notes = _chain(Leaf())  # type: ignore[arg-type]
    assert chain == (pki.leaf,) and "only the leaf" in notes[0]


def test_check_dane_arguments() -> None:
    from mailauth.errors import ArgumentTypeError, UsageError

    with pytest.raises((ArgumentTypeError, UsageError)):
        check_dane(HOST, timeout=0)
    with pytest.raises(ArgumentTypeError):
        check_dane(HOST, address=1)  # type: ignore[arg-type]


# --- the addresses the check's own resolver gives ----------------------------------------


def test_addresses_are_tried_in_turn(serve: Serve, pki: PKI) -> None:
    server = serve("good")
    # 127.0.0.2 is loopback too, but nothing listens there: refused, then the next one
    result = probe_starttls(HOST, server.port, addresses=["127.0.0.2", "127.0.0.1"],
                            timeout=5)
    assert result.ok and result.address == "127.0.0.1", result.error
    assert result.chain[0] == pki.leaf


def test_addresses_that_all_refuse_are_named() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = probe_starttls(HOST, port, addresses=("127.0.0.2", "127.0.0.1"), timeout=2)
    assert result.step == "connect" and result.error is not None
    assert "127.0.0.2:" in result.error and "127.0.0.1:" in result.error


def test_addresses_is_not_one_str() -> None:
    from mailauth.errors import ArgumentTypeError

    with pytest.raises(ArgumentTypeError, match="address="):
        probe_starttls(HOST, addresses="127.0.0.1")


def test_check_dane_connects_to_the_addresses_its_resolver_gives(serve: Serve,
                                                                 pki: PKI) -> None:
    server = serve("good")
    name = f"_{server.port}._tcp.{HOST}"
    resolver = FakeResolver({HOST: {"A": ["127.0.0.2", "127.0.0.1"]},
                             name: {"TLSA": [f"3 1 1 {spki_sha256(pki.leaf)}"]}},
                            authentic=[HOST, name])
    result = check_dane(HOST, server.port, timeout=5).run(resolver)
    assert result.status is Status.PASS, result.reason
    assert result.probe is not None and result.probe.address == "127.0.0.1"
    # A and AAAA were asked once each, though both the lookup and the probe use them
    asked = [q for q in resolver.queries if q.name == HOST]
    assert sorted(q.rdtype for q in asked) == ["A", "AAAA"]


def test_check_dane_address_overrides_the_resolver(serve: Serve, pki: PKI) -> None:
    server = serve("good")
    name = f"_{server.port}._tcp.{HOST}"
    resolver = FakeResolver({HOST: {"A": ["192.0.2.1"]},
                             name: {"TLSA": [f"3 1 1 {spki_sha256(pki.leaf)}"]}},
                            authentic=[HOST, name])
    result = check_dane(HOST, server.port, address="127.0.0.1", timeout=5).run(resolver)
    assert result.status is Status.PASS and result.probe is not None
    assert result.probe.address == "127.0.0.1"


def test_check_dane_host_without_addresses_is_not_probed() -> None:
    name = f"_25._tcp.{HOST}"
    resolver = FakeResolver({HOST: {"TXT": ["exists"]}, name: {"TLSA": ["3 1 1 " + "ab" * 32]}},
                            authentic=[HOST, name])
    result = check_dane(HOST, timeout=5).run(resolver)
    assert result.status is Status.TEMPERROR and result.probe is None
    assert "no address records" in result.reason


# --- the MTA-STS view (check_dane(domain=...)) --------------------------------------------

DOMAIN = "example.test"
POLICY_URL = f"https://mta-sts.{DOMAIN}/.well-known/mta-sts.txt"
POLICY = b"version: STSv1\r\nmode: enforce\r\nmx: *.example.test\r\nmax_age: 86400\r\n"


def sts_zone(port: int, record: str | None) -> dict[str, dict[str, list[str]]]:
    data = {HOST: {"A": ["127.0.0.1"]}, f"_mta-sts.{DOMAIN}": {"TXT": ["v=STSv1; id=1;"]}}
    if record is not None:
        data[f"_{port}._tcp.{HOST}"] = {"TLSA": [record]}
    return data


@pytest.fixture(scope="module")
def webpki() -> WebPKI:
    return make_webpki(HOST)


def test_the_mta_sts_view_with_a_given_chain(webpki: WebPKI) -> None:
    from mailauth.testing import FakeFetcher

    record = f"3 1 1 {spki_sha256(webpki.leaf)}"
    resolver = FakeResolver(sts_zone(25, record), authentic=[HOST, f"_25._tcp.{HOST}"])
    fetcher = FakeFetcher({POLICY_URL: POLICY})
    result = check_dane(HOST, chain=webpki.chain, domain=DOMAIN,
                        roots=[webpki.root]).run(resolver, fetcher)
    assert result.status is Status.PASS and result.probe is None
    view = result.mta_sts
    assert view is not None and view.status is Status.PASS
    assert (view.mode, view.mx, view.matched_pattern) == ("enforce", ("*.example.test",),
                                                          "*.example.test")
    assert view.host_matches and view.webpki_valid and view.dane_applies
    assert view.delivery is not None and view.delivery.allowed
    assert "RFC 8461 §2" in view.reason and "MTA-STS" in result._repr_html_()
    # no trust anchors: the WebPKI verdict is not judged, nor the delivery
    unjudged = check_dane(HOST, chain=webpki.chain, domain=DOMAIN).run(resolver, fetcher)
    assert unjudged.mta_sts is not None and unjudged.mta_sts.webpki_valid is None
    assert unjudged.mta_sts.delivery is None and "roots=" in unjudged.mta_sts.webpki_reason


def test_the_mta_sts_view_without_a_policy(webpki: WebPKI) -> None:
    from mailauth.testing import FakeFetcher

    resolver = FakeResolver({HOST: {"A": ["127.0.0.1"]}})
    result = check_dane(HOST, chain=webpki.chain, domain=DOMAIN,
                        roots=[webpki.root]).run(resolver, FakeFetcher())
    view = result.mta_sts
    assert view is not None and view.status is Status.NONE and view.mode is None
    assert view.host_matches is None and view.policy is not None
    assert view.delivery is not None and view.delivery.allowed  # no policy: deliver
    assert result.status is Status.NONE


def test_without_dane_an_mta_sts_policy_still_gets_the_host_probed(
        serve: Serve, webpki: WebPKI) -> None:
    from mailauth.testing import FakeFetcher

    server = Server("good", webpki.server_context())
    try:
        resolver = FakeResolver(sts_zone(server.port, None))  # nothing signed
        fetcher = FakeFetcher({POLICY_URL: POLICY})
        result = check_dane(HOST, server.port, domain=DOMAIN, roots=[webpki.root],
                            timeout=5).run(resolver, fetcher)
    finally:
        server.close()
    assert result.status is Status.NONE and result.probe is not None
    assert result.probe.chain == webpki.chain
    view = result.mta_sts
    assert view is not None and view.webpki_valid is True and not view.dane_applies
    assert view.delivery is not None and view.delivery.allowed


def test_a_failed_probe_is_no_tls_for_mta_sts(serve: Serve) -> None:
    from mailauth.testing import FakeFetcher

    server = serve("no_starttls")
    resolver = FakeResolver(sts_zone(server.port, None))
    result = check_dane(HOST, server.port, domain=DOMAIN, roots=[make_webpki(HOST).root],
                        timeout=5).run(resolver, FakeFetcher({POLICY_URL: POLICY}))
    view = result.mta_sts
    assert view is not None and view.webpki_valid is False
    assert view.webpki_reason.startswith("no TLS session")
    assert view.delivery is not None and not view.delivery.allowed  # enforce


def test_check_dane_mta_sts_arguments() -> None:
    from mailauth.errors import ArgumentTypeError, UsageError

    with pytest.raises(UsageError):
        check_dane(HOST, domain="a..b")
    with pytest.raises(ArgumentTypeError):
        check_dane(HOST, domain=DOMAIN, roots=b"0\x00")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match=r"roots\[0\]"):
        check_dane(HOST, domain=DOMAIN, roots=[b"junk"])
    with pytest.raises(ArgumentTypeError, match=r"roots\[0\]"):
        check_dane(HOST, domain=DOMAIN, roots=["PEM text"])  # type: ignore[list-item]


def test_the_mta_sts_view_under_asyncio(webpki: WebPKI) -> None:
    from mailauth.testing import FakeFetcher

    server = Server("good", webpki.server_context())
    try:
        name = f"_{server.port}._tcp.{HOST}"
        resolver = FakeResolver(sts_zone(server.port, f"3 1 1 {spki_sha256(webpki.leaf)}"),
                                authentic=[HOST, name])
        check = check_dane(HOST, server.port, domain=DOMAIN, roots=[webpki.root], timeout=5)
        result = asyncio.run(check.arun(resolver, FakeFetcher({POLICY_URL: POLICY})))
    finally:
        server.close()
    assert result.status is Status.PASS, result.reason
    view = result.mta_sts
    assert view is not None and view.webpki_valid and view.host_matches
    assert "a sender applying MTA-STS delivers;" in view.reason
