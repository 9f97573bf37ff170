"""ARC (RFC 8617): sealing and validating chains, properties, hostile input."""

from __future__ import annotations

import asyncio
import base64
import io
import re
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mailauth
import mailauth.arc as arc
from conftest import unseekable
from mailauth import ARCResult, SigningError, Status, UsageError
from mailauth.dkim import generate_key
from mailauth.dkim._crypto import check_signature
from mailauth.dkim._hashing import signed_fields_input
from mailauth.dkim._key import load_private_key
from mailauth.testing import FakeResolver

NOW = 1_700_000_000
MESSAGE = (b"From: Alice <alice@example.com>\r\n"
           b"To: list@lists.example.org\r\n"
           b"Subject: ARC test\r\n"
           b"X-One: first hop only\r\n"
           b"X-Two: first and second hops\r\n"
           b"X-None: never signed\r\n"
           b"Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
           b"Message-ID: <1@example.com>\r\n"
           b"\r\n"
           b"Hello,\r\nthis is the body.\r\n")
# What each hop's AMS signs: hop 1 more than hop 2, hop 2 more than hop 3, so a change
# to X-One breaks only AMS(1), to X-Two AMS(1) and AMS(2) (oldest-pass tells which).
HOP_HEADERS = (("from", "to", "subject", "x-one", "x-two"),
               ("from", "to", "subject", "x-two"),
               ("from", "to", "subject"))
DOMAINS = ("example.com", "relay.example.net", "lists.example.org")


@cache
def _keys() -> dict[str, tuple[bytes, str]]:
    """PEM and key record per kind, made once."""
    rsa = generate_key("rsa", 1024)
    ed = generate_key("ed25519")
    return {"rsa": (rsa.private_key_pem, rsa.txt_value),
            "ed25519": (ed.private_key_pem, ed.txt_value)}


def _resolver() -> FakeResolver:
    keys = _keys()
    records = {}
    for domain in DOMAINS:
        for kind, (_, txt) in keys.items():
            records[f"{kind}._domainkey.{domain}"] = {"TXT": [txt]}
    return FakeResolver(records)


def _seal(message: bytes, hop: int, kind: str = "rsa", results: str = "spf=pass",
          chain: ARCResult | None = None, headers: tuple[str, ...] | None = None) -> bytes:
    if chain is None and b"ARC-Seal" in message:
        chain = arc.verify_arc(message, now=NOW).run(_resolver())
    fields = arc.seal_arc(message, domain=DOMAINS[hop], selector=kind,
                          key=_keys()[kind][0], authserv_id=f"mx.{DOMAINS[hop]}",
                          auth_results=results, chain=chain,
                          headers=HOP_HEADERS[hop] if headers is None else headers,
                          now=NOW + hop)
    return fields + message


@cache
def _three_hops(kinds: tuple[str, str, str] = ("rsa", "rsa", "rsa")) -> bytes:
    message = MESSAGE
    for hop, kind in enumerate(kinds):
        message = _seal(message, hop, kind, results=f"spf=pass smtp.mailfrom=hop{hop}")
    return message


def _verify(message: bytes) -> ARCResult:
    return arc.verify_arc(message, now=NOW).run(_resolver())


# --- round trips ------------------------------------------------------------------

@pytest.mark.parametrize("kinds", [("rsa", "rsa", "rsa"), ("ed25519",) * 3,
                                   ("rsa", "ed25519", "rsa")])
def test_three_hops_round_trip(kinds: tuple[str, str, str]) -> None:
    sealed = _three_hops(kinds)
    result = _verify(sealed)
    assert result.status is Status.PASS, result.reason
    assert result.code == "ok"
    assert result.oldest_pass == 0
    assert result.failed_instance is None
    assert result.chain == DOMAINS
    assert [s.instance for s in result.sets] == [1, 2, 3]
    for hop, s in enumerate(result.sets):
        assert s.seal_status is Status.PASS and s.ams_status is Status.PASS
        assert s.cv == ("none" if hop == 0 else "pass")
        assert s.seal_domain == s.ams_domain == DOMAINS[hop]
        assert s.seal_selector == kinds[hop]
        assert s.seal_algorithm == ("ed25519-sha256" if kinds[hop] == "ed25519"
                                    else "rsa-sha256")
        assert s.auth_results is not None
        assert s.auth_results.authserv_id == f"mx.{DOMAINS[hop]}"
        assert s.auth_results.instance == hop + 1
        spf = s.auth_results.get("spf")
        assert spf and spf[0].get("smtp.mailfrom") == f"hop{hop}"
    # The sealers go in a comment: IANA registers no "arc" ptype (ARCResult.authres).
    assert result.authres() == ("arc=pass "
                                "(arc.chain=example.com:relay.example.net:lists.example.org) "
                                "header.oldest-pass=0")


def test_seal_output_shape() -> None:
    fields = arc.seal_arc(MESSAGE, domain="example.com", selector="rsa", key=_keys()["rsa"][0],
                          authserv_id="mx.example.com", auth_results="spf=pass; dkim=none",
                          now=NOW)
    assert fields.endswith(b"\r\n")
    names = [line.split(b":")[0] for line in fields.split(b"\r\n")
             if line and not line.startswith(b" ")]
    assert names == [b"ARC-Seal", b"ARC-Message-Signature", b"ARC-Authentication-Results"]
    # Folded at 78 columns, but b= values stay on one line (docs/arc.md): under 998.
    lines = fields.split(b"\r\n")
    assert all(len(line) <= 78 for line in lines if not line.startswith(b" b="))
    assert all(len(line) <= 998 for line in lines)
    assert sum(line.startswith(b" b=") for line in lines) == 2
    assert b"cv=none" in fields and b"i=1;" in fields and f"t={NOW}".encode() in fields
    assert b"ARC-Authentication-Results: i=1; mx.example.com; spf=pass; dkim=none" \
        in fields.replace(b"\r\n ", b" ")


def test_top_level_names() -> None:
    assert mailauth.verify_arc is arc.verify_arc
    assert mailauth.seal_arc is arc.seal_arc
    assert mailauth.ARCResult is arc.ARCResult


def test_file_and_async_drivers() -> None:
    sealed = _three_hops()
    check = arc.verify_arc(io.BytesIO(sealed), now=NOW)
    assert check.run(_resolver()).status is Status.PASS
    assert check.run(_resolver()).status is Status.PASS  # seekable: reusable
    result = asyncio.run(arc.verify_arc(sealed, now=NOW).arun(_resolver()))
    assert result.status is Status.PASS


def test_unseekable_stream_is_read_once() -> None:
    check = arc.verify_arc(unseekable(_three_hops()), now=NOW)
    assert not check.reusable
    assert check.run(_resolver()).status is Status.PASS
    with pytest.raises(UsageError):
        check.run(_resolver())
    sealed = arc.seal_arc(unseekable(MESSAGE), domain="example.com", selector="rsa",
                          key=_keys()["rsa"][0], authserv_id="mx.example.com",
                          auth_results="spf=pass", now=NOW)
    assert _verify(sealed + MESSAGE).status is Status.PASS


@settings(max_examples=40, deadline=None)
@given(subject=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126),
                       max_size=200),
       body=st.binary(max_size=2000),
       canonicalization=st.sampled_from(["relaxed/relaxed", "simple/simple",
                                         "relaxed/simple", "simple/relaxed"]),
       kind=st.sampled_from(["rsa", "ed25519"]))
def test_seal_then_verify_round_trips(subject: str, body: bytes, canonicalization: str,
                                      kind: str) -> None:
    body = body.replace(b"\r", b"").replace(b"\n", b"\r\n")
    message = (b"From: a@example.com\r\nSubject: " + subject.encode() + b"\r\n\r\n"
               + body)
    sealed = message
    for hop in range(2):
        chain = _verify(sealed)
        sealed = arc.seal_arc(sealed, domain=DOMAINS[hop], selector=kind,
                              key=_keys()[kind][0], authserv_id="mx", auth_results="spf=pass",
                              chain=chain, canonicalization=canonicalization, now=NOW) + sealed
    result = _verify(sealed)
    assert result.status is Status.PASS, result.reason
    assert result.oldest_pass == 0


def test_one_round_of_dns() -> None:
    resolver = _resolver()
    arc.verify_arc(_three_hops(("rsa", "ed25519", "rsa")), now=NOW).run(resolver)
    names = [q.name for q in resolver.queries]
    assert len(names) == len(set(names)) == 3   # one key per sealer, asked once


def test_no_arc_is_none() -> None:
    result = _verify(MESSAGE)
    assert result.status is Status.NONE and result.code == "no_arc_sets"
    assert result.sets == () and result.oldest_pass is None
    assert result.authres() == "arc=none"


def test_auth_results_as_object_and_iterable() -> None:
    class Results:
        def resinfos(self) -> tuple[str, ...]:
            return ("spf=pass smtp.mailfrom=a@example.com", "dkim=pass header.d=example.com")

    for given_results in (Results(), ["spf=pass smtp.mailfrom=a@example.com",
                                      "dkim=pass header.d=example.com"]):
        sealed = arc.seal_arc(MESSAGE, domain="example.com", selector="rsa",
                              key=_keys()["rsa"][0], authserv_id="mx.example.com",
                              auth_results=given_results, now=NOW) + MESSAGE
        result = _verify(sealed)
        assert result.status is Status.PASS
        recorded = result.sets[0].auth_results
        assert recorded is not None
        assert [r.method for r in recorded.results] == ["spf", "dkim"]


# --- changes after sealing ----------------------------------------------------------

def test_body_change_fails_newest_ams() -> None:
    sealed = _three_hops().replace(b"the body", b"the bodY")
    result = _verify(sealed)
    assert result.status is Status.FAIL
    assert (result.code, result.failed_instance) == ("ams_failed", 3)
    assert "body hash" in result.sets[2].reason


def test_change_between_hops_sets_oldest_pass() -> None:
    one = _seal(MESSAGE, 0)
    chain = _verify(one)          # the list validates the chain as received,
    changed = one.replace(b"the body", b"a body (footer added)")   # then rewrites it
    two = _seal(changed, 1, chain=chain)
    result = _verify(two)
    assert result.status is Status.PASS
    assert result.oldest_pass == 2
    assert result.sets[0].ams_status is Status.FAIL
    assert result.authres().endswith(" header.oldest-pass=2")


def _instance_fields(message: bytes) -> list[tuple[int, int]]:
    """(start, end) of each header field of the message."""
    head = message.split(b"\r\n\r\n", 1)[0] + b"\r\n"
    spans, start = [], 0
    for m in re.finditer(rb"\r\n(?![ \t])", head):
        spans.append((start, m.end()))
        start = m.end()
    return spans


@cache
def _three_hop_fields() -> tuple[bytes, tuple[tuple[int, int, str], ...]]:
    sealed = _three_hops()
    out = []
    for start, end in _instance_fields(sealed):
        name = sealed[start:sealed.index(b":", start)].decode().lower()
        out.append((start, end, name))
    return sealed, tuple(out)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_changing_a_covered_byte_fails_at_the_right_instance(data: st.DataObject) -> None:
    """Any letter or digit changed in a field value: the verdict follows which
    signatures cover that field (RFC 8617 §5.2)."""
    sealed, fields = _three_hop_fields()
    start, end, name = data.draw(st.sampled_from(fields))
    value_start = sealed.index(b":", start) + 1
    positions = [i for i in range(value_start, end) if chr(sealed[i]).isalnum()]
    at = data.draw(st.sampled_from(positions))
    old = chr(sealed[at])
    new = data.draw(st.sampled_from([c for c in "aZ09xQ" if c != old and
                                     c.lower() != old.lower()]))
    changed = sealed[:at] + new.encode() + sealed[at + 1:]
    result = _verify(changed)
    if name.startswith("arc-"):
        # Covered by every newer seal, or part of the structure: the chain fails.
        assert result.status is Status.FAIL
    elif name in HOP_HEADERS[2]:
        assert result.status is Status.FAIL
        assert (result.code, result.failed_instance) == ("ams_failed", 3)
    elif name in HOP_HEADERS[1]:
        assert (result.status, result.oldest_pass) == (Status.PASS, 3)
    elif name in HOP_HEADERS[0]:
        assert (result.status, result.oldest_pass) == (Status.PASS, 2)
    else:
        assert (result.status, result.oldest_pass) == (Status.PASS, 0)


def test_changed_older_seal_fails_at_newest_seal_covering_it() -> None:
    sealed = _three_hops()
    # AS(1)'s b= is covered by AS(2) and AS(3); AS(3) is checked first (step 6).
    result = _verify(_swap_seal_b(sealed, 1))
    assert result.status is Status.FAIL
    assert (result.code, result.failed_instance) == ("seal_failed", 3)


def _seal_span(message: bytes, instance: int) -> tuple[int, int]:
    for start, end in _instance_fields(message):
        f = message[start:end]
        if f.startswith(b"ARC-Seal:") and re.search(rb"[; ]i=%d;" % instance, f):
            return start, end
    raise AssertionError(f"no AS i={instance}")


def _swap_seal_b(message: bytes, instance: int) -> bytes:
    start, end = _seal_span(message, instance)
    f = message[start:end]
    at = f.index(b"b=") + 2
    swapped = b"A" if f[at:at + 1] != b"A" else b"B"
    return message[:start] + f[:at] + swapped + f[at + 1:] + message[end:]


def test_newest_seal_broken_fails_there() -> None:
    result = _verify(_swap_seal_b(_three_hops(), 3))
    assert (result.status, result.code, result.failed_instance) == \
        (Status.FAIL, "seal_failed", 3)
    assert result.sets[2].seal_status is Status.FAIL
    assert result.sets[2].ams_status is Status.PASS


# --- structure ------------------------------------------------------------------------

def _set_fields(message: bytes, instance: int) -> list[tuple[int, int]]:
    out = []
    for start, end in _instance_fields(message):
        f = message[start:end]
        if f.startswith(b"ARC-") and re.search(rb"(?:^|[ ;:])i=%d;" % instance,
                                               f.replace(b"\r\n", b"")):
            out.append((start, end))
    return out


def test_gap_in_instances_fails() -> None:
    sealed = _three_hops()
    spans = _set_fields(sealed, 2)
    assert len(spans) == 3
    for start, end in reversed(spans):
        sealed = sealed[:start] + sealed[end:]
    result = _verify(sealed)
    assert (result.status, result.failed_instance) == (Status.FAIL, 2)
    assert result.code.startswith("missing_")


def test_duplicated_instance_fails() -> None:
    sealed = _three_hops()
    start, end = _seal_span(sealed, 2)
    result = _verify(sealed[start:end] + sealed)
    assert (result.status, result.code, result.failed_instance) == \
        (Status.FAIL, "duplicate_seal", 2)


def test_renumbered_sets_fail() -> None:
    """Swapping the instance numbers of sets 1 and 2 (a reordering of the chain)."""
    sealed = _three_hops()
    one, two = _set_fields(sealed, 1), _set_fields(sealed, 2)
    out = bytearray(sealed)
    for spans, old, new in ((one, b"i=1;", b"i=2;"), (two, b"i=2;", b"i=1;")):
        for start, end in spans:
            at = sealed.index(old, start, end)
            out[at:at + 4] = new
    result = _verify(bytes(out))
    assert result.status is Status.FAIL


def test_physical_order_of_sets_does_not_matter() -> None:
    """Sets are found by i=, not by position (RFC 8617 §4.2.1); the AS hashes them in
    instance order."""
    sealed = _three_hops()
    spans = _set_fields(sealed, 1)
    moved = b"".join(sealed[s:e] for s, e in spans)
    rest = sealed
    for start, end in reversed(spans):
        rest = rest[:start] + rest[end:]
    assert _verify(moved + rest).status is Status.PASS


# --- hostile input ------------------------------------------------------------------

def _bogus_set(i: int, cv: str = "pass") -> bytes:
    return (f"ARC-Seal: i={i}; a=rsa-sha256; cv={cv}; d=example.com; s=rsa; b=AAAA\r\n"
            f"ARC-Message-Signature: i={i}; a=rsa-sha256; d=example.com; s=rsa; "
            f"h=from; bh=AAAA; b=AAAA\r\n"
            f"ARC-Authentication-Results: i={i}; mx.example.com; spf=pass\r\n").encode()


def test_51_sets_fail_without_dns() -> None:
    resolver = _resolver()
    message = b"".join(_bogus_set(i) for i in range(51, 0, -1)) + MESSAGE
    result = arc.verify_arc(message, now=NOW).run(resolver)
    assert result.status is Status.FAIL
    assert result.code in ("too_many_sets", "bad_instance")
    assert resolver.queries == []


def test_instance_51_alone_fails() -> None:
    result = _verify(_bogus_set(51) + MESSAGE)
    assert (result.status, result.code) == (Status.FAIL, "bad_instance")


def test_thousand_arc_fields_fail_without_dns() -> None:
    resolver = _resolver()
    message = b"ARC-Seal: i=1; cv=none\r\n" * 1000 + MESSAGE
    result = arc.verify_arc(message, now=NOW).run(resolver)
    assert (result.status, result.code) == (Status.FAIL, "too_many_sets")
    assert resolver.queries == []


def test_cv_outside_the_grammar() -> None:
    sealed = _three_hops().replace(b"cv=pass", b"cv=maybe", 1)
    result = _verify(sealed)
    assert result.status is Status.FAIL
    assert "cv=" in result.reason


def test_ams_signing_arc_seal_is_refused() -> None:
    sealed = _three_hops()
    start, end = _set_fields(sealed, 3)[1]
    f = sealed[start:end]
    assert f.startswith(b"ARC-Message-Signature")
    bad = f.replace(b"h=from:", b"h=arc-seal:from:")
    result = _verify(sealed[:start] + bad + sealed[end:])
    assert result.status is Status.FAIL
    assert (result.code, result.failed_instance) == ("ams_failed", 3)
    assert "ARC-Seal" in result.reason


def test_sealing_with_arc_seal_in_headers_is_refused() -> None:
    with pytest.raises(UsageError):
        arc.seal_arc(MESSAGE, domain="example.com", selector="rsa", key=_keys()["rsa"][0],
                     authserv_id="mx.example.com", auth_results="spf=pass",
                     headers=["from", "arc-seal"], now=NOW)


def test_newest_cv_fail_ends_the_chain() -> None:
    sealed = _bogus_set(2, cv="fail") + _bogus_set(1, cv="none") + MESSAGE
    result = _verify(sealed)
    assert (result.status, result.code, result.failed_instance) == \
        (Status.FAIL, "chain_marked_failed", 2)


@settings(max_examples=200, deadline=None)
@given(value=st.binary(max_size=300), kind=st.sampled_from(
    ["ARC-Seal", "ARC-Message-Signature", "ARC-Authentication-Results"]))
def test_arbitrary_arc_field_is_a_result(value: bytes, kind: str) -> None:
    value = value.replace(b"\r", b"").replace(b"\n", b"")
    message = kind.encode() + b": " + value + b"\r\n" + MESSAGE
    result = arc.verify_arc(message, now=NOW).run(FakeResolver({}))
    assert result.status is Status.FAIL
    assert result.reason


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789=;:/+ \t", max_size=120))
def test_arbitrary_seal_tags_are_a_result(tags: str) -> None:
    sealed = _three_hops()
    start, end = _seal_span(sealed, 3)
    message = sealed[:start] + f"ARC-Seal: {tags}\r\n".encode() + sealed[end:]
    result = _verify(message)
    assert result.status is Status.FAIL


# --- sealing rules ------------------------------------------------------------------

def test_existing_sets_need_a_chain() -> None:
    with pytest.raises(UsageError, match="chain="):
        arc.seal_arc(_three_hops(), domain="example.com", selector="rsa",
                     key=_keys()["rsa"][0], authserv_id="mx.example.com",
                     auth_results="spf=pass", now=NOW)


def test_no_seal_on_a_chain_sealed_as_failed() -> None:
    sealed = _bogus_set(2, cv="fail") + _bogus_set(1, cv="none") + MESSAGE
    chain = _verify(sealed)
    with pytest.raises(SigningError, match="cv=fail"):
        arc.seal_arc(sealed, domain="example.com", selector="rsa", key=_keys()["rsa"][0],
                     authserv_id="mx.example.com", auth_results="arc=fail", chain=chain,
                     now=NOW)


def test_no_51st_set() -> None:
    message = b"".join(_bogus_set(i, "pass" if i > 1 else "none")
                       for i in range(50, 0, -1)) + MESSAGE
    with pytest.raises(SigningError, match="50"):
        arc.seal_arc(message, domain="example.com", selector="rsa", key=_keys()["rsa"][0],
                     authserv_id="mx.example.com", auth_results="arc=pass",
                     chain=ARCResult(Status.PASS, "given"), now=NOW)


def test_failed_chain_is_sealed_with_cv_fail_over_its_own_set_only() -> None:
    """CASES 51: instance 2's AMS is broken; the new seal has cv=fail and signs only
    its own set (RFC 8617 §5.1.2)."""
    two = _seal(_seal(MESSAGE, 0), 1)
    broken = two.replace(b"ARC test", b"ARC tost")     # Subject: every AMS fails
    chain = _verify(broken)
    assert (chain.status, chain.failed_instance) == (Status.FAIL, 2)
    fields = arc.seal_arc(broken, domain=DOMAINS[2], selector="rsa", key=_keys()["rsa"][0],
                          authserv_id="mx.lists.example.org",
                          auth_results=chain.authres(), chain=chain,
                          headers=HOP_HEADERS[2], now=NOW)
    assert b"cv=fail" in fields and b"i=3;" in fields
    result = _verify(fields + broken)
    assert (result.code, result.failed_instance) == ("chain_marked_failed", 3)
    # The seal covers the new AAR and AMS only.
    lines = fields.split(b"\r\n")
    starts = [i for i, line in enumerate(lines) if line and not line.startswith(b" ")]
    seal, ams, aar = (b"\r\n".join(lines[a:b]) + b"\r\n"
                      for a, b in zip(starts, [*starts[1:], len(lines) - 1], strict=True))
    b64 = re.search(rb"b=([^;]*);", seal)
    assert b64 is not None
    signature = base64.b64decode(b"".join(b64.group(1).split()))
    key = load_private_key(_keys()["rsa"][0]).public_key()
    assert check_signature(key, "rsa-sha256", signature,
                           signed_fields_input([aar, ams], seal, "relaxed"))
    assert recorded_arc(result) == "fail"


def recorded_arc(result: ARCResult) -> str:
    aar = result.sets[-1].auth_results
    assert aar is not None
    return aar.get("arc")[0].result


def test_seal_arguments() -> None:
    key = _keys()["rsa"][0]
    with pytest.raises(UsageError):
        arc.seal_arc(MESSAGE, domain="example.com", selector="rsa", key=key,
                     authserv_id="bad;id", auth_results="spf=pass", now=NOW)
    with pytest.raises(TypeError):
        arc.seal_arc(MESSAGE.decode(), domain="example.com", selector="rsa",  # type: ignore[arg-type]
                     key=key, authserv_id="mx", auth_results="spf=pass", now=NOW)
    with pytest.raises(TypeError):
        arc.seal_arc(MESSAGE, domain="example.com", selector="rsa", key=key,
                     authserv_id="mx", auth_results=42, now=NOW)  # type: ignore[arg-type]
    with pytest.raises(SigningError):
        arc.seal_arc(MESSAGE, domain="example.com", selector="rsa", key=b"not a key",
                     authserv_id="mx", auth_results="spf=pass", now=NOW)


def test_verify_arguments() -> None:
    with pytest.raises(TypeError):
        arc.verify_arc(MESSAGE.decode())  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        arc.verify_arc(MESSAGE, min_rsa_bits=-1)
    with pytest.raises(ValueError):
        arc.verify_arc(MESSAGE, budget=0.0)


def test_short_rsa_keys_do_not_validate() -> None:
    sealed = _three_hops()
    result = arc.verify_arc(sealed, now=NOW, min_rsa_bits=2048).run(_resolver())
    assert result.status is Status.FAIL
    assert "2048" in result.reason


def test_tempfail_is_a_fail_with_the_reason() -> None:
    resolver = FakeResolver({}, tempfail=[f"rsa._domainkey.{d}" for d in DOMAINS])
    result = arc.verify_arc(_three_hops(), now=NOW).run(resolver)
    assert result.status is Status.FAIL
    assert "could not be fetched" in result.reason


# --- display ------------------------------------------------------------------------

def test_display() -> None:
    result = _verify(_three_hops())
    assert str(result).startswith("arc=pass")
    assert "ARCResult" in repr(result)
    html = result._repr_html_()
    assert "lists.example.org" in html and "oldest-pass" in html
    failed = _verify(_three_hops().replace(b"the body", b"the bodY"))
    assert failed.authres().startswith("arc=fail reason=")
    assert "smtp.remote-ip=192.0.2.1" in failed.authres(remote_ip="192.0.2.1")
    assert "arc.chain" not in result.authres(chain=False)
    assert "i=3" in str(result.sets[2])
