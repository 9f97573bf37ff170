"""MTA-STS policies (RFC 8461 §3.2) and MX host matching (RFC 8461 §4.1).

    sts-policy-record     = sts-policy-field *WSP *(sts-policy-term-delim
                            sts-policy-field *WSP) [sts-policy-term-delim]
    sts-policy-field-delim = ":" *WSP
    sts-policy-version-value = %s"STSv1"
    sts-policy-mode-value = %s"testing" / %s"enforce" / %s"none"
    sts-policy-mx-value   = ["*."] Domain
    sts-policy-max-age-value = 1*10(DIGIT)              ; at most 31557600
    sts-policy-ext-name   = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
    sts-policy-term-delim = CRLF / LF

The reading: CRLF or LF ends a line; blank lines and whitespace around a field are
tolerated; unknown keys are ignored; of a field other than ``mx`` given twice the
first counts ("all entries except for the first SHOULD be ignored"). A missing or
invalid ``version``, ``mode`` or ``max_age``, an invalid ``mx``, or no ``mx`` in a
policy whose mode is not ``none`` makes the policy invalid: :class:`ParseError`
naming the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, get_args

from .._grammar import DOMAIN
from ..errors import ArgumentTypeError, ParseError

__all__ = ["MAX_AGE_LIMIT", "Mode", "Policy", "match_mx", "parse_policy"]

_RFC = "RFC 8461 §3.2"

Mode = Literal["enforce", "testing", "none"]
_MODES: frozenset[str] = frozenset(get_args(Mode))

MAX_AGE_LIMIT = 31557600
"""The largest ``max_age`` a policy may give: one year in seconds (RFC 8461 §3.2)."""

# A line: optional WSP, the key, ":", WSP, the value, WSP (stripped by the reader).
_FIELD_RE = re.compile(r"([A-Za-z0-9][A-Za-z0-9_.\-]{0,31})[ \t]*:[ \t]*(.*)")
_MX_RE = re.compile(rf"(?:\*\.)?{DOMAIN}\.?")
_MAX_AGE_RE = re.compile(r"[0-9]{1,10}")
_REQUIRED = ("version", "mode", "max_age")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Policy:
    """An MTA-STS policy (RFC 8461 §3.2).

    :param mode: ``enforce``, ``testing`` or ``none``.
    :param mx: the MX host patterns, lower case without trailing dots, as written
        (``mail.example.com``, ``*.example.net``).
    :param max_age: seconds the policy may be cached (at most :data:`MAX_AGE_LIMIT`).
    :param version: always ``STSv1``.
    :param extensions: the fields this module does not know, in order (ignored).
    :param text: the policy text as fetched (for display and the cache).
    """

    mode: Mode
    mx: tuple[str, ...]
    max_age: int
    version: str = "STSv1"
    extensions: tuple[tuple[str, str], ...] = ()
    text: str = ""

    def matches(self, host: str) -> bool:
        """Whether the MX host ``host`` matches one of the ``mx`` patterns (§4.1)."""
        return self.matching_pattern(host) is not None

    def matching_pattern(self, host: str) -> str | None:
        """The first ``mx`` pattern ``host`` matches, or None (§4.1)."""
        if not isinstance(host, str):
            raise ArgumentTypeError(f"an MX host name is a str, not {type(host).__name__}")
        for pattern in self.mx:
            if match_mx(pattern, host):
                return pattern
        return None

    def __str__(self) -> str:
        return (f"STSv1 mode={self.mode} max_age={self.max_age} "
                f"mx={','.join(self.mx) or '(none)'}")


def _fold(name: str) -> str | None:
    """A host name or pattern in the form compared: lower case, no trailing dot,
    A-labels; None when it is no domain name."""
    name = name.strip().rstrip(".")
    if name.isascii():
        return name.lower() or None
    from .._domain import normalize_domain

    wildcard = name.startswith("*.")
    try:
        folded = normalize_domain(name[2:] if wildcard else name)
    except ValueError:
        return None
    return f"*.{folded}" if wildcard else folded


def match_mx(pattern: str, host: str) -> bool:
    """Whether the MX host ``host`` matches the policy pattern ``pattern`` (RFC 8461 §4.1).

    A pattern is a host name, matched exactly, or ``*.`` and a domain, which matches a
    name with exactly one more label on the left (``*.example.com`` matches
    ``mx1.example.com``, neither ``example.com`` nor ``a.b.example.com``). Case and
    trailing dots are ignored.
    """
    folded_pattern, folded_host = _fold(pattern), _fold(host)
    if not folded_pattern or not folded_host or folded_host.startswith("*"):
        return False
    if folded_pattern.startswith("*."):
        first, dot, rest = folded_host.partition(".")
        return bool(first) and bool(dot) and rest == folded_pattern[2:]
    return folded_host == folded_pattern


def _error(message: str, position: int, text: str) -> ParseError:
    return ParseError(message, position=position, rfc=_RFC, text=text)


def parse_policy(text: str) -> Policy:
    """Parse an MTA-STS policy, the body of ``/.well-known/mta-sts.txt`` (RFC 8461 §3.2).

    :param text: the policy text (decoded from UTF-8 by the caller).
    :raises ParseError: for a missing or invalid ``version``, ``mode``, ``max_age`` or
        ``mx`` (the message names the key), or a line that is not a ``key: value`` field.
    :raises ArgumentTypeError: for anything but a str.
    """
    if not isinstance(text, str):
        raise ArgumentTypeError(f"a policy is a str, not {type(text).__name__} (decode "
                                "the body as UTF-8 first)")
    first: dict[str, tuple[str, int]] = {}
    mx: list[str] = []
    extensions: list[tuple[str, str]] = []
    offset = 0
    for number, raw in enumerate(text.split("\n"), 1):
        start, offset = offset, offset + len(raw) + 1
        line = raw[:-1] if raw.endswith("\r") else raw
        if not line.strip(" \t"):
            continue
        match = _FIELD_RE.fullmatch(line.strip(" \t"))
        if match is None:
            raise _error(f"line {number} is not a 'key: value' field: {line[:40]!r}",
                         start, text)
        key, value = match.group(1), match.group(2)
        where = start + match.start(2) + (len(line) - len(line.lstrip(" \t")))
        if _CONTROL_RE.search(value):
            raise _error(f"{key}: the value holds a control character", where, text)
        if key == "mx":
            if not _MX_RE.fullmatch(value):
                raise _error(f"mx: {value[:60]!r} is not a host name or a '*.' pattern "
                             "(RFC 8461 §3.2: [\"*.\"] Domain)", where, text)
            mx.append(value.rstrip(".").lower())
        elif key in _REQUIRED:
            first.setdefault(key, (value, where))  # §3.2: the first occurrence counts
        else:
            extensions.append((key, value))
    for key in _REQUIRED:
        if key not in first:
            raise _error(f"{key}: missing (a policy needs version, mode and max_age)",
                         len(text), text)
    version, where = first["version"]
    if version != "STSv1":
        raise _error(f"version: {version[:40]!r} is not STSv1", where, text)
    mode, where = first["mode"]
    if mode not in _MODES:
        raise _error(f"mode: {mode[:40]!r} is not enforce, testing or none", where, text)
    age_text, where = first["max_age"]
    if not _MAX_AGE_RE.fullmatch(age_text):
        raise _error(f"max_age: {age_text[:40]!r} is not 1 to 10 digits", where, text)
    max_age = int(age_text)
    if max_age > MAX_AGE_LIMIT:
        raise _error(f"max_age: {max_age} exceeds the maximum of {MAX_AGE_LIMIT} s",
                     where, text)
    if not mx and mode != "none":
        raise _error(f"mx: missing (a policy in mode {mode} names its MX hosts)",
                     len(text), text)
    return Policy(mode=mode, mx=tuple(mx), max_age=max_age,  # type: ignore[arg-type]
                  extensions=tuple(extensions), text=text)
