"""Body work stays off the event loop: verifying a big file under ``arun()`` leaves
the loop free for the milter's other connections (DESIGN.md §1)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import mailauth
from mailauth.dkim import generate_key
from mailauth.testing import FakeResolver

BODY_MB = 64


def _big_signed_message(path: Path) -> FakeResolver:
    key = generate_key("ed25519")
    line = b"The quick brown fox jumps over the lazy dog, again and again.  \r\n"
    body = line * (BODY_MB * (1 << 20) // len(line))
    message = (b"From: alice@example.org\r\nTo: bob@example.net\r\nSubject: big\r\n"
               b"Date: Thu, 03 Dec 2026 00:00:00 +0000\r\n\r\n") + body
    header = mailauth.sign_dkim(message, domain="example.org", selector="big",
                                key=key.private_key_pem)
    path.write_bytes(header + message)
    return FakeResolver({"big._domainkey.example.org": {"TXT": [key.txt_value]}})


def test_verifying_a_64_mb_file_never_stalls_the_loop(tmp_path: Path) -> None:
    path = tmp_path / "big.eml"
    dns = _big_signed_message(path)

    async def main() -> tuple[mailauth.DKIMResult, float, int]:
        worst = 0.0
        ticks = 0
        stop = asyncio.Event()

        async def ticker() -> None:
            nonlocal worst, ticks
            while not stop.is_set():
                t0 = time.monotonic()
                await asyncio.sleep(0.005)
                worst = max(worst, time.monotonic() - t0)
                ticks += 1

        task = asyncio.create_task(ticker())
        await asyncio.sleep(0.02)
        with path.open("rb") as f:
            result = await mailauth.verify_dkim(f).arun(dns)
        stop.set()
        await task
        return result, worst, ticks

    result, worst, ticks = asyncio.run(main())
    assert str(result.status) == "pass", result.signatures[0].reason
    assert ticks > 10  # the ticker ran throughout
    assert worst < 0.060, f"the event loop stalled for {worst * 1000:.0f} ms"
