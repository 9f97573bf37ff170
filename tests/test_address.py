"""Addresses in header fields (mailauth._address): RFC 5322 §3.4 with the obsolete
syntax, RFC 2047 display names, RFC 6532 UTF-8, and the From fields DMARC meets."""

from __future__ import annotations

import contextlib
import itertools
import string
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailauth._address import (
    _SIMPLE_FROM,
    Address,
    Group,
    _from_domains_reference,
    decode_encoded_words,
    from_domains,
    parse_address_list,
    parse_mailbox_list,
)
from mailauth.errors import ParseError


def parts(value: str | bytes) -> list[tuple[str | None, str, str]]:
    out = []
    for item in parse_address_list(value):
        for a in item.addresses if isinstance(item, Group) else (item,):
            out.append((a.display_name, a.local_part, a.domain))
    return out


# --- RFC 5322 Appendix A ------------------------------------------------------------------


def test_a_1_2_different_types_of_mailboxes() -> None:
    assert parts('"Joe Q. Public" <john.q.public@example.com>') == [
        ("Joe Q. Public", "john.q.public", "example.com")]
    assert parts("Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>") == [
        ("Mary Smith", "mary", "x.test"), (None, "jdoe", "example.org"),
        ("Who?", "one", "y.test")]
    assert parts('<boss@nil.test>, "Giant; \\"Big\\" Box" <sysservices@example.net>') == [
        (None, "boss", "nil.test"), ('Giant; "Big" Box', "sysservices", "example.net")]


def test_a_1_3_group_addresses() -> None:
    items = parse_address_list("A Group:Ed Jones <c@a.test>,joe@where.test,John "
                               "<jdoe@one.test>;")
    assert len(items) == 1 and isinstance(items[0], Group)
    group = items[0]
    assert group.name == "A Group"
    assert [(a.display_name, a.local_part, a.domain) for a in group.addresses] == [
        ("Ed Jones", "c", "a.test"), (None, "joe", "where.test"), ("John", "jdoe", "one.test")]
    assert group.raw == "A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;"
    assert parse_address_list("Undisclosed recipients:;") == (
        Group("Undisclosed recipients", (), "Undisclosed recipients:;"),)


def test_a_5_white_space_comments_and_other_oddities() -> None:
    (pete,) = parse_mailbox_list("Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>")
    assert (pete.display_name, pete.local_part, pete.domain) == ("Pete", "pete", "silly.test")
    assert pete.raw == "Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>"
    text = ("A Group(Some people)\r\n     :Chris Jones <c@(Chris's host.)public.example>,\r\n"
            "         joe@example.org,\r\n  John <jdoe@one.test> (my dear friend); (the end of "
            "the group)")
    (group,) = parse_address_list(text)
    assert isinstance(group, Group) and group.name == "A Group"
    assert [(a.display_name, a.domain) for a in group.addresses] == [
        ("Chris Jones", "public.example"), (None, "example.org"), ("John", "one.test")]


def test_a_6_obsolete_addressing() -> None:
    assert parts("Joe Q. Public <john.q.public@example.com>") == [
        ("Joe Q. Public", "john.q.public", "example.com")]
    assert parts("Mary Smith <@node.test:mary@example.net>, , jdoe@test  . example") == [
        ("Mary Smith", "mary", "example.net"), (None, "jdoe", "test.example")]
    assert parts("John Doe <jdoe@machine(comment).  example>") == [
        ("John Doe", "jdoe", "machine.example")]
    assert parts("Mary Smith\r\n    \r\n <mary@example.net>") == [
        ("Mary Smith", "mary", "example.net")]


# --- the grammar, piece by piece ------------------------------------------------------------


@pytest.mark.parametrize("text,expected", [
    ('"john doe"@example.org', (None, "john doe", "example.org")),
    ('"john\\"q\\"doe"@example.org', (None, 'john"q"doe', "example.org")),
    ('"john".doe@example.org', (None, "john.doe", "example.org")),
    ("john . doe @ example . org", (None, "john.doe", "example.org")),
    ('"folded\r\n local"@example.org', (None, "folded local", "example.org")),
    ("user@[192.0.2.1]", (None, "user", "[192.0.2.1]")),
    ("user@[ IPv6:2001:db8::1 ]", (None, "user", "[IPv6:2001:db8::1]")),
    ("<@a.example,@b.example:user@example.org>", (None, "user", "example.org")),
    ("<,@a.example,,@b.example:user@example.org>", (None, "user", "example.org")),
    ("Who? <one@y.test>", ("Who?", "one", "y.test")),
    ('"" <a@b.example>', ("", "a", "b.example")),
    ("(only (nested) comments) a@b.example", (None, "a", "b.example")),
    ("j\u00f6rg@b\u00fccher.example", (None, "j\u00f6rg", "b\u00fccher.example")),
    ('"\u7528\u6237" <\u7528\u6237@\u4f8b\u5b50.\u6d4b\u8bd5>',
     ("\u7528\u6237", "\u7528\u6237", "\u4f8b\u5b50.\u6d4b\u8bd5")),
    ("John (middle) Doe <j@x.example>", ("John Doe", "j", "x.example")),
    ('"a\tb" <x@y.example>', ("a\tb", "x", "y.example")),
])
def test_mailboxes(text: str, expected: tuple[str | None, str, str]) -> None:
    assert parts(text) == [expected]
    assert parts(text.encode("utf-8")) == [expected]


def test_bytes_are_utf8_and_invalid_octets_become_replacement_characters() -> None:
    assert parts(b"\xe4\xbd\xa0 <a@b.example>") == [("\u4f60", "a", "b.example")]
    assert parts(b"J\xf6rg <a@b.example>") == [("J\ufffdrg", "a", "b.example")]
    assert parse_mailbox_list(bytearray(b"a@b.example"))[0].domain == "b.example"  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        parse_address_list(42)  # type: ignore[arg-type]


def test_address_helpers() -> None:
    (a,) = parse_mailbox_list('"john doe"@[192.0.2.1]')
    assert a.addr_spec == '"john doe"@[192.0.2.1]'
    assert a.is_domain_literal
    (b,) = parse_mailbox_list("Jane <jane.doe@example.org>")
    assert b.addr_spec == "jane.doe@example.org"
    assert not b.is_domain_literal
    assert b == Address("Jane", "jane.doe", "example.org", "Jane <jane.doe@example.org>")


def test_mailbox_list_refuses_groups_and_lists_allow_empty_elements() -> None:
    with pytest.raises(ParseError):
        parse_mailbox_list("team: a@b.example;")
    assert len(parse_mailbox_list(", a@b.example,, c@d.example ,")) == 2
    (group, c) = parse_address_list("team: , a@b.example, ;, c@d.example")
    assert isinstance(group, Group) and len(group.addresses) == 1 and isinstance(c, Address)


@pytest.mark.parametrize("text,position,fragment", [
    ("", 0, "no address"),
    (" , ,", 0, "no address"),
    ("john", 4, "expected '@' or '<'"),
    ("john doe@example.org", 5, "'.' between words"),
    ("a..b@example.org", 2, "a word around '.'"),
    ("a.@example.org", 1, "does not end with '.'"),
    ("@example.org", 0, "local-part"),
    ("a@", 2, "expected a domain"),
    ("a@example.", 10, "domain label"),
    ("a@b.example c@d.example", 12, "expected ','"),
    ("<a@b.example", 12, "expected '>'"),
    ("<>", 1, "'<>' holds no address"),
    ("a@b.example>", 11, "expected ','"),
    ('"unterminated@example.org', 0, "unterminated quoted-string"),
    ("(unterminated a@b.example", 0, "unterminated comment"),
    ("a@b.example)", 11, "')' without '('"),
    ("a@[192.0.2.1", 2, "unterminated domain literal"),
    ("a@[1[2]", 4, "not allowed in a domain literal"),
    ("a\\b@example.org", 1, "'\\' outside"),
    ("a@b.example\x00", 11, "not allowed here"),
    ('"a\x00"@b.example', 2, "not allowed in a quoted-string"),
    ("team: a@b.example", 17, "a group ends with ';'"),
    ("team: a@b.example c@d.example;", 18, "expected ',' or ';'"),
    ("<@a.example user@b.example>", 12, "expected ':' after a route"),
    (". <a@b.example>", 0, "starts with a word"),
])
def test_errors_say_what_and_where(text: str, position: int, fragment: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_address_list(text)
    assert fragment in str(info.value)
    assert info.value.position == position
    assert info.value.rfc is not None and info.value.rfc.startswith("RFC 5322 §3")


# --- encoded-words (RFC 2047) ---------------------------------------------------------------


@pytest.mark.parametrize("text,expected", [
    ("=?utf-8?q?J=C3=B6rg?=", "J\u00f6rg"),
    ("=?UTF-8?Q?J=C3=B6rg_M=C3=BCller?=", "J\u00f6rg M\u00fcller"),
    ("=?utf-8?b?SsO2cmc=?=", "J\u00f6rg"),
    ("=?utf-8?b?SsO2cmc?=", "J\u00f6rg"),                  # padding left out
    ("=?iso-8859-1?q?J=F6rg?=", "J\u00f6rg"),
    ("=?utf-8*de?q?J=C3=B6rg?=", "J\u00f6rg"),             # RFC 2231 §5 language
    ("=?utf-8?q?a?= =?utf-8?q?b?=", "ab"),                 # RFC 2047 §6.2
    ("=?utf-8?q?a?=\r\n =?utf-8?q?b?=", "ab"),
    ("=?utf-8?q?a?= b =?utf-8?q?c?=", "a b c"),
    ("=?utf-8?q?=C3?= =?utf-8?q?=B6?=", "\u00f6"),         # a character split in two
    ("=?utf-8?q?a?==?utf-8?q?b?=", "ab"),
    ("=?x-unknown?q?abc?=", "=?x-unknown?q?abc?="),        # unknown charset: kept
    ("=?unicode_escape?q?abc?=", "=?unicode_escape?q?abc?="),
    ("=?base64?q?abc?=", "=?base64?q?abc?="),              # not a text codec: kept
    ("=?utf-8?b?!!!?=", "=?utf-8?b?!!!?="),                # invalid base64: kept
    ("=?utf-8?q?ok?= =?x-unknown?q?abc?=", "ok =?x-unknown?q?abc?="),
    ("=?utf-8?q?=FF?=", "\ufffd"),                          # invalid octet
    ("no words here", "no words here"),
    ("=?utf-8?q?a b?=", "=?utf-8?q?a b?="),                # a space ends a word
])
def test_decode_encoded_words(text: str, expected: str) -> None:
    assert decode_encoded_words(text) == expected


def test_invented_charset_names_are_not_remembered() -> None:
    """The codec registry keeps every name it is asked for; invented charsets in
    hostile headers must not make it grow."""
    import encodings

    cache = getattr(encodings, "_cache", {})
    before = len(cache)
    for i in range(500):
        decode_encoded_words(f"=?x-invented-{i}?q?abc?=")
    assert len(cache) == before


def test_display_names_are_decoded_but_addresses_never_are() -> None:
    assert parts("=?utf-8?q?J=C3=B6rg?= <j@example.org>") == [
        ("J\u00f6rg", "j", "example.org")]
    # RFC 2047 §5: an encoded-word is not allowed in an addr-spec; it stays as written.
    assert parts("=?utf-8?q?j?=@example.org") == [(None, "=?utf-8?q?j?=", "example.org")]
    # Encoded-words inside quotes, which RFC 2047 §5 forbids, are decoded anyway (as
    # mail readers do): a display name is for people.
    assert parts('"=?utf-8?q?J=C3=B6rg?=" <j@example.org>') == [
        ("J\u00f6rg", "j", "example.org")]
    # A '.' in a Q word splits the atom; the words are decoded from the joined text.
    assert parts("=?utf-8?q?J.=C3=B6rg?= <j@example.org>") == [
        ("J.\u00f6rg", "j", "example.org")]
    (group,) = parse_address_list("=?utf-8?q?=C3=A9quipe?=:;")
    assert isinstance(group, Group) and group.name == "\u00e9quipe"


# --- DMARC: the author domains of From (RFC 7489 §6.6.1) ------------------------------------


@pytest.mark.parametrize("text,domains", [
    ("Jane <jane@Example.ORG>", ("example.org",)),
    ("jane@example.org.", ("example.org",)),                       # lenient: trailing dot
    ("j\u00f6rg@B\u00fccher.example", ("xn--bcher-kva.example",)),
    # Several authors: every domain, once each, in order (RFC 7489 §6.6.1 lets the
    # receiver choose what to do with them; none may be dropped).
    ("a@one.example, b@two.example", ("one.example", "two.example")),
    ("a@one.example, b@ONE.example", ("one.example",)),
    # Groups are allowed in From (RFC 6854); their mailboxes are authors.
    ("team: a@one.example, b@two.example;", ("one.example", "two.example")),
    # The display name never gives a domain, whatever it looks like.
    ('"ceo@bank.example" <x@evil.example>', ("evil.example",)),
    ("ceo@bank.example <x@evil.example>", ("evil.example",)),     # lenient: unquoted
    ("=?utf-8?q?ceo=40bank.example?= <x@evil.example>", ("evil.example",)),
    ('"ceo@bank.example"@evil.example', ("evil.example",)),
    ("<ceo@bank.example> (x@evil.example)", ("bank.example",)),
    ("ceo@bank.example(@evil.example)", ("bank.example",)),
    ("ceo@(evil.example)bank.example", ("bank.example",)),
    ("<@evil.example:ceo@bank.example>", ("bank.example",)),       # obs-route ignored
    ("Doe, John <john@example.org>", ("example.org",)),            # lenient: stray word
    # Lenient reading keeps every address it sees: both must pass.
    ("ceo@bank.example:x@evil.example", ("bank.example", "evil.example")),
    ("a@one.example; b@two.example", ("one.example", "two.example")),
])
def test_from_domains(text: str, domains: tuple[str, ...]) -> None:
    assert from_domains(text) == domains
    assert from_domains(text.encode("utf-8")) == domains


@pytest.mark.parametrize("text,fragment", [
    ("", "no author address"),
    ("undisclosed-recipients:;", "no author address"),
    ("bank.example", "no author address"),
    ("Jane Doe", "no author address"),
    ("=?utf-8?b?Y2VvQGJhbmsuZXhhbXBsZQ==?=", "no author address"),  # an @ only once decoded
    ("<>", "holds no address"),
    ("ceo@", "no domain after '@'"),
    ("ceo@bank.example, x@", "no domain after '@'"),
    ("user@[192.0.2.1]", "domain literal"),
    ("a@b.example, user@[192.0.2.1]", "domain literal"),
    ("user@192.0.2.1", "not a domain name"),
    ("user@ex!ample.com", "not a domain name"),
    ("user@exa\u00a0mple.com", "not a domain name"),
    ("user@" + "a" * 64 + ".example", "longer than a domain name"),
    ("user@" + "\u00fc" * 10_000, "longer than a domain name"),
    # Trailing garbage that holds another address: which one is the author?
    ("<ceo@bank.example> x@evil.example", "an address after '>'"),
    ("ceo@bank.example x@evil.example", "two '@'"),
    ("<ceo@bank.example> <x@evil.example>", "two '<...>'"),
    ("<ceo@bank.example", "'<' without '>'"),
    ("ceo@bank.example>", "'>' without '<'"),
    ("<a<b@c.example>>", "'<' inside"),
    ("ceo@bank.example\x00@evil.example", "two '@'"),
    ('ceo@"bank".example', "no domain after '@'"),
    ("a@b.example (unterminated", "unterminated comment"),
])
def test_from_domains_refusals(text: str, fragment: str) -> None:
    with pytest.raises(ParseError) as info:
        from_domains(text)
    assert fragment in str(info.value)
    assert info.value.position is not None


def test_a_valid_field_is_never_read_leniently() -> None:
    # Valid as an address-list: the strict reading decides, and its domain is refused
    # rather than replaced by a lenient guess.
    with pytest.raises(ParseError, match="not a domain name"):
        from_domains("a@b_c!.example")


# --- properties -------------------------------------------------------------------------------

SPECIALS = st.sampled_from([*'()<>[]:;@\\,."', " ", "\t", "\r\n ", "\n", "=?", "?=",
                            "=?utf-8?q?", "=?utf-8?b?", "\x00", "\u00e9"])
HOSTILE_TEXT = st.one_of(
    st.text(max_size=80),
    st.lists(st.one_of(SPECIALS, st.text("abc", min_size=1, max_size=3)), max_size=40).map(
        "".join),
)


@settings(max_examples=600, deadline=None)
@given(text=HOSTILE_TEXT)
def test_only_parse_errors_escape(text: str) -> None:
    for parse in (parse_address_list, parse_mailbox_list, from_domains):
        for value in (text, text.encode("utf-8", "surrogatepass")):
            try:
                parse(value)
            except ParseError as exc:
                assert exc.position is not None and 0 <= exc.position <= len(text) + 1
    decode_encoded_words(text)


ATEXT = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~"
ATOM = st.text(st.sampled_from(ATEXT + "\u00e9\u4f8b"), min_size=1, max_size=8).filter(
    lambda a: "=?" not in a)
QCONTENT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7e) | st.just("\u00fc"),
                   max_size=12).filter(lambda q: "=?" not in q)
DTEXT = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7e,
                              exclude_characters="[]\\"), min_size=1, max_size=12)


def quoted(content: str) -> str:
    return '"' + content.replace("\\", "\\\\").replace('"', '\\"') + '"'


@st.composite
def mailboxes(draw: st.DrawFn) -> tuple[list[str], tuple[str | None, str, str]]:
    """A mailbox as a list of pieces (where CFWS may go between them) and its parts."""
    if draw(st.booleans()):
        atoms = draw(st.lists(ATOM, min_size=1, max_size=3))
        local_pieces = [p for a in atoms for p in (a, ".")][:-1]
        local = ".".join(atoms)
    else:
        local = draw(QCONTENT)
        local_pieces = [quoted(local)]
    if draw(st.integers(0, 4)) == 0:
        domain = "[" + draw(DTEXT) + "]"
        domain_pieces = [domain]
    else:
        labels = draw(st.lists(ATOM, min_size=1, max_size=3))
        domain = ".".join(labels)
        domain_pieces = [p for label in labels for p in (label, ".")][:-1]
    addr = [*local_pieces, "@", *domain_pieces]
    form = draw(st.sampled_from(["addr-spec", "angle", "name"]))
    if form == "addr-spec":
        return addr, (None, local, domain)
    if form == "angle":
        return ["<", *addr, ">"], (None, local, domain)
    words = draw(st.lists(st.tuples(st.booleans(), ATOM, QCONTENT), min_size=1, max_size=3))
    name_pieces = [quoted(q) if use_quotes else a for use_quotes, a, q in words]
    name = " ".join(q if use_quotes else a for use_quotes, a, q in words)
    return [*name_pieces, "<", *addr, ">"], (name, local, domain)


CFWS = st.sampled_from([" ", "\t", "\r\n ", " (a comment) ", "(nested (one) \\) here)",
                        "\r\n\t(folded)\r\n ", "  "])


def render(pieces: list[str], gaps: list[str]) -> str:
    """Pieces joined with the given gaps; a gap between two display-name words (and
    before "<") must hold white space or a comment, which every CFWS above does."""
    out = [pieces[0]]
    for piece, gap in zip(pieces[1:], gaps, strict=False):
        out += [gap, piece]
    return "".join(out)


def plain(pieces: list[str]) -> str:
    """Pieces with one space between two words and nothing around specials."""
    return render(pieces, [" " if a not in "<>@." and b not in "<>@." else ""
                           for a, b in itertools.pairwise(pieces)])


@settings(max_examples=400, deadline=None)
@given(boxes=st.lists(mailboxes(), min_size=1, max_size=3))
def test_generated_mailboxes_parse_back(boxes: list[tuple[list[str], tuple[str | None, str,
                                                                            str]]]) -> None:
    texts = [plain(pieces) for pieces, _ in boxes]
    text = ", ".join(texts)
    items = parse_mailbox_list(text)
    assert [(a.display_name, a.local_part, a.domain) for a in items] == [e for _, e in boxes]
    assert [a.raw for a in items] == texts


@settings(max_examples=400, deadline=None)
@given(box=mailboxes(), data=st.data())
def test_comments_and_white_space_where_cfws_is_allowed_change_nothing(
        box: tuple[list[str], tuple[str | None, str, str]], data: st.DataObject) -> None:
    pieces, expected = box
    gaps = data.draw(st.lists(CFWS, min_size=len(pieces) - 1, max_size=len(pieces) - 1))
    lead, tail = data.draw(CFWS), data.draw(CFWS)
    text = lead + render(pieces, gaps) + tail + "," + data.draw(CFWS)
    (a,) = parse_mailbox_list(text)
    assert (a.display_name, a.local_part, a.domain) == expected


@settings(max_examples=200, deadline=None)
@given(name=st.lists(ATOM, min_size=1, max_size=3).map(" ".join),
       boxes=st.lists(mailboxes(), max_size=3))
def test_generated_groups_parse_back(name: str, boxes: list[tuple[list[str], tuple[
        str | None, str, str]]]) -> None:
    members = [plain(pieces) for pieces, _ in boxes]
    (group,) = parse_address_list(f"{name}: {', '.join(members)};")
    assert isinstance(group, Group) and group.name == name
    assert [(a.display_name, a.local_part, a.domain) for a in group.addresses] == [
        e for _, e in boxes]


LDH_DOMAIN = st.lists(st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9-]{0,8}[A-Za-z0-9])?", fullmatch=True)
                      .filter(lambda label: not label.isdigit()), min_size=1, max_size=4).map(
                          ".".join)


@settings(max_examples=300, deadline=None)
@given(boxes=st.lists(st.tuples(mailboxes(), LDH_DOMAIN), min_size=1, max_size=4))
def test_from_domains_of_generated_fields(boxes: list[tuple[tuple[list[str], tuple[
        str | None, str, str]], str]]) -> None:
    texts = []
    for (pieces, _), domain in boxes:
        at = pieces.index("@")
        end = pieces.index(">") if ">" in pieces else len(pieces)
        texts.append(plain([*pieces[:at + 1], domain, *pieces[end:]]))
    expected = tuple(dict.fromkeys(domain.lower() for _, domain in boxes))
    assert from_domains(", ".join(texts)) == expected


# --- linear time -------------------------------------------------------------------------------

N = 100_000


@pytest.mark.parametrize("text", [
    "(" * (N // 2) + ")" * (N // 2) + " a@b.example",
    "(" * N,
    "(\\" * (N // 2),
    '"a" ' * (N // 4) + "<a@b.example>",
    '"' + "\\a" * (N // 2),
    '"' * N,
    "a " * (N // 2) + "<a@b.example>",
    "a." * (N // 2) + "a@b.example",
    "a@b.example, " * (N // 13),
    "=?utf-8?q?a?= " * (N // 14) + "<a@b.example>",
    "=?" * (N // 2),
    "=?utf-8?q?" * (N // 10),
    "<" * N,
    "@" * N,
    "<" + "@a," * (N // 3) + ":a@b.example>",
    "a@" + "a." * (N // 2) + "example",
    "g:" * (N // 2),
    "," * N,
    "a@[" + "1" * N,
    "[" * N,
    ":" * N + "a@b.example",
], ids=lambda t: repr(t[:12]))
def test_hostile_input_of_100_kb_finishes(text: str) -> None:
    """Each runs in well under a second; a quadratic parser would take minutes (no
    timing here: the test finishing is the check)."""
    for parse in (parse_address_list, from_domains):
        with contextlib.suppress(ParseError):
            parse(text)


# --- from_domains' fast path against the full reader ------------------------------------

_ATOM = st.text(alphabet=string.ascii_letters + string.digits + "!#$%&'*+-/=?^_`{|}~",
                min_size=1, max_size=6)
_LABEL = st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=1, max_size=6)
_FROM_PIECES = st.lists(st.one_of(
    _ATOM, _LABEL, st.sampled_from([" ", "\t", "@", ".", "<", ">", '"', "(", ")", ",", ";",
                                     ":", "\\", "[", "]", "\r\n ", "é", "=?utf-8?q?x?="])),
    max_size=14).map("".join)


def _outcome(fn: Callable[[str], tuple[str, ...]], text: str) -> object:
    try:
        return fn(text)
    except ParseError as exc:
        return ("ParseError", str(exc))


@given(st.one_of(
    _FROM_PIECES,
    st.builds(lambda name, local, labels: f"{name} <{local}@{'.'.join(labels)}>",
              st.one_of(_ATOM, st.just('"Doe, Jane"'), st.just("")), _ATOM,
              st.lists(_LABEL, min_size=1, max_size=4)),
    st.builds(lambda local, labels: f"{local}@{'.'.join(labels)}", _ATOM,
              st.lists(_LABEL, min_size=1, max_size=4))))
@settings(max_examples=600)
def test_from_domains_fast_path_agrees_with_the_full_reader(text: str) -> None:
    assert _outcome(from_domains, text) == _outcome(_from_domains_reference, text)


@pytest.mark.parametrize("text", [
    "alice@example.org", "Alice Example <alice@example.org>", '"Doe, Jane" <j@x.example>',
    "  a.b@sub.example.org  ", "x <a@b.c>", "a@1.2.3.4", "a@-x.example"])
def test_from_domains_fast_path_is_taken_for_the_usual_shapes(text: str) -> None:
    assert _SIMPLE_FROM.fullmatch(text) is not None
    assert _outcome(from_domains, text) == _outcome(_from_domains_reference, text)
