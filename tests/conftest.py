"""Shared fixtures: where the published vectors are (DESIGN.md §6)."""

from __future__ import annotations

import io
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


class _Pipe(io.RawIOBase):
    """A readable stream that cannot seek, like a pipe or a socket."""

    def __init__(self, data: bytes) -> None:
        self._b = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buf: memoryview) -> int:  # type: ignore[override]
        chunk = self._b.read(len(buf))
        buf[: len(chunk)] = chunk
        return len(chunk)


def unseekable(data: bytes) -> io.BufferedReader:
    """A buffered binary stream over ``data`` that cannot seek (read it once)."""
    return io.BufferedReader(_Pipe(data))


class PrettyPrinter:
    """The part of IPython's pretty printer that ``_repr_pretty_`` uses, recording
    what it is given (the text, with a newline for each break)."""

    def __init__(self) -> None:
        self.out: list[str] = []

    def text(self, text: str) -> None:
        self.out.append(text)

    def break_(self) -> None:
        self.out.append("\n")
