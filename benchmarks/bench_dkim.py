"""DKIM verification speed: mailauth vs dkimpy vs the crypto floor, in one run.

Corpus: generated messages (2 KB-200 KB plus a few of 1 MB; CRLF, LF and mixed line
endings; RSA-2048 and Ed25519; relaxed and simple; some with l=), signed by mailauth.

- mailauth: ``verify_dkim(msg).run(FakeResolver)`` per message (parsing included).
- dkimpy:   ``dkim.verify(msg, dnsfunc=...)`` per message.
- floor:    per signature, SHA-256 of the raw body and of the raw header section plus
            one public-key verification, done directly with hashlib/cryptography on
            preloaded keys: what any verifier must at least spend.

The three are timed in turn in each of ``--repeat`` rounds and each keeps its best
round, so a machine that speeds up or slows down during the run moves all three alike.

Run: ``python benchmarks/bench_dkim.py [--messages 240] [--repeat 7] [--seed 1]``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import random
import sys
import time
from collections.abc import Callable
from typing import Any

import dkim as dkimpy
from _text import body_text
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from mailauth import Status
from mailauth.dkim import generate_key, parse_signature, sign_dkim, verify_dkim
from mailauth.testing import FakeResolver

DOMAIN = "bench.example"
def make_body(rng: random.Random, size: int) -> bytes:
    return body_text(rng, size, double_spaces=True).encode()


def make_corpus(n: int, seed: int) -> tuple[list[bytes], FakeResolver, dict[str, bytes]]:
    rng = random.Random(seed)
    keys = {"rsa": generate_key("rsa", bits=2048), "ed": generate_key("ed25519")}
    records = {f"{sel}._domainkey.{DOMAIN}": {"TXT": [k.txt_value]} for sel, k in keys.items()}
    corpus: list[bytes] = []
    for i in range(n):
        size = 1_100_000 if i % 50 == 49 else int(2000 * (100 ** rng.random()))  # 2K-200K
        body = make_body(rng, size)
        headers = (f"From: Sender {i} <s{i}@{DOMAIN}>\r\nTo: rcpt@example.net\r\n"
                   f"Subject: message number {i}   with  spaces\r\n"
                   f"Date: Mon, 1 Jan 2024 00:00:{i % 60:02d} +0000\r\n"
                   f"Message-ID: <{i}@{DOMAIN}>\r\nMIME-Version: 1.0\r\n"
                   "Content-Type: text/plain; charset=utf-8\r\n").encode()
        message = headers + b"\r\n" + body
        sel = "rsa" if i % 2 else "ed"
        canon = rng.choice(["relaxed/relaxed", "simple/simple", "relaxed/simple"])
        header = sign_dkim(message, domain=DOMAIN, selector=sel,
                           key=keys[sel].private_key_pem, canonicalization=canon,
                           body_length=(i % 10 == 0), timestamp=1_700_000_000)
        signed = header + message
        ending = rng.random()
        if ending < 0.2:
            signed = signed.replace(b"\r\n", b"\n")
        elif ending < 0.3:
            half = len(signed) // 2
            signed = signed[:half] + signed[half:].replace(b"\r\n", b"\n")
        corpus.append(signed)
    txt = {f"{sel}._domainkey.{DOMAIN}.": k.txt_value.encode() for sel, k in keys.items()}
    return corpus, FakeResolver(records), txt


def run_mailauth(corpus: list[bytes], resolver: FakeResolver) -> int:
    ok = 0
    for m in corpus:
        ok += verify_dkim(m, now=1_700_000_100).run(resolver).status is Status.PASS
    return ok


def run_dkimpy(corpus: list[bytes], txt: dict[str, bytes]) -> int:
    def dns(name: bytes | str, timeout: int = 5) -> bytes:
        key = name.decode() if isinstance(name, bytes) else name
        return txt[key if key.endswith(".") else key + "."]

    return sum(bool(dkimpy.verify(m, dnsfunc=dns)) for m in corpus)


def floor_inputs(corpus: list[bytes], txt: dict[str, bytes]) -> list[tuple[Any, ...]]:
    keys = {}
    for name, value in txt.items():
        p = value.decode().split("p=")[1]
        raw = base64.b64decode(p)
        keys[name.split(".")[0]] = ed25519.Ed25519PublicKey.from_public_bytes(raw) \
            if len(raw) == 32 else serialization.load_der_public_key(raw)
    out = []
    for m in corpus:
        sep = m.find(b"\r\n\r\n")
        sep = m.find(b"\n\n") if sep < 0 else sep
        first = m.split(b"\nFrom:", 1)[0]
        sig = parse_signature(first.split(b":", 1)[1])
        out.append((m[:sep], m[sep:], keys[sig.selector], sig.signature))
    return out


def run_floor(inputs: list[tuple[object, ...]]) -> int:
    ok = 0
    for headers, body, key, signature in inputs:
        hashlib.sha256(body).digest()  # type: ignore[arg-type]
        digest = hashlib.sha256(headers).digest()  # type: ignore[arg-type]
        try:
            if isinstance(key, rsa.RSAPublicKey):
                from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
                key.verify(signature, digest, padding.PKCS1v15(),  # type: ignore[arg-type]
                           Prehashed(hashes.SHA256()))
            else:
                key.verify(signature, digest)  # type: ignore[attr-defined]
        except InvalidSignature:
            ok += 1  # a wrong digest fails: the cost is what is measured
    return ok


def best_of(repeat: int, fn: Callable[[], int]) -> tuple[float, int]:
    best = float("inf")
    result = 0
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best, result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=240)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    corpus, resolver, txt = make_corpus(args.messages, args.seed)
    total = sum(map(len, corpus))
    print(f"corpus: {len(corpus)} messages, {total / 1e6:.1f} MB, "
          f"{sum(len(m) >= 1_000_000 for m in corpus)} of 1 MB+")
    inputs = floor_inputs(corpus, txt)
    # The three are timed in turn within each round, so that a machine getting faster
    # or slower during the run moves all three alike; each keeps its best round.
    t_ma = t_dp = t_fl = float("inf")
    ok_ma = ok_dp = 0
    for _ in range(args.repeat):
        t, ok_ma = best_of(1, lambda: run_mailauth(corpus, resolver))
        t_ma = min(t_ma, t)
        t, ok_dp = best_of(1, lambda: run_dkimpy(corpus, txt))
        t_dp = min(t_dp, t)
        t, _ = best_of(1, lambda: run_floor(inputs))
        t_fl = min(t_fl, t)
    n = len(corpus)
    print(f"mailauth : {n / t_ma:9.1f} msg/s  ({t_ma:.3f} s, {ok_ma}/{n} pass)")
    print(f"dkimpy   : {n / t_dp:9.1f} msg/s  ({t_dp:.3f} s, {ok_dp}/{n} pass)")
    print(f"floor    : {n / t_fl:9.1f} msg/s  ({t_fl:.3f} s)")
    print(f"mailauth vs dkimpy : {t_dp / t_ma:.2f}x faster (target >= 5x)")
    print(f"mailauth vs floor  : {t_ma / t_fl:.2f}x the floor's time (target <= 3x)")
    return 0 if ok_ma == n == ok_dp else 1


if __name__ == "__main__":
    sys.exit(main())
