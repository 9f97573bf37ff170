"""Aggregate report records as plain rows, for notebooks and spreadsheets.

:func:`to_rows` gives one ``dict`` per record with the report's metadata repeated on
each, every value a ``str``, ``int``, ``bool``, ``datetime`` or None, so that
``csv.DictWriter``, ``json`` and pandas take the rows as they are.
:func:`to_dataframe` makes the pandas DataFrame in one call when pandas is installed
(``pip install mailauth[pandas]``); mailauth never needs it otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ._model import AggregateReport

__all__ = ["ROW_COLUMNS", "to_dataframe", "to_rows"]

#: The keys of every row, in order.
ROW_COLUMNS: tuple[str, ...] = (
    "org_name", "email", "report_id", "date_begin", "date_end", "format",
    "policy_domain", "policy_p", "policy_sp", "policy_np", "policy_adkim", "policy_aspf",
    "policy_pct", "policy_testing",
    "source_ip", "count", "disposition", "dkim", "spf", "dmarc", "header_from",
    "envelope_from", "envelope_to", "dkim_domains", "dkim_selectors", "dkim_results",
    "dkim_auth", "spf_domains", "spf_scopes", "spf_results", "spf_auth",
    "override_reasons", "override_comments", "cause")

Row = dict[str, str | int | bool | datetime | None]


def _joined(values: Iterable[str | None]) -> str:
    return ",".join(v or "" for v in values)


def to_rows(reports: Iterable[AggregateReport] | AggregateReport) -> list[Row]:
    """One plain ``dict`` per record of every report, keys as :data:`ROW_COLUMNS`.

    The report's metadata and published policy are repeated on each row; the record's
    own DKIM and SPF results are joined with commas in their order (``dkim_domains``,
    ``dkim_selectors`` and ``dkim_results`` line up); ``dkim``/``spf`` are the
    policy-evaluated (aligned) results, ``dkim_auth``/``spf_auth`` whether any
    signature or the SPF check passed at all, ``dmarc`` is ``"pass"`` or ``"fail"``,
    and ``cause`` the likely cause of :func:`~mailauth.reports.classify` (seeing
    whether other mail from the same source passes, in any of the reports).

    :param reports: :class:`~mailauth.reports.AggregateReport` values (or one).
    """
    from ._summary import _listed, _passing_sources, classify

    listed = _listed(reports, "to_rows")
    passing = _passing_sources(listed)
    rows: list[Row] = []
    for report in listed:
        pol = report.policy
        meta: Row = {
            "org_name": report.org_name, "email": report.email,
            "report_id": report.report_id, "date_begin": report.date_begin,
            "date_end": report.date_end, "format": report.format,
            "policy_domain": pol.domain, "policy_p": pol.p, "policy_sp": pol.sp,
            "policy_np": pol.np, "policy_adkim": pol.adkim, "policy_aspf": pol.aspf,
            "policy_pct": pol.pct, "policy_testing": pol.testing}
        for record in report.records:
            row = dict(meta)
            row.update({
                "source_ip": str(record.source_ip), "count": record.count,
                "disposition": record.disposition, "dkim": record.dkim,
                "spf": record.spf, "dmarc": "pass" if record.dmarc_pass else "fail",
                "header_from": record.header_from, "envelope_from": record.envelope_from,
                "envelope_to": record.envelope_to,
                "dkim_domains": _joined(d.domain for d in record.dkim_results),
                "dkim_selectors": _joined(d.selector for d in record.dkim_results),
                "dkim_results": _joined(d.result for d in record.dkim_results),
                "dkim_auth": any(d.result == "pass" for d in record.dkim_results),
                "spf_domains": _joined(s.domain for s in record.spf_results),
                "spf_scopes": _joined(s.scope for s in record.spf_results),
                "spf_results": _joined(s.result for s in record.spf_results),
                "spf_auth": any(s.result == "pass" for s in record.spf_results),
                "override_reasons": _joined(r.type for r in record.reasons),
                "override_comments": _joined(r.comment for r in record.reasons),
                "cause": classify(record,
                                  source_passes=record.source_ip in passing)})
            rows.append(row)
    return rows


def to_dataframe(reports: Iterable[AggregateReport] | AggregateReport) -> Any:
    """The rows of :func:`to_rows` as a ``pandas.DataFrame``, columns as
    :data:`ROW_COLUMNS` (also when there are no rows).

    :raises ModuleNotFoundError: when pandas is not installed, saying how to get it.
    """
    import importlib

    try:
        pd = importlib.import_module("pandas")
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            "to_dataframe() needs pandas, an optional extra: pip install "
            "mailauth[pandas] (to_rows() gives the same rows as plain dicts)",
            name=exc.name) from None
    rows: list[Any] = to_rows(reports)
    return pd.DataFrame.from_records(rows, columns=list(ROW_COLUMNS))
