"""Keeping TLSA records right through certificate renewals (RFC 7671 §8, RFC 7672 §3.1.1).

A ``3 1 1`` record (the leaf's public key) survives a renewal that keeps the key; a
``3 0 1`` record (the whole certificate) breaks at every renewal, even with the same
key. A new key needs its record published before the server uses it, at least two
TTLs ahead (RFC 7671 §8.1), so the set holds the current and the next key's records.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from .._flow import TLSA
from ..errors import ArgumentTypeError, UsageError
from ._cert import digest, load
from ._match import _chain, _records
from ._record import MATCHING_TYPES, SELECTORS, USAGES, short, usable

__all__ = ["rollover_warnings", "tlsa_record_for"]

CertOrKey = bytes | x509.Certificate | PublicKeyTypes


def _spki(key: Any) -> bytes:
    try:
        data: bytes = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    except Exception as exc:
        raise ArgumentTypeError(f"not a public key cryptography can encode: {exc}") from None
    return data


def tlsa_record_for(cert_or_key: CertOrKey, usage: int = 3, selector: int = 1,
                    mtype: int = 1) -> TLSA:
    """The TLSA record to publish for a certificate or a public key (RFC 6698 §2.1).

    :param cert_or_key: a certificate (DER bytes or a cryptography certificate) or a
        public key (cryptography); a key gives only selector 1 (SPKI) records.
    :param usage: 3 (DANE-EE, the server's own certificate or key) or 2 (DANE-TA, an
        issuer's); 0 and 1 are made too, though SMTP does not use them.
    :param selector: 1 (SubjectPublicKeyInfo, survives renewals with the same key) or
        0 (the full certificate).
    :param mtype: 1 (SHA2-256), 2 (SHA2-512) or 0 (the data itself).
    :raises UsageError: for parameters outside the registries, or selector 0 with a key.
    :raises ArgumentTypeError: for something that is neither a certificate nor a key.
    """
    for label, value, table in (("usage", usage, USAGES), ("selector", selector, SELECTORS),
                                ("mtype", mtype, MATCHING_TYPES)):
        if not isinstance(value, int) or isinstance(value, bool) or value not in table:
            raise UsageError(f"{label}= is one of {sorted(table)}, not {value!r}")
    if isinstance(cert_or_key, bytes | bytearray | memoryview | x509.Certificate):
        presented = load(0, cert_or_key)
        if presented.cert is None:
            raise ArgumentTypeError(f"the certificate is {presented.error}")
        data = presented.association(selector, mtype)
        if data is None:
            raise ArgumentTypeError(f"the certificate's public key cannot be read: "
                                    f"{presented.spki_error}")
        return TLSA(usage, selector, mtype, data)
    if selector == 0:
        raise UsageError("a full-certificate record (selector 0) needs the certificate, "
                         "not its key")
    data = digest(_spki(cert_or_key), mtype)
    return TLSA(usage, selector, mtype, data)


def rollover_warnings(records: Iterable[TLSA | str], chain: Sequence[bytes | x509.Certificate],
                      *, next_key: CertOrKey | None = None) -> tuple[str, ...]:
    """What in the published TLSA set will break at the next certificate renewal.

    - nothing matches the chain now (DANE fails already);
    - the records that match now are all ``3 0 x`` (the whole leaf certificate) and no
      DANE-TA record matches: every renewal breaks them, even with the same key;
    - ``next_key`` (the key or certificate the server will use next) has no record:
      it fails the day it is deployed;
    - each warning names the fix (the record to publish).

    :param records: the published records (TLSA or ``"3 1 1 <hex>"`` strings).
    :param chain: the certificates the server presents now, leaf first.
    :param next_key: the pending key or certificate, if one is staged.
    """
    published = tuple(r for r in _records(records) if usable(r) is None)
    certs = _chain(chain)
    warnings: list[str] = []
    ee = [r for r in published if r.usage == 3]
    ta = [r for r in published if r.usage == 2]
    leaf = certs[0] if certs else None
    fix = "3 1 1 <SHA2-256 of the leaf's public key>"
    if leaf is not None:
        spki_digest = leaf.association(1, 1)
        if spki_digest is not None:
            fix = f"3 1 1 {spki_digest.hex()}"
    # What holds today: DANE-EE records for the leaf, DANE-TA records for a certificate
    # the server sends above it (the issuing relation is match()'s business).
    ee_now = [r for r in ee if leaf is not None and leaf.association(r.selector, r.mtype)
              == r.data]
    ta_now = [r for r in ta if any(c.association(r.selector, r.mtype) == r.data
                                   for c in certs[1:])]
    if certs and published and not ee_now and not ta_now:
        warnings.append(f"no published record matches the certificates the server presents "
                        f"now: DANE fails already, not only at the next renewal; publish "
                        f"{fix} (the leaf's public key, RFC 7671 §5.1)")
    elif ee_now and not ta_now and all(r.selector == 0 for r in ee_now):
        pinned = ", ".join(short(r) for r in ee_now)
        warnings.append(f"only full-certificate records match ({pinned}): they break at "
                        f"every certificate renewal, even when the key is kept; publish {fix} "
                        "(the public key, RFC 7671 §5.1) and remove the 3 0 x records once "
                        "it is in the DNS")
    if next_key is not None:
        wanted = tlsa_record_for(next_key, 3, 1, 1)
        spki = tlsa_record_for(next_key, 3, 1, 0).data
        covered = any(_covers(r, spki) for r in ee)
        if not covered and isinstance(next_key, bytes | bytearray | memoryview
                                      | x509.Certificate):
            cert_data = load(0, next_key)
            covered = any(r.selector == 0 and cert_data.association(0, r.mtype) == r.data
                          for r in ee)
        if not covered and not ta_now:
            warnings.append(f"no TLSA record for the pending key: publish {wanted} at least "
                            "two TTLs before the server uses it (RFC 7671 §8.1)")
    return tuple(warnings)


def _covers(record: TLSA, spki: bytes) -> bool:
    return record.selector == 1 and digest(spki, record.mtype) == record.data
