"""``mailauth mta-sts DOMAIN`` against the loopback DNS and HTTPS servers."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest


def mta_sts(infra: Any, domain: str, *more: str) -> subprocess.CompletedProcess[str]:
    if infra.https_port is None or infra.https_ca is None:
        pytest.fail("the HTTPS policy server of tests/infra is not running")
    return subprocess.run(
        [sys.executable, "-m", "mailauth", "mta-sts", domain, "--nameserver",
         f"{infra.host}:{infra.dns_resolver_port}", "--cafile", str(infra.https_ca),
         "--port", str(infra.https_port), *more],
        capture_output=True, text=True, timeout=120, check=False)


def test_a_good_policy_its_mx_and_its_certificate(infra: Any) -> None:
    out = mta_sts(infra, "sts.test", "--allow-private")
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("mta-sts=pass")
    assert any(line.startswith("  record: _mta-sts.sts.test: v=STSv1; id=") for line in lines)
    assert any(line.startswith("  policy (fetched): mode ") for line in lines)
    assert "  mx.sts.test: covered by " in out.stdout
    assert "Certificate of mta-sts.sts.test: " in out.stdout
    assert "days left)" in out.stdout


def test_json_and_the_guard(infra: Any) -> None:
    out = mta_sts(infra, "sts.test", "--json")
    assert out.returncode == 2, out.stdout + out.stderr      # guard: temperror
    data = json.loads(out.stdout)
    assert data["status"] == "temperror"
    assert "not a global address" in data["certificate"]["error"]
    assert data["mx_hosts"] == [{"host": "mx.sts.test", "pattern": None, "covered": False}]


def test_a_wrong_name_certificate_is_said(infra: Any) -> None:
    out = mta_sts(infra, "wrongname.sts.test", "--allow-private")
    assert out.returncode == 2, out.stdout + out.stderr
    assert "Certificate of mta-sts.wrongname.sts.test: not verified:" in out.stdout
