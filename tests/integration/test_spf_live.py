"""SPF against the loopback authoritative server and resolver (tests/infra)."""

from __future__ import annotations

from typing import Any

import pytest

from mailauth import Status
from mailauth.resolvers import DNSResolver
from mailauth.spf import check_host, check_spf

pytestmark = pytest.mark.integration


def resolver(infra: Any) -> DNSResolver:
    return DNSResolver([infra.host], port=infra.dns_resolver_port)


@pytest.mark.parametrize(("ip", "domain", "status"), [
    ("192.0.2.9", "spf.test", Status.PASS),
    ("198.51.100.25", "spf.test", Status.PASS),       # mx
    ("2001:db8::5", "spf.test", Status.PASS),         # via include's ip6
    ("2001:db9::5", "spf.test", Status.FAIL),         # include's ~all: no match; -all
    ("203.0.113.1", "spf.test", Status.FAIL),
    ("59.106.116.100", "split.spf.test", Status.PASS),
    ("192.0.2.9", "two.spf.test", Status.PERMERROR),
    ("192.0.2.9", "loop.spf.test", Status.PERMERROR),
    ("192.0.2.9", "incnone.spf.test", Status.PERMERROR),
    ("192.0.2.7", "macro.spf.test", Status.PASS),
    ("192.0.2.8", "macro.spf.test", Status.FAIL),
    ("192.0.2.9", "missing.spf.test", Status.NONE),
])
def test_live(infra: Any, ip: str, domain: str, status: Status) -> None:
    result = check_host(ip, domain, f"user@{domain}").run(resolver(infra))
    assert result.status is status, result.trace_text()


def test_live_async_and_check_spf(infra: Any) -> None:
    import asyncio

    async def go() -> Any:
        return await check_spf("192.0.2.9", "user@spf.test", "mx.spf.test").arun(
            resolver(infra))

    result = asyncio.run(go())
    assert result.status is Status.PASS
    assert result.helo is not None and result.helo.status is Status.NONE
