"""The DKIM primitives ARC reuses (docs/dkim.md "What ARC reuses"), the key loader,
the clock at the edge, and body work handed to the driver.

Each primitive is tested on its own contract: what it takes, what it returns, the
codes and reasons it gives, so that ARC can build on it without the DKIM verifier.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import threading
import time
from dataclasses import fields
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

import mailauth
import mailauth.flows
from conftest import unseekable
from mailauth import Status
from mailauth._message import parse_message
from mailauth._tagvalue import parse_tag_list
from mailauth.dkim import (
    DKIMSyntaxError,
    generate_key,
    parse_key_record,
    parse_signature,
    sign_dkim,
    verify_dkim,
    verify_dkim_flow,
)
from mailauth.dkim._canon import canonicalize_body, relaxed_header
from mailauth.dkim._crypto import KeyRefusal, accept_key, check_signature, sign_digest
from mailauth.dkim._hashing import (
    BodyHasher,
    hash_bodies,
    header_hash_input,
    looks_dot_stuffed,
    select_headers,
    signed_fields_input,
    signed_prefix_length,
    strip_b_value,
)
from mailauth.dkim._key import KeyDecodeError, load_private_key, load_public_key
from mailauth.dkim._tags import parse_signature_tags, parse_tags
from mailauth.errors import ParseError
from mailauth.flows import Query, Work
from mailauth.testing import FakeResolver

T0 = 1_700_000_000
MSG = (b"From: Joe <joe@example.org>\r\nTo: Suzie <suzie@example.net>\r\n"
       b"Subject: Is dinner ready?\r\nDate: Fri, 11 Jul 2003 21:00:37 -0700\r\n"
       b"Message-ID: <1@example.org>\r\n\r\nHi.\r\n\r\nWe lost the game.  Are you hungry?\r\n")
BH = base64.b64encode(hashlib.sha256(b"").digest()).decode()


@pytest.fixture(scope="module")
def ed_key() -> mailauth.dkim.GeneratedKey:
    return generate_key("ed25519")


@pytest.fixture(scope="module")
def rsa_key() -> mailauth.dkim.GeneratedKey:
    return generate_key("rsa", bits=1024)


# --- tag lists: the common tags, and DKIM's rules on top --------------------------------

# An ARC-Message-Signature (RFC 8617 §4.1.2): no v=, i= is an instance number.
AMS = (f"i=2; a=rsa-sha256; c=relaxed/relaxed; d=example.org; s=arc; t={T0};\r\n"
       f" h=to:subject:date; bh={BH}; b=AAAA")


def test_common_tags_parse_an_arc_message_signature() -> None:
    tags = parse_tags(AMS)
    common = parse_signature_tags(tags)
    assert (common.algorithm, common.key_type, common.hash_name) == ("rsa-sha256", "rsa",
                                                                     "sha256")
    assert (common.header_canon, common.body_canon) == ("relaxed", "relaxed")
    assert (common.domain, common.selector, common.timestamp) == ("example.org", "arc", T0)
    assert common.headers == ("to", "subject", "date")   # From not required here
    assert common.body_hash == hashlib.sha256(b"").digest()
    assert tags["i"] == "2"                                # left to the caller (ARC)
    # The same tags are no DKIM-Signature: v= is missing, and i= is not an identity.
    with pytest.raises(DKIMSyntaxError) as info:
        parse_signature(AMS)
    assert info.value.code == "missing_tag"
    with pytest.raises(DKIMSyntaxError) as info:
        parse_signature("v=1; " + AMS.replace("h=to", "h=from:to"))
    assert info.value.code == "bad_identity"


def test_dkim_layer_adds_from_identity_and_query_rules() -> None:
    base = f"v=1; a=rsa-sha256; d=example.org; s=s1; bh={BH}; b=AAAA; h="
    with pytest.raises(DKIMSyntaxError) as info:
        parse_signature(base + "to:subject")
    assert info.value.code == "from_not_signed"
    assert parse_signature_tags(parse_tags(base + "to:subject")).headers == ("to", "subject")
    sig = parse_signature(base + "from; i=joe@Mail.Example.ORG; q=dns/txt")
    assert sig.identity == "joe@mail.example.org" and sig.query_methods == ("dns/txt",)


def test_signature_is_built_in_field_order() -> None:
    # parse_signature builds Signature positionally from signature_tag_values: every
    # shared field must land where SignatureTags has it (distinct values catch a swap).
    text = (f"v=1; a=rsa-sha256; c=relaxed/simple; d=example.org; s=s1; bh={BH}; "
            f"b=AAAA; h=from:to; l=7; t={T0}; x={T0 + 60}; i=joe@example.org; q=dns/txt; "
            "z=From:x")
    sig = parse_signature(text)
    common = parse_signature_tags(parse_tags(text))
    for f in fields(common):
        assert getattr(sig, f.name) == getattr(common, f.name), f.name
    assert (sig.identity, sig.query_methods, sig.copied_headers) == (
        "joe@example.org", ("dns/txt",), "From:x")
    assert dict(sig.tags)["l"] == "7" and sig.canonicalization == "relaxed/simple"


def test_signature_result_is_built_in_field_order(ed_key: mailauth.dkim.GeneratedKey) -> None:
    # The verifier builds SignatureResult positionally: each field holds its own fact.
    message = MSG.replace(b"\r\n\r\n", b"\r\nFrom: Again <a@example.org>\r\n\r\n", 1)
    header = sign_dkim(message, domain="example.org", selector="s1", oversign=False,
                       key=ed_key.private_key_pem, identity="joe@example.org", timestamp=T0,
                       expiration=T0 + 600, body_length=5, headers=["from", "to"])
    dns = FakeResolver({"s1._domainkey.example.org": {"TXT": [ed_key.txt_value]}},
                       authentic=["s1._domainkey.example.org"])
    r = verify_dkim(header + message, now=T0 + 1).run(dns).signatures[0]
    sig = parse_signature(header.split(b":", 1)[1])
    expected = {
        "status": Status.PASS, "code": "ok", "domain": "example.org", "selector": "s1",
        "algorithm": "ed25519-sha256", "canonicalization": "relaxed/relaxed",
        "headers_signed": ("from", "to"), "identity": "joe@example.org",
        "body_hash_expected": base64.b64encode(sig.body_hash).decode(),
        "body_length": 5, "body_bytes_appended": None, "key_type": "ed25519",
        "key_bits": 256, "key_record": ed_key.txt_value, "authentic": True,
        "testing": False, "timestamp": T0, "expiration": T0 + 600,
        "header_field": header.decode().rstrip("\r\n"),
    }
    for name, value in expected.items():
        assert getattr(r, name) == value, name
    assert r.body_hash_computed == r.body_hash_expected
    assert r.body_bytes_unsigned is not None and r.body_bytes_unsigned > 0
    assert r.warnings and "l=5" in r.warnings[0] and "from fields" in r.warnings[1]
    assert r.reason == "the signature verifies"


@pytest.mark.parametrize("tag, value, code", [
    ("a", "rsa-md5", "unsupported_algorithm"), ("b", "", "empty_signature"),
    ("bh", "!", "bad_base64"), ("c", "x/y", "unsupported_canonicalization"),
    ("d", "a..b", "bad_domain"), ("h", "a::b", "bad_header_list"), ("l", "-1", "bad_length"),
    ("s", "a b!", "bad_selector"), ("t", "1e3", "bad_timestamp"), ("x", "x", "bad_expiration"),
])
def test_common_tag_errors_keep_their_codes(tag: str, value: str, code: str) -> None:
    tags = parse_tags(AMS)
    tags[tag] = value
    with pytest.raises(DKIMSyntaxError) as info:
        parse_signature_tags(tags)
    assert info.value.code == code


@pytest.mark.parametrize("text", ["p=\n\n\n", "v=DKIM1; p=\r\n\r\n", "p=AAAA\n\r"])
def test_key_records_with_line_breaks_that_do_not_fold_are_malformed(text: str) -> None:
    # The old fast path stripped every trailing line break and accepted these.
    with pytest.raises(DKIMSyntaxError) as info:
        parse_key_record(text)
    assert info.value.code == "key_syntax"


def test_signature_with_line_breaks_that_do_not_fold_is_malformed() -> None:
    with pytest.raises(DKIMSyntaxError) as info:
        parse_signature(f"v=1; a=rsa-sha256; d=example.org; s=s1; h=from; bh={BH}; "
                        "b=AAAA\r\n\r\n")
    assert info.value.code == "bad_tag_list"


# DKIM reads every tag list through parse_tags: the same tags as parse_tag_list, and a
# DKIMSyntaxError exactly where parse_tag_list raises ParseError (no second parser).
_TAG_PIECES = ["v", "p", "bh", "_x", "9", "=", "=", ";", " ", "\t", "\r\n", "\r\n ",
               "\r", "\n", "\n ", "x1", "\u00e9", "\x7f", "DKIM1"]
dkim_tag_texts = st.one_of(st.lists(st.sampled_from(_TAG_PIECES), max_size=24).map("".join),
                           st.text(max_size=40))


def check_parse_tags_agrees(text: str) -> None:
    try:
        expected: object = dict(parse_tag_list(text, strict_values=False).tags)
    except ParseError as exc:
        expected = ("error", exc.message, exc.position)
    try:
        got: object = parse_tags(text, code="key_syntax")
    except DKIMSyntaxError as exc:
        assert exc.code == "key_syntax"
        got = ("error", exc.message, exc.position)
    assert got == expected, text


@settings(max_examples=3000, deadline=None)
@given(dkim_tag_texts)
def test_dkim_tag_lists_agree_with_the_exact_parser(text: str) -> None:
    check_parse_tags_agrees(text)


@pytest.mark.slow
@settings(max_examples=20000, deadline=None)
@given(dkim_tag_texts)
def test_slow_dkim_tag_lists_agree_with_the_exact_parser(text: str) -> None:
    check_parse_tags_agrees(text)


# --- header hash input -------------------------------------------------------------------

def test_select_headers_takes_instances_from_the_bottom_and_skips_missing_ones() -> None:
    m = parse_message(b"X: 1\r\nY: a\r\nX: 2\r\n\r\n")
    chosen = select_headers(m.headers, ["x", "x", "x", "z", "y"])
    assert [h.data for h in chosen] == [b"X: 2\r\n", b"X: 1\r\n", b"Y: a\r\n"]
    own = m.headers[2]
    assert [h.data for h in select_headers(m.headers, ["x"], exclude=own.data)] == \
        [b"X: 1\r\n"]


def test_signed_fields_input_is_the_fields_then_the_signature_without_b() -> None:
    fields = [b"Subject:  Hi  there \r\n", b"To: a@example.org\r\n"]
    own = b"ARC-Seal: i=1; a=rsa-sha256; b=abc\r\n def; d=example.org\r\n"
    relaxed = signed_fields_input(fields, own, "relaxed")
    assert relaxed == (b"subject:Hi there\r\nto:a@example.org\r\n"
                       b"arc-seal:i=1; a=rsa-sha256; b=; d=example.org")
    simple = signed_fields_input(fields, own, "simple")
    assert simple == b"".join(fields) + b"ARC-Seal: i=1; a=rsa-sha256; b=; d=example.org"
    with pytest.raises(ValueError):
        signed_fields_input(fields, own, "fancy")


def test_header_hash_input_selects_then_appends_the_signature() -> None:
    header = sign_dkim(MSG, domain="example.org", selector="s1",
                       key=generate_key("ed25519").private_key_pem, oversign=False,
                       headers=["from", "subject"])
    m = parse_message(header + MSG)
    sig = parse_signature(m.headers[0].value)
    data = header_hash_input(m.headers, sig.headers, m.headers[0].data, "relaxed")
    assert data == (relaxed_header(m.get("from").data)  # type: ignore[union-attr]
                    + relaxed_header(m.get("subject").data)  # type: ignore[union-attr]
                    + relaxed_header(strip_b_value(m.headers[0].data))[:-2])


# --- body hashes ---------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([b"a", b" ", b"\t", b"\r\n", b"\n", b"x  y"]), max_size=40)
       .map(b"".join), st.integers(0, 30))
def test_hash_bodies_gives_each_key_what_hashing_it_alone_gives(body: bytes, limit: int
                                                                ) -> None:
    m = parse_message(b"From: a@example.org\r\n\r\n" + body)
    wanted = [("simple", "sha256", None), ("relaxed", "sha256", None),
              ("relaxed", "sha1", limit), ("simple", "sha256", limit)]
    got = hash_bodies(m, wanted, 7)
    for canon, hash_name, lim in wanted:
        canonical = canonicalize_body(m.body(), canon)  # type: ignore[arg-type]
        signed = canonical if lim is None else canonical[:lim]
        assert got[(canon, hash_name, lim)] == (hashlib.new(hash_name, signed).digest(),
                                                len(canonical))


def test_body_hasher_counts_octets_beyond_the_limit() -> None:
    h = BodyHasher("sha256", 3)
    h.update(b"ab")
    h.update(memoryview(b"cdef"))
    assert (h.digest(), h.length) == (hashlib.sha256(b"abc").digest(), 6)


def test_body_change_explanations() -> None:
    m = parse_message(b"From: a@example.org\r\n\r\nline one\r\nline two\r\nfooter\r\n")
    signed = hashlib.sha256(b"line one\r\nline two\r\n").digest()
    assert signed_prefix_length(m, "simple", "sha256", signed) == 20
    assert signed_prefix_length(m, "simple", "sha256", b"\0" * 32) is None
    assert not looks_dot_stuffed(m)
    assert looks_dot_stuffed(parse_message(b"From: a@b\r\n\r\n..x\r\n"))
    assert looks_dot_stuffed(parse_message(b"From: a@b\r\n\r\nx\r\n..y\r\n"))


# --- signing and checking ------------------------------------------------------------------

def test_sign_digest_and_check_signature_round_trip(ed_key: mailauth.dkim.GeneratedKey,
                                                    rsa_key: mailauth.dkim.GeneratedKey
                                                    ) -> None:
    data = b"the header hash input"
    for generated, algorithm in ((ed_key, "ed25519-sha256"), (rsa_key, "rsa-sha256")):
        private = load_private_key(generated.private_key_pem)
        public = private.public_key()
        signature = sign_digest(private, "sha256", data)
        assert check_signature(public, algorithm, signature, data)
        assert not check_signature(public, algorithm, signature, data + b"!")
        assert not check_signature(public, algorithm, bytes(len(signature)), data)
    ed_public = load_private_key(ed_key.private_key_pem).public_key()
    rsa_signature = sign_digest(load_private_key(rsa_key.private_key_pem), "sha256", data)
    assert not check_signature(ed_public, "rsa-sha256", rsa_signature, data)  # wrong type
    with pytest.raises(ValueError):
        check_signature(ed_public, "dsa-sha256", rsa_signature, data)


def test_ed25519_signs_the_sha256_digest(ed_key: mailauth.dkim.GeneratedKey) -> None:
    # RFC 8463 §3: the signature is over the SHA-256 hash of the data, not the data.
    private = load_private_key(ed_key.private_key_pem)
    assert isinstance(private, ed25519.Ed25519PrivateKey)
    signature = sign_digest(private, "sha256", b"data")
    private.public_key().verify(signature, hashlib.sha256(b"data").digest())
    assert signature == private.sign(hashlib.sha256(b"data").digest())
    with pytest.raises(ValueError):
        sign_digest(private, "sha1", b"data")


def test_rsa_sha1_is_checked_as_published(rsa_key: mailauth.dkim.GeneratedKey) -> None:
    private = load_private_key(rsa_key.private_key_pem)
    signature = sign_digest(private, "sha1", b"data")
    assert check_signature(private.public_key(), "rsa-sha1", signature, b"data")
    assert not check_signature(private.public_key(), "rsa-sha256", signature, b"data")


# --- key acceptance ------------------------------------------------------------------------

def _record(text: str) -> mailauth.dkim.KeyRecord:
    return parse_key_record(text)


def test_accept_key_codes_and_reasons(ed_key: mailauth.dkim.GeneratedKey,
                                      rsa_key: mailauth.dkim.GeneratedKey) -> None:
    name = "s1._domainkey.example.org"
    ed, rsa_text = ed_key.txt_value, rsa_key.txt_value

    def refusal(text: str, algorithm: str = "ed25519-sha256", bits: int = 1024
                ) -> KeyRefusal | None:
        return accept_key(_record(text), algorithm=algorithm, key_name=name,
                          min_rsa_bits=bits)

    assert refusal(ed) is None
    assert refusal(rsa_text, "rsa-sha256") is None
    assert refusal("v=DKIM1; p=") == KeyRefusal(
        Status.PERMERROR, "key_revoked", f"the key at {name} is revoked (empty p=)")
    assert refusal(rsa_text) == KeyRefusal(
        Status.PERMERROR, "key_type_mismatch",
        f"a=ed25519-sha256 needs a ed25519 key but {name} publishes k=rsa")
    assert refusal(rsa_text + "; h=sha1", "rsa-sha256") == KeyRefusal(
        Status.PERMERROR, "key_hash_not_allowed", "the key allows h=sha1, not sha256")
    assert refusal(ed + "; s=tlsrpt") == KeyRefusal(
        Status.PERMERROR, "key_service_mismatch", "the key is for s=tlsrpt, not email")
    assert refusal(ed + "; s=tlsrpt:email") is None
    bad = refusal("v=DKIM1; k=ed25519; p=AAAA")
    assert bad is not None and (bad.status, bad.code) == (Status.PERMERROR, "key_syntax")
    assert bad.reason.startswith(f"p= at {name} is not a usable ed25519 key: ")
    assert refusal(rsa_text, "rsa-sha256", bits=2048) == KeyRefusal(
        Status.POLICY, "rsa_key_too_small",
        "the RSA key has 1024 bits; at least 2048 are required (RFC 8301 §3.2)")


def test_a_small_rsa_key_is_policy_only_once_the_signature_verifies(
        rsa_key: mailauth.dkim.GeneratedKey) -> None:
    header = sign_dkim(MSG, domain="example.org", selector="s1", key=rsa_key.private_key_pem)
    dns = FakeResolver({"s1._domainkey.example.org": {"TXT": [rsa_key.txt_value]}})
    r = verify_dkim(header + MSG, now=T0, min_rsa_bits=2048).run(dns).signatures[0]
    assert (r.status, r.code) == (Status.POLICY, "rsa_key_too_small")
    assert r.reason == ("the signature verifies but the RSA key has 1024 bits; at least "
                        "2048 are required (RFC 8301 §3.2)")
    assert r.key_bits == 1024
    changed = (header + MSG).replace(b"We lost", b"We won")
    r = verify_dkim(changed, now=T0, min_rsa_bits=2048).run(dns).signatures[0]
    assert (r.status, r.code) == (Status.FAIL, "body_hash_mismatch")


# --- the key loader --------------------------------------------------------------------------

def _rsa_public() -> rsa.RSAPublicKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()


def test_rsa_keys_load_from_spki_and_from_pkcs1_der() -> None:
    key = _rsa_public()
    spki = key.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)
    pkcs1 = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    for der in (spki, pkcs1):
        loaded = load_public_key("rsa", der)
        assert isinstance(loaded, rsa.RSAPublicKey)
        assert loaded.public_numbers() == key.public_numbers()


def test_a_pkcs1_key_record_verifies(rsa_key: mailauth.dkim.GeneratedKey) -> None:
    private = load_private_key(rsa_key.private_key_pem)
    pkcs1 = private.public_key().public_bytes(serialization.Encoding.DER,
                                              serialization.PublicFormat.PKCS1)
    record = "v=DKIM1; k=rsa; p=" + base64.b64encode(pkcs1).decode()
    header = sign_dkim(MSG, domain="example.org", selector="s1", key=rsa_key.private_key_pem)
    dns = FakeResolver({"s1._domainkey.example.org": {"TXT": [record]}})
    assert verify_dkim(header + MSG, now=T0).run(dns).status is Status.PASS


def _bad_keys() -> list[tuple[str, bytes]]:
    key = _rsa_public()
    spki = key.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)
    pkcs1 = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    ec_spki = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return [("empty", b""), ("garbage", b"not a key at all"), ("zeros", bytes(3)),
            ("truncated spki", spki[:-10]), ("truncated pkcs1", pkcs1[:40]),
            ("spki with trailing bytes", spki + b"\0"), ("a bare sequence", b"\x30\x00"),
            ("huge length", b"\x30\x84\xff\xff\xff\xff\x02\x01\x01"),
            ("an EC key", ec_spki)]


@pytest.mark.parametrize("what, der", _bad_keys())
def test_bad_rsa_key_bytes_are_a_key_decode_error(what: str, der: bytes) -> None:
    with pytest.raises(KeyDecodeError):
        load_public_key("rsa", der)


@pytest.mark.parametrize("der", [b"", bytes(31), bytes(33)])
def test_bad_ed25519_key_bytes_are_a_key_decode_error(der: bytes) -> None:
    with pytest.raises(KeyDecodeError):
        load_public_key("ed25519", der)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(["rsa", "ed25519"]))
def test_any_key_bytes_load_or_raise_key_decode_error(der: bytes, key_type: str) -> None:
    try:
        key = load_public_key(key_type, der)
    except KeyDecodeError:
        return
    assert isinstance(key, rsa.RSAPublicKey if key_type == "rsa" else ed25519.Ed25519PublicKey)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_mangled_rsa_keys_load_or_raise_key_decode_error(data: st.DataObject) -> None:
    spki = _SPKI
    cut = data.draw(st.integers(0, len(spki)))
    flip = data.draw(st.integers(0, len(spki) - 1))
    for der in (spki[:cut], spki[:flip] + bytes([spki[flip] ^ 0xFF]) + spki[flip + 1:]):
        try:
            key = load_public_key("rsa", der)
        except KeyDecodeError:
            continue
        assert isinstance(key, rsa.RSAPublicKey)


_SPKI = _rsa_public().public_bytes(serialization.Encoding.DER,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)


# --- the clock at the edge -------------------------------------------------------------------

def test_the_flow_takes_the_time_as_a_number(ed_key: mailauth.dkim.GeneratedKey) -> None:
    header = sign_dkim(MSG, domain="example.org", selector="s1", key=ed_key.private_key_pem,
                       timestamp=T0, expiration=T0 + 100)
    dns = FakeResolver({"s1._domainkey.example.org": {"TXT": [ed_key.txt_value]}})
    message = parse_message(header + MSG)
    with pytest.raises(TypeError):
        verify_dkim_flow(message)  # type: ignore[call-arg]
    for now, status in ((T0 + 1, Status.PASS), (T0 + 1000, Status.FAIL)):
        def flow(now: float = now) -> mailauth.flows.Flow[mailauth.DKIMResult]:
            return verify_dkim_flow(message, now=now)

        assert mailauth.Check(flow).run(dns).status is status


def test_the_public_verb_reads_the_clock_once_per_run(ed_key: mailauth.dkim.GeneratedKey
                                                      ) -> None:
    header = sign_dkim(MSG, domain="example.org", selector="s1", key=ed_key.private_key_pem,
                       timestamp=T0, expiration=T0 + 1000)
    dns = FakeResolver({"s1._domainkey.example.org": {"TXT": [ed_key.txt_value]}})
    readings = iter([T0 + 10, T0 + 5000])
    calls: list[float] = []

    def clock() -> float:
        calls.append(next(readings))
        return calls[-1]

    check = verify_dkim(header + MSG, now=clock)
    assert calls == []                                  # not at construction
    assert check.run(dns).status is Status.PASS
    assert check.run(dns).signatures[0].code == "signature_expired"
    assert calls == [T0 + 10, T0 + 5000]                # once per run
    when = datetime.fromtimestamp(T0 + 10, UTC)
    assert verify_dkim(header + MSG, now=when).run(dns).status is Status.PASS
    assert verify_dkim(header + MSG, now=None).run(dns).signatures[0].code == \
        "signature_expired"                             # the system clock: long after T0


def test_signing_with_timestamp_true_reads_the_clock_at_call(
        ed_key: mailauth.dkim.GeneratedKey) -> None:
    before = int(time.time())
    header = sign_dkim(MSG, domain="example.org", selector="s1", key=ed_key.private_key_pem,
                       timestamp=True)
    after = int(time.time())
    stamp = parse_signature(header.split(b":", 1)[1]).timestamp
    assert stamp is not None and before <= stamp <= after
    for no in (False, None):
        assert parse_signature(sign_dkim(MSG, domain="example.org", selector="s1",
                                         key=ed_key.private_key_pem, timestamp=no)
                               .split(b":", 1)[1]).timestamp is None


# --- body work is handed to the driver ---------------------------------------------------------

def test_body_hash_is_yielded_with_the_key_queries_and_diagnostics_as_work(
        ed_key: mailauth.dkim.GeneratedKey) -> None:
    header = sign_dkim(MSG, domain="example.org", selector="s1", key=ed_key.private_key_pem)
    footer = b"--\r\nlist footer\r\n"
    dns = FakeResolver({"s1._domainkey.example.org": {"TXT": [ed_key.txt_value]}})
    flow = verify_dkim(header + MSG + footer, now=T0).flow()
    first = next(flow)
    assert isinstance(first, tuple) and isinstance(first[1], Work)
    assert isinstance(first, tuple) and len(first) == 2
    assert first[0] == Query("s1._domainkey.example.org", "TXT")
    assert isinstance(first[1], Work) and first[1]() == hash_bodies(*first[1].args)
    second = flow.send((dns.resolve(first[0], timeout=1), first[1]()))
    # The body hash failed: the explanation reads the body again, as work too.
    assert isinstance(second, Work)
    with pytest.raises(StopIteration) as done:
        flow.send(second())
    result = done.value.value
    assert result.signatures[0].code == "body_hash_mismatch"
    assert result.signatures[0].body_bytes_appended == len(footer)
    assert f"{len(footer)} octets were appended" in result.signatures[0].reason


def test_a_body_that_cannot_be_read_raises_in_the_flow() -> None:
    # The body work returns what hash_bodies raised; the flow raises it (as work() would).
    header = b"DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=s1; h=from; bh=AAAA; b=AAAA\r\n"
    flow = verify_dkim(unseekable(header + MSG), now=T0).flow()
    first = next(flow)
    assert isinstance(first, tuple) and isinstance(first[1], Work)
    first[1]()                      # the one read of the stream
    again = first[1]()              # a second read: returned, not raised
    assert isinstance(again, ValueError)
    with pytest.raises(ValueError, match="read only once"):
        flow.send((None, again))


def test_no_work_and_no_query_without_signatures() -> None:
    flow = verify_dkim(MSG, now=T0).flow()
    with pytest.raises(StopIteration) as done:
        next(flow)
    assert done.value.value.status is Status.NONE


class _ThreadRecordingFile(io.BytesIO):
    """A binary file that notes which thread reads its body (read(n), n > 0)."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.readers: set[int] = set()

    def read(self, size: int | None = -1, /) -> bytes:
        if size:
            self.readers.add(threading.get_ident())
        return super().read(size)


def test_under_arun_the_body_is_read_and_hashed_off_the_event_loop(
        ed_key: mailauth.dkim.GeneratedKey) -> None:
    header = sign_dkim(MSG, domain="example.org", selector="s1", key=ed_key.private_key_pem)
    dns = FakeResolver({"s1._domainkey.example.org": {"TXT": [ed_key.txt_value]}})
    for extra in (b"", b"appended\r\n"):   # a pass, and a failure with its diagnostics
        f = _ThreadRecordingFile(header + MSG + extra)
        check = verify_dkim(f, now=T0)
        f.readers.clear()

        async def main(check: mailauth.Check[mailauth.DKIMResult] = check
                       ) -> tuple[mailauth.DKIMResult, int]:
            result = await check.arun(dns)
            return result, threading.get_ident()

        result, loop_thread = asyncio.run(main())
        assert result.status is (Status.FAIL if extra else Status.PASS)
        assert f.readers and loop_thread not in f.readers
        f.readers.clear()
        assert check.run(dns).status is result.status       # run(): inline, this thread
        assert f.readers == {threading.get_ident()}
