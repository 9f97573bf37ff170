"""How DKIM groups its questions, and how SPF and DKIM group together under gather,
pinned step by step with ``drive()`` (DESIGN.md §1)."""

from __future__ import annotations

from typing import Any

from mailauth import Status
from mailauth.dkim import generate_key, sign_dkim, verify_dkim_flow
from mailauth.flows import Flow, Query, gather
from mailauth.message import parse_message
from mailauth.spf import check_spf_flow
from mailauth.testing import FakeResolver, drive

IP = "192.0.2.1"
NOW = 1_800_000_000.0
MESSAGE = (b"From: alice@example.org\r\nTo: bob@example.net\r\nSubject: grouping\r\n"
           b"Date: Thu, 03 Dec 2026 00:00:00 +0000\r\n\r\nHello.\r\n")


def Q(name: str, rdtype: Any = "TXT") -> Query:
    return Query(name, rdtype)


def signed_three_times() -> tuple[bytes, FakeResolver]:
    """Signatures by b.example (s1), a.example (s1) and b.example (s1) again."""
    zone = FakeResolver()
    message = MESSAGE
    keys = {name: generate_key("ed25519") for name in ("a.example", "b.example")}
    for name, key in keys.items():
        zone.add(f"s1._domainkey.{name}", "TXT", key.txt_value)
    for domain in ("b.example", "a.example", "b.example"):
        message = sign_dkim(message, domain=domain, selector="s1",
                            key=keys[domain].private_key_pem) + message
    return message, zone


def test_dkim_asks_every_distinct_key_in_one_step() -> None:
    message, zone = signed_three_times()
    flow = verify_dkim_flow(parse_message(message), now=NOW)
    # One step: both key names (each once, in sorted order); the body hash is Work,
    # which drive() runs itself, so it is not in the script.
    result = drive(flow, [(Q("s1._domainkey.a.example"), Q("s1._domainkey.b.example"))],
                   resolver=zone)
    assert result.status is Status.PASS
    assert [s.status for s in result.signatures] == [Status.PASS] * 3


def test_dkim_with_one_signature_asks_a_one_tuple() -> None:
    key = generate_key("ed25519")
    message = sign_dkim(MESSAGE, domain="a.example", selector="s1",
                        key=key.private_key_pem) + MESSAGE
    zone = FakeResolver({"s1._domainkey.a.example": {"TXT": [key.txt_value]}})
    result = drive(verify_dkim_flow(parse_message(message), now=NOW),
                   [(Q("s1._domainkey.a.example"),)], resolver=zone)
    assert result.status is Status.PASS


def test_spf_and_dkim_under_gather_share_their_first_step() -> None:
    message, zone = signed_three_times()
    zone.add("example.org", "TXT", "v=spf1 mx -all")
    zone.add("example.org", "MX", "10 mx.example.org")
    zone.add("mx.example.org", "A", IP)
    zone.add("out.example.org", "TXT", "v=spf1 -all")

    def both() -> Flow[tuple[Any, Any]]:
        return (yield from gather(
            check_spf_flow(IP, "alice@example.org", "out.example.org", now=NOW),
            verify_dkim_flow(parse_message(message), now=NOW)))

    spf, dkim = drive(both(), [
        # SPF's two records and DKIM's two keys go out together ...
        (Q("example.org"), Q("out.example.org"),
         Q("s1._domainkey.a.example"), Q("s1._domainkey.b.example")),
        # ... then DKIM is done and SPF's steps pass through unchanged.
        Q("example.org", "MX"),
        (Q("mx.example.org", "A"),),
    ], resolver=zone)
    assert spf.status is Status.PASS and spf.helo is not None
    assert spf.helo.status is Status.FAIL
    assert dkim.status is Status.PASS
