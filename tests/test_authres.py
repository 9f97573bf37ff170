"""mailauth.authres: reading, writing and trusting Authentication-Results (RFC 8601)."""

from __future__ import annotations

import cProfile
import dataclasses
import json
import pstats
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailauth import authres
from mailauth.authres import (
    AuthenticationResults,
    Property,
    ResInfo,
    from_message,
    parse,
    remove_forged,
    trusted,
)
from mailauth.errors import ArgumentTypeError, ParseError, UsageError
from mailauth.message import parse_message

VECTORS = Path(__file__).resolve().parent.parent / "vectors" / "authres"


# --- the samples in vectors/authres ---------------------------------------------------------


def _samples() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted(VECTORS.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        out += [(f"{path.stem}/{s['name']}", s) for s in data["samples"]]
    return out


SAMPLES = _samples()
PARSED = [(sid, s) for sid, s in SAMPLES if "expect" in s]


def _expected_results(results: list[dict[str, Any]]) -> tuple[ResInfo, ...]:
    def prop(key: str, value: str) -> Property:
        ptype, dot, name = key.partition(".")
        return Property(ptype, name, value) if dot else Property("", key, value)

    return tuple(ResInfo(r["method"], r["result"], r.get("version"), r.get("reason"),
                         tuple(prop(k, v) for k, v in r.get("properties", [])),
                         tuple(r.get("comments", []))) for r in results)


def test_the_samples_cover_every_writer() -> None:
    files = {p.stem for p in VECTORS.glob("*.json")}
    assert files >= {"google", "microsoft", "yahoo", "fastmail", "opendkim", "opendmarc",
                     "policyd-spf", "rspamd", "amavis", "mailauth", "rfc8601", "edge"}
    assert len(SAMPLES) >= 70


@pytest.mark.parametrize(("sid", "sample"), SAMPLES, ids=[sid for sid, _ in SAMPLES])
def test_sample(sid: str, sample: dict[str, Any]) -> None:
    arc = bool(sample.get("arc", False))
    if "error" in sample:
        with pytest.raises(ParseError) as info:
            parse(sample["field"], arc=arc)
        assert sample["error"]["message"] in info.value.message
        assert info.value.position == sample["error"]["position"]
        assert info.value.rfc == "RFC 8601 §2.2"
        return
    got = parse(sample["field"], arc=arc)
    want = sample["expect"]
    assert got.authserv_id == want["authserv_id"]
    assert got.version == want["version"]
    assert got.instance == want["instance"]
    assert got.results == _expected_results(want["results"])
    assert len(got.warnings) == len(want["warnings"]), got.warnings
    for piece, warning in zip(want["warnings"], got.warnings, strict=True):
        assert piece in warning


def _one_comment(results: tuple[ResInfo, ...]) -> tuple[ResInfo, ...]:
    """What rendering does to comments: all of a resinfo's comments become one."""
    return tuple(dataclasses.replace(r, comments=("; ".join(r.comments),) if r.comments else ())
                 for r in results)


@pytest.mark.parametrize(("sid", "sample"), PARSED, ids=[sid for sid, _ in PARSED])
def test_sample_written_back_reads_the_same(sid: str, sample: dict[str, Any]) -> None:
    first = parse(sample["field"], arc=bool(sample.get("arc", False)))
    again = parse(first.field())
    assert (again.authserv_id, again.version, again.instance) == \
        (first.authserv_id, first.version, first.instance)
    assert again.results == _one_comment(first.results)
    if not first.warnings and all(len(r.comments) <= 1 for r in first.results):
        assert again == first


# --- the values ---------------------------------------------------------------------------------


def test_property_key_and_str() -> None:
    assert Property("header", "d", "example.org").key == "header.d"
    assert Property("", "action", "none").key == "action"
    assert str(Property("smtp", "mailfrom", "user@localhost")) == 'smtp.mailfrom="user@localhost"'
    assert str(Property("header", "b", "ab/cd+ef")) == 'header.b="ab/cd+ef"'


def test_resinfo_get_is_case_insensitive_and_first_wins() -> None:
    r = parse("x; dkim=pass header.d=one.example header.D=two.example action=none").results[0]
    assert r.get("HEADER.d") == "one.example"
    assert r.get("action") == "none"
    assert r.get("header.s") is None


def test_get_returns_every_resinfo_of_a_method() -> None:
    ar = parse("mx.example.org; dkim=pass header.d=a.example; spf=none; "
               "DKIM=fail header.d=b.example")
    assert [r.get("header.d") for r in ar.get("Dkim")] == ["a.example", "b.example"]
    assert ar.get("dmarc") == ()


def test_render_writes_one_resinfo_in_resinfo_order() -> None:
    r = ResInfo("dkim", "fail", 1, "bad sig", (Property("header", "d", "example.org"),
                                               Property("", "x-bits", "2048")),
                ("1024-bit key", "unprotected"))
    assert r.render() == ('dkim/1=fail (1024-bit key; unprotected) reason="bad sig" '
                          "header.d=example.org x-bits=2048")
    assert str(r) == r.render()


def test_render_keeps_names_read_from_deviating_fields() -> None:
    r = parse("x; dkim=dkim_pass policy.is_org=yes").results[0]
    assert r.render() == "dkim=dkim_pass policy.is_org=yes"


@pytest.mark.parametrize("bad", [
    ResInfo("dkim pass", "x"), ResInfo("dkim", ""), ResInfo("dkim", "pass", properties=(
        Property("header", "", "x"),)), ResInfo("dkim", "pass", properties=(
            Property("a b", "c", "x"),)),
])
def test_render_refuses_names_it_cannot_write(bad: ResInfo) -> None:
    with pytest.raises(ValueError, match=r"cannot be written|not an RFC 8601"):
        bad.render()


def test_field_is_folded_and_str_is_one_line() -> None:
    ar = AuthenticationResults("mx.example.org", None, (
        ResInfo("spf", "pass", properties=(Property("smtp", "mailfrom", "alice@example.org"),),
                comments=("mx.example.org: domain of alice@example.org designates "
                          "192.0.2.1 as permitted sender",)),
        ResInfo("dkim", "pass", properties=(Property("header", "d", "example.org"),
                                            Property("header", "b", "AbCd/123"))),
    ))
    text = ar.field()
    assert text.startswith("Authentication-Results: mx.example.org; spf=pass (mx.example.org:")
    assert "\r\n " in text and not text.endswith("\r\n")
    assert all(len(line) <= 78 for line in text.split("\r\n"))
    assert str(ar) == text.replace("\r\n", "")
    assert 'header.b="AbCd/123"' in str(ar)
    assert parse(text) == ar


def test_field_writes_arc_and_none_and_version() -> None:
    ar = AuthenticationResults("mx.example.org", 1, (), instance=3)
    assert ar.field() == "ARC-Authentication-Results: i=3; mx.example.org 1; none"
    assert parse(ar.field()) == ar
    assert parse(ar.field()).instance == 3


def test_field_quotes_an_authserv_id_that_is_not_a_token() -> None:
    ar = AuthenticationResults("my server", None, (ResInfo("spf", "none"),))
    assert str(ar) == 'Authentication-Results: "my server"; spf=none'
    assert parse(str(ar)) == ar


def test_field_width() -> None:
    ar = parse("mx.example.org; " + "; ".join(f"x-m{i}=pass smtp.x=y{i}" for i in range(20)))
    assert all(len(line) <= 40 for line in ar.field(width=40).split("\r\n"))
    with pytest.raises(ValueError, match="width"):
        ar.field(width=10)


def test_equality_ignores_raw_but_not_warnings() -> None:
    a = parse("Authentication-Results: x; spf=pass")
    b = parse("x;\r\n  spf=pass")
    assert a.raw != b.raw
    assert a == b
    assert parse("x; spf=pass;") != a  # a trailing ';' is a warning
    assert "raw" not in repr(a)


def test_values_are_frozen() -> None:
    ar = parse("x; spf=pass")
    with pytest.raises(dataclasses.FrozenInstanceError):
        ar.authserv_id = "y"  # type: ignore[misc]
    assert isinstance(ar.results, tuple) and isinstance(ar.warnings, tuple)


# --- input forms ---------------------------------------------------------------------------------


def test_name_body_and_folding_give_the_same_result() -> None:
    body = " mx.example.org;\r\n\tdkim=pass\r\n header.d=example.org"
    a = parse("Authentication-Results:" + body)
    b = parse("authentication-results :" + body.replace("\r\n", "\n"))
    c = parse(body.encode())
    assert a == b == c
    assert a.results[0].get("header.d") == "example.org"
    assert a.raw == body


def test_a_trailing_crlf_is_the_end_of_the_field() -> None:
    assert parse("x; spf=pass\r\n").warnings == ()


def test_bytes_utf8_and_latin1() -> None:
    utf8 = parse("mx.example.org; spf=pass smtp.mailfrom=jörg@bücher.example".encode())
    assert utf8.results[0].get("smtp.mailfrom") == "jörg@bücher.example"
    assert utf8.warnings == ()
    latin = parse(b"mx.example.org; spf=pass smtp.mailfrom=j\xf6rg@example.org")
    assert latin.results[0].get("smtp.mailfrom") == "j\u00f6rg@example.org"
    assert latin.warnings == ("the field is not UTF-8 (RFC 8616): read as Latin-1",)
    # written back as ASCII only
    assert "smtp.mailfrom=j?rg@example.org" in str(latin)


def test_arguments_of_the_wrong_type() -> None:
    with pytest.raises(ArgumentTypeError):
        parse(None)  # type: ignore[arg-type]
    with pytest.raises(ArgumentTypeError):
        parse(42)  # type: ignore[arg-type]
    # bytes-like objects are read as bytes (typed as bytes only)
    assert parse(bytearray(b"x; spf=pass")).results[0].method == "spf"  # type: ignore[arg-type]


def test_parse_error_says_where() -> None:
    with pytest.raises(ParseError) as info:
        parse("Authentication-Results: mx.example.org; garbage here")
    assert info.value.rfc == "RFC 8601 §2.2"
    assert info.value.position == len(" mx.example.org; garbage here")
    assert "RFC 8601 §2.2" in str(info.value)
    assert "garbage" in (info.value.text or "")


def test_warnings_are_bounded_and_deduplicated() -> None:
    fields = "x; " + "; ".join(f"dkim=pass junk{i}" for i in range(200))
    ar = parse(fields)
    assert len(ar.results) == 200
    assert len(ar.warnings) == 33
    assert ar.warnings[-1] == "... and 168 more warnings"
    assert len(parse("x; spf=pass" + ";;" * 500).warnings) == 2


# --- robustness: never anything but a result or ParseError ------------------------------------


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(), st.binary()), st.booleans())
def test_arbitrary_input_gives_a_result_or_parse_error(value: str | bytes, arc: bool) -> None:
    try:
        ar = parse(value, arc=arc)
    except ParseError as e:
        assert e.rfc == "RFC 8601 §2.2" and e.position is not None
        return
    assert isinstance(ar, AuthenticationResults)
    assert all(r.method == r.method.lower() and r.result == r.result.lower()
               and all(p.key == p.key.lower() for p in r.properties) for r in ar.results)
    assert ar.field().startswith(("Authentication-Results: ", "ARC-Authentication-Results: "))


_PIECES = st.sampled_from([
    "dkim", "spf", "dmarc", "arc", "x-tls", "header", "smtp", "policy", ".", "=", ";", " ",
    "\t", "\r\n ", "(", ")", "\\", '"', "/", "1", "@", "example.org", "pass", "none",
    "reason", "i", "\x00", "\xff", "\u00e9", "<", ">", ":", ",",
])


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_PIECES, max_size=60).map("".join), st.booleans())
def test_field_shaped_input_gives_a_result_or_parse_error(text: str, arc: bool) -> None:
    try:
        ar = parse(text, arc=arc)
    except ParseError:
        return
    assert parse(ar.field()).results == _one_comment(ar.results) or any(
        not (c.isascii() and c.isprintable()) for c in text)


def _profiled_calls(fn: Callable[[], object]) -> int:
    profile = cProfile.Profile()
    profile.runcall(fn)
    stats = pstats.Stats(profile)
    return int(stats.total_calls)  # type: ignore[attr-defined]


def _safe_parse(text: str) -> object:
    try:
        return parse(text)
    except ParseError as e:
        return e


HOSTILE: list[tuple[str, Callable[[int], str]]] = [
    ("resinfos", lambda n: "mx.example.org; " + "; ".join(["dkim=pass header.d=example.org"] * n)),
    ("semicolons", lambda n: "x; spf=pass" + ";" * n),
    ("open-parens", lambda n: "x; spf=pass " + "(" * n),
    ("nested-comment", lambda n: "x; spf=pass " + "(" * n + ")" * n),
    ("backslashes", lambda n: "x; spf=pass (" + "\\" * n),
    ("quotes", lambda n: 'x; spf=pass reason="' + "\\\"" * n),
    ("one-word", lambda n: "x" * n),
    ("dots", lambda n: "x; spf=pass " + "a." * n),
    ("equals", lambda n: "x; spf=pass a" + "=" * n),
    ("pvalue-at", lambda n: "x; spf=pass smtp.mailfrom=" + "a." * n + "@"),
    ("joined", lambda n: "x; spf=pass a=b" + "smtp.x-" * n),
    ("junk", lambda n: "x; " + "@ " * n),
    ("nul", lambda n: "x; spf=pass " + "\x00" * n),
    ("folds", lambda n: "x;" + "\r\n spf=pass" * n),
]


@pytest.mark.parametrize(("name", "make"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_work_grows_linearly_with_the_field(name: str, make: Callable[[int], str]) -> None:
    """The number of calls made (deterministic, unlike time) for 4n characters is at
    most about 4 times that for n."""
    small = _profiled_calls(lambda: _safe_parse(make(500)))
    large = _profiled_calls(lambda: _safe_parse(make(2000)))
    assert large <= 4.5 * small + 100, (small, large)


@pytest.mark.parametrize(("name", "make"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_a_megabyte_field_is_read(name: str, make: Callable[[int], str]) -> None:
    text = make(1)
    unit = max(len(make(2)) - len(text), 1)
    big = make((1 << 20) // unit)
    assert len(big) >= 1 << 19
    result = _safe_parse(big)
    assert isinstance(result, AuthenticationResults | ParseError)


def test_ten_thousand_resinfos() -> None:
    text = "mx.example.org; " + "; ".join(f"dkim=pass header.d=d{i}.example" for i in range(10_000))
    ar = parse(text.encode())
    assert len(ar.results) == 10_000
    assert ar.results[-1].get("header.d") == "d9999.example"
    assert ar.warnings == ()


def test_nul_and_8bit_bytes() -> None:
    ar = parse(b"mx.example.org; spf=pass \x00\x01 smtp.mailfrom=a@example.org \xfe\xff")
    assert ar.results[0].get("smtp.mailfrom") == "a@example.org"
    assert ar.warnings[0].startswith("the field is not UTF-8")
    assert any("'\\x00\\x01'" in w for w in ar.warnings)


# --- round trips --------------------------------------------------------------------------------

_PRINTABLE = string.ascii_letters + string.digits + string.punctuation + " "
_LD = string.ascii_lowercase + string.digits
_LABEL = st.text(alphabet=_LD, min_size=1, max_size=6)
# RFC 8601 Keyword (Ldh-str), lower case as parse() gives it back
_KEYWORD = st.builds(lambda a, b: f"{a}-{b}" if b else a, _LABEL, st.text(alphabet=_LD, max_size=3))
_TEXT = st.text(alphabet=_PRINTABLE, max_size=30)
_COMMENT = st.lists(st.text(alphabet=_PRINTABLE.replace(" ", ""), min_size=1, max_size=8),
                    min_size=1, max_size=4).map(" ".join)
_ADDRESS = st.builds(lambda local, labels: f"{local}@{'.'.join(labels)}",
                     st.text(alphabet=_LD + "!#$%&'*+/=?^_`{|}~-.", min_size=1, max_size=6),
                     st.lists(_LABEL, min_size=1, max_size=3))
_PROPERTY = st.builds(Property, _KEYWORD, _KEYWORD,
                      st.one_of(_TEXT, _ADDRESS, _ADDRESS.map(lambda a: "@" + a.split("@")[1])))


@st.composite
def _resinfos(draw: st.DrawFn) -> ResInfo:
    registered = sorted(authres._REGISTERED)
    method = draw(st.one_of(st.sampled_from(registered),
                            _KEYWORD.filter(lambda m: m not in authres._REGISTERED)))
    known = authres._REGISTERED.get(method)
    result = draw(st.sampled_from(sorted(known[0])) if known else _KEYWORD)
    return ResInfo(method, result, draw(st.none() | st.integers(0, 99)),
                   draw(st.none() | _TEXT),
                   tuple(draw(st.lists(_PROPERTY, max_size=4))),
                   tuple(draw(st.lists(_COMMENT, max_size=1))))


# (authres-version: only 1 reads back without a warning.)
_FIELDS = st.builds(AuthenticationResults, _TEXT, st.none() | st.just(1),
                    st.lists(_resinfos(), max_size=5).map(tuple),
                    st.none() | st.integers(1, 50))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(_FIELDS, st.integers(20, 200))
def test_what_is_written_reads_back_equal(ar: AuthenticationResults, width: int) -> None:
    text = ar.field(width=width)
    assert all(len(line) <= width for line in text.split("\r\n")
               if " " in line.strip())  # a line is longer only when nothing can fold
    assert parse(text) == ar
    assert parse(text.encode()) == ar


_RAW_PIECES = st.sampled_from([
    "dkim", "SPF", "dmarc", "x-foo", "header", "smtp", "policy", "d", "mailfrom", "from",
    "reason", "none", "pass", "fail", "Neutral", "dkim_pass", "example.org", "a@b.example",
    "@b.example", "ab/c+d", "2001:db8::1", "<a@b.example>", "1", "/", ".", "=", ";", ";;",
    " ", "  ", "\t", "\r\n ", "(c)", "(n (e) d)", "(\\))", '"q s"', '"\\""', "@", ")",
    "action", "none;", "i=1;",
])


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_RAW_PIECES, min_size=1, max_size=40).map("".join), st.booleans())
def test_read_write_read_is_stable(raw: str, arc: bool) -> None:
    try:
        first = parse(raw, arc=arc)
    except ParseError:
        return
    again = parse(first.field())
    assert (again.authserv_id, again.version, again.instance) == \
        (first.authserv_id, first.version, first.instance)
    assert again.results == _one_comment(first.results)
    assert parse(again.field()) == again


# --- messages and trust (RFC 8601 §5) ------------------------------------------------------------

MESSAGE = (
    b"Authentication-Results: mx.example.net;\r\n"
    b"  spf=pass smtp.mailfrom=alice@example.org\r\n"
    b"Received: from mail.example.org by mx.example.net\r\n"
    b"Authentication-Results: MX.Example.Net.; dkim=pass header.d=forged.example\r\n"
    b"Authentication-Results: ; not parseable at all ( \r\n"
    b"ARC-Authentication-Results: i=1; mx.example.net; arc=none\r\n"
    b"Authentication-Results: relay.example.org; dkim=fail header.d=example.org\r\n"
    b"X-MS-Exchange-Authentication-Results: spf=pass smtp.mailfrom=example.org\r\n"
    b"From: alice@example.org\r\n"
    b"\r\n"
    b"Authentication-Results: mx.example.net; spf=fail (in the body)\r\n"
)


def test_from_message_reads_every_field_top_first() -> None:
    fields = from_message(MESSAGE)
    assert [f.authserv_id for f in fields] == ["mx.example.net", "MX.Example.Net.",
                                               "relay.example.org"]
    assert fields[0].results[0].get("smtp.mailfrom") == "alice@example.org"
    assert from_message(parse_message(MESSAGE)) == fields


def test_from_message_with_trusted_ids() -> None:
    mine = from_message(MESSAGE, authserv_ids=["mx.example.net"])
    assert [f.authserv_id for f in mine] == ["mx.example.net", "MX.Example.Net."]
    assert from_message(MESSAGE, authserv_ids=[]) == ()
    assert from_message(MESSAGE, authserv_ids="relay.example.org")[0].get("dkim")[0].result \
        == "fail"


def test_from_message_refuses_str() -> None:
    with pytest.raises(ArgumentTypeError):
        from_message(MESSAGE.decode())  # type: ignore[arg-type]


def test_trusted_matches_ids_case_insensitively() -> None:
    fields = [parse("MX.example.NET; spf=pass"), parse("mx.example.net.; spf=pass"),
              parse("other.example; spf=pass"), parse("spf=pass smtp.mailfrom=a.example")]
    assert [f.authserv_id for f in trusted(fields, ["mx.example.net"])] == \
        ["MX.example.NET", "mx.example.net."]
    assert trusted(fields, "other.example") == (fields[2],)
    assert trusted(fields, ["", " "]) == ()  # a field without an authserv-id is never trusted
    with pytest.raises(ArgumentTypeError):
        trusted(fields, [b"mx.example.net"])  # type: ignore[list-item]


def test_remove_forged_removes_fields_claiming_the_id_and_nothing_else() -> None:
    out = remove_forged(MESSAGE, "mx.example.net")
    assert out == (
        b"Received: from mail.example.org by mx.example.net\r\n"
        b"Authentication-Results: ; not parseable at all ( \r\n"
        b"ARC-Authentication-Results: i=1; mx.example.net; arc=none\r\n"
        b"Authentication-Results: relay.example.org; dkim=fail header.d=example.org\r\n"
        b"X-MS-Exchange-Authentication-Results: spf=pass smtp.mailfrom=example.org\r\n"
        b"From: alice@example.org\r\n"
        b"\r\n"
        b"Authentication-Results: mx.example.net; spf=fail (in the body)\r\n"
    )
    assert from_message(out, authserv_ids=["mx.example.net"]) == ()


def test_remove_forged_removes_unparseable_fields_by_their_first_word() -> None:
    message = (b"Authentication-Results: mx.example.net;\n"
               b"Authentication-Results: (c) \"mx.example.net\" garbage\n"
               b"Authentication-Results: mx.example.netx; garbage\n"
               b"Subject: LF line endings kept\n\nbody\n")
    assert remove_forged(message, "MX.example.net") == (
        b"Authentication-Results: mx.example.netx; garbage\n"
        b"Subject: LF line endings kept\n\nbody\n")


def test_remove_forged_returns_the_message_unchanged_when_nothing_claims_the_id() -> None:
    assert remove_forged(MESSAGE, "elsewhere.example") == MESSAGE
    assert remove_forged(b"", "mx.example.net") == b""
    assert remove_forged(b"no header section", "mx.example.net") == b"no header section"


def test_remove_forged_arguments() -> None:
    with pytest.raises(UsageError):
        remove_forged(MESSAGE, " ")
    with pytest.raises(ArgumentTypeError):
        remove_forged(MESSAGE.decode(), "mx.example.net")  # type: ignore[arg-type]
    with pytest.raises(ArgumentTypeError):
        remove_forged(MESSAGE, b"mx.example.net")  # type: ignore[arg-type]


def test_public_names() -> None:
    assert set(authres.__all__) == {"AuthenticationResults", "Property", "ResInfo",
                                    "from_message", "parse", "remove_forged", "trusted"}
