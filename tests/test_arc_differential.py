"""ARC against dkimpy, both directions: chains of one to three hops sealed by mailauth
(``seal_arc``), by dkimpy (``dkim.ARC.sign``, what ``dkim.arc_sign`` calls) or by both in
turn, each verified by both (``verify_arc`` over ``mailauth.testing.FakeResolver``,
``dkim.arc_verify`` over a dnsfunc serving the same records); and the same chains
tampered with, which must fail on both sides.

Messages come from hypothesis: a From field and random other fields (folded values,
runs of white space), bodies with blank-line runs and trailing white space, CRLF line
ends (as SMTP delivers them). Each hop does what a real sealer does: it verifies the
chain it received, records its findings (``arc=`` with the chain's verdict) and seals.

dkimpy's ARC knows only rsa-sha256 (the one algorithm RFC 8617 names) and its ARC signer
loads only PEM RSA keys. For Ed25519 chains the tests widen its ARC algorithm table to
the ed25519-sha256 entry its DKIM already uses, and let its key loader return the
PyNaCl signing key its DKIM signer builds; the hashing, signing and verifying are
dkimpy's own. Without PyNaCl those cases are skipped with that reason.

The default run keeps a few examples per combination; ``-m slow`` runs many more.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

import dkim as dkimpy
import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailauth import Status
from mailauth.arc import ARCResult, seal_arc, verify_arc
from mailauth.dkim import generate_key
from mailauth.testing import FakeResolver

NOW = 1_700_000_000            # t= in the past: dkimpy refuses a t= in the future
KINDS = ["rsa", "ed25519"]
PATTERNS = ["O", "T", "OO", "TT", "OT", "TO", "OOO", "TTT", "OTO", "TOT"]  # O ours, T dkimpy
TAMPERS = ["body", "subject", "oldest-aar", "drop-newest-seal", "newest-ams-bh"]
FAST = settings(max_examples=3, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SLOW = settings(max_examples=40, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def sealer(hop: int) -> str:
    return f"hop{hop}.example"


@cache
def key(kind: str) -> Any:
    return generate_key(kind)  # type: ignore[arg-type]


@cache
def records() -> dict[str, dict[str, list[str]]]:
    return {f"{kind[:2]}._domainkey.{sealer(h)}": {"TXT": [key(kind).txt_value]}
            for h in (1, 2, 3) for kind in KINDS}


@cache
def resolver() -> FakeResolver:
    return FakeResolver(records())


def dnsfunc(name: bytes | str, timeout: int = 5) -> bytes | None:
    text = name.decode() if isinstance(name, bytes) else name
    value = records().get(text.rstrip("."))
    return value["TXT"][0].encode() if value else None


def dkimpy_private(kind: str) -> bytes:
    if kind == "rsa":
        return bytes(key(kind).private_key_pem)
    private: Any = serialization.load_pem_private_key(key(kind).private_key_pem, None)
    raw = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                serialization.NoEncryption())
    return base64.b64encode(raw)


@pytest.fixture(scope="module", autouse=True)
def dkimpy_with_ed25519() -> Iterator[None]:
    """dkimpy's ARC with its DKIM's Ed25519 support (see the module docstring)."""
    nacl_signing = pytest.importorskip("nacl.signing", reason="dkimpy needs PyNaCl for Ed25519")
    nacl_encoding = pytest.importorskip("nacl.encoding")
    pem_loader = dkimpy.parse_pem_private_key

    def load(data: bytes) -> Any:
        if data.lstrip().startswith(b"-----"):
            return pem_loader(data)
        return nacl_signing.SigningKey(data, encoder=nacl_encoding.Base64Encoder)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(dkimpy, "parse_pem_private_key", load)
        mp.setattr(dkimpy, "ARC_HASH_ALGORITHMS", {
            **dkimpy.ARC_HASH_ALGORITHMS,
            b"ed25519-sha256": dkimpy.HASH_ALGORITHMS[b"ed25519-sha256"]})
        yield


# --- the two sealers -------------------------------------------------------------------------

def ours_verify(message: bytes) -> ARCResult:
    return verify_arc(message, now=NOW + 60).run(resolver())


def theirs_verify(message: bytes) -> tuple[str, list[dict[str, Any]], str]:
    cv, results, comment = dkimpy.arc_verify(message, dnsfunc=dnsfunc)
    # dkimpy answers None for a chain whose seal says cv=fail ("the chain is
    # terminated"): a failed chain (RFC 8617 §5.2 step 2).
    return "fail" if cv is None else cv.decode(), results, comment


def ours_seal(message: bytes, hop: int, kind: str) -> bytes:
    chain = ours_verify(message)
    found = f"{chain.authres()}; spf=pass smtp.mailfrom=alice@example.org"
    return seal_arc(message, domain=sealer(hop), selector=kind[:2],
                    key=key(kind).private_key_pem, authserv_id=sealer(hop),
                    auth_results=found, chain=chain, now=NOW) + message


def theirs_seal(message: bytes, hop: int, kind: str) -> bytes:
    # dkimpy reads this hop's findings, arc= included, from its own Authentication-Results.
    cv = theirs_verify(message)[0] if b"ARC-Seal:" in message else "none"
    stamped = (f"Authentication-Results: {sealer(hop)}; arc={cv}; "
               "spf=pass smtp.mailfrom=alice@example.org\r\n").encode() + message
    arc = dkimpy.ARC(stamped, signature_algorithm=b"rsa-sha256" if kind == "rsa"
                     else b"ed25519-sha256")
    fields = arc.sign(kind[:2].encode(), sealer(hop).encode(), dkimpy_private(kind),
                      sealer(hop).encode(), include_headers=arc.default_sign_headers(),
                      timestamp=NOW)
    assert len(fields) == 3, "dkimpy sealed nothing"
    return b"".join(fields) + stamped


SEALERS: dict[str, Callable[[bytes, int, str], bytes]] = {"O": ours_seal, "T": theirs_seal}


def seal_chain(message: bytes, pattern: str, kinds: str | list[str]) -> bytes:
    for hop, who in enumerate(pattern, 1):
        kind = kinds if isinstance(kinds, str) else kinds[hop - 1]
        message = SEALERS[who](message, hop, kind)
    return message


# --- messages ----------------------------------------------------------------------------------

_WORD = st.text(alphabet=st.sampled_from("abcXYZ019<>@.,!?-_()'=/"), min_size=1, max_size=8)


@st.composite
def field_value(draw: st.DrawFn) -> str:
    words = draw(st.lists(_WORD, min_size=1, max_size=6))
    out = ""
    for w in words:
        out += draw(st.sampled_from([" ", "  ", "\t", "\r\n ", "\r\n\t"])) + w
    return out + draw(st.sampled_from(["", " ", "\t"]))


@st.composite
def message(draw: st.DrawFn) -> bytes:
    names = draw(st.lists(st.sampled_from(
        ["To", "Cc", "Date", "Message-ID", "Reply-To", "X-Custom", "MIME-Version",
         "Content-Type", "List-Id", "In-Reply-To"]), max_size=5))
    fields = [f"{name}:{draw(field_value())}" for name in names]
    fields.insert(draw(st.integers(0, len(fields))), "From: Alice <alice@example.org>")
    fields.append(f"Subject: the plan{draw(field_value())}")
    body = draw(st.lists(st.one_of(
        st.just(""), st.sampled_from([" ", "\t", "  \t"]),
        st.text(alphabet=st.sampled_from("abc xyz\t.,!"), max_size=30)), max_size=10))
    text = "\r\n".join(fields) + "\r\n\r\nhello\r\n" + "\r\n".join(body) + "\r\n"
    return text.encode()


# --- tampering -------------------------------------------------------------------------------

def _after(message: bytes, marker: bytes, old: bytes, new: bytes) -> bytes:
    at = message.index(old, message.index(marker))
    return message[:at] + new + message[at + len(old):]


def tamper(message: bytes, how: str) -> bytes:
    if how == "body":                    # covered by every AMS
        return _after(message, b"\r\n\r\nhello", b"hello", b"hallo")
    if how == "subject":                 # a field every AMS signs
        return message.replace(b"Subject: the plan", b"Subject: the plot", 1)
    if how == "oldest-aar":              # covered by every AS
        return _after(message, b"ARC-Authentication-Results: i=1;", b"alice@", b"alicf@")
    if how == "drop-newest-seal":        # an incomplete newest set
        start = message.index(b"ARC-Seal:")
        end = start + 1
        while True:                      # the field runs until a line without WSP
            end = message.index(b"\r\n", end) + 2
            if message[end:end + 1] not in (b" ", b"\t"):
                break
        return message[:start] + message[end:]
    if how == "newest-ams-bh":           # the newest AMS's own bytes
        return _after(message, b"ARC-Message-Signature:", b"bh=", b"bh=A")
    raise AssertionError(how)


# --- the checks --------------------------------------------------------------------------------

def check_both_pass(msg: bytes, pattern: str, kinds: str | list[str]) -> None:
    sealed = seal_chain(msg, pattern, kinds)
    ours = ours_verify(sealed)
    cv, results, comment = theirs_verify(sealed)
    assert ours.status is Status.PASS, (ours.reason, sealed)
    assert cv == "pass", (comment, sealed)
    assert ours.chain == tuple(sealer(h) for h in range(1, len(pattern) + 1))
    assert ours.oldest_pass == 0
    assert all(r["as-valid"] and r["ams-valid"] for r in results), results


def check_both_fail(msg: bytes, pattern: str, kinds: str | list[str], how: str) -> None:
    sealed = seal_chain(msg, pattern, kinds)
    assert ours_verify(sealed).status is Status.PASS
    bad = tamper(sealed, how)
    assert bad != sealed
    ours = ours_verify(bad)
    cv, _, comment = theirs_verify(bad)
    assert ours.status is Status.FAIL, (how, ours.reason, bad)
    assert cv == "fail", (how, comment, bad)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("pattern", PATTERNS)
@FAST
@given(msg=message())
def test_chains_sealed_by_either_verify_on_both_sides(msg: bytes, pattern: str,
                                                      kind: str) -> None:
    check_both_pass(msg, pattern, kind)


@pytest.mark.parametrize("how", TAMPERS)
@pytest.mark.parametrize("pattern", ["OTO", "TOT"])
@FAST
@given(msg=message(), kinds=st.lists(st.sampled_from(KINDS), min_size=3, max_size=3))
def test_tampered_chains_fail_on_both_sides(msg: bytes, pattern: str, how: str,
                                            kinds: list[str]) -> None:
    check_both_fail(msg, pattern, kinds, how)


def test_a_failed_chain_sealed_by_dkimpy_with_cv_fail_fails_for_us() -> None:
    # dkimpy seals over a chain it found failed (cv=fail, RFC 8617 §5.1.2): the chain
    # is failed for both from then on.
    base = seal_chain(b"From: a@example.org\r\nSubject: the plan\r\n\r\nhello\r\n", "O", "rsa")
    broken = tamper(base, "body")
    resealed = theirs_seal(broken, 2, "rsa")
    assert b"cv=fail" in resealed
    assert ours_verify(resealed).status is Status.FAIL
    assert theirs_verify(resealed)[0] == "fail"


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("pattern", PATTERNS)
@SLOW
@given(msg=message())
def test_slow_chains_sealed_by_either_verify_on_both_sides(msg: bytes, pattern: str,
                                                           kind: str) -> None:
    check_both_pass(msg, pattern, kind)


@pytest.mark.slow
@pytest.mark.parametrize("how", TAMPERS)
@pytest.mark.parametrize("pattern", ["OOO", "TTT", "OTO", "TOT"])
@SLOW
@given(msg=message(), kinds=st.lists(st.sampled_from(KINDS), min_size=3, max_size=3))
def test_slow_tampered_chains_fail_on_both_sides(msg: bytes, pattern: str, how: str,
                                                 kinds: list[str]) -> None:
    check_both_fail(msg, pattern, kinds, how)
