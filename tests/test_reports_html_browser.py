"""The HTML summary page, opened in a real headless Chromium.

The page is rendered from the aggregate samples of the shared corpus plus reports
built here (one with hostile text in every field a reporter controls). Chromium loads
it from a file with networking off; the DOM it dumps after layout must hold the
charts whose bars and points carry the totals computed here from the model, in the
test, independently of the summary code; a screenshot must show the pass and fail
colours of the bars. Without Chromium the test fails under CI (CI=true) and is
skipped elsewhere, with the reason.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from collections import defaultdict
from datetime import UTC, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import shared_vector
from mailauth.errors import ParseError
from mailauth.reports import AggregateReport, parse_aggregate, render_html, summarize
from test_reports_summary import DAY, FORWARDED, GOOD, SPOOF, THIRD_PARTY, make_report, record

HOSTILE = '<script>alert(1)</script>"\'&<svg onload=x>'


def corpus() -> list[AggregateReport]:
    """Every aggregate sample that parses, and reports made here over ten days."""
    reports = []
    for parts in (("parsedmarc-samples", "aggregate"), ("mox-reports", "dmarc-reports"),
                  ("stalwart-mail-auth", "resources", "dmarc-feedback")):
        for path in sorted(shared_vector(*parts).iterdir()):
            if path.suffix == ".json":
                continue
            try:
                reports.append(parse_aggregate(path.read_bytes()))
            except ParseError:
                continue  # the broken samples: their refusal is the aggregate tests' job
    assert len(reports) >= 30
    for n in range(10):
        reports.append(make_report([GOOD, FORWARDED, THIRD_PARTY, SPOOF],
                                   day=DAY + timedelta(days=n), report_id=f"made{n}"))
    reports.append(make_report([record("192.0.2.200", 3, header_from=HOSTILE, dkim="fail",
                                       spf="fail", dkim_results=((HOSTILE, "pass"),))],
                               org=HOSTILE, domain="hostile.example", report_id=HOSTILE))
    return reports


class _Dom(HTMLParser):
    """The charts' elements and their data attributes, from the dumped DOM."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.charts: dict[str, dict[str, str]] = {}
        self.items: dict[str, list[dict[str, str]]] = defaultdict(list)
        self.tags: list[str] = []
        self.refs: list[tuple[str, str]] = []
        self.cards: dict[str, str] = {}
        self._chart: str | None = None
        self._card: str | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.append(tag)
        self.refs += [(k, v) for k, v in a.items() if k in ("src", "href") or
                      k.startswith("on")]
        if tag == "svg" and "data-chart" in a:
            self._chart = a["data-chart"]
            self.charts[self._chart] = a
        elif tag == "g" and self._chart and "data-messages" in a:
            self.items[self._chart].append(a)
        elif tag == "div" and "data-card" in a:
            self._card = a["data-card"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._chart = None
        if tag == "div":
            self._card = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._card:
            self.cards[self._card] = self.cards.get(self._card, "") + data


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("chromium is not installed (CI installs the chromium package)")
        pytest.skip("chromium is not installed: the page is not checked in a browser")
    return found


def _run_chromium(exe: str, profile: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={profile}", *args],
        capture_output=True, timeout=120, check=False)


def _png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and the rows (RGB or RGBA bytes) of an 8-bit PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    height = colour = 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and chunk[12] == 0  # 8 bits, not interlaced
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    bpp = {2: 3, 6: 4}[colour]
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up, ul = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + left) & 0xFF
            elif f == 2:
                line[i] = (line[i] + up) & 0xFF
            elif f == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif f == 4:
                p = left + up - ul
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - ul)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else ul
                line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line if bpp == 3 else
                          b"".join(line[i:i + 3] for i in range(0, stride, 4))))
        prev = line
    return width, height, rows


def _count(rows: list[bytes], rgb: tuple[int, int, int]) -> int:
    needle = bytes(rgb)
    return sum(sum(1 for i in range(0, len(r), 3) if r[i:i + 3] == needle) for r in rows)


def test_page_renders_in_chromium_with_the_right_totals(tmp_path: Path) -> None:
    exe = _chromium()
    reports = corpus()
    # The totals, computed here from the model (not by the summary code).
    total = sum(r.count for rep in reports for r in rep.records)
    passed = sum(r.count for rep in reports for r in rep.records
                 if r.dkim == "pass" or r.spf == "pass")
    per_day: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    per_ip: dict[str, int] = defaultdict(int)
    for rep in reports:
        day = rep.date_begin.astimezone(UTC).strftime("%Y-%m-%d")
        for r in rep.records:
            per_day[day][0] += r.count
            per_day[day][1] += r.count if (r.dkim == "pass" or r.spf == "pass") else 0
            per_ip[str(r.source_ip)] += r.count

    page = render_html(summarize(reports), max_sources=12)
    path = tmp_path / "summary.html"
    path.write_text(page, encoding="utf-8")
    dumped = _run_chromium(exe, tmp_path / "profile", "--dump-dom", path.as_uri())
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = _Dom()
    dom.feed(dumped.stdout.decode("utf-8"))

    # The four charts are in the rendered DOM, each with its total.
    assert set(dom.charts) == {"volume-day", "rate-day", "volume-source", "rate-source"}
    for name in ("volume-day", "volume-source", "rate-source"):
        assert int(dom.charts[name]["data-total"]) == total, name
        assert sum(int(g["data-messages"]) for g in dom.items[name]) == total, name
        assert sum(int(g["data-pass"]) for g in dom.items[name]) == passed, name
    days = {g["data-key"]: (int(g["data-messages"]), int(g["data-pass"]))
            for g in dom.items["volume-day"]}
    assert {d: v for d, v in days.items() if v[0]} == {d: tuple(v) for d, v in
                                                       per_day.items()}
    for point in dom.items["rate-day"]:
        m, p = per_day[point["data-key"]]
        assert float(point["data-rate"]) == pytest.approx(p / m, abs=1e-4)
    sources = dom.items["volume-source"]
    assert len(sources) == 13 and sources[-1]["data-key"].endswith(" others)")
    top = sorted(per_ip.items(), key=lambda kv: (-kv[1], kv[0]))[:12]
    assert [(g["data-key"], int(g["data-messages"])) for g in sources[:12]] == top
    assert dom.cards["messages"].strip().endswith(str(total))
    assert f"{total} messages" in dom.text

    # Hostile text is shown as text: no script ran or exists, no handler, no fetch.
    assert "script" not in dom.tags and dom.refs == []
    assert any(HOSTILE in t for t in dom.text)

    # And it is painted: the screenshot has the bars' pass green and fail red.
    shot = tmp_path / "shot.png"
    done = _run_chromium(exe, tmp_path / "profile2", "--window-size=1280,1600",
                         f"--screenshot={shot}", path.as_uri())
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    png = shot.read_bytes()
    assert len(png) > 20_000
    width, height, rows = _png_pixels(png)
    assert (width, height) == (1280, 1600)
    assert _count(rows, (0x1A, 0x7F, 0x37)) > 500    # pass bars
    assert _count(rows, (0xCF, 0x22, 0x2E)) > 500    # fail bars


# --- the page without a browser ---------------------------------------------------------


def test_page_is_self_contained_and_escaped() -> None:
    reports = [make_report([record("192.0.2.200", 3, header_from=HOSTILE)], org=HOSTILE,
                           domain="hostile.example")]
    page = render_html(summarize(reports))
    assert "<script" not in page and "onload=" not in page.replace("onload=x&gt;", "")
    assert "http://" not in page and "https://" not in page and "url(" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")


def test_page_title_and_arguments() -> None:
    s = summarize([make_report([GOOD])])
    assert "<title>Mine &amp; yours</title>" in render_html(s, title="Mine & yours")
    assert "<title>DMARC reports for example.org</title>" in render_html(s)
    with pytest.raises(TypeError):
        render_html([make_report([GOOD])])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        render_html(s, max_sources=0)


def test_empty_summary_renders() -> None:
    page = render_html(summarize([]))
    assert 'data-total="0"' in page and "(no reports)" in page



_ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "div",
                 "b", "figure", "figcaption", "svg", "line", "text", "g", "rect", "circle",
                 "polyline", "span", "table", "tr", "th", "td", "ul", "li"}


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.attrs: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attrs.update(k for k, _ in attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@given(org=st.text(max_size=40), header_from=st.text(max_size=40),
       report_id=st.text(max_size=20))
@settings(max_examples=150, deadline=None)
def test_any_text_from_a_report_stays_text(org: str, header_from: str,
                                            report_id: str) -> None:
    reports = [make_report([record("192.0.2.9", 2, header_from=header_from, dkim="fail",
                                   spf="fail", dkim_results=((header_from, "pass"),))],
                           org=org, domain="example.org", report_id=report_id)]
    page = render_html(summarize(reports))
    parsed = _Tags()
    parsed.feed(page)
    assert parsed.tags <= _ALLOWED_TAGS
    assert not any(a.startswith("on") or a in ("src", "href") for a in parsed.attrs)
    text = " ".join("".join(parsed.text).split())
    visible = " ".join(org.split()) if org else "(no org_name)"
    assert visible in text  # shown as text, whatever it holds
