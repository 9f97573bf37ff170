"""Shared fixtures: where the published vectors are (DESIGN.md §6)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
OWN_VECTORS = REPO / "vectors"


def shared_vectors_dir() -> Path:
    """../shared/vectors beside the repository, or $MAILAUTH_SHARED_VECTORS."""
    env = os.environ.get("MAILAUTH_SHARED_VECTORS")
    return Path(env) if env else REPO.parent / "shared" / "vectors"


def shared_vector(*parts: str) -> Path:
    """A path under the shared vectors; skips the calling test when it is absent."""
    path = shared_vectors_dir().joinpath(*parts)
    if not path.exists():
        if os.environ.get("MAILAUTH_REQUIRE_VECTORS"):
            raise FileNotFoundError(f"shared vectors required but missing: {path}")
        pytest.skip(f"published vectors not found at {path} "
                    "(set MAILAUTH_SHARED_VECTORS to the shared/vectors folder)")
    return path


@pytest.fixture(scope="session")
def shared_vectors() -> Path:
    return shared_vector()
