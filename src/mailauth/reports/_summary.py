"""What a pile of aggregate reports says: volumes, pass rates, what fails and why.

:func:`summarize` reads :class:`~mailauth.reports.AggregateReport` values (from
:func:`~mailauth.reports.parse_aggregate`) and counts messages per reporting
organization, source IP, header From domain and day, with the DKIM, SPF and DMARC
pass rates of each (RFC 9990 §2.1: DMARC passes when the policy-evaluated DKIM or SPF
result is ``pass``), and names the likely cause of what fails:

- ``third_party``: DKIM or SPF passes, but for a domain not aligned with the header
  From: a service sending on the domain's behalf without an aligned DKIM key or
  Return-Path;
- ``forwarder``: SPF fails but DKIM passes aligned, or the reporter gives a
  ``forwarded``, ``trusted_forwarder`` or ``mailing_list`` override (ARC), or the
  domain's own signature broke in transit: mail relayed by a forwarder or list;
- ``spf_only``: DMARC passes on SPF alone (DKIM missing or unaligned), so it would
  fail once forwarded;
- ``spoofer``: nothing passes for anyone, from a source IP none of whose mail passes:
  mail the domain did not send;
- ``unauthenticated``: nothing passes, from a source IP that also sends mail that
  passes: a server of the domain's (or a forwarder) failing now and then.

Reverse names of the source IPs (PTR records) are asked only when wanted, as a flow:
:func:`reverse_names_flow`, ready to run as :func:`resolve_reverse_names`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Literal

from .._arguments import check_number
from .._flow import Check, Flow, Query, query_all
from ..errors import ArgumentTypeError
from ._model import AggregateReport, ReportRecord

__all__ = ["CAUSES", "DEFAULT_MAX_FAILURE_BYTES", "ROW_COLUMNS", "Cause", "FailureReport",
           "Finding", "Summary", "Tally", "build_failure_report", "classify", "explain",
           "parse_failure", "render_html", "resolve_reverse_names",
           "reverse_names_flow", "summarize", "to_dataframe", "to_rows"]

Cause = Literal["ok", "forwarder", "spf_only", "third_party", "spoofer", "unauthenticated"]

#: Each cause in words, for tables and pages.
CAUSES: Mapping[Cause, str] = {
    "ok": "DKIM and SPF pass aligned",
    "forwarder": "a forwarder or mailing list: SPF fails but DKIM passes aligned, or the "
                 "reporter names forwarding",
    "spf_only": "DMARC passes on SPF alone: no aligned DKIM signature (forwarding will "
                "break it)",
    "third_party": "an unaligned third-party sender: DKIM or SPF passes, but not for the "
                   "header From domain",
    "spoofer": "a spoofer: nothing passes, from a source with no passing mail",
    "unauthenticated": "nothing passes, from a source that also sends passing mail: a "
                       "sender of the domain failing now and then",
}

_FORWARDING = frozenset({"forwarded", "trusted_forwarder", "mailing_list"})


def _aligned(domain: str, header_from: str) -> bool:
    """Relaxed alignment, approximated without the Public Suffix List: one domain is
    the other or under it (the reporter's policy-evaluated result is what counts; this
    only tells a broken own signature from a third party's)."""
    d, h = domain.lower().rstrip("."), header_from.lower().rstrip(".")
    return bool(d) and (d == h or d.endswith("." + h) or h.endswith("." + d))


def classify(record: ReportRecord, *, source_passes: bool = False) -> Cause:
    """The likely cause behind one record's results (see the module's list).

    :param source_passes: whether other mail from the same source IP passes DKIM or
        SPF (in any report): then a record where nothing passes is ``unauthenticated``
        rather than ``spoofer``. :func:`summarize` and :func:`to_rows` work it out.
    """
    if record.dkim == "pass" and record.spf == "pass":
        return "ok"
    if record.reasons and any(r.type in _FORWARDING for r in record.reasons):
        return "forwarder"
    if record.dkim == "pass":
        return "forwarder"
    if record.spf == "pass":
        return "spf_only"
    dkim_pass = any(d.result == "pass" for d in record.dkim_results)
    spf_pass = any(s.result == "pass" for s in record.spf_results)
    if dkim_pass or spf_pass:
        return "third_party"
    if any(_aligned(d.domain, record.header_from) and d.result in ("fail", "neutral",
                                                                   "permerror")
           for d in record.dkim_results):
        # The domain's own signature is there but broke: altered in transit.
        return "forwarder"
    return "unauthenticated" if source_passes else "spoofer"


def explain(record: ReportRecord, cause: Cause | None = None) -> str:
    """One sentence on what fails in a record and why, naming the domains."""
    cause = cause or classify(record)
    hf = record.header_from or "(no header From)"
    dkim_pass = sorted({d.domain for d in record.dkim_results if d.result == "pass"})
    spf_pass = sorted({s.domain for s in record.spf_results if s.result == "pass"})
    spf_words = ", ".join(f"{s.domain or '(no domain)'}={s.result}"
                          for s in record.spf_results) or "none"
    dkim_words = ", ".join(f"{d.domain or '(no domain)'}={d.result}"
                           for d in record.dkim_results) or "none"
    reasons = ", ".join(r.type for r in record.reasons)
    if cause == "ok":
        return f"DKIM and SPF pass aligned with {hf}"
    if cause == "forwarder":
        if reasons:
            return f"forwarded (the reporter says {reasons}); SPF {spf_words}, DKIM " \
                   f"{dkim_words}"
        if record.dkim == "pass":
            return f"SPF fails or is unaligned ({spf_words}) but DKIM passes aligned " \
                   f"with {hf}: a forwarder"
        return f"the DKIM signature of {hf} fails ({dkim_words}) and SPF fails: the " \
               "message was altered in transit (a mailing list or forwarder)"
    if cause == "spf_only":
        return f"SPF passes aligned but DKIM does not ({dkim_words}): sign with a " \
               f"key of {hf}"
    if cause == "third_party":
        parts = []
        if dkim_pass:
            parts.append(f"DKIM passes for {', '.join(dkim_pass)}")
        if spf_pass:
            parts.append(f"SPF passes for {', '.join(spf_pass)}")
        return f"{' and '.join(parts)}, not aligned with {hf}: a third-party sender; " \
               f"give it a DKIM key of {hf} or an aligned Return-Path"
    if cause == "unauthenticated":
        return f"nothing passes (SPF {spf_words}, DKIM {dkim_words}), though other mail " \
               "from this source passes: a sender failing now and then"
    return f"nothing passes (SPF {spf_words}, DKIM {dkim_words}): mail {hf} did not send"


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True, slots=True)
class Tally:
    """Messages of one group (an organization, a source IP, a header From domain, a
    day) and how many passed.

    :param key: the group's name (``"2026-01-31"`` for a day).
    :param messages: the sum of the records' counts.
    :param dmarc_pass: messages for which DMARC passed (policy-evaluated DKIM or SPF).
    :param dkim_pass: messages whose policy-evaluated DKIM result is pass (aligned).
    :param spf_pass: likewise for SPF.
    :param dkim_auth_pass: messages with some DKIM signature passing, aligned or not.
    :param spf_auth_pass: messages whose SPF check passed, aligned or not.
    :param causes: ``(cause, messages)``, most messages first.
    :param dispositions: ``(disposition, messages)``, most first.
    :param reports: how many reports had records in the group.
    :param reverse_name: for a source IP, its PTR name when asked for.
    """

    key: str
    messages: int = 0
    dmarc_pass: int = 0
    dkim_pass: int = 0
    spf_pass: int = 0
    dkim_auth_pass: int = 0
    spf_auth_pass: int = 0
    causes: tuple[tuple[Cause, int], ...] = ()
    dispositions: tuple[tuple[str, int], ...] = ()
    reports: int = 0
    reverse_name: str | None = None

    @property
    def dmarc_rate(self) -> float | None:
        """DMARC pass rate (0..1), None for no messages."""
        return _rate(self.dmarc_pass, self.messages)

    @property
    def dkim_rate(self) -> float | None:
        """Aligned DKIM pass rate."""
        return _rate(self.dkim_pass, self.messages)

    @property
    def spf_rate(self) -> float | None:
        """Aligned SPF pass rate."""
        return _rate(self.spf_pass, self.messages)

    @property
    def dmarc_fail(self) -> int:
        """Messages for which DMARC failed."""
        return self.messages - self.dmarc_pass

    @property
    def likely_cause(self) -> Cause:
        """The cause behind most of the group's messages that are not ``ok``; ``ok``
        when everything passes aligned."""
        return next((c for c, _ in self.causes if c != "ok"), "ok")


@dataclass(frozen=True, slots=True)
class Finding:
    """Something failing: messages from one source IP for one header From domain with
    one likely cause.

    :param explanation: a sentence naming the domains, from the group's largest record.
    """

    source_ip: str
    header_from: str
    cause: Cause
    messages: int
    dmarc_fail: int
    explanation: str
    reporters: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Summary:
    """Aggregate reports summed up (see :func:`summarize`).

    :param reports: how many reports were read; ``totals`` everything together.
    :param by_org, by_source, by_header_from, by_day: one :class:`Tally` per group;
        days in date order (UTC, the day each report's period begins; days without
        reports in between are there with no messages when all fall within three
        months), the others most messages first.
    :param findings: what fails, most failing messages first (``ok`` left out).
    :param policy_domains: the domains the reports are about.
    :param first, last: the earliest start and latest end of the reports' periods.
    """

    reports: int
    totals: Tally
    by_org: tuple[Tally, ...] = ()
    by_source: tuple[Tally, ...] = ()
    by_header_from: tuple[Tally, ...] = ()
    by_day: tuple[Tally, ...] = ()
    findings: tuple[Finding, ...] = ()
    policy_domains: tuple[str, ...] = ()
    first: datetime | None = None
    last: datetime | None = None
    warnings: tuple[str, ...] = field(default=())

    def source_ips(self) -> tuple[str, ...]:
        """Every source IP, as in ``by_source``."""
        return tuple(t.key for t in self.by_source)

    def with_reverse_names(self, names: Mapping[str, str | None]) -> Summary:
        """The same summary with each source IP's reverse name filled in from
        ``names`` (from :func:`resolve_reverse_names`)."""
        return replace(self, by_source=tuple(
            replace(t, reverse_name=names.get(t.key, t.reverse_name)) for t in self.by_source))


class _Acc:
    __slots__ = ("causes", "dispositions", "dkim", "dkim_auth", "dmarc", "messages",
                 "reports", "spf", "spf_auth")

    def __init__(self) -> None:
        self.messages = self.dmarc = self.dkim = self.spf = 0
        self.dkim_auth = self.spf_auth = 0
        self.causes: Counter[Cause] = Counter()
        self.dispositions: Counter[str] = Counter()
        self.reports: set[int] = set()

    def add(self, n: int, facts: tuple[bool, bool, bool, bool, bool], cause: Cause,
            disposition: str, report: int) -> None:
        dmarc, dkim, spf, dkim_auth, spf_auth = facts
        self.messages += n
        if dmarc:
            self.dmarc += n
        if dkim:
            self.dkim += n
        if spf:
            self.spf += n
        if dkim_auth:
            self.dkim_auth += n
        if spf_auth:
            self.spf_auth += n
        self.causes[cause] += n
        self.dispositions[disposition] += n
        self.reports.add(report)

    def tally(self, key: str) -> Tally:
        return Tally(key, self.messages, self.dmarc, self.dkim, self.spf, self.dkim_auth,
                     self.spf_auth, tuple(self.causes.most_common()),
                     tuple(self.dispositions.most_common()), len(self.reports))


class _Group:
    __slots__ = ("failed", "largest", "messages", "orgs")

    def __init__(self, record: ReportRecord) -> None:
        self.messages = self.failed = 0
        self.largest = record
        self.orgs: set[str] = set()

    def add(self, record: ReportRecord, org: str) -> None:
        self.messages += record.count
        if not record.dmarc_pass:
            self.failed += record.count
        if record.count > self.largest.count:
            self.largest = record
        self.orgs.add(org)


def _ranked(groups: Mapping[str, _Acc]) -> tuple[Tally, ...]:
    return tuple(sorted((acc.tally(key) for key, acc in groups.items()),
                        key=lambda t: (-t.messages, t.key)))


def summarize(reports: Iterable[AggregateReport] | AggregateReport) -> Summary:
    """Sum up aggregate reports: per reporting organization, source IP, header From
    domain and day, with pass rates and the likely cause of what fails.

    :param reports: :class:`~mailauth.reports.AggregateReport` values (or one).
    :raises ArgumentTypeError: for anything else in ``reports``.
    """
    reports = _listed(reports, "summarize")
    passing = _passing_sources(reports)
    totals = _Acc()
    orgs: dict[str, _Acc] = defaultdict(_Acc)
    sources: dict[str, _Acc] = defaultdict(_Acc)
    froms: dict[str, _Acc] = defaultdict(_Acc)
    days: dict[str, _Acc] = defaultdict(_Acc)
    found: dict[tuple[str, str, Cause], _Group] = {}
    domains: dict[str, None] = {}
    first: datetime | None = None
    last: datetime | None = None
    count = 0
    for index, report in enumerate(reports):
        count += 1
        domains.setdefault(report.policy.domain, None)
        begin = _utc(report.date_begin)
        end = _utc(report.date_end)
        first = begin if first is None or begin < first else first
        last = end if last is None or end > last else last
        day = begin.strftime("%Y-%m-%d")
        org = report.org_name or "(no org_name)"
        by_org, by_day = orgs[org], days[day]
        for record in report.records:
            cause = classify(record, source_passes=record.source_ip in passing)
            ip = str(record.source_ip)
            facts = (record.dkim == "pass" or record.spf == "pass", record.dkim == "pass",
                     record.spf == "pass",
                     any(d.result == "pass" for d in record.dkim_results),
                     any(s.result == "pass" for s in record.spf_results))
            n, disposition = record.count, record.disposition
            for acc in (totals, by_org, sources[ip], froms[record.header_from or "(none)"],
                        by_day):
                acc.add(n, facts, cause, disposition, index)
            if cause != "ok":
                key = (ip, record.header_from, cause)
                group = found.get(key)
                if group is None:
                    group = found[key] = _Group(record)
                group.add(record, org)
    findings = [Finding(ip, hf, cause, g.messages, g.failed, explain(g.largest, cause),
                        tuple(sorted(g.orgs)))
                for (ip, hf, cause), g in found.items()]
    findings.sort(key=lambda f: (-f.dmarc_fail, -f.messages, f.source_ip, f.header_from))
    return Summary(
        reports=count, totals=totals.tally("all"), by_org=_ranked(orgs),
        by_source=_ranked(sources), by_header_from=_ranked(froms),
        by_day=tuple(days[d].tally(d) if d in days else Tally(d) for d in _calendar(days)),
        findings=tuple(findings),
        policy_domains=tuple(domains), first=first, last=last)


_MAX_FILLED_DAYS = 92


def _calendar(days: Mapping[str, object]) -> list[str]:
    """The days with reports, in order, and the days between them without any (as
    zero) when they span at most three months: a chart per day shows the gaps."""
    listed = sorted(days)
    if len(listed) < 2:
        return listed
    start = datetime.strptime(listed[0], "%Y-%m-%d")
    span = (datetime.strptime(listed[-1], "%Y-%m-%d") - start).days
    if span > _MAX_FILLED_DAYS:
        return listed
    return [(start + timedelta(days=n)).strftime("%Y-%m-%d") for n in range(span + 1)]


def _listed(reports: Iterable[AggregateReport] | AggregateReport, verb: str
            ) -> list[AggregateReport]:
    if isinstance(reports, AggregateReport):
        return [reports]
    if isinstance(reports, str | bytes):
        raise ArgumentTypeError(f"{verb}() takes AggregateReport values (parse the files "
                                "with parse_aggregate first), not text")
    listed = list(reports)
    for report in listed:
        if not isinstance(report, AggregateReport):
            raise ArgumentTypeError(f"{verb}() takes AggregateReport values, not "
                                    f"{type(report).__name__}")
    return listed


def _passing_sources(reports: Iterable[AggregateReport]) -> set[IPv4Address | IPv6Address]:
    """The source IPs with some mail passing DKIM or SPF (aligned or not) in the
    reports: the sources whose failing mail is not a spoofer's."""
    return {r.source_ip for report in reports for r in report.records
            if r.dkim == "pass" or r.spf == "pass"
            or any(d.result == "pass" for d in r.dkim_results)
            or any(x.result == "pass" for x in r.spf_results)}


def _utc(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


# --- reverse names, when asked ----------------------------------------------------------


def reverse_names_flow(ips: Iterable[str]) -> Flow[dict[str, str | None]]:
    """The PTR name of each source IP (the first one, lower case, no trailing dot), or
    None when it has none or the lookup failed; the questions go out together.

    :param ips: addresses as text; what is not an address is left out.
    """
    addresses: dict[str, str] = {}
    for ip in ips:
        if not isinstance(ip, str):
            raise ArgumentTypeError(f"an IP address is a str, not {type(ip).__name__}")
        try:
            addresses[ip] = ip_address(ip).reverse_pointer
        except ValueError:
            continue
    answers = yield from query_all(tuple(Query(name, "PTR") for name in addresses.values()))
    out: dict[str, str | None] = {}
    for ip, answer in zip(addresses, answers, strict=True):
        names = answer.names() if answer.ok else ()
        out[ip] = names[0].rstrip(".").lower() if names else None
    return out


def resolve_reverse_names(ips: Iterable[str], *, budget: float = 20.0
                          ) -> Check[dict[str, str | None]]:
    """:func:`reverse_names_flow` as a check: ``.run()`` or ``await .arun()``.

    :param budget: seconds for all the lookups together.
    """
    check_number("budget", budget, positive=True)
    listed = tuple(ips)

    def flow() -> Flow[dict[str, str | None]]:
        return (yield from reverse_names_flow(listed))

    return Check(flow, budget=budget)


# The failure-report, rows and page halves of the package, gathered here so that
# mailauth.reports imports them in one statement (they import this module: last).
from ._failure import (  # noqa: E402
    DEFAULT_MAX_FAILURE_BYTES,
    FailureReport,
    build_failure_report,
    parse_failure,
)
from ._html import render_html  # noqa: E402
from ._rows import ROW_COLUMNS, to_dataframe, to_rows  # noqa: E402
