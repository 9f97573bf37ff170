"""The words of RFC 8601 §2.2 as servers write them, and the results each registered
method may have: the patterns :mod:`._reader` reads with and :mod:`._model` checks names
against before it writes them.
"""

from __future__ import annotations

import re

from .._grammar import UTF8_DOT_ATOM_TEXT

# method, result, ptype and property are Keyword (RFC 5321 Ldh-str); as servers write
# them, any RFC 2045 token character but "." (which separates ptype and property).
_NAME = re.compile(r"[!#$%&'*+\-0-9A-Z^_`a-z{|}~]+")
# A property name after the ptype's ".": the same, and dots (``policy.dkim.d``).
_PNAME = re.compile(r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+")
_DIGITS = re.compile(r"[0-9]+")
_MAX_DIGITS = 9  # a version or instance longer than this is not a number anyone wrote
# A value as servers write it unquoted (RFC 2045 token, an addr-spec, base64 with "/"
# and "=", an IPv6 address): everything up to white space, ";", a comment or a quote.
_RUN = re.compile(r'[^\x00-\x20\x7f;()"]+')
# One unit of text that makes no sense where it is, skipped as a whole.
_JUNK = re.compile(r'[^ \t;()"]+')
_WSP = re.compile(r"[ \t]+")
_COMMENT_TEXT = re.compile(r"[^()\\]+")
_QTEXT = re.compile(r'[^"\\]+')
# RFC 8601 §2.2: pvalue = [CFWS] ( value / [ [ local-part ] "@" ] domain-name ) [CFWS];
# value = token / quoted-string (RFC 2045 §5.1); RFC 8616 §4 admits UTF-8 local-parts
# and U-labels.
# (A quoted local-part is read apart, by the quoted-string reader.)
_U_LD = r"A-Za-z0-9\u0080-\U0010ffff"
_U_LABEL = rf"[{_U_LD}](?:[{_U_LD}\-]*[{_U_LD}])?"
_PVALUE = re.compile(rf"(?:{UTF8_DOT_ATOM_TEXT})?@{_U_LABEL}(?:\.{_U_LABEL})*")
# Two words that a mail API (Microsoft Graph, for one) ran together by removing a fold
# without the white space after it: ``action=noneheader.from=example.com``.
_JOINED = re.compile(r"(?<=[A-Za-z0-9])(?:header|smtp|body|policy)\.[A-Za-z0-9-]++=")
# RFC 5322 §2.2.3: unfolding removes every line break that precedes WSP.
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_LINE_BREAK = re.compile(r"\r\n|[\r\n]")
# The field name, when the caller gives the whole field (RFC 5322 §3.6.8; WSP may come
# before the colon, RFC 5322 §4.5).
_FIELD_NAME = re.compile(r"([A-Za-z0-9-]+)[ \t]*:")

# The results each registered method may have (the IANA "Email Authentication Result
# Names" registry); a result outside its method's set is kept, with a warning. Methods
# not listed here (compauth, bimi, x-*, ...) take any result.
_DKIM = frozenset({"none", "pass", "fail", "policy", "neutral", "temperror", "permerror"})
_SPF = frozenset({"none", "pass", "fail", "softfail", "policy", "neutral", "temperror",
                  "permerror"})
_REGISTERED: dict[str, tuple[frozenset[str], str]] = {
    "dkim": (_DKIM, "RFC 8601 §2.7.1"),
    "domainkeys": (_DKIM, "RFC 8601 §2.7.1"),
    "spf": (_SPF, "RFC 8601 §2.7.2"),
    "sender-id": (_SPF, "RFC 8601 §2.7.2"),
    "iprev": (frozenset({"pass", "fail", "temperror", "permerror"}), "RFC 8601 §2.7.3"),
    "auth": (frozenset({"none", "pass", "fail", "temperror", "permerror"}), "RFC 8601 §2.7.4"),
    "dmarc": (frozenset({"none", "pass", "fail", "temperror", "permerror"}), "RFC 7489 §11.2"),
    "arc": (frozenset({"none", "pass", "fail"}), "RFC 8617"),
    "dkim-atps": (frozenset({"none", "pass", "fail", "temperror", "permerror"}), "RFC 6541"),
    "dkim-adsp": (frozenset({"none", "pass", "unknown", "fail", "discard", "nxdomain",
                             "temperror", "permerror"}), "RFC 5617"),
    "smime": (_DKIM, "RFC 7281"),
}
