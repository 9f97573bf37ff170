"""DKIM: DomainKeys Identified Mail signatures (RFC 6376, RFC 8301, RFC 8463).

Verification is a :class:`~mailauth.Check` (run it with ``.run()`` or ``await``);
signing does no I/O and returns the DKIM-Signature header field to prepend::

    result = mailauth.verify_dkim(raw_message).run()
    header = mailauth.sign_dkim(raw_message, domain="example.org", selector="s1",
                                key=pem_bytes)

The expert tier is public too: :func:`parse_signature`, :func:`parse_key_record`,
:func:`canonicalize_body`, :func:`canonicalize_header`, :func:`generate_key`, and
:func:`verify_dkim_flow` (the flow itself, for driving by hand; it takes the time as a
number, where the verbs here read the clock).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TypeAlias

from .._arguments import check_int, check_message, check_number
from .._flow import Check, Flow
from .._message import Message, MessageSource, parse_message
from ..errors import ArgumentTypeError, UsageError
from ._canon import BodyCanonicalizer, canonicalize_body, canonicalize_header
from ._key import GeneratedKey, PrivateKey, generate_key
from ._sign import DEFAULT_OVERSIGN, RECOMMENDED_HEADERS, sign_message
from ._signature import DKIMSyntaxError, KeyRecord, Signature, parse_key_record, parse_signature
from ._verify import (
    DEFAULT_CLOCK_SKEW,
    DEFAULT_MAX_SIGNATURES,
    DKIMResult,
    SignatureResult,
    verify_dkim_flow,
)

__all__ = [
    "DEFAULT_OVERSIGN",
    "RECOMMENDED_HEADERS",
    "BodyCanonicalizer",
    "DKIMResult",
    "DKIMSyntaxError",
    "GeneratedKey",
    "KeyRecord",
    "Signature",
    "SignatureResult",
    "canonicalize_body",
    "canonicalize_header",
    "generate_key",
    "parse_key_record",
    "parse_signature",
    "sign_dkim",
    "verify_dkim",
    "verify_dkim_flow",
]

Clock: TypeAlias = float | int | datetime | Callable[[], float] | None
"""``now=``: Unix seconds, a ``datetime``, a callable returning Unix seconds (an
injectable clock), or None for the system clock."""


def _seconds(now: float | int | datetime | Callable[[], float]) -> float:
    """Unix seconds from what ``now=`` accepts, other than None."""
    if isinstance(now, datetime):
        return now.timestamp()
    if callable(now):
        return float(now())
    return float(now)


def _check_now(now: object) -> None:
    if not (callable(now) or isinstance(now, datetime)
            or (isinstance(now, int | float) and not isinstance(now, bool))):
        raise ArgumentTypeError(f"now= takes Unix seconds, a datetime, a callable or None, "
                                f"not {type(now).__name__}")


def _as_message(message: MessageSource | Message) -> Message:
    if isinstance(message, Message):
        return message
    return parse_message(message)


def verify_dkim(message: MessageSource | Message, *, now: Clock = None,
                min_rsa_bits: int = 1024, allow_sha1: bool = False,
                max_signatures: int = DEFAULT_MAX_SIGNATURES,
                clock_skew: int = DEFAULT_CLOCK_SKEW, budget: float = 20.0,
                ) -> Check[DKIMResult]:
    """Verify every DKIM-Signature on a message (RFC 6376 §6).

    :param message: the raw message as bytes, or a binary file (the body is streamed;
        a seekable file can be verified many times).
    :param now: the verification time: Unix seconds, a ``datetime``, or a callable
        returning Unix seconds (an injectable clock); the system clock by default.
    :param min_rsa_bits: RSA keys shorter than this are not a pass (RFC 8301 §3.2).
    :param allow_sha1: accept rsa-sha1 signatures (RFC 8301 §3.1 says not to).
    :param max_signatures: how many signatures are evaluated, from the top.
    :param clock_skew: seconds of tolerance for ``x=`` and future ``t=``.
    :param budget: seconds for all DNS work.
    :returns: a Check; ``.run(resolver)`` gives a :class:`DKIMResult`. Over a stream
        that cannot seek (a pipe) it is one-shot (``reusable`` is False): a second run
        raises :class:`~mailauth.errors.UsageError`.
    :raises ArgumentTypeError: (a TypeError) for a ``str`` message or an argument of the
        wrong type.
    :raises UsageError: (a ValueError) for an argument out of range, or a message file
        that is closed (here, or by the time the check runs).
    """
    # The usual arguments pass the first test of each line; the checks say what is wrong.
    if type(max_signatures) is not int or max_signatures < 1:
        check_int("max_signatures", max_signatures, minimum=1)
    if type(min_rsa_bits) is not int or min_rsa_bits < 0:
        check_int("min_rsa_bits", min_rsa_bits, minimum=0)
    if type(clock_skew) is not int or clock_skew < 0:
        check_number("clock_skew", clock_skew)
    if type(budget) is not float or not budget > 0:
        check_number("budget", budget, positive=True)
    if now is not None and type(now) is not int and type(now) is not float:
        _check_now(now)
    file = None if isinstance(message, bytes | Message) else message
    if file is not None:
        check_message(file)
    parsed = _as_message(message)

    def flow() -> Flow[DKIMResult]:
        if file is not None and getattr(file, "closed", False):
            raise UsageError("the message file was closed before the check ran; run the "
                             "check while the file is open, or pass the message as bytes")
        # The edge: the public verb reads the clock, once per run.
        current = time.time() if now is None else _seconds(now)  # noqa: TID251
        result = yield from verify_dkim_flow(parsed, now=current, min_rsa_bits=min_rsa_bits,
                                             allow_sha1=allow_sha1,
                                             max_signatures=max_signatures,
                                             clock_skew=clock_skew)
        return result

    # A stream that cannot seek is read once: the check says so from the start, and a
    # second run raises UsageError instead of reading an empty body.
    return Check(flow, budget=budget, reusable=parsed.seekable)


def sign_dkim(message: MessageSource | Message, *, domain: str, selector: str,
              key: bytes | str | PrivateKey, headers: Iterable[str] | None = None,
              oversign: bool | Iterable[str] = True,
              canonicalization: str = "relaxed/relaxed", identity: str | None = None,
              timestamp: int | bool | None = None, expiration: int | None = None,
              body_length: bool | int = False, algorithm: str | None = None,
              query_method: bool = False, header_list_separator: str = ":") -> bytes:
    """Sign a message (RFC 6376 §5); returns the DKIM-Signature field to prepend.

    The result ends with CRLF: ``signed = header + message``.

    :param message: bytes or a binary file (the body is streamed).
    :param domain: the signing domain (``d=``).
    :param selector: the key's selector (``s=``).
    :param key: the private key: PEM or DER bytes (PKCS#1 or PKCS#8), or a
        ``cryptography`` RSA or Ed25519 private key. The algorithm follows the key:
        rsa-sha256 or ed25519-sha256.
    :param headers: the header fields to sign; by default those of RFC 6376 §5.4.1
        that the message has (:data:`RECOMMENDED_HEADERS`). From is always signed.
    :param oversign: list these fields once more than present, so none can be added
        (True: :data:`DEFAULT_OVERSIGN`; False: none; or an iterable of names).
    :param canonicalization: ``header/body``, default ``relaxed/relaxed``.
    :param identity: the ``i=`` tag (an address in or under ``domain``).
    :param timestamp: ``t=``: True for now, or Unix seconds; omitted by default.
    :param expiration: ``x=``, Unix seconds.
    :param body_length: ``l=``: True for the whole body, an int for a prefix; never
        written unless asked (RFC 6376 §8.2).
    :param query_method: write ``q=dns/txt`` (the default, so omitted by default).
    :param header_list_separator: what separates names in ``h=``; ``" : "`` reproduces
        RFC 8463 Appendix A.
    :raises SigningError: for an unusable key or a message without From.
    :raises UsageError: (a ValueError) for arguments that cannot be signed with, such as
        a selector that is not one or ``x=`` not after ``t=``.
    """
    check_message(message)
    if timestamp is True:
        # The edge: the public verb reads the clock.
        t: int | None = int(time.time())  # noqa: TID251
    elif timestamp is False or timestamp is None:
        t = None
    else:
        t = int(timestamp)
    return sign_message(_as_message(message), domain=domain, selector=selector, key=key,
                        headers=headers, oversign=oversign, canonicalization=canonicalization,
                        identity=identity, timestamp=t, expiration=expiration,
                        body_length=body_length, algorithm=algorithm, query_method=query_method,
                        header_list_separator=header_list_separator)
