"""TLS-RPT aggregate reports (RFC 8460 §4): the model, its JSON, and how it is sent.

The model follows the JSON of §4.4 field for field, in the RFC's words with ``_`` for
``-``. Writing follows the RFC exactly: the field names of §4.4, the file name of
§5.1, gzip (§5.2), the mail message of §5.3 and the HTTPS POST body of §5.4.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, NamedTuple

from .._arguments import check_domain
from .._display import Card, Displayed, Part
from ..errors import ArgumentTypeError, UsageError

__all__ = ["FailureDetail", "PolicyResult", "PolicyType", "PostBody", "Report",
           "ResultType", "format_datetime"]


class PolicyType(StrEnum):
    """``policy-type`` (RFC 8460 §4.4)."""

    STS = "sts"
    TLSA = "tlsa"
    NO_POLICY_FOUND = "no-policy-found"


class ResultType(StrEnum):
    """The registered ``result-type`` values (RFC 8460 §4.3, §6.6)."""

    # §4.3.1 negotiation failures
    STARTTLS_NOT_SUPPORTED = "starttls-not-supported"
    CERTIFICATE_HOST_MISMATCH = "certificate-host-mismatch"
    CERTIFICATE_EXPIRED = "certificate-expired"
    CERTIFICATE_NOT_TRUSTED = "certificate-not-trusted"
    VALIDATION_FAILURE = "validation-failure"
    # §4.3.2.1 DANE
    TLSA_INVALID = "tlsa-invalid"
    DNSSEC_INVALID = "dnssec-invalid"
    DANE_REQUIRED = "dane-required"
    # §4.3.2.2 MTA-STS
    STS_POLICY_FETCH_ERROR = "sts-policy-fetch-error"
    STS_POLICY_INVALID = "sts-policy-invalid"
    STS_WEBPKI_INVALID = "sts-webpki-invalid"


_POLICY_TYPES = {t.value: t for t in PolicyType}
_RESULT_TYPES = {t.value: t for t in ResultType}


def format_datetime(when: datetime) -> str:
    """RFC 3339 ``date-time`` in UTC, to the second: ``2016-04-01T00:00:00Z``."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class FailureDetail(NamedTuple):
    """One ``failure-details`` entry (RFC 8460 §4.4): a kind of failure and how often.

    ``result_type`` is a :class:`ResultType` when registered, else the text as sent.
    A named tuple, like SPF's trace steps: a report can hold thousands, and a tuple is
    made in a fraction of a frozen dataclass's time (it is still immutable).
    """

    result_type: ResultType | str
    failed_session_count: int
    sending_mta_ip: str | None = None
    receiving_mx_hostname: str | None = None
    receiving_mx_helo: str | None = None
    receiving_ip: str | None = None
    additional_information: str | None = None
    failure_reason_code: str | None = None

    @property
    def registered(self) -> bool:
        """True for a result type of RFC 8460 §4.3."""
        return isinstance(self.result_type, ResultType)

    def to_dict(self) -> dict[str, Any]:
        """The §4.4 object, optional fields left out when absent."""
        out: dict[str, Any] = {"result-type": str(self.result_type)}
        for key, value in (("sending-mta-ip", self.sending_mta_ip),
                           ("receiving-mx-hostname", self.receiving_mx_hostname),
                           ("receiving-mx-helo", self.receiving_mx_helo),
                           ("receiving-ip", self.receiving_ip)):
            if value is not None:
                out[key] = value
        out["failed-session-count"] = self.failed_session_count
        if self.additional_information is not None:
            out["additional-information"] = self.additional_information
        if self.failure_reason_code is not None:
            out["failure-reason-code"] = self.failure_reason_code
        return out


@dataclass(frozen=True, slots=True)
class PolicyResult:
    """One ``policies`` entry (RFC 8460 §4.4): the policy applied and its sessions.

    :param policy_type: ``sts``, ``tlsa`` or ``no-policy-found`` (a
        :class:`PolicyType`; an unregistered type as sent).
    :param policy_string: the policy as a list of strings (§4.5: the MTA-STS policy's
        lines, or the TLSA records in presentation format).
    :param policy_domain: the domain the policy is for.
    :param mx_host: the MX host patterns of the policy (``mx-host``: the RFC's example
        has one string, Google and others send a list; both are read, and one pattern
        is written as a string, several as a list).
    """

    policy_type: PolicyType | str
    policy_domain: str
    total_successful_session_count: int = 0
    total_failure_session_count: int = 0
    policy_string: tuple[str, ...] = ()
    mx_host: tuple[str, ...] = ()
    failure_details: tuple[FailureDetail, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The §4.4 object."""
        policy: dict[str, Any] = {"policy-type": str(self.policy_type)}
        if self.policy_string:
            policy["policy-string"] = list(self.policy_string)
        policy["policy-domain"] = self.policy_domain
        if len(self.mx_host) == 1:
            policy["mx-host"] = self.mx_host[0]  # a string, as §4.4's example
        elif self.mx_host:
            policy["mx-host"] = list(self.mx_host)
        out: dict[str, Any] = {
            "policy": policy,
            "summary": {
                "total-successful-session-count": self.total_successful_session_count,
                "total-failure-session-count": self.total_failure_session_count,
            },
        }
        if self.failure_details:
            out["failure-details"] = [d.to_dict() for d in self.failure_details]
        return out


@dataclass(frozen=True, slots=True)
class PostBody:
    """What to POST to an ``https:`` rua (RFC 8460 §5.4): the body and its type."""

    content_type: str
    body: bytes


_UNIQUE_ID = re.compile(r"[A-Za-z0-9]+")


@dataclass(frozen=True, slots=True, repr=False)
class Report(Displayed):
    """A TLS-RPT aggregate report (RFC 8460 §4.4).

    :param organization_name: who sent the report.
    :param start_datetime: the start of the reporting period (aware, UTC).
    :param end_datetime: its end.
    :param contact_info: the reporter's contact address (None when a report gives
        none, as some do).
    :param report_id: the reporter's identifier of the report.
    :param policies: one entry per policy applied.
    :param warnings: how a received report strayed from the RFC (read anyway).
    """

    organization_name: str
    start_datetime: datetime
    end_datetime: datetime
    contact_info: str | None
    report_id: str
    policies: tuple[PolicyResult, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def policy_domain(self) -> str:
        """The domain the report is about: its first policy's domain ("" if none)."""
        return next((p.policy_domain for p in self.policies if p.policy_domain), "")

    @property
    def total_successful_session_count(self) -> int:
        return sum(p.total_successful_session_count for p in self.policies)

    @property
    def total_failure_session_count(self) -> int:
        return sum(p.total_failure_session_count for p in self.policies)

    # --- writing (RFC 8460 §4.4, §5) --------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The report as the JSON object of §4.4, keys in the RFC's order."""
        return {
            "organization-name": self.organization_name,
            "date-range": {"start-datetime": format_datetime(self.start_datetime),
                           "end-datetime": format_datetime(self.end_datetime)},
            "contact-info": self.contact_info,
            "report-id": self.report_id,
            "policies": [p.to_dict() for p in self.policies],
        }

    def to_json(self, *, indent: int | None = None) -> bytes:
        """The JSON report (RFC 8460 §4.4), UTF-8."""
        d = self.to_dict()
        if d["contact-info"] is None:
            del d["contact-info"]
        separators = (",", ":") if indent is None else (",", ": ")
        return json.dumps(d, indent=indent, separators=separators,
                          ensure_ascii=False).encode("utf-8")

    def to_gzip(self) -> bytes:
        """The JSON report gzip-compressed (RFC 8460 §5.2), reproducibly (no mtime)."""
        return gzip.compress(self.to_json(), mtime=0)

    def filename(self, submitter: str, *, unique_id: str | None = None,
                 compressed: bool = True) -> str:
        """The file name of RFC 8460 §5.1.

        ``sender!policy-domain!begin-timestamp!end-timestamp[!unique-id].json[.gz]``,
        the timestamps in seconds since the epoch.

        :param submitter: the sender's domain (``TLS-Report-Submitter``).
        :param unique_id: letters and digits, to tell apart reports of one period.
        :raises UsageError: for a unique id that is not ``1*(ALPHA / DIGIT)``.
        """
        sender = check_domain("submitter", submitter)
        if unique_id is not None and _UNIQUE_ID.fullmatch(unique_id) is None:
            raise UsageError(f"unique_id is letters and digits (RFC 8460 §5.1), not "
                             f"{unique_id!r}")
        parts = [sender, self.policy_domain, str(int(self.start_datetime.timestamp())),
                 str(int(self.end_datetime.timestamp()))]
        if unique_id is not None:
            parts.append(unique_id)
        return "!".join(parts) + (".json.gz" if compressed else ".json")

    def post_body(self, *, compressed: bool = True) -> PostBody:
        """The HTTPS POST body for an ``https:`` rua (RFC 8460 §5.4):
        ``application/tlsrpt+gzip`` or ``application/tlsrpt+json``."""
        if compressed:
            return PostBody("application/tlsrpt+gzip", self.to_gzip())
        return PostBody("application/tlsrpt+json", self.to_json())

    def to_message(self, *, submitter: str, from_addr: str, to_addr: str,
                   date: datetime | None = None, message_id: str | None = None,
                   unique_id: str | None = None, compressed: bool = True) -> bytes:
        """The mail message for a ``mailto:`` rua (RFC 8460 §5.3), CRLF line ends.

        ``multipart/report; report-type="tlsrpt"`` with a text/plain part and the
        report as an ``application/tlsrpt+gzip`` (or ``+json``) attachment named as
        §5.1 says; ``TLS-Report-Domain``, ``TLS-Report-Submitter`` and the Subject of
        §5.3. DKIM-sign it (§5.3 requires it) with :func:`mailauth.sign_dkim`.

        :param date: the Date field; now when None.
        :param message_id: without angle brackets; made from the report when None.
        """
        sender = check_domain("submitter", submitter)
        for name, value in (("from_addr", from_addr), ("to_addr", to_addr)):
            if not isinstance(value, str):
                raise ArgumentTypeError(f"{name}= is a str, not {type(value).__name__}")
            if "@" not in value or any(c in value for c in "\r\n<>"):
                raise UsageError(f"{name}= is an address like tlsrpt@example.net, not "
                                 f"{value!r}")
        when = date if date is not None else datetime.now(UTC)  # noqa: TID251
        domain = self.policy_domain
        payload = self.to_gzip() if compressed else self.to_json()
        name = self.filename(sender, unique_id=unique_id, compressed=compressed)
        digest = hashlib.sha256(payload).hexdigest()
        boundary = f"tlsrpt-{digest[:24]}"
        mid = message_id or f"{digest[:32]}.tlsrpt@{sender}"
        report_id = _header_text(self.report_id)
        ctype = "application/tlsrpt+gzip" if compressed else "application/tlsrpt+json"
        encoded = base64.encodebytes(payload).decode("ascii").replace("\n", "\r\n")
        lines = [
            f"From: {from_addr}",
            f"To: {to_addr}",
            f"Date: {when.strftime('%a, %d %b %Y %H:%M:%S %z')}",
            f"Subject: Report Domain: {domain} Submitter: {sender}",
            f" Report-ID: <{report_id}>",
            f"Message-ID: <{mid}>",
            f"TLS-Report-Domain: {domain}",
            f"TLS-Report-Submitter: {sender}",
            "MIME-Version: 1.0",
            'Content-Type: multipart/report; report-type="tlsrpt";',
            f' boundary="{boundary}"',
            "",
            "This is a multipart message in MIME format.",
            "",
            f"--{boundary}",
            'Content-Type: text/plain; charset="us-ascii"',
            "Content-Transfer-Encoding: 7bit",
            "",
            f"This is an aggregate TLS report from {sender} for {domain}.",
            "",
            f"--{boundary}",
            f"Content-Type: {ctype}",
            "Content-Transfer-Encoding: base64",
            "Content-Disposition: attachment;",
            f' filename="{name}"',
            "",
        ]
        head = "\r\n".join(lines) + "\r\n"
        return (head + encoded + f"\r\n--{boundary}--\r\n").encode("ascii")

    # --- display ----------------------------------------------------------------------

    def _card(self, *, full: bool = True) -> Card:
        ok, bad = self.total_successful_session_count, self.total_failure_session_count
        reason = (f"{self.organization_name} on {self.policy_domain or '?'}, "
                  f"{format_datetime(self.start_datetime)} to "
                  f"{format_datetime(self.end_datetime)}: {ok} successful, "
                  f"{bad} failed sessions")
        status = "fail" if bad else "pass"
        if not full:
            return Card("tlsrpt-report", status, reason)
        facts = [("report-id", self.report_id),
                 ("contact-info", self.contact_info or "(none)")]
        facts += [("warning", w) for w in self.warnings]
        parts = []
        for p in self.policies:
            pfacts = [("policy-string", s) for s in p.policy_string]
            pfacts += [("mx-host", m) for m in p.mx_host]
            pfacts += [(str(d.result_type),
                        f"{d.failed_session_count} sessions, MX "
                        f"{d.receiving_mx_hostname or '?'} ({d.receiving_ip or '?'}) from "
                        f"{d.sending_mta_ip or '?'}"
                        + (f": {d.failure_reason_code}" if d.failure_reason_code else ""))
                       for d in p.failure_details]
            parts.append(Part(f"{p.policy_type} {p.policy_domain}",
                              "fail" if p.total_failure_session_count else "pass",
                              f"{p.total_successful_session_count} successful, "
                              f"{p.total_failure_session_count} failed",
                              tuple(pfacts)))
        return Card("tlsrpt-report", status, reason, tuple(facts), tuple(parts))


def _header_text(text: str) -> str:
    """Text safe on a header line: printable ASCII, no angle brackets."""
    return "".join(c if (c.isascii() and c.isprintable() and c not in "<>") else "?"
                   for c in text)


def policy_type_of(text: str) -> PolicyType | str:
    """The :class:`PolicyType` named by ``text``, or ``text`` itself."""
    return _POLICY_TYPES.get(text, text)


def result_type_of(text: str) -> ResultType | str:
    """The :class:`ResultType` named by ``text``, or ``text`` itself."""
    return _RESULT_TYPES.get(text, text)
