"""The DMARC aggregate report model (RFC 9990 §2, and RFC 7489 Appendix C before it).

One model for both formats: an RFC 7489-era report (no ``<version>``, ``pct`` in the
published policy, no ``np``/``testing``/``discovery_method``, ``sampled_out`` and
``forwarded`` override reasons) reads into the same classes with what differs kept
(``format``, ``PublishedPolicy.pct``, the override types as sent). Field names are the
XML element names of RFC 9990 §2 and its schema (Appendix A).

Everything is frozen: a report is a value. What a reporter did not send is None (or an
empty tuple), never a made-up default; ``warnings`` says in words every deviation from
the RFC that was tolerated while reading.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from ipaddress import IPv4Address, IPv6Address
from typing import Literal

from .._display import Card, Displayed, Part

__all__ = ["NAMESPACE", "AggregateReport", "DKIMAuthResult", "PolicyOverride",
           "PublishedPolicy", "ReportFormat", "ReportRecord", "SPFAuthResult"]

#: The XML namespace of RFC 9990 aggregate reports (RFC 9990 §8, Appendix A).
NAMESPACE = "urn:ietf:params:xml:ns:dmarc-2.0"

#: ``"rfc9990"`` for a report in the RFC 9990 namespace or with ``<version>``,
#: ``"rfc7489"`` for the older format (RFC 7489 Appendix C, and the drafts before it).
ReportFormat = Literal["rfc9990", "rfc7489"]


def _reduce(self: object) -> tuple[type, tuple[object, ...]]:
    """Pickle as the class and its fields in order: about twice as fast as the
    dataclass default (``parse_many`` sends reports between processes)."""
    cls = type(self)
    return cls, tuple([getattr(self, name) for name in cls.__slots__])  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class PolicyOverride:
    """One ``<reason>`` of ``<policy_evaluated>``: why the disposition differs from the
    published policy (RFC 9990 §2.1 ``PolicyOverrideReason``).

    :param type: ``local_policy``, ``mailing_list``, ``other``, ``policy_test_mode``,
        ``trusted_forwarder`` (RFC 9990), or RFC 7489's ``forwarded`` and
        ``sampled_out``; an unknown type is kept as sent (lower-cased).
    :param comment: the free text, or None.
    """

    type: str
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class DKIMAuthResult:
    """One ``<dkim>`` of ``<auth_results>``: a DKIM signature's own result, before
    alignment (RFC 9990 §2.1 ``DKIMAuthResultType``).

    :param domain: the signature's ``d=``.
    :param selector: its ``s=`` (None when not sent: optional in RFC 7489).
    :param result: ``none``, ``pass``, ``fail``, ``policy``, ``neutral``, ``temperror``
        or ``permerror`` (RFC 8601), lower-cased; an unknown word kept as sent.
    :param human_result: the reporter's free-text comment, or None.
    """

    domain: str
    selector: str | None
    result: str
    human_result: str | None = None


@dataclass(frozen=True, slots=True)
class SPFAuthResult:
    """One ``<spf>`` of ``<auth_results>``: an SPF check's own result, before alignment
    (RFC 9990 §2.1 ``SPFAuthResultType``).

    :param domain: the domain checked.
    :param scope: ``mfrom`` or ``helo`` (None when not sent: optional in RFC 7489).
    :param result: ``none``, ``neutral``, ``pass``, ``fail``, ``softfail``,
        ``temperror`` or ``permerror`` (RFC 7208), lower-cased; RFC 7489 reports may say
        ``unknown`` or ``error``, kept as sent.
    :param human_result: the reporter's free-text comment, or None.
    """

    domain: str
    scope: str | None
    result: str
    human_result: str | None = None


@dataclass(frozen=True, slots=True)
class ReportRecord:
    """One ``<record>``: messages from one source with the same identifiers and results
    (RFC 9990 §2.1 ``RecordType``).

    :param source_ip: the sending address (``<row><source_ip>``).
    :param count: how many messages (``<count>``).
    :param disposition: what the receiver did: ``none``, ``pass`` (RFC 9990),
        ``quarantine`` or ``reject``.
    :param dkim: the policy-evaluated DKIM result (aligned pass or not): ``pass`` or
        ``fail``; None when not sent.
    :param spf: the policy-evaluated SPF result, likewise.
    :param reasons: the policy override reasons.
    :param header_from: the RFC5322.From domain (``<identifiers><header_from>``).
    :param envelope_from: the RFC5321.MailFrom domain, or None.
    :param envelope_to: the RFC5321.RcptTo domain, or None.
    :param dkim_results: every DKIM signature's own result.
    :param spf_results: every SPF check's own result.
    :param extensions: the record's ``<extensions>`` children, each as XML text.
    """

    source_ip: IPv4Address | IPv6Address
    count: int
    disposition: str
    dkim: str | None
    spf: str | None
    reasons: tuple[PolicyOverride, ...]
    header_from: str
    envelope_from: str | None = None
    envelope_to: str | None = None
    dkim_results: tuple[DKIMAuthResult, ...] = ()
    spf_results: tuple[SPFAuthResult, ...] = ()
    extensions: tuple[str, ...] = ()

    @property
    def dmarc_pass(self) -> bool:
        """True when DMARC passed for these messages: DKIM or SPF passed aligned."""
        return self.dkim == "pass" or self.spf == "pass"


@dataclass(frozen=True, slots=True)
class PublishedPolicy:
    """``<policy_published>``: the DMARC record the reporter found (RFC 9990 §2.1
    ``PolicyPublishedType``; RFC 7489 Appendix C).

    :param domain: the domain where the record was found.
    :param p: the policy (``none``, ``quarantine``, ``reject``).
    :param sp: the subdomain policy, or None when not sent.
    :param np: the non-existent subdomain policy (RFC 9990), or None.
    :param adkim: ``r`` or ``s``, or None when not sent.
    :param aspf: ``r`` or ``s``, or None when not sent.
    :param pct: RFC 7489's sampling percentage (0..100), or None (RFC 9990 has none).
    :param fo: the failure reporting options as sent, or None.
    :param testing: RFC 9990's ``t`` tag: ``y`` or ``n``, or None.
    :param discovery_method: RFC 9990: ``psl`` or ``treewalk``, or None.
    """

    domain: str
    p: str
    sp: str | None = None
    np: str | None = None
    adkim: str | None = None
    aspf: str | None = None
    pct: int | None = None
    fo: str | None = None
    testing: str | None = None
    discovery_method: str | None = None


@dataclass(frozen=True, slots=True, repr=False)
class AggregateReport(Displayed):
    """A DMARC aggregate report (RFC 9990 §2; RFC 7489 §7.2 and Appendix C).

    :param org_name: the reporting organization (``<report_metadata><org_name>``).
    :param email: its contact address.
    :param report_id: the reporter's identifier of this report.
    :param date_begin: the start of the reporting period (aware, UTC).
    :param date_end: its end (aware, UTC).
    :param policy: the published policy the reporter found.
    :param records: the rows, in the report's order.
    :param version: ``<version>`` as sent (``"1.0"`` in RFC 9990), None when absent.
    :param extra_contact_info: more contact information, or None.
    :param generator: RFC 9990's ``<generator>``: the software that wrote the report.
    :param errors: ``<error>`` texts of the metadata.
    :param extensions: the report's ``<extensions>`` children, each as XML text.
    :param warnings: every deviation from the RFC that was tolerated, in words.
    :param format: ``"rfc9990"`` (the dmarc-2.0 namespace or ``<version>``) or
        ``"rfc7489"``.
    """

    org_name: str
    email: str
    report_id: str
    date_begin: datetime
    date_end: datetime
    policy: PublishedPolicy
    records: tuple[ReportRecord, ...] = ()
    version: str | None = None
    extra_contact_info: str | None = None
    generator: str | None = None
    errors: tuple[str, ...] = ()
    extensions: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    format: ReportFormat = "rfc9990"

    @property
    def policy_domain(self) -> str:
        """The domain the report is about (``<policy_published><domain>``)."""
        return self.policy.domain

    @property
    def message_count(self) -> int:
        """The number of messages the report covers: the sum of the records' counts."""
        return sum(r.count for r in self.records)

    @property
    def pass_count(self) -> int:
        """The number of messages for which DMARC passed (aligned DKIM or SPF)."""
        return sum(r.count for r in self.records if r.dmarc_pass)

    # --- writing (RFC 9990 §2, §3.1.1) -------------------------------------------------

    def to_xml(self) -> bytes:
        """The report as XML, UTF-8: RFC 9990 §2 (its namespace, ``<version>1.0``, the
        elements in its order) for ``format="rfc9990"``, RFC 7489 Appendix C
        otherwise. :func:`~mailauth.reports.parse_aggregate` reads it back equal."""
        from ._write import to_xml

        return to_xml(self)

    def to_gzip(self) -> bytes:
        """The XML gzip-compressed (RFC 9990 §3.1.1), reproducibly (no mtime)."""
        from ._write import to_gzip

        return to_gzip(self)

    def filename(self, receiver: str, *, unique_id: str | None = None,
                 compressed: bool = True) -> str:
        """The file name of RFC 9990 §3.1.1:
        ``receiver!policy-domain!begin-timestamp!end-timestamp[!unique-id].xml[.gz]``.

        :param receiver: the Mail Receiver's domain.
        :param unique_id: letters and digits, to tell apart reports of one period.
        :raises UsageError: for a unique id that is not ``1*(ALPHA / DIGIT)``.
        """
        from ._write import filename

        return filename(self, receiver, unique_id=unique_id, compressed=compressed)

    def to_message(self, *, receiver: str, from_addr: str, to_addr: str,
                   date: datetime | None = None, message_id: str | None = None,
                   unique_id: str | None = None, compressed: bool = True) -> EmailMessage:
        """The mail message for a ``mailto:`` rua (RFC 9990 §3.1.1).

        ``multipart/mixed`` with a short text part and the report attached as
        ``application/gzip`` (or ``text/xml``) under the §3.1.1 file name; the Subject
        is ``Report Domain: <policy-domain> Submitter: <receiver> Report-ID:
        <report-id>``. Send it with ``bytes(message)`` or
        ``message.as_bytes()``; DKIM-sign it so it passes DMARC, as §3.1.1 requires.

        :param receiver: the Mail Receiver's domain (the Submitter).
        :param date: the Date field; now when None.
        :param message_id: without angle brackets; made from the report when None.
        :raises UsageError: for addresses that are not addresses, or a report_id that
            is not RFC 9990's ``ridfmt``.
        """
        from ._write import to_message

        return to_message(self, receiver=receiver, from_addr=from_addr, to_addr=to_addr,
                          date=date, message_id=message_id, unique_id=unique_id,
                          compressed=compressed)

    # --- display ----------------------------------------------------------------------

    def _card(self, *, full: bool = True) -> Card:
        total, passed = self.message_count, self.pass_count
        reason = (f"{self.org_name} on {self.policy.domain or '?'}, "
                  f"{self.date_begin:%Y-%m-%d %H:%M} to {self.date_end:%Y-%m-%d %H:%M} "
                  f"UTC: {total} messages, {passed} passed DMARC")
        status = "pass" if passed == total else "fail"
        if not full:
            return Card("dmarc-report", status, reason)
        pol = self.policy
        facts = [("report-id", self.report_id), ("email", self.email),
                 ("format", self.format),
                 ("policy", " ".join(f"{k}={v}" for k, v in (
                     ("p", pol.p), ("sp", pol.sp), ("np", pol.np), ("adkim", pol.adkim),
                     ("aspf", pol.aspf), ("pct", pol.pct), ("t", pol.testing),
                     ("discovery", pol.discovery_method)) if v is not None))]
        facts += [("error", e) for e in self.errors]
        facts += [("warning", w) for w in self.warnings]
        parts = []
        for r in self.records:
            rfacts = [("disposition", r.disposition),
                      ("policy dkim/spf", f"{r.dkim or '?'}/{r.spf or '?'}")]
            if r.envelope_from is not None:
                rfacts.append(("envelope_from", r.envelope_from))
            rfacts += [("dkim", f"d={d.domain} s={d.selector or '?'}: {d.result}")
                       for d in r.dkim_results]
            rfacts += [("spf", f"{s.scope or '?'} {s.domain}: {s.result}")
                       for s in r.spf_results]
            rfacts += [("override", f"{o.type}" + (f": {o.comment}" if o.comment else ""))
                       for o in r.reasons]
            parts.append(Part(f"{r.source_ip} from {r.header_from}",
                              "pass" if r.dmarc_pass else "fail",
                              f"{r.count} messages", tuple(rfacts)))
        return Card("dmarc-report", status, reason, tuple(facts), tuple(parts))


for _cls in (PolicyOverride, DKIMAuthResult, SPFAuthResult, ReportRecord, PublishedPolicy,
             AggregateReport):
    _cls.__reduce__ = _reduce  # type: ignore[method-assign]
del _cls
