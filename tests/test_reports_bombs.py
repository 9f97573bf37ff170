"""Hostile aggregate reports are refused quickly and in little memory (RFC 9990 §7.1:
"the archive decompressor and XML parser are at risk to resource exhaustion").

Each bomb is built small in memory, then handed to parse_aggregate with tracemalloc
running: it must raise ParseError within a few seconds with peak traced memory under
50 MB (the bomb's own bytes included).
"""

from __future__ import annotations

import gzip
import io
import os
import sys
import threading
import time
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from mailauth.errors import ParseError
from mailauth.reports import parse_aggregate

MB = 1024 * 1024
PEAK_LIMIT = 50 * MB
TIME_LIMIT = 10.0  # seconds; the measured times are far lower (see the report)


def refused(make: Callable[[], bytes], match: str, **limits: int) -> tuple[float, int]:
    """Build the bomb, then parse it under tracemalloc; returns (seconds, peak bytes),
    the peak counting the bomb's own bytes and everything parsing allocates."""
    tracemalloc.start()
    try:
        data = make()
        tracemalloc.reset_peak()  # from here: the bomb's bytes plus what parsing takes
        t = time.perf_counter()
        with pytest.raises(ParseError, match=match):
            parse_aggregate(data, **limits)
        elapsed = time.perf_counter() - t
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert elapsed < TIME_LIMIT
    assert peak < PEAK_LIMIT, f"peak {peak / MB:.1f} MB"
    return elapsed, peak


def gzip_stream(first: bytes, filler: bytes, total: int) -> bytes:
    """A gzip file that inflates to about ``total`` bytes: ``first``, then ``filler``
    repeated, as gzip members one after another (RFC 1952 §2.2), built from one
    compressed 16 MiB block so nothing large is ever held."""
    block = 16 * MB
    member = gzip.compress(filler * (block // len(filler)), compresslevel=9, mtime=0)
    count = total // block
    return gzip.compress(first, mtime=0) + member * count


def test_a_gzip_of_ten_gigabytes_of_zeros() -> None:
    def bomb() -> bytes:
        return gzip_stream(b"", b"\0", 10 * 1024 * MB)

    assert len(bomb()) < 20 * MB  # small on disk, 10 GB inflated
    refused(bomb, "not well-formed|refused|max_inflated")


def test_a_gzip_of_ten_gigabytes_of_spaces_inside_the_report() -> None:
    start = b'<?xml version="1.0"?>\n<feedback>'
    refused(lambda: gzip_stream(start, b" ", 10 * 1024 * MB), "refused|max_inflated")


def test_a_gzip_of_ten_gigabytes_of_elements_stops_at_max_inflated() -> None:
    start = b'<?xml version="1.0"?>\n<feedback><extension>'
    filler = b"<x:a>1</x:a>\n" * 4096
    refused(lambda: gzip_stream(start, filler, 10 * 1024 * MB), "max_inflated|refused")


def test_max_inflated_is_named_when_passed() -> None:
    report = (b'<feedback><report_metadata><org_name>o</org_name><email>e</email>'
              b'<report_id>r</report_id><date_range><begin>1</begin><end>2</end>'
              b'</date_range></report_metadata><policy_published><domain>d</domain>'
              b'<p>none</p></policy_published>' + b"<!-- padding -->" * 100_000 +
              b"</feedback>")
    data = gzip.compress(report)
    assert parse_aggregate(data).policy.domain == "d"
    with pytest.raises(ParseError, match=r"max_inflated=100000\b"):
        parse_aggregate(data, max_inflated=100_000)


def test_a_zip_of_ten_thousand_members() -> None:
    def make() -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
            for i in range(10_000):
                z.writestr(f"r{i}.xml", b"<feedback/>")
        return out.getvalue()
    refused(make, r"10000 members .*max_zip_members=16")


def test_a_zip_member_that_says_it_is_huge() -> None:
    def make() -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            with z.open("big.xml", "w", force_zip64=True) as member:
                chunk = b" " * MB
                for _ in range(64):
                    member.write(chunk)
        return out.getvalue()
    refused(make, "max_inflated")


def test_archives_nested_beyond_one_level() -> None:
    xml = b"<feedback/>"
    inner = gzip.compress(gzip.compress(xml))  # gzip in gzip: one level, read
    with pytest.raises(ParseError, match="report_metadata"):
        parse_aggregate(inner)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("r.xml.gz", inner)  # gzip in gzip in zip: two levels
    refused(out.getvalue, "max_nesting=1")


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<feedback><report_metadata><org_name>&lol9;</org_name></report_metadata></feedback>
"""


def test_billion_laughs() -> None:
    refused(lambda: BILLION_LAUGHS, "DOCTYPE")
    refused(lambda: gzip.compress(BILLION_LAUGHS), "DOCTYPE")


def test_an_undeclared_entity_is_read_as_text() -> None:
    report = parse_aggregate(
        b"<feedback><report_metadata><org_name>&lol9;</org_name><email>e</email>"
        b"<report_id>r</report_id><date_range><begin>1</begin><end>2</end></date_range>"
        b"</report_metadata><policy_published><domain>d</domain><p>none</p>"
        b"</policy_published></feedback>")
    assert report.org_name == "&lol9;"
    assert any("'&'" in w for w in report.warnings)


@pytest.fixture
def watched_file(tmp_path: Path) -> tuple[Path, list[str]]:
    """A FIFO whose opening would block, and the paths Python was asked to open."""
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this system")
    path = tmp_path / "secret"
    os.mkfifo(path)
    opened: list[str] = []
    target = str(path)

    def hook(event: str, args: tuple[object, ...]) -> None:
        if event == "open" and args and str(args[0]) == target:
            opened.append(target)

    sys.addaudithook(hook)  # cannot be removed; it only records opens of this path
    return path, opened


@pytest.mark.parametrize("template", [
    b'<?xml version="1.0"?>\n<!DOCTYPE feedback [<!ENTITY x SYSTEM "file://%s">]>\n'
    b"<feedback><report_metadata><org_name>&x;</org_name></report_metadata></feedback>",
    b'<?xml version="1.0"?>\n<!DOCTYPE feedback SYSTEM "file://%s">\n<feedback/>',
    b'<?xml version="1.0"?>\n<!DOCTYPE feedback [<!ENTITY %% p SYSTEM "file://%s"> %%p;]>'
    b"\n<feedback/>",
])
def test_an_external_entity_is_never_read(template: bytes,
                                          watched_file: tuple[Path, list[str]]) -> None:
    path, opened = watched_file
    data = template % str(path).encode()
    result: list[BaseException | None] = []

    def run() -> None:
        try:
            parse_aggregate(data)
            result.append(None)
        except BaseException as exc:  # handed to the test's thread
            result.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(5.0)
    if worker.is_alive():  # something opened the FIFO and waits for a writer
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        worker.join(5.0)
        pytest.fail("the parser opened the local file")
    assert opened == []
    assert isinstance(result[0], ParseError)
    assert "DOCTYPE" in str(result[0])
    refused(lambda: data, "DOCTYPE")


def test_a_gigantic_comment_is_refused_early() -> None:
    start = b"<feedback><!--"
    refused(lambda: gzip_stream(start, b"a", 1024 * MB), "token|max_inflated")


def test_deep_nesting_is_refused() -> None:
    data = b"<feedback>" + b"<a>" * 200_000 + b"</a>" * 200_000 + b"</feedback>"
    refused(lambda: data, "elements")


def test_too_many_records() -> None:
    record = (b"<record><row><source_ip>192.0.2.1</source_ip><count>1</count>"
              b"<policy_evaluated><disposition>none</disposition><dkim>pass</dkim>"
              b"<spf>pass</spf></policy_evaluated></row><identifiers><header_from>"
              b"example.com</header_from></identifiers><auth_results/></record>")
    data = (b"<feedback><report_metadata><org_name>o</org_name><email>e</email>"
            b"<report_id>r</report_id><date_range><begin>1</begin><end>2</end>"
            b"</date_range></report_metadata><policy_published><domain>example.com"
            b"</domain><p>none</p></policy_published>" + record * 50 + b"</feedback>")
    assert len(parse_aggregate(data).records) == 50
    with pytest.raises(ParseError, match="max_records=10"):
        parse_aggregate(data, max_records=10)


def test_an_oversized_input_is_refused_before_reading() -> None:
    with pytest.raises(ParseError, match="max_size=100"):
        parse_aggregate(b"<feedback>" + b" " * 200 + b"</feedback>", max_size=100)
