"""Body text for the benchmarks' generated messages: lines of filler words with the
whitespace canonicalization must handle (trailing spaces, indented and empty lines)."""

from __future__ import annotations

import random
from collections.abc import Sequence

WORDS = ["lorem", "ipsum", "dolor", "sit", "amet,", "consectetur", "adipiscing", "elit.",
         "sed", "do", "eiusmod", "tempor", "incididunt", "ut", "labore", "et", "dolore",
         "magna", "aliqua.", "https://example.net/x?y=1"]


def body_text(rng: random.Random, size: int, *, words: Sequence[str] = WORDS,
              double_spaces: bool = False) -> str:
    """At least ``size`` characters of CRLF-ended lines of ``words``. With
    ``double_spaces``, some lines get two spaces after a full stop (and a few more
    lines are left empty)."""
    lines: list[str] = []
    total = 0
    while total < size:
        n = rng.randint(0, 14)
        line = " ".join(rng.choice(words) for _ in range(n))
        r = rng.random()
        if r < 0.05:
            line += "  "            # trailing whitespace
        elif r < 0.10:
            line = "\t" + line      # an indented line
        elif double_spaces and r < 0.15:
            line = line.replace(". ", ".  ")  # two spaces after a full stop
        elif r < (0.20 if double_spaces else 0.15):
            line = ""
        lines.append(line)
        total += len(line) + 2
    return "\r\n".join(lines) + "\r\n"
