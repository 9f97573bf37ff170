"""What is done with keys: accept a published key, check a signature, sign.

Shared by the DKIM verifier and signer and by ARC (RFC 8617), whose
ARC-Message-Signature and ARC-Seal are signed and checked as DKIM signatures are,
with keys from the same DNS records. Nothing here knows a header field: callers pass
the algorithm, the key and the octets (from ``_hashing.py``).

RSA signs with PKCS#1 v1.5 over the digest (RFC 6376 §3.3.1, RFC 8301); Ed25519
signs the SHA-256 digest of the data, not the data (RFC 8463 §3).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from ..status import Status
from ._key import PrivateKey, PublicKey, load_public_key
from ._signature import KeyRecord
from ._tags import ALGORITHMS

__all__ = ["KeyRefusal", "accept_key", "check_signature", "digest", "sign_digest"]

_PKCS1 = padding.PKCS1v15()
_PREHASHED = {"sha256": Prehashed(hashes.SHA256()), "sha1": Prehashed(hashes.SHA1())}


_HASHES = {"sha256": hashlib.sha256, "sha1": hashlib.sha1}


def digest(hash_name: str, data: bytes) -> bytes:
    """The ``hash_name`` ("sha256" or "sha1") digest of ``data``."""
    make = _HASHES.get(hash_name)
    if make is None:
        raise ValueError(f"unknown hash {hash_name!r}: sha256 or sha1 (RFC 6376 §3.3)")
    return make(data).digest()


def check_signature(key: PublicKey, algorithm: str, signature: bytes, data: bytes) -> bool:
    """Whether ``signature`` is the ``algorithm`` signature of ``data`` under ``key``.

    :param algorithm: an ``a=`` value: ``rsa-sha256``, ``ed25519-sha256``, ``rsa-sha1``.
        A key of another type than the algorithm's never verifies.
    :param data: the signed octets (the header hash input); hashed here.
    :raises ValueError: for an unknown algorithm.
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown signing algorithm {algorithm!r} (RFC 6376 §3.3)")
    key_type, hash_name = ALGORITHMS[algorithm]
    try:  # one type check per key: a key of another type never verifies
        if key_type == "rsa":
            if not isinstance(key, rsa.RSAPublicKey):
                return False
            key.verify(signature, digest(hash_name, data), _PKCS1, _PREHASHED[hash_name])
        else:
            if not isinstance(key, ed25519.Ed25519PublicKey):
                return False
            key.verify(signature, digest(hash_name, data))
    except InvalidSignature:
        return False
    return True


def sign_digest(key: PrivateKey, hash_name: str, data: bytes) -> bytes:
    """The signature (``b=``, decoded) of ``data``'s ``hash_name`` digest under ``key``:
    RSA PKCS#1 v1.5, or Ed25519 over the SHA-256 digest (RFC 8463 §3)."""
    hashed = digest(hash_name, data)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        if hash_name != "sha256":
            raise ValueError("Ed25519 signs the SHA-256 digest (RFC 8463 §3)")
        return key.sign(hashed)
    return key.sign(hashed, _PKCS1, _PREHASHED[hash_name])


@dataclass(frozen=True, slots=True)
class KeyRefusal:
    """Why a published key is not acceptable for a signature.

    ``status`` is PERMERROR when the key cannot be used at all, POLICY when it can but
    RFC 8301 says its result must not be trusted (``rsa_key_too_small``): a verifier
    reports that one only once the signature has verified.
    """

    status: Status
    code: str
    reason: str


def accept_key(record: KeyRecord, *, algorithm: str, key_name: str,
               min_rsa_bits: int = 1024) -> KeyRefusal | None:
    """Check a parsed key record against what the signature asks (RFC 6376 §3.6.1,
    §6.1.2; RFC 8301 §3.2); None when the key is acceptable.

    In order: revoked (empty ``p=``), ``key_revoked``; ``k=`` not the algorithm's key
    type, ``key_type_mismatch``; ``h=`` without the algorithm's hash,
    ``key_hash_not_allowed``; ``s=`` without email or ``*``, ``key_service_mismatch``;
    ``p=`` not a key of that type, ``key_syntax``; an RSA key shorter than
    ``min_rsa_bits``, ``rsa_key_too_small`` (status POLICY).

    :param algorithm: the signature's ``a=`` value.
    :param key_name: where the key was found (``<s>._domainkey.<d>``), for reasons.
    """
    key_type, hash_name = ALGORITHMS[algorithm]
    if record.revoked:
        return KeyRefusal(Status.PERMERROR, "key_revoked",
                          f"the key at {key_name} is revoked (empty p=)")
    if record.key_type != key_type:
        return KeyRefusal(Status.PERMERROR, "key_type_mismatch",
                          f"a={algorithm} needs a {key_type} key but {key_name} "
                          f"publishes k={record.key_type}")
    if record.hash_algorithms and hash_name not in record.hash_algorithms:
        return KeyRefusal(Status.PERMERROR, "key_hash_not_allowed",
                          f"the key allows h={':'.join(record.hash_algorithms)}, "
                          f"not {hash_name}")
    if "*" not in record.service_types and "email" not in record.service_types:
        return KeyRefusal(Status.PERMERROR, "key_service_mismatch",
                          f"the key is for s={':'.join(record.service_types)}, not email")
    try:
        key = load_public_key(record.key_type, record.public_key)
    except ValueError as exc:  # KeyDecodeError, or anything else the loader says
        return KeyRefusal(Status.PERMERROR, "key_syntax",
                          f"p= at {key_name} is not a usable {record.key_type} key: {exc}")
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < min_rsa_bits:
        return KeyRefusal(Status.POLICY, "rsa_key_too_small",
                          f"the RSA key has {key.key_size} bits; at least {min_rsa_bits} "
                          "are required (RFC 8301 §3.2)")
    return None
