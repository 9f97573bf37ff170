"""The streaming body canonicalizers agree with a line-by-line reading of RFC 6376
§3.4.3/§3.4.4 on bodies rich in the whitespace the fast paths rewrite."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from mailauth.dkim import canonicalize_body


def reference(body: bytes, method: str) -> bytes:
    lines = body.split(b"\r\n")
    last = lines.pop()  # text after the final CRLF (no line break): still a line
    if last:
        lines.append(last)
    if method == "relaxed":
        # §3.4.4: WSP at line ends removed, WSP runs reduced to one SP
        lines = [re.sub(rb"[ \t]+", b" ", line).rstrip(b" ") for line in lines]
    while lines and lines[-1] == b"":  # empty lines at the end are ignored
        lines.pop()
    if not lines:
        return b"" if method == "relaxed" else b"\r\n"
    return b"\r\n".join(lines) + b"\r\n"


pieces = st.sampled_from([b" ", b"  ", b"   ", b"\t", b" \t ", b"a", b"bc", b"\r\n",
                          b"\r\n\r\n", b".", b"\r", b"\t\t\t\t\t"])
bodies = st.lists(pieces, max_size=60).map(b"".join)


@settings(max_examples=600, deadline=None)
@given(bodies, st.sampled_from(["simple", "relaxed"]), st.integers(1, 17))
def test_body_canonicalization_matches_the_rfc_reading(body: bytes, method: str,
                                                       size: int) -> None:
    expected = reference(body, method)
    assert canonicalize_body(body, method) == expected  # type: ignore[arg-type]
    chunks = [body[i:i + size] for i in range(0, len(body), size)]
    assert canonicalize_body(chunks, method) == expected  # type: ignore[arg-type]
