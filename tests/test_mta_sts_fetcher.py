"""The HTTPS fetcher's address guard (SSRF), its CA file and its own resolution, against
a TLS server on 127.0.0.1 with a throwaway CA. No address but loopback is ever
connected to: the guard is checked on addresses alone, and end to end only with
loopback ones."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from mailauth.errors import ArgumentTypeError, UsageError
from mailauth.fetchers import HTTPSFetcher, _is_global
from mailauth.flows import Fetch
from mailauth.mta_sts import get_mta_sts_policy
from mailauth.status import Status
from mailauth.testing import FakeResolver
from test_fetchers import HOST, SlowServer

URL = f"https://{HOST}/.well-known/mta-sts.txt"


class CountingServer(SlowServer):
    """A fast server that counts the connections it accepted."""

    def __init__(self, ca: trustme.CA) -> None:
        self.connections = 0
        super().__init__(ca, "fast")

    def answer(self, conn: socket.socket) -> None:
        self.connections += 1
        super().answer(conn)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def server(ca: trustme.CA) -> Iterator[CountingServer]:
    srv = CountingServer(ca)
    yield srv
    srv.close()


@pytest.fixture
def cafile(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.1.2.3", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254",
    "100.64.0.1", "0.0.0.0", "255.255.255.255", "224.0.0.1", "192.0.2.1", "198.18.0.1",
    "::1", "::", "fe80::1", "fe80::1%eth0", "fc00::1", "fd12:3456::1", "ff02::1", "ff0e::1",
    "2001:db8::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254",
    "64:ff9b::7f00:1", "64:ff9b::a00:1", "2002:7f00:1::1", "2002:a9fe:a9fe::1",
    "not an address",
])
def test_addresses_that_are_not_global_are_refused(address: str) -> None:
    assert not _is_global(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111",
                                     "::ffff:8.8.8.8", "64:ff9b::808:808"])
def test_global_addresses_pass(address: str) -> None:
    assert _is_global(address)


def test_a_host_resolving_to_loopback_is_refused_without_a_connection(
        server: CountingServer, cafile: Path) -> None:
    resolver = FakeResolver({HOST: {"A": ["127.0.0.1"]}})
    fetcher = HTTPSFetcher(cafile=cafile, port=server.port, resolver=resolver)
    response = fetcher.fetch(Fetch(URL, timeout=5))
    assert response.status is None and response.error is not None
    assert "resolves to 127.0.0.1, which is not a global address" in response.error
    assert server.connections == 0


def test_every_address_must_be_global(server: CountingServer, cafile: Path) -> None:
    # the loopback address comes first: a guard that looked only at the last one would
    # connect to it (and so to our server), never to the global one
    resolver = FakeResolver({HOST: {"A": ["127.0.0.1"], "AAAA": ["2606:4700:4700::1111"]}})
    fetcher = HTTPSFetcher(cafile=cafile, port=server.port, resolver=resolver)
    response = fetcher.fetch(Fetch(URL, timeout=5))
    assert response.error is not None and "127.0.0.1" in response.error
    assert server.connections == 0


def test_allow_private_connects_to_the_checked_address(server: CountingServer,
                                                       cafile: Path) -> None:
    resolver = FakeResolver({HOST: {"A": ["127.0.0.1"]}})
    fetcher = HTTPSFetcher(cafile=cafile, port=server.port, resolver=resolver,
                           allow_private=True)
    response = fetcher.fetch(Fetch(URL, timeout=5))
    assert response.error is None and response.status == 200
    assert b"mode: enforce" in response.body and server.connections == 1


def test_an_ip_literal_url_is_checked_too(server: CountingServer, cafile: Path) -> None:
    fetcher = HTTPSFetcher(cafile=cafile, port=server.port)
    response = fetcher.fetch(Fetch("https://127.0.0.1/.well-known/mta-sts.txt", timeout=5))
    assert response.error is not None and "not a global address" in response.error
    assert server.connections == 0


def test_the_system_resolver_is_guarded_too(server: CountingServer, cafile: Path) -> None:
    fetcher = HTTPSFetcher(cafile=cafile, port=server.port)
    response = fetcher.fetch(Fetch("https://localhost/.well-known/mta-sts.txt", timeout=5))
    assert response.error is not None and "not a global address" in response.error
    assert server.connections == 0


def test_an_address_override_is_the_callers_choice(server: CountingServer,
                                                   cafile: Path) -> None:
    fetcher = HTTPSFetcher(cafile=cafile, port=server.port, address="127.0.0.1")
    assert fetcher.fetch(Fetch(URL, timeout=5)).status == 200


def test_without_the_ca_the_certificate_is_refused(server: CountingServer) -> None:
    fetcher = HTTPSFetcher(port=server.port, address="127.0.0.1")  # the system store
    response = fetcher.fetch(Fetch(URL, timeout=5))
    assert response.error is not None and "certificate verification failed" in response.error


def test_dns_problems_are_errors_not_exceptions(cafile: Path) -> None:
    nothing = HTTPSFetcher(cafile=cafile, resolver=FakeResolver())
    assert "has no A or AAAA record" in (nothing.fetch(Fetch(URL, timeout=5)).error or "")
    failing = HTTPSFetcher(cafile=cafile, resolver=FakeResolver(tempfail=[HOST]))
    assert "cannot resolve" in (failing.fetch(Fetch(URL, timeout=5)).error or "")


def test_the_policy_check_through_the_guard(server: CountingServer, cafile: Path) -> None:
    dns = FakeResolver({"_mta-sts.example.test": {"TXT": ["v=STSv1; id=1"]},
                        "mta-sts.example.test": {"A": ["127.0.0.1"]}})
    ctx = ssl.create_default_context(cafile=str(cafile))
    guarded = HTTPSFetcher(context=ctx, port=server.port, resolver=dns)
    result = get_mta_sts_policy("example.test", now=0).run(dns, guarded)
    assert result.status is Status.TEMPERROR, result.reason
    assert "not a global address" in result.reason and server.connections == 0


def test_the_callers_mistakes(cafile: Path) -> None:
    with pytest.raises(UsageError):
        HTTPSFetcher(context=ssl.create_default_context(), cafile=cafile)
    with pytest.raises(ArgumentTypeError):
        HTTPSFetcher(allow_private="yes")  # type: ignore[arg-type]
