"""mailauth: email authentication in pure Python.

:func:`authenticate` runs SPF (RFC 7208), DKIM (RFC 6376, 8301, 8463) and DMARC
(RFC 9989, or RFC 7489 with the Public Suffix List) on a message as one check and
writes the Authentication-Results field (RFC 8601); :func:`check_spf`,
:func:`verify_dkim`, :func:`check_dmarc` and :func:`sign_dkim` do one method each.
For senders: :func:`get_mta_sts_policy` (RFC 8461) and :func:`get_tlsrpt_policy`
(RFC 8460).
Every check is a :class:`Check`: run it
with ``.run()`` (blocking, safe in scripts, threads and notebooks) or ``await check``
(asyncio). :mod:`mailauth.flows` is the toolkit for writing checks and resolvers of
your own, :mod:`mailauth.message` parses raw messages, :mod:`mailauth.testing` has
in-memory DNS for tests and offline work.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._flow import MX, TLSA, Answer, Check, Fetch, Outcome, Query, Response
from .errors import ArgumentTypeError, MailAuthError, ParseError, SigningError, UsageError
from .status import Status

if TYPE_CHECKING:  # type checkers and editors see the real names; imports stay lazy
    from .arc import ARCResult, seal_arc, verify_arc
    from .dane import DANEResult, check_dane
    from .dkim import DKIMResult, SignatureResult, sign_dkim, verify_dkim
    from .dmarc import DMARCResult, check_dmarc
    from .mta_sts import MTASTSPolicyResult, get_mta_sts_policy
    from .spf import SPFResult, check_spf
    from .tlsrpt import TLSRPTPolicyResult, get_tlsrpt_policy
    from .umbrella import AuthResults, authenticate

__version__ = "0.1.0"

# Protocol entry points are imported on first use, so that `import mailauth` stays
# cheap (no cryptography or dnspython import until a check needs it).
_LAZY = {
    "verify_arc": "arc",
    "seal_arc": "arc",
    "ARCResult": "arc",
    "check_dane": "dane",
    "DANEResult": "dane",
    "check_spf": "spf",
    "SPFResult": "spf",
    "verify_dkim": "dkim",
    "sign_dkim": "dkim",
    "DKIMResult": "dkim",
    "SignatureResult": "dkim",
    "check_dmarc": "dmarc",
    "DMARCResult": "dmarc",
    "get_mta_sts_policy": "mta_sts",
    "MTASTSPolicyResult": "mta_sts",
    "get_tlsrpt_policy": "tlsrpt",
    "TLSRPTPolicyResult": "tlsrpt",
    "authenticate": "umbrella",
    "AuthResults": "umbrella",
}


def __getattr__(name: str) -> object:  # PEP 562: the protocol modules on first use
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mailauth' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)

__all__ = [
    "MX",
    "TLSA",
    "ARCResult",
    "Answer",
    "ArgumentTypeError",
    "AuthResults",
    "Check",
    "DANEResult",
    "DKIMResult",
    "DMARCResult",
    "Fetch",
    "MTASTSPolicyResult",
    "MailAuthError",
    "Outcome",
    "ParseError",
    "Query",
    "Response",
    "SPFResult",
    "SignatureResult",
    "SigningError",
    "Status",
    "TLSRPTPolicyResult",
    "UsageError",
    "__version__",
    "authenticate",
    "check_dane",
    "check_dmarc",
    "check_spf",
    "get_mta_sts_policy",
    "get_tlsrpt_policy",
    "seal_arc",
    "sign_dkim",
    "verify_arc",
    "verify_dkim",
]
