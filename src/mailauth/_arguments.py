"""Checks of the caller's arguments that every public verb shares (DESIGN.md §4).

A wrong type is :class:`~mailauth.errors.ArgumentTypeError` (a TypeError), a value out
of range :class:`~mailauth.errors.UsageError` (a ValueError), each said in one line
before anything is read or asked.
"""

from __future__ import annotations

import math
from typing import Literal

from ._domain import normalize_domain
from ._message import Message
from .errors import ArgumentTypeError, UsageError
from .psl import PublicSuffixList

__all__ = ["check_bool", "check_domain", "check_int", "check_message", "check_mode",
           "check_number", "check_psl"]


def check_message(message: object) -> None:
    """Caller mistakes about the message, said in one line before anything is read."""
    if isinstance(message, str):
        raise ArgumentTypeError("the message is bytes or a binary file, not str: pass the "
                                "raw bytes (open the file with 'rb', or encode the text)")
    if not isinstance(message, bytes | bytearray | memoryview | Message) \
            and not hasattr(message, "readline"):
        raise ArgumentTypeError(f"the message is bytes or a binary file, not "
                                f"{type(message).__name__}")
    if getattr(message, "closed", False):
        raise UsageError("the message file is closed; pass an open binary file or bytes")


def check_int(name: str, value: object, *, minimum: int) -> None:
    """An int of at least ``minimum``."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ArgumentTypeError(f"{name}= is an int, not {type(value).__name__}")
    if value < minimum:
        raise UsageError(f"{name}= must be at least {minimum}, not {value}")


def check_number(name: str, value: object, *, positive: bool = False) -> None:
    """A number of seconds, at least 0 (or above 0 with ``positive``)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ArgumentTypeError(f"{name}= is a number of seconds, not {type(value).__name__}")
    if math.isnan(value) or value < 0 or (positive and not value > 0):
        raise UsageError(f"{name}= must be {'positive' if positive else 'at least 0'}, "
                         f"not {value}")


def check_bool(name: str, value: object) -> None:
    """True or False, not a truthy stand-in (``strict_authors="no"`` is a mistake)."""
    if not isinstance(value, bool):
        raise ArgumentTypeError(f"{name}= is True or False, not {type(value).__name__}")


def check_mode(mode: object) -> Literal["tree-walk", "psl"]:
    """DMARC's ``mode=``: ``"tree-walk"`` (RFC 9989) or ``"psl"`` (RFC 7489)."""
    if mode == "tree-walk":
        return "tree-walk"
    if mode == "psl":
        return "psl"
    if not isinstance(mode, str):
        raise ArgumentTypeError(f"mode is a str, not {type(mode).__name__}")
    raise UsageError(f"mode is 'tree-walk' (RFC 9989) or 'psl' (RFC 7489), not {mode!r}")


def check_psl(psl: object) -> None:
    """``psl=`` is a :class:`~mailauth.psl.PublicSuffixList` or None."""
    if psl is not None and not isinstance(psl, PublicSuffixList):
        raise ArgumentTypeError(f"psl= is a PublicSuffixList (mailauth.psl."
                                f"load_public_suffix_list(path)), not {type(psl).__name__}")


def check_domain(name: str, value: object) -> str:
    """A domain name argument in canonical form (A-labels, lower case, no final dot)."""
    if not isinstance(value, str):
        raise ArgumentTypeError(f"{name}= is a domain name (str), not {type(value).__name__}")
    try:
        return normalize_domain(value)
    except ValueError as exc:
        raise UsageError(f"{name}={value!r} is not a domain name: {exc}") from None
