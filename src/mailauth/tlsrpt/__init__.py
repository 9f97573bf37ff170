"""TLS-RPT: SMTP TLS Reporting (RFC 8460).

A domain publishes at ``_smtp._tls.<domain>`` where sending MTAs should send daily
reports on the TLS sessions they held with its MX hosts. :func:`get_tlsrpt_policy`
(``mailauth.get_tlsrpt_policy``) looks the record up; :func:`parse_record` reads one.

Reports: :func:`parse_report` reads a received report (JSON, gzip, or the whole mail
message); :class:`ReportBuilder` counts a sender's sessions and gives a
:class:`Report`, which writes itself as JSON (:meth:`Report.to_json`), gzip, the mail
message of §5.3 (:meth:`Report.to_message`) or the HTTPS POST body of §5.4
(:meth:`Report.post_body`), named as §5.1 says (:meth:`Report.filename`).
"""

from __future__ import annotations

from .._arguments import check_number
from .._domain import normalize_domain
from .._flow import Check, Flow
from ..errors import ArgumentTypeError, UsageError
from ._build import AppliedPolicy, ReportBuilder
from ._parse import DEFAULT_MAX_BYTES, DEFAULT_MAX_JSON_BYTES, parse_report, report_from_json
from ._record import (
    TLSRPTPolicyResult,
    TLSRPTRecord,
    is_tlsrpt_record,
    parse_record,
    tlsrpt_policy_flow,
)
from ._report import (
    FailureDetail,
    PolicyResult,
    PolicyType,
    PostBody,
    Report,
    ResultType,
    format_datetime,
)

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_JSON_BYTES",
    "AppliedPolicy",
    "FailureDetail",
    "PolicyResult",
    "PolicyType",
    "PostBody",
    "Report",
    "ReportBuilder",
    "ResultType",
    "TLSRPTPolicyResult",
    "TLSRPTRecord",
    "format_datetime",
    "get_tlsrpt_policy",
    "is_tlsrpt_record",
    "parse_record",
    "parse_report",
    "report_from_json",
    "tlsrpt_policy_flow",
]


def get_tlsrpt_policy(domain: str, *, budget: float = 20.0) -> Check[TLSRPTPolicyResult]:
    """The TLS-RPT policy of a domain: its ``_smtp._tls`` TXT record (RFC 8460 §3).

    What the RFC calls the TLSRPT policy record. One TXT query; records that do not
    begin with ``v=TLSRPTv1`` are discarded, and none or several left mean the domain
    does not want reports (status ``none``). A DNS failure is ``temperror``, never
    "no policy".

    :param domain: the recipient domain (a U-label name is encoded as A-labels).
    :param budget: seconds for the DNS work.
    :raises ArgumentTypeError: for a domain that is not a str.
    :raises UsageError: for a name that is not a domain name.
    """
    if not isinstance(domain, str):
        raise ArgumentTypeError(f"a domain name is a str, not {type(domain).__name__}")
    check_number("budget", budget, positive=True)
    try:
        name = normalize_domain(domain)
    except ValueError as exc:
        raise UsageError(f"{domain!r} is not a domain name: {exc}") from None

    def flow() -> Flow[TLSRPTPolicyResult]:
        return tlsrpt_policy_flow(name)

    return Check(flow, budget=budget)
