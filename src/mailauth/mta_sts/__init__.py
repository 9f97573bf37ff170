"""MTA-STS: SMTP MTA Strict Transport Security (RFC 8461).

:func:`get_mta_sts_policy` (``mailauth.get_mta_sts_policy``) finds the policy a
sending MTA applies to a domain: the ``_mta-sts`` TXT record, the policy fetched over
HTTPS from ``mta-sts.<domain>``, and a cache of policies (:class:`MemoryStore`, or
:class:`SQLiteStore` for processes sharing one file). :meth:`MTASTSPolicyResult.may_deliver`
answers "may I deliver to this MX host with this TLS outcome?". The expert tier:
:func:`parse_policy`, :func:`parse_record`, :func:`match_mx`, and the flows
(:func:`policy_flow`, :func:`discover_flow`, :func:`fetch_policy_flow`).

The policy fetch goes through the check's fetcher: by default
:class:`mailauth.fetchers.HTTPSFetcher`, which verifies the certificate against the
system trust store (or ``cafile=``), follows no redirect, and refuses a policy host
that resolves to a loopback, private or other non-global address unless told
otherwise (``allow_private=True``).
"""

from __future__ import annotations

import time

from .._arguments import check_domain, check_number
from .._flow import Check, Flow, work
from ..errors import ArgumentTypeError
from ._cache import CachedPolicy, MemoryStore, PolicyStore
from ._discovery import (
    FETCH_TIMEOUT,
    POLICY_MAX_BYTES,
    REFRESH_INTERVAL,
    RETRY_AFTER,
    Discovery,
    FetchedPolicy,
    discover_flow,
    fetch_policy_flow,
    policy_flow,
    policy_url,
)
from ._policy import MAX_AGE_LIMIT, Mode, Policy, match_mx, parse_policy
from ._record import STSRecord, is_sts_record, parse_record
from ._result import Delivery, MTASTSPolicyResult, Source, may_deliver
from ._sqlite_store import SQLiteStore

__all__ = [
    "FETCH_TIMEOUT",
    "MAX_AGE_LIMIT",
    "POLICY_MAX_BYTES",
    "REFRESH_INTERVAL",
    "RETRY_AFTER",
    "CachedPolicy",
    "Delivery",
    "Discovery",
    "FetchedPolicy",
    "MTASTSPolicyResult",
    "MemoryStore",
    "Mode",
    "Policy",
    "PolicyStore",
    "SQLiteStore",
    "STSRecord",
    "Source",
    "discover_flow",
    "fetch_policy_flow",
    "get_mta_sts_policy",
    "is_sts_record",
    "match_mx",
    "may_deliver",
    "parse_policy",
    "parse_record",
    "policy_flow",
    "policy_url",
]


def _store_get(store: PolicyStore, domain: str) -> tuple[CachedPolicy | None, str | None]:
    try:
        return store.get(domain), None
    except Exception as exc:  # a broken cache must not stop mail: treat it as empty
        return None, f"cache read failed: {type(exc).__name__}: {exc}"


def _store_write(store: PolicyStore, domain: str, entry: CachedPolicy | None) -> str | None:
    try:
        if entry is None:
            store.delete(domain)
        else:
            store.put(entry)
    except Exception as exc:
        return f"cache write failed: {type(exc).__name__}: {exc}"
    return None


def get_mta_sts_policy(domain: str, *, cache: PolicyStore | None = None,
                       now: float | None = None, timeout: float = FETCH_TIMEOUT,
                       refresh_interval: float = REFRESH_INTERVAL,
                       retry_after: float = RETRY_AFTER,
                       budget: float | None = None) -> Check[MTASTSPolicyResult]:
    """The MTA-STS policy a sending MTA applies to ``domain`` (RFC 8461 §3, §5.1).

    :param domain: the Policy Domain (the recipient's domain).
    :param cache: where policies are kept between runs: a :class:`MemoryStore`, a
        :class:`SQLiteStore`, or any :class:`PolicyStore`. Without one, the check keeps
        its own :class:`MemoryStore`, shared by its runs only.
    :param now: the time (seconds since the epoch); the clock when None, read once
        per run.
    :param timeout: seconds for the HTTPS fetch in all (RFC 8461 §3.3 suggests 60).
    :param refresh_interval: seconds after which a cached policy whose id is unchanged
        is fetched again (once a day, §3.3); a failed refresh keeps it.
    :param retry_after: seconds after a failed refresh before the next attempt (five
        minutes, §3.3); the cached policy applies meanwhile.
    :param budget: seconds for the whole check (DNS and HTTPS); ``timeout + 20`` by
        default.
    :raises ArgumentTypeError: for an argument of the wrong type.
    :raises UsageError: for a name that is not a domain name, or a bad number.

    Run it with a fetcher of your own for a private CA or a test server:
    ``check.run(fetcher=HTTPSFetcher(cafile=...))``.
    """
    name = check_domain("domain", domain)
    if cache is not None and not isinstance(cache, PolicyStore):
        raise ArgumentTypeError(f"cache= is a PolicyStore (MemoryStore(), SQLiteStore(path))"
                                f", not {type(cache).__name__}")
    if now is not None:
        check_number("now", now)
    check_number("timeout", timeout, positive=True)
    check_number("refresh_interval", refresh_interval)
    check_number("retry_after", retry_after)
    if budget is not None:
        check_number("budget", budget, positive=True)
    store: PolicyStore = cache if cache is not None else MemoryStore()

    def flow() -> Flow[MTASTSPolicyResult]:
        # The edge: the public verb reads the clock, once per run.
        current = time.time() if now is None else float(now)  # noqa: TID251
        old, problem = yield from work(_store_get, store, name)
        result = yield from policy_flow(name, now=current, cached=old, timeout=timeout,
                                        refresh_interval=refresh_interval,
                                        retry_after=retry_after)
        if result.cached != old:
            written = yield from work(_store_write, store, name, result.cached)
            problem = problem or written
        if problem:
            from dataclasses import replace
            result = replace(result, trace=(*result.trace, problem))
        return result

    return Check(flow, budget=budget if budget is not None else timeout + 20.0)
