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
  will break at the next renewal.
"""

from __future__ import annotations

from ._lookup import DomainTLSA, TLSALookup, domain_tlsa_flow, tlsa_flow, tlsa_name
from ._match import MAX_CHAIN, DANEResult, RecordOutcome, match
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
