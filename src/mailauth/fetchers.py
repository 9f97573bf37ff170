"""HTTPS fetcher for :class:`~mailauth._flow.Fetch` effects (stdlib only).

RFC 8461 §3.3 rules that apply to any policy fetch live here: HTTPS only, the
certificate checked against the host name, redirects never followed, a size cap and
a timeout. The async side runs the blocking fetch in a worker thread.
"""

from __future__ import annotations

import asyncio
import http.client
import socket
import ssl
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
        parts = urlsplit(request.url)
        if parts.scheme != "https" or not parts.hostname:
            return Response(request.url, error="only https:// URLs are fetched")
        host = parts.hostname
        port = self.port or parts.port or 443
        context = self.context or ssl.create_default_context()
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        try:
            raw = socket.create_connection((self.address or host, port), timeout=request.timeout)
            try:
                sock = context.wrap_socket(raw, server_hostname=host)
            except BaseException:
                raw.close()
                raise
            conn = http.client.HTTPSConnection(host, port, timeout=request.timeout,
                                               context=context)
            conn.sock = sock
            try:
                conn.request("GET", path, headers={"Host": host, "Connection": "close",
                                                   **dict(request.headers)})
                resp = conn.getresponse()
                body = resp.read(request.max_bytes + 1)
                headers = tuple(resp.getheaders())
                status = resp.status
            finally:
                conn.close()
        except ssl.SSLCertVerificationError as exc:
            return Response(request.url,
                            error=f"certificate verification failed: {exc.verify_message}")
        except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
            return Response(request.url, error=f"{type(exc).__name__}: {exc}")
        if len(body) > request.max_bytes:
            return Response(request.url, status, headers,
                            error=f"response larger than {request.max_bytes} bytes")
        return Response(request.url, status, headers, body)

    async def afetch(self, request: Fetch) -> Response:
        return await asyncio.to_thread(self.fetch, request)
