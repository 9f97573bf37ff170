"""DMARC reports: aggregate (RFC 9990) and failure (RFC 9991) reports.

Aggregate reports: :func:`parse_aggregate` reads a received report (XML, gzip, zip, or
the whole mail message) into an :class:`AggregateReport`, refusing entity expansion,
external entities and archive bombs within stated limits.
"""

from __future__ import annotations

from ._aggregate import parse_aggregate
from ._build import (
    ReportBuilder,
    RuaAuthorization,
    RuaDestination,
    authorize_rua,
    authorize_rua_flow,
    parse_rua,
    published_policy,
    record_from_results,
)
from ._containers import (
    DEFAULT_MAX_INFLATED,
    DEFAULT_MAX_NESTING,
    DEFAULT_MAX_RECORDS,
    DEFAULT_MAX_SIZE,
    DEFAULT_MAX_ZIP_MEMBERS,
)
from ._files import Progress, parse_many
from ._model import (
    NAMESPACE,
    AggregateReport,
    DKIMAuthResult,
    PolicyOverride,
    PublishedPolicy,
    ReportFormat,
    ReportRecord,
    SPFAuthResult,
)
from ._summary import (
    CAUSES,
    DEFAULT_MAX_FAILURE_BYTES,
    ROW_COLUMNS,
    Cause,
    FailureReport,
    Finding,
    Summary,
    Tally,
    build_failure_report,
    classify,
    explain,
    parse_failure,
    render_html,
    resolve_reverse_names,
    reverse_names_flow,
    summarize,
    to_dataframe,
    to_rows,
)

__all__ = [
    "CAUSES",
    "DEFAULT_MAX_FAILURE_BYTES",
    "DEFAULT_MAX_INFLATED",
    "DEFAULT_MAX_NESTING",
    "DEFAULT_MAX_RECORDS",
    "DEFAULT_MAX_SIZE",
    "DEFAULT_MAX_ZIP_MEMBERS",
    "NAMESPACE",
    "ROW_COLUMNS",
    "AggregateReport",
    "Cause",
    "DKIMAuthResult",
    "FailureReport",
    "Finding",
    "PolicyOverride",
    "Progress",
    "PublishedPolicy",
    "ReportBuilder",
    "ReportFormat",
    "ReportRecord",
    "RuaAuthorization",
    "RuaDestination",
    "SPFAuthResult",
    "Summary",
    "Tally",
    "authorize_rua",
    "authorize_rua_flow",
    "build_failure_report",
    "classify",
    "explain",
    "parse_aggregate",
    "parse_failure",
    "parse_many",
    "parse_rua",
    "published_policy",
    "record_from_results",
    "render_html",
    "resolve_reverse_names",
    "reverse_names_flow",
    "summarize",
    "to_dataframe",
    "to_rows",
]
