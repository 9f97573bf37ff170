"""The public surface: names, import cost, the sans-I/O boundary (DESIGN.md §1, §5)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import mailauth

SRC = Path(mailauth.__file__).parent
# Modules allowed to do I/O: the drivers, adapters, test doubles and the CLI.
IO_MODULES = {"_flow.py", "resolvers.py", "fetchers.py", "testing.py", "__main__.py"}
BANNED = {"dns", "asyncio", "socket", "ssl", "http", "urllib", "smtplib"}


def test_public_names() -> None:
    assert set(mailauth.__all__) >= {
        "Check", "Query", "Answer", "Outcome", "Fetch", "Response", "Status",
        "MailAuthError", "ParseError", "SigningError",
        "check_spf", "SPFResult", "verify_dkim", "sign_dkim", "DKIMResult", "SignatureResult",
    }
    for name in mailauth.__all__:
        assert getattr(mailauth, name) is not None, name
    assert issubclass(mailauth.ParseError, ValueError)
    assert issubclass(mailauth.ParseError, mailauth.MailAuthError)
    assert str(mailauth.Status.PERMERROR) == "permerror"


def test_protocol_modules_import_no_io() -> None:
    offenders = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC)
        if rel.parts[0] == "cli" or (rel.name in IO_MODULES and len(rel.parts) == 1):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{rel}: {n}" for n in names if n.split(".")[0] in BANNED]
    assert offenders == []


def test_import_is_cheap() -> None:
    """`import mailauth` stays under 150 ms (best of three fresh interpreters)."""
    code = ("import time; t = time.perf_counter(); import mailauth; "
            "print(time.perf_counter() - t)")
    times = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                  check=True).stdout) for _ in range(3)]
    assert min(times) < 0.150, times


def test_import_does_not_load_heavy_dependencies() -> None:
    heavy = "('dns', 'cryptography', 'publicsuffix2')"
    code = f"import sys, mailauth; print(' '.join(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
