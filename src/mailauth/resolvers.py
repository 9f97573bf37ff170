"""DNS resolvers over dnspython: the only module that imports ``dns`` (docs/architecture.md).

:class:`DNSResolver` answers :class:`~mailauth._flow.Query` objects for both drivers:
``resolve()`` with dnspython's blocking resolver and ``aresolve()`` with its asyncio
resolver. Every dnspython outcome is mapped to an :class:`~mailauth._flow.Answer`
here, in one place:

=====================================  ==========
dnspython                               Outcome
=====================================  ==========
NXDOMAIN                                NXDOMAIN
NoAnswer (the name exists, no records)  NODATA
timeout, SERVFAIL/REFUSED, no server    TEMPFAIL
a name that cannot exist (label > 63)   NXDOMAIN
a malformed response (FORMERR)          TEMPFAIL
=====================================  ==========

One bad record is not a failed lookup. dnspython (2.9 on) refuses a whole response
when one TLSA record's data does not have the length its matching type implies (31
bytes for SHA-256): over UDP it drops the datagram and waits until the timeout, over
TCP it fails the server. RFC 7671 §4.1 makes a record with unsupported or malformed
parameters *unusable*, and the RRset's other records still count. So a TLSA question
goes through :class:`_Do53`, which parses the response itself: when every record
dnspython refuses is a TLSA (or SMIMEA) record, the rest of the response is kept, the
answer is OK with the good records, and ``Answer.reason`` names the records left out.
When they were all bad the answer is OK with no records: published but unusable
records are not "no TLSA records" (RFC 7671 §4.1 still asks for TLS, without
authentication, where only unusable ones exist). Any other malformed record (an MX,
TXT, A, ... whose wire form is broken) still makes the response unusable: TEMPFAIL,
as the server answered garbage. Other questions take dnspython's own path unchanged.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
import time
from collections.abc import Iterator, Sequence
from typing import Any

import dns.asyncresolver
import dns.exception
import dns.flags
import dns.inet
import dns.message
import dns.name
import dns.nameserver
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.resolver

from ._flow import MX, TLSA, Answer, Outcome, Query, Record

__all__ = ["SUPPORTED_TYPES", "DNSResolver", "records_from_rrset"]

SUPPORTED_TYPES = frozenset({"A", "AAAA", "MX", "TXT", "PTR", "TLSA", "CNAME"})


def _txt(rdata: Any) -> str:
    # RFC 7208 §3.3: the strings of one RR are joined with nothing between them.
    return b"".join(rdata.strings).decode("utf-8", "replace")


def _name(rdata_name: dns.name.Name) -> str:
    return rdata_name.to_text(omit_final_dot=True)


def _convert(rdtype: str, rdata: Any) -> Record:
    if rdtype == "A":
        return ipaddress.IPv4Address(rdata.address)
    if rdtype == "AAAA":
        return ipaddress.IPv6Address(rdata.address)
    if rdtype == "MX":
        return MX(int(rdata.preference), _name(rdata.exchange))
    if rdtype == "TXT":
        return _txt(rdata)
    if rdtype in ("PTR", "CNAME"):
        return _name(rdata.target)
    if rdtype == "TLSA":
        return TLSA(int(rdata.usage), int(rdata.selector), int(rdata.mtype), bytes(rdata.cert))
    return str(rdata.to_text())


def records_from_rrset(rdtype: str, rrset: Any) -> tuple[Record, ...]:
    """Typed records from a dnspython rrset (or any iterable of rdata)."""
    return tuple(_convert(rdtype, rd) for rd in rrset)


class DNSResolver:
    """A resolver over dnspython, for ``Check.run()`` and ``Check.arun()``.

    By default it reads the system configuration (``/etc/resolv.conf``).

    :param nameservers: addresses to ask instead of the system's.
    :param port: the port of those nameservers (53).
    :param timeout: seconds one query may take, at most (the check's budget may
        shorten it).
    :param trust_ad: the nameservers validate DNSSEC and the path to them is
        trusted; only then is the AD bit reported as ``Answer.authentic``. Queries
        always carry the DO bit, so a validating resolver sets AD.
    :param tcp: use TCP for every query.
    """

    def __init__(self, nameservers: Sequence[str] | None = None, *, port: int = 53,
                 timeout: float = 5.0, trust_ad: bool = False, tcp: bool = False) -> None:
        self.nameservers = tuple(nameservers) if nameservers is not None else None
        self.port = port
        self.timeout = timeout
        self.trust_ad = trust_ad
        self.tcp = tcp
        self._sync: dns.resolver.Resolver | None = None
        self._async: dns.asyncresolver.Resolver | None = None

    def _configure(self, res: dns.resolver.BaseResolver) -> None:
        if self.nameservers is not None:
            res.nameservers = list(self.nameservers)
            res.port = self.port
        res.nameservers = [_lenient(ns, res) for ns in res.nameservers]
        # Ask with DO so that a validating resolver reports AD (RFC 6840 §5.7).
        res.use_edns(0, dns.flags.DO, 1232)
        res.flags = dns.flags.RD | dns.flags.AD
        res.cache = None
        res.retry_servfail = False

    def _sync_resolver(self) -> dns.resolver.Resolver:
        if self._sync is None:
            res = dns.resolver.Resolver(configure=self.nameservers is None)
            self._configure(res)
            self._sync = res
        return self._sync

    def _async_resolver(self) -> dns.asyncresolver.Resolver:
        if self._async is None:
            res = dns.asyncresolver.Resolver(configure=self.nameservers is None)
            self._configure(res)
            self._async = res
        return self._async

    def resolve(self, query: Query, *, timeout: float) -> Answer:
        """Answer one query, blocking."""
        pre = _precheck(query)
        if pre is not None:
            return pre
        try:
            ans = self._sync_resolver().resolve(
                query.name, query.rdtype.upper(), search=False, raise_on_no_answer=False,
                lifetime=min(timeout, self.timeout), tcp=self.tcp)
        except Exception as exc:
            return self._from_exception(query, exc)
        return self._from_answer(query, ans)

    async def aresolve(self, query: Query, *, timeout: float) -> Answer:
        """Answer one query on asyncio."""
        pre = _precheck(query)
        if pre is not None:
            return pre
        try:
            ans = await self._async_resolver().resolve(
                query.name, query.rdtype.upper(), search=False, raise_on_no_answer=False,
                lifetime=min(timeout, self.timeout), tcp=self.tcp)
        except Exception as exc:
            return self._from_exception(query, exc)
        return self._from_answer(query, ans)

    def _authentic(self, response: dns.message.Message | None) -> bool:
        return bool(self.trust_ad and response is not None and response.flags & dns.flags.AD)

    def _from_answer(self, query: Query, ans: dns.resolver.Answer) -> Answer:
        authentic = self._authentic(ans.response)
        canonical = _aliased(query, ans.canonical_name)
        rdtype = query.rdtype.upper()
        left_out = _left_out(ans.response, ans.canonical_name, rdtype)
        reason = _left_out_reason(left_out)
        if ans.rrset is None:
            if left_out:  # records were there, none of them usable
                return Answer(query, Outcome.OK, (), authentic=authentic, reason=reason,
                              canonical_name=canonical)
            return Answer(query, Outcome.NODATA, authentic=authentic,
                          ttl=_negative_ttl(ans.response), canonical_name=canonical)
        try:
            records = records_from_rrset(rdtype, ans.rrset)
        except (ValueError, TypeError) as exc:  # rdata that cannot be typed
            return Answer(query, Outcome.TEMPFAIL, reason=f"malformed {rdtype} record: {exc}")
        return Answer(query, Outcome.OK, records, ttl=ans.rrset.ttl, authentic=authentic,
                      reason=reason, canonical_name=canonical)

    def _from_exception(self, query: Query, exc: Exception) -> Answer:
        # The single place where dnspython's exceptions become outcomes.
        if isinstance(exc, dns.resolver.NXDOMAIN):
            response = None
            try:
                responses = exc.responses()  # type: ignore[no-untyped-call]
                response = next(iter(responses.values()), None)
            except Exception:
                response = None
            canonical: str | None
            try:
                canonical = _aliased(query, exc.canonical_name)
            except Exception:  # no usable response in the exception
                canonical = None
            return Answer(query, Outcome.NXDOMAIN, authentic=self._authentic(response),
                          ttl=_negative_ttl(response), canonical_name=canonical)
        if isinstance(exc, dns.resolver.NoAnswer):
            return Answer(query, Outcome.NODATA)
        if isinstance(exc, dns.exception.Timeout):
            return Answer(query, Outcome.TEMPFAIL, reason="timeout")
        if isinstance(exc, dns.resolver.NoNameservers):
            return Answer(query, Outcome.TEMPFAIL, reason=_servfail_reason(exc))
        if isinstance(exc, dns.name.NameTooLong | dns.name.LabelTooLong | dns.name.EmptyLabel):
            return Answer(query, Outcome.NXDOMAIN, reason=f"invalid name: {exc}")
        if isinstance(exc, dns.resolver.YXDOMAIN):
            return Answer(query, Outcome.TEMPFAIL, reason="YXDOMAIN (DNAME result too long)")
        if isinstance(exc, dns.message.Truncated):
            return Answer(query, Outcome.TEMPFAIL, reason="truncated answer and TCP failed")
        if isinstance(exc, dns.exception.DNSException):
            return Answer(query, Outcome.TEMPFAIL, reason=f"{type(exc).__name__}: {exc}")
        if isinstance(exc, OSError):
            return Answer(query, Outcome.TEMPFAIL, reason=f"network error: {exc}")
        return Answer(query, Outcome.TEMPFAIL, reason=f"{type(exc).__name__}: {exc}")

    def __repr__(self) -> str:
        where = "system" if self.nameservers is None else f"{list(self.nameservers)}:{self.port}"
        return f"DNSResolver({where}, trust_ad={self.trust_ad})"


def _aliased(query: Query, canonical: dns.name.Name) -> str | None:
    """The canonical name when CNAMEs led away from the query name, else None."""
    name = _name(canonical)
    return None if name.lower() == query.key()[0] else name


def _precheck(query: Query) -> Answer | None:
    rdtype = query.rdtype.upper()
    if rdtype not in SUPPORTED_TYPES:
        try:
            dns.rdatatype.from_text(rdtype)
        except Exception:
            return Answer(query, Outcome.TEMPFAIL, reason=f"unknown record type {rdtype!r}")
    try:
        dns.name.from_text(query.name)
    except dns.exception.DNSException as exc:
        return Answer(query, Outcome.NXDOMAIN, reason=f"invalid name: {exc}")
    return None


def _negative_ttl(response: dns.message.Message | None) -> int | None:
    if response is None:
        return None
    for rrset in response.authority:
        if rrset.rdtype == dns.rdatatype.SOA:
            return int(min(rrset.ttl, rrset[0].minimum))
    return None


def _servfail_reason(exc: dns.resolver.NoNameservers) -> str:
    errors = exc.kwargs.get("errors") or []
    details = []
    for err in errors[:3]:
        # (server, tcp, port, error, response); the response's rcode says most
        server, error = err[0], err[3] if len(err) > 3 else err
        response = err[4] if len(err) > 4 else None
        if isinstance(response, dns.message.Message) and response.rcode() != dns.rcode.NOERROR:
            text = dns.rcode.to_text(response.rcode())
        else:
            text = str(error) or type(error).__name__
        details.append(f"{server}: {text}")
    text = "; ".join(details) if details else "no nameserver answered"
    return f"no usable answer from any nameserver ({text})"


# --- one bad record is not a failed lookup (RFC 7671 §4.1) ---------------------------------

# Types whose data dnspython checks beyond its wire form (TLSA/SMIMEA: the data length
# against the matching type). A record of these types that dnspython refuses is an
# unusable record, not a broken response.
_LENIENT_TYPES = frozenset({dns.rdatatype.TLSA, dns.rdatatype.SMIMEA})
_SKIPPED_TYPES = frozenset({dns.rdatatype.OPT, dns.rdatatype.TSIG})
_SECTIONS = ("answer", "authority", "additional")


class UnusableRecord(dns.exception.FormError):
    """A record left out of a response: its data is malformed for its type."""

    def __init__(self, section: str, name: dns.name.Name, rdtype: int, detail: str) -> None:
        self.section = section
        self.name = name
        self.rdtype = dns.rdatatype.RdataType.make(rdtype)
        self.detail = detail
        super().__init__(  # type: ignore[no-untyped-call]
            f"{dns.rdatatype.to_text(self.rdtype)} record at "
            f"{name.to_text(omit_final_dot=True)} ({section}): {detail}")


def _lenient(nameserver: Any, res: dns.resolver.BaseResolver) -> Any:
    """The lenient Do53 nameserver for an address (DoH and others are left as they are)."""
    if isinstance(nameserver, _Do53):
        return nameserver
    if isinstance(nameserver, dns.nameserver.Do53Nameserver):
        return _Do53(nameserver.address, nameserver.port)
    if isinstance(nameserver, str) and dns.inet.is_address(nameserver):
        return _Do53(nameserver, res.nameserver_ports.get(nameserver, res.port))
    return nameserver


def _wants_leniency(request: dns.message.Message) -> bool:
    return bool(request.question) and request.question[0].rdtype in _LENIENT_TYPES


class _Do53(dns.nameserver.Do53Nameserver):
    """Plain DNS over UDP/TCP; a TLSA question's response is parsed by us, so that
    unusable records are left out instead of the whole response (module docstring).
    Every other question takes dnspython's own path."""

    def query(self, request: dns.message.QueryMessage, timeout: float,  # noqa: PLR0917
              source: str | None, source_port: int, max_size: bool,
              one_rr_per_rrset: bool = False,
              ignore_trailing: bool = False) -> dns.message.Message:
        if not _wants_leniency(request):
            return super().query(request, timeout, source, source_port, max_size,
                                 one_rr_per_rrset, ignore_trailing)
        deadline = time.monotonic() + timeout
        af, where, local = self._endpoints(source, source_port)
        wire = request.to_wire()
        if max_size:
            with socket.socket(af, socket.SOCK_STREAM) as sock:
                sock.settimeout(_left(deadline))
                if local is not None:
                    sock.bind(local)
                sock.connect(where)
                sock.sendall(len(wire).to_bytes(2, "big") + wire)
                size = int.from_bytes(_recv_exactly(sock, 2, deadline), "big")
                return _tcp_response(_recv_exactly(sock, size, deadline), request)
        with socket.socket(af, socket.SOCK_DGRAM) as sock:
            if local is not None:
                sock.bind(local)
            sock.connect(where)  # the kernel drops datagrams from any other address
            sock.send(wire)
            while True:
                sock.settimeout(_left(deadline))
                try:
                    data = sock.recv(65535)
                except TimeoutError:
                    raise _timeout() from None
                response = _udp_response(data, request)
                if response is not None:
                    return response

    def _endpoints(self, source: str | None, source_port: int) -> tuple[int, Any, Any]:
        """The address family, the nameserver's socket address and the local one to bind
        (None: any)."""
        af = dns.inet.af_for_address(self.address)
        where = dns.inet.low_level_address_tuple((self.address, self.port), af)
        return af, where, _local_address(af, source, source_port)

    async def async_query(self, request: dns.message.QueryMessage,  # noqa: PLR0917
                          timeout: float, source: str | None, source_port: int,
                          max_size: bool, backend: Any,
                          one_rr_per_rrset: bool = False,
                          ignore_trailing: bool = False) -> dns.message.Message:
        if not _wants_leniency(request):
            return await super().async_query(request, timeout, source, source_port,
                                             max_size, backend, one_rr_per_rrset,
                                             ignore_trailing)
        deadline = time.monotonic() + timeout
        af, where, local = self._endpoints(source, source_port)
        wire = request.to_wire()
        if max_size:
            stream = await backend.make_socket(af, socket.SOCK_STREAM, 0, local, where,
                                               _left(deadline))
            try:
                await stream.sendall(len(wire).to_bytes(2, "big") + wire, _left(deadline))
                size = int.from_bytes(await _arecv_exactly(stream, 2, deadline), "big")
                return _tcp_response(await _arecv_exactly(stream, size, deadline), request)
            finally:
                await stream.close()
        dgram = await backend.make_socket(af, socket.SOCK_DGRAM, 0, local, where)
        try:
            await dgram.sendto(wire, where, _left(deadline))
            while True:
                data, _peer = await dgram.recvfrom(65535, _left(deadline))
                response = _udp_response(data, request)
                if response is not None:
                    return response
        finally:
            await dgram.close()


def _timeout() -> dns.exception.Timeout:
    return dns.exception.Timeout()  # type: ignore[no-untyped-call]


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise _timeout()
    return left


def _local_address(af: int, source: str | None, source_port: int) -> Any:
    if source is None and not source_port:
        return None
    address = source or dns.inet.any_for_af(af)  # type: ignore[no-untyped-call]
    return dns.inet.low_level_address_tuple((address, source_port), af)


def _recv_exactly(sock: socket.socket, count: int, deadline: float) -> bytes:
    data = b""
    while len(data) < count:
        sock.settimeout(_left(deadline))
        try:
            chunk = sock.recv(count - len(data))
        except TimeoutError:
            raise _timeout() from None
        if not chunk:
            raise EOFError("the server closed the connection")
        data += chunk
    return data


async def _arecv_exactly(sock: Any, count: int, deadline: float) -> bytes:
    data = b""
    while len(data) < count:
        chunk = await sock.recv(count - len(data), _left(deadline))
        if not chunk:
            raise EOFError("the server closed the connection")
        data += chunk
    return data


def _udp_response(wire: bytes, request: dns.message.Message) -> dns.message.Message | None:
    """The response in a datagram, or None when the datagram is not a response to
    ``request`` (ignored, as dnspython ignores it). A truncated response raises
    ``Truncated`` so that the resolver asks again over TCP."""
    try:
        response = parse_response(wire, raise_on_truncation=True)
    except dns.message.Truncated as exc:
        if request.is_response(exc.message()):  # type: ignore[no-untyped-call]
            raise
        return None
    except dns.exception.FormError as exc:
        try:  # is it garbage for us, or someone else's?
            loose = dns.message.from_wire(wire, continue_on_error=True)
        except Exception:
            return None
        if request.is_response(loose):
            raise exc
        return None
    return response if request.is_response(response) else None


def _tcp_response(wire: bytes, request: dns.message.Message) -> dns.message.Message:
    response = parse_response(wire)
    if not request.is_response(response):
        raise dns.query.BadResponse()  # type: ignore[no-untyped-call]
    return response


def parse_response(wire: bytes, *, raise_on_truncation: bool = False) -> dns.message.Message:
    """A DNS response from wire format, leaving out unusable TLSA/SMIMEA records.

    dnspython's strict parse comes first. When it refuses the response and every
    record it refuses is of a type in ``_LENIENT_TYPES``, the response is parsed again
    without those records; ``errors`` of the result lists one :class:`UnusableRecord`
    for each record left out. Otherwise dnspython's error is raised.
    """
    try:
        return dns.message.from_wire(wire, raise_on_truncation=raise_on_truncation)
    except dns.message.Truncated:
        raise
    except dns.exception.FormError as strict:
        try:
            refused = list(_refused_records(wire))
        except Exception:  # the message itself is broken, not one record's data
            raise strict from None
        if not refused or any(bad.rdtype not in _LENIENT_TYPES for bad in refused):
            raise
        response = dns.message.from_wire(wire, raise_on_truncation=raise_on_truncation,
                                         continue_on_error=True)
        if len(response.errors) != len(refused):  # something else went wrong too
            raise
        response.errors = [dns.message.MessageError(bad, error.offset)
                           for bad, error in zip(refused, response.errors, strict=True)]
        return response


def _refused_records(wire: bytes) -> Iterator[UnusableRecord]:
    """The records of a response whose data dnspython refuses, in wire order.

    Raises (``struct.error``, ``ValueError``, dnspython's errors) when the message's
    own structure is broken: a count past the end, a bad name, an RDLENGTH too long.
    """
    counts = struct.unpack_from("!HHHH", wire, 4)
    pos = 12
    for _ in range(counts[0]):
        _, used = dns.name.from_wire(wire, pos)
        pos += used + 4
    for section, count in zip(_SECTIONS, counts[1:], strict=True):
        for _ in range(count):
            name, used = dns.name.from_wire(wire, pos)
            pos += used
            rdtype, rdclass, _ttl, rdlen = struct.unpack_from("!HHIH", wire, pos)
            pos += 10
            if pos + rdlen > len(wire):
                raise ValueError("RDLENGTH past the end of the message")
            if rdtype not in _SKIPPED_TYPES:
                try:
                    dns.rdata.from_wire(rdclass, rdtype, wire, pos, rdlen)
                except Exception as exc:
                    yield UnusableRecord(section, name, rdtype, str(exc) or type(exc).__name__)
            pos += rdlen


def _left_out(response: dns.message.Message | None, owner: dns.name.Name,
              rdtype: str) -> tuple[UnusableRecord, ...]:
    """The records of the answer's own RRset that :func:`parse_response` left out."""
    errors = getattr(response, "errors", None) or ()
    wanted = dns.rdatatype.from_text(rdtype)
    return tuple(e.exception for e in errors
                 if isinstance(e.exception, UnusableRecord)
                 and e.exception.section == "answer" and e.exception.rdtype == wanted
                 and e.exception.name == owner)


def _left_out_reason(left_out: tuple[UnusableRecord, ...]) -> str:
    if not left_out:
        return ""
    details = "; ".join(sorted({bad.detail for bad in left_out}))
    noun = "record" if len(left_out) == 1 else "records"
    rdtype = dns.rdatatype.to_text(left_out[0].rdtype)
    return (f"{len(left_out)} unusable {rdtype} {noun} left out (RFC 7671 §4.1): "
            f"{details}")
