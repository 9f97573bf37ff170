"""Writing aggregate reports: the XML of RFC 9990 §2 (or RFC 7489 Appendix C for a
report read in that format), gzip, the file name and the mail message of §3.1.1.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from typing import TYPE_CHECKING

from .._arguments import check_domain
from ..errors import ArgumentTypeError, UsageError
from ._model import NAMESPACE
from ._xml import escape_text

if TYPE_CHECKING:
    from ._model import AggregateReport, ReportRecord

__all__ = ["filename", "to_gzip", "to_message", "to_xml"]

_UNIQUE_ID = re.compile(r"[A-Za-z0-9]+")
_ATEXT = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
                    r"(?:@[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
                    r"(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)?")


def _el(out: list[str], indent: str, name: str, value: str | None) -> None:
    if value is not None:
        out.append(f"{indent}<{name}>{escape_text(value)}</{name}>\n")


def _record(out: list[str], r: ReportRecord, rfc9990: bool) -> None:
    out.append("  <record>\n    <row>\n")
    out.append(f"      <source_ip>{r.source_ip}</source_ip>\n")
    out.append(f"      <count>{r.count}</count>\n      <policy_evaluated>\n")
    if r.disposition:
        _el(out, "        ", "disposition", r.disposition)
    _el(out, "        ", "dkim", r.dkim)
    _el(out, "        ", "spf", r.spf)
    for reason in r.reasons:
        out.append("        <reason>\n")
        _el(out, "          ", "type", reason.type)
        _el(out, "          ", "comment", reason.comment)
        out.append("        </reason>\n")
    out.append("      </policy_evaluated>\n    </row>\n    <identifiers>\n")
    if rfc9990:  # RFC 9990 §2.1's table order; RFC 7489's schema has the reverse
        _el(out, "      ", "header_from", r.header_from)
        _el(out, "      ", "envelope_from", r.envelope_from)
        _el(out, "      ", "envelope_to", r.envelope_to)
    else:
        _el(out, "      ", "envelope_to", r.envelope_to)
        _el(out, "      ", "envelope_from", r.envelope_from)
        _el(out, "      ", "header_from", r.header_from)
    out.append("    </identifiers>\n    <auth_results>\n")
    for d in r.dkim_results:
        out.append("      <dkim>\n")
        _el(out, "        ", "domain", d.domain)
        _el(out, "        ", "selector", d.selector)
        _el(out, "        ", "result", d.result)
        _el(out, "        ", "human_result", d.human_result)
        out.append("      </dkim>\n")
    for s in r.spf_results:
        out.append("      <spf>\n")
        _el(out, "        ", "domain", s.domain)
        _el(out, "        ", "scope", s.scope)
        _el(out, "        ", "result", s.result)
        _el(out, "        ", "human_result", s.human_result)
        out.append("      </spf>\n")
    out.append("    </auth_results>\n")
    for ext in r.extensions:
        out.append(f"    {ext}\n")
    out.append("  </record>\n")


def to_xml(report: AggregateReport) -> bytes:
    """The report as XML (UTF-8): RFC 9990 §2 for ``format="rfc9990"`` (the
    ``urn:ietf:params:xml:ns:dmarc-2.0`` namespace, ``<version>1.0</version>``, the
    elements in the order of its tables), RFC 7489 Appendix C otherwise."""
    rfc9990 = report.format == "rfc9990"
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n']
    out.append(f'<feedback xmlns="{NAMESPACE}">\n' if rfc9990 else "<feedback>\n")
    version = "1.0" if rfc9990 else report.version
    _el(out, "  ", "version", version)
    out.append("  <report_metadata>\n")
    _el(out, "    ", "org_name", report.org_name)
    _el(out, "    ", "email", report.email)
    _el(out, "    ", "extra_contact_info", report.extra_contact_info)
    _el(out, "    ", "report_id", report.report_id)
    out.append(f"    <date_range>\n      <begin>{int(report.date_begin.timestamp())}</begin>\n"
               f"      <end>{int(report.date_end.timestamp())}</end>\n    </date_range>\n")
    for error in report.errors:
        _el(out, "    ", "error", error)
    _el(out, "    ", "generator", report.generator)
    out.append("  </report_metadata>\n  <policy_published>\n")
    p = report.policy
    _el(out, "    ", "domain", p.domain)
    _el(out, "    ", "discovery_method", p.discovery_method)
    _el(out, "    ", "adkim", p.adkim)
    _el(out, "    ", "aspf", p.aspf)
    _el(out, "    ", "p", p.p)
    _el(out, "    ", "sp", p.sp)
    _el(out, "    ", "np", p.np)
    if p.pct is not None:
        _el(out, "    ", "pct", str(p.pct))
    _el(out, "    ", "fo", p.fo)
    _el(out, "    ", "testing", p.testing)
    out.append("  </policy_published>\n")
    if report.extensions:
        out.append("  <extension>\n")
        out.extend(f"    {ext}\n" for ext in report.extensions)
        out.append("  </extension>\n")
    for r in report.records:
        _record(out, r, rfc9990)
    out.append("</feedback>\n")
    return "".join(out).encode("utf-8")


def to_gzip(report: AggregateReport) -> bytes:
    """The XML gzip-compressed (RFC 9990 §3.1.1), reproducibly (no mtime)."""
    return gzip.compress(to_xml(report), mtime=0)


def filename(report: AggregateReport, receiver: str, *, unique_id: str | None = None,
             compressed: bool = True) -> str:
    """``receiver!policy-domain!begin-timestamp!end-timestamp[!unique-id].xml[.gz]``
    (RFC 9990 §3.1.1)."""
    sender = check_domain("receiver", receiver)
    if unique_id is not None and (not isinstance(unique_id, str)
                                  or _UNIQUE_ID.fullmatch(unique_id) is None):
        raise UsageError(f"unique_id is letters and digits (RFC 9990 §3.1.1), not "
                         f"{unique_id!r}")
    parts = [sender, report.policy.domain, str(int(report.date_begin.timestamp())),
             str(int(report.date_end.timestamp()))]
    if unique_id is not None:
        parts.append(unique_id)
    return "!".join(parts) + (".xml.gz" if compressed else ".xml")


def _address(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise ArgumentTypeError(f"{name}= is a str, not {type(value).__name__}")
    if "@" not in value or any(c in value for c in "\r\n<>\",; "):
        raise UsageError(f"{name}= is an address like dmarc@example.net, not {value!r}")
    return value


def to_message(report: AggregateReport, *, receiver: str, from_addr: str, to_addr: str,
               date: datetime | None = None, message_id: str | None = None,
               unique_id: str | None = None, compressed: bool = True) -> EmailMessage:
    """The mail message for a ``mailto:`` rua (RFC 9990 §3.1.1)."""
    sender = check_domain("receiver", receiver)
    _address("from_addr", from_addr)
    _address("to_addr", to_addr.removeprefix("mailto:"))
    if _ATEXT.fullmatch(report.report_id) is None:
        raise UsageError(f"the report_id {report.report_id!r} is not a dot-atom-text "
                         f"[\"@\" dot-atom-text] (RFC 9990 §3.1.1 ridfmt)")
    when = date if date is not None else datetime.now(UTC)  # noqa: TID251
    payload = to_gzip(report) if compressed else to_xml(report)
    name = filename(report, sender, unique_id=unique_id, compressed=compressed)
    digest = hashlib.sha256(payload).hexdigest()
    msg = EmailMessage(policy=SMTP)
    msg["From"] = from_addr
    msg["To"] = to_addr.removeprefix("mailto:")
    msg["Date"] = when.strftime("%a, %d %b %Y %H:%M:%S %z")
    # RFC 9990 §3.1.1 dmarc-subject, with ridtxt in angle brackets.
    msg["Subject"] = (f"Report Domain: {report.policy.domain} Submitter: {sender} "
                      f"Report-ID: <{report.report_id}>")
    msg["Message-ID"] = f"<{message_id or digest[:32] + '.dmarc@' + sender}>"
    msg["MIME-Version"] = "1.0"
    msg.set_content(f"This is a DMARC aggregate report from {sender} for "
                    f"{report.policy.domain}.\n", subtype="plain", charset="us-ascii")
    maintype, subtype = ("application", "gzip") if compressed else ("text", "xml")
    msg.add_attachment(payload, maintype=maintype, subtype=subtype, filename=name)
    return msg
