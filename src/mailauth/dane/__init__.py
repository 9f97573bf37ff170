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
- :func:`check_dane`: the lookup and the verdict on a chain (given, or collected
  from the live server), as one check; with ``domain=`` also the MTA-STS view of the
  host (:class:`MTASTSView`, :func:`webpki_verify`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING

from cryptography import x509

from .._arguments import check_domain, check_number
from .._flow import DEFAULT_BUDGET, Check, Flow, Query, gather, query_all, work
from ..errors import ArgumentTypeError, UsageError
from ..mta_sts import FETCH_TIMEOUT, MTASTSPolicyResult, get_mta_sts_policy
from ..status import Status
from ._lookup import DomainTLSA, TLSALookup, _check_port, domain_tlsa_flow, tlsa_flow, tlsa_name
from ._match import MAX_CHAIN, DANEResult, RecordOutcome, _chain, match
from ._record import MATCHING_TYPES, SELECTORS, USAGES, parse_tlsa, parse_tlsa_wire, usable
from ._rollover import rollover_warnings, tlsa_record_for
from ._sts import MTASTSView, mta_sts_view, webpki_verify

if TYPE_CHECKING:
    from ..smtp_probe import ProbeResult

__all__ = [
    "MATCHING_TYPES",
    "MAX_CHAIN",
    "SELECTORS",
    "USAGES",
    "DANEResult",
    "DomainTLSA",
    "MTASTSView",
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
    "webpki_verify",
]


def check_dane(host: str, port: int = 25, *,
               chain: Sequence[bytes | x509.Certificate] | None = None,
               now: float | None = None, budget: float | None = None,
               address: str | None = None, timeout: float = 30.0,
               domain: str | None = None,
               roots: Sequence[bytes | x509.Certificate] | None = None) -> Check[DANEResult]:
    """The DANE verdict on an MX host's certificate chain (RFC 7672 §2.2, §3).

    Looks up the host's TLSA records (:func:`tlsa_flow`: used only when
    DNSSEC-authentic) and matches them against ``chain`` (:func:`match`, with the TLSA
    base domain and the host name as reference identifiers). The result's ``lookup``
    holds the records and their DNSSEC status.

    Without ``chain`` the check connects to the server, says EHLO and STARTTLS, and
    takes the chain it presents (:func:`mailauth.smtp_probe.probe_starttls`, handed to
    the driver as blocking work: under ``await`` it runs in a worker thread). The
    server is reached at the host's A and AAAA addresses as the check's own resolver
    answers them (asked by the flow, so a DNSSEC-validating resolver and its zones
    are the ones used), tried in turn. The server is probed only when DANE applies
    (or, with ``domain=``, when an MTA-STS policy applies instead). A probe that
    fails is a ``temperror`` with its reason (the result's ``probe`` says which step
    failed).

    With ``domain=`` (the recipient domain whose MX the host is) the check also
    fetches the domain's MTA-STS policy (:func:`mailauth.get_mta_sts_policy`'s flow,
    through the fetcher the check is run with) and reports in ``result.mta_sts``
    (:class:`MTASTSView`) the policy's mode, whether the host matches its ``mx``
    patterns, and whether the presented chain is valid for the host under the WebPKI
    with the trust anchors ``roots`` (RFC 8461 §4).

    :param host: the MX host name.
    :param port: the SMTP port (25).
    :param chain: the certificates the host presented, DER bytes, leaf first; None to
        collect them from the live server.
    :param now: the time for validity dates (seconds since the epoch); the clock when
        None, read once per run.
    :param budget: seconds for the DNS and HTTPS work (20 by default; 80 with
        ``domain=``, as the policy fetch may take 60).
    :param address: connect to this address instead of the host's addresses (tests).
    :param timeout: seconds for the whole SMTP probe (30).
    :param domain: the recipient domain, for the MTA-STS view; None for none.
    :param roots: the WebPKI trust anchors for the MTA-STS view (DER bytes or
        cryptography certificates, e.g. read from a CA bundle by the caller); None
        leaves the WebPKI verdict unjudged.
    :raises UsageError: for a name that is not a host or domain name.
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
    recipient = check_domain("domain", domain) if domain is not None else None
    anchors = _roots(roots) if roots is not None else None

    def flow() -> Flow[DANEResult]:
        # The edge: the public verb reads the clock, once per run.
        moment = time.time() if now is None else float(now)  # noqa: TID251
        policy: MTASTSPolicyResult | None = None
        if recipient is None:
            lookup = yield from tlsa_flow(name, port)
        else:
            sts = get_mta_sts_policy(recipient, now=moment).flow()
            lookup, policy = yield from gather(tlsa_flow(name, port), sts)
        wanted = lookup.applies or (lookup.status is Status.NONE and policy is not None
                                    and policy.policy is not None)
        probe: ProbeResult | None = None
        presented = certificates
        problem: str | None = None
        if certificates is None and wanted:
            targets: tuple[str, ...] = (address,) if address is not None else ()
            if not targets:
                targets = yield from _addresses(name)
            if not targets:
                problem = (f"{name} has no address records (A, AAAA): there is no server "
                           "to connect to")
            else:
                from ..smtp_probe import probe_starttls  # the edge module doing the I/O

                probe = yield from work(partial(probe_starttls, addresses=targets,
                                                timeout=timeout), name, port)
                if probe.error is None:
                    presented = probe.chain
                else:
                    problem = (f"SMTP probe of {name} port {port} failed at {probe.step}: "
                               f"{probe.error}")
        if not lookup.applies:
            result = lookup.match(presented or (), now=moment)
        elif problem is not None:
            result = DANEResult(Status.TEMPERROR, problem, hostnames=lookup.hostnames,
                                chain_length=len(probe.chain) if probe else 0,
                                lookup=lookup)
        else:
            result = lookup.match(presented or (), now=moment)
        view = None
        if policy is not None:
            view = mta_sts_view(policy, name, chain=presented, tls_error=problem,
                                roots=anchors, now=moment, dane_applies=lookup.applies)
        return replace(result, probe=probe, mta_sts=view)

    default = DEFAULT_BUDGET if recipient is None else DEFAULT_BUDGET + FETCH_TIMEOUT
    return Check(flow, budget=budget if budget is not None else default)


def _addresses(host: str) -> Flow[tuple[str, ...]]:
    """The host's addresses from the check's own resolver: A, then AAAA (the answers
    :func:`tlsa_flow` asked are cached by the driver, so nothing is asked twice)."""
    a, aaaa = yield from query_all((Query(host, "A"), Query(host, "AAAA")))
    found = [str(x) for answer in (a, aaaa) if answer.ok for x in answer.addresses()]
    return tuple(dict.fromkeys(found))


def _roots(roots: Sequence[bytes | x509.Certificate]) -> tuple[x509.Certificate, ...]:
    """The caller's trust anchors, parsed now (a bad one is the caller's mistake)."""
    if isinstance(roots, bytes | bytearray | memoryview | str) \
            or not isinstance(roots, Sequence):
        raise ArgumentTypeError("roots= is a sequence of certificates (DER bytes or "
                                f"cryptography certificates), not {type(roots).__name__}")
    out = []
    for index, item in enumerate(roots):
        if isinstance(item, x509.Certificate):
            out.append(item)
        elif isinstance(item, bytes | bytearray | memoryview):
            try:
                out.append(x509.load_der_x509_certificate(bytes(item)))
            except ValueError as exc:
                raise UsageError(f"roots[{index}] is not a DER certificate: {exc}") from None
        else:
            raise ArgumentTypeError(f"roots[{index}] is a certificate (DER bytes), not "
                                    f"{type(item).__name__}")
    return tuple(out)
