"""The SPF record grammar (RFC 7208 §4.5, §4.6, §5, §6, §7.1, §12).

A record is parsed once into frozen values: a :class:`Record` of :class:`Mechanism`
and :class:`Modifier` terms whose domain-specs are :class:`MacroString` values already
split into literal text and :class:`Macro` expansions. Rendering a parsed record gives
text that parses back to an equal record.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from functools import lru_cache

from .._grammar import IPV4_ADDRESS_RE
from ..errors import ParseError

__all__ = [
    "MECHANISMS",
    "Macro",
    "MacroString",
    "Mechanism",
    "Modifier",
    "Record",
    "is_spf_record",
    "parse_explain_string",
    "parse_macro_string",
    "parse_record",
]

_RFC_TERMS = "RFC 7208 §4.6.1"
_RFC_MACRO = "RFC 7208 §7.1"

MECHANISMS = frozenset({"all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists"})
"""The mechanism names of RFC 7208 §5 (case-insensitive in records)."""

# Mechanisms and modifiers whose evaluation queries DNS (RFC 7208 §4.6.4).
DNS_TERMS = frozenset({"include", "a", "mx", "ptr", "exists", "redirect"})

QUALIFIERS = "+-~?"

# macro-letter = "s" / "l" / "o" / "d" / "i" / "p" / "h" / "c" / "r" / "t" / "v"  (§7.1)
_MACRO_LETTERS = frozenset("slodiphcrtv")
_EXP_ONLY_LETTERS = frozenset("crt")          # §7.1: only in "exp" text
_DELIMITERS = frozenset(".-+,/_=")
# macro-expand = ( "%{" macro-letter transformers *delimiter "}" ) / "%%" / "%_" / "%-"
_MACRO_EXPAND = re.compile(r"%\{([a-zA-Z])([0-9]*)([rR]?)([.\-+,/_=]*)\}")
# name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )  (§12)
_MODIFIER = re.compile(r"([A-Za-z][A-Za-z0-9\-_.]*)=(.*)\Z", re.DOTALL)
_MECHANISM = re.compile(r"([+\-~?]?)([A-Za-z][A-Za-z0-9\-_.]*)(.*)\Z", re.DOTALL)
# dual-cidr-length = [ ip4-cidr-length ] [ "/" ip6-cidr-length ]  (§5.6)
# ip4-cidr-length = "/" ( "0" / %x31-39 0*1DIGIT ), ip6-cidr-length likewise with
# 0*2DIGIT: at most 3 digits, so int() never sees a long digit string.
_DUAL_CIDR = re.compile(r"(?:/(0|[1-9][0-9]{0,2}))?(?://(0|[1-9][0-9]{0,2}))?\Z")
_CIDR_TAIL = re.compile(r"(/(?:0|[1-9][0-9]{0,2}))?(//(?:0|[1-9][0-9]{0,2}))?\Z")
# toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
_TOPLABEL = re.compile(r"(?:[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*"
                       r"|[A-Za-z0-9]+-[A-Za-z0-9\-]*[A-Za-z0-9])\Z")


@dataclass(frozen=True, slots=True)
class Macro:
    """One ``%{...}`` expansion (RFC 7208 §7.1): letter, digits, reversal, delimiters.

    ``url_escape`` is set when the letter was written in upper case (§7.3).
    """

    letter: str
    digits: int | None = None
    reverse: bool = False
    delimiters: str = ""
    url_escape: bool = False

    def __str__(self) -> str:
        letter = self.letter.upper() if self.url_escape else self.letter
        digits = "" if self.digits is None else str(self.digits)
        return f"%{{{letter}{digits}{'r' if self.reverse else ''}{self.delimiters}}}"


@dataclass(frozen=True, slots=True)
class MacroString:
    """A macro-string (RFC 7208 §7.1): literal text and macros, in order.

    ``literal`` is the text itself when it holds no macro at all (the common case,
    which then needs no expansion).
    """

    text: str
    parts: tuple[str | Macro, ...]
    literal: str | None

    @property
    def letters(self) -> frozenset[str]:
        return frozenset(p.letter for p in self.parts if isinstance(p, Macro))

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class Mechanism:
    """A directive: a qualifier and a mechanism (RFC 7208 §4.6.2, §5).

    ``target`` is the domain-spec (None when the mechanism has none, or uses the
    current domain), ``network`` the ip4/ip6 network, ``cidr4``/``cidr6`` the dual
    CIDR lengths of ``a`` and ``mx`` (None when not written).
    """

    qualifier: str
    name: str
    target: MacroString | None = None
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None
    cidr4: int | None = None
    cidr6: int | None = None
    explicit_qualifier: bool = False
    text: str = field(default="", compare=False)
    # Precomputed for the ip4/ip6 hot path (RFC 7208 §5.6): (ip & mask) == net.
    version: int = field(default=0, compare=False)
    mask: int = field(default=0, compare=False)
    net_int: int = field(default=0, compare=False)

    @property
    def counts(self) -> bool:
        """True for the terms that count against the DNS lookup limit (§4.6.4)."""
        return self.name in DNS_TERMS

    def __str__(self) -> str:
        if self.text:
            return self.text
        return self.render()

    def render(self) -> str:
        """The term in canonical form (what parse → render → parse relies on)."""
        out = self.qualifier if self.explicit_qualifier else ""
        out += self.name
        if self.network is not None:
            net = self.network
            out += f":{net.network_address}"
            if net.prefixlen != net.max_prefixlen:
                out += f"/{net.prefixlen}"
            return out
        if self.target is not None:
            out += f":{self.target.text}"
        if self.cidr4 is not None:
            out += f"/{self.cidr4}"
        if self.cidr6 is not None:
            out += f"//{self.cidr6}"
        return out


@dataclass(frozen=True, slots=True)
class Modifier:
    """A modifier ``name=value`` (RFC 7208 §6, §12); unknown ones are kept."""

    name: str
    value: MacroString
    text: str = field(default="", compare=False)

    @property
    def counts(self) -> bool:
        return self.name == "redirect"

    def __str__(self) -> str:
        return self.text or f"{self.name}={self.value.text}"


@dataclass(frozen=True, slots=True)
class Record:
    """A parsed SPF record (RFC 7208 §4.5): its terms in order.

    ``mechanisms`` are the directives in order; ``redirect`` and ``exp`` the two
    modifiers of §6 (each at most once); ``modifiers`` every modifier, unknown ones
    included (§6: they are ignored but kept).
    """

    text: str = field(compare=False)
    terms: tuple[Mechanism | Modifier, ...]
    mechanisms: tuple[Mechanism, ...]
    modifiers: tuple[Modifier, ...]
    redirect: Modifier | None
    exp: Modifier | None

    @property
    def has_all(self) -> bool:
        return any(m.name == "all" for m in self.mechanisms)

    def __str__(self) -> str:
        return self.render()

    def render(self) -> str:
        """The record in canonical form: ``parse_record(r.render()) == r``."""
        return " ".join(["v=spf1", *(_render(t) for t in self.terms)])


def _render(term: Mechanism | Modifier) -> str:
    if isinstance(term, Mechanism):
        return term.render()
    return f"{term.name}={term.value.text}"


def is_spf_record(text: str) -> bool:
    """True when a TXT string is an SPF version 1 record (RFC 7208 §4.5).

    The version is ``v=spf1`` in any case, followed by a space or the end.
    """
    return text[:6].lower() == "v=spf1" and (len(text) == 6 or text[6] == " ")


def parse_macro_string(text: str, *, exp: bool = False, position: int = 0,
                       spaces: bool = False) -> MacroString:
    """A macro-string (RFC 7208 §7.1), or :class:`ParseError`.

    ``exp`` allows the letters c, r and t (only valid in explanation text);
    ``spaces`` allows SP literals (explain-string, §6.2).
    """
    return _scan_macro_string(text, exp=exp, position=position, spaces=spaces)[0]


def _scan_macro_string(text: str, *, exp: bool = False, position: int = 0,
                       spaces: bool = False) -> tuple[MacroString, int]:
    """:func:`parse_macro_string`, and where its last macro-expand ends (-1: none)."""
    last_expand = -1
    if "%" not in text:
        for i, ch in enumerate(text):
            if not ("\x21" <= ch <= "\x7e" or (spaces and ch == " ")):
                raise ParseError(f"character {ch!r} not allowed in a macro-string",
                                 position=position + i, rfc=_RFC_MACRO, text=text)
        return MacroString(text, (text,) if text else (), text), last_expand
    parts: list[str | Macro] = []
    literal: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "%":
            nxt = text[i + 1:i + 2]
            if nxt == "%":
                literal.append("%")
                i += 2
                last_expand = i
                continue
            if nxt == "_":
                literal.append(" ")
                i += 2
                last_expand = i
                continue
            if nxt == "-":
                literal.append("%20")
                i += 2
                last_expand = i
                continue
            m = _MACRO_EXPAND.match(text, i)
            if m is None:
                raise ParseError("'%' must be followed by '{', '%', '_' or '-' and a "
                                 "well-formed macro", position=position + i,
                                 rfc=_RFC_MACRO, text=text)
            letter = m.group(1)
            low = letter.lower()
            if low not in _MACRO_LETTERS:
                raise ParseError(f"unknown macro letter {letter!r}", position=position + i,
                                 rfc=_RFC_MACRO, text=text)
            if low in _EXP_ONLY_LETTERS and not exp:
                raise ParseError(f"macro letter {letter!r} is allowed only in exp text",
                                 position=position + i, rfc=_RFC_MACRO, text=text)
            digits = _digits(m.group(2)) if m.group(2) else None
            if digits == 0:
                # RFC 7208 §7.3: "If a DIGIT is specified, the value MUST be nonzero."
                raise ParseError("macro digit transformer must be nonzero",
                                 position=position + i, rfc="RFC 7208 §7.3", text=text)
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(Macro(low, digits, bool(m.group(3)), m.group(4), letter != low))
            i = last_expand = m.end()
            continue
        if not ("\x21" <= ch <= "\x7e" or (spaces and ch == " ")):
            raise ParseError(f"character {ch!r} not allowed in a macro-string",
                             position=position + i, rfc=_RFC_MACRO, text=text)
        literal.append(ch)
        i += 1
    if literal:
        parts.append("".join(literal))
    if all(isinstance(p, str) for p in parts):
        literal_text = "".join(p for p in parts if isinstance(p, str))
        return MacroString(text, tuple(parts), literal_text), last_expand
    return MacroString(text, tuple(parts), None), last_expand


# RFC 7208 §7.3: "Implementations MUST support at least a value of 128, as that is the
# maximum number of labels in a domain name."
_MAX_DIGITS = 128


def _digits(text: str) -> int:
    """The DIGIT transformer's value (RFC 7208 §7.1 ``*DIGIT``), at most 128.

    The grammar puts no bound on the digits; a larger value keeps the rightmost 128
    parts, which is every part of any domain name (§7.3). A long digit string is never
    given to int() (which refuses over 4300 digits), so hostile records cannot raise.
    """
    significant = text.lstrip("0")
    if len(significant) > 3:
        return _MAX_DIGITS
    return min(int(significant or "0"), _MAX_DIGITS)


def parse_explain_string(text: str) -> MacroString:
    """The explanation text an ``exp`` TXT record holds (RFC 7208 §6.2)."""
    return parse_macro_string(text, exp=True, spaces=True)


def _parse_domain_spec(text: str, position: int) -> MacroString:
    """domain-spec = macro-string domain-end (RFC 7208 §7.1)."""
    if not text:
        raise ParseError("empty domain-spec", position=position, rfc=_RFC_MACRO)
    ms, last_expand = _scan_macro_string(text, position=position)
    # domain-end = ( "." toplabel [ "." ] ) / macro-expand: a macro-expand ("%{...}",
    # "%%", "%_" or "%-", as the scan found it, not as the text's tail looks) that
    # ends the text is a domain-end; otherwise the literal tail must be a top label.
    if last_expand == len(text):
        return ms
    raw = text[:-1] if text.endswith(".") else text
    dot = raw.rfind(".")
    if dot < 0:
        raise ParseError(f"domain-spec {text!r} must end with '.' and a top label",
                         position=position, rfc=_RFC_MACRO, text=text)
    toplabel = raw[dot + 1:]
    if "%" in toplabel or not _TOPLABEL.match(toplabel):
        raise ParseError(f"invalid top label {toplabel!r} in domain-spec {text!r}",
                         position=position + dot + 1, rfc=_RFC_MACRO, text=text)
    return ms


def _cidr(value: str | None, limit: int, what: str, position: int) -> int | None:
    if value is None:
        return None
    length = int(value)
    if length > limit:
        raise ParseError(f"{what} CIDR length /{length} exceeds /{limit}", position=position,
                         rfc="RFC 7208 §5.6")
    return length


def _parse_mechanism(term: str, position: int) -> Mechanism:
    m = _MECHANISM.match(term)
    if m is None:
        raise ParseError(f"invalid term {term!r}", position=position, rfc=_RFC_TERMS)
    qual, name, rest = m.group(1), m.group(2).lower(), m.group(3)
    explicit = bool(qual)
    qual = qual or "+"
    at = position + len(m.group(1)) + len(m.group(2))
    if name not in MECHANISMS:
        raise ParseError(f"unknown mechanism {m.group(2)!r}", position=position,
                         rfc="RFC 7208 §5")
    if name == "all":
        if rest:
            raise ParseError(f"'all' takes no argument: {term!r}", position=at,
                             rfc="RFC 7208 §5.1")
        return Mechanism(qual, name, explicit_qualifier=explicit, text=term)
    if name in ("ip4", "ip6"):
        if not rest.startswith(":"):
            raise ParseError(f"{name} needs ':' and a network", position=at,
                             rfc="RFC 7208 §5.6")
        body = rest[1:]
        addr, slash, length_text = body.partition("/")
        limit = 32 if name == "ip4" else 128
        if slash and not re.fullmatch(r"0|[1-9][0-9]{0,2}", length_text):
            raise ParseError(f"invalid CIDR length in {term!r}", position=at,
                             rfc="RFC 7208 §5.6")
        length = _cidr(length_text if slash else None, limit, name, at) or (
            0 if slash else limit)
        try:
            if name == "ip4":
                if not IPV4_ADDRESS_RE.fullmatch(addr):  # RFC 7208 §5.6 ip4-network
                    raise ValueError(addr)
                net: ipaddress.IPv4Network | ipaddress.IPv6Network = ipaddress.IPv4Network(
                    (addr, length), strict=False)
            else:
                if "." in addr and not re.search(r":(?:\d{1,3}\.){3}\d{1,3}\Z", addr):
                    raise ValueError(addr)
                net = ipaddress.IPv6Network((addr, length), strict=False)
        except ValueError:
            raise ParseError(f"invalid {name} network {addr!r}", position=at + 1,
                             rfc="RFC 7208 §5.6") from None
        return Mechanism(qual, name, network=net, explicit_qualifier=explicit, text=term,
                         version=net.version, mask=int(net.netmask),
                         net_int=int(net.network_address))
    target: MacroString | None = None
    cidr4 = cidr6 = None
    if name in ("a", "mx"):
        tail = _CIDR_TAIL.search(rest)
        assert tail is not None  # the pattern matches the empty string at the end
        spec = rest[:tail.start()]
        cidr = _DUAL_CIDR.match(rest, tail.start())
        assert cidr is not None
        cidr4 = _cidr(cidr.group(1), 32, "ip4", at + tail.start())
        cidr6 = _cidr(cidr.group(2), 128, "ip6", at + tail.start())
        if len(cidr.group(1) or "") > 2 or len(cidr.group(2) or "") > 3:
            raise ParseError(f"invalid CIDR length in {term!r}", position=at + tail.start(),
                             rfc="RFC 7208 §5.6")
    else:
        spec = rest
    if spec:
        if spec.startswith("/") and name in ("a", "mx"):
            raise ParseError(f"invalid CIDR length in {term!r}", position=at,
                             rfc="RFC 7208 §5.6")
        if not spec.startswith(":"):
            raise ParseError(f"invalid argument {spec!r} to {name}", position=at,
                             rfc=_RFC_TERMS)
        target = _parse_domain_spec(spec[1:], at + 1)
    elif name in ("include", "exists"):
        raise ParseError(f"{name} needs ':' and a domain-spec", position=at,
                         rfc="RFC 7208 §5.2" if name == "include" else "RFC 7208 §5.7")
    return Mechanism(qual, name, target, None, cidr4, cidr6, explicit, term)


@lru_cache(maxsize=4096)
def parse_record(text: str) -> Record:
    """Parse an SPF record (RFC 7208 §4.5, §4.6, §12).

    :param text: the TXT record's text, its strings already joined (§3.3).
    :raises ParseError: with the position of the first error and its RFC section.
    """
    if not isinstance(text, str):
        raise TypeError(f"an SPF record is a str, not {type(text).__name__}")
    if not is_spf_record(text):
        raise ParseError("an SPF record starts with 'v=spf1' followed by a space or the end",
                         position=0, rfc="RFC 7208 §4.5", text=text)
    terms: list[Mechanism | Modifier] = []
    mechanisms: list[Mechanism] = []
    modifiers: list[Modifier] = []
    redirect = exp = None
    pos = 6
    for i, raw in enumerate(text[6:].split(" ")):
        if i:
            pos += 1  # the SP before this token
        start = pos
        pos += len(raw)
        if not raw:
            continue
        mod = _MODIFIER.match(raw)
        if mod is not None:
            name = mod.group(1).lower()
            vpos = start + len(mod.group(1)) + 1
            if name in ("redirect", "exp"):
                value = _parse_domain_spec(mod.group(2), vpos)
                if (redirect if name == "redirect" else exp) is not None:
                    raise ParseError(f"the {name} modifier appears more than once",
                                     position=start, rfc="RFC 7208 §6")
            else:
                value = parse_macro_string(mod.group(2), position=vpos)
            modifier = Modifier(name, value, raw)
            if name == "redirect":
                redirect = modifier
            elif name == "exp":
                exp = modifier
            modifiers.append(modifier)
            terms.append(modifier)
            continue
        try:
            mechanism = _parse_mechanism(raw, start)
        except ParseError as exc:
            raise ParseError(exc.message, position=exc.position, rfc=exc.rfc,
                             text=text) from None
        mechanisms.append(mechanism)
        terms.append(mechanism)
    return Record(text, tuple(terms), tuple(mechanisms), tuple(modifiers), redirect, exp)
