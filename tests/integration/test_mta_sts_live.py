"""MTA-STS end to end: the _mta-sts records served by knotd (tests/infra/zones/sts.test.zone)
through unbound, the policies fetched from the HTTPS server on 127.0.0.1 with the
throwaway CA (tests/infra/https_server.py), through HTTPSFetcher resolving the policy
hosts itself with the same resolver. Every host resolves to loopback, so the fetcher
is told allow_private=True, except in the test of the guard."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from mailauth.fetchers import HTTPSFetcher
from mailauth.mta_sts import MTASTSPolicyResult, SQLiteStore, get_mta_sts_policy
from mailauth.status import Status


def fetcher(infra: Any, *, allow_private: bool = True) -> HTTPSFetcher:
    if infra.https_port is None or infra.https_ca is None:
        pytest.skip("the HTTPS policy host is not running (NO_HTTPS)")
    return HTTPSFetcher(cafile=infra.https_ca, port=infra.https_port,
                        resolver=infra.resolver(), allow_private=allow_private)


def lookup(infra: Any, domain: str, **kw: Any) -> MTASTSPolicyResult:
    fetch_with = kw.pop("fetcher", None) or fetcher(infra)
    return get_mta_sts_policy(domain, **kw).run(infra.resolver(), fetch_with)


def test_a_good_policy(infra: Any) -> None:
    result = lookup(infra, "sts.test")
    assert result.status is Status.PASS, result.reason
    assert result.policy is not None and result.source == "fetched"
    assert (result.policy.mode, result.policy.mx, result.policy.max_age) == (
        "enforce", ("mx.sts.test", "*.mx.sts.test"), 86400)
    assert result.record is not None and result.record.id == "20260101T000000"
    assert result.may_deliver("mx.sts.test", starttls=True, certificate_valid=True).allowed
    assert not result.may_deliver("mx.example.test", starttls=True,
                                  certificate_valid=True).allowed


def test_a_good_policy_through_the_async_driver(infra: Any) -> None:
    check = get_mta_sts_policy("sts.test")
    result = asyncio.run(check.arun(infra.resolver(), fetcher(infra)))
    assert result.status is Status.PASS and result.mode == "enforce", result.reason


def test_text_plain_with_a_charset(infra: Any) -> None:
    assert lookup(infra, "charset.sts.test").status is Status.PASS


@pytest.mark.parametrize(("domain", "status", "words"), [
    ("redirect.sts.test", Status.PERMERROR,
     "HTTP 301: a redirect to https://mta-sts.sts.test/.well-known/mta-sts.txt is not "
     "followed"),
    ("expired.sts.test", Status.TEMPERROR, "certificate verification failed: certificate "
                                           "has expired"),
    ("wrongname.sts.test", Status.TEMPERROR, "certificate verification failed: Hostname "
                                             "mismatch"),
    ("missing.sts.test", Status.PERMERROR, "HTTP 404: only 200 OK"),
    ("big.sts.test", Status.PERMERROR, "larger than 65536 bytes"),
    ("html.sts.test", Status.PERMERROR, "'text/html' is not text/plain"),
])
def test_a_policy_that_must_not_be_used(infra: Any, domain: str, status: Status,
                                        words: str) -> None:
    result = lookup(infra, domain)
    assert result.status is status and words in result.reason, result.reason
    assert result.policy is None
    assert result.may_deliver("mx.sts.test", starttls=False, certificate_valid=False).allowed


def test_a_server_slower_than_the_timeout(infra: Any) -> None:
    t0 = time.monotonic()
    result = lookup(infra, "slow.sts.test", timeout=1.0)
    elapsed = time.monotonic() - t0
    assert result.status is Status.TEMPERROR and "timeout" in result.reason, result.reason
    assert elapsed < 2.5, elapsed  # the server answers after 3 s


def test_a_policy_host_on_a_private_address_is_refused_by_the_guard(infra: Any) -> None:
    result = lookup(infra, "sts.test", fetcher=fetcher(infra, allow_private=False))
    assert result.status is Status.TEMPERROR, result.reason
    assert "mta-sts.sts.test resolves to 127.0.0.1, which is not a global address" in \
        result.reason


def test_two_records_are_no_policy(infra: Any) -> None:
    result = lookup(infra, "two.sts.test")
    assert result.status is Status.NONE and "2 v=STSv1 records" in result.reason


def test_no_record_is_no_policy(infra: Any) -> None:
    result = lookup(infra, "nothing.sts.test")
    assert result.status is Status.NONE and "NXDOMAIN" in result.reason


def test_the_cache_follows_the_id_and_survives_a_failed_refresh(infra: Any,
                                                               tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "sts.db")
    domain = "idchange.sts.test"
    infra.set_records("sts.test", "_mta-sts.idchange", "TXT", '"v=STSv1; id=1;"')
    try:
        first = lookup(infra, domain, cache=store, now=1000)
        assert first.source == "fetched" and first.mode == "testing", first.reason
        same = lookup(infra, domain, cache=store, now=1100)
        assert same.source == "cache"
        infra.set_records("sts.test", "_mta-sts.idchange", "TXT", '"v=STSv1; id=2;"')
        # a new id whose policy cannot be had (the guard refuses): the cached one stays
        refused = lookup(infra, domain, cache=store, now=1200,
                         fetcher=fetcher(infra, allow_private=False))
        assert refused.status is Status.PASS and refused.source == "cache"
        assert refused.refresh_error is not None and "not a global" in refused.refresh_error
        cached = store.get(domain)
        assert cached is not None and cached.id == "1" and cached.refresh_failed == 1200
        # not tried again within five minutes of the failure (RFC 8461 §3.3)
        assert lookup(infra, domain, cache=store, now=1499).source == "cache"
        changed = lookup(infra, domain, cache=store, now=1500)
        assert changed.source == "fetched" and changed.cached is not None
        assert changed.cached.id == "2"
        # max_age is 3600: an hour later the cached policy has expired and is fetched
        assert lookup(infra, domain, cache=store, now=1500 + 3599).source == "cache"
        expired = lookup(infra, domain, cache=store, now=1500 + 3600)
        assert expired.source == "fetched" and expired.reason.endswith("mode testing")
    finally:
        infra.set_records("sts.test", "_mta-sts.idchange", "TXT", '"v=STSv1; id=1;"')
