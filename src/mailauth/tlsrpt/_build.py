"""Building a report from a sender's sessions (RFC 8460 §4.1, §4.2).

A sending MTA records each delivery attempt's outcome under the policy it applied
(MTA-STS, DANE, or none found); :class:`ReportBuilder` counts them and gives the
:class:`~mailauth.tlsrpt.Report` for one policy domain and one period.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from .._arguments import check_domain, check_int
from ..errors import ArgumentTypeError, UsageError
from ._report import (
    FailureDetail,
    PolicyResult,
    PolicyType,
    Report,
    ResultType,
    format_datetime,
    policy_type_of,
    result_type_of,
)

__all__ = ["AppliedPolicy", "ReportBuilder"]


@dataclass(frozen=True, slots=True)
class AppliedPolicy:
    """The policy a session was held to, as a report names it (RFC 8460 §4.4, §4.5).

    Make one with :meth:`sts`, :meth:`tlsa` or :meth:`no_policy_found`.
    """

    policy_type: PolicyType | str
    policy_domain: str
    policy_string: tuple[str, ...] = ()
    mx_host: tuple[str, ...] = ()

    @classmethod
    def sts(cls, domain: str, policy_text: str) -> AppliedPolicy:
        """An MTA-STS policy: its lines are the policy string, its ``mx:`` patterns
        the MX hosts (RFC 8460 §4.5)."""
        if not isinstance(policy_text, str):
            raise ArgumentTypeError(f"policy_text is the policy file's text (str), not "
                                    f"{type(policy_text).__name__}")
        lines = tuple(ln.strip() for ln in policy_text.splitlines() if ln.strip())
        mx = tuple(ln.split(":", 1)[1].strip() for ln in lines
                   if ln.split(":", 1)[0].strip() == "mx" and ":" in ln)
        return cls(PolicyType.STS, check_domain("domain", domain), lines, mx)

    @classmethod
    def tlsa(cls, domain: str, records: Iterable[str], mx_host: str) -> AppliedPolicy:
        """A DANE policy: the TLSA records in presentation format (``"3 1 1 ab..."``)
        found for the MX host (RFC 8460 §4.5)."""
        texts = tuple(records)
        if not all(isinstance(t, str) for t in texts):
            raise ArgumentTypeError("records are TLSA records in presentation format (str)")
        return cls(PolicyType.TLSA, check_domain("domain", domain), texts,
                   (check_domain("mx_host", mx_host),))

    @classmethod
    def no_policy_found(cls, domain: str) -> AppliedPolicy:
        """Neither MTA-STS nor DANE applied (``no-policy-found``)."""
        return cls(PolicyType.NO_POLICY_FOUND, check_domain("domain", domain))


_Key = tuple[str, str | None, str | None, str | None, str | None, str | None, str | None]


class _Tally:
    __slots__ = ("failures", "ok", "policy")

    def __init__(self, policy: AppliedPolicy) -> None:
        self.policy = policy
        self.ok = 0
        self.failures: dict[_Key, int] = {}


class ReportBuilder:
    """Counts a sender's sessions with one policy domain and gives the report.

    :param policy_domain: the recipient domain the report is about.
    :param organization_name: the reporting organization.
    :param contact_info: an address for questions about the report.
    :param start: the start of the period (aware datetime; RFC 8460 §4.1 suggests
        whole UTC days); ``end`` its end.
    :param report_id: the report's identifier; ``<start>_<policy_domain>`` when None.
    """

    def __init__(self, *, policy_domain: str, organization_name: str, contact_info: str,
                 start: datetime, end: datetime, report_id: str | None = None) -> None:
        self.policy_domain = check_domain("policy_domain", policy_domain)
        for name, value in (("organization_name", organization_name),
                            ("contact_info", contact_info)):
            if not isinstance(value, str):
                raise ArgumentTypeError(f"{name}= is a str, not {type(value).__name__}")
        for name, when in (("start", start), ("end", end)):
            if not isinstance(when, datetime):
                raise ArgumentTypeError(f"{name}= is a datetime, not {type(when).__name__}")
            if when.tzinfo is None:
                raise UsageError(f"{name}= must be timezone-aware (UTC), not naive")
        if end < start:
            raise UsageError("end= is before start=")
        if report_id is not None and not isinstance(report_id, str):
            raise ArgumentTypeError(f"report_id= is a str, not {type(report_id).__name__}")
        self.organization_name = organization_name
        self.contact_info = contact_info
        self.start = start
        self.end = end
        self.report_id = report_id or f"{format_datetime(start)}_{self.policy_domain}"
        self._tallies: dict[AppliedPolicy, _Tally] = {}

    def _tally(self, policy: AppliedPolicy | None) -> _Tally:
        if policy is None:
            policy = AppliedPolicy.no_policy_found(self.policy_domain)
        elif not isinstance(policy, AppliedPolicy):
            raise ArgumentTypeError(f"policy is an AppliedPolicy, not {type(policy).__name__}")
        elif policy.policy_domain != self.policy_domain:
            raise UsageError(f"this report is for {self.policy_domain}, not "
                             f"{policy.policy_domain}")
        tally = self._tallies.get(policy)
        if tally is None:
            tally = self._tallies[policy] = _Tally(policy)
        return tally

    def success(self, policy: AppliedPolicy | None = None, *, count: int = 1) -> None:
        """Count ``count`` sessions that negotiated TLS under ``policy`` (None: no
        policy found)."""
        check_int("count", count, minimum=1)
        self._tally(policy).ok += count

    def failure(self, result_type: ResultType | str, policy: AppliedPolicy | None = None,
                *, sending_mta_ip: str | None = None,
                receiving_mx_hostname: str | None = None,
                receiving_mx_helo: str | None = None, receiving_ip: str | None = None,
                failure_reason_code: str | None = None,
                additional_information: str | None = None, count: int = 1) -> None:
        """Count ``count`` sessions that failed with ``result_type`` (RFC 8460 §4.3).

        Failures with the same type, addresses, host names and reason are counted
        together as one ``failure-details`` entry.
        """
        check_int("count", count, minimum=1)
        if not isinstance(result_type, str) or not result_type:
            raise ArgumentTypeError("result_type is a ResultType or its name (str)")
        key: _Key = (str(result_type), sending_mta_ip, receiving_mx_hostname,
                     receiving_mx_helo, receiving_ip, additional_information,
                     failure_reason_code)
        if not all(v is None or isinstance(v, str) for v in key):
            raise ArgumentTypeError("the failure's addresses, names and reason are str")
        failures = self._tally(policy).failures
        failures[key] = failures.get(key, 0) + count

    def build(self) -> Report:
        """The report of what was counted so far, policies in the order first seen."""
        policies = []
        for tally in self._tallies.values():
            details = tuple(
                FailureDetail(result_type_of(k[0]), n, k[1], k[2], k[3], k[4], k[5], k[6])
                for k, n in tally.failures.items())
            p = tally.policy
            policies.append(PolicyResult(
                policy_type_of(str(p.policy_type)), p.policy_domain, tally.ok,
                sum(d.failed_session_count for d in details), p.policy_string, p.mx_host,
                details))
        return Report(self.organization_name, self.start, self.end, self.contact_info,
                      self.report_id, tuple(policies))
