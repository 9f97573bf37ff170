"""SPF: the Sender Policy Framework (RFC 7208).

The public verbs are :func:`check_spf` (both identities of a message, as
``mailauth.check_spf``) and :func:`check_host` (RFC 7208 §4's function itself); both
return a :class:`~mailauth.Check` to ``.run()`` or ``await``. :func:`parse_record`
parses a record on its own. Results are :class:`SPFResult` values with a full trace.
"""

from __future__ import annotations

from ._check import QUALIFIER_RESULT, check_host, check_host_flow, check_spf, check_spf_flow
from ._record import (
    Macro,
    MacroString,
    Mechanism,
    Modifier,
    Record,
    is_spf_record,
    parse_explain_string,
    parse_macro_string,
    parse_record,
)
from ._result import SPFResult, TraceStep

__all__ = [
    "QUALIFIER_RESULT",
    "Macro",
    "MacroString",
    "Mechanism",
    "Modifier",
    "Record",
    "SPFResult",
    "TraceStep",
    "check_host",
    "check_host_flow",
    "check_spf",
    "check_spf_flow",
    "is_spf_record",
    "parse_explain_string",
    "parse_macro_string",
    "parse_record",
]
