"""Reading received TLS-RPT reports: JSON, gzip or a whole mail message (RFC 8460 §4.4,
§5.3), with size and decompression limits.

Real reporters stray from the RFC in small ways; those are read and noted in
``Report.warnings``: ``contact-info`` null or missing, no ``sending-mta-ip``,
``mx-host`` as ``mx-host-pattern``, counts missing or written as strings,
date-times without a time zone (read as UTC), summary counts that disagree with the
failure details, unregistered policy and result types. What leaves no report to read
(not JSON, no date range, no policies list, a negative count) is a ParseError.

Decompression is streamed with a cap: a gzip bomb is refused once its output passes
``max_json_bytes``, and memory stays bounded by that cap.
"""

from __future__ import annotations

import json
import zlib
from datetime import UTC, datetime
from typing import Any

from .._arguments import check_int
from .._gzip import MAGIC as _GZIP
from .._gzip import GzipError, Inflater
from ..errors import ArgumentTypeError, ParseError
from ._report import (
    _RESULT_TYPES,
    FailureDetail,
    PolicyResult,
    Report,
    policy_type_of,
)

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_MAX_JSON_BYTES", "parse_report"]

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
"""The largest input :func:`parse_report` reads (a message, gzip or JSON)."""
DEFAULT_MAX_JSON_BYTES = 16 * 1024 * 1024
"""The largest JSON text it accepts, after decompression."""

_RFC = "RFC 8460 §4.4"
_CHUNK = 256 * 1024
_MAX_RATIO = 1100  # deflate expands at most ~1032:1; below limit/ratio no cap is needed
_REPORT_TYPES = {
    "application/tlsrpt+gzip", "application/tlsrpt+json", "application/tlsrpt",
    "application/gzip", "application/x-gzip", "application/json",
    "application/octet-stream",
}


def parse_report(data: bytes | bytearray | memoryview | str, *,
                 max_bytes: int = DEFAULT_MAX_BYTES,
                 max_json_bytes: int = DEFAULT_MAX_JSON_BYTES) -> Report:
    """Read a received TLS-RPT report (RFC 8460 §4.4).

    What RFC 8460 calls the aggregate report, in any of the forms it travels in: the
    JSON text, gzip-compressed JSON (``application/tlsrpt+gzip``, §5.2), or a whole
    mail message (``multipart/report; report-type="tlsrpt"``, §5.3) whose report
    attachment is read.

    :param data: the bytes received (a ``str`` is taken as UTF-8 text).
    :param max_bytes: the largest input read.
    :param max_json_bytes: the largest JSON text accepted, after decompression.
    :raises ParseError: for input that is too large, decompresses beyond the limit, is
        not a TLS report, or lacks what every report needs (a date range, a list of
        policies).
    """
    check_int("max_bytes", max_bytes, minimum=1)
    check_int("max_json_bytes", max_json_bytes, minimum=1)
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    elif isinstance(data, bytearray | memoryview):
        data = bytes(data)
    elif not isinstance(data, bytes):
        raise ArgumentTypeError(f"parse_report() takes bytes (or str), not "
                                f"{type(data).__name__}")
    if len(data) > max_bytes:
        raise ParseError(f"the report is {len(data)} bytes, over the limit of {max_bytes}",
                         rfc=_RFC)
    warnings: dict[str, None] = {}
    body = data.lstrip(b" \t\r\n")
    if body.startswith(_GZIP):
        text = _gunzip(body, max_json_bytes)
    elif body.startswith((b"{", b"[", b"\xef\xbb\xbf")):
        text = body
    else:
        text = _from_message(data, max_json_bytes, warnings)
    if len(text) > max_json_bytes:
        raise ParseError(f"the JSON report is {len(text)} bytes, over the limit of "
                         f"{max_json_bytes}", rfc=_RFC)
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8, deep nesting
        raise ParseError(f"not a JSON report: {exc}"[:200], rfc=_RFC) from None
    return report_from_json(obj, warnings)


def _gunzip(data: bytes, limit: int) -> bytes | bytearray:
    """Decompress gzip (every member), refusing output beyond ``limit`` bytes."""
    if len(data) * _MAX_RATIO <= limit:  # cannot pass the limit: one call
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out = d.decompress(data)
        except zlib.error as exc:
            raise ParseError(f"invalid gzip data: {exc}", rfc="RFC 8460 §5.2") from None
        if d.eof and not d.unused_data.strip(b"\0"):
            return out
    out_buf = bytearray()
    try:
        for piece in Inflater(data, chunk=_CHUNK):  # what follows the members is ignored
            out_buf += piece
            if len(out_buf) > limit:
                raise ParseError(f"the gzip report inflates beyond the limit of {limit} "
                                 "bytes (max_json_bytes)", rfc="RFC 8460 §5.2")
    except GzipError as exc:
        if exc.truncated:
            raise ParseError("truncated gzip data", rfc="RFC 8460 §5.2") from None
        raise ParseError(f"invalid gzip data: {exc}", rfc="RFC 8460 §5.2") from None
    return out_buf


def _from_message(data: bytes, limit: int, warnings: dict[str, None]) -> bytes | bytearray:
    """The report attachment of a mail message (RFC 8460 §5.3)."""
    import email
    import email.policy

    try:
        message = email.message_from_bytes(data, policy=email.policy.compat32)
        top = message.get_content_type()
        if top != "multipart/report" or message.get_param("report-type") != "tlsrpt":
            warnings[f"the message is {top}, not multipart/report; report-type=tlsrpt "
                     "(RFC 8460 §5.3)"] = None
        for part in message.walk():
            if part.is_multipart():
                continue
            ctype = part.get_content_type()
            name = (part.get_filename() or "").lower()
            if ctype not in _REPORT_TYPES and not name.endswith((".json", ".json.gz")):
                continue
            payload = part.get_payload(decode=True)
            if not isinstance(payload, bytes):
                continue
            if ctype not in ("application/tlsrpt+gzip", "application/tlsrpt+json"):
                warnings[f"the report is sent as {ctype}, not application/tlsrpt+gzip "
                         "(RFC 8460 §5.3)"] = None
            payload = payload.lstrip(b" \t\r\n")
            if payload.startswith(_GZIP):
                return _gunzip(payload, limit)
            if payload.startswith((b"{", b"\xef\xbb\xbf")):
                return payload
    except ParseError:
        raise
    except Exception as exc:  # the stdlib's MIME reader on hostile input
        raise ParseError(f"unreadable mail message: {type(exc).__name__}: {exc}"[:200],
                         rfc="RFC 8460 §5.3") from None
    raise ParseError("neither JSON, gzip, nor a mail message with a TLS report "
                     "attachment", rfc="RFC 8460 §5.3")


# --- from the JSON object to the model ---------------------------------------------

def _refuse(message: str) -> ParseError:
    return ParseError(message, rfc=_RFC)


def _datetime(value: object, key: str, warnings: dict[str, None]) -> datetime:
    if not isinstance(value, str):
        raise _refuse(f"date-range {key} is missing or not a string")
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise _refuse(f"date-range {key} is not an RFC 3339 date-time: {value[:40]!r}"
                      ) from None
    if when.tzinfo is None:
        warnings[f"date-range {key} has no time zone ({value[:40]!r}): read as UTC"] = None
        return when.replace(tzinfo=UTC)
    return when


def _count(value: object, what: str, warnings: dict[str, None]) -> int:
    if type(value) is int:
        if value < 0:
            raise _refuse(f"{what} is negative: {value}")
        return value
    if value is None:
        warnings[f"{what} is missing: counted as 0"] = None
        return 0
    if isinstance(value, str) and value.strip().isdigit() and len(value) < 20:
        warnings[f"{what} is a string, not a number"] = None
        return int(value)
    if isinstance(value, float) and value.is_integer() and 0 <= value < 2**63:
        warnings[f"{what} is not an integer"] = None
        return int(value)
    raise _refuse(f"{what} is not a count: {str(value)[:40]!r}")


def _text(value: object, what: str, warnings: dict[str, None]) -> str | None:
    if value is None or type(value) is str:
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        warnings[f"{what} is a number, not a string"] = None
        return str(value)
    raise _refuse(f"{what} is not a string")


def _strings(value: object, what: str, warnings: dict[str, None]) -> tuple[str, ...]:
    if value is None:
        return ()
    if type(value) is str:
        return (value,)
    if type(value) is list and all(type(v) is str for v in value):
        return tuple(value)
    raise _refuse(f"{what} is not a list of strings")


_PLAIN = frozenset({str, type(None)})  # the types a failure-details value usually has


def _failure(item: object, warnings: dict[str, None]) -> FailureDetail:
    if type(item) is not dict:
        raise _refuse("a failure-details entry is not an object")
    get = item.get
    rtype = get("result-type")
    if type(rtype) is not str:
        raise _refuse("a failure-details entry has no result-type")
    result_type = _RESULT_TYPES.get(rtype, rtype)   # result_type_of, inlined: per entry
    if type(result_type) is str:
        warnings[f"result-type {rtype[:40]!r} is not registered (RFC 8460 §4.3)"] = None
    count = get("failed-session-count")
    if type(count) is not int or count < 0:
        count = _count(count, "failed-session-count", warnings)
    sending = get("sending-mta-ip")
    if sending is None:
        warnings["a failure-details entry has no sending-mta-ip"] = None
    info = get("additional-information")
    if info is None and "additional-info-uri" in item:
        warnings["additional-info-uri is read as additional-information"] = None
        info = get("additional-info-uri")
    mx, helo, ip, code = (get("receiving-mx-hostname"), get("receiving-mx-helo"),
                          get("receiving-ip"), get("failure-reason-code"))
    # The usual shape (every value a string or absent) skips the per-field checks.
    plain = _PLAIN
    if not (type(sending) in plain and type(mx) in plain and type(helo) in plain
            and type(ip) in plain and type(info) in plain and type(code) in plain):
        sending = _text(sending, "sending-mta-ip", warnings)
        mx = _text(mx, "receiving-mx-hostname", warnings)
        helo = _text(helo, "receiving-mx-helo", warnings)
        ip = _text(ip, "receiving-ip", warnings)
        info = _text(info, "additional-information", warnings)
        code = _text(code, "failure-reason-code", warnings)
    return FailureDetail(result_type, count, sending, mx, helo, ip, info, code)


def _policy(item: object, warnings: dict[str, None]) -> PolicyResult:
    if type(item) is not dict:
        raise _refuse("a policies entry is not an object")
    policy = item.get("policy")
    if policy is None and "policy-type" in item:
        warnings["policy fields outside a \"policy\" object"] = None
        policy = item
    if type(policy) is not dict:
        raise _refuse("a policies entry has no policy object")
    ptype = policy.get("policy-type")
    if type(ptype) is not str:
        warnings["a policy has no policy-type"] = None
        ptype = ""
    policy_type = policy_type_of(ptype)
    if type(policy_type) is str and ptype:
        warnings[f"policy-type {ptype[:40]!r} is not sts, tlsa or no-policy-found"] = None
    domain = policy.get("policy-domain")
    if type(domain) is not str:
        warnings["a policy has no policy-domain"] = None
        domain = _text(domain, "policy-domain", warnings) or ""
    mx = policy.get("mx-host")
    if mx is None and "mx-host-pattern" in policy:
        warnings["mx-host-pattern is read as mx-host"] = None
        mx = policy.get("mx-host-pattern")
    summary = item.get("summary")
    if type(summary) is not dict:
        warnings["a policy has no summary"] = None
        summary = {}
    ok = summary.get("total-successful-session-count")
    if type(ok) is not int or ok < 0:
        ok = _count(ok, "total-successful-session-count", warnings)
    bad = summary.get("total-failure-session-count")
    if type(bad) is not int or bad < 0:
        bad = _count(bad, "total-failure-session-count", warnings)
    raw = item.get("failure-details")
    if raw is None:
        details: tuple[FailureDetail, ...] = ()
    elif type(raw) is list:
        details = tuple([_failure(d, warnings) for d in raw])
        listed = sum([d[1] for d in details])   # failed_session_count
        if listed != bad:
            warnings[f"total-failure-session-count {bad} differs from the sum of "
                     f"failed-session-count ({listed})"] = None
    else:
        raise _refuse("failure-details is not a list")
    return PolicyResult(policy_type, domain, ok, bad,
                        _strings(policy.get("policy-string"), "policy-string", warnings),
                        _strings(mx, "mx-host", warnings), details)


def report_from_json(obj: Any, warnings: dict[str, None] | None = None) -> Report:
    """The :class:`Report` of a decoded JSON object (RFC 8460 §4.4).

    :raises ParseError: as :func:`parse_report`.
    """
    if warnings is None:
        warnings = {}
    if type(obj) is not dict:
        raise _refuse("the JSON is not an object")
    get = obj.get
    dates = get("date-range")
    if type(dates) is not dict:
        raise _refuse("no date-range: not a TLS report")
    start = _datetime(dates.get("start-datetime"), "start-datetime", warnings)
    end = _datetime(dates.get("end-datetime"), "end-datetime", warnings)
    if end < start:
        warnings["the date range ends before it starts"] = None
    policies = get("policies")
    if type(policies) is not list:
        raise _refuse("no policies list: not a TLS report")
    org = get("organization-name")
    if type(org) is not str:
        warnings["no organization-name"] = None
        org = _text(org, "organization-name", warnings) or ""
    contact = get("contact-info")
    if contact is None:
        warnings["contact-info is null or missing"] = None
    elif type(contact) is not str:
        contact = _text(contact, "contact-info", warnings)
    report_id = get("report-id")
    if type(report_id) is not str:
        warnings["no report-id"] = None
        report_id = _text(report_id, "report-id", warnings) or ""
    parsed = tuple(_policy(p, warnings) for p in policies)
    return Report(org, start, end, contact, report_id, parsed, tuple(warnings))

