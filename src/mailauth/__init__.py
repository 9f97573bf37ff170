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

__all__ = [
    "MX",
    "TLSA",
    "Answer",
    "Check",
    "Fetch",
    "MailAuthError",
    "Outcome",
    "ParseError",
    "Query",
    "Response",
    "SigningError",
    "Status",
    "__version__",
]
