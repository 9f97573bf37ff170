"""The example notebook runs in a real kernel: ``.run()`` and top-level ``await`` in
cells, and the rich display of SPF and DKIM results (nbclient, a test extra)."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="nbformat is in the test extra")
nbclient = pytest.importorskip("nbclient", reason="nbclient is in the test extra")

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = REPO / "examples" / "verify.ipynb"


def test_the_example_notebook_runs_and_shows_rich_results() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(REPO)}})
    client.execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    for cell in code:
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert errors == [], errors
    auth_out = code[0].outputs[0]
    assert auth_out.output_type == "execute_result"
    auth_html = auth_out.data["text/html"]
    assert "dmarc" in auth_html and ">pass<" in auth_html and ">none<" in auth_html
    plain = auth_out.data["text/plain"]
    assert plain.startswith("dmarc=pass: aligned pass: DKIM d=example.org s=ex2026"), plain
    assert "- SPF (no envelope): none" in plain
    lines = "".join(o.get("text", "") for o in code[1].outputs).splitlines()
    assert lines[0] == ("DKIM d=example.org s=ex2026 passed and is the From domain itself, "
                        "aligned (relaxed)")
    assert lines[2].startswith("Authentication-Results: mx.example.net; spf=none")
    code = code[1:]
    spf_out, dkim_out = (code[1].outputs[0], code[2].outputs[0])
    assert spf_out.output_type == dkim_out.output_type == "execute_result"
    spf_html = spf_out.data["text/html"]
    assert "spf" in spf_html and ">pass<" in spf_html and "<details>" in spf_html
    dkim_html = dkim_out.data["text/html"]
    assert ">pass<" in dkim_html and "ex2026" in dkim_html and "rsa2026" in dkim_html
    # IPython's text display is short and readable, not a dataclass repr
    assert dkim_out.data["text/plain"].startswith("dkim=pass")
    assert "\\r\\n" not in dkim_out.data["text/plain"]
    printed = "".join(o.get("text", "") for o in code[3].outputs)
    assert printed.splitlines()[0].startswith("spf=pass")
    assert printed.splitlines()[1].startswith("dkim=pass")
