"""authenticate() with ARC (RFC 8617): the chain verified in the same step as SPF, DKIM
and DMARC, ``arc=`` in the Authentication-Results field, and a DMARC fail that a trusted
sealer vouched for (trusted_sealers, apply_override), on messages sealed by mailauth
through a mailing list that changes them (offline, mailauth.testing)."""

from __future__ import annotations

import asyncio
import io
from functools import cache
from typing import Any

import pytest

import mailauth
from mailauth import Status
from mailauth.arc import seal_arc, verify_arc
from mailauth.dkim import generate_key, sign_dkim
from mailauth.errors import ArgumentTypeError, UsageError
from mailauth.flows import Query
from mailauth.message import parse_message
from mailauth.testing import FakeResolver
from mailauth.umbrella import authenticate_flow

NOW = 1_800_000_000
AUTHOR = "example.org"
LIST, FWD = "lists.example.net", "fwd.example.com"
LIST_IP, FWD_IP = "198.51.100.20", "203.0.113.30"
ORIGINAL = (b"From: Alice <alice@example.org>\r\nTo: team@lists.example.net\r\n"
            b"Subject: the plan\r\nDate: Thu, 3 Dec 2026 08:00:00 +0000\r\n"
            b"Message-ID: <plan-1@example.org>\r\n\r\nHello all,\r\nthe plan is ready.\r\n")


@cache
def keys() -> dict[str, Any]:
    return {"author": generate_key("ed25519"), LIST: generate_key("rsa"),
            FWD: generate_key("ed25519")}


@cache
def dns() -> FakeResolver:
    k = keys()
    return FakeResolver({
        f"k1._domainkey.{AUTHOR}": {"TXT": [k["author"].txt_value]},
        f"arc._domainkey.{LIST}": {"TXT": [k[LIST].txt_value]},
        f"arc._domainkey.{FWD}": {"TXT": [k[FWD].txt_value]},
        f"_dmarc.{AUTHOR}": {"TXT": ["v=DMARC1; p=reject"]},
        AUTHOR: {"TXT": ["v=spf1 ip4:192.0.2.0/24 -all"]},
        LIST: {"TXT": [f"v=spf1 ip4:{LIST_IP} -all"]},
        FWD: {"TXT": [f"v=spf1 ip4:{FWD_IP} -all"]},
    })


def hop(message: bytes, sealer: str, *, ip: str, helo: str, mail_from: str,
        change: bool) -> bytes:
    """What an ARC sealer does: authenticate what arrived, maybe change it (a list tag
    and footer), seal with its findings."""
    arrived = mailauth.authenticate(message, ip=ip, helo=helo, mail_from=mail_from,
                                    now=NOW, iprev=False).run(dns())
    if change:
        message = message.replace(b"Subject: ", b"Subject: [team] ", 1) + b"-- \r\nteam\r\n"
    fields = seal_arc(message, domain=sealer, selector="arc", key=keys()[sealer].private_key_pem,
                      authserv_id=sealer, auth_results=arrived, chain=arrived.arc, now=NOW)
    return fields + message


@cache
def signed() -> bytes:
    return sign_dkim(ORIGINAL, domain=AUTHOR, selector="k1",
                     key=keys()["author"].private_key_pem, timestamp=NOW - 60) + ORIGINAL


@cache
def through_list() -> bytes:
    """Alice -> the list (which tags the subject and adds a footer, then seals)."""
    return hop(signed(), LIST, ip="192.0.2.5", helo="out.example.org",
               mail_from="alice@example.org", change=True)


@cache
def through_list_and_forwarder() -> bytes:
    """... -> a forwarder that changes nothing and seals again."""
    return hop(through_list(), FWD, ip=LIST_IP, helo=LIST, mail_from=f"team-bounces@{LIST}",
               change=False)


def receive(message: bytes, ip: str = LIST_IP, helo: str = LIST, **kw: Any
            ) -> mailauth.AuthResults:
    return mailauth.authenticate(message, ip=ip, helo=helo,
                                 mail_from=f"team-bounces@{helo}", now=NOW, iprev=False,
                                 **kw).run(dns())


def asked(step: object) -> set[tuple[str, str]]:
    """The DNS questions of one step of a flow."""
    effects = step if isinstance(step, tuple) else (step,)
    return {(q.name, str(q.rdtype)) for q in effects if isinstance(q, Query)}


def header(result: mailauth.AuthResults) -> str:
    return result.header("mx.example.com").replace("\r\n", "")


def test_a_message_without_arc_fields_is_arc_none_and_costs_no_query() -> None:
    r = receive(signed(), ip="192.0.2.5", helo="out.example.org")
    assert r.arc is not None and r.arc.status is Status.NONE
    assert r.arc == verify_arc(signed(), now=NOW).run(dns())    # the same value
    assert " arc=none; dmarc=pass " in header(r)
    assert " arc=" not in str(r)                     # the one-line verdict stays short
    steps = []
    for arc in (True, False):
        flow = authenticate_flow(parse_message(signed()), ip="192.0.2.5",
                                 helo="out.example.org", mail_from="alice@example.org",
                                 now=NOW, iprev=False, arc=arc)
        steps.append(asked(flow.send(None)))
        flow.close()
    assert steps[0] == steps[1]


def test_a_list_breaks_dkim_and_arc_carries_the_chain() -> None:
    r = receive(through_list())
    assert r.dkim.status is Status.FAIL and r.dmarc.status is Status.FAIL
    assert r.arc is not None and r.arc.status is Status.PASS and r.arc.chain == (LIST,)
    assert r.dmarc.override is None                  # nothing is trusted by default
    assert str(r).startswith("spf=pass dkim=fail arc=pass dmarc=fail")
    assert (f" arc=pass (arc.chain={LIST}) smtp.remote-ip={LIST_IP} header.oldest-pass=0; "
            "dmarc=fail ") in header(r)
    lines = r.header("mx.example.com").split("\r\n")
    assert all(len(line) <= 78 for line in lines)


def test_the_chain_lists_the_sealers_oldest_first() -> None:
    r = receive(through_list_and_forwarder(), ip=FWD_IP, helo=FWD)
    assert r.arc is not None and r.arc.status is Status.PASS
    assert f"(arc.chain={LIST}:{FWD}) smtp.remote-ip={FWD_IP} header.oldest-pass=0" \
        in header(r)


def test_arc_keys_are_asked_in_the_first_step_with_everything_else() -> None:
    flow = authenticate_flow(parse_message(through_list()), ip=LIST_IP, helo=LIST,
                             mail_from=f"team-bounces@{LIST}", now=NOW)
    first = asked(flow.send(None))
    assert {(LIST, "TXT"), (f"k1._domainkey.{AUTHOR}", "TXT"),          # SPF, DKIM
            (f"arc._domainkey.{LIST}", "TXT"),                          # ARC
            (f"_dmarc.{AUTHOR}", "TXT")} <= first, first               # DMARC
    flow.close()


def test_arc_false_leaves_arc_out() -> None:
    r = receive(through_list(), arc=False)
    assert r.arc is None and " arc=" not in header(r)
    flow = authenticate_flow(parse_message(through_list()), ip=LIST_IP, helo=LIST,
                             mail_from=f"team-bounces@{LIST}", now=NOW, arc=False)
    assert (f"arc._domainkey.{LIST}", "TXT") not in asked(flow.send(None))
    flow.close()


def test_a_trusted_sealer_makes_an_override_that_is_only_reported() -> None:
    r = receive(through_list(), trusted_sealers=[LIST])
    o = r.dmarc.override
    assert o is not None and o.type == "trusted_forwarder" and not o.applied
    assert (o.sealer, o.instance) == (LIST, 1)
    assert o.evidence == f"dmarc=pass header.from={AUTHOR}"
    assert r.dmarc.status is Status.FAIL and r.dmarc.disposition == "reject"
    assert "dmarc=fail (p=reject dis=reject)" in header(r)
    assert any(k.startswith("DMARC override") for k, _ in r._card().facts)


def test_apply_override_makes_the_disposition_none() -> None:
    r = receive(through_list(), trusted_sealers=[LIST.upper()], apply_override=True)
    assert r.dmarc.status is Status.FAIL and r.dmarc.disposition == "none"
    assert r.dmarc.override is not None and r.dmarc.override.applied
    assert "dmarc=fail (p=reject dis=none override=trusted_forwarder)" in header(r)


def test_an_untrusted_forwarder_after_a_trusted_list_still_counts_when_it_changed_nothing(
        ) -> None:
    r = receive(through_list_and_forwarder(), ip=FWD_IP, helo=FWD, trusted_sealers=[LIST])
    o = r.dmarc.override
    assert o is not None and (o.sealer, o.instance) == (LIST, 1)


def test_a_forwarder_that_changes_the_message_after_the_trusted_list_voids_its_word() -> None:
    changed = hop(through_list(), FWD, ip=LIST_IP, helo=LIST,
                  mail_from=f"team-bounces@{LIST}", change=True)
    r = receive(changed, ip=FWD_IP, helo=FWD, trusted_sealers=[LIST])
    assert r.arc is not None and r.arc.status is Status.PASS and r.arc.oldest_pass == 2
    assert r.dmarc.override is None
    assert "header.oldest-pass=2" in header(r)


def test_a_tampered_chain_fails_with_a_reason_and_no_chain() -> None:
    tampered = through_list().replace(b"the plan is ready", b"the plan is READY")
    r = receive(tampered, trusted_sealers=[LIST])
    assert r.arc is not None and r.arc.status is Status.FAIL
    text = header(r)
    assert " arc=fail reason=" in text and f"smtp.remote-ip={LIST_IP}" in text
    assert "arc.chain" not in text and "header.oldest-pass" not in text
    assert r.dmarc.override is None
    assert str(r).startswith("spf=pass dkim=fail arc=fail dmarc=fail")


def test_the_arc_result_is_verify_arcs() -> None:
    r = receive(through_list_and_forwarder(), ip=FWD_IP, helo=FWD)
    alone = verify_arc(through_list_and_forwarder(), now=NOW).run(dns())
    assert r.arc == alone


def test_run_and_arun_give_equal_results() -> None:
    check = mailauth.authenticate(through_list(), ip=LIST_IP, helo=LIST,
                                  mail_from=f"team-bounces@{LIST}", now=NOW, iprev=False,
                                  trusted_sealers=[LIST])
    assert asyncio.run(check.arun(dns())) == check.run(dns())


def test_the_card_shows_the_chain() -> None:
    r = receive(through_list_and_forwarder(), ip=FWD_IP, helo=FWD)
    titles = [p.title for p in r._card().parts]
    assert f"ARC i=1 {LIST}, i=2 {FWD}" in titles


@pytest.mark.parametrize(("kw", "error"), [
    ({"arc": "yes"}, ArgumentTypeError), ({"apply_override": 1}, ArgumentTypeError),
    ({"trusted_sealers": LIST}, ArgumentTypeError),
    ({"trusted_sealers": ["a..b"]}, UsageError),
    ({"trusted_sealers": ["not a name"]}, UsageError),
    ({"trusted_sealers": [LIST], "arc": False}, UsageError)])
def test_arguments_are_checked(kw: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        mailauth.authenticate(signed(), **kw)


class _Pipe(io.RawIOBase):
    """A stream that cannot seek, as a milter's or a shell's pipe."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._data.read(len(buffer))
        buffer[:len(chunk)] = chunk
        return len(chunk)


def test_a_piped_message_is_read_once_for_dkim_and_arc_alike() -> None:
    message = through_list_and_forwarder()
    kw: dict[str, Any] = {"ip": FWD_IP, "helo": FWD, "mail_from": f"x@{FWD}", "now": NOW,
                          "iprev": False}
    from_bytes = mailauth.authenticate(message, **kw).run(dns())
    piped = mailauth.authenticate(io.BufferedReader(_Pipe(message)), **kw).run(dns())
    assert piped.arc is not None and piped.arc.status is Status.PASS, piped.arc
    assert piped == from_bytes
    in_loop = asyncio.run(mailauth.authenticate(io.BufferedReader(_Pipe(message)),
                                                **kw).arun(dns()))
    assert in_loop == from_bytes
