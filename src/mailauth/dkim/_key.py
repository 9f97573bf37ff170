"""Keys: public keys from key records, private keys for signing, key generation.

RSA keys in ``p=`` are SubjectPublicKeyInfo DER (RFC 6376 §3.6.1); some domains
publish a bare PKCS#1 RSAPublicKey, which is accepted too. Ed25519 keys are the raw
32 octets (RFC 8463 §4.2). Parsed public keys are memoised by their bytes, so a run
over many messages from the same signers decodes each key once.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, TypeAlias

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from ..errors import ArgumentTypeError, SigningError

__all__ = [
    "GeneratedKey",
    "KeyDecodeError",
    "PrivateKey",
    "PublicKey",
    "generate_key",
    "load_private_key",
    "load_public_key",
]

PublicKey: TypeAlias = rsa.RSAPublicKey | ed25519.Ed25519PublicKey
PrivateKey: TypeAlias = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


class KeyDecodeError(ValueError):
    """The p= bytes are not a key of the announced type."""


@lru_cache(maxsize=512)
def load_public_key(key_type: str, data: bytes) -> PublicKey:
    """The public key in a key record's decoded ``p=``.

    :raises KeyDecodeError: when the bytes are not a key of that type.
    """
    if key_type == "ed25519":
        if len(data) != 32:
            raise KeyDecodeError(f"an Ed25519 key is 32 octets, not {len(data)} "
                                 "(RFC 8463 §4.2)")
        try:
            return ed25519.Ed25519PublicKey.from_public_bytes(data)
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise KeyDecodeError(f"not an Ed25519 public key: {exc}") from None
    if key_type != "rsa":
        raise KeyDecodeError(f"unknown key type {key_type}")
    try:
        # SubjectPublicKeyInfo; cryptography falls back to a bare PKCS#1 RSAPublicKey.
        key = serialization.load_der_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        raise KeyDecodeError("not the DER of an RSA public key (SubjectPublicKeyInfo or "
                             "PKCS#1 RSAPublicKey)") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise KeyDecodeError(f"p= holds a {type(key).__name__}, not an RSA key")
    return key


def key_bits(key: PublicKey | PrivateKey) -> int:
    """Key size in bits (256 for Ed25519)."""
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        return key.key_size
    return 256


def load_private_key(key: bytes | str | PrivateKey, password: bytes | None = None) -> PrivateKey:
    """A signing key from PEM (PKCS#1, PKCS#8) or DER bytes, or a key object.

    :raises SigningError: for anything that is not an RSA or Ed25519 private key.
    """
    if isinstance(key, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        return key
    if isinstance(key, str):
        key = key.encode("ascii", "replace")
    if not isinstance(key, bytes | bytearray):
        raise ArgumentTypeError(f"key must be PEM/DER bytes or a private key, not "
                                f"{type(key).__name__}")
    data = bytes(key)
    try:
        if b"-----BEGIN" in data:
            loaded = serialization.load_pem_private_key(data, password=password)
        else:
            loaded = serialization.load_der_private_key(data, password=password)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise SigningError(f"cannot load the private key: {exc}") from None
    if not isinstance(loaded, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        raise SigningError(f"DKIM signs with RSA or Ed25519 keys, not {type(loaded).__name__} "
                           "(RFC 6376 §3.3, RFC 8463)")
    return loaded


def public_key_record_value(key: PublicKey) -> tuple[str, str]:
    """(k=, p=) for a public key: SPKI DER for RSA, raw 32 octets for Ed25519."""
    if isinstance(key, rsa.RSAPublicKey):
        der = key.public_bytes(serialization.Encoding.DER,
                               serialization.PublicFormat.SubjectPublicKeyInfo)
        return "rsa", base64.b64encode(der).decode("ascii")
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519", base64.b64encode(raw).decode("ascii")


def split_txt(value: str, size: int = 255) -> tuple[str, ...]:
    """A TXT value cut into character-strings of at most ``size`` octets (RFC 1035)."""
    return tuple(value[i:i + size] for i in range(0, len(value), size)) or ("",)


@dataclass(frozen=True, slots=True)
class GeneratedKey:
    """A new key pair: the private key as PEM and the key record to publish."""

    key_type: str
    bits: int
    private_key_pem: bytes
    txt_value: str                  # the record text, e.g. "v=DKIM1; k=rsa; p=MIIB..."
    txt_strings: tuple[str, ...]    # the same cut into <= 255-octet strings

    @property
    def zone_value(self) -> str:
        """The record data as zone-file text: quoted strings separated by spaces."""
        return " ".join(f'"{s}"' for s in self.txt_strings)

    def zone_line(self, selector: str, domain: str, ttl: int = 3600) -> str:
        """A complete zone-file line: ``<s>._domainkey.<d>. TTL IN TXT "..." "..."``."""
        return f"{selector}._domainkey.{domain.rstrip('.')}. {ttl} IN TXT {self.zone_value}"


def generate_key(kind: Literal["rsa", "ed25519"] = "rsa", bits: int = 2048) -> GeneratedKey:
    """Make a DKIM key pair.

    :param kind: ``"rsa"`` (RFC 8301: at least 1024 bits, 2048 recommended) or
        ``"ed25519"`` (RFC 8463).
    :param bits: RSA modulus size; ignored for Ed25519.
    """
    private: PrivateKey
    if kind == "rsa":
        if not isinstance(bits, int) or bits < 1024:
            raise ValueError("RSA keys must have at least 1024 bits (RFC 8301 §3.2)")
        private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    elif kind == "ed25519":
        private = ed25519.Ed25519PrivateKey.generate()
        bits = 256
    else:
        raise ValueError(f"key kind must be 'rsa' or 'ed25519', not {kind!r}")
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    k, p = public_key_record_value(private.public_key())
    value = f"v=DKIM1; k={k}; p={p}"
    return GeneratedKey(kind, bits, pem, value, split_txt(value))
