"""authenticate() end to end through real DNS: knotd serving the DNSSEC-signed test
zones (tests/infra/zones/dkim.test.zone and friends), asked through unbound."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import mailauth
from mailauth import Status
from mailauth.dkim import sign_dkim

KEYS = Path(__file__).resolve().parents[2] / "vectors" / "dkim" / "live"


def message(author: str, *, sign: bool = True) -> bytes:
    body = (f"From: Live Test <{author}>\r\nTo: someone@example.net\r\n"
            "Subject: authenticate over loopback\r\n\r\nHello.\r\n").encode()
    if not sign:
        return body
    return sign_dkim(body, domain="dkim.test", selector="ed",
                     key=(KEYS / "ed25519.pem").read_bytes()) + body


def test_pass_through_run_and_arun_alike(infra: Any) -> None:
    check = mailauth.authenticate(message("live@dkim.test"), ip="192.0.2.3",
                                  helo="out.dkim.test", mail_from="bounce@dkim.test")
    result = check.run(infra.resolver())
    assert (result.spf.status, result.dkim.status, result.dmarc.status) == (
        Status.PASS, Status.PASS, Status.PASS), str(result)
    assert result.iprev is not None and result.iprev.status is Status.PASS
    assert result.iprev.verified == "out.dkim.test"
    assert result.dkim.signatures[0].authentic is True
    assert (result.dmarc.policy, result.dmarc.policy_domain) == ("reject", "dkim.test")
    assert [a.passed for a in result.dmarc.alignment] == [True, True]
    again = asyncio.run(check.arun(infra.resolver()))
    assert again == result


def test_subdomain_fails_under_the_organizational_domain_policy(infra: Any) -> None:
    result = mailauth.authenticate(message("x@news.dkim.test", sign=False), ip="203.0.113.9",
                                   helo="spoof.example", mail_from="x@news.dkim.test",
                                   ).run(infra.resolver())
    dmarc = result.dmarc
    assert dmarc.status is Status.FAIL, dmarc.reason
    assert (dmarc.policy, dmarc.policy_tag, dmarc.disposition) == ("reject", "p", "reject")
    assert dmarc.policy_domain == "dkim.test"
    # the walk goes all the way up: the record at dkim.test is not psd=n/y
    assert [x.name for x in dmarc.lookups] == ["_dmarc.news.dkim.test", "_dmarc.dkim.test",
                                               "_dmarc.test"]
    assert result.iprev is not None and result.iprev.status is not Status.PASS


def test_a_bogus_dmarc_answer_is_a_temperror_not_no_policy(infra: Any) -> None:
    result = mailauth.authenticate(message("x@bogus.test", sign=False)).run(infra.resolver())
    assert result.dmarc.status is Status.TEMPERROR, result.dmarc.reason
    assert result.dmarc.disposition == "none"
    assert "_dmarc.bogus.test" in result.dmarc.reason


def test_the_check_command_against_the_resolver(infra: Any, tmp_path: Path) -> None:
    path = tmp_path / "m.eml"
    path.write_bytes(message("live@dkim.test"))
    out = subprocess.run(
        [sys.executable, "-m", "mailauth", "check", str(path), "--ip", "192.0.2.3",
         "--helo", "out.dkim.test", "--mail-from", "bounce@dkim.test", "--nameserver",
         f"{infra.host}:{infra.dns_resolver_port}", "--dnssec", "--authserv-id", "mx.test",
         "--json"], capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    data = json.loads(out.stdout)
    assert data["status"] == "pass"
    assert data["authentication_results"].startswith("Authentication-Results: mx.test; spf=pass")
    assert data["dkim"]["signatures"][0]["authentic"] is True
