"""Building aggregate reports from a receiver's own results (RFC 9990 §2, §3), and
the check of external report destinations (RFC 9990 §4) as a flow.

A receiver feeds :class:`ReportBuilder` each message's
:class:`~mailauth.AuthResults` (or records it made itself) over a reporting period;
identical rows are counted together, one report is made per Policy Domain (RFC 9990
§2.1: "a separate report MUST be generated for each Policy Domain"), with the last
policy seen for that domain (§2.3). :func:`authorize_rua_flow` says which ``rua``
URIs may receive it.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal

from .._arguments import check_domain, check_int, check_mode, check_psl
from .._domain import normalize_domain
from .._flow import Check, Flow, Outcome, query
from ..dmarc import DMARCRecord, Mode, is_dmarc_record, parse_record
from ..dmarc._discovery import organizational_domain_flow
from ..errors import ArgumentTypeError, ParseError, UsageError
from ..psl import PublicSuffixList
from ..status import Status
from ..umbrella import AuthResults
from ._model import (
    AggregateReport,
    DKIMAuthResult,
    PolicyOverride,
    PublishedPolicy,
    ReportRecord,
    SPFAuthResult,
)

__all__ = ["ReportBuilder", "RuaAuthorization", "RuaDestination", "authorize_rua",
           "authorize_rua_flow", "parse_rua", "published_policy", "record_from_results"]

_MAX_SIGNATURES = 100  # RFC 9990 §2.1.5: no more than 100 signatures for a row
_SIZE = re.compile(r"!([0-9]+)([kmgtKMGT]?)\Z")
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_HUMAN_MAX = 200


def _aware(name: str, value: object) -> datetime:
    if not isinstance(value, datetime):
        raise ArgumentTypeError(f"{name}= is a datetime, not {type(value).__name__}")
    if value.tzinfo is None:
        raise UsageError(f"{name}= must be an aware datetime (with a time zone)")
    return value.astimezone(UTC)


def _text(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise ArgumentTypeError(f"{name}= is a str, not {type(value).__name__}")
    return value


def published_policy(record: DMARCRecord, domain: str, *,
                     mode: Mode = "tree-walk") -> PublishedPolicy:
    """The ``<policy_published>`` of a DMARC record found at ``domain`` (RFC 9990
    §2.1.3): the tags as published, with RFC 9990's discovery method."""
    written = {name for name, _ in record.tags}
    return PublishedPolicy(
        domain=domain, p=record.p or "none",
        sp=record.sp if "sp" in written else None,
        np=record.np if "np" in written else None,
        adkim=record.adkim if "adkim" in written else None,
        aspf=record.aspf if "aspf" in written else None,
        fo=":".join(record.fo) if "fo" in written else None,
        testing=("y" if record.t else "n") if "t" in written else None,
        discovery_method="psl" if mode == "psl" else "treewalk")


def record_from_results(results: AuthResults, *, envelope_to: str | None = None
                        ) -> tuple[PublishedPolicy, ReportRecord] | None:
    """The report row of one message's results, with the policy it was judged by;
    None when DMARC found no policy (nothing to report: no one asked for reports).

    :raises UsageError: for results without the client's IP address (a saved message
        checked without its envelope cannot be reported).
    """
    dmarc = results.dmarc
    if dmarc.record is None or dmarc.policy_domain is None or dmarc.author_domain is None:
        return None
    ip_text = results.spf.ip or dict(results.envelope).get("ip", "").split(" ", 1)[0]
    try:
        ip = ipaddress.ip_address(ip_text)
    except ValueError:
        raise UsageError("these results have no client IP address (checked without "
                         "the SMTP envelope?); a report row needs one") from None
    policy = published_policy(dmarc.record, dmarc.policy_domain, mode=dmarc.mode)
    aligned = {a.method for a in dmarc.alignment if a.passed}
    override = getattr(dmarc, "override", None)
    reasons: list[PolicyOverride] = []
    disposition: str = dmarc.disposition
    if override is not None and getattr(override, "applied", True):
        reasons.append(PolicyOverride(str(override.type), override.comment or None))
        disposition = "none"
    elif dmarc.status is Status.FAIL and dmarc.testing and dmarc.policy != "none":
        if dmarc.mode == "psl":
            reasons.append(PolicyOverride("other", "outside the pct= sample (RFC 7489)"))
        else:
            reasons.append(PolicyOverride("policy_test_mode", None))
    if dmarc.status is Status.PASS and dmarc.policy in ("quarantine", "reject"):
        disposition = "pass"  # RFC 9990: no action, passing DMARC with an enforcing policy
    # DKIM signatures in RFC 9990 §2.1.5's order of preference, at most 100.
    rank: dict[tuple[str | None, str | None], int] = {
        (a.domain, a.selector): (0 if a.mode == "s" else 1)
        for a in dmarc.alignment if a.method == "dkim" and a.passed}
    signatures = sorted(
        (s for s in results.dkim.signatures if s.domain),
        key=lambda s: (rank.get((s.domain, s.selector), 2 if s.status is Status.PASS
                                else 3)))[:_MAX_SIGNATURES]
    dkims = tuple(DKIMAuthResult(
        s.domain or "", s.selector or "", str(s.status),
        None if s.status is Status.PASS else (s.reason[:_HUMAN_MAX] or None))
        for s in signatures)
    spf = results.spf
    envelope_from = spf.domain if spf.identity == "mailfrom" else ""
    spfs = (SPFAuthResult(spf.domain, "mfrom" if spf.identity == "mailfrom" else "helo",
                          str(spf.status), None),) if spf.domain else ()
    record = ReportRecord(
        source_ip=ip, count=1, disposition=disposition,
        dkim="pass" if "dkim" in aligned else "fail",
        spf="pass" if "spf" in aligned else "fail",
        reasons=tuple(reasons), header_from=dmarc.author_domain,
        envelope_from=envelope_from,
        envelope_to=check_domain("envelope_to", envelope_to) if envelope_to else None,
        dkim_results=dkims, spf_results=spfs)
    return policy, record


class ReportBuilder:
    """Count a receiver's DMARC results over one reporting period and make the
    aggregate reports (RFC 9990 §2), one per Policy Domain.

    :param org_name: the Reporting Organization (``<org_name>``).
    :param email: its contact address (``<email>``).
    :param begin: the start of the period (an aware datetime).
    :param end: its end.
    :param extra_contact_info: more contact details, or None.
    :param generator: the software writing the report (``<generator>``), or None.
    :param report_id: a fixed Report-ID; by default one is made from the period, the
        domain and the content (``dot-atom-text "@" dot-atom-text``, RFC 9990 §3.1.1:
        the same report gets the same ID when re-sent).
    """

    def __init__(self, *, org_name: str, email: str, begin: datetime, end: datetime,
                 extra_contact_info: str | None = None,
                 generator: str | None = "mailauth", report_id: str | None = None) -> None:
        self.org_name = _text("org_name", org_name)
        self.email = _text("email", email)
        self.begin = _aware("begin", begin)
        self.end = _aware("end", end)
        if self.end < self.begin:
            raise UsageError("end= is before begin=")
        self.extra_contact_info = (None if extra_contact_info is None
                                   else _text("extra_contact_info", extra_contact_info))
        self.generator = None if generator is None else _text("generator", generator)
        self.report_id = None if report_id is None else _text("report_id", report_id)
        self._policies: dict[str, PublishedPolicy] = {}
        self._rows: dict[str, dict[ReportRecord, int]] = {}
        self._errors: dict[str, list[str]] = {}

    @property
    def domains(self) -> tuple[str, ...]:
        """The Policy Domains seen so far, in order."""
        return tuple(self._rows)

    def add(self, results: AuthResults, *, envelope_to: str | None = None,
            count: int = 1) -> bool:
        """Count one message's :class:`~mailauth.AuthResults` (``count`` times).

        Uses the DMARC result (policy domain, record, disposition, alignment, and a
        local policy override such as an ARC trusted forwarder's), the SPF result's
        client address and MAIL FROM domain, and every DKIM signature. Returns False
        when DMARC found no policy (such messages are in no report).

        :param envelope_to: the RCPT TO domain, if it should be reported.
        """
        check_int("count", count, minimum=1)
        made = record_from_results(results, envelope_to=envelope_to)
        if made is None:
            return False
        policy, record = made
        self.add_record(record, policy, count=count)
        return True

    def add_record(self, record: ReportRecord, policy: PublishedPolicy, *,
                   count: int | None = None) -> None:
        """Count a row made by the caller, under the policy published for its Policy
        Domain (the last policy given for a domain is the one reported).

        :param count: messages to add; ``record.count`` when None.
        """
        if not isinstance(record, ReportRecord):
            raise ArgumentTypeError(f"record= is a ReportRecord, not {type(record).__name__}")
        if not isinstance(policy, PublishedPolicy):
            raise ArgumentTypeError(f"policy= is a PublishedPolicy, not "
                                    f"{type(policy).__name__}")
        n = record.count if count is None else count
        check_int("count", n, minimum=0)
        domain = policy.domain
        self._policies[domain] = policy
        rows = self._rows.setdefault(domain, {})
        key = replace(record, count=0) if record.count else record
        rows[key] = rows.get(key, 0) + n

    def add_error(self, domain: str, text: str) -> None:
        """Note an ``<error>`` met with the DMARC record of ``domain`` (RFC 9990
        §2.1.2: invalid tags, several records)."""
        self._errors.setdefault(check_domain("domain", domain), []).append(
            _text("text", text))

    def build(self, domain: str | None = None) -> AggregateReport:
        """The report for one Policy Domain (the only one when None).

        :raises UsageError: when nothing was counted for that domain, or ``domain`` is
            None and several were seen.
        """
        if domain is None:
            if len(self._rows) != 1:
                raise UsageError(f"say which Policy Domain: {len(self._rows)} were seen "
                                 f"({', '.join(self._rows) or 'none'})")
            domain = next(iter(self._rows))
        rows = self._rows.get(domain)
        if rows is None:
            raise UsageError(f"nothing was counted for {domain!r}")
        records = tuple(replace(r, count=n) for r, n in rows.items())
        report_id = self.report_id or self._make_id(domain, records)
        return AggregateReport(
            org_name=self.org_name, email=self.email, report_id=report_id,
            date_begin=self.begin, date_end=self.end, policy=self._policies[domain],
            records=records, version="1.0", extra_contact_info=self.extra_contact_info,
            generator=self.generator, errors=tuple(self._errors.get(domain, ())),
            format="rfc9990")

    def reports(self) -> tuple[AggregateReport, ...]:
        """One report per Policy Domain seen, in order."""
        return tuple(self.build(d) for d in self._rows)

    def _make_id(self, domain: str, records: Sequence[ReportRecord]) -> str:
        digest = hashlib.sha256(repr((domain, self.begin, self.end, records)).encode())
        begin = int(self.begin.timestamp())
        host = self.email.rpartition("@")[2] or "localhost"
        safe = re.sub(r"[^A-Za-z0-9.-]", "-", host).strip(".-") or "localhost"
        return f"{begin}.{digest.hexdigest()[:24]}@{safe}"


# --- RFC 9990 §4: verifying external destinations ---------------------------------------


@dataclass(frozen=True, slots=True)
class RuaDestination:
    """One ``rua`` URI and whether a report may go there.

    :param uri: the URI as published (with any ``!size`` suffix).
    :param address: the ``mailto:`` address, or None for another scheme.
    :param host: the destination host (the address's domain), or None.
    :param max_size: the size limit of RFC 7489 §6.2 (``!10m``) in bytes, or None.
    :param external: the host's organizational domain differs from the policy
        domain's, so RFC 9990 §4's authorization record was needed.
    :param allowed: whether a report may be sent there.
    :param reason: why, for people.
    :param status: ``pass`` (may receive), ``fail`` (may not), ``temperror`` (the
        authorization lookup failed; RFC 9990 §4 lets the receiver try again later).
    """

    uri: str
    address: str | None
    host: str | None
    max_size: int | None
    external: bool
    allowed: bool
    reason: str
    status: Literal["pass", "fail", "temperror"] = "pass"


@dataclass(frozen=True, slots=True)
class RuaAuthorization:
    """Which ``rua`` destinations of a Policy Domain may receive its report."""

    policy_domain: str
    destinations: tuple[RuaDestination, ...]

    @property
    def allowed(self) -> tuple[RuaDestination, ...]:
        """The destinations a report may be sent to, in the record's order."""
        return tuple(d for d in self.destinations if d.allowed)

    @property
    def addresses(self) -> tuple[str, ...]:
        """The mail addresses to send the report to."""
        return tuple(d.address for d in self.allowed if d.address)


def parse_rua(uri: str) -> tuple[str | None, str | None, int | None]:
    """``(address, host, max_size)`` of one ``rua`` URI: ``mailto:`` addresses only;
    ``!10m`` (RFC 7489 §6.2: k, m, g, t are powers of 1024) gives the size limit.

    :raises ParseError: for a URI that is not ``mailto:local@domain[!size]``.
    """
    if not isinstance(uri, str):
        raise ArgumentTypeError(f"a rua URI is a str, not {type(uri).__name__}")
    text = uri.strip()
    size = None
    m = _SIZE.search(text)
    if m:
        size = int(m.group(1)) * _UNITS[m.group(2).lower()]
        text = text[:m.start()]
    scheme, _, rest = text.partition(":")
    if scheme.lower() != "mailto" or not rest:
        return None, None, size
    address = rest.split("?", 1)[0]
    local, at, domain = address.rpartition("@")
    if not at or not local:
        raise ParseError(f"{uri!r} is not a mailto: URI with an address",
                         rfc="RFC 9989 §4.7")
    try:
        host = normalize_domain(domain)
    except ValueError as exc:
        raise ParseError(f"{uri!r}: {exc}", rfc="RFC 9989 §4.7") from None
    return f"{local}@{host}", host, size


def authorize_rua_flow(policy_domain: str, rua: Iterable[str], *,
                       report_size: int | None = None, mode: Mode = "tree-walk",
                       psl: PublicSuffixList | None = None) -> Flow[RuaAuthorization]:
    """Which ``rua`` URIs may receive the report of ``policy_domain`` (RFC 9990 §4).

    For each URI in order: a ``!size`` limit smaller than ``report_size`` excludes
    it; a destination whose organizational domain is the policy domain's is allowed;
    any other is allowed only when ``<policy-domain>._report._dmarc.<host>`` has a TXT
    record starting with ``v=DMARC1`` (a wildcard record does too). A ``rua=`` in
    that record replaces the URI, but only with URIs on the same host; one naming
    another host makes the destination refused altogether.

    :param policy_domain: where the DMARC record was found (canonical form).
    :param rua: the URIs as published (``DMARCRecord.tags``'s raw ``rua`` split on
        commas keeps any ``!size``).
    :param report_size: the report's size as sent (after compression and encoding).
    """
    domain = check_domain("policy_domain", policy_domain)
    uris = [u.strip() for u in rua if u.strip()]
    own = yield from organizational_domain_flow(domain, mode=mode, psl=psl)
    out: list[RuaDestination] = []
    for uri in uris:
        try:
            address, host, size = parse_rua(uri)
        except ParseError as exc:
            out.append(RuaDestination(uri, None, None, None, False, False, exc.message,
                                      "fail"))
            continue
        if address is None or host is None:
            out.append(RuaDestination(uri, None, None, size, False, False,
                                      "only mailto: destinations are supported", "fail"))
            continue
        if size is not None and report_size is not None and report_size > size:
            out.append(RuaDestination(uri, address, host, size, False, False,
                                      f"the report ({report_size} bytes) is over the "
                                      f"destination's limit of {size} bytes", "fail"))
            continue
        theirs = yield from organizational_domain_flow(host, mode=mode, psl=psl)
        if own.org_domain is not None and own.org_domain == theirs.org_domain:
            out.append(RuaDestination(uri, address, host, size, False, True,
                                      f"{host} is within {own.org_domain}"))
            continue
        dest = yield from _external(domain, uri, address, host, size=size,
                                   report_size=report_size)
        out.append(dest)
    return RuaAuthorization(domain, tuple(out))


def _external(domain: str, uri: str, address: str, host: str, *, size: int | None,
              report_size: int | None) -> Flow[RuaDestination]:
    name = f"{domain}._report._dmarc.{host}"
    try:
        name = normalize_domain(name)
    except ValueError:
        return RuaDestination(uri, address, host, size, True, False,
                              f"{name} is too long for the DNS: the destination cannot "
                              f"be authorized", "fail")
    answer = yield from query(name, "TXT")
    if answer.outcome is Outcome.TEMPFAIL:
        return RuaDestination(uri, address, host, size, True, False,
                              f"the DNS lookup of {name} failed; try again later",
                              "temperror")
    records = [t for t in answer.txt() if is_dmarc_record(t)]
    if not records:
        return RuaDestination(uri, address, host, size, True, False,
                              f"{host} has not authorized reports for {domain} (no "
                              f"v=DMARC1 TXT record at {name})", "fail")
    try:
        confirming = parse_record(records[0])
    except ParseError:
        confirming = None
    raw = ""
    if confirming is not None:
        raw = next((v for k, v in confirming.tags if k == "rua"), "")
    if raw:
        replaced = [u.strip() for u in raw.split(",") if u.strip()]
        for new in replaced:
            try:
                new_address, new_host, _ = parse_rua(new)
            except ParseError:
                new_host = new_address = None
            if new_host != host or new_address is None:
                return RuaDestination(uri, address, host, size, True, False,
                                      f"the authorization at {name} redirects to "
                                      f"{new!r}, on another host: no report to either "
                                      f"(RFC 9990 §4)", "fail")
        first = parse_rua(replaced[0])
        address, size = first[0] or address, first[2]
        if size is not None and report_size is not None and report_size > size:
            return RuaDestination(uri, address, host, size, True, False,
                                  f"the report ({report_size} bytes) is over the "
                                  f"replacement's limit of {size} bytes", "fail")
        return RuaDestination(uri, address, host, size, True, True,
                              f"authorized by {name}, which replaces the address with "
                              f"{address}")
    return RuaDestination(uri, address, host, size, True, True, f"authorized by {name}")


def authorize_rua(policy_domain: str, rua: Iterable[str], *,
                  report_size: int | None = None, mode: Mode = "tree-walk",
                  psl: PublicSuffixList | None = None,
                  budget: float = 20.0) -> Check[RuaAuthorization]:
    """:func:`authorize_rua_flow` as a :class:`~mailauth.Check` (run it with
    ``.run()`` or ``await .arun()``)."""
    checked = check_mode(mode)
    check_psl(psl)
    domain = check_domain("policy_domain", policy_domain)
    uris = tuple(_text("rua", u) for u in (rua.split(",") if isinstance(rua, str) else rua))
    if report_size is not None:
        check_int("report_size", report_size, minimum=0)

    def flow() -> Flow[RuaAuthorization]:
        return authorize_rua_flow(domain, uris, report_size=report_size, mode=checked,
                                  psl=psl)

    return Check(flow, budget=budget)

