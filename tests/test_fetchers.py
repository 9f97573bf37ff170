"""The HTTPS fetcher against a real TLS server on 127.0.0.1 (a throwaway CA): the
time budget is a total deadline, whatever the server does."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator

import pytest
import trustme

from mailauth.fetchers import HTTPSFetcher
from mailauth.flows import Check, Fetch, Flow, fetch
from mailauth.status import Status
from mailauth.testing import FakeResolver

HOST = "policy.example.test"


class SlowServer:
    """Answers each connection after TLS: ``mode`` "late" sleeps before answering,
    "trickle" sends the answer a byte every 50 ms, "fast" answers at once."""

    def __init__(self, ca: trustme.CA, mode: str) -> None:
        self.mode = mode
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert(HOST).configure_cert(self.context)
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.done = threading.Event()
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.done.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self.answer, args=(conn,), daemon=True).start()

    def answer(self, conn: socket.socket) -> None:
        body = b"version: STSv1\r\nmode: enforce\r\nmx: mx.example.test\r\nmax_age: 86400\r\n"
        reply = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
                 + str(len(body)).encode() + b"\r\n\r\n" + body)
        try:
            with self.context.wrap_socket(conn, server_side=True) as tls:
                tls.settimeout(5)
                tls.recv(4096)
                if self.mode == "late":
                    self.done.wait(1.5)
                if self.mode == "trickle":
                    for i in range(len(reply)):
                        if self.done.wait(0.05):
                            return
                        tls.sendall(reply[i:i + 1])
                else:
                    tls.sendall(reply)
        except OSError:
            pass

    def close(self) -> None:
        self.done.set()
        self.sock.close()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def server(request: pytest.FixtureRequest, ca: trustme.CA) -> Iterator[SlowServer]:
    srv = SlowServer(ca, request.param)
    yield srv
    srv.close()


def fetcher_for(srv: SlowServer, ca: trustme.CA) -> HTTPSFetcher:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return HTTPSFetcher(context=context, address="127.0.0.1", port=srv.port)


def policy_check() -> Flow[tuple[Status, str]]:
    """A stand-in for a policy check: a fetch that fails is a temperror."""
    response = yield from fetch(Fetch(f"https://{HOST}/.well-known/mta-sts.txt"))
    if response.error:
        return Status.TEMPERROR, response.error
    return Status.PASS, response.body.decode()


@pytest.mark.parametrize("server", ["fast"], indirect=True)
def test_a_quick_answer_is_fetched(server: SlowServer, ca: trustme.CA) -> None:
    status, text = Check(policy_check, budget=5).run(FakeResolver(), fetcher_for(server, ca))
    assert status is Status.PASS and "mode: enforce" in text


@pytest.mark.parametrize("server", ["late", "trickle"], indirect=True)
def test_a_slow_answer_ends_at_the_budget_with_a_temperror(server: SlowServer,
                                                          ca: trustme.CA) -> None:
    t0 = time.monotonic()
    status, reason = Check(policy_check, budget=0.5).run(FakeResolver(),
                                                         fetcher_for(server, ca))
    elapsed = time.monotonic() - t0
    assert status is Status.TEMPERROR
    assert "time budget of 0.5 s" in reason
    assert elapsed < 0.9, elapsed  # about 0.6 s: not the server's 1.5 s or 3.5 s


@pytest.mark.parametrize("server", ["late", "trickle"], indirect=True)
def test_the_async_driver_ends_at_the_budget_too(server: SlowServer, ca: trustme.CA) -> None:
    import asyncio

    t0 = time.monotonic()
    status, reason = asyncio.run(Check(policy_check, budget=0.5).arun(
        FakeResolver(), fetcher_for(server, ca)))
    assert status is Status.TEMPERROR and "time budget of 0.5 s" in reason
    assert time.monotonic() - t0 < 0.9


@pytest.mark.parametrize("server", ["trickle"], indirect=True)
def test_the_fetcher_alone_keeps_a_total_deadline(server: SlowServer, ca: trustme.CA) -> None:
    t0 = time.monotonic()
    response = fetcher_for(server, ca).fetch(Fetch(f"https://{HOST}/", timeout=0.4))
    assert response.error is not None and "0.4 s" in response.error
    assert time.monotonic() - t0 < 0.8  # each byte came within 50 ms: only a total cuts it
