"""DMARC failure reports (RFC 9991): reading received ones, writing one for a failed
message.

A failure report is an ARF message (RFC 5965) of the ``auth-failure`` type (RFC 6591):
``multipart/report; report-type=feedback-report`` with a human-readable part, the
machine-readable ``message/feedback-report`` part, and the failed message whole
(``message/rfc822``) or its header only (``text/rfc822-headers``). RFC 9991 §4 adds
the ``Identity-Alignment`` field and the ``dmarc`` failure type.

Reading is tolerant of what real reporters send, and notes it in
``FailureReport.warnings``: the report inside ``multipart/mixed``, a base64-encoded
feedback part, ``Version: 1.0``, a comment after ``Source-IP``, an empty
``Original-Mail-From``, an mbox ``From`` line on top, and the plain-text reports of
some Exim-based gateways that carry no machine-readable part at all (their
``Sender IP Address:`` lines are read instead). What has no report in it is a
:class:`~mailauth.ParseError` with the reason.

Writing (:func:`build_failure_report`) takes the failed message and its
:class:`~mailauth.umbrella.AuthResults`, and offers the privacy choices RFC 9991 §7
discusses: the header only or the whole message, and the local-parts of the
recipients' addresses redacted (RFC 6590).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import ipaddress
import quopri
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Literal

from .._arguments import check_int
from ..errors import ArgumentTypeError, ParseError, UsageError
from ..umbrella import AuthResults

__all__ = ["DEFAULT_MAX_FAILURE_BYTES", "FailureReport", "build_failure_report",
           "parse_failure"]

DEFAULT_MAX_FAILURE_BYTES = 20 * 1024 * 1024
"""The largest failure report :func:`parse_failure` reads."""

_RFC = "RFC 5965 §2"
_MAX_DEPTH = 4          # nested multiparts followed when looking for the report
_MAX_PARTS = 1000       # MIME parts read in all
_MAX_FIELDS = 5000      # header fields in one header section of the report's own parts

_ORIGINAL_TYPES = {"message/rfc822": "message", "text/rfc822-headers": "headers",
                   "message/rfc822-headers": "headers", "text/rfc822": "message",
                   "message/global": "message", "message/global-headers": "headers"}


@dataclass(frozen=True, slots=True)
class FailureReport:
    """A received failure report (RFC 9991, in the ARF of RFC 5965 and RFC 6591).

    Field names follow the ARF field names (RFC 5965 §3.1, RFC 6591 §3.1, RFC 9991 §4)
    in lower case with ``_`` for ``-``. A field the report did not have is None (or an
    empty tuple for those that may repeat).

    :param feedback_type: ``auth-failure`` for DMARC, DKIM and SPF failure reports
        (``abuse``, ``fraud``, ... for other ARF reports), lower case.
    :param auth_failure: the ``Auth-Failure`` type: ``dmarc``, ``dkim``, ``spf``,
        ``bodyhash``, ``revoked``, ``signature``, ... (lower case).
    :param identity_alignment: the methods RFC 9991 §4 lists as having failed for an
        aligned identifier (``("dkim", "spf")``); ``()`` for ``none``; None when absent.
    :param authentication_results: each Authentication-Results field, unfolded.
    :param original_mail_from: the reverse-path without angle brackets (``""`` for a
        null one); ``original_rcpt_to`` the recipients.
    :param source_ip: the SMTP client's address, canonical text; None when absent or
        not an address (the text as sent stays in ``fields``).
    :param arrival_date: when the message arrived (``Arrival-Date``, or the older
        ``Received-Date``), timezone-aware.
    :param reported_domain: the ``Reported-Domain`` values.
    :param dkim_canonicalized_header, dkim_canonicalized_body: base64 text, white space
        removed (:meth:`canonicalized_body` decodes it).
    :param fields: every field of the machine-readable part, in order, as
        ``(name, value)`` with the value unfolded.
    :param original: the failed message as the report carries it (bytes, CRLF line
        ends), or ``b""`` without one; ``original_kind`` says ``"message"`` (whole) or
        ``"headers"`` (its header section only).
    :param text: the human-readable part.
    :param subject, report_from, report_date: of the report message itself.
    :param warnings: each deviation from RFC 5965/6591 that was read anyway.
    """

    feedback_type: str
    version: str | None = None
    user_agent: str | None = None
    auth_failure: str | None = None
    identity_alignment: tuple[str, ...] | None = None
    authentication_results: tuple[str, ...] = ()
    original_envelope_id: str | None = None
    original_mail_from: str | None = None
    original_rcpt_to: tuple[str, ...] = ()
    source_ip: str | None = None
    source_port: int | None = None
    arrival_date: datetime | None = None
    reporting_mta: str | None = None
    reported_domain: tuple[str, ...] = ()
    reported_uri: tuple[str, ...] = ()
    delivery_result: str | None = None
    incidents: int = 1
    dkim_domain: str | None = None
    dkim_identity: str | None = None
    dkim_selector: str | None = None
    dkim_selector_dns: str | None = None
    dkim_canonicalized_header: str | None = None
    dkim_canonicalized_body: str | None = None
    spf_dns: tuple[str, ...] = ()
    fields: tuple[tuple[str, str], ...] = ()
    original: bytes = b""
    original_kind: Literal["message", "headers"] | None = None
    text: str = ""
    subject: str = ""
    report_from: str = ""
    report_date: datetime | None = None
    warnings: tuple[str, ...] = field(default=())

    def field_values(self, name: str) -> tuple[str, ...]:
        """Every value of one machine-readable field (name case-insensitive)."""
        lname = name.lower()
        return tuple(v for n, v in self.fields if n.lower() == lname)

    @property
    def original_headers(self) -> tuple[tuple[str, str], ...]:
        """The failed message's header fields, ``(name, unfolded value)``, in order."""
        head = _split_head(self.original.replace(b"\r\n", b"\n"))[0]
        return tuple(_header_fields(head))

    def original_header(self, name: str) -> str | None:
        """The first value of a header field of the failed message, or None."""
        lname = name.lower()
        return next((v for n, v in self.original_headers if n.lower() == lname), None)

    @property
    def header_from(self) -> str | None:
        """The failed message's From field (unfolded, encoded words kept), or None."""
        return self.original_header("From")

    @property
    def original_subject(self) -> str | None:
        """The failed message's Subject field, or None."""
        return self.original_header("Subject")

    def canonicalized_body(self) -> bytes | None:
        """``DKIM-Canonicalized-Body`` decoded, or None (absent or not base64)."""
        return _b64(self.dkim_canonicalized_body)

    def canonicalized_header(self) -> bytes | None:
        """``DKIM-Canonicalized-Header`` decoded, or None (absent or not base64)."""
        return _b64(self.dkim_canonicalized_header)

    def __str__(self) -> str:
        what = self.auth_failure or "unspecified"
        where = f" from {self.source_ip}" if self.source_ip else ""
        domains = ", ".join(self.reported_domain) or "(no reported domain)"
        return f"{self.feedback_type} report ({what}) for {domains}{where}"


def _b64(text: str | None) -> bytes | None:
    if text is None:
        return None
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=False)
    except (binascii.Error, ValueError):
        return None


# --- reading MIME, on bytes -------------------------------------------------------------


def _split_head(data: bytes) -> tuple[bytes, bytes]:
    """(header section, body) of LF-terminated text."""
    if data.startswith(b"\n"):
        return b"", data[1:]
    end = data.find(b"\n\n")
    if end < 0:
        return data, b""
    return data[:end + 1], data[end + 2:]


def _decode(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def _header_fields(head: bytes, limit: int | None = None) -> list[tuple[str, str]]:
    """``(name, unfolded value)`` of each field (RFC 5322 §2.2); lines that are not
    fields are skipped. More than ``limit`` fields is a ParseError."""
    pieces: list[tuple[str, list[str]]] = []
    for line in head.split(b"\n"):
        if not line.strip():
            continue
        if line[:1] in (b" ", b"\t"):
            if pieces:
                pieces[-1][1].append(_decode(line).strip())
            continue
        raw_name, colon, raw_value = line.partition(b":")
        if not colon or not raw_name.strip() or b" " in raw_name.strip():
            continue
        pieces.append((_decode(raw_name).strip(), [_decode(raw_value).strip()]))
        if limit is not None and len(pieces) > limit:
            raise ParseError(f"more than {limit} header fields in one section", rfc=_RFC)
    return [(name, " ".join(p for p in parts if p)) for name, parts in pieces]


def _first(fields: Iterable[tuple[str, str]], name: str) -> str | None:
    lname = name.lower()
    return next((v for n, v in fields if n.lower() == lname), None)


def _content_type(value: str | None) -> tuple[str, dict[str, str]]:
    """The media type (lower case) and parameters of a Content-Type value."""
    if not value:
        return "text/plain", {}
    from email.message import Message

    holder = Message()
    holder["Content-Type"] = value
    params: dict[str, str] = {}
    for key, param in holder.get_params(failobj=[])[1:]:
        if isinstance(param, tuple):  # RFC 2231 (charset, language, value)
            param = param[2]
        params[str(key).lower()] = str(param).strip('"')
    return holder.get_content_type(), params


@dataclass(slots=True)
class _Part:
    fields: list[tuple[str, str]]
    body: bytes

    @property
    def ctype(self) -> str:
        return _content_type(_first(self.fields, "Content-Type"))[0]

    def decoded(self) -> bytes:
        """The body with its Content-Transfer-Encoding undone, LF line ends."""
        cte = (_first(self.fields, "Content-Transfer-Encoding") or "").strip().lower()
        body = self.body
        if cte == "base64":
            with contextlib.suppress(binascii.Error, ValueError):
                body = base64.b64decode(re.sub(rb"[^A-Za-z0-9+/=]", b"", body) + b"==",
                                        validate=False)
        elif cte == "quoted-printable":
            body = quopri.decodestring(body)
        return body.replace(b"\r\n", b"\n")


def _split_multipart(body: bytes, boundary: str) -> list[bytes]:
    """The parts between ``--boundary`` lines (RFC 2046 §5.1.1); a missing close
    delimiter ends the last part at the end of the text."""
    delimiter = b"--" + boundary.encode("utf-8", "replace")
    parts: list[bytes] = []
    current: list[bytes] | None = None
    for line in body.split(b"\n"):
        stripped = line.rstrip(b" \t")
        if stripped.startswith(delimiter):
            rest = stripped[len(delimiter):]
            if rest in (b"", b"--"):
                if current is not None:
                    parts.append(b"\n".join(current))
                if rest == b"--":
                    current = None
                    break
                current = []
                if len(parts) > _MAX_PARTS:
                    break
                continue
        if current is not None:
            current.append(line)
    else:
        if current is not None:
            parts.append(b"\n".join(current))
    return parts


def _leaves(fields: list[tuple[str, str]], body: bytes, depth: int,
            out: list[_Part]) -> None:
    """Every non-multipart part, depth first, in order."""
    ctype, params = _content_type(_first(fields, "Content-Type"))
    boundary = params.get("boundary")
    if ctype.startswith("multipart/") and boundary and depth < _MAX_DEPTH:
        for raw in _split_multipart(body, boundary):
            if len(out) > _MAX_PARTS:
                return
            head, sub = _split_head(raw)
            _leaves(_header_fields(head, _MAX_FIELDS), sub, depth + 1, out)
        return
    out.append(_Part(fields, body))


# --- the machine-readable part ----------------------------------------------------------

_ANGLE = re.compile(r"^\s*<(.*)>\s*$")


def _address(value: str) -> str:
    found = _ANGLE.match(value)
    return (found.group(1) if found else value).strip()


def _ip(value: str, warnings: dict[str, None]) -> str | None:
    word = value.split("(", maxsplit=1)[0].strip().strip("[]")
    if word.lower().startswith("ipv6:"):
        word = word[5:]
    try:
        return str(ipaddress.ip_address(word))
    except ValueError:
        warnings[f"Source-IP {value!r} is not an IP address"] = None
        return None


def _date(value: str, name: str, warnings: dict[str, None]) -> datetime | None:
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        warnings[f"{name} {value!r} is not an RFC 5322 date"] = None
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when


def _words(value: str) -> tuple[str, ...]:
    return tuple(w.strip().lower() for w in value.split(",") if w.strip())


def _from_fields(fields: list[tuple[str, str]], warnings: dict[str, None]
                 ) -> dict[str, object]:
    """The model's values from the feedback-report fields (RFC 5965 §3.1, RFC 6591
    §3.1, RFC 9991 §4)."""
    values: dict[str, object] = {}
    many: dict[str, list[str]] = {"authentication_results": [], "original_rcpt_to": [],
                                  "reported_domain": [], "reported_uri": [], "spf_dns": []}
    single = {"version", "user-agent", "original-envelope-id", "reporting-mta",
              "delivery-result", "dkim-domain", "dkim-identity", "dkim-selector",
              "dkim-selector-dns", "feedback-type", "auth-failure"}
    for name, value in fields:
        key = name.lower()
        attr = key.replace("-", "_")
        if key in ("authentication-results", "original-rcpt-to", "reported-domain",
                   "reported-uri", "spf-dns"):
            many[attr].append(_address(value) if key == "original-rcpt-to" else value)
            continue
        if attr in values:
            if key in single or key in ("source-ip", "arrival-date", "original-mail-from"):
                warnings[f"{name} appears more than once; the first is read "
                         "(RFC 5965 §3.1)"] = None
            continue
        if key in ("feedback-type", "auth-failure"):
            values[attr] = value.strip().lower()
        elif key == "identity-alignment":
            words = _words(value)
            values[attr] = () if words in ((), ("none",)) else tuple(
                w for w in words if w != "none")
        elif key == "original-mail-from":
            values[attr] = _address(value)
            if not values[attr]:
                warnings["Original-Mail-From is empty (a null reverse-path is written "
                         "<>)"] = None
        elif key == "source-ip":
            if "(" in value:
                warnings[f"Source-IP has a comment: {value!r}"] = None
            values[attr] = _ip(value, warnings)
        elif key == "source-port":
            values[attr] = int(value) if value.strip().isdigit() and len(value) < 8 \
                else None
        elif key in ("arrival-date", "received-date"):
            if "arrival_date" not in values:
                if key == "received-date":
                    warnings["Received-Date is the draft ARF name of Arrival-Date"] = None
                values["arrival_date"] = _date(value, name, warnings)
        elif key == "incidents":
            digits = value.strip()
            values[attr] = int(digits) if digits.isdigit() and len(digits) < 10 else 1
        elif key == "reporting-mta":
            _, semi, name_part = value.partition(";")
            values[attr] = (name_part if semi else value).strip()
        elif key in ("dkim-canonicalized-header", "dkim-canonicalized-body"):
            values[attr] = re.sub(r"\s+", "", value)
        elif key in single:
            values[attr] = value.strip()
    for attr, items in many.items():
        values[attr] = tuple(items)
    if values.get("version") not in (None, "1"):
        warnings[f"Version is {values['version']!r}, not 1 (RFC 5965 §3.1)"] = None
    return values


# Exim's plain-text report (no machine-readable part): "  Sender IP Address: 192.0.2.1"
_PLAIN_FIELDS = {"sender domain": "reported_domain", "sender ip address": "source_ip",
                 "received date": "arrival_date"}
_PLAIN_LINE = re.compile(r"^\s*([A-Za-z][A-Za-z ]+?):\s*(.*?)\s*$")
_PLAIN_COPY = re.compile(rb"\n-{4,}[^\n]*cop(?:y|ies) of the headers?[^\n]*\n", re.I)


def _plain_text_report(text: bytes, warnings: dict[str, None]) -> dict[str, object] | None:
    """The fields of a plain-text DMARC report without an ARF part, or None."""
    lines = _decode(text).split("\n")
    found: dict[str, str] = {}
    plain: list[tuple[str, str]] = []
    for line in lines[:40]:
        m = _PLAIN_LINE.match(line)
        if m:
            found.setdefault(m.group(1).lower(), m.group(2))
            plain.append((m.group(1), m.group(2)))
    if "sender ip address" not in found and "sender domain" not in found:
        return None
    warnings["no message/feedback-report part: read from the plain-text report "
             "(RFC 5965 §2 requires the machine-readable part)"] = None
    values: dict[str, object] = {"feedback_type": "auth-failure", "auth_failure": "dmarc",
                                 "fields": tuple(plain)}
    if "sender domain" in found:
        values["reported_domain"] = (found["sender domain"],)
    if "sender ip address" in found:
        values["source_ip"] = _ip(found["sender ip address"], warnings)
    if "received date" in found:
        values["arrival_date"] = _date(found["received date"], "Received date", warnings)
    aligned = [m for m in ("spf", "dkim")
               if found.get(f"{m} alignment", "").strip().lower() == "yes"]
    if "spf alignment" in found or "dkim alignment" in found:
        values["identity_alignment"] = tuple(aligned)
    copy = _PLAIN_COPY.search(b"\n" + text)
    if copy:
        values["original"] = text[copy.end() - 1:].lstrip(b"\n")
        values["original_kind"] = "headers"
    values["text"] = _decode(text[:copy.start()] if copy else text).strip()
    return values


# --- parse_failure ----------------------------------------------------------------------


def parse_failure(data: bytes | bytearray | memoryview, *,
                  max_bytes: int = DEFAULT_MAX_FAILURE_BYTES) -> FailureReport:
    """Read a received DMARC failure report (RFC 9991; ARF, RFC 5965 and RFC 6591).

    What RFC 9991 calls a failure report: a ``multipart/report;
    report-type=feedback-report`` message. Its ``message/feedback-report`` part is
    read into the fields of :class:`FailureReport`, the failed message (or its header)
    from the part after it, the human-readable text from the part before it.

    :param data: the whole report message, as received (CRLF or LF line ends).
    :param max_bytes: the largest input read.
    :raises ParseError: for input over the limit, or a message that has no feedback
        report (neither a ``message/feedback-report`` part nor a plain-text report
        naming the sender IP address or domain), or whose feedback part has no
        ``Feedback-Type``.
    """
    check_int("max_bytes", max_bytes, minimum=1)
    if isinstance(data, bytearray | memoryview):
        data = bytes(data)
    elif not isinstance(data, bytes):
        raise ArgumentTypeError(f"parse_failure() takes the report as bytes, not "
                                f"{type(data).__name__}")
    if len(data) > max_bytes:
        raise ParseError(f"the report is {len(data)} bytes, over the limit of {max_bytes}",
                         rfc=_RFC)
    warnings: dict[str, None] = {}
    text = data.replace(b"\r\n", b"\n").lstrip(b"\n")
    if text.startswith(b"From ") and b":" not in text[:5]:  # an mbox separator line
        text = text[text.find(b"\n") + 1:] if b"\n" in text else b""
    head, body = _split_head(text)
    top = _header_fields(head, _MAX_FIELDS)
    if not top:
        raise ParseError("not a mail message: no header fields", rfc="RFC 5322 §2.1")
    ctype, params = _content_type(_first(top, "Content-Type"))
    if ctype != "multipart/report":
        warnings[f"the report is {ctype}, not multipart/report (RFC 5965 §2)"] = None
    elif params.get("report-type", "").lower() != "feedback-report":
        warnings["multipart/report without report-type=feedback-report "
                 "(RFC 5965 §2)"] = None
    leaves: list[_Part] = []
    _leaves(top, body, 0, leaves)
    index = next((i for i, p in enumerate(leaves) if p.ctype == "message/feedback-report"),
                 None)
    values: dict[str, object]
    if index is None:
        plain = None
        for part in leaves:
            if part.ctype == "text/plain":
                plain = _plain_text_report(part.decoded(), warnings)
                if plain is not None:
                    break
        if plain is None:
            raise ParseError("no message/feedback-report part: not a failure report",
                             rfc=_RFC)
        values = plain
    else:
        feedback = leaves[index]
        if any(n.lower() == "content-transfer-encoding" and
               v.strip().lower() in ("base64", "quoted-printable")
               for n, v in feedback.fields):
            warnings["the feedback-report part is base64 or quoted-printable encoded "
                     "(RFC 5965 §2 asks for 7-bit text)"] = None
        fields = _header_fields(feedback.decoded().strip(b"\n"), _MAX_FIELDS)
        values = _from_fields(fields, warnings)
        values["fields"] = tuple(fields)
        if "feedback_type" not in values:
            if "auth_failure" not in values:
                raise ParseError("the message/feedback-report part has no Feedback-Type "
                                 "field", rfc="RFC 5965 §3.1")
            warnings["no Feedback-Type field; auth-failure assumed from "
                     "Auth-Failure"] = None
            values["feedback_type"] = "auth-failure"
        for part in leaves[index + 1:]:
            kind = _ORIGINAL_TYPES.get(part.ctype)
            if kind is not None:
                values["original"] = part.decoded()
                values["original_kind"] = kind
                break
        for part in leaves[:index]:
            if part.ctype == "text/plain":
                values["text"] = _decode(part.decoded()).strip()
                break
    original = values.get("original", b"")
    assert isinstance(original, bytes)
    values["original"] = original.replace(b"\n", b"\r\n") if original else b""
    date_text = _first(top, "Date")
    report_date = _date(date_text, "the report's Date", {}) if date_text else None
    try:
        return FailureReport(**values,  # type: ignore[arg-type]
                             subject=_first(top, "Subject") or "",
                             report_from=_first(top, "From") or "",
                             report_date=report_date, warnings=tuple(warnings))
    except TypeError as exc:  # pragma: no cover - a field the model lacks: a bug
        raise ParseError(f"the report could not be read: {exc}", rfc=_RFC) from None


# --- build_failure_report ---------------------------------------------------------------

_RECIPIENT_FIELDS = ("to", "cc", "bcc", "delivered-to", "x-original-to", "envelope-to",
                     "apparently-to", "resent-to", "resent-cc")
_ADDR = re.compile(rb"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*"
                   rb"[A-Za-z0-9])?")
_DELIVERY: dict[str, str] = {"none": "delivered", "quarantine": "spam", "reject": "reject"}


def _redacted(local: str, secret: bytes | None) -> str:
    # RFC 6590 §4: a local-part replaced by a value the receiver can repeat (a keyed
    # hash) keeps reports about the same recipient comparable without naming them.
    if secret is None:
        return "redacted"
    return "redacted-" + hmac.new(secret, local.lower().encode("utf-8"),
                                  hashlib.sha256).hexdigest()[:16]


def _recipients(head: bytes, rcpt_to: Sequence[str]) -> set[str]:
    found = {a.lower() for a in rcpt_to if "@" in a}
    for name, value in _header_fields(head):
        if name.lower() in _RECIPIENT_FIELDS:
            found.update(m.group().decode("ascii").lower()
                         for m in _ADDR.finditer(value.encode("utf-8", "replace")))
    return found


def _redact(data: bytes, recipients: set[str], secret: bytes | None) -> bytes:
    def swap(m: re.Match[bytes]) -> bytes:
        address = m.group().decode("ascii")
        if address.lower() not in recipients:
            return m.group()
        local, _, domain = address.rpartition("@")
        return f"{_redacted(local, secret)}@{domain}".encode("ascii")

    return _ADDR.sub(swap, data)


def _redact_address(address: str, secret: bytes | None) -> str:
    local, at, domain = address.rpartition("@")
    return f"{_redacted(local, secret)}@{domain}" if at else address


def _header_value(text: str) -> str:
    """A value safe to put in a header field: one line, ASCII."""
    one = " ".join(text.split())
    return one.encode("ascii", "backslashreplace").decode("ascii")


def _aligned(domain: str, author: str, org: str | None) -> bool:
    domain, author = domain.lower().rstrip("."), author.lower().rstrip(".")
    if domain == author or domain.endswith("." + author) or author.endswith("." + domain):
        return True
    return bool(org) and (domain == org or domain.endswith("." + str(org)))


def build_failure_report(message: bytes, results: AuthResults, *, reporter: str,
                         to: str, reporting_mta: str | None = None,
                         include: Literal["headers", "message"] = "headers",
                         redact: bool = True, redact_secret: bytes | None = None,
                         rcpt_to: Sequence[str] = (), envelope_id: str | None = None,
                         arrival_date: datetime | None = None,
                         delivery_result: str | None = None,
                         source_port: int | None = None, date: datetime | None = None,
                         message_id: str | None = None,
                         user_agent: str | None = None) -> bytes:
    """The DMARC failure report for a failed message (RFC 9991 §3, §4; RFC 6591 §3).

    An ARF message (``multipart/report; report-type=feedback-report``): a text part,
    the ``message/feedback-report`` part with ``Feedback-Type: auth-failure``,
    ``Auth-Failure: dmarc``, ``Identity-Alignment`` (RFC 9991 §4: the methods whose
    aligned identifier failed, or ``none``), ``Authentication-Results``, the envelope,
    ``Source-IP``, ``Reported-Domain``, ``Arrival-Date``, ``Delivery-Result``, and for a
    failed aligned DKIM signature ``DKIM-Domain``/``-Identity``/``-Selector``, for a
    failed aligned SPF identifier ``SPF-DNS`` with the record evaluated; then the
    failed message. The Subject is ``FW:`` and the original subject, as in RFC 9991's
    example. Send it to each ``ruf=`` address (after the external-destination check);
    DKIM-sign it so that it is DMARC-aligned (RFC 9991 §5.1).

    Privacy (RFC 9991 §7, RFC 6590):

    :param include: ``"headers"`` (the default: the header section only, as
        ``text/rfc822-headers``) or ``"message"`` (the whole message, as
        ``message/rfc822``).
    :param redact: replace the local-part of every recipient address (``To``, ``Cc``,
        ``Delivered-To``, ... and ``rcpt_to``) wherever it appears in the copy and in
        ``Original-Rcpt-To`` with ``redacted`` (the Domain Owner learns which of its
        messages failed, not who received them). The sender's addresses are kept: they
        are the Domain Owner's. Redaction breaks DKIM signatures over those fields.
    :param redact_secret: with it, a local-part becomes ``redacted-`` and a keyed hash
        (HMAC-SHA256) of it, so that reports about the same recipient can be matched.
    :param reporter: the report's From address; ``to`` its recipient (a ``ruf=``
        mailbox); ``reporting_mta`` this host's name (``Reporting-MTA``, and the
        authserv-id of the Authentication-Results field).
    :param rcpt_to: the envelope recipients (``Original-Rcpt-To``); ``envelope_id``
        the ``Original-Envelope-Id``; ``arrival_date`` when the message came (now by
        default); ``delivery_result`` (``delivered``, ``spam``, ``policy``, ``reject``,
        ``other``; from the DMARC disposition by default); ``source_port`` the client's.
    :param date, message_id: of the report (now, and one made from the content).
    :raises UsageError: a message without a header section, or an address without ``@``.
    """
    if not isinstance(message, bytes | bytearray | memoryview):
        raise ArgumentTypeError(f"the message is bytes, not {type(message).__name__}")
    if not isinstance(results, AuthResults):
        raise ArgumentTypeError(f"results is mailauth's AuthResults, not "
                                f"{type(results).__name__}")
    if include not in ("headers", "message"):
        raise UsageError(f"include= is 'headers' or 'message', not {include!r}")
    for name, value in (("reporter", reporter), ("to", to)):
        if not isinstance(value, str):
            raise ArgumentTypeError(f"{name}= is a str, not {type(value).__name__}")
        if "@" not in value or any(c in value for c in "\r\n<> "):
            raise UsageError(f"{name}= is an address like dmarc@example.net, not {value!r}")
    if isinstance(rcpt_to, str) or not all(isinstance(a, str) for a in rcpt_to):
        raise ArgumentTypeError("rcpt_to= is a sequence of addresses (str)")
    if redact_secret is not None and not isinstance(redact_secret, bytes):
        raise ArgumentTypeError("redact_secret= is bytes")
    raw = bytes(message).replace(b"\r\n", b"\n")
    head, _ = _split_head(raw)
    if not _header_fields(head):
        raise UsageError("the message has no header section")
    copy = head if include == "headers" else raw
    if redact:
        copy = _redact(copy, _recipients(head, rcpt_to), redact_secret)
    copy = copy.replace(b"\n", b"\r\n")

    dmarc, spf = results.dmarc, results.spf
    author = dmarc.author_domain or ""
    mta = reporting_mta or reporter.rpartition("@")[2]
    now = date if date is not None else datetime.now(UTC)  # noqa: TID251
    arrived = arrival_date if arrival_date is not None else now
    failed: list[str] = []
    dkim_fields: list[str] = []
    for a in dmarc.alignment:
        aligned = a.aligned if a.aligned is not None else _aligned(a.domain, author,
                                                                   dmarc.org_domain)
        if aligned and not a.passed and a.method not in failed:
            failed.append(a.method)
        if a.method == "dkim" and aligned and not a.passed and not dkim_fields:
            sig = next((s for s in results.dkim.signatures if s.domain == a.domain
                        and s.selector == a.selector), None)
            identity = sig.identity if sig is not None and sig.identity else "@" + a.domain
            dkim_fields = [f"DKIM-Domain: {a.domain}", f"DKIM-Identity: {identity}",
                           f"DKIM-Selector: {a.selector or ''}"]
    authres = results.header(_header_value(mta))  # folded at 78 columns, CRLF
    fields = ["Feedback-Type: auth-failure", "Version: 1",
              f"User-Agent: {_header_value(user_agent or _default_agent())}",
              "Auth-Failure: dmarc",
              f"Identity-Alignment: {', '.join(sorted(failed)) if failed else 'none'}",
              authres]
    if envelope_id:
        fields.append(f"Original-Envelope-Id: {_header_value(envelope_id)}")
    if spf.ip:
        fields.append(f"Original-Mail-From: <{_header_value(spf.sender)}>")
    for rcpt in rcpt_to:
        shown = _redact_address(rcpt, redact_secret) if redact else rcpt
        fields.append(f"Original-Rcpt-To: <{_header_value(shown)}>")
    fields.append(f"Arrival-Date: {format_datetime(_aware(arrived))}")
    fields.append(f"Reporting-MTA: dns; {_header_value(mta)}")
    if spf.ip:
        fields.append(f"Source-IP: {spf.ip}")
    if source_port is not None:
        check_int("source_port", source_port, minimum=0)
        fields.append(f"Source-Port: {source_port}")
    if author:
        fields.append(f"Reported-Domain: {author}")
    fields.append(f"Delivery-Result: "
                  f"{_header_value(delivery_result or _DELIVERY.get(dmarc.disposition, 'other'))}")
    fields += dkim_fields
    if "spf" in failed and spf.record:
        # RFC 6591 §3.1: the record SPF evaluated, as "type : domain : record".
        record = _header_value(spf.record).replace("\\", "\\\\").replace('"', '\\"')
        fields.append(f'SPF-DNS: txt : {_header_value(spf.domain)} : "{record}"')
    feedback = "\r\n".join(fields) + "\r\n"

    subject = next((v for n, v in _header_fields(head) if n.lower() == "subject"), None)
    title = _header_value(f"FW: {subject}" if subject else
                          f"FW: DMARC failure report for {author or 'a message'}")
    digest = hashlib.sha256(feedback.encode("utf-8") + copy).hexdigest()
    boundary = f"arf-{digest[:24]}"
    mid = message_id or f"{digest[:32]}.failure@{mta}"
    source = f"from IP {spf.ip} " if spf.ip else ""
    part_type = "text/rfc822-headers" if include == "headers" else "message/rfc822"
    cte = "7bit" if copy.isascii() else "8bit"
    lines = [
        f"From: <{reporter}>",
        f"To: <{to}>",
        f"Date: {format_datetime(_aware(now))}",
        f"Subject: {title}",
        f"Message-ID: <{_header_value(mid)}>",
        "MIME-Version: 1.0",
        "Content-Type: multipart/report; report-type=feedback-report;",
        f' boundary="{boundary}"',
        "",
        "This is a MIME-formatted message.",
        "",
        f"--{boundary}",
        'Content-Type: text/plain; charset="us-ascii"',
        "Content-Transfer-Encoding: 7bit",
        "",
        "This is an authentication failure report for an email message received",
        f"{source}on {format_datetime(_aware(arrived))}.",
        f"The message failed DMARC for {author or 'its author domain'}: "
        f"{_header_value(dmarc.reason)}"[:900],
        "",
        f"--{boundary}",
        "Content-Type: message/feedback-report",
        "Content-Transfer-Encoding: 7bit",
        "",
    ]
    out = ("\r\n".join(lines) + "\r\n").encode("ascii", "backslashreplace")
    out += feedback.encode("ascii", "backslashreplace")
    out += (f"\r\n--{boundary}\r\nContent-Type: {part_type}\r\n"
            f"Content-Transfer-Encoding: {cte}\r\n\r\n").encode("ascii")
    out += copy if copy.endswith(b"\r\n") else copy + b"\r\n"
    out += f"\r\n--{boundary}--\r\n".encode("ascii")
    return out


def _aware(when: datetime) -> datetime:
    if not isinstance(when, datetime):
        raise ArgumentTypeError(f"a date is a datetime, not {type(when).__name__}")
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _default_agent() -> str:
    from .. import __version__

    return f"mailauth/{__version__}"
