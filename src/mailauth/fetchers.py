"""HTTPS fetcher for :class:`~mailauth._flow.Fetch` effects (stdlib only).

RFC 8461 §3.3 rules that apply to any policy fetch live here: HTTPS only, the
certificate checked against the host name, redirects never followed, a size cap and
a timeout. The timeout is a total deadline for the whole fetch (connect, TLS, headers
and body), not only a limit per socket operation: a server that trickles its answer
a byte at a time is cut off when the time is up. The async side runs the blocking
fetch in a worker thread.

The fetcher resolves the host itself and refuses to connect when any of its addresses
is not global (loopback, private, link-local, shared, reserved, multicast, ...), unless
``allow_private=True`` or an ``address`` override is given: a hostile domain's
``mta-sts`` A record must not make a server fetch from its own network (SSRF). It then
connects to an address it checked, so a second resolution cannot slip another one in.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import ipaddress
import os
import socket
import ssl
import threading
import time
from urllib.parse import urlsplit

from ._flow import Fetch, Query, Resolver, Response

__all__ = ["HTTPSFetcher"]


class HTTPSFetcher:
    """Fetches ``https://`` URLs with certificate and host-name verification.

    :param context: the TLS context (the system trust store by default); tests pass
        one that trusts their own CA.
    :param cafile: a PEM file of CA certificates to trust instead of the system store
        (a private CA); not together with ``context``.
    :param port: connect to this port instead of the URL's (tests on loopback).
    :param address: connect to this address instead of resolving the host name; SNI
        and certificate checks still use the host name. The caller chose it, so the
        address guard does not apply.
    :param allow_private: connect even when the host resolves to an address that is
        not global (loopback, RFC 1918, link-local, ...). Off by default (SSRF).
    :param resolver: resolve the host's A and AAAA records with this resolver (a
        :class:`~mailauth.flows.Resolver`, such as ``DNSResolver``) instead of the
        system's ``getaddrinfo``.
    """

    def __init__(self, *, context: ssl.SSLContext | None = None,
                 cafile: str | os.PathLike[str] | None = None, port: int | None = None,
                 address: str | None = None, allow_private: bool = False,
                 resolver: Resolver | None = None) -> None:
        if context is not None and cafile is not None:
            from .errors import UsageError
            raise UsageError("give context= or cafile=, not both (load the CA file into "
                             "the context: context.load_verify_locations(cafile))")
        if not isinstance(allow_private, bool):
            from .errors import ArgumentTypeError
            raise ArgumentTypeError(f"allow_private= is True or False, not "
                                    f"{type(allow_private).__name__}")
        self.context = context
        self.cafile = os.fspath(cafile) if cafile is not None else None
        self.port = port
        self.address = address
        self.allow_private = allow_private
        self.resolver = resolver

    def fetch(self, request: Fetch) -> Response:
        """GET ``request.url`` within ``request.timeout`` seconds in all."""
        parts = urlsplit(request.url)
        if parts.scheme != "https" or not parts.hostname:
            return Response(request.url, error="only https:// URLs are fetched")
        host = parts.hostname
        port = self.port or parts.port or 443
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        deadline = time.monotonic() + request.timeout
        if self.address is not None:
            addresses = [self.address]
        else:
            found = self._addresses(host, port, deadline)
            if isinstance(found, str):
                return Response(request.url, error=found)
            addresses = found
            refused = None if self.allow_private else _not_global(addresses)
            if refused is not None:
                return Response(request.url, error=(
                    f"refused: {host} resolves to {refused}, which is not a global "
                    "address (a policy host must not point into a private network; "
                    "allow_private=True allows it)"))
        expired = threading.Event()
        try:
            context = self.context or ssl.create_default_context(cafile=self.cafile)
            raw = _connect(addresses, port, deadline)
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

    def _addresses(self, host: str, port: int, deadline: float) -> list[str] | str:
        """The host's addresses, or why there are none (an error text)."""
        try:
            return [str(ipaddress.ip_address(host))]  # a literal: checked like the rest
        except ValueError:
            pass
        if self.resolver is not None:
            return _resolve_with(self.resolver, host, deadline)
        return _getaddrinfo(host, port, deadline)


def _resolve_with(resolver: Resolver, host: str, deadline: float) -> list[str] | str:
    addresses: list[str] = []
    problems: list[str] = []
    for rdtype in ("A", "AAAA"):
        left = deadline - time.monotonic()
        if left <= 0:
            return f"timeout: no address for {host} in time"
        try:
            answer = resolver.resolve(Query(host, rdtype), timeout=left)
        except Exception as exc:  # a resolver must not raise; keep the promise anyway
            problems.append(f"{rdtype}: {type(exc).__name__}: {exc}")
            continue
        addresses += [str(a) for a in answer.addresses()]
        if not answer.ok and not answer.void:
            problems.append(answer.describe())
    if addresses:
        return addresses
    if problems:
        return f"cannot resolve {host}: {'; '.join(problems)}"
    return f"{host} has no A or AAAA record"


def _getaddrinfo(host: str, port: int, deadline: float) -> list[str] | str:
    """The system resolver, within the deadline (getaddrinfo has no timeout of its own:
    it runs in a daemon thread that is left behind if it takes too long)."""
    box: list[object] = []

    def resolve() -> None:
        try:
            box.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except (OSError, UnicodeError) as exc:
            box.append(exc)

    thread = threading.Thread(target=resolve, daemon=True)
    thread.start()
    thread.join(max(0.0, deadline - time.monotonic()))
    if not box:
        return f"timeout: no address for {host} in time"
    found = box[0]
    if isinstance(found, BaseException):
        return f"cannot resolve {host}: {found}"
    out: list[str] = []
    for _family, _type, _proto, _name, sockaddr in found:  # type: ignore[attr-defined]
        address = str(sockaddr[0]).split("%", 1)[0]
        if address not in out:
            out.append(address)
    return out or f"{host} has no address"


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _is_global(text: str) -> bool:
    try:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        # An IPv4 address inside an IPv6 one reaches that IPv4 address: check it too
        # (mapped ::ffff:0:0/96, NAT64 64:ff9b::/96, 6to4 2002::/16).
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None and not _is_global(str(embedded)):
            return False
        if ip.ipv4_mapped is not None:
            return True
    return ip.is_global and not ip.is_multicast


def _not_global(addresses: list[str]) -> str | None:
    """The first address that is not global, or None when every one is."""
    for address in addresses:
        if not _is_global(address):
            return address
    return None


def _connect(addresses: list[str], port: int, deadline: float) -> socket.socket:
    """A TCP connection to the first of ``addresses`` that answers in time."""
    error: OSError | None = None
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout=_left(deadline))
        except OSError as exc:
            error = exc
    raise error or OSError("no address to connect to")


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
