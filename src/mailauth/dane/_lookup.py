"""Finding the TLSA records of an MX host and of a domain's MX hosts (RFC 7672 §2.2).

DANE applies only to what DNSSEC proves: the TLSA records are used only when the
answer is authentic (``Answer.authentic``, the AD bit of a trusted validating
resolver). An insecure answer means DANE does not apply; a failed or bogus lookup (a
validating resolver answers SERVFAIL, which reaches a flow as TEMPFAIL) is a
temporary failure that must never read as "no TLSA records" (§2.2).

The host's address records must be secure too (RFC 7672 §2.2.2): they are asked
together with the TLSA records at the host name, and an insecure address answer means
DANE does not apply to the host. CNAMEs (RFC 7671 §7, RFC 7672 §2.2.2): when the
(secure) address lookup followed a CNAME chain (``Answer.canonical_name``), the TLSA
records at the expanded name are asked next and used when there are any; otherwise
those at the original name. The resolver reports only the final name of a chain and
one AD bit for the whole answer, so "secure" means the whole chain validated. A CNAME
at the TLSA name itself is followed by the resolver; its AD bit covers the chain.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from cryptography import x509

from .._arguments import check_domain, check_int
from .._display import Card, Displayed, Part
from .._domain import normalize_domain
from .._flow import MX, TLSA, Answer, Flow, Outcome, Query, gather, query, query_all
from ..errors import UsageError
from ..status import Status
from ._match import DANEResult, match
from ._record import short, usable

__all__ = ["DomainTLSA", "TLSALookup", "domain_tlsa_flow", "tlsa_flow", "tlsa_name"]


def _check_port(port: object) -> None:
    check_int("port", port, minimum=1)
    if isinstance(port, int) and port > 65535:
        raise UsageError(f"port= is a TCP port (1-65535), not {port}")


def tlsa_name(host: str, port: int = 25) -> str:
    """``_25._tcp.<host>``: where the TLSA records of an SMTP server are (RFC 6698 §3)."""
    return f"_{port}._tcp.{host}"


@dataclass(frozen=True, slots=True, repr=False)
class TLSALookup(Displayed):
    """The TLSA records of one MX host, as DANE may use them (RFC 7672 §2.2).

    :param status: ``pass``: DNSSEC-authentic TLSA records were found, DANE applies
        (even when none is usable: TLS is then required without authentication);
        ``none``: DANE does not apply (no TLSA records, or an answer that is not
        DNSSEC-signed); ``temperror``: a lookup failed or was bogus; a sending MTA
        defers rather than read it as "no TLSA".
    :param reason: a sentence saying why.
    :param host: the MX host name; ``port`` the SMTP port.
    :param name: the TLSA owner name whose records are used (or were asked).
    :param base_domain: the TLSA base domain: the CNAME-expanded host name when the
        records came from there, else the host name.
    :param records: the TLSA records (empty unless authentic).
    :param authentic: whether the answer used was DNSSEC-authentic.
    :param trace: the answers, one line each.
    :param addresses_authentic: whether the host's address answers (A, AAAA) were
        DNSSEC-authentic (DANE applies only then, RFC 7672 §2.2.2); None when they
        failed.
    """

    status: Status
    reason: str
    host: str
    port: int = 25
    name: str = ""
    base_domain: str = ""
    records: tuple[TLSA, ...] = ()
    authentic: bool = False
    trace: tuple[str, ...] = ()
    addresses_authentic: bool | None = None

    @property
    def applies(self) -> bool:
        """DANE applies: authentic TLSA records exist for the host."""
        return self.status is Status.PASS

    @property
    def usable_records(self) -> tuple[TLSA, ...]:
        """The records SMTP can use (RFC 7671 §4.1, RFC 7672 §3.1.3)."""
        return tuple(r for r in self.records if usable(r) is None)

    @property
    def hostnames(self) -> tuple[str, ...]:
        """The reference identifiers for DANE-TA: the TLSA base domain and the MX host
        name (RFC 7672 §3.2.3)."""
        return tuple(dict.fromkeys((self.base_domain or self.host, self.host)))

    def match(self, chain: Sequence[bytes | x509.Certificate], *,
              now: float | None = None) -> DANEResult:
        """The verdict on the chain the host presented, with these records and names.

        Without DANE (``none``) or with a failed lookup (``temperror``) the verdict
        has that status and this lookup's reason.
        """
        if self.status is not Status.PASS:
            return DANEResult(self.status, self.reason, hostnames=self.hostnames,
                              chain_length=len(chain), lookup=self)
        return replace(match(self.records, chain, hostname=self.hostnames, now=now),
                       lookup=self)

    def _card(self, *, full: bool = True) -> Card:
        if not full:
            return Card(method="dane-tlsa", status=str(self.status), reason=self.reason)
        facts = [("host", f"{self.host} port {self.port}"), ("TLSA name", self.name),
                 ("DNSSEC", "authentic" if self.authentic else "not authentic")]
        if self.addresses_authentic is not None:
            facts.append(("addresses", "authentic" if self.addresses_authentic
                          else "not authentic"))
        parts = tuple(Part(short(r), "unusable" if usable(r) else "usable", usable(r) or "")
                      for r in self.records)
        return Card(method="dane-tlsa", status=str(self.status), reason=self.reason,
                    facts=tuple(facts), parts=parts, trace=self.trace)


def _failed(answer: Answer) -> str:
    why = f" ({answer.reason})" if answer.reason else ""
    return (f"{answer.query} failed{why}: a bogus or unreachable zone is a temporary "
            "failure, never 'no TLSA records' (RFC 7672 §2.2)")


def tlsa_flow(host: str, port: int = 25) -> Flow[TLSALookup]:
    """The TLSA records of an MX host, interpreted for DANE (RFC 7672 §2.2).

    Asks the host's A and AAAA records and ``_25._tcp.<host>`` TLSA together; then,
    when the address lookup followed a secure CNAME chain, the TLSA records at the
    expanded name (RFC 7671 §7).

    :param host: the MX host name.
    :param port: the SMTP port (25).
    """
    host = check_domain("host", host)
    _check_port(port)
    name = tlsa_name(host, port)
    a, aaaa, tlsa = yield from query_all((Query(host, "A"), Query(host, "AAAA"),
                                          Query(name, "TLSA")))
    trace = [a.describe(), aaaa.describe(), tlsa.describe()]
    answered = [x for x in (a, aaaa) if x.outcome is not Outcome.TEMPFAIL]
    if not answered:
        return TLSALookup(Status.TEMPERROR, f"the address lookup of {host} failed: "
                          f"{_failed(a)}", host, port, name, host, trace=tuple(trace))
    if not all(x.authentic for x in answered):
        # RFC 7672 §2.2.2: DANE applies only to a host whose address records (and any
        # CNAME chain to them) are DNSSEC-validated.
        return TLSALookup(Status.NONE, f"the address records of {host} are not "
                          "DNSSEC-signed (insecure): DANE does not apply (RFC 7672 §2.2.2)",
                          host, port, name, host, trace=tuple(trace),
                          addresses_authentic=False)
    secure = True
    aliased = next((x for x in (a, aaaa) if x.canonical_name), None)
    if aliased is not None and aliased.canonical_name is not None:
        expanded = aliased.canonical_name.lower().rstrip(".")
        if expanded != host:
            other = yield from query(tlsa_name(expanded, port), "TLSA")
            trace.append(other.describe())
            if other.outcome is Outcome.TEMPFAIL:
                return TLSALookup(Status.TEMPERROR, _failed(other), host, port,
                                  other.query.name, expanded, trace=tuple(trace),
                                  addresses_authentic=True)
            if other.ok and other.authentic:
                return _interpret(other, host, port, expanded, trace, secure=secure)
    return _interpret(tlsa, host, port, host, trace, secure=secure)


def _interpret(answer: Answer, host: str, port: int, base: str, trace: list[str], *,
               secure: bool) -> TLSALookup:
    return replace(_judge(answer, host, port, base, trace), addresses_authentic=secure)


def _judge(answer: Answer, host: str, port: int, base: str, trace: list[str]) -> TLSALookup:
    name = answer.query.name
    if answer.outcome is Outcome.TEMPFAIL:
        return TLSALookup(Status.TEMPERROR, _failed(answer), host, port, name, base,
                          trace=tuple(trace))
    if not answer.authentic:
        return TLSALookup(Status.NONE, f"{name} is not DNSSEC-signed (insecure): DANE does "
                          "not apply (RFC 7672 §2.2)", host, port, name, base,
                          trace=tuple(trace))
    if answer.void:
        return TLSALookup(Status.NONE, f"{name} has no TLSA records (proven by DNSSEC): "
                          "DANE does not apply", host, port, name, base, authentic=True,
                          trace=tuple(trace))
    records = answer.tlsa()
    good = [r for r in records if usable(r) is None]
    note = f"; {answer.reason}" if answer.reason else ""
    if good:
        reason = (f"{len(good)} usable TLSA record{'s' if len(good) != 1 else ''} at {name} "
                  f"(DNSSEC-authentic): DANE applies{note}")
    else:
        reason = (f"TLSA records at {name} are DNSSEC-authentic but none is usable: TLS is "
                  f"required, without authentication (RFC 7672 §2.2){note}")
    return TLSALookup(Status.PASS, reason, host, port, name, base, records, True, tuple(trace))


@dataclass(frozen=True, slots=True, repr=False)
class DomainTLSA(Displayed):
    """The DANE view of a mail domain: its MX hosts and their TLSA records.

    :param status: ``pass``: the MX lookup was DNSSEC-authentic and at least one MX
        host has authentic TLSA records; ``none``: DANE does not apply (an insecure MX
        answer, RFC 7672 §2.2.1, a null MX, or no host with TLSA records);
        ``temperror``: the MX lookup or a host's lookup failed.
    :param reason: a sentence saying why.
    :param domain: the mail domain.
    :param mx: the MX records (an implicit MX is the domain itself, RFC 5321 §5.1).
    :param authentic: whether the MX answer was DNSSEC-authentic.
    :param hosts: one :class:`TLSALookup` per MX host, by preference.
    :param trace: the MX answer.
    """

    status: Status
    reason: str
    domain: str
    mx: tuple[MX, ...] = ()
    authentic: bool = False
    hosts: tuple[TLSALookup, ...] = ()
    trace: tuple[str, ...] = ()

    def _card(self, *, full: bool = True) -> Card:
        if not full:
            return Card(method="dane", status=str(self.status), reason=self.reason)
        facts = [("domain", self.domain),
                 ("MX", ", ".join(str(m) for m in self.mx) or "(none)"),
                 ("DNSSEC", "authentic" if self.authentic else "not authentic")]
        parts = tuple(Part(h.host, str(h.status), h.reason) for h in self.hosts)
        return Card(method="dane", status=str(self.status), reason=self.reason,
                    facts=tuple(facts), parts=parts, trace=self.trace)


def domain_tlsa_flow(domain: str, port: int = 25) -> Flow[DomainTLSA]:
    """The TLSA records of every MX host of ``domain`` (RFC 7672 §2.2.1).

    DANE applies only when the MX answer itself is DNSSEC-authentic: an MX host name
    an attacker could have substituted proves nothing. Hosts are then looked up
    together (``gather``).
    """
    domain = check_domain("domain", domain)
    _check_port(port)
    answer = yield from query(domain, "MX")
    trace: tuple[str, ...] = (answer.describe(),)
    if answer.outcome is Outcome.TEMPFAIL:
        return DomainTLSA(Status.TEMPERROR, f"the MX lookup failed: {_failed(answer)}",
                          domain, trace=trace)
    records = tuple(sorted(answer.mx(), key=lambda m: m.preference))
    if answer.void:
        records = (MX(0, domain),)  # RFC 5321 §5.1: the implicit MX
    if not answer.authentic:
        return DomainTLSA(Status.NONE, f"the MX records of {domain} are not DNSSEC-signed: "
                          "DANE does not apply (RFC 7672 §2.2.1)", domain, records,
                          trace=trace)
    hosts = _hosts(records)
    skipped = [m.exchange for m in records if m.exchange.strip(".") and
               _normalized(m.exchange) is None]
    if skipped:
        trace = (*trace, f"MX host names that cannot exist, left out: {', '.join(skipped)}")
    if not hosts and skipped:
        return DomainTLSA(Status.NONE, f"no MX host of {domain} has a usable name",
                          domain, records, True, trace=trace)
    if not hosts:
        return DomainTLSA(Status.NONE, f"{domain} accepts no mail (null MX, RFC 7505)",
                          domain, records, True, trace=trace)
    lookups = yield from gather(*(tlsa_flow(h, port) for h in hosts))
    found: tuple[TLSALookup, ...] = tuple(lookups)
    failed = [h.host for h in found if h.status is Status.TEMPERROR]
    dane = [h.host for h in found if h.status is Status.PASS]
    if failed:
        status = Status.TEMPERROR
        reason = f"the TLSA lookup failed for {', '.join(failed)}"
    elif dane:
        status = Status.PASS
        reason = (f"DANE applies to {len(dane)} of {len(found)} MX hosts "
                  f"({', '.join(dane)})")
    else:
        status, reason = Status.NONE, "no MX host has DNSSEC-authentic TLSA records"
    return DomainTLSA(status, reason, domain, records, True, found, trace)


def _hosts(records: Iterable[MX]) -> list[str]:
    """The MX host names, by preference, once each; a null MX (``.``) and names that
    cannot exist are left out (network data never raises)."""
    out: list[str] = []
    for record in records:
        host = _normalized(record.exchange) if record.exchange.strip(".") else None
        if host is not None and host not in out:
            out.append(host)
    return out


def _normalized(name: str) -> str | None:
    try:
        return normalize_domain(name)
    except ValueError:
        return None
