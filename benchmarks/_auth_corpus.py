"""A corpus for the authenticate() benchmark: messages, their envelopes and all the DNS.

``make_corpus(n, seed)`` builds, deterministically from the seed (only the DKIM keys are
fresh on each run), ``n`` messages from a handful of author domains, each with the SMTP
envelope it arrived with (client IP, HELO, MAIL FROM), and one DNS table for all of them
in :class:`mailauth.testing.FakeResolver`'s format, ``{name: {rdtype: [values]}}``. The
peers' resolvers are built from that same table, so every verifier sees the same DNS.

The domains (all under the reserved ``.example`` TLD):

==========================  =================================================  ==================
domain                      DMARC                                              SPF
==========================  =================================================  ==================
alpha.example               p=reject adkim=s aspf=s                            ip4, include, -all
bravo.example               p=quarantine sp=none (relaxed)                     mx, a, -all
charlie.example             p=none                                             ip4, include, ~all
delta.example               (none)                                             a, mx, ip4, ~all
echo.example                p=reject sp=quarantine adkim=r aspf=s              ip4, -all
foxtrot.example             p=reject adkim=r aspf=r, and b.foxtrot.example     ip4, -all
                            with p=quarantine adkim=s aspf=s (an intermediate
                            record: RFC 7489 and RFC 9989 pick different ones)
golf.example                (none), corp.golf.example p=reject: the tree walk  ip4, -all
                            and the Public Suffix List disagree on the
                            Organizational Domain (and so on alignment and
                            on the policy of hr.corp.golf.example)
esp.example                 p=none: a third-party sender signing as itself     include, ~all
fwd.example                 p=none: a forwarder / mailing list                 ip4, redirect
==========================  =================================================  ==================

Subdomain authors (news.bravo.example, news.echo.example, shop.delta.example,
a.b.foxtrot.example) have no record of their own: their policy is found above them.

Message kinds (see ``KINDS``): aligned DKIM pass, third-party signer not aligned,
SPF-only pass, tampered body or header (DKIM fail), forwarded (SPF fail, DKIM pass),
mailing list (both broken, SRS), no signature with SPF fail, two signatures, subdomain
From, the tree-walk cases (an intermediate record, a sibling signer, a deep subdomain
whose only policy is below the Public Suffix List's Organizational Domain), and bounces
with a null MAIL FROM (SPF on the HELO).
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _text import body_text
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from mailauth.dkim import generate_key, sign_dkim
from mailauth.testing import FakeResolver

__all__ = ["KINDS", "Case", "Corpus", "DNSData", "make_corpus"]

#: ``{name: {rdtype: [value, ...]}}``: FakeResolver's format (a TXT value is one str, or
#: a list of str for one record made of several strings).
DNSData = dict[str, dict[str, list[Any]]]

TIMESTAMP = 1_700_000_000  # t= of every signature (no x=: they never expire)

# The top-level domain of every name. The code writes ".example" (RFC 2606); make_corpus
# swaps it at the boundaries (DNS table, message text, envelope) when asked for another
# one: a TLD that is on the Public Suffix List shows how a verifier treats real domains.
_tld = "example"


def _t(text: str) -> str:
    return text if _tld == "example" else text.replace(".example", f".{_tld}")


WORDS = ["lorem", "ipsum", "dolor", "sit", "amet,", "consectetur", "adipiscing", "elit.",
         "sed", "do", "eiusmod", "tempor", "incididunt", "ut", "labore", "et", "dolore",
         "magna", "aliqua.", "invoice", "meeting", "tomorrow", "https://example.net/x?y=1"]



@dataclass(frozen=True)
class Case:
    """One message as it arrived: the bytes and the SMTP envelope."""

    message: bytes
    ip: str
    helo: str
    mail_from: str
    kind: str     # one of KINDS
    author: str   # the From domain


@dataclass
class Corpus:
    cases: list[Case]
    dns: DNSData
    seed: int
    kinds: dict[str, int] = field(default_factory=dict)

    def resolver(self) -> FakeResolver:
        return FakeResolver(self.dns)

    def write(self, directory: Path) -> Path:
        """Write ``corpus.json`` (DNS table, messages in base64, envelopes) for the
        Node side; returns its path."""
        path = directory / "corpus.json"
        data = {
            "seed": self.seed,
            "dns": self.dns,
            "messages": [{"id": i, "kind": c.kind, "ip": c.ip, "helo": c.helo,
                          "mail_from": c.mail_from,
                          "message": base64.b64encode(c.message).decode("ascii")}
                         for i, c in enumerate(self.cases)],
        }
        path.write_text(json.dumps(data))
        return path


class _Zone:
    def __init__(self) -> None:
        self.data: DNSData = {}

    def add(self, name: str, rdtype: str, *values: Any) -> None:
        self.data.setdefault(_t(name), {}).setdefault(rdtype, []).extend(
            _t(v) if isinstance(v, str) else v for v in values)


@dataclass
class _Domain:
    name: str
    spf_ips: list[str]               # addresses SPF passes for MAIL FROM at this domain
    keys: dict[str, Any] = field(default_factory=dict)   # selector -> GeneratedKey
    private: dict[str, Any] = field(default_factory=dict)  # selector -> loaded private key

    @property
    def selectors(self) -> list[str]:
        return sorted(self.keys)


def _ips(prefix: str, first: int, last: int) -> list[str]:
    return [f"{prefix}.{i}" for i in range(first, last + 1)]


def _build_dns() -> tuple[_Zone, dict[str, _Domain]]:
    z = _Zone()
    doms: dict[str, _Domain] = {}

    def dom(name: str, ips: list[str], **keys: str) -> _Domain:
        d = doms[name] = _Domain(name, ips)
        for selector, kind in keys.items():
            key = generate_key("rsa", bits=2048) if kind == "rsa" else generate_key("ed25519")
            d.keys[selector] = key
            d.private[selector] = load_pem_private_key(key.private_key_pem, None)
            value: Any = list(key.txt_strings) if len(key.txt_strings) > 1 else key.txt_value
            z.add(f"{selector}._domainkey.{name}", "TXT", value)  # (no ".example" in keys)
        return d

    # A bulk sender that signs as itself and bounces to itself.
    z.add("esp.example", "TXT", "v=spf1 include:_spf.esp.example -all")
    z.add("_spf.esp.example", "TXT", "v=spf1 ip4:100.64.10.0/24 ip4:100.64.11.0/24 ~all")
    z.add("_dmarc.esp.example", "TXT", "v=DMARC1; p=none; rua=mailto:agg@esp.example")
    z.add("out.esp.example", "A", "100.64.10.25")
    dom("esp.example", _ips("100.64.10", 1, 254), esp2048="rsa", esped="ed")

    # A forwarder and mailing-list host (rewrites MAIL FROM with SRS for its lists).
    z.add("fwd.example", "TXT", "v=spf1 ip4:100.64.200.0/24 -all")
    z.add("_dmarc.fwd.example", "TXT", "v=DMARC1; p=none")
    z.add("mx.fwd.example", "A", "100.64.200.5")
    z.add("lists.fwd.example", "TXT", "v=spf1 redirect=fwd.example")
    z.add("lists.fwd.example", "A", "100.64.200.6")
    dom("fwd.example", _ips("100.64.200", 1, 254), list1="ed")

    # alpha: strict alignment, reject; ip4 + include; a HELO record for its bounces.
    z.add("alpha.example", "TXT",
          "v=spf1 ip4:192.0.2.0/26 include:_spf.esp.example -all",
          "google-site-verification=alpha-0123456789")
    z.add("_dmarc.alpha.example", "TXT",
          "v=DMARC1; p=reject; adkim=s; aspf=s; rua=mailto:dmarc@alpha.example")
    z.add("bounce.alpha.example", "TXT", "v=spf1 redirect=alpha.example")
    z.add("mail.alpha.example", "A", "192.0.2.10")
    z.add("mail.alpha.example", "TXT", "v=spf1 a -all")
    z.add("alpha.example", "MX", "10 mail.alpha.example")
    dom("alpha.example", _ips("192.0.2", 1, 62), rsa1="rsa", ed1="ed")
    doms["bounce.alpha.example"] = _Domain("bounce.alpha.example", _ips("192.0.2", 1, 62))

    # bravo: quarantine, sp=none, relaxed; mx + a.
    z.add("bravo.example", "TXT", "v=spf1 mx a:out.bravo.example -all")
    z.add("_dmarc.bravo.example", "TXT", "v=DMARC1; p=quarantine; sp=none; pct=100")
    z.add("bravo.example", "MX", "10 mx1.bravo.example", "20 mx2.bravo.example")
    z.add("mx1.bravo.example", "A", "192.0.2.70")
    z.add("mx2.bravo.example", "A", "192.0.2.71")
    z.add("out.bravo.example", "A", "192.0.2.72", "192.0.2.73")
    z.add("news.bravo.example", "A", "192.0.2.74")
    z.add("news.bravo.example", "MX", "10 mx1.bravo.example")
    z.add("news.bravo.example", "TXT", "v=spf1 a -all")
    dom("bravo.example", ["192.0.2.70", "192.0.2.71", "192.0.2.72", "192.0.2.73"], k2048="rsa")
    doms["news.bravo.example"] = _Domain("news.bravo.example", ["192.0.2.74"])

    # charlie: p=none; ip4 + include ~all; a bounce domain at the ESP.
    z.add("charlie.example", "TXT",
          "v=spf1 ip4:198.51.100.0/25 include:_spf.esp.example ~all")
    z.add("_dmarc.charlie.example", "TXT", "v=DMARC1; p=none; rua=mailto:r@charlie.example")
    z.add("bounces.charlie.example", "TXT", "v=spf1 include:_spf.esp.example -all")
    dom("charlie.example", _ips("198.51.100", 1, 126), ed="ed")
    doms["bounces.charlie.example"] = _Domain("bounces.charlie.example",
                                              _ips("100.64.10", 1, 254))

    # delta: no DMARC record anywhere; a + mx + ip4 ~all.
    z.add("delta.example", "TXT", "v=spf1 a mx ip4:198.51.100.128/26 ~all")
    z.add("delta.example", "A", "198.51.100.200")
    z.add("delta.example", "MX", "10 mail.delta.example")
    z.add("mail.delta.example", "A", "198.51.100.201")
    z.add("shop.delta.example", "TXT", "v=spf1 include:delta.example -all")
    z.add("shop.delta.example", "A", "198.51.100.202")
    dom("delta.example", ["198.51.100.200", "198.51.100.201", *_ips("198.51.100", 129, 190)],
        sel1="rsa")
    doms["shop.delta.example"] = _Domain("shop.delta.example", [])

    # echo: reject, sp=quarantine, adkim=r, aspf=s.
    z.add("echo.example", "TXT", "v=spf1 ip4:203.0.113.0/25 -all")
    z.add("_dmarc.echo.example", "TXT",
          "v=DMARC1; p=reject; sp=quarantine; adkim=r; aspf=s; fo=1")
    z.add("news.echo.example", "TXT", "v=spf1 ip4:203.0.113.128/26 -all")
    z.add("news.echo.example", "A", "203.0.113.130")
    dom("echo.example", _ips("203.0.113", 1, 126), s2024a="rsa", s2024b="ed")
    doms["news.echo.example"] = _Domain("news.echo.example", _ips("203.0.113", 129, 190))

    # foxtrot: an intermediate record at b.foxtrot.example, strict, below a relaxed one.
    z.add("foxtrot.example", "TXT", "v=spf1 ip4:192.0.2.128/27 -all")
    z.add("_dmarc.foxtrot.example", "TXT", "v=DMARC1; p=reject; adkim=r; aspf=r")
    z.add("_dmarc.b.foxtrot.example", "TXT", "v=DMARC1; p=quarantine; adkim=s; aspf=s")
    z.add("b.foxtrot.example", "A", "192.0.2.140")
    z.add("a.b.foxtrot.example", "A", "192.0.2.141")
    dom("foxtrot.example", _ips("192.0.2", 129, 158), fx="rsa")

    # golf: no record at golf.example, one at corp.golf.example, a sibling signer.
    z.add("corp.golf.example", "TXT", "v=spf1 ip4:198.51.100.224/28 -all")
    z.add("_dmarc.corp.golf.example", "TXT", "v=DMARC1; p=reject")
    z.add("relay.golf.example", "TXT", "v=spf1 ip4:198.51.100.240/28 -all")
    z.add("relay.golf.example", "A", "198.51.100.241")
    z.add("hr.corp.golf.example", "TXT", "v=spf1 redirect=corp.golf.example")
    z.add("hr.corp.golf.example", "MX", "10 mx.corp.golf.example")
    dom("corp.golf.example", _ips("198.51.100", 225, 238))
    dom("relay.golf.example", _ips("198.51.100", 241, 254), r1="ed")
    return z, doms


def _message(rng: random.Random, i: int, from_addr: str, subject: str) -> bytes:
    size = int(400 * (100 ** rng.random()))          # 400 B - 40 KB, log-uniform
    domain = from_addr.rpartition("@")[2]
    headers = [f"From: {rng.choice(['Ann', 'Bob', 'Carol', 'Dan'])} Sender <{from_addr}>",
               f"To: rcpt{i % 7}@receiver.example",
               f"Subject: {subject} #{i}",
               f"Date: Mon, 1 Jan 2024 {i % 24:02d}:{i % 60:02d}:00 +0000",
               f"Message-ID: <{i}.{rng.randrange(10**9)}@{domain}>",
               "MIME-Version: 1.0"]
    if rng.random() < 0.3:
        boundary = f"b{rng.randrange(10**9)}"
        headers.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
        text = body_text(rng, size // 2, words=WORDS)
        paragraphs = body_text(rng, size // 2, words=WORDS).replace("\r\n", "</p>\r\n<p>")
        html = "<html><body><p>" + paragraphs + "</p></body></html>\r\n"
        body = (f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}"
                f"--{boundary}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}"
                f"--{boundary}--\r\n")
    else:
        headers.append("Content-Type: text/plain; charset=utf-8")
        body = body_text(rng, size, words=WORDS)
    return _t("\r\n".join(headers) + "\r\n\r\n" + body).encode()


def _sign(doms: dict[str, _Domain], rng: random.Random, message: bytes, domain: str,
          selector: str | None = None) -> bytes:
    d = doms[domain]
    sel = selector or rng.choice(d.selectors)
    canon = rng.choice(["relaxed/relaxed", "relaxed/relaxed", "relaxed/simple",
                        "simple/simple"])
    header = sign_dkim(message, domain=_t(domain), selector=sel,
                       key=d.private[sel], canonicalization=canon,
                       timestamp=TIMESTAMP)
    return header + message


def _received(helo: str, ip: str, by: str = "mx.receiver.example") -> bytes:
    return _t(f"Received: from {helo} ({helo} [{ip}])\r\n\tby {by} with ESMTPS; "
              "Mon, 1 Jan 2024 00:00:00 +0000\r\n").encode()


Builder = Callable[[random.Random, dict[str, _Domain], int], Case]

_ORGS = ["alpha.example", "bravo.example", "charlie.example", "delta.example", "echo.example"]


def _aligned(rng: random.Random, doms: dict[str, _Domain], i: int) -> Case:
    """DKIM signed by the author domain, sent from its own servers: SPF pass too."""
    author = rng.choice(_ORGS)
    msg = _message(rng, i, f"user{i}@{author}", "Quarterly report")
    msg = _sign(doms, rng, msg, author)
    ip = rng.choice(doms[author].spf_ips)
    return Case(msg, ip, f"mail.{author}", f"user{i}@{author}", "aligned", author)


def _third_party(rng: random.Random, doms: dict[str, _Domain], i: int) -> Case:
    """Signed by the ESP (d=esp.example), bounces to the ESP: nothing aligned."""
    author = rng.choice(_ORGS)
    msg = _message(rng, i, f"news@{author}", "Newsletter")
    msg = _sign(doms, rng, msg, "esp.example")
    ip = rng.choice(doms["esp.example"].spf_ips[:200])
    return Case(msg, ip, "out.esp.example", f"bounce-{i}@esp.example", "third-party", author)


def _spf_only(rng: random.Random, doms: dict[str, _Domain], i: int) -> Case:
    """No signature; SPF passes for the author domain or a subdomain of it (aligned in
    relaxed mode only) or the ESP's bounce domain of charlie."""
    author = rng.choice(["alpha.example", "bravo.example", "charlie.example",
                         "delta.example", "echo.example"])
    mail_domain = {"alpha.example": rng.choice(["alpha.example", "bounce.alpha.example"]),
                   "charlie.example": rng.choice(["charlie.example",
                                                  "bounces.charlie.example"])
                   }.get(author, author)
    msg = _message(rng, i, f"info@{author}", "Your order")
    ip = rng.choice(doms[mail_domain].spf_ips)
    return Case(msg, ip, f"smtp{i % 3}.{author}", f"orders@{mail_domain}", "spf-only", author)


def _tampered(rng: random.Random, doms: dict[str, _Domain], i: int) -> Case:
    """Signed by the author, then the body (or a signed header) changed: DKIM fail; sent
    from outside the SPF record."""
    author = rng.choice(_ORGS)
    msg = _message(rng, i, f"ceo@{author}", "Payment details")
    msg = _sign(doms, rng, msg, author)
    if rng.random() < 0.7:
        head, _, body = msg.partition(b"\r\n\r\n")
        msg = head + b"\r\n\r\n" + body.replace(b"e", b"3", 1) + b"Account: 12345\r\n"
    else:
        msg = msg.replace(b"Subject: Payment details", b"Subject: URGENT payment details", 1)
    ip = f"100.127.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    return Case(msg, ip, "unknown.invalid", f"ceo@{author}", "tampered", author)


def _forwarded(rng: random.Random, doms: dict[str, _Domain], i: int) -> Case:
    """Signed by the author, forwarded unchanged by fwd.example without SRS: SPF fails
    (or softfails), DKIM passes."""
    author = rng.choice(_ORGS)
    msg = _message(rng, i, f"friend{i}@{author}", "Photos")
    msg = _sign(doms, rng, msg, author)
    msg = _received(f"mail.{author}", rng.choice(doms[author].spf_ips), "mx.fwd.example") + msg
    return Case(msg, "100.64.200.5", "mx.fwd.example", f"friend{i}@{author}", "forwarded",
                author)


def _mailing_list(rng: random.Random, doms: dict[str, _Domain], i: int) -> Case:
    """Through a mailing list that tags the subject and adds a footer (DKIM fail) and
    rewrites MAIL FROM with SRS (SPF pass for fwd.example, not aligned)."""
    author = rng.choice(_ORGS)
    msg = _message(rng, i, f"member{i}@{author}", "Question about the release")
    msg = _sign(doms, rng, msg, author)
    msg = msg.replace(b"Subject: Question", b"Subject: [dev] Question", 1)
    msg += _t("--\r\ndev mailing list\r\nhttps://lists.fwd.example/dev\r\n").encode()
    msg = _t("List-Id: <dev.lists.fwd.example>\r\n").encode() + msg
    if rng.random() < 0.5:  # some lists sign what they send
        msg = _sign(doms, rng, msg, "fwd.example")
    srs = f"SRS0=ab{i:02x}=XY={author}=member{i}@lists.fwd.example"
    return Case(msg, rng.choice(doms["fwd.example"].spf_ips), "mx.fwd.example", srs,
                "mailing-list", author)


def _unsigned_spf_fail(rng: random.Random, doms: dict[str, _Domain], i: int) -> Case:
    """No signature, from an address the author's SPF record does not list."""
    author = rng.choice([*_ORGS, "corp.golf.example", "foxtrot.example"])
    msg = _message(rng, i, f"support@{author}", "Reset your password")
    ip = f"100.127.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    return Case(msg, ip, f"host{i}.dyn.invalid", f"support@{author}", "unsigned", author)


def _two_signatures(rng: random.Random, doms: dict[str, _Domain], i: int) -> Case:
    """The author's aligned signature and the ESP's on top of it (or the author's on
    top), sent by the ESP."""
    author = rng.choice(["alpha.example", "bravo.example", "charlie.example",
                         "echo.example"])
    msg = _message(rng, i, f"promo@{author}", "Spring sale")
    if rng.random() < 0.6:
        msg = _sign(doms, rng, _sign(doms, rng, msg, author), "esp.example")
        kind = "two-sigs-esp-on-top"
    else:
        msg = _sign(doms, rng, _sign(doms, rng, msg, "esp.example"), author)
        kind = "two-sigs-author-on-top"
    ip = rng.choice(doms["esp.example"].spf_ips[:200])
    return Case(msg, ip, "out.esp.example", f"bounce-{i}@esp.example", kind, author)


def _subdomain(rng: random.Random, doms: dict[str, _Domain], i: int) -> Case:
    """From a subdomain with no record of its own (policy from the parent), signed by the
    parent domain; MAIL FROM at the subdomain."""
    author, parent = rng.choice([("news.bravo.example", "bravo.example"),
                                 ("news.echo.example", "echo.example"),
                                 ("shop.delta.example", "delta.example")])
    msg = _message(rng, i, f"digest@{author}", "Weekly digest")
    if rng.random() < 0.8:
        msg = _sign(doms, rng, msg, parent)
    pool = doms[author].spf_ips or doms[parent].spf_ips
    ip = rng.choice(pool) if rng.random() < 0.7 else f"100.127.0.{rng.randrange(1, 255)}"
    return Case(msg, ip, f"mail.{parent}", f"digest@{author}", "subdomain", author)


def _intermediate(rng: random.Random, doms: dict[str, _Domain], i: int) -> Case:
    """From a.b.foxtrot.example (no record of its own), signed by foxtrot.example. Between
    them, b.foxtrot.example has a strict record: RFC 7489 and RFC 9989 both apply the
    Organizational Domain's relaxed record at foxtrot.example; a walk that stopped at the
    first record found would take the strict one and fail."""
    author = "a.b.foxtrot.example"
    msg = _message(rng, i, f"alerts@{author}", "Build failed")
    msg = _sign(doms, rng, msg, "foxtrot.example")
    ip = rng.choice(doms["foxtrot.example"].spf_ips) if rng.random() < 0.5 \
        else "100.64.200.5"
    return Case(msg, ip, "ci.foxtrot.example", "alerts@foxtrot.example", "intermediate-record",
                author)


def _sibling(rng: random.Random, doms: dict[str, _Domain], i: int) -> Case:
    """Under golf.example, which has no record: corp.golf.example has one. Mostly from
    corp.golf.example, signed by and bounced to relay.golf.example: aligned by the Public
    Suffix List (both under golf.example), not by the tree walk (corp.golf.example is its
    own Organizational Domain). Else from hr.corp.golf.example, unsigned, SPF fail: the
    tree walk finds corp.golf.example's policy, the Public Suffix List finds no record."""
    if rng.random() < 0.7:
        author = "corp.golf.example"
        msg = _message(rng, i, f"hr@{author}", "Benefits enrolment")
        if rng.random() < 0.7:
            msg = _sign(doms, rng, msg, "relay.golf.example")
        ip = rng.choice(doms["relay.golf.example"].spf_ips)
        return Case(msg, ip, "relay.golf.example", "bounce@relay.golf.example", "sibling-org",
                    author)
    author = "hr.corp.golf.example"
    msg = _message(rng, i, f"payroll@{author}", "Payslip")
    ip = f"100.127.1.{rng.randrange(1, 255)}"
    return Case(msg, ip, f"host{i}.dyn.invalid", f"payroll@{author}", "deep-subdomain", author)


def _bounce(rng: random.Random, doms: dict[str, _Domain], i: int) -> Case:
    """A delivery status notification: null MAIL FROM, so SPF checks the HELO name;
    From is the MTA's host name under alpha.example."""
    author = "mail.alpha.example"
    msg = _message(rng, i, f"MAILER-DAEMON@{author}", "Undelivered Mail Returned to Sender")
    if rng.random() < 0.5:
        msg = _sign(doms, rng, msg, "alpha.example")
    ip = "192.0.2.10" if rng.random() < 0.8 else "100.127.9.9"
    return Case(msg, ip, "mail.alpha.example", "", "bounce-null-sender", author)


#: kind -> (weight, builder); weights are how many of every 24 messages are of a kind
KINDS: dict[str, tuple[int, Builder]] = {
    "aligned": (5, _aligned),
    "third-party": (2, _third_party),
    "spf-only": (3, _spf_only),
    "tampered": (2, _tampered),
    "forwarded": (2, _forwarded),
    "mailing-list": (2, _mailing_list),
    "unsigned": (2, _unsigned_spf_fail),
    "two-signatures": (2, _two_signatures),
    "subdomain": (2, _subdomain),
    "intermediate-record": (1, _intermediate),
    "sibling-org": (1, _sibling),
    "bounce-null-sender": (1, _bounce),
}


def _to_lf(message: bytes) -> bytes:
    return message.replace(b"\r\n", b"\n")


def make_corpus(n: int = 240, seed: int = 1, *, tld: str = "example") -> Corpus:
    """``n`` messages (the same ones for the same seed, up to the DKIM keys) and their DNS.

    :param tld: the top-level domain of every name (``example`` by default, RFC 2606).
        Not re-entrant: it is set for the duration of the call.
    """
    global _tld
    rng = random.Random(seed)
    _tld = tld.strip(".").lower()
    try:
        zone, doms = _build_dns()
        schedule = [kind for kind, (weight, _) in KINDS.items() for _ in range(weight)]
        cases: list[Case] = []
        counts: dict[str, int] = {}
        for i in range(n):
            kind = schedule[i % len(schedule)]
            case = KINDS[kind][1](rng, doms, i)
            message = case.message
            if rng.random() < 0.1:  # some arrive with bare LF line endings (a saved message)
                message = _to_lf(message)
            cases.append(Case(message, case.ip, _t(case.helo), _t(case.mail_from), case.kind,
                              _t(case.author)))
            counts[case.kind] = counts.get(case.kind, 0) + 1
    finally:
        _tld = "example"
    return Corpus(cases, zone.data, seed, dict(sorted(counts.items())))


if __name__ == "__main__":  # a look at the corpus
    c = make_corpus()
    print(f"{len(c.cases)} messages, {len(c.dns)} DNS names")
    for k, v in c.kinds.items():
        print(f"  {k:24} {v}")
