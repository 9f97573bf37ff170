"""mailauth: email authentication in pure Python.

SPF (RFC 7208), DKIM (RFC 6376, 8301, 8463), DMARC, ARC, MTA-STS, TLS-RPT, DANE and
Authentication-Results. Every check is a :class:`Check`: run it with ``.run()``
(blocking, safe in scripts, threads and notebooks) or ``await check`` (asyncio).
"""

from __future__ import annotations

from ._flow import MX, TLSA, Answer, Check, Fetch, Outcome, Query, Response
from .errors import MailAuthError, ParseError, SigningError
from .status import Status

__version__ = "0.1.0"

# Protocol entry points are imported on first use, so that `import mailauth` stays
# cheap (no cryptography or dnspython import until a check needs it).
_LAZY = {
    "check_spf": "spf",
    "SPFResult": "spf",
    "verify_dkim": "dkim",
    "sign_dkim": "dkim",
    "DKIMResult": "dkim",
    "SignatureResult": "dkim",
}


def __getattr__(name: str) -> object:
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
    "Answer",
    "Check",
    "DKIMResult",
    "Fetch",
    "MailAuthError",
    "Outcome",
    "ParseError",
    "Query",
    "Response",
    "SPFResult",
    "SignatureResult",
    "SigningError",
    "Status",
    "__version__",
    "check_spf",
    "sign_dkim",
    "verify_dkim",
]
