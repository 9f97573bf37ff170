"""SMTP STARTTLS probe: the certificate chain an SMTP server presents (stdlib only).

An edge module, like :mod:`mailauth.fetchers`: it does the network I/O that the DANE
check (:func:`mailauth.check_dane`) needs and no protocol judgement. It connects,
reads the banner, says EHLO, asks for STARTTLS (RFC 3207), completes the TLS handshake
*without* verifying the certificate (DANE decides, RFC 7672 §3), keeps the presented
chain, and says QUIT. Every step runs under one total deadline; a server that never
answers, drops the connection, offers no STARTTLS or sends a garbage banner gives a
:class:`ProbeResult` with ``error`` and the ``step`` that failed, never a hang or an
exception.
"""

from __future__ import annotations

import contextlib
import re
import socket
import ssl
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from .errors import ArgumentTypeError
from .fetchers import _getaddrinfo

__all__ = ["ProbeResult", "probe_starttls"]

MAX_LINE = 2048
"""Longest reply line read (RFC 5321 §4.5.3.1.5 allows 512 octets; be generous)."""
MAX_LINES = 100
"""Most lines of one multi-line reply."""

_REPLY = re.compile(rb"^([2-5][0-9][0-9])([ -])(.*?)\r?\n\Z", re.DOTALL)


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What an SMTP server said and presented when asked for STARTTLS.

    :param host: the host name (SNI); ``port`` the TCP port.
    :param address: the address connected to (None when no connection was made).
    :param banner: the greeting's text (RFC 5321 §4.2), lines joined by newlines.
    :param ehlo: the EHLO reply lines (code stripped).
    :param starttls: whether STARTTLS was offered.
    :param chain: the presented certificates, DER, leaf first; only the leaf when the
        Python in use cannot give the rest (``notes`` says so).
    :param tls_version: the negotiated TLS version (``"TLSv1.3"``), cipher its cipher.
    :param error: what went wrong, or None.
    :param step: the step that failed (``connect``, ``banner``, ``ehlo``,
        ``starttls``, ``tls``), or ``done``.
    :param notes: remarks that are not errors.
    """

    host: str
    port: int
    address: str | None = None
    banner: str = ""
    ehlo: tuple[str, ...] = ()
    starttls: bool = False
    chain: tuple[bytes, ...] = ()
    tls_version: str | None = None
    cipher: str | None = None
    error: str | None = None
    step: str = "done"
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """The handshake completed and a chain was collected."""
        return self.error is None


class _Failed(Exception):
    def __init__(self, step: str, message: str) -> None:
        super().__init__(message)
        self.step = step
        self.message = message


class _Session:
    """One SMTP conversation under a deadline."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock = sock
        self.deadline = deadline
        self.buffer = b""

    def _left(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the probe deadline passed")
        return left

    def line(self) -> bytes:
        while b"\n" not in self.buffer:
            if len(self.buffer) > MAX_LINE:
                raise ValueError(f"a reply line longer than {MAX_LINE} octets")
            self.sock.settimeout(self._left())
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line + b"\n"

    def reply(self) -> tuple[int, list[str]]:
        """A whole reply (RFC 5321 §4.2.1): its code and its lines' text."""
        lines: list[str] = []
        code = None
        for _ in range(MAX_LINES):
            raw = self.line()
            found = _REPLY.match(raw)
            if found is None or (code is not None and int(found.group(1)) != code):
                shown = raw[:80].decode("ascii", "backslashreplace").rstrip()
                raise ValueError(f"not an SMTP reply: {shown!r}")
            code = int(found.group(1))
            lines.append(found.group(3).decode("utf-8", "replace"))
            if found.group(2) == b" ":
                return code, lines
        raise ValueError(f"a reply of more than {MAX_LINES} lines")

    def send(self, command: str) -> None:
        self.sock.settimeout(self._left())
        self.sock.sendall(command.encode("ascii") + b"\r\n")


def probe_starttls(host: str, port: int = 25, *, address: str | None = None,
                   addresses: Sequence[str] = (), timeout: float = 30.0,
                   helo: str = "mailauth.invalid") -> ProbeResult:
    """Connect to an SMTP server, STARTTLS, and collect its certificate chain.

    :param host: the server's host name: resolved with the system resolver unless
        ``address`` or ``addresses`` is given, and the TLS SNI name.
    :param port: the TCP port (25).
    :param address: connect to this address instead of resolving ``host`` (tests).
    :param addresses: connect to the first of these addresses that accepts the
        connection, in order (the host's A and AAAA records as a check's own
        resolver found them: :func:`mailauth.check_dane` passes them). While more
        addresses remain, one connection attempt may take at most its share of the
        time left, so that an address that swallows packets does not use it all.
    :param timeout: seconds for the whole probe (connect, banner, EHLO, STARTTLS, TLS).
    :param helo: the name said in EHLO.
    """
    if isinstance(addresses, str):
        raise ArgumentTypeError("addresses= is a sequence of addresses, not one str "
                                "(use address= for one)")
    deadline = time.monotonic() + timeout
    if address is not None:
        addresses = (address,)
    facts: dict[str, object] = {"host": host, "port": port}
    expired = threading.Event()
    step = "connect"
    live: list[socket.socket] = []
    watchdog: threading.Timer | None = None
    try:
        raw = _connect(host, port, tuple(addresses), deadline)
        live.append(raw)
        facts["address"] = str(raw.getpeername()[0])
        watchdog = threading.Timer(max(0.0, deadline - time.monotonic()), _cut,
                                   (live, expired))
        watchdog.daemon = True
        watchdog.start()
        session = _Session(raw, deadline)
        step = "banner"
        code, lines = session.reply()
        facts["banner"] = "\n".join(lines)
        if code != 220:
            raise _Failed(step, f"the server greeted with {code}, not 220: {lines[0]}")
        step = "ehlo"
        session.send(f"EHLO {helo}")
        code, lines = session.reply()
        facts["ehlo"] = tuple(lines)
        if code != 250:
            raise _Failed(step, f"EHLO was answered {code}: {lines[0]}")
        keywords = {line.split(" ", 1)[0].upper() for line in lines[1:]}
        step = "starttls"
        if "STARTTLS" not in keywords:
            raise _Failed(step, "the server does not offer STARTTLS")
        facts["starttls"] = True
        session.send("STARTTLS")
        code, lines = session.reply()
        if code != 220:
            raise _Failed(step, f"STARTTLS was answered {code}: {lines[0]}")
        if session.buffer:  # RFC 3207 §5: nothing may follow before the handshake
            raise _Failed(step, "the server sent data after its STARTTLS reply")
        step = "tls"
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # DANE decides (RFC 7672 §3)
        raw.settimeout(session._left())
        sni = None if _is_address(host) else host
        tls = context.wrap_socket(raw, server_hostname=sni)
        live.append(tls)
        chain, notes = _chain(tls)
        facts["chain"] = chain
        facts["notes"] = notes
        facts["tls_version"] = tls.version()
        cipher = tls.cipher()
        facts["cipher"] = cipher[0] if cipher else None
        if not chain:
            raise _Failed(step, "the server presented no certificate")
        session.sock = tls
        with contextlib.suppress(Exception):  # the chain is had: QUIT is a courtesy
            session.send("QUIT")
            session.reply()
        return ProbeResult(**facts)  # type: ignore[arg-type]
    except _Failed as exc:
        return ProbeResult(**facts, error=exc.message, step=exc.step)  # type: ignore[arg-type]
    except (OSError, ssl.SSLError, ValueError) as exc:
        if expired.is_set() or time.monotonic() >= deadline or isinstance(exc, TimeoutError):
            message = f"timeout: no complete answer in {timeout:g} s ({step})"
        else:
            message = f"{type(exc).__name__}: {exc}"
        return ProbeResult(**facts, error=message, step=step)  # type: ignore[arg-type]
    finally:
        if watchdog is not None:
            watchdog.cancel()
        for sock in reversed(live):
            with contextlib.suppress(OSError):
                sock.close()


def _connect(host: str, port: int, given: tuple[str, ...],
             deadline: float) -> socket.socket:
    """A TCP connection to the first of ``given`` (or else of the host's addresses from
    the system resolver) that answers; resolving the name is under the deadline too
    (getaddrinfo has no timeout of its own: :mod:`mailauth.fetchers` runs it in a
    thread)."""
    if given:
        addresses = list(given)
    else:
        found = _getaddrinfo(host, port, deadline)
        if isinstance(found, str):
            raise _Failed("connect", found)
        addresses = found
    problems: list[str] = []
    for index, each in enumerate(addresses):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        share = left / (len(addresses) - index)  # the last address gets all that is left
        try:
            return socket.create_connection((each, port), timeout=share)
        except (OSError, UnicodeError, OverflowError) as exc:
            problems.append(f"{each}: {exc}")
    if not problems:
        raise _Failed("connect", f"timeout: no connection to {host} port {port} in time")
    raise _Failed("connect", f"cannot connect to {host} port {port}: {'; '.join(problems)}")


def _is_address(host: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
    except (OSError, ValueError):
        return False
    return True


def _chain(tls: ssl.SSLSocket) -> tuple[tuple[bytes, ...], tuple[str, ...]]:
    """The presented chain, DER, leaf first, and a note when only the leaf is had."""
    getter = getattr(tls, "get_unverified_chain", None)  # Python 3.13
    if getter is None:
        getter = getattr(getattr(tls, "_sslobj", None), "get_unverified_chain", None)
    if getter is not None:
        try:
            items = getter() or []
            der = _ssl_encoding_der()
            out = tuple(item if isinstance(item, bytes) else bytes(item.public_bytes(der))
                        for item in items)
        except Exception:  # a private API: fall back to the leaf
            out = ()
        if out:
            return out, ()
    leaf = tls.getpeercert(binary_form=True)
    note = ("only the leaf certificate was collected: this Python cannot give the "
            "rest of the presented chain")
    return ((leaf,) if leaf else ()), (note,)


def _ssl_encoding_der() -> int:
    import _ssl

    return int(getattr(_ssl, "ENCODING_DER", 2))


def _cut(live: list[socket.socket], expired: threading.Event) -> None:
    expired.set()
    with contextlib.suppress(OSError):
        socket.socket.shutdown(live[-1], socket.SHUT_RDWR)
