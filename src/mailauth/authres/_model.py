"""The values: :class:`Property`, :class:`ResInfo` and :class:`AuthenticationResults`,
and how they are written back through :mod:`mailauth._headerfmt` (RFC 8601 §2.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as _field

from .._grammar import KEYWORD_RE
from .._headerfmt import (
    WIDTH,
    authentication_results,
    comment,
    quote_pvalue,
    quote_value,
    resinfo,
    unfold,
)
from ._words import _NAME

__all__ = ["AuthenticationResults", "Property", "ResInfo"]


@dataclass(frozen=True, slots=True)
class Property:
    """One ``ptype.property=pvalue`` of a resinfo (RFC 8601 §2.2, §2.3).

    ``header.d=example.org`` is ``Property("header", "d", "example.org")``. ``ptype`` is
    ``""`` for a property written without one (``action=none``, as Microsoft writes).
    ``value`` is the value as written, without the quotes of a quoted-string.
    """

    ptype: str
    name: str
    value: str

    @property
    def key(self) -> str:
        """``ptype.property`` (``"header.d"``), or just the name when there is no ptype."""
        return f"{self.ptype}.{self.name}" if self.ptype else self.name

    def __str__(self) -> str:
        return f"{self.key}={quote_pvalue(self.value)}"


@dataclass(frozen=True, slots=True)
class ResInfo:
    """One result of an Authentication-Results field: ``method[/version]=result``,
    its ``reason=``, properties and comments (RFC 8601 §2.2 resinfo).

    ``str()`` is :meth:`render`.
    """

    method: str
    result: str
    version: int | None = None
    reason: str | None = None
    properties: tuple[Property, ...] = ()
    comments: tuple[str, ...] = ()

    def get(self, key: str) -> str | None:
        """The value of the first property named ``key`` (``"header.d"``,
        ``"smtp.mailfrom"``, ``"action"``), compared case-insensitively, or None."""
        key = key.lower()
        for prop in self.properties:
            if prop.key.lower() == key:
                return prop.value
        return None

    def render(self) -> str:
        """This resinfo on one line, as :func:`mailauth._headerfmt.resinfo` writes it.

        The comments become one comment after the methodspec (joined by ``"; "``), then
        ``reason=``, then the properties in their order.

        :raises ValueError: for a method, result, ptype or property name that is not
            made of RFC 2045 token characters (a parsed value always is).
        """
        return " ".join(self._words())

    def __str__(self) -> str:
        return self.render()

    def _words(self) -> list[str]:
        """The words of the resinfo, for :func:`_headerfmt.authentication_results`."""
        note = "; ".join(self.comments) if self.comments else None
        if KEYWORD_RE.fullmatch(self.method) and KEYWORD_RE.fullmatch(self.result):
            words = list(resinfo(self.method, self.result, reason=self.reason,
                                 comment_text=note, version=self.version))
        else:
            # Names read from fields that depart from RFC 8601 §2.2 (``dkim=dkim_pass``)
            # are written back as read, in the same order resinfo() uses.
            for word in (self.method, self.result):
                if not _NAME.fullmatch(word):
                    raise ValueError(f"{word!r} cannot be written as a method or result")
            version = "" if self.version is None else f"/{int(self.version)}"
            words = [f"{self.method}{version}={self.result}"]
            if note is not None:
                words += comment(note).split()
            if self.reason is not None:
                words.append(f"reason={quote_value(self.reason)}")
        for prop in self.properties:
            if not (_NAME.fullmatch(prop.name.replace(".", "-"))
                    and (not prop.ptype or _NAME.fullmatch(prop.ptype))):
                raise ValueError(f"{prop.key!r} cannot be written as ptype.property")
            words.append(str(prop))
        return words


@dataclass(frozen=True, slots=True)
class AuthenticationResults:
    """One Authentication-Results (or ARC-Authentication-Results) field, read or to write
    (RFC 8601 §2.2; RFC 8617 §4.1.1).

    ``authserv_id`` is ``""`` for a field written without one (Microsoft Exchange
    Online). ``results`` is empty for ``authserv-id; none``. ``instance`` is the ARC
    ``i=`` (None for a plain field). ``warnings`` says, one sentence each, where the field
    departed from the grammar. ``raw`` is the field body as it was given (not compared).
    ``str()`` is :meth:`field` unfolded, on one line.
    """

    authserv_id: str
    version: int | None
    results: tuple[ResInfo, ...]
    instance: int | None = None
    warnings: tuple[str, ...] = ()
    raw: str = _field(default="", compare=False, repr=False)

    def get(self, method: str) -> tuple[ResInfo, ...]:
        """Every resinfo of ``method`` (``"dkim"``), in field order."""
        method = method.lower()
        return tuple(r for r in self.results if r.method == method)

    def field(self, *, width: int = WIDTH) -> str:
        """The whole field, ``Authentication-Results: ...`` (``ARC-Authentication-Results:
        i=N; ...`` with an instance), folded to ``width`` octets, without the final CRLF.

        Written by :func:`mailauth._headerfmt.authentication_results`: the authserv-id
        and reasons quoted when they are not tokens, values per RFC 8601 §2.2 pvalue,
        ASCII only (other characters become "?").

        :raises ValueError: for a width under 20, or a name :meth:`ResInfo.render`
            cannot write.
        """
        return authentication_results(self.authserv_id, [r._words() for r in self.results],
                                      version=self.version, instance=self.instance,
                                      width=width)

    def __str__(self) -> str:
        return unfold(self.field())
