"""What the SPF verbs and flows accept: their arguments, checked once per check.

A wrong argument is the caller's mistake, so it is an exception when the check is
made, never a result and never an error from deep inside a run (docs/architecture.md): a wrong
type is :class:`~mailauth.errors.ArgumentTypeError` (a ``TypeError``), a wrong value
:class:`~mailauth.errors.UsageError` (a ``ValueError``). Bytes are refused, not
decoded: which encoding they are in is the caller's to know.

Each check has a fast path of plain tests (a check is made per message) and, only when
one fails, a slow path that names the argument.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import NamedTuple, TypeAlias

from .._domain import parse_ip
from ..errors import ArgumentTypeError, UsageError

__all__ = ["Client", "Options", "check_host_arguments", "check_text", "check_time", "client",
           "options"]

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address

_STR_OR_NONE = (str, type(None))
# RFC 7208 §2.3, §2.4: the identities check_host() is asked about.
_IDENTITIES = ("mailfrom", "helo")


class Client(NamedTuple):
    """The SMTP client's address as check_host() uses it, worked out once per address.

    ``text`` is how results and the ``%{c}`` macro write it (RFC 5952 for IPv6),
    ``number`` the address as an integer, for the ip4/ip6 and CIDR tests.
    """

    ip: IPAddress
    version: int
    text: str
    number: int


def client(ip: object) -> Client:
    """The client address a caller gave, ready for check_host(); an IPv4-mapped IPv6
    address is IPv4 (RFC 7208 §5).

    :raises UsageError: for text that is not an IP address.
    :raises ArgumentTypeError: for anything that is neither a str nor an address.
    """
    if isinstance(ip, str):
        return _client_from_text(ip)
    if isinstance(ip, ipaddress.IPv4Address | ipaddress.IPv6Address):
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return Client(ip, ip.version, str(ip), int(ip))
    raise ArgumentTypeError(f"ip is a str or an ipaddress address, not {type(ip).__name__}")


# The same client addresses recur from check to check: each text is parsed, and the
# address written out (Python code for IPv6), once.
@lru_cache(maxsize=4096)
def _client_from_text(text: str) -> Client:
    try:
        ip = parse_ip(text)
    except ValueError as exc:
        raise UsageError(f"ip: {exc}") from None
    return Client(ip, ip.version, str(ip), int(ip))


class Options(NamedTuple):
    """check_host()'s parameters other than <ip>, <domain>, <sender> and the time.

    Made once by a public verb (:func:`options`) and shared by every run of its check.
    """

    helo: str | None = None
    receiver: str | None = None
    max_lookups: int = 10
    max_void_lookups: int = 2
    max_mx: int = 10
    max_ptr: int = 10
    default_explanation: str = ""


def options(helo: str | None, receiver: str | None, max_lookups: int,  # noqa: PLR0917
            max_void_lookups: int, max_mx: int, max_ptr: int,
            default_explanation: str) -> Options:
    """The :class:`Options` of a verb's or flow's arguments, checked.

    :raises ArgumentTypeError: for a name that is neither a str nor None, an
        explanation that is not a str, a limit that is not an int.
    :raises UsageError: for a negative limit.
    """
    if (isinstance(helo, _STR_OR_NONE) and isinstance(receiver, _STR_OR_NONE)
            and isinstance(default_explanation, str)
            and type(max_lookups) is type(max_void_lookups) is type(max_mx) is type(max_ptr)
            is int and max_lookups >= 0 and max_void_lookups >= 0 and max_mx >= 0
            and max_ptr >= 0):
        return Options(helo, receiver, max_lookups, max_void_lookups, max_mx, max_ptr,
                       default_explanation)
    for name, value in (("helo", helo), ("receiver", receiver)):
        if not isinstance(value, _STR_OR_NONE):
            raise _not_text(name, value, optional=True)
    check_text("default_explanation", default_explanation)
    for name, number in (("max_lookups", max_lookups), ("max_void_lookups", max_void_lookups),
                         ("max_mx", max_mx), ("max_ptr", max_ptr)):
        if type(number) is not int:
            raise ArgumentTypeError(f"{name} is an int, not {type(number).__name__}")
        if number < 0:
            raise UsageError(f"{name} is a number of lookups: 0 or more, not {number}")
    raise AssertionError("options() found nothing wrong on its slow path")


def check_host_arguments(domain: object, sender: object, identity: object, now: object, *,
                         now_required: bool = False) -> None:
    """Check check_host()'s <domain>, <sender>, identity and time.

    ``now`` may be None unless ``now_required`` (a flow's caller gives the time; a
    verb reads the clock when none is given).

    :raises ArgumentTypeError: for a domain, sender or identity that is not a str, or
        a time that is not a number.
    :raises UsageError: for an identity other than RFC 7208's two (§2.3, §2.4).
    """
    if (isinstance(domain, str) and isinstance(sender, str) and identity in _IDENTITIES
            and ((now is None and not now_required) or type(now) is float)):
        return
    check_text("domain", domain)
    check_text("sender", sender)
    check_text("identity", identity)
    if identity not in _IDENTITIES:
        raise UsageError(f"identity is 'mailfrom' or 'helo' (RFC 7208 §2.3, §2.4), not "
                         f"{identity!r}")
    check_time(now, required=now_required)


def check_text(name: str, value: object) -> None:
    """Raise :class:`ArgumentTypeError` when the argument ``name`` is not a str."""
    if not isinstance(value, str):
        raise _not_text(name, value)


def check_time(now: object, *, required: bool = False) -> None:
    """Raise :class:`ArgumentTypeError` when ``now`` is not a number of seconds since
    the epoch (None is allowed unless ``required``)."""
    if now is None and not required:
        return
    if isinstance(now, bool) or not isinstance(now, int | float):
        raise ArgumentTypeError(f"now is a number of seconds since the epoch, not "
                                f"{type(now).__name__}")


def _not_text(name: str, value: object, *, optional: bool = False) -> ArgumentTypeError:
    want = "a str or None" if optional else "a str"
    return ArgumentTypeError(f"{name} is {want}, not {type(value).__name__}")
