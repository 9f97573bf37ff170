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

from cryptography import x509

from .._arguments import check_domain, check_number
from .._flow import DEFAULT_BUDGET, Check, Flow
from ..errors import UsageError
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
               now: float | None = None, budget: float | None = None) -> Check[DANEResult]:
    """The DANE verdict on an MX host's certificate chain (RFC 7672 §2.2, §3).

    Looks up the host's TLSA records (:func:`tlsa_flow`: used only when
    DNSSEC-authentic) and matches them against ``chain`` (:func:`match`, with the TLSA
    base domain and the host name as reference identifiers). The result's ``lookup``
    holds the records and their DNSSEC status.

    :param host: the MX host name.
    :param port: the SMTP port (25).
    :param chain: the certificates the host presented, DER bytes, leaf first.
        Collecting them from the live server is not there yet: it is required.
    :param now: the time for validity dates (seconds since the epoch); the clock when
        None, read once per run.
    :param budget: seconds for the DNS work (20 by default).
    :raises UsageError: without ``chain``, or for a name that is not a host name.
    :raises ArgumentTypeError: for arguments of the wrong type.
    """
    name = check_domain("host", host)
    _check_port(port)
    if chain is None:
        raise UsageError("chain= is required: pass the DER certificates the host presented, "
                         "leaf first (the live SMTP check is not there yet)")
    _chain(chain)  # the caller's mistakes, said now
    certificates = tuple(chain)
    if now is not None:
        check_number("now", now)
    if budget is not None:
        check_number("budget", budget, positive=True)

    def flow() -> Flow[DANEResult]:
        lookup = yield from tlsa_flow(name, port)
        return lookup.match(certificates, now=now)

    return Check(flow, budget=budget if budget is not None else DEFAULT_BUDGET)
