"""Matching TLSA records against a presented certificate chain (RFC 6698 §2.1,
RFC 7671 §5, RFC 7672 §3)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from cryptography import x509

from .._arguments import check_domain, check_number
from .._display import Card, Displayed, Part
from .._flow import TLSA
from ..errors import ArgumentTypeError
from ..status import Status
from ._cert import Presented, dns_names, issued_by, load, name_matches, signed_by_key
from ._record import MATCHING_TYPES, SELECTORS, USAGES, parse_tlsa, short, usable

if TYPE_CHECKING:
    from ..smtp_probe import ProbeResult
    from ._lookup import TLSALookup
    from ._sts import MTASTSView

__all__ = ["MAX_CHAIN", "DANEResult", "RecordOutcome", "match"]

MAX_CHAIN = 16
"""Certificates of a chain looked at; the rest are ignored (a server sends a few)."""

Verdict = Literal["match", "mismatch", "unusable"]


@dataclass(frozen=True, slots=True)
class RecordOutcome:
    """What one TLSA record gave against the chain.

    :param record: the record.
    :param outcome: ``match``, ``mismatch`` or ``unusable`` (ignored, RFC 7671 §4.1).
    :param reason: what matched, or why not.
    :param certificate: the index in the chain of the certificate it matched, if any.
    """

    record: TLSA
    outcome: Verdict
    reason: str
    certificate: int | None = None

    def __str__(self) -> str:
        return f"{short(self.record)}: {self.outcome}: {self.reason}"


@dataclass(frozen=True, slots=True, repr=False)
class DANEResult(Displayed):
    """The DANE verdict on a certificate chain (RFC 7672 §3).

    :param status: ``pass``: a usable record matched; ``fail``: usable records exist
        and none matched (a sending MTA does not deliver, RFC 7672 §2.2); ``none``:
        DANE does not apply (no usable records, or the TLSA lookup was not secure);
        ``temperror``: the lookup failed or was bogus (never read as "no TLSA").
    :param reason: a sentence saying why.
    :param matched: the record that matched, or None.
    :param records: each record's outcome, in the order given.
    :param hostnames: the reference identifiers the leaf's names were checked against
        for DANE-TA (the TLSA base domain and the MX host name).
    :param chain_length: how many certificates were presented.
    :param warnings: what will break later (a record that matches nothing: stale after
        a rotation, or a key not yet in use).
    :param lookup: the TLSA lookup the records came from, when they came from DNS
        (:meth:`TLSALookup.match`, :func:`check_dane`).
    :param probe: the live SMTP probe the chain came from, when :func:`check_dane`
        collected it (:class:`mailauth.smtp_probe.ProbeResult`).
    :param mta_sts: the MTA-STS view of the host, when :func:`check_dane` was given
        the recipient ``domain=`` (:class:`MTASTSView`); None otherwise.
    """

    status: Status
    reason: str
    matched: TLSA | None = None
    records: tuple[RecordOutcome, ...] = ()
    hostnames: tuple[str, ...] = ()
    chain_length: int = 0
    warnings: tuple[str, ...] = ()
    lookup: TLSALookup | None = None
    probe: ProbeResult | None = None
    mta_sts: MTASTSView | None = None

    def _card(self, *, full: bool = True) -> Card:
        if not full:
            return Card(method="dane", status=str(self.status), reason=self.reason)
        facts: list[tuple[str, str]] = []
        if self.lookup is not None:
            facts.append(("TLSA name", self.lookup.name))
            facts.append(("DNSSEC", "authentic" if self.lookup.authentic else "not authentic"))
        if self.hostnames:
            facts.append(("host names", ", ".join(self.hostnames)))
        facts.append(("matched", str(self.matched) if self.matched else "(none)"))
        facts.append(("chain", f"{self.chain_length} certificates"))
        if self.probe is not None:
            probe = self.probe
            facts.append(("server", f"{probe.address or probe.host} port {probe.port}"
                          + (f", {probe.tls_version} {probe.cipher}" if probe.tls_version
                             else "")))
            if probe.error is not None:
                facts.append(("probe", f"failed at {probe.step}: {probe.error}"))
        if self.mta_sts is not None:
            facts.append(("MTA-STS", f"{self.mta_sts.status}: {self.mta_sts.reason}"))
        parts = tuple(Part(short(o.record), o.outcome, o.reason) for o in self.records)
        return Card(method="dane", status=str(self.status), reason=self.reason,
                    facts=tuple(facts), parts=parts,
                    extra=(("warnings", "\n".join(self.warnings)),) if self.warnings else ())


def _records(tlsa_records: Iterable[TLSA | str]) -> tuple[TLSA, ...]:
    if isinstance(tlsa_records, str | TLSA):
        raise ArgumentTypeError("tlsa_records is a list of records or '3 1 1 <hex>' strings, "
                                "not one record")
    out = []
    for item in tlsa_records:
        if isinstance(item, TLSA):
            out.append(item)
        elif isinstance(item, str):
            out.append(parse_tlsa(item))
        else:
            raise ArgumentTypeError(f"a TLSA record is a mailauth.flows.TLSA or a "
                                    f"'3 1 1 <hex>' string, not {type(item).__name__}")
    return tuple(out)


def _chain(chain: Sequence[bytes | x509.Certificate]) -> list[Presented]:
    if isinstance(chain, bytes | bytearray | memoryview | str) \
            or not isinstance(chain, Iterable):
        raise ArgumentTypeError("chain is a sequence of DER certificates (bytes), leaf "
                                f"first, not {type(chain).__name__}")
    out = []
    for i, item in enumerate(chain):
        if not isinstance(item, bytes | bytearray | memoryview | x509.Certificate):
            raise ArgumentTypeError(f"chain[{i}] is a DER certificate (bytes), not "
                                    f"{type(item).__name__}")
        if i < MAX_CHAIN:
            out.append(load(i, item))
    return out


def _hostnames(hostname: str | Iterable[str] | None) -> tuple[str, ...]:
    if hostname is None:
        return ()
    names = [hostname] if isinstance(hostname, str) else list(hostname)
    out: list[str] = []
    for name in names:
        canonical = check_domain("hostname", name)
        if canonical not in out:
            out.append(canonical)
    return tuple(out)


def _describe(record: TLSA) -> str:
    what = "public key" if record.selector == 1 else "certificate"
    how = "" if record.mtype == 0 else f" {MATCHING_TYPES[record.mtype]} digest"
    return f"{what}{how}"


def match(tlsa_records: Iterable[TLSA | str], chain: Sequence[bytes | x509.Certificate], *,
          hostname: str | Iterable[str] | None = None, now: float | None = None) -> DANEResult:
    """The DANE verdict on a server's certificate chain (RFC 7672 §3).

    DANE-EE(3) records match the leaf's certificate or public key; its names and
    validity dates are not checked (§3.1.1). DANE-TA(2) records match a certificate
    of the chain that issues the leaf, directly or through other presented
    certificates (issuer name and signature are verified); then the leaf must be for
    one of ``hostname`` (subjectAltName DNS names, a ``*`` leftmost label matching one
    label) and it and the certificates below the trust anchor must be within their
    validity period at ``now`` (§3.2.2, §3.2.3). PKIX-TA(0), PKIX-EE(1) and records
    with unknown parameters are reported as unusable and ignored (RFC 7671 §4.1).

    :param tlsa_records: the TLSA RRset: :class:`~mailauth.flows.TLSA` records or
        presentation strings (``"3 1 1 <hex>"``).
    :param chain: the certificates the server presented, DER bytes (or cryptography
        certificates), leaf first. Bytes that are not a certificate give a result
        that says so, never an exception.
    :param hostname: the reference identifiers for DANE-TA: the TLSA base domain and
        the MX host name (a str or several). Without one, DANE-TA records cannot
        match.
    :param now: the time for validity dates (seconds since the epoch); the clock
        when None.
    :raises ParseError: for a string that is not a TLSA record.
    :raises ArgumentTypeError: for arguments of the wrong type.
    """
    records = _records(tlsa_records)
    certs = _chain(chain)
    names = _hostnames(hostname)
    if now is not None:
        check_number("now", now)
    at = time.time() if now is None else float(now)  # noqa: TID251 (the edge: public verb)
    return _evaluate(records, certs, names, at, len(chain))


def _evaluate(records: tuple[TLSA, ...], certs: list[Presented], names: tuple[str, ...],
              now: float, length: int) -> DANEResult:
    # The issuing path costs signature checks: only DANE-TA records need it.
    needs_path = any(r.usage == 2 and usable(r) is None for r in records)
    path, path_notes = _issuer_path(certs) if needs_path else (certs[:1], {})
    outcomes: list[RecordOutcome] = []
    for record in records:
        why = usable(record)
        if why is not None:
            outcomes.append(RecordOutcome(record, "unusable", why))
        elif not certs:
            outcomes.append(RecordOutcome(record, "mismatch", "no certificate was presented"))
        elif record.usage == 3:
            outcomes.append(_dane_ee(record, certs[0]))
        else:
            outcomes.append(_dane_ta(record, certs, path, path_notes, names=names, now=now))
    matched = next((o for o in outcomes if o.outcome == "match"), None)
    usable_count = sum(o.outcome != "unusable" for o in outcomes)
    warnings = _stale(outcomes) if matched is not None else ()
    if matched is not None:
        status, reason = Status.PASS, f"{short(matched.record)} matched: {matched.reason}"
    elif not records:
        status, reason = Status.NONE, "no TLSA records: DANE does not apply"
    elif not usable_count:
        status = Status.NONE
        reason = (f"none of the {len(records)} TLSA records is usable: DANE does not "
                  "authenticate this server, but TLS is still required (RFC 7672 §2.2)")
    elif not certs:
        status, reason = Status.FAIL, "no certificate was presented"
    else:
        status = Status.FAIL
        why = "; ".join(str(o) for o in outcomes if o.outcome == "mismatch")
        reason = f"none of the {usable_count} usable TLSA records matches the chain ({why})"
    return DANEResult(status, reason, matched.record if matched else None, tuple(outcomes),
                      names, length, warnings)


def _dane_ee(record: TLSA, leaf: Presented) -> RecordOutcome:
    """RFC 7672 §3.1.1: the leaf's certificate or key; names and dates are not checked."""
    data = leaf.association(record.selector, record.mtype)
    if data is None:
        return RecordOutcome(record, "mismatch", f"the leaf's public key cannot be read: "
                                                 f"{leaf.error or leaf.spki_error}")
    if data == record.data:
        return RecordOutcome(record, "match", f"the leaf's {_describe(record)} (names and "
                             "validity dates are not checked for DANE-EE, RFC 7672 §3.1.1)", 0)
    return RecordOutcome(record, "mismatch", f"not the leaf's {_describe(record)}")


def _issuer_path(certs: list[Presented]) -> tuple[list[Presented], dict[int, str]]:
    """The leaf, its issuer among the presented certificates, that one's issuer, ...

    Each link is verified (issuer name and signature). Also, for each certificate not
    on the path, why it does not issue the last one.
    """
    notes: dict[int, str] = {}
    if not certs or certs[0].cert is None:
        return (certs[:1], notes)
    path = [certs[0]]
    while True:
        child = path[-1].cert
        assert child is not None
        if child.issuer == child.subject and len(path) > 1:
            break  # a self-signed root ends the path
        found = None
        for cand in certs:
            if cand in path or cand.cert is None:
                continue
            why = issued_by(child, cand.cert)
            if why is None:
                found = cand
                break
            notes.setdefault(cand.index, f"it did not issue certificate {path[-1].index}: "
                                         f"{why}")
        if found is None:
            break
        path.append(found)
        notes.pop(found.index, None)
    return path, notes


def _dane_ta(record: TLSA, certs: list[Presented], path: list[Presented],
             notes: dict[int, str], *, names: tuple[str, ...], now: float) -> RecordOutcome:
    """RFC 7672 §3.1.2, §3.2: a presented issuer of the leaf, then names and dates."""
    leaf = certs[0]
    if leaf.cert is None:
        return RecordOutcome(record, "mismatch", f"the leaf is {leaf.error}")
    for depth, cert in enumerate(path[1:], start=1):
        if cert.association(record.selector, record.mtype) != record.data:
            continue
        problem = _ta_checks(path[:depth], names, now)
        where = f"certificate {cert.index} ({_subject(cert)})"
        if problem:
            return RecordOutcome(record, "mismatch",
                                 f"trust anchor {where} issues the leaf, but {problem}",
                                 cert.index)
        return RecordOutcome(record, "match",
                             f"the {_describe(record)} of {where}, which issues the leaf; "
                             f"the leaf is for {_matching_name(path[0], names)}",
                             cert.index)
    top = path[-1].cert
    if (record.selector, record.mtype) == (1, 0) and top is not None \
            and top.issuer != top.subject and signed_by_key(top, record.data):
        # RFC 7671 §5.2.2: a trust anchor published as its full public key need not
        # be sent; the last presented certificate must be signed by that key.
        where = f"certificate {path[-1].index} ({_subject(path[-1])})"
        problem = _ta_checks(path, names, now)
        if problem:
            return RecordOutcome(record, "mismatch", f"the trust anchor key (not sent) signed "
                                 f"{where}, but {problem}")
        return RecordOutcome(record, "match", f"the trust anchor public key (not sent by the "
                             f"server) signed {where}, which leads to the leaf; the leaf is "
                             f"for {_matching_name(path[0], names)}")
    for cert in certs:
        if cert in path[1:] or cert.association(record.selector, record.mtype) != record.data:
            continue
        if cert.index == 0:
            return RecordOutcome(record, "mismatch",
                                 "it matches the leaf itself: a DANE-TA record names an "
                                 "issuer; publish the leaf as 3 x x (DANE-EE)", 0)
        why = notes.get(cert.index, "that certificate is not a parent of the leaf")
        return RecordOutcome(record, "mismatch",
                             f"it matches certificate {cert.index}, but {why}", cert.index)
    return RecordOutcome(record, "mismatch",
                         f"no certificate of the chain has this {_describe(record)}")


def _ta_checks(below: list[Presented], names: tuple[str, ...], now: float) -> str | None:
    """The leaf's names and the validity of the certificates below the trust anchor."""
    if not names:
        return ("no host name was given to check the leaf's names against "
                "(RFC 7672 §3.2.3: pass hostname=)")
    leaf = below[0].cert
    assert leaf is not None
    have = dns_names(leaf)
    if not any(name_matches(p, h) for p in have for h in names):
        shown = ", ".join(have[:5]) or "no DNS names"
        return (f"the leaf is for {shown}, not {' or '.join(names)} "
                "(RFC 7672 §3.2.3)")
    for item in below:
        cert = item.cert
        assert cert is not None
        start = cert.not_valid_before_utc.timestamp()
        end = cert.not_valid_after_utc.timestamp()
        what = "the leaf" if item.index == 0 else f"certificate {item.index}"
        if now < start:
            return f"{what} is not valid before {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"
        if now > end:
            return f"{what} expired on {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"
    return None


def _matching_name(leaf: Presented, names: tuple[str, ...]) -> str:
    """The reference identifier the leaf matched (after :func:`_ta_checks` passed)."""
    assert leaf.cert is not None
    have = dns_names(leaf.cert)
    return next((h for h in names if any(name_matches(p, h) for p in have)), names[0])


def _subject(cert: Presented) -> str:
    try:
        assert cert.cert is not None
        return cert.cert.subject.rfc4514_string()
    except Exception:
        return "an unreadable subject"


def _stale(outcomes: list[RecordOutcome]) -> tuple[str, ...]:
    """Records that match nothing while another matched: left over or pre-published."""
    out = []
    for o in outcomes:
        if o.outcome == "mismatch" and o.certificate is None:
            out.append(f"{short(o.record)} matches no certificate the server presented: a "
                       "stale record left after a rotation (remove it), or a key not yet in "
                       "use (keep it until the rollover)")
    return tuple(out)


def describe_record(record: TLSA) -> str:
    """``DANE-EE SPKI SHA2-256``: a record's parameters by their RFC 7218 names."""
    return " ".join(table.get(value, str(value)) for table, value in
                    ((USAGES, record.usage), (SELECTORS, record.selector),
                     (MATCHING_TYPES, record.mtype)))
