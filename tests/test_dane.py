"""DANE for SMTP (RFC 6698, 7671, 7672): TLSA records, matching certificate chains made
here with cryptography, the DNSSEC-aware lookup flows, rollover help. Offline."""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import itertools
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import PrettyPrinter
from mailauth.dane import (
    DANEResult,
    DomainTLSA,
    TLSALookup,
    domain_tlsa_flow,
    match,
    parse_tlsa,
    parse_tlsa_wire,
    rollover_warnings,
    tlsa_flow,
    tlsa_record_for,
    usable,
)
from mailauth.errors import ArgumentTypeError, ParseError, UsageError
from mailauth.flows import TLSA, Answer, Check, Effect, Outcome, Query
from mailauth.status import Status
from mailauth.testing import FakeResolver, drive

NOW = datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC)
T = NOW.timestamp()
DAY = datetime.timedelta(days=1)
HOST = "mx.example.org"


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject: str, key: ec.EllipticCurvePrivateKey, issuer: str,
          issuer_key: ec.EllipticCurvePrivateKey, *, ca: bool, names: tuple[str, ...] = (),
          start: datetime.datetime = NOW - 30 * DAY,
          end: datetime.datetime = NOW + 60 * DAY) -> x509.Certificate:
    builder = (x509.CertificateBuilder().subject_name(_name(subject))
               .issuer_name(_name(issuer)).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(start).not_valid_after(end)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@dataclass
class PKI:
    root_key: ec.EllipticCurvePrivateKey
    root: x509.Certificate
    inter_key: ec.EllipticCurvePrivateKey
    inter: x509.Certificate
    leaf_key: ec.EllipticCurvePrivateKey
    leaf: x509.Certificate

    def leaf_for(self, *names: str, key: ec.EllipticCurvePrivateKey | None = None,
                 start: datetime.datetime = NOW - 30 * DAY,
                 end: datetime.datetime = NOW + 60 * DAY) -> x509.Certificate:
        return _cert(names[0] if names else "leaf", key or self.leaf_key, "Intermediate",
                     self.inter_key, ca=False, names=names, start=start, end=end)

    def chain(self, leaf: x509.Certificate | None = None) -> list[bytes]:
        return [der(leaf or self.leaf), der(self.inter)]


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(Encoding.DER)


def spki(cert: x509.Certificate) -> bytes:
    return cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def data(cert: x509.Certificate, selector: int, mtype: int) -> bytes:
    content = der(cert) if selector == 0 else spki(cert)
    return {0: content, 1: hashlib.sha256(content).digest(),
            2: hashlib.sha512(content).digest()}[mtype]


@pytest.fixture(scope="module")
def pki() -> PKI:
    root_key, inter_key, leaf_key = _key(), _key(), _key()
    root = _cert("Root", root_key, "Root", root_key, ca=True)
    inter = _cert("Intermediate", inter_key, "Root", root_key, ca=True)
    leaf = _cert(HOST, leaf_key, "Intermediate", inter_key, ca=False, names=(HOST,))
    return PKI(root_key, root, inter_key, inter, leaf_key, leaf)


# --- records --------------------------------------------------------------------------

def test_parse_presentation_form() -> None:
    digest = bytes(range(32))
    assert parse_tlsa(f"3 1 1 {digest.hex()}") == TLSA(3, 1, 1, digest)
    split = f"  3 1 1 {digest.hex()[:20]} {digest.hex()[20:40]}\n\t{digest.hex()[40:].upper()} "
    assert parse_tlsa(split) == TLSA(3, 1, 1, digest)
    assert parse_tlsa(f"DANE-EE SPKI SHA2-256 {digest.hex()}") == TLSA(3, 1, 1, digest)
    assert str(parse_tlsa("2 0 0 abcd")) == "2 0 0 abcd"


@pytest.mark.parametrize("text", ["", "3 1 1", "3 1 abcd", "3 1 1 abc", "256 1 1 ab",
                                  "3 1 1 zz", "X 1 1 ab", "3 1 1 ab cd ef g", "3,1,1,ab",
                                  "311 abcd", "3 11 abcd", "3 1 1abcd"])
def test_parse_refuses_what_is_not_a_record(text: str) -> None:
    with pytest.raises(ParseError):
        parse_tlsa(text)


def test_parse_is_linear_on_hostile_text() -> None:
    import time
    start = time.perf_counter()
    for text in ("3 1 1 " + " " * 50_000 + "g", " " * 50_000 + "x", "3 1 1 " + "a " * 50_000 + "!"):
        with pytest.raises(ParseError):
            parse_tlsa(text)
    assert time.perf_counter() - start < 2.0


def test_parse_wire_form() -> None:
    assert parse_tlsa_wire(b"\x03\x01\x01" + bytes(32)) == TLSA(3, 1, 1, bytes(32))
    assert parse_tlsa_wire(bytearray(b"\x02\x00\x00\xab")) == TLSA(2, 0, 0, b"\xab")
    for bad in (b"", b"\x03\x01\x01"):
        with pytest.raises(ParseError):
            parse_tlsa_wire(bad)


@pytest.mark.parametrize(("record", "why"), [
    (TLSA(3, 1, 1, bytes(32)), None),
    (TLSA(2, 0, 2, bytes(64)), None),
    (TLSA(3, 1, 0, b"\x30\x00"), None),
    (TLSA(0, 1, 1, bytes(32)), "PKIX-TA(0) is not used with SMTP"),
    (TLSA(1, 1, 1, bytes(32)), "PKIX-EE(1) is not used with SMTP"),
    (TLSA(4, 1, 1, bytes(32)), "unknown certificate usage 4"),
    (TLSA(3, 2, 1, bytes(32)), "unknown selector 2"),
    (TLSA(3, 1, 3, bytes(32)), "unknown matching type 3"),
    (TLSA(3, 1, 1, bytes(31)), "a SHA2-256 digest is 32 octets, this one 31"),
    (TLSA(3, 1, 2, bytes(32)), "a SHA2-512 digest is 64 octets, this one 32"),
    (TLSA(3, 1, 0, b""), "no certificate association data"),
])
def test_usable(record: TLSA, why: str | None) -> None:
    got = usable(record)
    if why is None:
        assert got is None
    else:
        assert got is not None and got.startswith(why)


@given(st.text(max_size=80))
def test_parse_tlsa_raises_only_parse_error(text: str) -> None:
    try:
        record = parse_tlsa(text)
    except ParseError:
        return
    assert 0 <= record.usage <= 255 and record.data


@given(st.binary(max_size=40))
def test_parse_tlsa_wire_raises_only_parse_error(raw: bytes) -> None:
    with contextlib.suppress(ParseError):
        parse_tlsa_wire(raw)


# --- matching -------------------------------------------------------------------------

@pytest.mark.parametrize(("usage", "selector", "mtype"),
                         list(itertools.product((0, 1, 2, 3), (0, 1), (0, 1, 2))))
def test_every_usage_selector_and_matching_type(pki: PKI, usage: int, selector: int,
                                                mtype: int) -> None:
    target = pki.inter if usage in (0, 2) else pki.leaf
    record = TLSA(usage, selector, mtype, data(target, selector, mtype))
    result = match([record], pki.chain(), hostname=HOST, now=T)
    if usage in (0, 1):  # RFC 7672 §3.1.3: unusable for SMTP, ignored
        assert result.status is Status.NONE
        assert result.records[0].outcome == "unusable"
        return
    assert result.status is Status.PASS, result.reason
    assert result.matched == record
    assert result.records[0].certificate == (1 if usage == 2 else 0)
    # a record of the same shape for another certificate does not match
    other = _cert("other", _key(), "other", _key(), ca=True)
    wrong = TLSA(usage, selector, mtype, data(other, selector, mtype))
    failed = match([wrong], pki.chain(), hostname=HOST, now=T)
    assert failed.status is Status.FAIL
    assert failed.records[0].outcome == "mismatch"


def test_records_as_strings(pki: PKI) -> None:
    text = f"3 1 1 {data(pki.leaf, 1, 1).hex()}"
    result = match([text], pki.chain(), now=T)
    assert result.status is Status.PASS
    assert str(result).startswith("dane=pass: 3 1 1 ")
    with pytest.raises(ParseError):
        match(["3 1 1 xyz"], pki.chain(), now=T)


def test_dane_ta_chain_through_the_intermediate_to_the_root(pki: PKI) -> None:
    chain = [*pki.chain(), der(pki.root)]
    for target in (pki.inter, pki.root):
        record = TLSA(2, 0, 1, data(target, 0, 1))
        result = match([record], chain, hostname=HOST, now=T)
        assert result.status is Status.PASS, result.reason
        assert "which issues the leaf" in result.reason


def test_intermediate_only_2_1_1(pki: PKI) -> None:
    record = TLSA(2, 1, 1, data(pki.inter, 1, 1))
    assert match([record], pki.chain(), hostname=HOST, now=T).status is Status.PASS
    # the server that leaves out its intermediate cannot be matched by it
    alone = match([record], [der(pki.leaf)], hostname=HOST, now=T)
    assert alone.status is Status.FAIL
    assert "no certificate of the chain" in alone.records[0].reason


def test_mismatching_key(pki: PKI) -> None:
    other_leaf = pki.leaf_for(HOST, key=_key())
    record = TLSA(3, 1, 1, data(pki.leaf, 1, 1))
    result = match([record], pki.chain(other_leaf), now=T)
    assert result.status is Status.FAIL
    assert result.matched is None
    assert "not the leaf's public key SHA2-256 digest" in result.reason


def test_expired_leaf_still_matches_under_dane_ee(pki: PKI) -> None:
    expired = pki.leaf_for("wrong.example", start=NOW - 400 * DAY, end=NOW - 30 * DAY)
    for selector in (0, 1):
        record = TLSA(3, selector, 1, data(expired, selector, 1))
        result = match([record], pki.chain(expired), hostname=HOST, now=T)
        assert result.status is Status.PASS, result.reason
        assert "not checked for DANE-EE" in result.reason


def test_dane_ta_checks_validity_and_names(pki: PKI) -> None:
    record = TLSA(2, 1, 1, data(pki.inter, 1, 1))
    expired = pki.leaf_for(HOST, start=NOW - 400 * DAY, end=NOW - DAY)
    result = match([record], pki.chain(expired), hostname=HOST, now=T)
    assert result.status is Status.FAIL
    assert "the leaf expired on" in result.reason
    future = pki.leaf_for(HOST, start=NOW + DAY)
    assert "not valid before" in match([record], pki.chain(future), hostname=HOST,
                                       now=T).reason
    wrong = pki.leaf_for("other.example.org")
    result = match([record], pki.chain(wrong), hostname=HOST, now=T)
    assert result.status is Status.FAIL
    assert "the leaf is for other.example.org, not mx.example.org" in result.reason
    # no hostname: a DANE-TA record cannot be checked, so it does not match
    assert "pass hostname=" in match([record], pki.chain(), now=T).reason
    # the TLSA base domain or the MX host name: either will do
    assert match([record], pki.chain(), hostname=("mail.example.net", HOST),
                 now=T).status is Status.PASS


@pytest.mark.parametrize(("names", "host", "ok"), [
    (("*.example.org",), "mx.example.org", True),
    (("*.example.org",), "a.mx.example.org", False),
    (("*.example.org",), "example.org", False),
    (("mx*.example.org",), "mx1.example.org", False),
    (("*.org",), "example.org", False),
    (("MX.Example.ORG",), "mx.example.org", True),
    (("other.example.org", "mx.example.org"), "MX.example.org.", True),
])
def test_leaf_names_for_dane_ta(pki: PKI, names: tuple[str, ...], host: str, ok: bool) -> None:
    record = TLSA(2, 0, 1, data(pki.inter, 0, 1))
    leaf = pki.leaf_for(*names)
    result = match([record], pki.chain(leaf), hostname=host, now=T)
    assert (result.status is Status.PASS) is ok, result.reason


def test_common_name_only_without_subject_alt_names(pki: PKI) -> None:
    record = TLSA(2, 0, 1, data(pki.inter, 0, 1))
    leaf = _cert(HOST, pki.leaf_key, "Intermediate", pki.inter_key, ca=False)
    assert match([record], pki.chain(leaf), hostname=HOST, now=T).status is Status.PASS


def test_dane_ta_needs_an_issuer_that_signed_the_leaf(pki: PKI) -> None:
    # same subject name as the intermediate, another key: the signature does not verify
    imposter_key = _key()
    imposter = _cert("Intermediate", imposter_key, "Root", pki.root_key, ca=True)
    record = TLSA(2, 1, 1, data(imposter, 1, 1))
    result = match([record], [der(pki.leaf), der(imposter)], hostname=HOST, now=T)
    assert result.status is Status.FAIL
    assert "signature does not verify" in result.reason
    # the leaf itself under a DANE-TA record
    self_record = TLSA(2, 1, 1, data(pki.leaf, 1, 1))
    assert "matches the leaf itself" in match([self_record], pki.chain(), hostname=HOST,
                                              now=T).reason


def test_current_and_next_pair(pki: PKI) -> None:
    """CASES 62: a 3 1 1 pair passes when either matches; after a rotation with the
    old record left in place it passes with a stale-record warning."""
    next_key = _key()
    new_leaf = pki.leaf_for(HOST, key=next_key)
    current = TLSA(3, 1, 1, data(pki.leaf, 1, 1))
    upcoming = TLSA(3, 1, 1, data(new_leaf, 1, 1))
    before = match([current, upcoming], pki.chain(), now=T)
    after = match([current, upcoming], pki.chain(new_leaf), now=T)
    assert before.status is after.status is Status.PASS
    assert before.matched == current and after.matched == upcoming
    assert len(after.warnings) == 1 and "stale record" in after.warnings[0]
    assert after.warnings[0].startswith(str(current)[:16])


def test_unusable_records_are_reported_and_ignored(pki: PKI) -> None:
    good = TLSA(3, 1, 1, data(pki.leaf, 1, 1))
    bad = [TLSA(1, 1, 1, data(pki.leaf, 1, 1)), TLSA(3, 1, 1, bytes(31)), TLSA(3, 9, 1, bytes(32))]
    result = match([*bad, good], pki.chain(), now=T)
    assert result.status is Status.PASS
    assert [o.outcome for o in result.records] == ["unusable"] * 3 + ["match"]
    only_bad = match(bad, pki.chain(), now=T)
    assert only_bad.status is Status.NONE
    assert "TLS is still required" in only_bad.reason
    assert match([], pki.chain(), now=T).status is Status.NONE


def test_bad_certificates_are_a_result(pki: PKI) -> None:
    ee = TLSA(3, 1, 1, data(pki.leaf, 1, 1))
    ta = TLSA(2, 1, 1, data(pki.inter, 1, 1))
    result = match([ee, ta], [b"not a certificate", der(pki.inter)], hostname=HOST, now=T)
    assert result.status is Status.FAIL
    assert "cannot be read" in result.records[0].reason
    assert "not a DER X.509 certificate" in result.records[1].reason
    # a full-certificate digest needs no parsing: the bytes are the certificate
    raw = b"\x30\x03\x02\x01\x01"
    assert match([TLSA(3, 0, 1, hashlib.sha256(raw).digest())], [raw],
                 now=T).status is Status.PASS
    assert match([ee], [], now=T).status is Status.FAIL


@settings(max_examples=150, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=3), st.sampled_from([0, 1]),
       st.sampled_from([0, 1, 2]), st.sampled_from([2, 3]))
def test_match_never_raises_on_random_bytes(chain: list[bytes], selector: int, mtype: int,
                                            usage: int) -> None:
    size = {0: 8, 1: 32, 2: 64}[mtype]
    result = match([TLSA(usage, selector, mtype, bytes(size))], chain, hostname=HOST, now=T)
    assert result.status in (Status.FAIL, Status.PASS)


def test_random_bytes_inside_a_der_shell_never_raise(pki: PKI) -> None:
    leaf = der(pki.leaf)
    for cut in range(0, len(leaf), 7):
        broken = leaf[:cut] + bytes([leaf[cut] ^ 0xFF]) + leaf[cut + 1:]
        match([TLSA(3, 1, 1, bytes(32)), TLSA(2, 1, 1, bytes(32))], [broken, der(pki.inter)],
              hostname=HOST, now=T)


def test_caller_mistakes(pki: PKI) -> None:
    with pytest.raises(ArgumentTypeError):
        match([TLSA(3, 1, 1, bytes(32))], der(pki.leaf), now=T)  # type: ignore[arg-type]
    with pytest.raises(ArgumentTypeError):
        match(TLSA(3, 1, 1, bytes(32)), pki.chain(), now=T)  # type: ignore[arg-type]
    with pytest.raises(ArgumentTypeError):
        match([3], pki.chain(), now=T)  # type: ignore[list-item]
    with pytest.raises(UsageError):
        match([], pki.chain(), hostname="a..b", now=T)


def test_cryptography_certificates_are_accepted(pki: PKI) -> None:
    record = TLSA(2, 1, 1, data(pki.inter, 1, 1))
    assert match([record], [pki.leaf, pki.inter], hostname=HOST,
                 now=T).status is Status.PASS


def test_result_display(pki: PKI) -> None:
    record = TLSA(3, 1, 1, data(pki.leaf, 1, 1))
    result = match([record, TLSA(0, 0, 1, bytes(32))], pki.chain(), hostname=HOST, now=T)
    assert isinstance(result, DANEResult)
    assert repr(result).startswith("<DANEResult dane=pass: 3 1 1 ")
    html = result._repr_html_()
    assert "PKIX-TA(0)" in html and "mx.example.org" in html
    printer = PrettyPrinter()
    result._repr_pretty_(printer, False)
    assert "unusable" in "".join(printer.out)


# --- rollover help --------------------------------------------------------------------

def test_tlsa_record_for(pki: PKI) -> None:
    for selector, mtype in itertools.product((0, 1), (0, 1, 2)):
        want = TLSA(3, selector, mtype, data(pki.leaf, selector, mtype))
        assert tlsa_record_for(pki.leaf, 3, selector, mtype) == want
        assert tlsa_record_for(der(pki.leaf), 3, selector, mtype) == want
    assert tlsa_record_for(pki.leaf_key.public_key()) == TLSA(3, 1, 1, data(pki.leaf, 1, 1))
    assert tlsa_record_for(pki.inter, 2, 1, 2).usage == 2
    with pytest.raises(UsageError):
        tlsa_record_for(pki.leaf_key.public_key(), 3, 0, 1)
    with pytest.raises(UsageError):
        tlsa_record_for(pki.leaf, 3, 1, 7)
    with pytest.raises(ArgumentTypeError):
        tlsa_record_for(b"junk")
    with pytest.raises(ArgumentTypeError):
        tlsa_record_for("3 1 1 ab")  # type: ignore[arg-type]


def test_rollover_warnings(pki: PKI) -> None:
    full = tlsa_record_for(pki.leaf, 3, 0, 1)
    key = tlsa_record_for(pki.leaf, 3, 1, 1)
    (warning,) = rollover_warnings([full], pki.chain())
    assert "break at every certificate renewal" in warning
    assert f"publish 3 1 1 {data(pki.leaf, 1, 1).hex()}" in warning
    assert rollover_warnings([full, key], pki.chain()) == ()
    assert rollover_warnings([key], pki.chain()) == ()
    assert rollover_warnings([TLSA(2, 1, 1, data(pki.inter, 1, 1)), full], pki.chain()) == ()
    # a 3 1 1 record for another key does not save a full-certificate record
    other_key = tlsa_record_for(_key().public_key())
    (warning,) = rollover_warnings([full, other_key], pki.chain())
    assert warning.startswith("only full-certificate records match")
    # nothing matches today
    (warning,) = rollover_warnings([other_key], pki.chain())
    assert "DANE fails already" in warning
    assert f"publish 3 1 1 {data(pki.leaf, 1, 1).hex()}" in warning
    # a pending key without its record
    pending = _key().public_key()
    (warning,) = rollover_warnings([key], pki.chain(), next_key=pending)
    assert "no TLSA record for the pending key" in warning
    assert str(tlsa_record_for(pending)) in warning
    assert rollover_warnings([key, tlsa_record_for(pending)], pki.chain(),
                             next_key=pending) == ()
    new_cert = pki.leaf_for(HOST, key=_key())
    # the pending certificate's own full-certificate record covers it
    assert rollover_warnings([key, tlsa_record_for(new_cert, 3, 0, 2)], pki.chain(),
                             next_key=new_cert) == ()


# --- lookups ----------------------------------------------------------------------------

TLSA_NAME = "_25._tcp.mx.example.org"
RECORD = "3 1 1 " + "ab" * 32


def test_tlsa_flow_asks_addresses_and_tlsa_together() -> None:
    a = Query(HOST, "A")
    aaaa = Query(HOST, "AAAA")
    tlsa = Query(TLSA_NAME, "TLSA")
    record = parse_tlsa(RECORD)
    replies = (Answer(a, Outcome.OK, (), authentic=True),
               Answer(aaaa, Outcome.NODATA, authentic=True),
               Answer(tlsa, Outcome.OK, (record,), authentic=True))
    result = drive(tlsa_flow(HOST), [((a, aaaa, tlsa), replies)])
    assert isinstance(result, TLSALookup)
    assert result.status is Status.PASS and result.applies
    assert result.records == (record,) and result.authentic
    assert result.hostnames == (HOST,)


def test_tlsa_flow_secure_insecure_bogus() -> None:
    zone = {HOST: {"A": ["192.0.2.1"]}, TLSA_NAME: {"TLSA": [RECORD]}}
    secure = Check(lambda: tlsa_flow(HOST)).run(FakeResolver(zone, authentic=[TLSA_NAME, HOST]))
    assert secure.status is Status.PASS and secure.addresses_authentic is True
    insecure = Check(lambda: tlsa_flow(HOST)).run(FakeResolver(zone, authentic=[HOST]))
    assert insecure.status is Status.NONE and insecure.records == ()
    assert insecure.addresses_authentic is True
    assert "_25._tcp.mx.example.org is not DNSSEC-signed" in insecure.reason
    # RFC 7672 §2.2.2: insecure address records, and DANE does not apply to the host
    addresses = Check(lambda: tlsa_flow(HOST)).run(FakeResolver(zone, authentic=[TLSA_NAME]))
    assert addresses.status is Status.NONE and addresses.addresses_authentic is False
    assert "address records of mx.example.org are not DNSSEC-signed" in addresses.reason
    # the address lookups fail: temperror
    gone = Check(lambda: tlsa_flow(HOST)).run(
        FakeResolver(zone, authentic=[TLSA_NAME], tempfail=[HOST]))
    assert gone.status is Status.TEMPERROR and gone.addresses_authentic is None
    bogus = Check(lambda: tlsa_flow(HOST)).run(
        FakeResolver(zone, authentic=[HOST], tempfail=[TLSA_NAME]))
    assert bogus.status is Status.TEMPERROR
    assert "never 'no TLSA records'" in bogus.reason
    none = Check(lambda: tlsa_flow(HOST)).run(
        FakeResolver({HOST: {"A": ["192.0.2.1"]}}, authentic=[TLSA_NAME, HOST]))
    assert none.status is Status.NONE and "no TLSA records" in none.reason


def test_tlsa_flow_with_only_unusable_records() -> None:
    zone = {TLSA_NAME: {"TLSA": ["1 1 1 " + "ab" * 32]}}
    result = Check(lambda: tlsa_flow(HOST)).run(FakeResolver(zone,
                                                             authentic=[TLSA_NAME, HOST]))
    assert result.status is Status.PASS and result.usable_records == ()
    assert "none is usable" in result.reason
    assert "PKIX-EE(1)" in result._repr_html_()


def test_tlsa_flow_follows_a_secure_cname_to_the_base_domain() -> None:
    target = "_25._tcp.mail.provider.example"
    zone = {HOST: {"CNAME": ["mail.provider.example"]},
            "mail.provider.example": {"A": ["192.0.2.1"]},
            target: {"TLSA": [RECORD]}}
    resolver = FakeResolver(zone, authentic=["mail.provider.example", target, TLSA_NAME])
    result = Check(lambda: tlsa_flow(HOST)).run(resolver)
    assert result.status is Status.PASS, result.reason
    assert result.name == target and result.base_domain == "mail.provider.example"
    assert result.hostnames == ("mail.provider.example", HOST)
    # an insecure CNAME chain: the addresses are insecure, DANE does not apply
    insecure = Check(lambda: tlsa_flow(HOST)).run(FakeResolver(zone, authentic=[target]))
    assert insecure.name == TLSA_NAME and insecure.status is Status.NONE
    assert "RFC 7672 §2.2.2" in insecure.reason
    assert insecure.base_domain == HOST
    # nothing at the expanded name: fall back to the original name
    zone2 = {**zone, TLSA_NAME: {"TLSA": [RECORD]}}
    del zone2[target]
    fallback = Check(lambda: tlsa_flow(HOST)).run(
        FakeResolver(zone2, authentic=["mail.provider.example", target, TLSA_NAME]))
    assert fallback.status is Status.PASS and fallback.name == TLSA_NAME
    # the lookup at the expanded name fails: temperror, not a fallback
    failed = Check(lambda: tlsa_flow(HOST)).run(
        FakeResolver(zone2, authentic=["mail.provider.example", TLSA_NAME], tempfail=[target]))
    assert failed.status is Status.TEMPERROR


def test_lookup_match_uses_its_records_and_names(pki: PKI) -> None:
    record = str(TLSA(2, 1, 1, data(pki.inter, 1, 1)))
    zone = {HOST: {"A": ["192.0.2.1"]}, TLSA_NAME: {"TLSA": [record]}}
    lookup = Check(lambda: tlsa_flow(HOST)).run(FakeResolver(zone,
                                                             authentic=[TLSA_NAME, HOST]))
    assert lookup.match(pki.chain(), now=T).status is Status.PASS
    insecure = Check(lambda: tlsa_flow(HOST)).run(FakeResolver(zone, authentic=[HOST]))
    verdict = insecure.match(pki.chain(), now=T)
    assert verdict.status is Status.NONE and "not DNSSEC-signed" in verdict.reason


def test_domain_flow_needs_an_authentic_mx_answer() -> None:
    zone = {"example.org": {"MX": ["10 mx.example.org", "20 mx2.example.org"]},
            TLSA_NAME: {"TLSA": [RECORD]}}
    insecure = Check(lambda: domain_tlsa_flow("example.org")).run(
        FakeResolver(zone, authentic=[TLSA_NAME]))
    assert insecure.status is Status.NONE and "RFC 7672 §2.2.1" in insecure.reason
    assert insecure.hosts == ()
    resolver = FakeResolver(zone, authentic=["example.org", TLSA_NAME, HOST, "mx2.example.org",
                                             "_25._tcp.mx2.example.org"])
    secure = Check(lambda: domain_tlsa_flow("example.org")).run(resolver)
    assert secure.status is Status.PASS
    assert [h.host for h in secure.hosts] == [HOST, "mx2.example.org"]
    assert [h.status for h in secure.hosts] == [Status.PASS, Status.NONE]
    assert "1 of 2 MX hosts" in secure.reason


def test_domain_flow_asks_hosts_together() -> None:
    zone = {"example.org": {"MX": ["10 a.example.org", "20 b.example.org"]}}
    resolver = FakeResolver(zone, authentic=["example.org"])
    script: list[Effect] = [Query("example.org", "MX"),
              (Query("a.example.org", "A"), Query("a.example.org", "AAAA"),
               Query("_25._tcp.a.example.org", "TLSA"), Query("b.example.org", "A"),
               Query("b.example.org", "AAAA"), Query("_25._tcp.b.example.org", "TLSA"))]
    result = drive(domain_tlsa_flow("example.org"), script, resolver=resolver)
    assert isinstance(result, DomainTLSA)
    assert result.status is Status.NONE


def test_domain_flow_failures_and_special_mx() -> None:
    failed = Check(lambda: domain_tlsa_flow("example.org")).run(
        FakeResolver({}, tempfail=["example.org"]))
    assert failed.status is Status.TEMPERROR
    null = Check(lambda: domain_tlsa_flow("example.org")).run(
        FakeResolver({"example.org": {"MX": ["0 ."]}}, authentic=["example.org"]))
    assert null.status is Status.NONE and "null MX" in null.reason
    implicit = Check(lambda: domain_tlsa_flow("example.org")).run(
        FakeResolver({"example.org": {"A": ["192.0.2.1"]},
                      "_25._tcp.example.org": {"TLSA": [RECORD]}},
                     authentic=["example.org", "_25._tcp.example.org"]))
    assert implicit.status is Status.PASS and implicit.hosts[0].host == "example.org"
    host_failed = Check(lambda: domain_tlsa_flow("example.org")).run(
        FakeResolver({"example.org": {"MX": ["10 mx.example.org"]}},
                     authentic=["example.org", HOST], tempfail=[TLSA_NAME]))
    assert host_failed.status is Status.TEMPERROR
    assert "mx.example.org" in host_failed.reason
    assert "dane=temperror" in str(host_failed)
    assert "mx.example.org" in host_failed._repr_html_()


def test_dane_ta_key_not_sent_2_1_0(pki: PKI) -> None:
    """RFC 7671 §5.2.2: a trust anchor published as its full key need not be sent."""
    record = TLSA(2, 1, 0, spki(pki.inter))
    alone = [der(pki.leaf)]
    result = match([record], alone, hostname=HOST, now=T)
    assert result.status is Status.PASS, result.reason
    assert "not sent by the server" in result.reason
    assert match([record], alone, hostname="other.example", now=T).status is Status.FAIL
    # the root's key, with the intermediate sent: the chain leads up to it
    root_record = TLSA(2, 1, 0, spki(pki.root))
    assert match([root_record], pki.chain(), hostname=HOST, now=T).status is Status.PASS
    # a key that signed nothing here
    stranger = TLSA(2, 1, 0, spki(_cert("x", _key(), "x", _key(), ca=True)))
    assert match([stranger], alone, hostname=HOST, now=T).status is Status.FAIL
    # garbage in place of a key
    assert match([TLSA(2, 1, 0, b"\x30\x03junk")], alone, hostname=HOST,
                 now=T).status is Status.FAIL


def test_rsa_chains_too() -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    builder = (x509.CertificateBuilder().subject_name(_name(HOST)).issuer_name(_name("CA"))
               .public_key(leaf_key.public_key()).serial_number(7)
               .not_valid_before(NOW - DAY).not_valid_after(NOW + DAY)
               .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST)]),
                              critical=False))
    leaf = builder.sign(ca_key, hashes.SHA256())
    ca = (x509.CertificateBuilder().subject_name(_name("CA")).issuer_name(_name("CA"))
          .public_key(ca_key.public_key()).serial_number(8)
          .not_valid_before(NOW - DAY).not_valid_after(NOW + DAY).sign(ca_key, hashes.SHA256()))
    chain = [der(leaf), der(ca)]
    for record in (TLSA(2, 1, 1, data(ca, 1, 1)), TLSA(2, 1, 0, spki(ca)),
                   TLSA(3, 1, 2, data(leaf, 1, 2))):
        assert match([record], chain if record.mtype else chain[:1], hostname=HOST,
                     now=T).status is Status.PASS


def test_check_dane_over_a_given_chain(pki: PKI) -> None:
    from mailauth.dane import check_dane
    record = str(TLSA(3, 1, 1, data(pki.leaf, 1, 1)))
    zone = {HOST: {"A": ["192.0.2.1"]}, TLSA_NAME: {"TLSA": [record]}}
    check = check_dane(HOST, chain=pki.chain(), now=T)
    result = check.run(FakeResolver(zone, authentic=[TLSA_NAME, HOST]))
    assert result.status is Status.PASS and result.lookup is not None
    assert result.lookup.name == TLSA_NAME
    assert "TLSA name" in result._repr_html_()
    other = pki.leaf_for(HOST, key=_key())
    assert check_dane(HOST, chain=pki.chain(other), now=T).run(
        FakeResolver(zone, authentic=[TLSA_NAME, HOST])).status is Status.FAIL
    insecure = check.run(FakeResolver(zone))
    assert insecure.status is Status.NONE and "not DNSSEC-signed" in insecure.reason
    bogus = check.run(FakeResolver(zone, authentic=[HOST], tempfail=[TLSA_NAME]))
    assert bogus.status is Status.TEMPERROR
    with pytest.raises(ArgumentTypeError):
        check_dane(HOST, chain=der(pki.leaf))  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        check_dane("bad..name", chain=pki.chain())


def test_dane_ta_names_the_reference_identifier_matched(pki: PKI) -> None:
    record = TLSA(2, 1, 1, data(pki.inter, 1, 1))
    result = match([record], pki.chain(), hostname=("mail.provider.example", HOST), now=T)
    assert result.records[0].reason.endswith("the leaf is for mx.example.org")


def test_dane_ta_checks_intermediates_below_the_anchor(pki: PKI) -> None:
    old_inter = _cert("Intermediate", pki.inter_key, "Root", pki.root_key, ca=True,
                      start=NOW - 400 * DAY, end=NOW - DAY)
    chain = [der(pki.leaf), der(old_inter), der(pki.root)]
    via_root = match([TLSA(2, 0, 1, data(pki.root, 0, 1))], chain, hostname=HOST, now=T)
    assert via_root.status is Status.FAIL
    assert "certificate 1 expired on" in via_root.reason
    # the anchor's own dates are not checked: the intermediate is the anchor here
    via_inter = match([TLSA(2, 1, 1, data(old_inter, 1, 1))], chain, hostname=HOST, now=T)
    assert via_inter.status is Status.PASS


def test_flows_run_under_asyncio(pki: PKI) -> None:
    import asyncio

    from mailauth.dane import check_dane
    record = str(TLSA(3, 1, 1, data(pki.leaf, 1, 1)))
    zone = {"example.org": {"MX": [f"10 {HOST}"]}, TLSA_NAME: {"TLSA": [record]}}
    resolver = FakeResolver(zone, authentic=["example.org", TLSA_NAME, HOST])

    async def both() -> tuple[DANEResult, DomainTLSA]:
        verdict = await check_dane(HOST, chain=pki.chain(), now=T).arun(resolver)
        domain = await Check(lambda: domain_tlsa_flow("example.org")).arun(resolver)
        return verdict, domain

    verdict, domain = asyncio.run(both())
    assert verdict.status is Status.PASS and domain.status is Status.PASS


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255),
                          st.binary(min_size=1, max_size=70)), max_size=4),
       st.data())
def test_match_never_raises_on_random_records_and_mutated_chains(
        pki: PKI, raw: list[tuple[int, int, int, bytes]], draw: st.DataObject) -> None:
    records = [TLSA(*r) for r in raw]
    chain = [der(pki.leaf), der(pki.inter)]
    which = draw.draw(st.integers(0, 1))
    at = draw.draw(st.integers(0, len(chain[which]) - 1))
    flipped = draw.draw(st.integers(1, 255))
    mutated = bytearray(chain[which])
    mutated[at] ^= flipped
    chain[which] = bytes(mutated)
    result = match(records, chain, hostname=HOST, now=T)
    assert result.status in (Status.PASS, Status.FAIL, Status.NONE)
    assert len(result.records) == len(records)
    rollover_warnings(records, chain)


def test_public_names() -> None:
    import mailauth.dane
    assert set(mailauth.dane.__all__) == {
        "MATCHING_TYPES", "MAX_CHAIN", "SELECTORS", "USAGES", "DANEResult", "DomainTLSA",
        "RecordOutcome", "TLSALookup", "check_dane", "domain_tlsa_flow", "match",
        "parse_tlsa", "parse_tlsa_wire", "rollover_warnings", "tlsa_flow", "tlsa_name",
        "tlsa_record_for", "usable", "MTASTSView", "webpki_verify"}
    for name in mailauth.dane.__all__:
        assert getattr(mailauth.dane, name) is not None
    assert DANEResult.__dataclass_params__.frozen  # type: ignore[attr-defined]
    assert "__slots__" in vars(DANEResult)


def test_generic_presentation_form() -> None:
    assert parse_tlsa(r"\# 5 030101abcd") == TLSA(3, 1, 1, b"\xab\xcd")
    assert parse_tlsa("\\# 4 0301 01ff") == TLSA(3, 1, 1, b"\xff")
    for bad in (r"\# 6 030101abcd", r"\# 3 030101", r"\# 2 0301"):
        with pytest.raises(ParseError):
            parse_tlsa(bad)


def test_ports_and_bad_mx_names() -> None:
    assert drive(tlsa_flow(HOST, 587), [
        ((Query(HOST, "A"), Query(HOST, "AAAA"), Query("_587._tcp.mx.example.org", "TLSA")),
         (Answer(Query(HOST, "A"), Outcome.NXDOMAIN, authentic=True),
          Answer(Query(HOST, "AAAA"), Outcome.NXDOMAIN, authentic=True),
          Answer(Query("_587._tcp.mx.example.org", "TLSA"), Outcome.NXDOMAIN,
                 authentic=True)))]).status is Status.NONE
    for port in (0, 65536):
        with pytest.raises(UsageError):
            next(tlsa_flow(HOST, port))
    long_label = "a" * 70 + ".example.org"
    bad = FakeResolver({"example.org": {"MX": [f"10 {long_label}"]}},
                       authentic=["example.org"])
    result = Check(lambda: domain_tlsa_flow("example.org")).run(bad)
    assert result.status is Status.NONE and "usable name" in result.reason
    assert any("cannot exist" in line for line in result.trace)


# --- webpki_verify: the WebPKI half of the MTA-STS view (RFC 8461 §4.2) -------------------


@pytest.fixture(scope="module")
def web() -> Any:
    from test_smtp_probe import make_webpki

    return make_webpki("mx.example.org", "*.mx.example.org", days=30)


def test_webpki_verify_a_valid_chain(web: Any) -> None:
    from mailauth.dane import webpki_verify

    now = datetime.datetime.now(datetime.UTC).timestamp()
    ok, why = webpki_verify(web.chain, "mx.example.org", [web.root], now=now)
    assert ok and why == "valid for mx.example.org, issued under the trusted " \
                         "CN=mailauth test root"
    assert webpki_verify(web.chain, "a.mx.example.org", [web.root], now=now)[0]
    # cryptography certificates are accepted as well as DER
    certs = [x509.load_der_x509_certificate(d) for d in web.chain]
    assert webpki_verify(certs, "mx.example.org", [web.root], now=now)[0]


@pytest.mark.parametrize(("host", "later", "chain", "words"), [
    ("mail.example.org", 0, "full", "no matching subjectAltName"),
    ("b.a.mx.example.org", 0, "full", "no matching subjectAltName"),  # one label only
    ("mx.example.org", 60, "full", "not valid at validation time"),   # expired
    ("mx.example.org", 0, "leaf", "candidates exhausted"),            # no intermediate
])
def test_webpki_verify_refuses(web: Any, host: str, later: int, chain: str,
                               words: str) -> None:
    from mailauth.dane import webpki_verify

    now = datetime.datetime.now(datetime.UTC).timestamp() + later * 86400
    ok, why = webpki_verify(web.chain if chain == "full" else web.chain[:1], host,
                            [web.root], now=now)
    assert not ok and why.startswith(f"not valid for {host}: ") and words in why, why
    assert "encountered processing" not in why


def test_webpki_verify_other_roots_nothing_and_garbage(web: Any) -> None:
    from mailauth.dane import webpki_verify
    from test_smtp_probe import make_webpki

    now = datetime.datetime.now(datetime.UTC).timestamp()
    assert not webpki_verify(web.chain, "mx.example.org", [make_webpki("x.test").root],
                             now=now)[0]
    assert webpki_verify((), "mx.example.org", [web.root], now=now) == (
        False, "no certificate was presented")
    assert webpki_verify(web.chain, "mx.example.org", [], now=now) == (
        False, "no trust anchors to verify against")
    ok, why = webpki_verify([b"junk", web.chain[1]], "mx.example.org", [web.root], now=now)
    assert not ok and why.startswith("certificate 0 is not readable")


@settings(max_examples=50, deadline=None)
@given(st.lists(st.binary(max_size=300), min_size=1, max_size=3))
def test_webpki_verify_never_raises_on_bytes(blobs: list[bytes]) -> None:
    from mailauth.dane import webpki_verify
    from test_smtp_probe import make_webpki

    root = _ROOTS.get("x.test") or _ROOTS.setdefault("x.test", make_webpki("x.test").root)
    ok, why = webpki_verify(blobs, "mx.example.org", [root], now=1_780_000_000)
    assert ok is False and why


_ROOTS: dict[str, x509.Certificate] = {}
