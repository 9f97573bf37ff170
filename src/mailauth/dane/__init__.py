"""DANE for SMTP (RFC 6698, RFC 7671, RFC 7672): TLSA records, certificate matching,
the DNSSEC-validated lookup, and help with key rollovers.

A sending MTA that finds DNSSEC-authentic TLSA records for an MX host authenticates
the host's certificate with them instead of the WebPKI. This module is the offline
core, sans-I/O like every protocol module:

- :func:`parse_tlsa`, :func:`parse_tlsa_wire`, :func:`usable`: the records, and why
  one cannot be used with SMTP (RFC 7671 §4.1, RFC 7672 §3.1.3);
- :func:`match`: the verdict on a presented certificate chain (:class:`DANEResult`);
- :func:`tlsa_flow`, :func:`domain_tlsa_flow`: the lookups, used only when
  DNSSEC-authentic (:class:`TLSALookup`, :class:`DomainTLSA`);
- :func:`tlsa_record_for`, :func:`rollover_warnings`: the record to publish, and what
  will break at the next renewal;
- :func:`check_dane`: the lookup and the verdict on a chain, as one check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import partial

from cryptography import x509

from .._arguments import check_domain, check_number
from .._flow import DEFAULT_BUDGET, Check, Flow, work
from ..errors import ArgumentTypeError
from ..status import Status
from ._lookup import DomainTLSA, TLSALookup, _check_port, domain_tlsa_flow, tlsa_flow, tlsa_name
from ._match import MAX_CHAIN, DANEResult, RecordOutcome, _chain, match
from ._record import MATCHING_TYPES, SELECTORS, USAGES, parse_tlsa, parse_tlsa_wire, usable
from ._rollover import rollover_warnings, tlsa_record_for

__all__ = [
    "MATCHING_TYPES",
    "MAX_CHAIN",
    "SELECTORS",
    "USAGES",
    "DANEResult",
    "DomainTLSA",
    "RecordOutcome",
    "TLSALookup",
    "check_dane",
    "domain_tlsa_flow",
    "match",
    "parse_tlsa",
    "parse_tlsa_wire",
    "rollover_warnings",
    "tlsa_flow",
    "tlsa_name",
    "tlsa_record_for",
    "usable",
]


def check_dane(host: str, port: int = 25, *,
               chain: Sequence[bytes | x509.Certificate] | None = None,
               now: float | None = None, budget: float | None = None,
               address: str | None = None, timeout: float = 30.0) -> Check[DANEResult]:
    """The DANE verdict on an MX host's certificate chain (RFC 7672 §2.2, §3).

    Looks up the host's TLSA records (:func:`tlsa_flow`: used only when
    DNSSEC-authentic) and matches them against ``chain`` (:func:`match`, with the TLSA
    base domain and the host name as reference identifiers). The result's ``lookup``
    holds the records and their DNSSEC status.

    Without ``chain`` the check connects to the server, says EHLO and STARTTLS, and
    takes the chain it presents (:func:`mailauth.smtp_probe.probe_starttls`, handed to
    the driver as blocking work: under ``await`` it runs in a worker thread). The
    server is probed only when DANE applies. A probe that fails is a ``temperror``
    with its reason (the result's ``probe`` says which step failed).

    :param host: the MX host name.
    :param port: the SMTP port (25).
    :param chain: the certificates the host presented, DER bytes, leaf first; None to
        collect them from the live server.
    :param now: the time for validity dates (seconds since the epoch); the clock when
        None, read once per run.
    :param budget: seconds for the DNS work (20 by default).
    :param address: connect to this address instead of resolving ``host`` (tests).
    :param timeout: seconds for the whole SMTP probe (30).
    :raises UsageError: for a name that is not a host name.
    :raises ArgumentTypeError: for arguments of the wrong type.
    """
    name = check_domain("host", host)
    _check_port(port)
    certificates: tuple[bytes | x509.Certificate, ...] | None = None
    if chain is not None:
        _chain(chain)  # the caller's mistakes, said now
        certificates = tuple(chain)
    if now is not None:
        check_number("now", now)
    if budget is not None:
        check_number("budget", budget, positive=True)
    check_number("timeout", timeout, positive=True)
    if address is not None and not isinstance(address, str):
        raise ArgumentTypeError(f"address= is a str, not {type(address).__name__}")

    def flow() -> Flow[DANEResult]:
        lookup = yield from tlsa_flow(name, port)
        if certificates is not None:
            return lookup.match(certificates, now=now)
        if not lookup.applies:
            return lookup.match((), now=now)
        from ..smtp_probe import probe_starttls  # the edge module doing the I/O

        probe = yield from work(partial(probe_starttls, address=address, timeout=timeout),
                                name, port)
        if probe.error is not None:
            return DANEResult(Status.TEMPERROR, f"SMTP probe of {name} port {port} failed "
                              f"at {probe.step}: {probe.error}", hostnames=lookup.hostnames,
                              chain_length=len(probe.chain), lookup=lookup, probe=probe)
        return replace(lookup.match(probe.chain, now=now), probe=probe)

    return Check(flow, budget=budget if budget is not None else DEFAULT_BUDGET)
