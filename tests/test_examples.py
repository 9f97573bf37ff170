"""The README's first command works on the bundled offline example, as written."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
INSTALL = "python3 -m pip install -e . && "


def readme_commands() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", (REPO / "README.md").read_text(), re.S)
    return [b.strip() for b in blocks[:2]]


def test_readme_has_the_two_commands() -> None:
    main, tests = readme_commands()
    assert main.startswith(INSTALL)
    assert tests == "python3 -m pip install -e '.[test]' && python3 -m pytest"
    assert tests in (REPO / ".ci" / "run").read_text()


def test_readme_main_command_runs_offline_and_passes() -> None:
    main, _ = readme_commands()
    command = main.removeprefix(INSTALL)  # the package is installed for the test run
    assert shutil.which("mailauth"), "the mailauth console script is installed"
    out = subprocess.run(["bash", "-c", command], cwd=REPO, capture_output=True, text=True,
                         timeout=60, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("dmarc=pass: aligned pass: SPF example.org, DKIM d=example.org")
    rows = {" ".join(line.split()[:2]): line.split()[2] for line in lines[2:9] if line.strip()}
    assert rows == {"SPF pass": "example.org", "SPF helo": "pass", "DKIM pass": "d=example.org",
                    "DMARC pass": "From", "iprev pass": "198.51.100.7"}, rows
    assert sum(line.split()[:2] == ["DKIM", "pass"] for line in lines) == 2
    assert "Authentication-Results: mx.example.net; spf=pass" in out.stdout
    assert "dmarc=pass (p=reject" in out.stdout
