"""The shared atoms of the mail grammars, as regular expressions next to their ABNF.

One place for the RFC 5322, RFC 5321, RFC 1035 and RFC 6376 productions that several
protocol modules read or write. Each name is the regex *source* (a ``str`` with no
anchors and no capturing groups, so it composes into larger patterns); ``NAME_RE`` is
the same compiled, to be used with ``fullmatch`` (whole text), ``match`` or ``search``.
``*_SET`` names are the inside of a character class (no brackets), for building
negations such as ``f"[^{VALCHAR_SET}{FWS_CHARS}]"``.

Every pattern is written to run in linear time: alternatives never overlap at their
first character and repeated groups start with a character the previous one cannot
end with, so a failed match never re-reads text more than a bounded number of times
(``tests/test_grammar.py`` feeds each one long hostile input).

Core rules (RFC 5234 Appendix B.1): ALPHA = %x41-5A / %x61-7A, DIGIT = %x30-39,
WSP = SP / HTAB, VCHAR = %x21-7E, DQUOTE = %x22. RFC 6532 §3.2 (internationalized
headers) adds UTF8-non-ascii to VCHAR, atext, qtext, ctext and dtext: the ``UTF8_*``
variants below admit every character from U+0080 up.
"""

from __future__ import annotations

import ipaddress
import re

__all__ = [
    "ADDRESS_LITERAL",
    "ADDRESS_LITERAL_RE",
    "ATEXT",
    "ATEXT_SET",
    "BAD_LINE_BREAK_RE",
    "CTEXT_SET",
    "DCONTENT_SET",
    "DEC_OCTET",
    "DOMAIN",
    "DOMAIN_RE",
    "DOT_ATOM_TEXT",
    "DOT_ATOM_TEXT_RE",
    "DTEXT_SET",
    "FIELD_NAME",
    "FIELD_NAME_BYTES_RE",
    "FIELD_NAME_RE",
    "FTEXT",
    "FTEXT_SET",
    "FWS",
    "FWS_CHARS",
    "FWS_RE",
    "FWS_RUN_RE",
    "IPV4_ADDRESS",
    "IPV4_ADDRESS_LITERAL",
    "IPV4_ADDRESS_RE",
    "IPV6_ADDRESS_LITERAL",
    "KEYWORD",
    "KEYWORD_RE",
    "LDH_LABEL",
    "LDH_LABEL_RE",
    "LDH_STR",
    "LOCAL_PART",
    "LOCAL_PART_RE",
    "MAILBOX",
    "MAILBOX_RE",
    "NAME_LABEL",
    "NAME_LABEL_RE",
    "NO_WS_CTL_SET",
    "OBS_FWS",
    "QTEXT",
    "QTEXT_SET",
    "QTEXT_SMTP_SET",
    "QUOTED_PAIR",
    "QUOTED_STRING",
    "QUOTED_STRING_RE",
    "QUOTED_STRING_SMTP",
    "SELECTOR",
    "SELECTOR_LABEL",
    "SELECTOR_RE",
    "SUB_DOMAIN",
    "TAG_NAME",
    "TAG_NAME_RE",
    "TOKEN",
    "TOKEN_RE",
    "TSPECIALS",
    "UTF8_ATEXT",
    "UTF8_DOT_ATOM_TEXT",
    "UTF8_DOT_ATOM_TEXT_RE",
    "UTF8_NON_ASCII_SET",
    "UTF8_QUOTED_STRING",
    "UTF8_QUOTED_STRING_RE",
    "VALCHAR",
    "VALCHAR_SET",
    "VCHAR",
    "VCHAR_SET",
    "WSP",
    "WSP_CHARS",
    "is_address_literal",
]

# --- RFC 5234 Appendix B.1 ------------------------------------------------------------

# WSP = SP / HTAB
WSP_CHARS = " \t"
WSP = "[ \t]"
# VCHAR = %x21-7E
VCHAR_SET = r"\x21-\x7e"
VCHAR = f"[{VCHAR_SET}]"
# RFC 6532 §3.1: UTF8-non-ascii = UTF8-2 / UTF8-3 / UTF8-4 (RFC 3629), as characters.
UTF8_NON_ASCII_SET = r"\x80-\U0010ffff"

# --- RFC 5322 §3.2.2 folding white space ------------------------------------------------

# FWS = ([*WSP CRLF] 1*WSP) / obs-FWS
FWS = r"(?:[ \t]*\r\n)?[ \t]+"
# RFC 5322 §4.2: obs-FWS = 1*WSP *(CRLF 1*WSP)
OBS_FWS = r"[ \t]+(?:\r\n[ \t]+)*"
# The characters folding white space is made of. Code that only strips or removes
# folding (DKIM's s=, q= and h= values, tag-list specs) uses these, leniently: a bare
# CR or LF is removed like CRLF.
FWS_CHARS = " \t\r\n"
# A line break that is not part of FWS (RFC 5322 §2.2.3: folding is CRLF *before* WSP):
# a CRLF, bare CR or bare LF that is neither followed by WSP nor at the very end.
BAD_LINE_BREAK = r"\r\n(?![ \t]|\Z)|\r(?!\n)(?![ \t]|\Z)|(?<!\r)\n(?![ \t]|\Z)"
# NO-WS-CTL (RFC 5322 §4.1 obs-NO-WS-CTL): controls other than CR, LF, HTAB (and NUL).
NO_WS_CTL_SET = r"\x01-\x08\x0b\x0c\x0e-\x1f\x7f"

# --- RFC 5322 §3.2.3 atoms ----------------------------------------------------------------

# atext = ALPHA / DIGIT / "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "/" /
#         "=" / "?" / "^" / "_" / "`" / "{" / "|" / "}" / "~"
ATEXT_SET = r"A-Za-z0-9!#$%&'*+\-/=?^_`{|}~"
ATEXT = f"[{ATEXT_SET}]"
# dot-atom-text = 1*atext *("." 1*atext)
DOT_ATOM_TEXT = rf"{ATEXT}+(?:\.{ATEXT}+)*"
# RFC 6532 §3.2: atext =/ UTF8-non-ascii
UTF8_ATEXT = f"[{ATEXT_SET}{UTF8_NON_ASCII_SET}]"
UTF8_DOT_ATOM_TEXT = rf"{UTF8_ATEXT}+(?:\.{UTF8_ATEXT}+)*"

# --- RFC 5322 §3.2.1, §3.2.4 quoted strings and §3.2.2 comments --------------------------

# quoted-pair = ("\" (VCHAR / WSP)) / obs-qp
QUOTED_PAIR = r"\\[\x21-\x7e \t]"
# qtext = %d33 / %d35-91 / %d93-126 / obs-qtext   (printable ASCII but '"' and '\')
QTEXT_SET = r"\x21\x23-\x5b\x5d-\x7e"
QTEXT = f"[{QTEXT_SET}]"
# quoted-string = [CFWS] DQUOTE *([FWS] qcontent) [FWS] DQUOTE [CFWS]
# qcontent = qtext / quoted-pair. Written without the outer CFWS (a comment needs a
# counter, not a regex) and without obsolete controls.
QUOTED_STRING = rf'"(?:(?:{FWS})?(?:{QTEXT}|{QUOTED_PAIR}))*(?:{FWS})?"'
UTF8_QUOTED_STRING = (rf'"(?:(?:{FWS})?(?:[{QTEXT_SET}{UTF8_NON_ASCII_SET}]|{QUOTED_PAIR}))*'
                      rf'(?:{FWS})?"')
# ctext = %d33-39 / %d42-91 / %d93-126 / obs-ctext   (printable ASCII but '(' ')' '\')
CTEXT_SET = r"\x21-\x27\x2a-\x5b\x5d-\x7e"

# --- RFC 5322 §3.4.1 domain literals --------------------------------------------------------

# dtext = %d33-90 / %d94-126 / obs-dtext   (printable ASCII but '[' ']' '\')
DTEXT_SET = r"\x21-\x5a\x5e-\x7e"

# --- RFC 5322 §3.6.8 field names --------------------------------------------------------------

# field-name = 1*ftext ; ftext = %d33-57 / %d59-126   (printable ASCII but ':')
FTEXT_SET = r"\x21-\x39\x3b-\x7e"
FTEXT = f"[{FTEXT_SET}]"
FIELD_NAME = f"{FTEXT}+"

# --- RFC 2045 §5.1 MIME token (RFC 8601 §2.2 value = token / quoted-string) --------------

# tspecials := "(" / ")" / "<" / ">" / "@" / "," / ";" / ":" / "\" / <"> / "/" / "[" /
#              "]" / "?" / "="
TSPECIALS = '()<>@,;:\\"/[]?='
# token := 1*<any (US-ASCII) CHAR except SPACE, CTLs, or tspecials>
TOKEN = r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+"

# --- RFC 6376 §3.2 tag=value lists --------------------------------------------------------------

# tag-name = ALPHA *ALNUMPUNC ; ALNUMPUNC = ALPHA / DIGIT / "_"
TAG_NAME = "[A-Za-z][A-Za-z0-9_]*"
# VALCHAR = %x21-3A / %x3C-7E   (printable ASCII but ';')
VALCHAR_SET = r"\x21-\x3a\x3c-\x7e"
VALCHAR = f"[{VALCHAR_SET}]"

# --- RFC 1035 §2.3.1 labels, RFC 5321 §4.1.2 domains and addresses ----------------------------

# <label> ::= <letter> [ [ <ldh-str> ] <let-dig> ], at most 63 octets (RFC 1035 §2.3.4),
# with a leading digit allowed (RFC 1123 §2.1).
LDH_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
# Ldh-str = *( ALPHA / DIGIT / "-" ) Let-dig   (RFC 5321 §4.1.2)
LDH_STR = "(?:[A-Za-z0-9-]*[A-Za-z0-9])"
# sub-domain = Let-dig [Ldh-str]
SUB_DOMAIN = "[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
# Domain = sub-domain *("." sub-domain)
DOMAIN = rf"{SUB_DOMAIN}(?:\.{SUB_DOMAIN})*"
# RFC 8601 §2.2: method, result, ptype and property are Keyword = Ldh-str (RFC 5321).
KEYWORD = LDH_STR
# A label as names in mail records are written in practice: letters, digits, hyphens and
# underscores (RFC 8552 "_dmarc"-style labels; RFC 2181 §11 allows any octet). Lengths
# are checked apart.
NAME_LABEL = "[A-Za-z0-9_-]+"
# RFC 6376 §3.1: selector = sub-domain *( "." sub-domain ). Selectors with an underscore
# inside a label are published and verified in the wild, so one is admitted there.
SELECTOR_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?"
SELECTOR = rf"{SELECTOR_LABEL}(?:\.{SELECTOR_LABEL})*"

# dec-octet (RFC 3986 §3.2.2), the same as RFC 7208 §5.6 qnum: 0-255 without leading
# zeros.  IPv4address = dec-octet "." dec-octet "." dec-octet "." dec-octet
DEC_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IPV4_ADDRESS = rf"{DEC_OCTET}(?:\.{DEC_OCTET}){{3}}"

# RFC 5321 §4.1.3:
#   Snum = 1*3DIGIT  ; representing a decimal integer value in the range 0 through 255
#   IPv4-address-literal = Snum 3("."  Snum)
_SNUM = "(?:25[0-5]|2[0-4][0-9]|[01]?[0-9]?[0-9])"
IPV4_ADDRESS_LITERAL = rf"{_SNUM}(?:\.{_SNUM}){{3}}"
#   IPv6-addr = IPv6-full / IPv6-comp / IPv6v4-full / IPv6v4-comp
#   IPv6-hex  = 1*4HEXDIG
#   IPv6-full = IPv6-hex 7(":" IPv6-hex)
#   IPv6-comp = [IPv6-hex *5(":" IPv6-hex)] "::" [IPv6-hex *5(":" IPv6-hex)]
#   IPv6v4-full = IPv6-hex 5(":" IPv6-hex) ":" IPv4-address-literal
#   IPv6v4-comp = [IPv6-hex *3(":" IPv6-hex)] "::" [IPv6-hex *3(":" IPv6-hex ":")]
#                 IPv4-address-literal
# The prose limits ("no more than 6 groups in addition to the '::'") are not in the
# ABNF; :func:`is_address_literal` checks them with the ipaddress module.
_H = "[0-9A-Fa-f]{1,4}"
_IPV6_ADDR = (
    rf"(?:{_H}(?::{_H}){{5}}:{IPV4_ADDRESS_LITERAL}"
    rf"|(?:{_H}(?::{_H}){{0,3}})?::(?:{_H}:){{0,4}}{IPV4_ADDRESS_LITERAL}"
    rf"|{_H}(?::{_H}){{7}}"
    rf"|(?:{_H}(?::{_H}){{0,5}})?::(?:{_H}(?::{_H}){{0,5}})?)"
)
#   IPv6-address-literal = "IPv6:" IPv6-addr    (ABNF strings are case-insensitive)
IPV6_ADDRESS_LITERAL = f"(?i:IPv6:){_IPV6_ADDR}"
#   General-address-literal = Standardized-tag ":" 1*dcontent ; Standardized-tag = Ldh-str
#   dcontent = %d33-90 / %d94-126
# "IPv6" is the one registered tag; it is not read as a general literal.
DCONTENT_SET = r"\x21-\x5a\x5e-\x7e"
_GENERAL_ADDRESS_LITERAL = rf"(?!(?i:IPv6:)){LDH_STR}:[{DCONTENT_SET}]+"
#   address-literal = "[" ( IPv4-address-literal / IPv6-address-literal /
#                           General-address-literal ) "]"
ADDRESS_LITERAL = (rf"\[(?:{IPV4_ADDRESS_LITERAL}|{IPV6_ADDRESS_LITERAL}"
                   rf"|{_GENERAL_ADDRESS_LITERAL})\]")

#   Local-part = Dot-string / Quoted-string
#   Dot-string = Atom *("."  Atom) ; Atom = 1*atext
#   Quoted-string = DQUOTE *QcontentSMTP DQUOTE
#   QcontentSMTP = qtextSMTP / quoted-pairSMTP
#   quoted-pairSMTP = %d92 %d32-126
#   qtextSMTP = %d32-33 / %d35-91 / %d93-126
QTEXT_SMTP_SET = r"\x20\x21\x23-\x5b\x5d-\x7e"
QUOTED_STRING_SMTP = rf'"(?:[{QTEXT_SMTP_SET}]|\\[\x20-\x7e])*"'
LOCAL_PART = rf"(?:{DOT_ATOM_TEXT}|{QUOTED_STRING_SMTP})"
#   Mailbox = Local-part "@" ( Domain / address-literal )
MAILBOX = rf"{LOCAL_PART}@(?:{DOMAIN}|{ADDRESS_LITERAL})"

# --- compiled ---------------------------------------------------------------------------------

FWS_RE = re.compile(FWS)
# Any run of the characters of FWS (lenient, for removing folding from values).
FWS_RUN_RE = re.compile(f"[{FWS_CHARS}]+")
BAD_LINE_BREAK_RE = re.compile(BAD_LINE_BREAK)
DOT_ATOM_TEXT_RE = re.compile(DOT_ATOM_TEXT)
UTF8_DOT_ATOM_TEXT_RE = re.compile(UTF8_DOT_ATOM_TEXT)
QUOTED_STRING_RE = re.compile(QUOTED_STRING)
UTF8_QUOTED_STRING_RE = re.compile(UTF8_QUOTED_STRING)
FIELD_NAME_RE = re.compile(FIELD_NAME)
# Bytes: a field name and the colon after it, WSP allowed between them (RFC 5322 §4.5.1
# obs-optional = field-name *WSP ":"). Group 1 is the name.
FIELD_NAME_BYTES_RE = re.compile(f"([{FTEXT_SET}]+)[ \t]*:".encode("ascii"))
TOKEN_RE = re.compile(TOKEN)
TAG_NAME_RE = re.compile(TAG_NAME)
LDH_LABEL_RE = re.compile(LDH_LABEL)
DOMAIN_RE = re.compile(DOMAIN)
KEYWORD_RE = re.compile(KEYWORD)
NAME_LABEL_RE = re.compile(NAME_LABEL)
SELECTOR_RE = re.compile(SELECTOR)
IPV4_ADDRESS_RE = re.compile(IPV4_ADDRESS)
ADDRESS_LITERAL_RE = re.compile(ADDRESS_LITERAL)
LOCAL_PART_RE = re.compile(LOCAL_PART)
MAILBOX_RE = re.compile(MAILBOX)


def is_address_literal(text: str) -> bool:
    """True when ``text`` is an RFC 5321 §4.1.3 address-literal, brackets included.

    On top of the ABNF, an IPv6 literal must be an IPv6 address (the prose limits on
    the number of groups around ``::``) and an IPv4 one has octets of at most 255.
    """
    if not ADDRESS_LITERAL_RE.fullmatch(text):
        return False
    inner = text[1:-1]
    if inner[:5].lower() == "ipv6:":
        try:
            ipaddress.IPv6Address(inner[5:])
        except ValueError:
            return False
    return True
