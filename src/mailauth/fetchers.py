"""HTTPS fetcher for :class:`~mailauth._flow.Fetch` effects (stdlib only).

RFC 8461 §3.3 rules that apply to any policy fetch live here: HTTPS only, the
certificate checked against the host name, redirects never followed, a size cap and
a timeout. The timeout is a total deadline for the whole fetch (connect, TLS, headers
and body), not only a limit per socket operation: a server that trickles its answer
a byte at a time is cut off when the time is up. The async side runs the blocking
fetch in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import socket
import ssl
import threading
import time
from urllib.parse import urlsplit

from ._flow import Fetch, Response

__all__ = ["HTTPSFetcher"]


class HTTPSFetcher:
    """Fetches ``https://`` URLs with certificate and host-name verification.

    :param context: the TLS context (the system trust store by default); tests pass
        one that trusts their own CA.
    :param port: connect to this port instead of the URL's (tests on loopback).
    :param address: connect to this address instead of resolving the host name; SNI
        and certificate checks still use the host name.
    """

    def __init__(self, *, context: ssl.SSLContext | None = None, port: int | None = None,
                 address: str | None = None) -> None:
        self.context = context
        self.port = port
        self.address = address

    def fetch(self, request: Fetch) -> Response:
        """GET ``request.url`` within ``request.timeout`` seconds in all."""
        parts = urlsplit(request.url)
        if parts.scheme != "https" or not parts.hostname:
            return Response(request.url, error="only https:// URLs are fetched")
        host = parts.hostname
        port = self.port or parts.port or 443
        context = self.context or ssl.create_default_context()
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        deadline = time.monotonic() + request.timeout
        expired = threading.Event()
        try:
            raw = socket.create_connection((self.address or host, port), timeout=request.timeout)
            # The watchdog ends the fetch at the deadline whatever the socket is doing.
            live = [raw]  # the socket in use: the TLS one once wrapped
            watchdog = threading.Timer(max(0.0, deadline - time.monotonic()), _cut,
                                       (live, expired))
            watchdog.daemon = True
            watchdog.start()
            try:
                body, headers, status = self._exchange(live, host, port, path, context,
                                                       request, deadline)
            finally:
                watchdog.cancel()
                live[-1].close()
        except ssl.SSLCertVerificationError as exc:
            return Response(request.url,
                            error=f"certificate verification failed: {exc.verify_message}")
        except (OSError, http.client.HTTPException, ssl.SSLError, ValueError) as exc:
            if expired.is_set() or time.monotonic() >= deadline:
                return Response(request.url,
                                error=f"timeout: no complete answer in {request.timeout:g} s")
            return Response(request.url, error=f"{type(exc).__name__}: {exc}")
        if len(body) > request.max_bytes:
            return Response(request.url, status, headers,
                            error=f"response larger than {request.max_bytes} bytes")
        return Response(request.url, status, headers, body)

    def _exchange(self, live: list[socket.socket], host: str, port: int,  # noqa: PLR0917
                  path: str, context: ssl.SSLContext, request: Fetch, deadline: float
                  ) -> tuple[bytes, tuple[tuple[str, str], ...], int]:
        live[0].settimeout(_left(deadline))
        sock = context.wrap_socket(live[0], server_hostname=host)
        live.append(sock)
        conn = http.client.HTTPSConnection(host, port, timeout=request.timeout,
                                           context=context)
        conn.sock = sock
        try:
            conn.request("GET", path, headers={"Host": host, "Connection": "close",
                                               **dict(request.headers)})
            sock.settimeout(_left(deadline))
            resp = conn.getresponse()
            chunks: list[bytes] = []
            size = 0
            while size <= request.max_bytes:
                sock.settimeout(_left(deadline))
                chunk = resp.read1(request.max_bytes + 1 - size)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
            return b"".join(chunks), tuple(resp.getheaders()), resp.status
        finally:
            conn.close()

    async def afetch(self, request: Fetch) -> Response:
        return await asyncio.to_thread(self.fetch, request)


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the fetch deadline passed")
    return left


def _cut(live: list[socket.socket], expired: threading.Event) -> None:
    expired.set()
    # The plain socket method: it wakes a thread blocked in a read on this socket,
    # TLS or not, without touching the TLS object that thread is using.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(live[-1], socket.SHUT_RDWR)
