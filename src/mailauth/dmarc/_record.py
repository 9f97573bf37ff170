"""DMARC Policy Records (RFC 9989 §4.7, §4.8; RFC 7489 §6.3 for the removed tags).

    dmarc-record  = dmarc-version *(dmarc-sep dmarc-tag) [dmarc-sep]
    dmarc-version = "v" equals %s"DMARC1"          ; "v" any case (RFC 5234 §2.3),
                                                   ; DMARC1 case sensitive; first
    dmarc-sep     = *WSP ";" *WSP
    equals        = *WSP "=" *WSP
    dmarc-tag     = 1*ALPHA equals 1*dmarc-value
    dmarc-value   = %x20-3A / %x3C-7E              ; printing characters but ";"

A record is read leniently, as RFC 9989 §4.7 asks: "Unknown tags MUST be ignored.
Syntax errors in the remainder of the record MUST be discarded in favor of default
values (if any) or ignored outright." Every value discarded is kept in
:attr:`DMARCRecord.invalid` and explained in :attr:`DMARCRecord.warnings`, so a person
sees what the receiver ignored. Only a text that is not a DMARC record at all (no
``v=DMARC1`` first) raises :class:`~mailauth.errors.ParseError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from ..errors import ArgumentTypeError, ParseError

__all__ = [
    "REMOVED_TAGS",
    "DMARCRecord",
    "Mode",
    "Policy",
    "is_dmarc_record",
    "parse_record",
]

Policy = Literal["none", "quarantine", "reject"]
Mode = Literal["tree-walk", "psl"]
"""How policy and organizational domains are found: RFC 9989's DNS Tree Walk
(``"tree-walk"``, the default) or RFC 7489's Public Suffix List (``"psl"``)."""

_RFC = "RFC 9989 §4.7"
# "v" is an ABNF quoted string, so any case (RFC 5234 §2.3); %s"DMARC1" is exact.
_VERSION = re.compile(r"[ \t]*[vV][ \t]*=[ \t]*DMARC1[ \t]*(?:;|\Z)")
_TAG = re.compile(r"[ \t]*([A-Za-z]+)[ \t]*=[ \t]*(.*?)[ \t]*\Z", re.DOTALL)
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s,!]+")
_SIZE = re.compile(r"!([0-9]+)([kmgtKMGT]?)\Z")
_POLICIES: dict[str, Policy] = {"none": "none", "quarantine": "quarantine", "reject": "reject"}
_FO = frozenset({"0", "1", "d", "s"})
_KNOWN = frozenset({"v", "p", "sp", "np", "psd", "t", "adkim", "aspf", "rua", "ruf", "fo",
                    "pct", "rf", "ri"})
# Tags RFC 9989 removed (Appendix C): still read and reported, used in RFC 7489 mode.
REMOVED_TAGS = frozenset({"pct", "rf", "ri"})


def is_dmarc_record(text: str) -> bool:
    """True when a TXT record starts with ``v=DMARC1`` (RFC 9989 §4.10 step 2: other
    records at ``_dmarc`` are discarded before anything else)."""
    return _VERSION.match(text) is not None


@dataclass(frozen=True, slots=True)
class DMARCRecord:
    """A DMARC Policy Record, read as RFC 9989 §4.7 says.

    Policies (``p``, ``sp``, ``np``) are None when absent *or* invalid; which of the two
    is told by :attr:`invalid`. Defaults apply to the rest: ``adkim=r``, ``aspf=r``,
    ``psd=u``, ``t=n``, ``fo=0``.

    :param text: the record as published.
    :param tags: every ``name=value`` as written (names lower-cased), in order.
    :param rua: the syntactically valid aggregate-report URIs (``!size`` suffixes, an
        RFC 7489 form RFC 9989 says to ignore, removed); ``ruf`` likewise.
    :param pct: ``pct=`` (0-100, RFC 7489 §6.3), None when absent or invalid; ``rf``
        and ``ri`` likewise. RFC 9989 removed them; only RFC 7489 mode uses ``pct``.
    :param invalid: names of the tags whose values were discarded.
    :param unknown: names of the tags neither RFC defines (ignored).
    :param warnings: one sentence per thing ignored or discarded, for people.
    """

    text: str
    tags: tuple[tuple[str, str], ...]
    p: Policy | None = None
    sp: Policy | None = None
    np: Policy | None = None
    psd: Literal["y", "n", "u"] = "u"
    t: bool = False
    adkim: Literal["r", "s"] = "r"
    aspf: Literal["r", "s"] = "r"
    rua: tuple[str, ...] = ()
    ruf: tuple[str, ...] = ()
    fo: tuple[str, ...] = ("0",)
    pct: int | None = None
    rf: tuple[str, ...] | None = None
    ri: int | None = None
    invalid: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def has(self, tag: str) -> bool:
        """True when the record writes the tag (valid or not)."""
        return any(name == tag for name, _ in self.tags)

    def usable(self, mode: Mode = "tree-walk") -> bool:
        """Whether a receiver applies this record, or "applies no DMARC processing".

        RFC 9989 §4.10.1: a record whose ``p`` is invalid, or whose ``sp`` or ``np`` is
        invalid, is used as ``p=none`` when ``rua`` holds a valid URI, else not at all.
        A record with no ``p`` is ``p=none`` under RFC 9989 (§4.7); RFC 7489 §6.3 makes
        ``p`` required, so in ``"psl"`` mode it is treated like an invalid one.
        """
        broken = any(tag in self.invalid for tag in ("p", "sp", "np"))
        if mode == "psl" and not self.has("p"):
            broken = True
        return not broken or bool(self.rua)

    def effective(self, mode: Mode = "tree-walk") -> tuple[Policy, Policy | None, Policy | None]:
        """``(p, sp, np)`` as applied: ``p=none`` (and no ``sp``/``np``) for a record
        rescued by its ``rua`` (:meth:`usable`); ``p=none`` for a missing ``p``."""
        broken = any(tag in self.invalid for tag in ("p", "sp", "np"))
        if broken or (mode == "psl" and not self.has("p")):
            return "none", None, None
        return self.p or "none", self.sp, self.np


def _policy(value: str) -> Policy | None:
    return _POLICIES.get(value.lower())


def _uris(name: str, value: str, warnings: list[str]) -> tuple[str, ...]:
    found = []
    for raw in value.split(","):
        uri = raw.strip(" \t")
        size = _SIZE.search(uri)
        if size:
            warnings.append(f"{name}: the size limit {size.group(0)!r} on {uri!r} is RFC 7489 "
                            "syntax; RFC 9989 §4.7 says to ignore it")
            uri = uri[: size.start()]
        if _URI.fullmatch(uri):
            found.append(uri)
        else:
            warnings.append(f"{name}: {uri!r} is not a URI; ignored (RFC 9989 §4.7)")
    return tuple(found)


def _split(text: str) -> list[str]:
    parts = text.split(";")
    if parts and not parts[-1].strip(" \t"):
        parts.pop()                       # the optional final dmarc-sep
    return parts


def parse_record(text: str) -> DMARCRecord:
    """Parse a DMARC Policy Record (RFC 9989 §4.7, §4.8).

    Leading whitespace is allowed before ``v=DMARC1``; tag names and the keyword
    values (``p=Reject``) are case-insensitive, ``DMARC1`` is not. A tag written twice
    keeps its first value. Everything after ``v=DMARC1`` is read leniently (see the
    module's docstring): discarded values are listed in ``invalid`` and ``warnings``.

    :raises ParseError: when the text does not start with ``v=DMARC1`` (a TXT record of
        another kind). A value holding characters outside printable ASCII is discarded
        like any other invalid value.
    :raises ArgumentTypeError: for anything but a ``str``.
    """
    if not isinstance(text, str):
        raise ArgumentTypeError(f"a DMARC record is a str, not {type(text).__name__}")
    return _parse_record(text)


@lru_cache(maxsize=1024)
def _parse_record(text: str) -> DMARCRecord:
    """parse_record() of a str, memoised: the same few records come back for every
    message from a domain, and a record is an immutable value. ParseError is raised
    again each time (lru_cache keeps only results)."""
    if not _VERSION.match(text):
        raise ParseError("a DMARC record starts with v=DMARC1 (DMARC1 is case-sensitive)",
                         position=0, rfc=_RFC, text=text)
    tags: list[tuple[str, str]] = []
    values: dict[str, str] = {}
    warnings: list[str] = []
    invalid: list[str] = []
    unknown: list[str] = []
    seen = {"v"}
    for i, part in enumerate(_split(text)):
        if i == 0:
            tags.append(("v", "DMARC1"))
            continue
        if not part.strip(" \t"):
            warnings.append("an empty tag (';;') was ignored")
            continue
        match = _TAG.fullmatch(part)
        if match is None:
            warnings.append(f"{part.strip()!r} is not a tag=value pair; ignored (RFC 9989 §4.7)")
            continue
        name, value = match.group(1).lower(), match.group(2)
        # dmarc-value is printable ASCII, and the URI lists also allow WSP around their
        # commas (dmarc-urilist): a tab is whitespace, not a foreign character.
        printable = all(" " <= ch <= "~" or ch == "\t" for ch in value)
        if printable:
            tags.append((name, value))
        # The first occurrence of a tag is the one read, valid or not.
        if name in seen:
            warnings.append(f"{name} is given twice; the first value is used")
            continue
        seen.add(name)
        if name not in _KNOWN:
            unknown.append(name)
            warnings.append(f"unknown tag {name}={value!r} ignored (RFC 9989 §4.7)")
            continue
        if not value or not printable:
            # dmarc-tag = 1*ALPHA equals 1*dmarc-value (printable ASCII): a known tag
            # written without a valid value is an invalid tag, not an absent one.
            why = "is empty" if not value else "holds characters outside printable ASCII"
            warnings.append(f"{name}: the value {why}; discarded (RFC 9989 §4.7)")
            invalid.append(name)
            continue
        values[name] = value
    fields = _fields(values, warnings, invalid)
    return DMARCRecord(text=text, tags=tuple(tags), invalid=tuple(dict.fromkeys(invalid)),
                       unknown=tuple(unknown), warnings=tuple(warnings), **fields)


def _fields(values: dict[str, str], warnings: list[str], invalid: list[str]) -> dict[str, Any]:
    """The typed tags, each invalid value discarded with a warning."""
    out: dict[str, Any] = {}

    def bad(name: str, why: str) -> None:
        invalid.append(name)
        warnings.append(f"{name}={values[name]!r} is invalid ({why}); discarded (RFC 9989 §4.7)")

    for name in ("p", "sp", "np"):
        if name in values:
            policy = _policy(values[name])
            if policy is None:
                bad(name, "none, quarantine or reject")
            out[name] = policy
    for name, allowed, default in (("psd", "ynu", "u"), ("t", "yn", "n"), ("adkim", "rs", "r"),
                                   ("aspf", "rs", "r")):
        value = values.get(name, default).lower()
        if value not in allowed or len(value) != 1:
            bad(name, " or ".join(allowed))
            value = default
        out[name] = (value == "y") if name == "t" else value
    for name in ("rua", "ruf"):
        if name in values:
            out[name] = _uris(name, values[name], warnings)
    if "fo" in values:
        options = tuple(o.strip(" \t").lower() for o in values["fo"].split(":"))
        if all(o in _FO for o in options):
            out["fo"] = options
        else:
            bad("fo", "0, 1, d or s, separated by ':'")
    if "pct" in values:
        pct = values["pct"]
        if pct.isascii() and pct.isdigit() and int(pct) <= 100:
            out["pct"] = int(pct)
        else:
            bad("pct", "an integer 0-100")
    if "rf" in values:
        out["rf"] = tuple(f.strip(" \t").lower() for f in values["rf"].split(":"))
    if "ri" in values:
        ri = values["ri"]
        if ri.isascii() and ri.isdigit() and len(ri) <= 10:
            out["ri"] = int(ri)
        else:
            bad("ri", "a number of seconds")
    for name in sorted(REMOVED_TAGS & values.keys()):
        warnings.append(f"{name}= was removed by RFC 9989 (Appendix C); it is read, and used "
                        "only in RFC 7489 mode" if name == "pct" else
                        f"{name}= was removed by RFC 9989 (Appendix C); it is read and ignored")
    return out
