"""How results show themselves (mailauth._display): the verdict line, a short repr,
HTML for notebooks with everything from the network escaped, IPython's text."""

from __future__ import annotations

from conftest import PrettyPrinter
from mailauth._display import Card, Part, render_html, render_pretty, render_text, short_repr

CARD = Card(
    method="dkim", status="fail", reason="1 of 2 signatures failed",
    facts=(("from", '"Bob" <bob@example.org>'),),
    parts=(Part("d=example.org s=s1", "pass", "the signature verifies",
                (("key", "rsa 2048"),)),
           Part("d=evil.example s=<script>", "fail", "body hash <b>mismatch</b>")),
    trace=("step one", "step <two>"), header="dkim=fail header.d=evil.example",
    extra=(("headers hashed", "From: x\r\n"),))


def test_the_verdict_line() -> None:
    assert render_text(CARD) == "dkim=fail: 1 of 2 signatures failed"
    assert render_text(Card("spf", "none")) == "spf=none"


def test_repr_is_short() -> None:
    long = Card("dkim", "pass", "x" * 1000)
    text = short_repr("DKIMResult", long)
    assert text.startswith("<DKIMResult dkim=pass: xxx") and text.endswith("...>")
    assert len(text) < 140


def test_html_escapes_what_came_from_the_network() -> None:
    page = render_html(CARD)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<b>mismatch</b>" not in page and "&lt;b&gt;mismatch" in page
    assert "step &lt;two&gt;" in page
    assert '"color:#cf222e">fail</b>' in page and '"color:#1a7f37">pass</b>' in page
    assert page.count("<details>") == 3  # header, trace, headers hashed: folded away
    assert "trace (2 steps)" in page




def test_pretty_text_for_ipython() -> None:
    p = PrettyPrinter()
    render_pretty(CARD, p, False, "DKIMResult")
    lines = "".join(p.out).splitlines()
    assert lines[0] == "dkim=fail: 1 of 2 signatures failed"
    assert "  - d=example.org s=s1: pass (the signature verifies)" in lines
    assert "      key: rsa 2048" in lines
    assert lines[-1] == "  (2 trace steps: see .trace)"
    cyclic = PrettyPrinter()
    render_pretty(CARD, cyclic, True, "DKIMResult")
    assert cyclic.out == ["<DKIMResult ...>"]
