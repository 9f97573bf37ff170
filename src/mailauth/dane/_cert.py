"""Certificates as DANE reads them: DER bytes, the SubjectPublicKeyInfo as encoded in
the certificate, the association data of a selector and matching type, issuing
relations and names. Nothing here raises on bad input: a certificate that is not DER
is a :class:`Presented` with ``error`` set."""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.utils import CryptographyDeprecationWarning

__all__ = ["Presented", "association", "digest", "dns_names", "issued_by", "load", "name_matches",
           "signed_by_key", "spki_of"]


def _der_item(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the DER item at ``pos``."""
    if pos + 2 > len(data):
        raise ValueError("truncated DER")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise ValueError("multi-octet DER tags are not used in certificates")
    first = data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            raise ValueError("bad DER length")
        length = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    if pos + length > len(data):
        raise ValueError("DER item runs past the end")
    return tag, pos, pos + length


def spki_of(der: bytes) -> bytes:
    """The SubjectPublicKeyInfo of a DER certificate, exactly as encoded in it
    (RFC 5280 §4.1: the seventh item of tbsCertificate, counting the optional
    version). Selector 1 hashes these bytes (RFC 6698 §2.1.2).

    :raises ValueError: when the bytes are not a certificate's DER structure.
    """
    tag, start, end = _der_item(der, 0)
    if tag != 0x30:
        raise ValueError("a certificate is a DER SEQUENCE")
    tag, start, end = _der_item(der, start)  # tbsCertificate
    if tag != 0x30:
        raise ValueError("tbsCertificate is a DER SEQUENCE")
    pos = start
    tag, _, item_end = _der_item(der, pos)
    if tag == 0xA0:  # [0] EXPLICIT version
        pos = item_end
    for _ in range(5):  # serialNumber, signature, issuer, validity, subject
        _, _, pos = _der_item(der, pos)
        if pos > end:
            raise ValueError("tbsCertificate is truncated")
    tag, _, item_end = _der_item(der, pos)
    if tag != 0x30 or item_end > end:
        raise ValueError("no SubjectPublicKeyInfo where RFC 5280 §4.1 puts it")
    return der[pos:item_end]


@dataclass(slots=True)
class Presented:
    """One certificate of the chain: its DER, parsed when it parses, else ``error``."""

    index: int
    der: bytes
    cert: x509.Certificate | None = None
    error: str | None = None
    _data: dict[tuple[int, int], bytes | None] = field(default_factory=dict)
    spki_error: str | None = None

    def association(self, selector: int, mtype: int) -> bytes | None:
        """The association data this certificate gives for a selector and matching
        type, or None when the selected part cannot be read."""
        key = (selector, mtype)
        if key not in self._data:
            self._data[key] = association(self, selector, mtype)
        return self._data[key]


def load(index: int, item: Any) -> Presented:
    """A chain item (DER bytes or a cryptography certificate) as a :class:`Presented`."""
    if isinstance(item, x509.Certificate):
        try:
            from cryptography.hazmat.primitives.serialization import Encoding
            return Presented(index, item.public_bytes(Encoding.DER), item)
        except Exception as exc:  # pragma: no cover - a certificate that cannot encode
            return Presented(index, b"", None, f"cannot encode the certificate: {exc}")
    der = bytes(item)
    try:
        with warnings.catch_warnings():
            # A certificate from the network with a non-positive serial number draws a
            # CryptographyDeprecationWarning: the caller cannot act on it, so it is not
            # passed on (the certificate is still read, as RFC 7672 §3.1.1 ignores it).
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            cert = x509.load_der_x509_certificate(der)
        # cryptography parses some fields only when they are asked for: ask now, so
        # a broken field is this certificate's error and not an exception later.
        _ = (cert.issuer, cert.subject, cert.not_valid_before_utc,
             cert.not_valid_after_utc)
    except Exception as exc:
        return Presented(index, der, None, f"not a DER X.509 certificate ({_short(exc)})")
    return Presented(index, der, cert)


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:120]


def association(cert: Presented, selector: int, mtype: int) -> bytes | None:
    """Selected content (RFC 6698 §2.1.2), then matched (§2.1.3)."""
    if selector == 0:
        content = cert.der
    else:
        try:
            content = spki_of(cert.der)
        except (ValueError, IndexError) as exc:
            cert.spki_error = str(exc)
            return None
    return digest(content, mtype)


def digest(content: bytes, mtype: int) -> bytes:
    """Matching type 0 (the content), 1 (SHA2-256) or 2 (SHA2-512), RFC 6698 §2.1.3."""
    if mtype == 0:
        return content
    if mtype == 1:
        return hashlib.sha256(content).digest()
    return hashlib.sha512(content).digest()


def issued_by(child: x509.Certificate, issuer: x509.Certificate) -> str | None:
    """Why ``issuer`` did not issue ``child`` (issuer name, then signature), or None."""
    try:
        if child.issuer != issuer.subject:
            return "its subject is not the certificate's issuer name"
        child.verify_directly_issued_by(issuer)
    except Exception as exc:
        return f"the signature does not verify with its key ({_short(exc) or 'invalid'})"
    return None


def signed_by_key(child: x509.Certificate, spki: bytes) -> bool:
    """Whether ``child``'s signature verifies with the key whose DER SubjectPublicKeyInfo
    is ``spki`` (a trust anchor known by its key alone, RFC 7671 §5.2.2)."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
    from cryptography.hazmat.primitives.serialization import load_der_public_key
    try:
        key = load_der_public_key(spki)
        params: Any = child.signature_algorithm_parameters
        signature, tbs = child.signature, child.tbs_certificate_bytes
        if isinstance(key, rsa.RSAPublicKey):
            hash_algorithm = child.signature_hash_algorithm
            if hash_algorithm is None:
                return False
            key.verify(signature, tbs, params, hash_algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, tbs, params)
        elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            key.verify(signature, tbs)
        else:
            return False
    except Exception:
        return False
    return True


def dns_names(cert: x509.Certificate) -> tuple[str, ...]:
    """The names a certificate is for: its subjectAltName DNS names, or when it has
    none, its subject common names (RFC 6125 §6.4.4). Lower case, no final dot."""
    names: list[str] = []
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        names = [str(n) for n in ext.value.get_values_for_type(x509.DNSName)]
    except x509.ExtensionNotFound:
        names = []
    except Exception:
        return ()
    if not names:
        try:
            names = [str(a.value) for a in
                     cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)]
        except Exception:
            return ()
    return tuple(n.lower().rstrip(".") for n in names)


def name_matches(pattern: str, host: str) -> bool:
    """A certificate name matches a host name: equal, or a ``*`` leftmost label standing
    for exactly one label (RFC 7672 §3.2.3, RFC 6125 §6.4.3); no partial wildcards."""
    if pattern == host:
        return True
    if not pattern.startswith("*."):
        return False
    rest = pattern[2:]
    if "*" in rest or rest.count(".") < 1:  # never "*.com"-like one-label bases
        return False
    label, dot, parent = host.partition(".")
    return bool(dot) and bool(label) and parent == rest
