"""DKIM through real DNS: sign with mailauth, verify with keys served by knotd
(DNSSEC-signed zone tests/infra/zones/dkim.test.zone) through unbound."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from mailauth import Status
from mailauth.dkim import sign_dkim, verify_dkim

KEYS = Path(__file__).resolve().parents[2] / "vectors" / "dkim" / "live"
MSG = (b"From: Live Test <live@dkim.test>\r\nTo: someone@example.net\r\n"
       b"Subject: through real DNS\r\n\r\nHello over loopback.\r\n")


def signed(selector: str, key_file: str) -> bytes:
    key = (KEYS / key_file).read_bytes()
    return sign_dkim(MSG, domain="dkim.test", selector=selector, key=key) + MSG


@pytest.mark.parametrize("selector, key_file, bits", [("rsa", "rsa2048.pem", 2048),
                                                      ("ed", "ed25519.pem", 256)])
def test_sign_and_verify_through_validating_resolver(infra: Any, selector: str, key_file: str,
                                                      bits: int) -> None:
    result = verify_dkim(signed(selector, key_file)).run(infra.resolver(trust_ad=True))
    assert result.status is Status.PASS, result.reason
    s = result.signatures[0]
    assert s.key_bits == bits
    assert s.authentic is True   # dkim.test is DNSSEC-signed and anchored in unbound


def test_authentic_is_false_without_trusting_ad(infra: Any) -> None:
    result = verify_dkim(signed("ed", "ed25519.pem")).run(infra.resolver(trust_ad=False))
    assert result.status is Status.PASS
    assert result.signatures[0].authentic is False


def test_async_driver_and_cname_key(infra: Any) -> None:
    message = sign_dkim(MSG, domain="dkim.test", selector="alias",
                        key=(KEYS / "ed25519.pem").read_bytes()) + MSG
    result = asyncio.run(verify_dkim(message).arun(infra.resolver(trust_ad=True)))
    assert result.status is Status.PASS, result.reason


def test_revoked_and_missing_keys(infra: Any) -> None:
    resolver = infra.resolver(trust_ad=True)
    revoked = sign_dkim(MSG, domain="dkim.test", selector="revoked",
                        key=(KEYS / "rsa2048.pem").read_bytes()) + MSG
    r = verify_dkim(revoked).run(resolver)
    assert (r.status, r.signatures[0].code) == (Status.PERMERROR, "key_revoked")
    missing = sign_dkim(MSG, domain="dkim.test", selector="nosuch",
                        key=(KEYS / "rsa2048.pem").read_bytes()) + MSG
    r = verify_dkim(missing).run(resolver)
    assert (r.status, r.signatures[0].code) == (Status.PERMERROR, "key_not_found")
