"""Policy discovery and fetching as flows (RFC 8461 §3.1, §3.3, §5.1).

The flows ask DNS and HTTPS through effects and never touch the cache themselves: the
cached entry comes in as a value and the entry to keep goes out in the result, so the
verb (``get_mta_sts_policy``) reads and writes the store through ``Work`` effects.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from .._flow import Fetch, Flow, Response, fetch, query
from ..errors import ParseError
from ..status import Status
from ._cache import CachedPolicy
from ._policy import Policy, parse_policy
from ._record import STSRecord, is_sts_record, parse_record
from ._result import MTASTSPolicyResult

__all__ = ["FETCH_TIMEOUT", "POLICY_MAX_BYTES", "REFRESH_INTERVAL", "RETRY_AFTER", "Discovery",
           "FetchedPolicy", "discover_flow", "fetch_policy_flow", "policy_flow",
           "policy_url"]

POLICY_MAX_BYTES = 64 * 1024
"""The largest policy body read (RFC 8461 §3.3 suggests 64 kilobytes)."""

FETCH_TIMEOUT = 60.0
"""Seconds a policy fetch may take in all (RFC 8461 §3.3 suggests one minute)."""

REFRESH_INTERVAL = 86400.0
"""Age after which a cached policy is fetched again even if its id is unchanged, to
keep it from expiring (RFC 8461 §3.3: "a suggested refresh frequency is once per day")."""

RETRY_AFTER = 300.0
"""Seconds after a failed refresh before a cached policy's domain is fetched again
(RFC 8461 §3.3: "implementations SHOULD limit further attempts to a period of five
minutes or longer per version ID")."""


def policy_url(domain: str) -> str:
    """``https://mta-sts.<domain>/.well-known/mta-sts.txt`` (RFC 8461 §3.3)."""
    return f"https://mta-sts.{domain}/.well-known/mta-sts.txt"


@dataclass(frozen=True, slots=True)
class Discovery:
    """What the ``_mta-sts`` TXT lookup found (RFC 8461 §3.1).

    :param outcome: ``record`` (exactly one valid record), ``none`` (no usable record:
        none, several, or an invalid one) or ``tempfail`` (DNS failed: not "none").
    """

    outcome: Literal["record", "none", "tempfail"]
    reason: str
    record: STSRecord | None = None
    answer: str = ""


def discover_flow(domain: str) -> Flow[Discovery]:
    """Look up ``_mta-sts.<domain>`` TXT and pick its record (RFC 8461 §3.1)."""
    name = f"_mta-sts.{domain}"
    answer = yield from query(name, "TXT")
    seen = answer.describe()
    if answer.void:
        return Discovery("none", f"no {name} TXT record ({answer.outcome.name})",
                         answer=seen)
    if not answer.ok:
        why = f": {answer.reason}" if answer.reason else ""
        return Discovery("tempfail", f"the DNS lookup of {name} TXT failed{why}",
                         answer=seen)
    records = [r for r in answer.txt() if is_sts_record(r)]
    if not records:
        return Discovery("none", f"no TXT record at {name} begins with 'v=STSv1;'",
                         answer=seen)
    if len(records) > 1:
        return Discovery("none", f"{len(records)} v=STSv1 records at {name}: with other "
                                 "than one, none is used (RFC 8461 §3.1)", answer=seen)
    try:
        record = parse_record(records[0])
    except ParseError as exc:
        return Discovery("none", f"the {name} record is invalid: {exc}", answer=seen)
    return Discovery("record", f"{name}: id={record.id}", record, seen)


@dataclass(frozen=True, slots=True)
class FetchedPolicy:
    """What the policy fetch gave: a policy, or why not (``temporary``: the network,
    TLS, a timeout or a 5xx status; otherwise the server's answer was no policy)."""

    url: str
    policy: Policy | None = None
    error: str | None = None
    temporary: bool = False
    status: int | None = None


def _media_type(value: str | None) -> str:
    return (value or "").split(";", 1)[0].strip().lower()


def _check_response(url: str, response: Response) -> FetchedPolicy:
    """The policy in a response, or the reason it holds none (RFC 8461 §3.3)."""
    status = response.status
    if response.error is not None:
        if status is None:  # no HTTP answer: connect, TLS, certificate, timeout
            return FetchedPolicy(url, error=response.error, temporary=True)
        return FetchedPolicy(url, error=response.error, status=status)
    if status is None:
        return FetchedPolicy(url, error="no HTTP status", temporary=True)
    if 300 <= status < 400:
        where = response.header("Location")
        target = f" to {where[:120]}" if where else ""
        return FetchedPolicy(url, error=f"HTTP {status}: a redirect{target} is not followed "
                                        "(RFC 8461 §3.3)", status=status)
    if status != 200:
        return FetchedPolicy(url, error=f"HTTP {status}: only 200 OK is a policy "
                                        "(RFC 8461 §3.3)", temporary=status >= 500,
                             status=status)
    media = _media_type(response.header("Content-Type"))
    if media != "text/plain":
        return FetchedPolicy(url, error=f"media type {media or '(none)'!r} is not text/plain "
                                        "(RFC 8461 §3.3)", status=status)
    if len(response.body) > POLICY_MAX_BYTES:
        return FetchedPolicy(url, error=f"the policy is larger than {POLICY_MAX_BYTES} "
                                        "bytes (RFC 8461 §3.3)", status=status)
    try:
        text = response.body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return FetchedPolicy(url, error=f"the policy is not UTF-8 text (byte {exc.start})",
                             status=status)
    try:
        policy = parse_policy(text)
    except ParseError as exc:
        return FetchedPolicy(url, error=f"invalid policy: {exc}", status=status)
    return FetchedPolicy(url, policy=policy, status=status)


def fetch_policy_flow(domain: str, *, timeout: float = FETCH_TIMEOUT) -> Flow[FetchedPolicy]:
    """Fetch and parse ``https://mta-sts.<domain>/.well-known/mta-sts.txt`` (§3.3):
    HTTPS with a certificate valid for that host, no redirects, 200 only, text/plain,
    at most :data:`POLICY_MAX_BYTES` bytes within ``timeout`` seconds."""
    url = policy_url(domain)
    response = yield from fetch(Fetch(url, max_bytes=POLICY_MAX_BYTES, timeout=timeout))
    return _check_response(url, response)


def _until(entry: CachedPolicy, now: float) -> str:
    return f"fetched {now - entry.fetched:g} s ago, valid {entry.expires - now:g} s more"


def policy_flow(domain: str, *, now: float, cached: CachedPolicy | None = None,
                timeout: float = FETCH_TIMEOUT, refresh_interval: float = REFRESH_INTERVAL,
                retry_after: float = RETRY_AFTER) -> Flow[MTASTSPolicyResult]:
    """The policy that applies to ``domain`` at ``now`` (RFC 8461 §5.1).

    :param domain: the Policy Domain, already normalised (A-labels, lower case).
    :param now: the time, seconds since the epoch (the verb reads the clock).
    :param cached: the cache's entry for the domain, if any; an expired one is ignored.
    :param timeout: seconds for the policy fetch.
    :param refresh_interval: a cached policy older than this is fetched again even
        when its id is unchanged (a failure keeps it).
    :param retry_after: after a failed refresh of a cached policy, seconds before the
        next attempt (the cached policy applies meanwhile). A domain with nothing
        cached is fetched whenever asked: there is nowhere to remember the failure.
    """
    url = policy_url(domain)
    live = cached if cached is not None and cached.domain == domain and cached.valid(now) \
        else None
    found = yield from discover_flow(domain)
    trace = [found.answer]

    def result(status: Status, reason: str, **facts: object) -> MTASTSPolicyResult:
        return MTASTSPolicyResult(status, reason, domain, url=url, trace=tuple(trace),
                                  record=found.record, **facts)  # type: ignore[arg-type]

    def from_cache(reason: str, entry: CachedPolicy,
                   error: str | None) -> MTASTSPolicyResult:
        return result(Status.PASS, reason, policy=entry.policy, source="cache",
                      cached=entry, refresh_error=error)

    if found.record is None:
        if live is not None:
            why = found.reason
            return from_cache(f"{why}; the cached policy (id {live.id}) applies until it "
                              "expires (RFC 8461 §3.3, §5.1)", live,
                              why if found.outcome == "tempfail" else None)
        status = Status.TEMPERROR if found.outcome == "tempfail" else Status.NONE
        return result(status, found.reason)
    record = found.record
    if live is not None and live.id == record.id and now - live.fetched < refresh_interval:
        return from_cache(f"policy id {record.id} unchanged: the cached policy applies "
                          f"({_until(live, now)})", live, None)
    failed = live.refresh_failed if live is not None else None
    if live is not None and failed is not None and 0 <= now - failed < retry_after:
        return from_cache(f"the last refresh failed {now - failed:g} s ago "
                          f"({live.refresh_error}); the next is tried {retry_after:g} s "
                          f"after it (RFC 8461 §3.3); the cached policy (id {live.id}) "
                          "applies", live, live.refresh_error)
    got = yield from fetch_policy_flow(domain, timeout=timeout)
    trace.append(f"GET {url}: " + (f"HTTP {got.status}" if got.status else "no answer")
                 + (f": {got.error}" if got.error else ""))
    if got.policy is not None:
        entry = CachedPolicy(domain, got.policy, record.id, now)
        fresh = "" if live is None or live.id != record.id else " (refreshed)"
        return result(Status.PASS, f"policy id {record.id} fetched{fresh}: mode "
                                   f"{got.policy.mode}", policy=got.policy,
                      source="fetched", cached=entry)
    error = got.error or "no policy"
    if live is not None:
        kept = replace(live, refresh_failed=now, refresh_error=error)
        return from_cache(f"the policy could not be refreshed ({error}); the cached "
                          f"policy (id {live.id}) applies until it expires "
                          "(RFC 8461 §3.3)", kept, error)
    status = Status.TEMPERROR if got.temporary else Status.PERMERROR
    return result(status, f"no policy could be fetched from {url}: {error}; deliver as "
                          "though the domain had no MTA-STS (RFC 8461 §3.3)")
