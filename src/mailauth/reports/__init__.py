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

__all__ = [
    "DEFAULT_MAX_INFLATED",
    "DEFAULT_MAX_NESTING",
    "DEFAULT_MAX_RECORDS",
    "DEFAULT_MAX_SIZE",
    "DEFAULT_MAX_ZIP_MEMBERS",
    "NAMESPACE",
    "AggregateReport",
    "DKIMAuthResult",
    "PolicyOverride",
    "PublishedPolicy",
    "ReportBuilder",
    "ReportFormat",
    "ReportRecord",
    "RuaAuthorization",
    "RuaDestination",
    "SPFAuthResult",
    "authorize_rua",
    "authorize_rua_flow",
    "parse_aggregate",
    "parse_rua",
    "published_policy",
    "record_from_results",
]
