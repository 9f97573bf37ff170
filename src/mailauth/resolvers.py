"""DNS resolvers over dnspython: the only module that imports ``dns`` (DESIGN.md §1).

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
=====================================  ==========
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

import dns.asyncresolver
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
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
    return rdata.to_text()


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
        if ans.rrset is None:
            return Answer(query, Outcome.NODATA, authentic=authentic,
                          ttl=_negative_ttl(ans.response), canonical_name=canonical)
        rdtype = query.rdtype.upper()
        try:
            records = records_from_rrset(rdtype, ans.rrset)
        except (ValueError, TypeError) as exc:  # rdata that cannot be typed
            return Answer(query, Outcome.TEMPFAIL, reason=f"malformed {rdtype} record: {exc}")
        return Answer(query, Outcome.OK, records, ttl=ans.rrset.ttl, authentic=authentic,
                      canonical_name=canonical)

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
