"""DKIM (RFC 6376, 8301, 8463): canonicalization, parsing, verification, signing.

Each test names the RFC rule or the CASES.md item it checks.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
from functools import cache
from pathlib import Path
from typing import Any

import dkim as dkimpy
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

import mailauth
from conftest import OWN_VECTORS, PrettyPrinter, shared_vector, unseekable
from mailauth import SigningError, Status
from mailauth._headerfmt import quote_pvalue
from mailauth.dkim import (
    DKIMSyntaxError,
    canonicalize_body,
    canonicalize_header,
    generate_key,
    parse_key_record,
    parse_signature,
    sign_dkim,
    verify_dkim,
)
from mailauth.dkim._hashing import hash_bodies
from mailauth.flows import Query, Work
from mailauth.testing import FakeResolver

RFC8463 = OWN_VECTORS / "dkim" / "rfc8463"
T0 = 1_700_000_000
MSG = (b"From: Joe <joe@example.org>\r\nTo: Suzie <suzie@example.net>\r\n"
       b"Subject: Is dinner ready?\r\nDate: Fri, 11 Jul 2003 21:00:37 -0700\r\n"
       b"Message-ID: <1@example.org>\r\n\r\nHi.\r\n\r\nWe lost the game.  Are you hungry?\r\n")


@cache
def key(kind: str = "rsa", bits: int = 2048) -> mailauth.dkim.GeneratedKey:
    return generate_key(kind, bits=bits)  # type: ignore[arg-type]


def resolver_for(*entries: tuple[str, str, object], **kw: object) -> FakeResolver:
    records: dict[str, dict[str, list[object]]] = {}
    for selector, domain, value in entries:
        records.setdefault(f"{selector}._domainkey.{domain}", {"TXT": []})["TXT"].append(value)
    return FakeResolver(records, **kw)  # type: ignore[arg-type]


def signed(kind: str = "rsa", message: bytes = MSG, **kw: Any) -> tuple[bytes, FakeResolver]:
    k = key(kind)
    kw.setdefault("timestamp", T0)
    header = sign_dkim(message, domain="example.org", selector="s1", key=k.private_key_pem, **kw)
    return header + message, resolver_for(("s1", "example.org", list(k.txt_strings)))


def verify(message: bytes, resolver: FakeResolver, **kw: object) -> mailauth.DKIMResult:
    kw.setdefault("now", T0 + 10)
    return verify_dkim(message, **kw).run(resolver)  # type: ignore[arg-type]


# --- RFC vectors ------------------------------------------------------------------------

def rfc8463_keys() -> tuple[ed25519.Ed25519PrivateKey, bytes]:
    seed = base64.b64decode((RFC8463 / "ed25519-secret.b64").read_text())
    return ed25519.Ed25519PrivateKey.from_private_bytes(seed), \
        (RFC8463 / "rsa-private.pem").read_bytes()


def test_rfc8463_appendix_a_both_signatures_verify() -> None:
    message = (RFC8463 / "signed.eml").read_bytes()
    resolver = FakeResolver.from_zone((RFC8463 / "keys.zone").read_text())
    result = verify_dkim(message, now=1528637909).run(resolver)
    assert result.status is Status.PASS
    assert [(s.status, s.algorithm, s.selector) for s in result.signatures] == [
        (Status.PASS, "ed25519-sha256", "brisbane"), (Status.PASS, "rsa-sha256", "test")]
    for s in result.signatures:
        assert s.body_hash_computed == "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8="
        assert s.body_hash_matches
    assert result.signatures[0].key_bits == 256
    assert result.signatures[1].key_bits == 1024


def test_rfc8463_public_keys_match_the_secret_keys() -> None:
    ed, rsa_pem = rfc8463_keys()
    zone = (RFC8463 / "keys.zone").read_text()
    raw = ed.public_key().public_bytes_raw()
    assert base64.b64encode(raw).decode() in zone
    assert mailauth.dkim._key.public_key_record_value(
        mailauth.dkim._key.load_private_key(rsa_pem).public_key())[1] in zone


@pytest.mark.parametrize("index, selector", [(0, "brisbane"), (1, "test")])
def test_rfc8463_our_signer_reproduces_the_signature_bytes(index: int, selector: str) -> None:
    message = (RFC8463 / "signed.eml").read_bytes()
    unsigned = message[message.index(b"From: Joe"):]
    ed, rsa_pem = rfc8463_keys()
    header = sign_dkim(unsigned, domain="football.example.com", selector=selector,
                       key=ed if index == 0 else rsa_pem, identity="@football.example.com",
                       query_method=True, timestamp=1528637909,
                       headers=["from", "to", "subject", "date", "message-id"],
                       oversign=["from", "subject", "date"], header_list_separator=" : ")
    fields = mailauth._message.parse_message(message).get_all("DKIM-Signature")
    theirs = parse_signature(fields[index].value)
    ours = parse_signature(header.split(b":", 1)[1])
    assert ours.signature == theirs.signature
    assert ours.body_hash == theirs.body_hash
    assert ours.headers == theirs.headers


def test_rfc6376_3_4_5_canonicalization_examples() -> None:
    v = json.loads((OWN_VECTORS / "dkim" / "rfc6376-3.4.5.json").read_text())
    fields = mailauth._message.parse_message(v["header"].encode() + b"\r\n").headers
    for method in ("relaxed", "simple"):
        got = b"".join(canonicalize_header(f.data, method) for f in fields)
        assert got == v[method]["header"].encode(), method
        assert canonicalize_body(v["body"].encode(), method) == v[method]["body"].encode()


# --- published vectors ------------------------------------------------------------------

def _stalwart_cases() -> list[str]:
    return [f"{i:03d}.txt" for i in range(1, 7)]


@pytest.mark.parametrize("name", _stalwart_cases())
def test_stalwart_dkim_vectors_pass(name: str) -> None:
    path = shared_vector("stalwart-mail-auth", "resources", "dkim", name)
    text = path.read_bytes()
    dns_part, _, message = text.partition(b"\n\n")
    records: dict[str, dict[str, list[object]]] = {}
    for line in dns_part.decode().splitlines():
        owner, _, value = line.partition(" ")
        records.setdefault(owner, {"TXT": []})["TXT"].append(value)
    message = message.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    # Upstream verifies at 1667843664 and does not look at future t=; 004 is dated
    # five hours after that, so a day of clock skew is allowed here.
    result = verify_dkim(message, now=1667843664, clock_skew=86400).run(
        FakeResolver(records))
    # Upstream expects the last signature to pass (SOURCE.md); we check every one.
    assert result.signatures, name
    assert result.signatures[-1].status is Status.PASS, result.signatures[-1].reason


# --- canonicalization (§3.4) --------------------------------------------------------------

@pytest.mark.parametrize("body, simple, relaxed", [
    (b"", b"\r\n", b""),                                       # CASES 30: empty body
    (b"\r\n\r\n\r\n", b"\r\n", b""),                           # only empty lines
    (b"abc", b"abc\r\n", b"abc\r\n"),                          # no final CRLF
    (b"a \r\n \t \r\n\r\n", b"a \r\n \t \r\n", b"a\r\n"),      # whitespace-only lines
    (b"x\r\r\n\r\n", b"x\r\r\n", b"x\r\r\n"),                  # a bare CR is content
    (b"a\t\tb  c \r\nd", b"a\t\tb  c \r\nd\r\n", b"a b c\r\nd\r\n"),
])
def test_body_canonicalization(body: bytes, simple: bytes, relaxed: bytes) -> None:
    assert canonicalize_body(body, "simple") == simple
    assert canonicalize_body(body, "relaxed") == relaxed


def test_empty_body_hashes_are_the_well_known_values() -> None:
    # CASES 30: the sha256 of "\r\n" and of "".
    import hashlib
    simple = base64.b64encode(hashlib.sha256(canonicalize_body(b"", "simple")).digest())
    relaxed = base64.b64encode(hashlib.sha256(canonicalize_body(b"", "relaxed")).digest())
    assert simple == b"frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY="
    assert relaxed == b"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="


def test_relaxed_header_whitespace_around_colon_tabs_and_folding() -> None:
    # CASES 29
    data = b"To :\t Suzie  Q\r\n\t<suzie@example.net>,\r\n  Joe <j@e.org>   \r\n"
    assert canonicalize_header(data, "relaxed") == \
        b"to:Suzie Q <suzie@example.net>, Joe <j@e.org>\r\n"
    assert canonicalize_header(data, "simple") == data


# --- signature parsing (§3.5) -------------------------------------------------------------

GOOD = ("v=1; a=rsa-sha256; d=example.org; s=s1; h=From:To; bh=" + "A" * 44 +
        "; b=" + "B" * 20)


def _sig(**changes: str | None) -> str:
    tags = dict(t.split("=", 1) for t in GOOD.split("; "))
    for k, v in changes.items():
        if v is None:
            tags.pop(k, None)
        else:
            tags[k] = v
    return "; ".join(f"{k}={v}" for k, v in tags.items())


def test_parse_defaults_and_folded_values() -> None:
    sig = parse_signature("v=1; a=rsa-sha256; d=Example.ORG; s=s1;\r\n h=From :\r\n\tto;"
                          " bh=" + "A" * 40 + "\r\n AAAA; b=BB\r\n BB")
    assert sig.canonicalization == "simple/simple"       # CASES 28: no c=
    assert sig.domain == "example.org"
    assert sig.headers == ("from", "to")                  # CASES 26: mixed case
    assert sig.identity == "@example.org"
    assert sig.signature == base64.b64decode("BBBB")
    assert parse_signature(_sig(c="relaxed")).canonicalization == "relaxed/simple"


@pytest.mark.parametrize("changes, code", [
    ({"v": "2"}, "bad_version"),
    ({"v": None}, "missing_tag"),
    ({"a": "rsa-md5"}, "unsupported_algorithm"),
    ({"b": "!!!"}, "bad_base64"),
    ({"bh": None}, "missing_tag"),
    ({"c": "fancy/simple"}, "unsupported_canonicalization"),
    ({"d": "exa..mple"}, "bad_domain"),
    ({"h": "To:Subject"}, "from_not_signed"),              # CASES 27
    ({"h": "From::To"}, "bad_header_list"),
    ({"i": "joe@other.example"}, "identity_mismatch"),
    ({"i": "joe"}, "bad_identity"),
    ({"l": "12x"}, "bad_length"),
    ({"q": "http/well-known"}, "unsupported_query_method"),
    ({"s": "bad selector!"}, "bad_selector"),
    ({"t": "soon"}, "bad_timestamp"),
    ({"t": "200", "x": "100"}, "expiration_before_timestamp"),   # CASES 35
])
def test_parse_rejections(changes: dict[str, str | None], code: str) -> None:
    with pytest.raises(DKIMSyntaxError) as info:
        parse_signature(_sig(**changes))
    assert info.value.code == code
    assert isinstance(info.value, mailauth.ParseError)


def test_parse_accepts_subdomain_identity_and_x_after_t() -> None:
    sig = parse_signature(_sig(i="joe@mail.example.org", t="100", x="101", l="10"))
    assert sig.identity == "joe@mail.example.org"
    assert (sig.timestamp, sig.expiration, sig.length) == (100, 101, 10)
    # §3.5: x= MUST be greater than t=; equal is not
    with pytest.raises(DKIMSyntaxError) as info:
        parse_signature(_sig(t="100", x="100"))
    assert info.value.code == "expiration_before_timestamp"


def test_duplicate_tag_is_a_syntax_error() -> None:
    with pytest.raises(DKIMSyntaxError):
        parse_signature(GOOD + "; d=example.com")


# --- key records (§3.6.1) -----------------------------------------------------------------

def test_key_record_rules() -> None:
    k = parse_key_record("v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=")
    assert k.key_type == "ed25519" and len(k.public_key) == 32
    assert parse_key_record("v=DKIM1; p=").revoked
    assert parse_key_record("p=AAAA; t=y:s").testing
    assert parse_key_record("p=AAAA; t=y:s").strict_identity
    assert parse_key_record("p=AAA").public_key == base64.b64decode("AAA=")  # no padding
    assert parse_key_record("p=AA AA\t AA").public_key == base64.b64decode("AAAAAA==")
    for bad, code in [("k=rsa", "key_syntax"), ("p=AAAA; v=DKIM1", "key_syntax"),
                      ("v=DKIM2; p=AAAA", "key_syntax"), ("k=dsa; p=AAAA", "unsupported_key_type")]:
        with pytest.raises(DKIMSyntaxError) as info:
            parse_key_record(bad)
        assert info.value.code == code, bad


# --- verification -------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["rsa", "ed25519"])
@pytest.mark.parametrize("canon", ["simple/simple", "simple/relaxed", "relaxed/simple",
                                   "relaxed/relaxed"])
def test_sign_then_verify(kind: str, canon: str) -> None:
    message, resolver = signed(kind, canonicalization=canon)
    result = verify(message, resolver)
    assert result.status is Status.PASS, result.reason
    s = result.signatures[0]
    assert (s.code, s.canonicalization, s.domain, s.selector) == ("ok", canon, "example.org", "s1")
    assert s.body_hash_expected == s.body_hash_computed
    assert s.key_bits == (2048 if kind == "rsa" else 256)
    assert s.authentic is False
    assert "from" in s.headers_signed


def test_key_split_over_strings_with_spaces_and_no_padding() -> None:
    # CASES 22
    message, _ = signed("ed25519")
    p = key("ed25519").txt_value.split("p=")[1].rstrip("=")
    spaced = "v=DKIM1; k=ed25519; p=" + " ".join(p[i:i + 7] for i in range(0, len(p), 7))
    resolver = resolver_for(("s1", "example.org", [spaced[:30], spaced[30:]]))
    assert verify(message, resolver).status is Status.PASS


def test_authentic_key_record_is_reported() -> None:
    message, _ = signed("ed25519")
    resolver = resolver_for(("s1", "example.org", key("ed25519").txt_value),
                            authentic=["s1._domainkey.example.org"])
    assert verify(message, resolver).signatures[0].authentic is True


def test_body_change_is_a_body_hash_failure_with_both_hashes() -> None:
    message, resolver = signed()
    result = verify(message.replace(b"We lost", b"We won"), resolver)
    s = result.signatures[0]
    assert (result.status, s.code) == (Status.FAIL, "body_hash_mismatch")
    assert s.body_hash_expected != s.body_hash_computed
    assert s.body_hash_expected is not None and s.body_hash_computed is not None
    assert s.body_hash_expected in s.reason and s.body_hash_computed in s.reason


def test_header_change_is_a_signature_failure() -> None:
    message, resolver = signed()
    result = verify(message.replace(b"Is dinner", b"Is lunch"), resolver)
    assert (result.status, result.signatures[0].code) == (Status.FAIL, "signature_mismatch")
    assert result.signatures[0].body_hash_matches


def test_missing_revoked_and_tempfail_keys() -> None:
    message, _ = signed()
    r = verify(message, FakeResolver({}))
    assert (r.status, r.signatures[0].code) == (Status.PERMERROR, "key_not_found")
    r = verify(message, resolver_for(("s1", "example.org", "v=DKIM1; p=")))
    assert (r.status, r.signatures[0].code) == (Status.PERMERROR, "key_revoked")   # CASES 23
    r = verify(message, FakeResolver(tempfail=["s1._domainkey.example.org"]))
    assert (r.status, r.signatures[0].code) == (Status.TEMPERROR, "dns_error")
    r = verify(message, resolver_for(("s1", "example.org", "v=DKIM1; p=%%%")))
    assert (r.status, r.signatures[0].code) == (Status.PERMERROR, "bad_base64")
    r = verify(message, resolver_for(("s1", "example.org", "v=DKIM1; p=AAAA")))
    assert (r.status, r.signatures[0].code) == (Status.PERMERROR, "key_syntax")
    r = verify(message, resolver_for(("s1", "example.org", key("ed25519").txt_value)))
    assert (r.status, r.signatures[0].code) == (Status.PERMERROR, "key_type_mismatch")


def test_key_record_through_cname() -> None:
    # CASES 36
    message, _ = signed("ed25519")
    resolver = FakeResolver({"s1._domainkey.example.org": {"CNAME": ["k.keys.example.net"]},
                             "k.keys.example.net": {"TXT": [key("ed25519").txt_value]}})
    assert verify(message, resolver).status is Status.PASS


def test_several_key_records_are_tried_in_a_deterministic_order() -> None:
    # CASES 37
    message, _ = signed("ed25519")
    good = key("ed25519").txt_value
    other = generate_key("ed25519").txt_value
    for order in ([good, other], [other, good]):
        r = verify(message, resolver_for(*[("s1", "example.org", v) for v in order]))
        assert r.status is Status.PASS
        assert any("2 TXT records" in w for w in r.signatures[0].warnings)


def test_testing_and_strict_key_flags() -> None:
    # CASES 24
    k = key("ed25519")
    message, _ = signed("ed25519")
    r = verify(message, resolver_for(("s1", "example.org", k.txt_value + "; t=y")))
    assert r.status is Status.PASS and r.signatures[0].testing
    sub, _ = signed("ed25519", identity="joe@mail.example.org")
    r = verify(sub, resolver_for(("s1", "example.org", k.txt_value + "; t=s")))
    assert (r.status, r.signatures[0].code) == (Status.FAIL, "key_strict_identity")
    assert verify(sub, resolver_for(("s1", "example.org", k.txt_value))).status is Status.PASS


def test_dual_signed_message_where_only_one_passes() -> None:
    # CASES 25
    k_ed, k_rsa = key("ed25519"), key("rsa")
    h1 = sign_dkim(MSG, domain="example.org", selector="ed", key=k_ed.private_key_pem)
    h2 = sign_dkim(MSG, domain="example.org", selector="rsa", key=k_rsa.private_key_pem)
    resolver = resolver_for(("ed", "example.org", k_ed.txt_value),
                            ("rsa", "example.org", "v=DKIM1; p="))
    r = verify(h2 + h1 + MSG, resolver)
    assert r.status is Status.PASS
    assert [s.status for s in r.signatures] == [Status.PERMERROR, Status.PASS]
    # Both key lookups were asked in one go (the sync driver asks them in order).
    assert {q.name for q in resolver.queries} == {"ed._domainkey.example.org",
                                                  "rsa._domainkey.example.org"}


def test_key_lookups_of_several_signatures_are_yielded_together() -> None:
    k = key("ed25519")
    headers = [sign_dkim(MSG, domain=d, selector="s", key=k.private_key_pem)
               for d in ("a.example", "b.example", "c.example")]
    flow = verify_dkim(b"".join(headers) + MSG, now=T0).flow()
    effect = next(flow)
    # The three key queries, and the body hash work that runs while they are answered.
    assert isinstance(effect, tuple) and len(effect) == 4
    assert [q.name for q in effect[:3] if isinstance(q, Query)] == \
        [f"s._domainkey.{d}.example" for d in "abc"]
    assert isinstance(effect[3], Work)
    digests = effect[3]()   # hash_bodies, whose exception would be returned for the flow
    assert digests == hash_bodies(*effect[3].args)


def test_oversigned_from_missing_instance_contributes_nothing() -> None:
    # CASES 26: h= lists From twice, one From present: the second selects nothing
    # (RFC 6376 §5.4.2: a nonexistent field is the null string), and still passes.
    message, resolver = signed()
    sig = parse_signature(message.split(b"\r\nFrom:", 1)[0].split(b":", 1)[1])
    assert sig.headers.count("from") == 2
    assert verify(message, resolver).status is Status.PASS
    added = message.replace(b"From: Joe", b"From: Mallory <m@evil.example>\r\nFrom: Joe")
    assert verify(added, resolver).status is Status.FAIL


def test_unsigned_duplicate_header_above_is_a_warning() -> None:
    # CASES 40
    message, resolver = signed(oversign=False)
    r = verify(b"Subject: Something else\r\n" + message, resolver)
    assert r.status is Status.PASS
    assert any("subject" in w for w in r.signatures[0].warnings)


def test_body_length_tag() -> None:
    # CASES 32
    message, resolver = signed(body_length=True)
    extended = message + b"Appended by a list.\r\n"
    r = verify(extended, resolver)
    assert r.status is Status.PASS
    assert r.signatures[0].body_bytes_unsigned == len(b"Appended by a list.\r\n")
    assert r.signatures[0].warnings
    # l= longer than the body it arrives with (the end was cut off): a failure
    cut = message[:message.rindex(b"\r\n", 0, len(message) - 2) + 2]
    r = verify(cut, resolver)
    assert (r.status, r.signatures[0].code) == (Status.FAIL, "body_length_exceeds")
    with pytest.raises(ValueError, match="longer than the canonical body"):
        signed(body_length=5000)  # the signer never claims octets it did not sign


def test_time_checks_use_the_injected_clock() -> None:
    # CASES 35
    message, resolver = signed("ed25519", timestamp=T0, expiration=T0 + 3600)
    assert verify(message, resolver, now=T0 + 60).status is Status.PASS
    r = verify(message, resolver, now=T0 + 7200)
    assert (r.status, r.signatures[0].code) == (Status.FAIL, "signature_expired")
    r = verify(message, resolver, now=lambda: T0 + 3600 + 200)   # inside the skew
    assert r.status is Status.PASS
    r = verify(message, resolver, now=T0 - 86400)
    assert (r.status, r.signatures[0].code) == (Status.NEUTRAL, "timestamp_in_future")


def test_rsa_sha1_and_short_keys_are_not_a_pass() -> None:
    # CASES 38, RFC 8301
    _, rsa_pem = rfc8463_keys()
    zone = FakeResolver.from_zone((RFC8463 / "keys.zone").read_text())
    header = dkimpy.sign(MSG.replace(b"example.org", b"football.example.com"), b"test",
                         b"football.example.com", rsa_pem, signature_algorithm=b"rsa-sha1",
                         include_headers=[b"from", b"subject"])
    message = header + MSG.replace(b"example.org", b"football.example.com")
    r = verify(message, zone, now=None)  # dkimpy stamps t= with the real clock
    assert (r.status, r.signatures[0].code) == (Status.POLICY, "rsa_sha1")
    assert verify(message, zone, now=None, allow_sha1=True).status is Status.PASS
    h256 = sign_dkim(MSG, domain="football.example.com", selector="test", key=rsa_pem)
    r = verify(h256 + MSG, zone, min_rsa_bits=2048)
    assert (r.status, r.signatures[0].code) == (Status.POLICY, "rsa_key_too_small")
    assert verify(h256 + MSG, zone).status is Status.PASS


def test_malformed_signature_is_a_permerror_value() -> None:
    message, resolver = signed()
    broken = b"DKIM-Signature: v=1; a=rsa-sha256; d=example.org\r\n" + message
    r = verify(broken, resolver)
    assert r.status is Status.PASS
    assert (r.signatures[0].status, r.signatures[0].code) == (Status.PERMERROR, "missing_tag")


def test_signature_cap() -> None:
    message, resolver = signed("ed25519")
    header = message.split(b"From: Joe")[0]
    r = verify(header * 4 + message, resolver, max_signatures=3)
    assert len(r.signatures) == 3 and r.ignored_signatures == 2


def test_no_signature_is_none() -> None:
    assert verify(MSG, FakeResolver({})).status is Status.NONE


def test_b_tag_stripping_keeps_other_values_containing_b_equals() -> None:
    # CASES 34: b= folded, not last, and z= that contains "b=".
    from mailauth.dkim._hashing import strip_b_value
    field = (b"DKIM-Signature: v=1; b=abc\r\n def; bh=xyz; z=Subject:a=20b=3D1;\r\n"
             b" d=example.org\r\n")
    assert strip_b_value(field) == (b"DKIM-Signature: v=1; b=; bh=xyz; z=Subject:a=20b=3D1;"
                                    b"\r\n d=example.org\r\n")


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"mixed"])
def test_lf_crlf_and_mixed_line_endings_verify_alike(ending: bytes) -> None:
    # CASES 31
    message, resolver = signed(canonicalization="simple/simple")
    if ending == b"mixed":
        lines = message.split(b"\r\n")
        other = b"\r\n".join(lines[: len(lines) // 2]) + b"\n" + b"\n".join(lines[len(lines) // 2:])
    else:
        other = message.replace(b"\r\n", ending)
    assert verify(other, resolver).status is Status.PASS


def test_eight_bit_header_and_utf8_identity() -> None:
    # CASES 33
    message = ("From: Jörg <jörg@example.org>\r\nSubject: Grüße\r\n\r\nbody\r\n").encode()
    out, resolver = signed("ed25519", message=message, identity="jörg@example.org")
    r = verify(out, resolver)
    assert r.status is Status.PASS and r.signatures[0].identity == "jörg@example.org"


def test_file_input_and_async_driver(tmp_path: Path) -> None:
    message, resolver = signed("ed25519")
    path = tmp_path / "m.eml"
    path.write_bytes(message)
    with path.open("rb") as f:
        check = verify_dkim(f, now=T0)
        assert check.run(resolver).status is Status.PASS
        assert check.run(resolver).status is Status.PASS   # a seekable file re-reads
        assert asyncio.run(check.arun(resolver)).status is Status.PASS
    with path.open("rb") as f:
        body_only = message[message.index(b"From: Joe"):]
        assert sign_dkim(io.BytesIO(body_only), domain="example.org", selector="s1",
                         key=key("ed25519").private_key_pem, timestamp=T0) == \
            message[:message.index(b"From: Joe")]


# --- signing ---------------------------------------------------------------------------

def test_signing_defaults() -> None:
    header = sign_dkim(MSG, domain="Example.ORG", selector="s1",
                       key=key("ed25519").private_key_pem)
    sig = parse_signature(header.split(b":", 1)[1])
    assert sig.algorithm == "ed25519-sha256" and sig.canonicalization == "relaxed/relaxed"
    assert sig.domain == "example.org" and sig.length is None and sig.timestamp is None
    assert sig.headers.count("from") == 2 and sig.headers.count("subject") == 2
    # absent fields of the oversign list are listed once, so none can be added
    assert sig.headers.count("cc") == 1 and sig.headers.count("reply-to") == 1
    assert header.startswith(b"DKIM-Signature: ") and header.endswith(b"\r\n")
    assert all(len(line) <= 78 for line in header.split(b"\r\n"))
    rsa = parse_signature(sign_dkim(MSG, domain="example.org", selector="s",
                                    key=key("rsa").private_key_pem).split(b":", 1)[1])
    assert rsa.algorithm == "rsa-sha256"


def test_signing_caller_mistakes() -> None:
    k = key("ed25519").private_key_pem
    with pytest.raises(SigningError):
        sign_dkim(b"Subject: x\r\n\r\nbody\r\n", domain="example.org", selector="s", key=k)
    with pytest.raises(SigningError):
        sign_dkim(MSG, domain="example.org", selector="s", key=b"not a key")
    with pytest.raises(SigningError):
        sign_dkim(MSG, domain="example.org", selector="s", key=k, algorithm="rsa-sha1")
    with pytest.raises(ValueError):
        sign_dkim(MSG, domain="example.org", selector="s;x=1", key=k)
    with pytest.raises(ValueError):
        sign_dkim(MSG, domain="example.org", selector="s", key=k, identity="a@evil.example")
    with pytest.raises(TypeError):
        sign_dkim("text", domain="example.org", selector="s", key=k)  # type: ignore[arg-type]


def test_generate_key_txt_strings() -> None:
    k = key("rsa")
    assert all(len(s) <= 255 for s in k.txt_strings) and len(k.txt_strings) > 1
    assert "".join(k.txt_strings) == k.txt_value
    assert k.zone_line("s1", "example.org").startswith(
        's1._domainkey.example.org. 3600 IN TXT "v=DKIM1; k=rsa; p=')
    assert FakeResolver.from_zone(k.zone_line("s1", "example.org")).answer(
        mailauth.Query("s1._domainkey.example.org", "TXT")).records == (k.txt_value,)
    with pytest.raises(ValueError):
        generate_key("rsa", bits=512)
    with pytest.raises(ValueError):
        generate_key("dsa")  # type: ignore[arg-type]


def test_public_names() -> None:
    assert mailauth.verify_dkim is verify_dkim and mailauth.sign_dkim is sign_dkim
    assert mailauth.DKIMResult is mailauth.dkim.DKIMResult
    for name in mailauth.dkim.__all__:
        assert getattr(mailauth.dkim, name) is not None
    import dataclasses
    r = mailauth.dkim.SignatureResult(Status.PASS, "ok", "x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.status = Status.FAIL  # type: ignore[misc]
    assert not hasattr(r, "__dict__")


@pytest.mark.parametrize("canon", ["simple/simple", "relaxed/relaxed"])
def test_appended_footer_is_diagnosed(canon: str) -> None:
    """CASES 41: a list footer added after signing leaves a signed prefix."""
    message, resolver = signed(canonicalization=canon)
    footer = b"--\r\nTo unsubscribe, write to list-request@example.org\r\n"
    result = verify(message + footer, resolver)
    s = result.signatures[0]
    assert (result.status, s.code) == (Status.FAIL, "body_hash_mismatch")
    assert s.body_bytes_appended == len(footer)
    assert f"{len(footer)} octets were appended" in s.reason
    # an edit inside the body is not reported as an append
    inner = verify(message.replace(b"We lost", b"We won") + footer, resolver)
    assert inner.signatures[0].body_bytes_appended is None


def test_dot_stuffed_smtp_data_is_named() -> None:
    """CASES 31: SMTP DATA saved with its dot-stuffing fails, and the result says why."""
    body_with_dots = MSG.replace(b"\r\n\r\n", b"\r\n\r\n.leading dot line\r\n", 1)
    message, resolver = signed(message=body_with_dots)
    stuffed = message.replace(b"\r\n.leading", b"\r\n..leading")
    s = verify(stuffed, resolver).signatures[0]
    assert s.code == "body_hash_mismatch"
    assert "dot-stuffed" in s.reason
    assert verify(message, resolver).status is Status.PASS


def test_fields_added_after_signing_break_the_default_signature() -> None:
    """Oversigning covers fields the message did not have (RFC 6376 §5.4.2, §8.15)."""
    message, resolver = signed()
    assert b"\r\nReply-To:" not in message and b"\r\nCc:" not in message
    for added in (b"Reply-To: evil@attacker.example\r\n", b"Cc: someone@example.net\r\n"):
        tampered = added + message
        r = verify(tampered, resolver)
        assert (r.status, r.signatures[0].code) == (Status.FAIL, "signature_mismatch")


def test_body_change_on_an_unseekable_stream_is_a_plain_failure() -> None:
    message, resolver = signed()
    changed = message.replace(b"We lost", b"We won")
    r = verify_dkim(unseekable(changed), now=T0 + 10).run(resolver)
    assert (r.status, r.signatures[0].code) == (Status.FAIL, "body_hash_mismatch")


def test_long_header_lists_and_tag_lists_stay_linear() -> None:
    """Hostile h= lists and tag lists on the slow parsing path cost linear time."""
    import time

    names = ":".join(f"x{i}" for i in range(40000))
    header = (f"DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=s1; h=from:{names};"
              " bh=AAAA; b=AAAA\r\n").encode()
    message, resolver = signed()
    t = time.perf_counter()
    r = verify(header + message, resolver)
    assert time.perf_counter() - t < 2.0
    assert r.signatures[0].status in (Status.FAIL, Status.PERMERROR)
    record = "v=DKIM1;\n k=rsa; p=;" + "".join(f"t{i}=;" for i in range(20000))
    t = time.perf_counter()
    assert parse_key_record(record).revoked  # unknown tags are ignored (§3.6.1)
    assert time.perf_counter() - t < 2.0


def test_idna_2008_signing_domain() -> None:
    sig = parse_signature(_sig(d="faß.example"))
    assert sig.domain == "xn--fa-hia.example"  # IDNA 2003 would say "fass.example"


def test_h_naming_dkim_signature_never_selects_the_signature_itself() -> None:
    """§3.7: the signature's own field is hashed last with b= empty, never as an h= field.
    Signing with h= naming DKIM-Signature on a message without one, then verifying,
    must pass: selection from the bottom must skip the field being verified."""
    message, resolver = signed(headers=["from", "subject", "dkim-signature"], oversign=False)
    assert verify(message, resolver).status is Status.PASS


def test_identity_with_a_colon_is_not_folded_inside() -> None:
    local = '"a:b:c:d:e:f:g:h:i:j:k:l:m:n:o:p:q:r:s:t:u:v:w:x:y:z:0:1:2:3:4:5:6:7"'
    message, resolver = signed(identity=f"{local}@example.org")
    r = verify(message, resolver)
    assert r.status is Status.PASS
    assert r.signatures[0].identity == f"{local}@example.org"


@pytest.mark.parametrize("identity", [None, "joe@example.org", "jörg.müller@example.org"])
def test_signer_lines_fill_to_76_octets(identity: str | None) -> None:
    # The shared tag-list writer folds the signature: every line at most 76 octets, the
    # b= value filling its lines, and the field unfolds to the tags as written.
    message = MSG.replace(b"Subject:", b"Cc: a@example.net, b@example.net\r\nSubject:")
    out, resolver = signed("rsa", message=message, identity=identity,
                           headers=["from", "to", "cc", "subject", "date", "message-id"])
    header = out[:out.index(b"\r\nFrom: ") + 2]
    lines = header[:-2].split(b"\r\n")
    assert all(len(line) <= 76 for line in lines), lines
    b_lines = lines[[i for i, line in enumerate(lines) if b" b=" in line][-1] + 1:]
    assert all(len(line) == 76 for line in b_lines[:-1])   # base64 fills its lines
    assert verify(out, resolver).status is Status.PASS
    if identity is not None:
        assert f"i={identity};".encode() in header.replace(b"\r\n", b"")


# --- results people can read: str, repr, notebooks, Authentication-Results ---------------

def two_signatures() -> tuple[bytes, FakeResolver]:
    ed, rsa_key = key("ed25519"), key("rsa")
    out = MSG
    for selector, k in (("rsa2026", rsa_key), ("ex2026", ed)):
        out = sign_dkim(out, domain="example.org", selector=selector, key=k.private_key_pem,
                        timestamp=T0) + out
    return out, resolver_for(("ex2026", "example.org", ed.txt_value),
                             ("rsa2026", "example.org", rsa_key.txt_value))




def test_str_is_a_verdict_line_and_repr_is_short() -> None:
    message, resolver = two_signatures()
    result = verify(message, resolver)
    assert str(result) == ("dkim=pass: 2 of 2 signature(s) verified (d=example.org s=ex2026), "
                           "(d=example.org s=rsa2026)")
    assert repr(result).startswith("<DKIMResult dkim=pass: 2 of 2") and len(repr(result)) < 130
    first = result.signatures[0]
    assert str(first) == "dkim=pass: the signature verifies (d=example.org s=ex2026)"
    assert repr(first) == f"<SignatureResult {first}>"
    for text in (str(result), repr(result), str(first), repr(first)):
        assert "\n" not in text and "\\r\\n" not in text


def test_notebook_displays() -> None:
    message, resolver = two_signatures()
    result = verify(message, resolver)
    page = result._repr_html_()
    assert ">pass<" in page and "ex2026" in page and "rsa2026" in page
    assert "header.b=" in page                         # the A-R fragment, folded away
    printer = PrettyPrinter()
    result._repr_pretty_(printer, False)
    lines = "".join(printer.out).splitlines()
    assert lines[0] == str(result)
    assert any("d=example.org s=rsa2026 rsa-sha256: pass" in line for line in lines)
    assert not any("\\r\\n" in line for line in lines)
    printer = PrettyPrinter()
    result._repr_pretty_(printer, True)
    assert printer.out == ["<DKIMResult ...>"]
    assert ">pass<" in result.signatures[1]._repr_html_()


def test_html_escapes_what_came_from_the_message() -> None:
    message, resolver = signed("ed25519")
    broken = message.replace(b"d=example.org;", b"d=<b>x</b>;", 1)
    page = verify(broken, resolver)._repr_html_()
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page


def test_authres_fragment_per_signature() -> None:
    message, resolver = two_signatures()
    result = verify(message, resolver)
    parts = result.authres().split("; ")
    assert len(parts) == 2
    for part, s in zip(parts, result.signatures, strict=True):
        b = base64.b64encode(parse_signature(s.header_field.split(":", 1)[1]).signature[:6])
        # "/" and "+" are tspecials: such a header.b is a quoted-string (RFC 8601 §2.2)
        assert part == (f"dkim=pass header.d=example.org header.i=@example.org "
                        f"header.s={s.selector} header.a={s.algorithm} "
                        f"header.b={quote_pvalue(b.decode())}")
        assert s.authres() == part


def test_authres_of_failures_and_of_no_signature() -> None:
    message, resolver = signed("rsa")
    result = verify(message.replace(b"hungry", b"thirsty"), resolver)
    assert result.authres().startswith(
        'dkim=fail reason="the body was changed after signing" header.d=example.org ')
    assert verify(MSG, resolver).authres() == "dkim=none"
    malformed = verify(b"DKIM-Signature: v=1; a=x\r\n" + MSG, resolver)
    assert malformed.authres() == 'dkim=permerror reason="the signature is malformed"'


# --- what users hit: oversigning, input that is not a message, mistakes, one-shot streams --

def test_oversigning_covers_every_present_instance_plus_one() -> None:
    # Two From fields, headers= naming From once: both are signed and one more is listed,
    # so a third From added on top breaks the signature (docs/dkim.md's promise).
    message = b"From: a@example.org\r\n" + MSG
    out, resolver = signed("rsa", message=message, headers=["from", "subject"])
    sig = parse_signature(out.split(b"\r\nFrom: ", 1)[0].split(b":", 1)[1])
    assert sig.headers.count("from") == 3 and sig.headers.count("subject") == 2
    assert verify(out, resolver).status is Status.PASS
    forged = b"From: ceo@example.org\r\n" + out
    assert verify(forged, resolver).status is Status.FAIL
    txt = {"s1._domainkey.example.org.": key("rsa").txt_value.encode()}
    assert dkimpy.verify(out, dnsfunc=lambda name, timeout=5: txt[name.decode()])
    assert not dkimpy.verify(forged, dnsfunc=lambda name, timeout=5: txt[name.decode()])


@pytest.mark.parametrize("data, says", [
    (b"", "the input is empty"),
    (bytes(range(256)) * 4, "the first line is not a header field"),
    (b"\x1f\x8b\x08\x00" + bytes(200), "gzip"),
    (bytes.fromhex("d0cf11e0a1b11ae1") + bytes(500), "Outlook .msg"),
    (b"\r\nonly a body\r\n", "no header field"),
    (b"hello world\nthis is text\n", "the first line is not a header field"),
])
def test_input_that_is_not_a_message_is_not_unsigned(data: bytes, says: str) -> None:
    for source in (data, io.BytesIO(data)):
        result = verify_dkim(source, now=T0).run(FakeResolver({}))
        assert result.status is Status.PERMERROR and not result.signatures
        assert result.reason.startswith("not a message: no header section was found")
        assert says in result.reason
        assert str(result).startswith("dkim=permerror: not a message")
        assert result.authres() == 'dkim=permerror reason="not a message"'


def test_a_message_with_an_mbox_line_is_still_a_message() -> None:
    result = verify(b"From joe@example.org Mon Jan  1 00:00:00 2024\r\n" + MSG,
                    FakeResolver({}))
    assert result.status is Status.NONE


@pytest.mark.parametrize("kwargs, error", [
    ({"max_signatures": None}, mailauth.ArgumentTypeError),
    ({"max_signatures": 0}, mailauth.UsageError),
    ({"max_signatures": 1.5}, mailauth.ArgumentTypeError),
    ({"min_rsa_bits": "2048"}, mailauth.ArgumentTypeError),
    ({"min_rsa_bits": -1}, mailauth.UsageError),
    ({"min_rsa_bits": True}, mailauth.ArgumentTypeError),
    ({"clock_skew": -5}, mailauth.UsageError),
    ({"clock_skew": None}, mailauth.ArgumentTypeError),
    ({"budget": 0}, mailauth.UsageError), ({"budget": float("nan")}, mailauth.UsageError),
    ({"now": "yesterday"}, mailauth.ArgumentTypeError),
])
def test_caller_mistakes_raise_at_once(kwargs: dict[str, object], error: type) -> None:
    with pytest.raises(error) as info:
        verify_dkim(MSG, **kwargs)  # type: ignore[arg-type]
    assert "\n" not in str(info.value) and "=" in str(info.value)
    assert isinstance(info.value, mailauth.MailAuthError)
    assert isinstance(info.value, ValueError if error is mailauth.UsageError else TypeError)


def test_a_str_message_is_a_type_error() -> None:
    with pytest.raises(mailauth.ArgumentTypeError, match="bytes or a binary file, not str"):
        verify_dkim(MSG.decode())  # type: ignore[arg-type]
    with pytest.raises(mailauth.ArgumentTypeError, match="not int"):
        verify_dkim(42)  # type: ignore[arg-type]
    with pytest.raises(mailauth.ArgumentTypeError, match="not str"):
        sign_dkim(MSG.decode(), domain="example.org", selector="s1",  # type: ignore[arg-type]
                  key=key("ed25519").private_key_pem)


def test_signing_mistakes_are_usage_errors() -> None:
    k = key("ed25519").private_key_pem
    for kw in ({"selector": "a b"}, {"canonicalization": "strict"},
               {"identity": "nobody"}, {"timestamp": T0, "expiration": T0}):
        args = {"domain": "example.org", "selector": "s1", "key": k, **kw}
        with pytest.raises(mailauth.UsageError):
            sign_dkim(MSG, **args)  # type: ignore[arg-type]


def test_a_file_closed_before_the_check_runs(tmp_path: Path) -> None:
    message, resolver = signed("ed25519")
    path = tmp_path / "m.eml"
    path.write_bytes(message)
    with path.open("rb") as f:
        check = verify_dkim(f, now=T0)
    with pytest.raises(mailauth.UsageError, match="closed before the check ran") as info:
        check.run(resolver)
    assert "\n" not in str(info.value)
    with path.open("rb") as f:
        f.close()
        with pytest.raises(mailauth.UsageError, match="closed"):
            verify_dkim(f)


def test_an_unseekable_stream_makes_a_one_shot_check() -> None:
    message, resolver = signed("ed25519")
    check = verify_dkim(unseekable(message), now=T0)
    assert check.reusable is False and "one-shot" in repr(check)
    assert check.run(resolver).status is Status.PASS
    with pytest.raises(mailauth.UsageError, match="read only once"):
        check.run(resolver)
    assert verify_dkim(message, now=T0).reusable is True
    assert verify_dkim(io.BytesIO(message), now=T0).reusable is True
