"""DMARC reports: aggregate (RFC 9990) and failure (RFC 9991) reports.

Aggregate reports: :func:`parse_aggregate` reads a received report (XML, gzip, zip, or
the whole mail message) into an :class:`AggregateReport`, refusing entity expansion,
external entities and archive bombs within stated limits.
"""

from __future__ import annotations

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
    "NAMESPACE",
    "AggregateReport",
    "DKIMAuthResult",
    "PolicyOverride",
    "PublishedPolicy",
    "ReportFormat",
    "ReportRecord",
    "SPFAuthResult",
]
