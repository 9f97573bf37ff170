"""A summary of aggregate reports as one self-contained HTML page.

:func:`render_html` writes the page for a :class:`~mailauth.reports.Summary`: inline
CSS, inline SVG charts (volume and DMARC pass rate per day and per source IP), and
the tables per reporting organization, source IP and header From with the likely
cause of what fails. Nothing is fetched (no scripts, images, fonts or style sheets
from elsewhere) and no JavaScript is needed. Every text that came from a report is
escaped.

Each chart's ``<svg>`` carries ``data-chart`` and ``data-total`` (the messages it
shows), and each bar or point ``data-key``, ``data-messages``, ``data-pass`` and
``data-rate``, with a ``<title>`` tooltip saying the same in words, so that what a
chart shows can be checked against the numbers.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime

from ..errors import ArgumentTypeError
from ._summary import CAUSES, Summary, Tally

__all__ = ["render_html"]

_PASS = "#1a7f37"
_FAIL = "#cf222e"
_LINE = "#0969da"
_GRID = "#d0d7de"

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;
 color:#1f2328;background:#fff;margin:0;padding:24px 32px;max-width:1200px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.sub{color:#57606a;margin:0 0 16px}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:12px 0}
.card{border:1px solid #d0d7de;border-radius:6px;padding:10px 14px;min-width:120px}
.card b{display:block;font-size:20px}
.charts{display:flex;flex-wrap:wrap;gap:24px}
figure{margin:0;border:1px solid #d0d7de;border-radius:6px;padding:8px}
figcaption{font-weight:600;margin:0 0 4px}
svg text{font:11px system-ui,Helvetica,Arial,sans-serif;fill:#57606a}
table{border-collapse:collapse;width:100%;margin:4px 0 8px}
th,td{border-bottom:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.n{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#1a7f37}.fail{color:#cf222e}.cause{color:#57606a}
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _pct(rate: float | None) -> str:
    return "-" if rate is None else f"{100 * rate:.1f}%"


def _legend() -> str:
    return (f'<div class="legend"><span style="background:{_PASS}"></span>DMARC pass'
            f'<span style="background:{_FAIL}"></span>DMARC fail</div>')


def _data(t: Tally) -> str:
    rate = "" if t.dmarc_rate is None else f"{t.dmarc_rate:.4f}"
    return (f'data-key="{_e(t.key)}" data-messages="{t.messages}" '
            f'data-pass="{t.dmarc_pass}" data-fail="{t.dmarc_fail}" data-rate="{rate}"')


def _tip(t: Tally, label: str) -> str:
    return (f"<title>{_e(label)}: {t.messages} messages, {t.dmarc_pass} passed DMARC "
            f"({_pct(t.dmarc_rate)})</title>")


def _volume_columns(name: str, tallies: Sequence[Tally], caption: str) -> str:
    """Stacked columns (pass below, fail above), one per tally."""
    total = sum(t.messages for t in tallies)
    width, height, left, bottom = max(320, 40 + 28 * len(tallies)), 220, 44, 40
    step = (width - left - 10) / max(1, len(tallies))
    bar = max(4.0, step * 0.7)
    top = max((t.messages for t in tallies), default=0) or 1
    scale = (height - bottom - 16) / top
    out = [f'<figure><figcaption>{_e(caption)}</figcaption>{_legend()}'
           f'<svg role="img" width="{width}" '
           f'height="{height}" viewBox="0 0 {width} {height}" data-chart="{name}" '
           f'data-total="{total}">',
           f'<line x1="{left}" y1="{height - bottom}" x2="{width - 6}" '
           f'y2="{height - bottom}" stroke="{_GRID}"/>',
           f'<text x="{left - 4}" y="14" text-anchor="end">{top}</text>',
           f'<text x="{left - 4}" y="{height - bottom}" text-anchor="end">0</text>']
    # Days as MM-DD when they are all in one year.
    short = len({t.key[:4] for t in tallies}) == 1 and all(len(t.key) == 10 for t in tallies)
    for i, t in enumerate(tallies):
        x = left + i * step + (step - bar) / 2
        h_pass, h_fail = t.dmarc_pass * scale, t.dmarc_fail * scale
        base = height - bottom
        out.append(f'<g class="bar" {_data(t)}>{_tip(t, t.key)}'
                   f'<rect x="{x:.1f}" y="{base - h_pass:.1f}" width="{bar:.1f}" '
                   f'height="{h_pass:.1f}" fill="{_PASS}"/>'
                   f'<rect x="{x:.1f}" y="{base - h_pass - h_fail:.1f}" width="{bar:.1f}" '
                   f'height="{h_fail:.1f}" fill="{_FAIL}"/></g>')
        if len(tallies) <= 31 or i % max(1, len(tallies) // 15) == 0:
            out.append(f'<text x="{x + bar / 2:.1f}" y="{base + 12}" text-anchor="end" '
                       f'transform="rotate(-45 {x + bar / 2:.1f} {base + 12})">'
                       f'{_e(t.key[5:] if short else t.key)}</text>')
    out.append(f'<text class="total" x="{width - 8}" y="14" text-anchor="end">'
               f'{total} messages</text></svg></figure>')
    return "".join(out)


def _rate_line(name: str, tallies: Sequence[Tally], caption: str) -> str:
    """DMARC pass rate per tally, as a line with one point each."""
    total = sum(t.messages for t in tallies)
    width, height, left, bottom = max(320, 40 + 28 * len(tallies)), 220, 44, 40
    step = (width - left - 10) / max(1, len(tallies))
    span = height - bottom - 16
    base = height - bottom
    out = [f'<figure><figcaption>{_e(caption)}</figcaption>'
           f'<svg role="img" width="{width}" '
           f'height="{height}" viewBox="0 0 {width} {height}" data-chart="{name}" '
           f'data-total="{total}">']
    for frac in (0.0, 0.5, 1.0):
        y = base - frac * span
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - 6}" y2="{y:.1f}" '
                   f'stroke="{_GRID}"/><text x="{left - 4}" y="{y + 4:.1f}" '
                   f'text-anchor="end">{int(frac * 100)}%</text>')
    points = []
    for i, t in enumerate(tallies):
        if t.dmarc_rate is None:
            continue
        x = left + i * step + step / 2
        y = base - t.dmarc_rate * span
        points.append((x, y, t))
    if len(points) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in points)
        out.append(f'<polyline points="{path}" fill="none" stroke="{_LINE}" '
                   'stroke-width="2"/>')
    for x, y, t in points:
        out.append(f'<g class="point" {_data(t)}>{_tip(t, t.key)}<circle cx="{x:.1f}" '
                   f'cy="{y:.1f}" r="4" fill="{_LINE}"/></g>')
    out.append("</svg></figure>")
    return "".join(out)


def _source_bars(name: str, tallies: Sequence[Tally], caption: str, *,
                 rate: bool) -> str:
    """Horizontal bars, one per source: stacked volume, or the pass rate."""
    total = sum(t.messages for t in tallies)
    row, label_w, width = 22, 260, 720
    height = 20 + row * max(1, len(tallies))
    room = width - label_w - 70
    top = max((t.messages for t in tallies), default=0) or 1
    out = [f'<figure><figcaption>{_e(caption)}</figcaption>'
           + ("" if rate else _legend())
           + f'<svg role="img" width="{width}" '
           f'height="{height}" viewBox="0 0 {width} {height}" data-chart="{name}" '
           f'data-total="{total}">']
    for i, t in enumerate(tallies):
        y = 10 + i * row
        label = t.key + (f" ({t.reverse_name})" if t.reverse_name else "")
        shown = label if len(label) <= 42 else label[:41] + "\u2026"
        out.append(f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">'
                   f'{_e(shown)}</text><g class="bar" {_data(t)}>{_tip(t, label)}')
        if rate:
            w = (t.dmarc_rate or 0.0) * room
            out.append(f'<rect x="{label_w}" y="{y + 3}" width="{room}" height="14" '
                       f'fill="#f6f8fa"/><rect x="{label_w}" y="{y + 3}" width="{w:.1f}" '
                       f'height="14" fill="{_PASS}"/></g><text x="{label_w + room + 6}" '
                       f'y="{y + 14}">{_pct(t.dmarc_rate)}</text>')
        else:
            wp, wf = t.dmarc_pass / top * room, t.dmarc_fail / top * room
            out.append(f'<rect x="{label_w}" y="{y + 3}" width="{wp:.1f}" height="14" '
                       f'fill="{_PASS}"/><rect x="{label_w + wp:.1f}" y="{y + 3}" '
                       f'width="{wf:.1f}" height="14" fill="{_FAIL}"/></g>'
                       f'<text x="{label_w + wp + wf + 6:.1f}" y="{y + 14}">'
                       f'{t.messages}</text>')
    out.append("</svg></figure>")
    return "".join(out)


def _others(tallies: Sequence[Tally], limit: int) -> list[Tally]:
    """The first ``limit`` tallies, and the rest summed as one ``(N others)``."""
    shown = list(tallies[:limit])
    rest = tallies[limit:]
    if rest:
        shown.append(Tally(f"({len(rest)} others)", sum(t.messages for t in rest),
                           sum(t.dmarc_pass for t in rest), sum(t.dkim_pass for t in rest),
                           sum(t.spf_pass for t in rest)))
    return shown


def _table(title: str, tallies: Sequence[Tally], *, names: bool = False,
           limit: int = 200) -> str:
    head = ("<tr><th>" + _e(title) + "</th>" + ("<th>reverse name</th>" if names else "")
            + "<th>messages</th><th>DMARC pass</th><th>DKIM aligned</th>"
              "<th>SPF aligned</th><th>likely cause</th></tr>")
    rows = []
    for t in tallies[:limit]:
        cause = t.likely_cause
        rows.append(
            f"<tr><td>{_e(t.key)}</td>"
            + (f"<td>{_e(t.reverse_name or '')}</td>" if names else "")
            + f'<td class="n">{t.messages}</td>'
            f'<td class="n {"pass" if t.dmarc_fail == 0 else "fail"}">'
            f"{_pct(t.dmarc_rate)}</td>"
            f'<td class="n">{_pct(t.dkim_rate)}</td><td class="n">{_pct(t.spf_rate)}</td>'
            f'<td class="cause" title="{_e(CAUSES[cause])}">{_e(cause)}</td></tr>')
    more = (f"<p class=sub>{len(tallies) - limit} more not shown.</p>"
            if len(tallies) > limit else "")
    return f"<table>{head}{''.join(rows)}</table>{more}"


def _date(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%d %H:%M UTC") if when else "-"


def render_html(summary: Summary, *, title: str | None = None,
                max_sources: int = 20) -> str:
    """One self-contained HTML page for a summary (see the module's notes).

    :param summary: from :func:`~mailauth.reports.summarize`.
    :param title: the page's title; "DMARC reports for <domains>" by default.
    :param max_sources: the source IPs charted one by one; the rest are one bar.
    """
    if not isinstance(summary, Summary):
        raise ArgumentTypeError(f"render_html() takes a Summary, not "
                                f"{type(summary).__name__}")
    if isinstance(max_sources, bool) or not isinstance(max_sources, int) or max_sources < 1:
        raise ArgumentTypeError("max_sources= is an int of at least 1")
    domains = ", ".join(summary.policy_domains) or "(no reports)"
    heading = title if title is not None else f"DMARC reports for {domains}"
    t = summary.totals
    cards = "".join(
        f'<div class="card" data-card="{key}">{_e(label)}<b>{value}</b></div>'
        for key, label, value in (
            ("reports", "reports", summary.reports), ("messages", "messages", t.messages),
            ("dmarc", "DMARC pass", _pct(t.dmarc_rate)),
            ("dkim", "DKIM aligned", _pct(t.dkim_rate)),
            ("spf", "SPF aligned", _pct(t.spf_rate)),
            ("sources", "source IPs", len(summary.by_source))))
    sources = _others(summary.by_source, max_sources)
    charts = "".join((
        _volume_columns("volume-day", summary.by_day, "Messages per day"),
        _rate_line("rate-day", summary.by_day, "DMARC pass rate per day"),
        _source_bars("volume-source", sources, "Messages per source IP", rate=False),
        _source_bars("rate-source", sources, "DMARC pass rate per source IP", rate=True)))
    findings = "".join(
        f'<tr><td>{_e(f.source_ip)}</td><td>{_e(f.header_from)}</td>'
        f'<td class="n">{f.messages}</td><td class="n">{f.dmarc_fail}</td>'
        f'<td class="cause" title="{_e(CAUSES[f.cause])}">{_e(f.cause)}</td>'
        f"<td>{_e(f.explanation)}</td><td>{_e(', '.join(f.reporters))}</td></tr>"
        for f in summary.findings[:200])
    causes = "".join(f"<li><b>{_e(k)}</b>: {_e(v)}</li>" for k, v in CAUSES.items())
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(heading)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{_e(heading)}</h1>"
        f'<p class="sub">{_date(summary.first)} to {_date(summary.last)}</p>'
        f'<div class="cards">{cards}</div>'
        f'<h2>Charts</h2><div class="charts">{charts}</div>'
        "<h2>What is failing</h2>"
        + ("<table><tr><th>source IP</th><th>header From</th><th>messages</th>"
           "<th>DMARC fail</th><th>likely cause</th><th>why</th><th>reported by</th></tr>"
           f"{findings}</table>" if findings else "<p>Nothing: every message passed DKIM "
                                                  "and SPF aligned.</p>")
        + f"<ul class=sub>{causes}</ul>"
        "<h2>Per reporting organization</h2>" + _table("organization", summary.by_org)
        + "<h2>Per source IP</h2>" + _table("source IP", summary.by_source, names=True)
        + "<h2>Per header From</h2>" + _table("header From", summary.by_header_from)
        + "</body></html>\n")
