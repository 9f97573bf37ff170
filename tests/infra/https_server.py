"""Loopback HTTPS server for MTA-STS policy fetches in the integration tests.

- a throwaway CA and leaf certificate made with ``trustme``; the CA goes to
  ``RUNDIR/ca.pem`` (clients trust only that file);
- serves ``DOCROOT/<Host header without port>/<path>`` as text/plain, 404 otherwise;
- SNI names in ``BAD_CERT_HOSTS`` get a certificate for another name (to test
  name-mismatch handling), those in ``EXPIRED_CERT_HOSTS`` an expired one;
- the MTA-STS failure cases of tests/integration/test_mta_sts_live.py, by host:
  ``REDIRECT_HOSTS`` answer 301, ``SLOW_HOSTS`` wait before answering,
  ``CONTENT_TYPES`` set another Content-Type, ``BIG_HOSTS`` serve a body of that many
  bytes; ``EXTRA_HOSTS`` are named in the certificate without a folder of their own;
- writes ``RUNDIR/https.pid`` and, once listening, ``RUNDIR/ready``.

usage: https_server.py RUNDIR DOCROOT [PORT=8443] [BIND=127.0.0.1]
"""

from __future__ import annotations

import http.server
import os
import socket
import ssl
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import trustme

BAD_CERT_HOSTS = frozenset({"mta-sts.badcert.example.test", "mta-sts.wrongname.sts.test"})
EXPIRED_CERT_HOSTS = frozenset({"mta-sts.expired.sts.test"})
REDIRECT_HOSTS = {"mta-sts.redirect.sts.test": "https://mta-sts.sts.test/.well-known/mta-sts.txt"}
SLOW_HOSTS = {"mta-sts.slow.sts.test": 3.0}
CONTENT_TYPES = {"mta-sts.html.sts.test": "text/html; charset=utf-8",
                 "mta-sts.charset.sts.test": "text/plain; charset=utf-8"}
BIG_HOSTS = {"mta-sts.big.sts.test": 65 * 1024}
EXTRA_HOSTS = ("mta-sts.missing.sts.test", *REDIRECT_HOSTS, *BIG_HOSTS)


def main(argv: list[str]) -> None:
    rundir, docroot = Path(argv[1]), Path(argv[2]).resolve()
    port = int(argv[3]) if len(argv) > 3 else 8443
    bind = argv[4] if len(argv) > 4 else "127.0.0.1"
    if bind not in ("127.0.0.1", "::1"):
        raise SystemExit("loopback addresses only")
    rundir.mkdir(parents=True, exist_ok=True)

    ca = trustme.CA(organization_name="mailauth test CA")
    hosts = sorted(p.name for p in docroot.iterdir() if p.is_dir())
    named = sorted({*hosts, *EXTRA_HOSTS} - BAD_CERT_HOSTS - EXPIRED_CERT_HOSTS)
    good = ca.issue_cert(*named, "*.example.test", "localhost", "127.0.0.1", "::1")
    bad = ca.issue_cert("wrong-name.example.invalid")
    expired = ca.issue_cert(*EXPIRED_CERT_HOSTS,
                            not_before=datetime(2020, 1, 1, tzinfo=UTC),
                            not_after=datetime(2021, 1, 1, tzinfo=UTC))
    ca.cert_pem.write_to_path(str(rundir / "ca.pem"))

    def context(leaf: Any) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        leaf.configure_cert(ctx)
        return ctx

    good_ctx, bad_ctx, expired_ctx = context(good), context(bad), context(expired)

    def pick_cert(sslobj: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        if name in BAD_CERT_HOSTS:
            sslobj.context = bad_ctx
        elif name in EXPIRED_CERT_HOSTS:
            sslobj.context = expired_ctx

    good_ctx.sni_callback = pick_cert  # type: ignore[assignment, unused-ignore]

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]").lower()
            rel = self.path.split("?", 1)[0].lstrip("/")
            path = Path(os.path.normpath(docroot / host / rel))
            if host in SLOW_HOSTS:
                time.sleep(SLOW_HOSTS[host])
            if host in REDIRECT_HOSTS:
                self.send_response(301)
                self.send_header("Location", REDIRECT_HOSTS[host])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if host in BIG_HOSTS:
                head = b"version: STSv1\nmode: enforce\nmx: mx.sts.test\nmax_age: 86400\n"
                pad = BIG_HOSTS[host] - len(head) - len(b"x-pad: \n")
                body, code = head + b"x-pad: " + b"a" * pad + b"\n", 200
            elif docroot not in path.parents or not path.is_file():
                body, code = b"not found\n", 404
            else:
                body, code = path.read_bytes(), 200
            self.send_response(code)
            self.send_header("Content-Type", CONTENT_TYPES.get(host, "text/plain"))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    class Server(http.server.ThreadingHTTPServer):
        address_family = socket.AF_INET6 if ":" in bind else socket.AF_INET
        daemon_threads = True

        def finish_request(self, request: Any, client_address: Any) -> None:
            # TLS handshake in the connection's thread: a stuck client cannot block accept()
            request.settimeout(10)
            with good_ctx.wrap_socket(request, server_side=True) as tls:
                super().finish_request(tls, client_address)

        def handle_error(self, request: Any, client_address: Any) -> None:
            sys.stderr.write(f"error from {client_address}: {sys.exc_info()[1]}\n")

    server = Server((bind, port), Handler)
    (rundir / "https.pid").write_text(str(os.getpid()))
    (rundir / "ready").write_text(f"https://{bind}:{port}/ hosts={hosts}\n")
    print(f"serving https://{bind}:{port}/ hosts={hosts}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv)
