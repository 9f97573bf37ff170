"""Received fields as MTAs write them (RFC 5321 §4.4) and the envelope a saved message
records (topmost Received, Return-Path): what parse_received and
envelope_from_headers read from them."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailauth._domain import parse_ip
from mailauth._message import parse_message
from mailauth._received import Envelope, ReceivedFrom, envelope_from_headers, parse_received
from mailauth.errors import ArgumentTypeError, ParseError

DATE = "; Tue, 4 Mar 2025 10:21:07 +0000 (UTC)"

# (field value, helo, ip, reverse_name, by)
SHAPES: list[tuple[str, str | None, str | None, str | None, str | None]] = [
    # Postfix
    ("from out.example.org (out.example.org [198.51.100.7]) by mx.example.net (Postfix) "
     "with ESMTPS id ABC123 for <bob@example.net>" + DATE,
     "out.example.org", "198.51.100.7", "out.example.org", "mx.example.net"),
    ("from helo.example (unknown [192.0.2.1]) by mx.example.net (Postfix) with ESMTP id X"
     + DATE, "helo.example", "192.0.2.1", None, "mx.example.net"),
    ("from helo.example (unknown [IPv6:2001:db8::1]) by mx.example.net (Postfix) with ESMTP"
     + DATE, "helo.example", "2001:db8::1", None, "mx.example.net"),
    # Postfix, the client sent an address literal in EHLO and connected from elsewhere
    ("from [10.0.0.1] (unknown [192.0.2.1]) by mx.example.net (Postfix)" + DATE,
     "[10.0.0.1]", "192.0.2.1", None, "mx.example.net"),
    # Postfix with the TLS comments after TCP-info, and a port
    ("from mail.example.org (mail.example.org [192.0.2.10]:42317)\r\n\t(using TLSv1.3 with "
     "cipher TLS_AES_256_GCM_SHA384 (256/256 bits)\r\n\t key-exchange X25519 server-signature "
     "RSA-PSS (2048 bits))\r\n\t(No client certificate requested)\r\n\tby mx.example.net "
     "(Postfix) with ESMTPS id 4Z1" + DATE,
     "mail.example.org", "192.0.2.10", "mail.example.org", "mx.example.net"),
    # Gmail: IPv6 without the tag, the reverse name with its trailing dot
    ("from mail-ot1-x32e.google.com (mail-ot1-x32e.google.com. [2607:f8b0:4864:20::32e])\r\n"
     "        by mx.google.com with ESMTPS id n5si2035ota.171.2025.03.04" + DATE,
     "mail-ot1-x32e.google.com", "2607:f8b0:4864:20::32e", "mail-ot1-x32e.google.com",
     "mx.google.com"),
    # Sendmail
    ("from helo.example (rev.example.net [192.0.2.1] (may be forged))\n\tby mx.example.net "
     "(8.15.2/8.15.2) with ESMTP id 52AANk" + DATE,
     "helo.example", "192.0.2.1", "rev.example.net", "mx.example.net"),
    ("from helo.example (IDENT:root@Rev.Example.NET [192.0.2.1]) by mx.example.net "
     "(8.12.11/8.12.11)" + DATE, "helo.example", "192.0.2.1", "rev.example.net",
     "mx.example.net"),
    ("from laptop (user@dsl.example.net [192.0.2.77]) (authenticated bits=0) by "
     "smtp.example.net" + DATE, "laptop", "192.0.2.77", "dsl.example.net", "smtp.example.net"),
    # Exim
    ("from [192.0.2.1] (helo=foo.example)\n\tby mx.example.net with esmtp (Exim 4.96)\n\t"
     "(envelope-from <a@foo.example>)\n\tid 1tpQxk-000Abc-0J" + DATE,
     "foo.example", "192.0.2.1", None, "mx.example.net"),
    ("from host.example ([192.0.2.1] helo=foo) by mx.example.net with esmtps" + DATE,
     "foo", "192.0.2.1", "host.example", "mx.example.net"),
    ("from host.example ([192.0.2.1]:51234 helo=foo.example) by mx.example.net" + DATE,
     "foo.example", "192.0.2.1", "host.example", "mx.example.net"),
    ("from host.example ([2001:db8::5]:51234) by mx.example.net" + DATE,
     "host.example", "2001:db8::5", None, "mx.example.net"),
    ("from ignored.example (rev.example [192.0.2.1] helo=foo.example) by mx.example.net" + DATE,
     "foo.example", "192.0.2.1", "rev.example", "mx.example.net"),
    ("from [192.0.2.1] (port=4433 helo=[10.1.1.1]) by mx.example.net" + DATE,
     "[10.1.1.1]", "192.0.2.1", None, "mx.example.net"),
    # Exchange
    ("from EX1.corp.example (10.0.0.1) by EX2.corp.example (10.0.0.2) with Microsoft SMTP "
     "Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.1.2507.39"
     + DATE, "EX1.corp.example", "10.0.0.1", None, "EX2.corp.example"),
    ("from BN6PR11MB1234.namprd11.prod.outlook.com (2603:10b6:404:10f::12) by "
     "SN6PR11MB5678.namprd11.prod.outlook.com with HTTPS" + DATE,
     "BN6PR11MB1234.namprd11.prod.outlook.com", "2603:10b6:404:10f::12", None,
     "SN6PR11MB5678.namprd11.prod.outlook.com"),
    # qmail
    ("from unknown (HELO foo) (192.0.2.1) by mail.example.net with SMTP" + DATE,
     "foo", "192.0.2.1", None, "mail.example.net"),
    ("from mx.example.org (HELO mail.example.org) (postfix@192.0.2.3) by qmail.example.net"
     + DATE, "mail.example.org", "192.0.2.3", "mx.example.org", "qmail.example.net"),
    ("from mx.example.org (192.0.2.3) by qmail.example.net with SMTP" + DATE,
     "mx.example.org", "192.0.2.3", None, "qmail.example.net"),
    # Yahoo: the address where the HELO name would be, EHLO in a comment
    ("from 192.0.2.1 (EHLO mail.example.org) (192.0.2.1) by mta1.mail.example.com with SMTP"
     + DATE, "mail.example.org", "192.0.2.1", None, "mta1.mail.example.com"),
    # OpenSMTPD without a reverse name
    ("from helo.example (<unknown> [192.0.2.44]) by mx.example.net (OpenSMTPD) with ESMTPS "
     "id 8f7d4c2a" + DATE, "helo.example", "192.0.2.44", None, "mx.example.net"),
    # IPv4-mapped IPv6 is IPv4
    ("from a.example (a.example [IPv6:::ffff:192.0.2.9]) by b.example" + DATE,
     "a.example", "192.0.2.9", "a.example", "b.example"),
    # local submission: no address at all
    ("from localhost by host.example with local (Exim 4.96) id 1tp" + DATE,
     "localhost", None, None, "host.example"),
    # upper case keywords, a by name with a trailing dot
    ("FROM a.example (b.example [192.0.2.2]) BY c.example. WITH SMTP" + DATE,
     "a.example", "192.0.2.2", "b.example", "c.example"),
    # a quoted-pair and nested comments in the TCP-info comment
    (r"from a.example (b.example [192.0.2.2] (x \(y) (z (deep))) by c.example" + DATE,
     "a.example", "192.0.2.2", "b.example", "c.example"),
    # a comment before "from"
    ("(comment) from a.example ([192.0.2.3]) by c.example" + DATE,
     "a.example", "192.0.2.3", None, "c.example"),
    # no by clause at all
    ("from a.example (b.example [192.0.2.2])" + DATE, "a.example", "192.0.2.2", "b.example",
     None),
]


@pytest.mark.parametrize(("value", "helo", "ip", "reverse", "by"), SHAPES,
                         ids=[f"shape{i}" for i in range(len(SHAPES))])
def test_real_shapes(value: str, helo: str | None, ip: str | None, reverse: str | None,
                     by: str | None) -> None:
    got = parse_received(value)
    assert (got.helo, got.ip, got.reverse_name, got.by) == (helo, ip, reverse, by)


def test_the_field_is_the_unfolded_value() -> None:
    got = parse_received("Received: from a.example (b.example [192.0.2.2])\r\n\tby c.example"
                         "\r\n\twith SMTP; date\r\n")
    assert got.field == "from a.example (b.example [192.0.2.2])\tby c.example\twith SMTP; date"
    assert got.ip == "192.0.2.2"


def test_the_field_name_is_skipped_in_any_case() -> None:
    assert parse_received("received :from a.example ([192.0.2.5]) by b").ip == "192.0.2.5"


def test_bytes_are_read_as_utf8() -> None:
    got = parse_received("from bücher.example (unknown [192.0.2.1]) by x".encode())
    assert got.helo == "bücher.example"
    got = parse_received(b"from \xff\xfe.example (unknown [192.0.2.1]) by x")
    assert got.ip == "192.0.2.1" and got.helo == "\ufffd\ufffd.example"


def test_the_first_address_in_the_from_clause_wins() -> None:
    got = parse_received("from a (b [192.0.2.1]) (c [192.0.2.2]) by x (192.0.2.3)")
    assert got.ip == "192.0.2.1"


def test_an_address_after_the_from_clause_is_not_the_client() -> None:
    # Exchange writes the receiving host's address in the by clause.
    got = parse_received("from EX1.corp.example by EX2.corp.example (10.0.0.2) with SMTP")
    assert got.ip is None and got.helo == "EX1.corp.example"


def test_a_helo_literal_is_not_the_address() -> None:
    got = parse_received("from host.example ([192.0.2.1] helo=[10.9.9.9]) by x")
    assert got.ip == "192.0.2.1" and got.helo == "[10.9.9.9]"


def test_a_reverse_name_that_is_not_a_host_name_is_left_out() -> None:
    long_name = ".".join(["a" * 63] * 4)  # 255 octets: over 253
    for reverse in (long_name, "under_score..example", "192.0.2.1.5", "a" * 64 + ".example"):
        got = parse_received(f"from helo.example ({reverse} [192.0.2.1]) by x")
        assert got.reverse_name is None and got.ip == "192.0.2.1"


@pytest.mark.parametrize("value", ["from a.example ([192.0.2.1]) by (comment only)",
                                   "from a.example ([192.0.2.1]) by with SMTP",
                                   "from a.example ([192.0.2.1]) by; date"])
def test_a_by_clause_without_a_name_gives_none(value: str) -> None:
    got = parse_received(value)
    assert got.by is None and got.ip == "192.0.2.1"


def test_only_the_first_tokens_of_the_from_clause_are_read() -> None:
    value = "from a.example " + "(x) " * 40 + "([192.0.2.1]) by b.example"
    got = parse_received(value)
    assert got.ip is None and got.helo == "a.example" and got.by is None


def test_a_bare_address_as_the_from_word_is_the_address_not_the_helo() -> None:
    got = parse_received("from 192.0.2.1 by x with SMTP")
    assert got.ip == "192.0.2.1" and got.helo is None


@pytest.mark.parametrize("literal", ["[192.0.2.256]", "[999.1.1.1]", "[fe80::1%eth0]",
                                     "[IPv6:192.0.2.1.5]", "[192.0.2.1", "[192.0.2.1]x",
                                     "[01.2.3.4]", "[]"])
def test_text_that_is_not_an_address_is_not_taken(literal: str) -> None:
    got = parse_received(f"from helo.example (rev.example {literal}) by x")
    assert got.ip is None
    assert got.helo == "helo.example"


@pytest.mark.parametrize("value", [
    "by mx.example.net with LMTP id abc" + DATE,          # Dovecot, Cyrus local delivery
    "(qmail 12345 invoked by uid 89)" + DATE,
    "(qmail 12345 invoked from network)" + DATE,
    "by 2002:a05:6a10:a1cb:b0:5e4:3f5a:1b3c with SMTP id x" + DATE,  # Gmail internal
    "(from a.example [192.0.2.1]) by x",                  # "from" only inside a comment
    "; from a.example (b [192.0.2.1])",                   # "from" after the date
    "", "   ", "\r\n ", "from", "from ; date", "from by x", "from (no address here) by x",
    "from \x00\x01 by x",
])
def test_no_usable_from_clause_is_a_parse_error(value: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_received(value)
    assert info.value.rfc == "RFC 5321 §4.4"


@pytest.mark.parametrize("bad", [None, 42, ["from a"], ipaddress.IPv4Address("192.0.2.1")])
def test_a_value_of_the_wrong_type_is_an_argument_type_error(bad: Any) -> None:
    with pytest.raises(ArgumentTypeError):
        parse_received(bad)


MEGABYTE = 1 << 20


HOSTILE = {
    "unterminated comment": "from a.example (" + "x" * MEGABYTE,
    "deep nesting": "from " + "(" * MEGABYTE,
    "stray closers": "from " + ")" * MEGABYTE,
    "many words": "from a.example " + "word " * (MEGABYTE // 5),
    "many quotes": "from a.example " + '"' * MEGABYTE,
    "backslashes": "from a.example (" + "\\" * MEGABYTE,
    "open brackets": "from a.example " + "[1" * MEGABYTE,
    "address-like words": "from a.example (" + "1.2 " * (MEGABYTE // 4),
    "folds": "from a.example" + "\r\n " * (MEGABYTE // 3),
    "one long word": "from " + "x" * MEGABYTE + " by y",
    "NULs": "\x00" * MEGABYTE,
    "8-bit after the date": "from a.example (b.example [192.0.2.1]) by c.example; "
                            + "\xff" * MEGABYTE,
}


@pytest.mark.parametrize("value", list(HOSTILE.values()), ids=list(HOSTILE))
def test_a_megabyte_of_hostile_text_gives_a_result_or_a_parse_error(value: str) -> None:
    try:
        got = parse_received(value)
    except ParseError:
        return
    assert got.helo is None or len(got.helo) <= 255
    assert got.ip in (None, "192.0.2.1")


def test_a_megabyte_field_keeps_its_client() -> None:
    value = "from a.example (b.example [192.0.2.1]) by c.example; " + "x" * MEGABYTE
    got = parse_received(value.encode() + b"\x00\xff")
    assert (got.helo, got.ip, got.by) == ("a.example", "192.0.2.1", "c.example")


# --- properties ---------------------------------------------------------------------------

@settings(max_examples=500, deadline=None)
@given(st.text())
def test_parse_received_raises_only_parse_error_on_any_text(value: str) -> None:
    try:
        got = parse_received(value)
    except ParseError:
        return
    assert got.helo is not None or got.ip is not None or got.reverse_name is not None
    if got.ip is not None:
        assert str(parse_ip(got.ip)) == got.ip


_MAIL_ALPHABET = st.sampled_from(list("from by ()[]\\\";:=@.-_ \r\n\tHELOhelo19:2fIPv6x\x00é"))


@settings(max_examples=500, deadline=None)
@given(st.lists(_MAIL_ALPHABET, max_size=120).map("".join).map(lambda s: "from " + s))
def test_parse_received_raises_only_parse_error_on_mail_like_text(value: str) -> None:
    try:
        got = parse_received(value)
    except ParseError:
        return
    assert isinstance(got, ReceivedFrom)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_parse_received_raises_only_parse_error_on_any_bytes(value: bytes) -> None:
    try:
        got = parse_received(b"from " + value)
    except ParseError:
        return
    assert got.field == got.field.strip()
    assert got.ip is None or str(parse_ip(got.ip)) == got.ip


_LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
_NAME = st.lists(_LABEL, min_size=1, max_size=4).map(".".join).map(lambda n: n + ".example")
_IP = st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)).filter(
    lambda ip: not (ip.version == 6 and ip.ipv4_mapped is not None)).map(str)


def _literal(ip: str) -> str:
    return f"[IPv6:{ip}]" if ":" in ip else f"[{ip}]"


@settings(max_examples=100, deadline=None)
@given(helo=_NAME, ip=_IP, reverse=st.one_of(st.none(), _NAME), by=_NAME)
def test_postfix_fields_read_back(helo: str, ip: str, reverse: str | None, by: str) -> None:
    value = (f"from {helo} ({reverse or 'unknown'} {_literal(ip)})\r\n\tby {by} (Postfix) "
             f"with ESMTPS id 4Z{DATE}")
    got = parse_received(value)
    assert (got.helo, got.ip, got.reverse_name, got.by) == (helo, ip, reverse, by)


@settings(max_examples=100, deadline=None)
@given(helo=_NAME, ip=_IP, host=st.one_of(st.none(), _NAME), port=st.integers(1, 65535))
def test_exim_fields_read_back(helo: str, ip: str, host: str | None, port: int) -> None:
    if host is None:
        value = f"from [{ip}]:{port} (helo={helo}) by mx.example with esmtp{DATE}"
    else:
        value = f"from {host} ([{ip}]:{port} helo={helo}) by mx.example with esmtp{DATE}"
    got = parse_received(value)
    assert (got.helo, got.ip, got.reverse_name) == (helo, ip, host)


# --- envelope_from_headers -------------------------------------------------------------------

def message(*fields: str) -> bytes:
    return ("\r\n".join(fields) + "\r\n\r\nbody\r\n").encode()


def envelope(*fields: str) -> Envelope:
    return envelope_from_headers(parse_message(message(*fields)))


TOP = ("Received: from out.example.org (out.example.org [198.51.100.7])\r\n\tby "
       "mx.example.net (Postfix) with ESMTPS id ABC" + DATE)
LOWER = ("Received: from laptop (dsl.example.org [203.0.113.5])\r\n\tby out.example.org "
         "(Postfix) with ESMTPSA id DEF" + DATE)


def test_the_envelope_comes_from_the_topmost_fields() -> None:
    env = envelope("Return-Path: <alice@example.org>", TOP, LOWER,
                   "Return-Path: <other@example.net>", "From: alice@example.org")
    assert (env.ip, env.helo, env.mail_from) == ("198.51.100.7", "out.example.org",
                                                 "alice@example.org")
    assert env.source == ("Received", "Return-Path")
    assert env.received is not None and env.received.by == "mx.example.net"


def test_an_unusable_topmost_received_field_is_not_passed_over() -> None:
    # Below it is another system's account, not the receiving MTA's.
    env = envelope("Received: by mx.example.net with LMTP id x" + DATE, TOP, LOWER)
    assert (env.ip, env.helo, env.received) == (None, None, None)
    assert env.source == ()


def test_no_fields_give_nothing() -> None:
    env = envelope("From: a@example.org", "Subject: hi")
    assert env == Envelope(ip=None, helo=None, mail_from=None, source=(), received=None)


@pytest.mark.parametrize(("value", "expected"), [
    ("<bob@example.org>", "bob@example.org"),
    ("  <bob@example.org>  ", "bob@example.org"),
    ("<>", ""),                                   # RFC 5321 §4.5.5 null reverse-path
    ("< >", ""),
    ("<\r\n >", ""),
    ("bob@example.org", "bob@example.org"),
    ("<bob@example.org> (via relay)", "bob@example.org"),
    ("<@relay.example,@hop.example:bob@example.org>", "bob@example.org"),
    ('<"odd>name"@example.org>', '"odd>name"@example.org'),
    ('<"two words"@example.org>', '"two words"@example.org'),
    ("<MAILER-DAEMON>", "MAILER-DAEMON"),
    ('<"a\\"b>"@example.org>', '"a\\"b>"@example.org'),
    ("", None),
    ("<bob@example.org", None),
    ("<@relay.example>", None),
    ("two words@example.org", None),
    ("<bob\x00@example.org>", None),
])
def test_return_path(value: str, expected: str | None) -> None:
    env = envelope(f"Return-Path: {value}", "Subject: x")
    assert env.mail_from == expected
    assert env.source == (() if expected is None else ("Return-Path",))


def test_a_received_field_with_only_a_helo_still_counts() -> None:
    env = envelope("Received: from localhost by host.example with local" + DATE)
    assert (env.ip, env.helo, env.source) == (None, "localhost", ("Received",))


def test_a_received_field_with_only_a_reverse_name_gives_no_envelope_values() -> None:
    env = envelope("Received: from rev.example (HELO \x01) by x" + DATE)
    assert env.received is not None and env.received.reverse_name == "rev.example"
    assert (env.ip, env.helo, env.source) == (None, None, ())


def test_eight_bit_and_nul_bytes_in_the_header_give_no_exception() -> None:
    data = (b"Received: from \xff\x00 (\x80 [192.0.2.1]) by x; date\r\n"
            b"Return-Path: <\xffbob@example.org>\r\n\r\n")
    env = envelope_from_headers(parse_message(data))
    assert env.ip == "192.0.2.1"
    assert env.mail_from == "\ufffdbob@example.org"


def test_envelope_from_headers_takes_a_parsed_message() -> None:
    with pytest.raises(ArgumentTypeError):
        envelope_from_headers(message(TOP))  # type: ignore[arg-type]
