"""How results show themselves to people: in a notebook and at a prompt.

Every result type has three faces:

- ``str(result)``: one short verdict line (``dkim=pass: ...``);
- ``repr(result)``: short too, the type and the verdict, never the whole trace;
- a rich display for notebooks: ``_repr_html_`` (Jupyter) and ``_repr_pretty_``
  (IPython's text display), showing the verdict, each part (signature or term) with
  its reason, and the trace folded away.

The result classes inherit the four faces from :class:`Displayed` and only say what
they show, in ``_card()``, so every protocol is shown the same way. HTML is escaped
here, once; nothing from the network reaches a notebook unescaped.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["Card", "Displayed", "Part", "render_html", "render_pretty", "render_text",
           "short_repr"]

# Colours of the status words, by RFC 8601 result: green for pass, red for fail,
# amber for the errors, grey for the rest.
_COLOURS = {
    "pass": "#1a7f37", "fail": "#cf222e", "softfail": "#bc4c00", "permerror": "#9a6700",
    "temperror": "#9a6700", "policy": "#9a6700",
}
_GREY = "#57606a"


@dataclass(frozen=True, slots=True)
class Part:
    """One part of a result: a signature, an identity, a policy."""

    title: str
    status: str
    reason: str = ""
    facts: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Card:
    """What a result shows: its method, verdict and reason, facts, parts, trace."""

    method: str                                 # "spf", "dkim", ...
    status: str
    reason: str = ""
    facts: tuple[tuple[str, str], ...] = ()
    parts: tuple[Part, ...] = ()
    trace: tuple[str, ...] = ()                 # lines, folded away in the display
    header: str | None = None                   # the Authentication-Results fragment, etc.
    extra: tuple[tuple[str, str], ...] = field(default=())  # more folded blocks


def render_text(card: Card) -> str:
    """The verdict line: ``spf=pass: reason``."""
    line = f"{card.method}={card.status}"
    return f"{line}: {card.reason}" if card.reason else line


def short_repr(type_name: str, card: Card, limit: int = 120) -> str:
    """``<DKIMResult dkim=pass: ...>`` cut to about ``limit`` characters."""
    text = render_text(card)
    if len(text) > limit:
        text = text[:limit - 3] + "..."
    return f"<{type_name} {text}>"


def _status_html(status: str) -> str:
    colour = _COLOURS.get(status, _GREY)
    return (f'<b style="color:{colour}">{html.escape(status)}</b>')


def _facts_html(facts: Sequence[tuple[str, str]]) -> str:
    if not facts:
        return ""
    rows = "".join(f'<tr><th style="text-align:left;padding-right:1em">{html.escape(k)}</th>'
                   f'<td style="text-align:left"><code>{html.escape(v)}</code></td></tr>'
                   for k, v in facts)
    return f"<table>{rows}</table>"


def _folded(summary: str, body: str) -> str:
    return (f"<details><summary>{html.escape(summary)}</summary>"
            f'<pre style="white-space:pre-wrap">{html.escape(body)}</pre></details>')


def render_html(card: Card) -> str:
    """The notebook display: verdict, facts, one block per part, folded trace."""
    out = [f'<div class="mailauth-result"><p><code>{html.escape(card.method)}</code> = '
           f"{_status_html(card.status)}"]
    if card.reason:
        out.append(f": {html.escape(card.reason)}")
    out.append("</p>")
    out.append(_facts_html(card.facts))
    if card.parts:
        out.append("<ol>")
        for part in card.parts:
            out.append(f"<li>{html.escape(part.title)}: {_status_html(part.status)}")
            if part.reason:
                out.append(f" &mdash; {html.escape(part.reason)}")
            out.append(_facts_html(part.facts))
            out.append("</li>")
        out.append("</ol>")
    if card.header:
        out.append(_folded("header field", card.header))
    if card.trace:
        out.append(_folded(f"trace ({len(card.trace)} steps)", "\n".join(card.trace)))
    for title, body in card.extra:
        out.append(_folded(title, body))
    out.append("</div>")
    return "".join(out)


class _Printer(Protocol):
    """The part of IPython's pretty printer the results use."""

    def text(self, text: str) -> None: ...

    def break_(self) -> None: ...


def render_pretty(card: Card, printer: Any, cycle: bool, type_name: str) -> None:
    """IPython's text display: the verdict, then each part and fact on a line; the
    trace is left to ``result.trace`` (it can be long)."""
    p: _Printer = printer
    if cycle:
        p.text(f"<{type_name} ...>")
        return
    lines = [render_text(card)]
    lines += [f"  {k}: {v}" for k, v in card.facts]
    for part in card.parts:
        lines.append(f"  - {part.title}: {part.status}" +
                     (f" ({part.reason})" if part.reason else ""))
        lines += [f"      {k}: {v}" for k, v in part.facts]
    if card.trace:
        lines.append(f"  ({len(card.trace)} trace steps: see .trace)")
    for i, line in enumerate(lines):
        if i:
            p.break_()
        p.text(line)


class Displayed:
    """The four faces of a result, from its ``_card()``.

    A result class defines ``_card(*, full=True)``; ``str()`` and ``repr()`` ask for
    ``full=False``, only the verdict and reason (a milter may log one a message, and the
    full card writes header fields and the trace). Dataclasses that inherit it must be
    declared with ``repr=False``, or the dataclass's own ``__repr__`` replaces this one.
    """

    __slots__ = ()

    def _card(self, *, full: bool = True) -> Card:
        raise NotImplementedError

    def __str__(self) -> str:
        return render_text(self._card(full=False))

    def __repr__(self) -> str:
        return short_repr(type(self).__name__, self._card(full=False))

    def _repr_html_(self) -> str:
        return render_html(self._card())

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        render_pretty(self._card(), printer, cycle, type(self).__name__)
