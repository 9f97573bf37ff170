"""positional_builder, and the field orders its hot-path callers rely on."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pytest

from mailauth._build import positional_builder
from mailauth._flow import Answer
from mailauth._message import HeaderField
from mailauth.dkim import DKIMResult, Signature, SignatureResult
from mailauth.spf import SPFResult


@dataclass(frozen=True, slots=True)
class _Sample:
    a: int
    b: str = "x"
    c: tuple[int, ...] = field(default=(), compare=False)


def test_builds_an_equal_frozen_object() -> None:
    build = positional_builder(_Sample)
    made = build(1, "y", (2,))
    assert made == _Sample(1, "y", (2,))
    assert (made.a, made.b, made.c) == (1, "y", (2,))
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.a = 2  # type: ignore[misc]
    with pytest.raises(TypeError):
        build(1, "y")  # every field is required, in order


# Callers pass every field positionally (spf/_result.make_result, dkim/_signature,
# dkim/_verify, _message, testing). A reordered or added field must fail here, so
# that those calls are updated with it.
@pytest.mark.parametrize(("cls", "names"), [
    (HeaderField, ("name", "raw", "data", "lname")),
    (Answer, ("query", "outcome", "records", "ttl", "authentic", "reason",
              "canonical_name")),
    (Signature, ("algorithm", "key_type", "hash_name", "signature", "body_hash",
                 "header_canon", "body_canon", "domain", "headers", "identity", "length",
                 "query_methods", "selector", "timestamp", "expiration", "copied_headers",
                 "tags")),
    (DKIMResult, ("status", "reason", "signatures", "ignored_signatures", "warnings")),
    (SignatureResult, ("status", "code", "reason", "domain", "selector", "algorithm",
                       "canonicalization", "headers_signed", "identity",
                       "body_hash_expected", "body_hash_computed", "body_length",
                       "body_bytes_unsigned", "body_bytes_appended", "key_type",
                       "key_bits", "key_record", "authentic", "testing", "timestamp",
                       "expiration", "warnings", "header_field")),
    (SPFResult, ("status", "identity", "domain", "sender", "ip", "explanation", "matched",
                 "reason", "problem", "lookups", "void_lookups", "max_lookups",
                 "max_void_lookups", "trace", "helo_domain", "receiver", "record", "helo")),
])
def test_field_orders_the_builders_rely_on(cls: type, names: tuple[str, ...]) -> None:
    assert tuple(f.name for f in dataclasses.fields(cls)) == names
