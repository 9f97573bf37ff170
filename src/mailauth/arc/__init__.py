"""ARC: Authenticated Received Chain (RFC 8617).

A forwarder or mailing list that changes a message breaks its DKIM signatures and
SPF; ARC lets it record what it saw (ARC-Authentication-Results), sign the message
as it passes it on (ARC-Message-Signature) and seal the chain of such records
(ARC-Seal). A later receiver validates the chain and may trust what a sealer it
knows vouched for. Verification is a :class:`~mailauth.Check`; sealing does no I/O::

    result = mailauth.verify_arc(raw_message).run()
    fields = mailauth.seal_arc(raw_message, domain="lists.example.org", selector="arc",
                               key=pem, authserv_id="lists.example.org",
                               auth_results=auth.resinfos(), chain=result)
    sealed = fields + raw_message

The AMS and AS are built on the DKIM primitives (``mailauth.dkim``): one
canonicalizer, one signer, one verifier. :func:`verify_arc_flow` is the flow itself,
for composing inside other flows (``gather``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from .._arguments import check_int, check_message, check_number
from .._flow import Check, Flow
from .._message import Message, MessageSource, parse_message
from ..dkim import Clock, _check_now, _seconds
from ..dkim._key import PrivateKey
from ..errors import MailAuthError, UsageError
from ..status import Status
from ._chain import MAX_INSTANCES, validate_chain_flow
from ._result import ARCResult, ARCSet
from ._seal import AuthResultsLike, seal_message

__all__ = [
    "MAX_INSTANCES",
    "ARCResult",
    "ARCSet",
    "AuthResultsLike",
    "seal_arc",
    "verify_arc",
    "verify_arc_flow",
]


def _as_message(message: MessageSource | Message) -> Message:
    if isinstance(message, Message):
        return message
    return parse_message(message)


def _check_args(min_rsa_bits: object, now: object) -> None:
    if type(min_rsa_bits) is not int or min_rsa_bits < 0:
        check_int("min_rsa_bits", min_rsa_bits, minimum=0)
    if now is not None and type(now) is not int and type(now) is not float:
        _check_now(now)


def verify_arc_flow(message: MessageSource | Message, *, now: Clock = None,
                    min_rsa_bits: int = 1024) -> Flow[ARCResult]:
    """The chain validation flow (RFC 8617 §5.2), for composing with other flows.

    Takes what :func:`verify_arc` takes; the clock is read when the flow starts.
    Network input never raises: a chain that cannot be read is a fail with a reason.
    """
    _check_args(min_rsa_bits, now)
    if not isinstance(message, Message):
        check_message(message)
    parsed = _as_message(message)
    file = None if isinstance(message, bytes | bytearray | memoryview | Message) else message
    return _flow(parsed, file, now, min_rsa_bits)


def _flow(parsed: Message, file: object, now: Clock, min_rsa_bits: int) -> Flow[ARCResult]:
    if file is not None and getattr(file, "closed", False):
        raise UsageError("the message file was closed before the check ran; run the "
                         "check while the file is open, or pass the message as bytes")
    # The edge: the public verb reads the clock, once per run.
    current = time.time() if now is None else _seconds(now)  # noqa: TID251
    try:
        return (yield from validate_chain_flow(parsed, now=current,
                                               min_rsa_bits=min_rsa_bits))
    except MailAuthError:
        raise
    except OSError:
        raise
    except Exception as exc:  # a safety net: network input never raises
        return ARCResult(Status.FAIL, f"the chain could not be processed "
                         f"({type(exc).__name__}: {exc})", "internal_error")


def verify_arc(message: MessageSource | Message, *, now: Clock = None,
               min_rsa_bits: int = 1024, budget: float | None = None) -> Check[ARCResult]:
    """Validate the ARC chain of a message (RFC 8617 §5.2).

    :param message: the raw message as bytes, or a binary file (the body is streamed).
    :param now: the verification time (Unix seconds, a ``datetime`` or a callable);
        only an AMS ``x=`` depends on it. The system clock by default.
    :param min_rsa_bits: RSA keys shorter than this do not validate (RFC 8301 §3.2).
    :param budget: seconds for all DNS work (20 by default).
    :returns: a Check; ``.run(resolver)`` gives an :class:`ARCResult`: pass, fail or
        none, the failing instance and why, ``oldest_pass`` and each ARC Set.
    :raises ArgumentTypeError: for a ``str`` message or an argument of the wrong type.
    :raises UsageError: for an argument out of range or a closed message file.
    """
    _check_args(min_rsa_bits, now)
    if budget is None:
        budget = 20.0
    elif type(budget) is not float or not budget > 0:
        check_number("budget", budget, positive=True)
        budget = float(budget)
    check_message(message)
    parsed = _as_message(message)
    file = None if isinstance(message, bytes | bytearray | memoryview | Message) else message

    def flow() -> Flow[ARCResult]:
        return _flow(parsed, file, now, min_rsa_bits)

    return Check(flow, budget=budget, reusable=parsed.seekable)


def seal_arc(message: MessageSource | Message, *, domain: str, selector: str,
             key: bytes | str | PrivateKey, authserv_id: str,
             auth_results: str | Iterable[str] | AuthResultsLike,
             chain: ARCResult | None = None, headers: Iterable[str] | None = None,
             now: Clock = None, algorithm: str | None = None,
             canonicalization: str = "relaxed/relaxed") -> bytes:
    """Add this hop's ARC Set (RFC 8617 §5.1); returns the three header fields.

    The result is ``ARC-Seal``, ``ARC-Message-Signature`` and
    ``ARC-Authentication-Results``, each ending in CRLF, in the order to prepend:
    ``sealed = fields + message``.

    :param message: bytes or a binary file, as received (with the chain it came with).
    :param domain: the sealing domain (``d=`` of the AMS and AS).
    :param selector: the key's selector (``s=``).
    :param key: the private key: PEM or DER bytes or str, or a ``cryptography`` RSA or
        Ed25519 private key; rsa-sha256 or ed25519-sha256 follows from it.
    :param authserv_id: this host's authserv-id, written in the AAR.
    :param auth_results: this hop's results: a str of resinfos separated by ";", an
        iterable of resinfo strings, or an object with ``resinfos()`` such as
        :class:`mailauth.AuthResults`. Include the ``arc=`` resinfo of ``chain``
        (``chain.authres()``) to record what this hop found.
    :param chain: the :class:`ARCResult` of :func:`verify_arc` on the message as
        received; required when the message carries ARC fields (it gives ``cv=``). A
        failed chain is sealed with ``cv=fail``, the seal covering only the new set
        (RFC 8617 §5.1.2).
    :param headers: the fields the AMS signs; by default those of RFC 6376 §5.4.1
        the message has, and its DKIM-Signature fields. Never ARC-Seal.
    :param now: the ``t=`` of the AMS and AS (Unix seconds, a datetime or a callable);
        the system clock by default.
    :param canonicalization: the AMS ``c=`` (the AS is always relaxed).
    :raises SigningError: for an unusable key, a message without From, a chain that
        already carries ``cv=fail`` on its newest seal (RFC 8617 §5.1), or one with 50
        sets.
    :raises UsageError: when ARC fields exist and no ``chain`` is given, or for
        arguments that cannot be sealed with.
    """
    check_message(message)
    if now is not None and type(now) is not int and type(now) is not float:
        _check_now(now)
    # The edge: the public verb reads the clock.
    timestamp = int(time.time() if now is None else _seconds(now))  # noqa: TID251
    return seal_message(_as_message(message), domain=domain, selector=selector, key=key,
                        authserv_id=authserv_id, auth_results=auth_results, chain=chain,
                        headers=headers, timestamp=timestamp, algorithm=algorithm,
                        canonicalization=canonicalization)
