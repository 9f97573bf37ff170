"""SPF: the Sender Policy Framework (RFC 7208).

The public verbs are :func:`check_spf` (both identities of a message, as
``mailauth.check_spf``) and :func:`check_host` (RFC 7208 §4's function itself); both
return a :class:`~mailauth.Check` to ``.run()`` or ``await``. :func:`parse_record`
parses a record on its own. Results are :class:`SPFResult` values with a full trace.

The verbs are the edge of the SPF flows: they read the clock, once per run, for the
``%{t}`` macro (the flows in ``_check`` take the time as a number).
"""

from __future__ import annotations

import ipaddress
import time

from .._flow import Check, Flow
from ._arguments import check_host_arguments, check_text, check_time, client, options
from ._check import QUALIFIER_RESULT, check_host_flow, check_spf_flow, spf_flow, start
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

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _now(now: float | None) -> float:
    """The time a run uses: the caller's ``now``, else the clock's."""
    if now is not None:
        return now
    # the edge: the public verb reads the clock
    return time.time()  # noqa: TID251


def check_host(ip: str | IPAddress, domain: str, sender: str, *, helo: str | None = None,
               receiver: str | None = None, identity: str = "mailfrom",
               max_lookups: int = 10, max_void_lookups: int = 2, max_mx: int = 10,
               max_ptr: int = 10, default_explanation: str = "", now: float | None = None,
               budget: float = 20.0) -> Check[SPFResult]:
    """check_host(<ip>, <domain>, <sender>) of RFC 7208 §4, ready to run.

    :param ip: the SMTP client's address (str or ipaddress); IPv4-mapped IPv6 is IPv4.
    :param domain: the domain whose SPF record is checked; U-labels are checked as
        A-labels (IDNA 2008, RFC 8616 §4).
    :param sender: the MAIL FROM address or ``postmaster@<helo>`` (§4.1).
    :param helo: the HELO/EHLO name, for the ``h`` macro; ``receiver`` for ``r``.
    :param max_lookups, max_void_lookups, max_mx, max_ptr: the §4.6.4 limits.
    :param default_explanation: the explanation after a fail without a usable exp=.
    :param now: the time for the ``t`` macro (seconds since the epoch); by default the
        clock's at the start of each run.
    :param budget: wall-clock seconds for all DNS work (§4.6.4); past it, temperror.
    :raises UsageError: (a ``ValueError``) when ``ip`` is not an IP address, a limit is
        negative or ``identity`` is neither ``"mailfrom"`` nor ``"helo"``.
    :raises ArgumentTypeError: (a ``TypeError``) for an argument of the wrong type:
        ``bytes`` or None where a str is expected, a limit that is not an int.
    """
    addr = client(ip)
    check_host_arguments(domain, sender, identity, now)
    settings = options(helo, receiver, max_lookups, max_void_lookups, max_mx, max_ptr,
                       default_explanation)

    def flow() -> Flow[SPFResult]:
        return start(addr, domain, sender, identity, settings, now=_now(now))

    return Check(flow, budget=budget)


def check_spf(ip: str | IPAddress, mail_from: str, helo: str | None, *,
              receiver: str | None = None, max_lookups: int = 10, max_void_lookups: int = 2,
              max_mx: int = 10, max_ptr: int = 10, default_explanation: str = "",
              now: float | None = None, check_helo: bool = True,
              budget: float = 20.0) -> Check[SPFResult]:
    """SPF for a message's MAIL FROM and HELO identities (RFC 7208 §2.3, §2.4).

    The result is the MAIL FROM identity's (the verdict; with a null reverse-path
    that is ``postmaster@<helo>``), with the HELO identity's result in ``.helo``.
    The two record lookups go out together; the MAIL FROM evaluation comes first, so
    a slow HELO domain cannot take its time (see :func:`check_spf_flow`).

    :param ip: the SMTP client's address; ``mail_from`` the reverse-path ("" or "<>"
        when null); ``helo`` the HELO/EHLO name; ``receiver`` this host's name.
        Internationalized domains are checked in their A-label form (RFC 8616 §4).
    :param check_helo: set False to skip the HELO identity.
    Other parameters, and the exceptions, as :func:`check_host`.
    """
    addr = client(ip)
    check_text("mail_from", mail_from)
    check_time(now)
    settings = options(helo, receiver, max_lookups, max_void_lookups, max_mx, max_ptr,
                       default_explanation)

    def flow() -> Flow[SPFResult]:
        return spf_flow(addr, mail_from, settings, _now(now), check_helo=check_helo)

    return Check(flow, budget=budget)
