"""Every Python example in README.md and docs/ runs as written, from the repository
root, and shows the output it says it shows; mypy --strict accepts them all.

Conventions in the Markdown files:

- a ```` ```python ```` block is run in a fresh interpreter with the repository root
  as its working directory;
- a ```` ```text ```` block right after it is the output the example prints, compared
  exactly (trailing spaces aside);
- a block that cannot run offline (it asks the system's resolver or a nameserver, or
  is a fragment of a test) is preceded by ``<!-- not run: why -->``; the others are
  all type-checked together.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

_BLOCK = re.compile(r"(?P<mark><!-- not run: [^>]*-->\s*\n)?```python\n(?P<code>.*?)```\n"
                    r"(?:\s*```text\n(?P<out>.*?)```\n)?", re.S)


@dataclass(frozen=True)
class Example:
    path: Path
    line: int
    code: str
    output: str | None
    runnable: bool

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"


def examples() -> list[Example]:
    out = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for m in _BLOCK.finditer(text):
            line = text.count("\n", 0, m.start("code"))
            out.append(Example(path, line, m["code"], m["out"], m["mark"] is None))
    return out


EXAMPLES = examples()


def test_there_are_examples_to_run() -> None:
    assert sum(e.runnable for e in EXAMPLES) >= 5
    assert any(e.path.name == "README.md" for e in EXAMPLES)


@pytest.mark.parametrize("example", [e for e in EXAMPLES if e.runnable], ids=lambda e: e.id)
def test_example_runs_and_prints_what_it_shows(example: Example) -> None:
    env = {**os.environ, "PYTHONWARNINGS": "error::ResourceWarning", "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run([sys.executable, "-X", "dev", "-c", example.code], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"{example.id} failed:\n{done.stderr}"
    assert "ResourceWarning" not in done.stderr, f"{example.id} leaves a file open"
    if example.output is not None:
        got = "\n".join(line.rstrip() for line in done.stdout.strip().splitlines())
        want = "\n".join(line.rstrip() for line in example.output.strip().splitlines())
        assert got == want, f"{example.id} printed:\n{done.stdout}"


def test_examples_type_check(tmp_path: Path) -> None:
    for i, example in enumerate(e for e in EXAMPLES if e.runnable):
        header = f"# {example.id}\n"
        (tmp_path / f"example_{i}.py").write_text(header + textwrap.dedent(example.code))
    done = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental",
                           "--python-version", "3.11", "--follow-imports", "silent", str(tmp_path)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
