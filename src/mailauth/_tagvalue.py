"""tag=value lists (RFC 6376 §3.2), shared by DKIM, ARC, DMARC, MTA-STS and TLS-RPT.

    tag-list  =  tag-spec *( ";" tag-spec ) [ ";" ]
    tag-spec  =  [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]
    tag-name  =  ALPHA *ALNUMPUNC
    tag-value =  [ tval *( 1*(WSP / FWS) tval ) ]
    tval      =  1*VALCHAR            ; VALCHAR = %x21-3A / %x3C-7E

Tag names are case-sensitive; a tag given twice makes the whole list invalid. Values
keep their inner whitespace (callers that must, like ``b=``, remove it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from ._grammar import BAD_LINE_BREAK_RE, FWS_CHARS, VALCHAR_SET
from .errors import ParseError

__all__ = ["TagList", "parse_tag_list", "tag_dict"]

_RFC = "RFC 6376 §3.2"
_BAD_VALCHAR = re.compile(f"[^{VALCHAR_SET}{FWS_CHARS}]")
# What no valid list holds: VALCHAR, FWS and ";" are all there is (tag names are ALNUM).
_BAD_LIST_CHAR = re.compile(f"[^{VALCHAR_SET};{FWS_CHARS}]")


@dataclass(frozen=True, slots=True)
class TagList(Mapping[str, str]):
    """A parsed tag list: a read-only mapping in the order written, with positions."""

    tags: tuple[tuple[str, str], ...]
    positions: tuple[int, ...]
    _index: dict[str, str] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", dict(self.tags))

    def __getitem__(self, key: str) -> str:
        return self._index[key]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self.tags)

    def __len__(self) -> int:
        return len(self.tags)

    def position(self, key: str) -> int | None:
        """Offset of the tag's name in the parsed text."""
        for (name, _), pos in zip(self.tags, self.positions, strict=True):
            if name == key:
                return pos
        return None


def _bad_fws(text: str) -> int | None:
    """Where a line break neither folds (is followed by WSP) nor ends the text, or None."""
    if "\n" not in text and "\r" not in text:
        return None
    # Most texts fold only with CRLF WSP and may end in a line break: when nothing else
    # is left after removing those, there is no need for the regex (~20 ns a character).
    body = text[:-2] if text.endswith("\r\n") else \
        text[:-1] if text.endswith(("\r", "\n")) else text
    unfolded = body.replace("\r\n ", " ").replace("\r\n\t", " ")
    if "\n" not in unfolded and "\r" not in unfolded:
        return None
    bad = BAD_LINE_BREAK_RE.search(text)
    return None if bad is None else bad.start()


def parse_tag_list(text: str, *, strict_values: bool = True, rfc: str = _RFC) -> TagList:
    """Parse a tag=value list.

    :param strict_values: reject characters outside VALCHAR and whitespace in values
        (DKIM, ARC); DMARC and TLS-RPT callers relax this for what records carry in
        the wild.
    :param rfc: the section named in errors.
    :raises ParseError: with the position of the offending tag.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_tag_list() takes str, not {type(text).__name__}")
    bad_fws = _bad_fws(text)
    if bad_fws is not None:
        raise ParseError("line break not followed by whitespace (invalid FWS)",
                         position=bad_fws, rfc=rfc, text=text)
    tags: list[tuple[str, str]] = []
    positions: list[int] = []
    seen: set[str] = set()
    pos = 0  # where the current spec starts
    for spec in text.split(";"):
        raw_name, eq, value = spec.partition("=")
        name = raw_name.strip(FWS_CHARS)
        at = pos + len(raw_name) - len(raw_name.lstrip(FWS_CHARS))  # the name's offset
        if not eq:
            if name:
                raise ParseError(f"tag without '=': {spec.strip()!r}", position=at, rfc=rfc,
                                 text=text)
            # An empty spec (";;" or a trailing ";") is tolerated, as every verifier does.
        else:
            # tag-name = ALPHA *ALNUMPUNC (letters, digits, "_"): in ASCII, an identifier
            # that does not start with "_" (three times faster than a regex match).
            if not (name.isidentifier() and name.isascii() and name[0] != "_"):
                raise ParseError(f"invalid tag name {name!r}", position=at, rfc=rfc, text=text)
            value = value.strip(FWS_CHARS)
            if strict_values:
                bad = _BAD_VALCHAR.search(value)
                if bad is not None:
                    where = pos + spec.find(bad.group(), len(raw_name) + 1)
                    raise ParseError(f"invalid character {bad.group()!r} in value of tag "
                                     f"{name!r}", position=where, rfc=rfc, text=text)
            if name in seen:
                raise ParseError(f"duplicate tag {name!r}", position=at, rfc=rfc, text=text)
            seen.add(name)
            tags.append((name, value))
            positions.append(at)
        pos += len(spec) + 1
    return TagList(tuple(tags), tuple(positions))


def _fast_tag_dict(text: str, strict_values: bool) -> dict[str, str] | None:
    """:func:`tag_dict` without positions: the tags, or None for anything the exact
    parser (:func:`parse_tag_list`, its reference) must look at, errors included."""
    if _bad_fws(text) is not None:
        return None
    # One search covers every value at once (tag names are checked on their own).
    if strict_values and _BAD_LIST_CHAR.search(text) is not None:
        return None
    tags: dict[str, str] = {}
    for spec in text.split(";"):
        name, eq, value = spec.partition("=")
        name = name.strip(FWS_CHARS)
        if not eq:
            if name:
                return None
            continue
        if not (name.isidentifier() and name.isascii() and name[0] != "_") or name in tags:
            return None
        tags[name] = value.strip(FWS_CHARS)
    return tags


def tag_dict(text: str, *, strict_values: bool = True, rfc: str = _RFC) -> dict[str, str]:
    """The tags of a tag=value list as a dict, in the order written.

    The same tags and the same errors as :func:`parse_tag_list` (a hypothesis test
    compares them); without the positions, which only an error needs, it is about
    twice as fast. An error is raised by :func:`parse_tag_list` itself.

    :raises ParseError: with the position of the offending tag.
    """
    if not isinstance(text, str):
        raise TypeError(f"tag_dict() takes str, not {type(text).__name__}")
    tags = _fast_tag_dict(text, strict_values)
    if tags is None:
        tags = dict(parse_tag_list(text, strict_values=strict_values, rfc=rfc).tags)
    return tags
