"""mailauth.reports.to_rows and to_dataframe: records as plain rows for notebooks."""

from __future__ import annotations

import builtins
import csv
import io
import json
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given, settings

from mailauth.reports import ROW_COLUMNS, to_dataframe, to_rows
from test_reports_summary import (
    FORWARDED,
    GOOD,
    SPOOF,
    THIRD_PARTY,
    make_report,
    record,
    reports,
    sample_reports,
)


def test_one_row_per_record_with_the_metadata() -> None:
    reps = sample_reports()
    rows = to_rows(reps)
    assert len(rows) == sum(len(r.records) for r in reps) == 7
    assert all(tuple(row) == ROW_COLUMNS for row in rows)
    first = rows[0]
    assert first["org_name"] == "google.com" and first["report_id"] == "g1"
    assert first["policy_domain"] == "example.org" and first["policy_p"] == "reject"
    assert isinstance(first["date_begin"], datetime)
    assert first["source_ip"] == "192.0.2.1" and first["count"] == 100
    assert first["dmarc"] == "pass" and first["cause"] == "ok"
    third = next(r for r in rows if r["source_ip"] == "203.0.113.5")
    assert third == {**third, "dkim": "fail", "spf": "fail", "dmarc": "fail",
                     "dkim_domains": "esp.example", "dkim_results": "pass",
                     "dkim_selectors": "sel", "dkim_auth": True,
                     "spf_domains": "bounces.esp.example", "spf_scopes": "mfrom",
                     "spf_auth": True, "cause": "third_party", "disposition": "reject"}
    spoof = next(r for r in rows if r["source_ip"] == "203.0.113.66")
    assert spoof["dkim_domains"] == "" and spoof["dkim_auth"] is False
    assert spoof["cause"] == "spoofer"


def test_rows_are_plain_values() -> None:
    rows = to_rows(make_report([GOOD, FORWARDED, THIRD_PARTY, SPOOF,
                                record(reasons=("forwarded", "local_policy"))]))
    for row in rows:
        for value in row.values():
            assert value is None or isinstance(value, str | int | bool | datetime)
    assert rows[-1]["override_reasons"] == "forwarded,local_policy"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=ROW_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    assert out.getvalue().count("\n") == 6
    json.dumps(rows, default=str)


def test_rows_see_the_other_reports_of_a_source() -> None:
    broken = record("192.0.2.1", 4, dkim="fail", spf="fail", dkim_results=(),
                    spf_results=(("example.org", "softfail"),))
    assert to_rows(make_report([broken]))[0]["cause"] == "spoofer"
    rows = to_rows([make_report([GOOD]), make_report([broken])])
    assert rows[1]["cause"] == "unauthenticated"


def test_wrong_input() -> None:
    assert to_rows([]) == []
    with pytest.raises(TypeError):
        to_rows(b"<feedback/>")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        to_rows([{"not": "a report"}])  # type: ignore[list-item]


def test_dataframe() -> None:
    pd = pytest.importorskip("pandas", reason="pandas is an optional extra")
    reps = sample_reports()
    frame = to_dataframe(reps)
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == list(ROW_COLUMNS)
    assert len(frame) == 7
    assert int(frame["count"].sum()) == sum(r.count for rep in reps for r in rep.records)
    by_cause = frame.groupby("cause")["count"].sum().to_dict()
    assert by_cause == {"ok": 250, "forwarder": 10, "third_party": 30, "spoofer": 7,
                        "spf_only": 5}
    empty = to_dataframe([])
    assert len(empty) == 0 and list(empty.columns) == list(ROW_COLUMNS)


def test_dataframe_without_pandas_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch
                                                      ) -> None:
    real_import = builtins.__import__

    def no_pandas(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError("No module named 'pandas'", name="pandas")
        return real_import(name, *args, **kwargs)

    import importlib
    import sys

    monkeypatch.delitem(sys.modules, "pandas", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_pandas)
    real_import_module = importlib.import_module

    def no_pandas_module(name: str, package: str | None = None) -> Any:
        if name == "pandas":
            raise ModuleNotFoundError("No module named 'pandas'", name="pandas")
        return real_import_module(name, package)

    monkeypatch.setattr(importlib, "import_module", no_pandas_module)
    with pytest.raises(ModuleNotFoundError, match=r"pip install mailauth\[pandas\]"):
        to_dataframe(sample_reports())
    assert len(to_rows(sample_reports())) == 7  # rows never need pandas


@given(reports())
@settings(max_examples=100, deadline=None)
def test_rows_add_up_to_the_reports(reps: Any) -> None:
    rows = to_rows(reps)
    assert len(rows) == sum(len(r.records) for r in reps)
    counts = [row["count"] for row in rows]
    assert all(isinstance(c, int) for c in counts)
    assert sum(c for c in counts if isinstance(c, int)) == \
        sum(r.count for rep in reps for r in rep.records)
    passed = [row["count"] for row in rows if row["dmarc"] == "pass"]
    assert sum(c for c in passed if isinstance(c, int)) == \
        sum(r.count for rep in reps for r in rep.records if r.dmarc_pass)
