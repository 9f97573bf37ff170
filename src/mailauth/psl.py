"""The Public Suffix List for RFC 7489's organizational domain, read at the edge.

RFC 7489 §3.2 finds a name's organizational domain with the Public Suffix List. The
list changes every week; an old copy is wrong in the way that matters: a suffix added
since (``pages.dev``, 2020) is missing, so ``a.b.pages.dev`` and ``c.pages.dev`` would
be one organization and align with each other.

Protocol code never reads files (docs/architecture.md). This module is the edge that does:
:func:`load_public_suffix_list` reads a list and returns a :class:`PublicSuffixList`,
a value the protocol code is handed (``mailauth._domain.organizational_domain_psl(name,
psl=...)``). The list comes from, in this order:

1. the file the caller names (``load_public_suffix_list("public_suffix_list.dat")``);
2. the ``publicsuffixlist`` package (``pip install 'mailauth[psl]'``), which ships the
   current ``public_suffix_list.dat`` and is released again whenever the list changes;
3. publicsuffix2's bundled copy of December 2019, with a
   :class:`StalePublicSuffixListWarning`.

publicsuffix2 does the parsing and the lookup (its trie, wildcard and exception rules);
the rules are turned into A-labels here with IDNA 2008, as every name is in mailauth
(publicsuffix2's own conversion is Python's IDNA 2003 codec).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ._domain import _label_to_ascii, normalize_domain

__all__ = [
    "PublicSuffixList",
    "StalePublicSuffixListWarning",
    "default_public_suffix_list",
    "load_public_suffix_list",
]

_DATA_FILE = "public_suffix_list.dat"


class StalePublicSuffixListWarning(UserWarning):
    """Only publicsuffix2's bundled list of December 2019 is available: suffixes added
    since then are missing, so names under them look like one organization."""


@dataclass(frozen=True, slots=True, eq=False)
class PublicSuffixList:
    """A parsed Public Suffix List (both its ICANN and private sections).

    :ivar source: where it was read: a path, ``"publicsuffixlist 1.1.2.20261023"``, or
        ``"publicsuffix2 2.20191221 (bundled)"``.
    :ivar version: the list's own ``// VERSION:`` line (``"2026-10-22_08-36-41_UTC"``),
        or ``""`` when it has none.
    """

    source: str
    version: str
    _lookup: Any = field(repr=False)

    @classmethod
    def from_lines(cls, lines: Iterable[str], *, source: str = "<lines>") -> PublicSuffixList:
        """Parse the list's text (one rule a line; ``//`` comments). No I/O."""
        import publicsuffix2

        version = ""
        rules = []
        for raw in lines:
            line = raw.strip()
            if line.startswith("//"):
                if not version and line[2:].strip().startswith("VERSION:"):
                    version = line[2:].strip()[len("VERSION:"):].strip()
                continue
            if line:
                rule = _rule_to_ascii(line.split()[0])
                if rule is not None:
                    rules.append(rule)
        return cls(source, version, publicsuffix2.PublicSuffixList(rules, idna=False))

    def public_suffix(self, name: str) -> str:
        """The public suffix of a name by the PSL algorithm: wildcard and exception
        rules apply, and a name under no rule falls under the implicit ``*`` rule."""
        domain = normalize_domain(name)
        return str(self._lookup.get_tld(domain, wildcard=True, strict=False)
                   or domain.rsplit(".", 1)[-1])

    def organizational_domain(self, name: str) -> str:
        """The public suffix plus one label (RFC 7489 §3.2); a name that is itself a
        public suffix is its own organizational domain."""
        domain = normalize_domain(name)
        suffix = self.public_suffix(domain)
        if domain == suffix or not domain.endswith("." + suffix):
            return domain
        head = domain[: -len(suffix) - 1]
        return f"{head.rsplit('.', 1)[-1]}.{suffix}"


def _rule_to_ascii(rule: str) -> str | None:
    """A rule in A-labels, lower case; None for a rule IDNA 2008 cannot encode (no
    A-label name can match it)."""
    if rule.isascii():
        return rule.lower()
    negated = rule.startswith("!")
    labels = []
    for label in rule.removeprefix("!").split("."):
        try:
            labels.append(label if label == "*" else _label_to_ascii(label))
        except ValueError:
            return None
    return ("!" if negated else "") + ".".join(labels)


def _read_lines(path: str) -> list[str]:
    with open(path, encoding="utf-8") as f:  # the edge: the one place the list is read
        return f.readlines()


def _packaged_list() -> tuple[str, str] | None:
    """The path and the source of the ``publicsuffixlist`` package's copy, if installed."""
    spec = importlib.util.find_spec("publicsuffixlist")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = os.path.join(folder, _DATA_FILE)
        if os.path.isfile(path):
            try:
                version = importlib.metadata.version("publicsuffixlist")
            except importlib.metadata.PackageNotFoundError:
                version = "(version unknown)"
            return path, f"publicsuffixlist {version}"
    return None


def load_public_suffix_list(path: str | os.PathLike[str] | None = None) -> PublicSuffixList:
    """Read the Public Suffix List.

    :param path: a ``public_suffix_list.dat`` file (e.g. one your system keeps current).
        Without one, the ``publicsuffixlist`` package's copy (``mailauth[psl]``), else
        publicsuffix2's bundled copy of 2019 with a :class:`StalePublicSuffixListWarning`.
    :raises OSError: when ``path`` cannot be read.

    Each call reads the file again: a long-running program reloads the list by calling
    it again, and hands the new value on.
    """
    if path is not None:
        name = os.fspath(path)
        return PublicSuffixList.from_lines(_read_lines(name), source=name)
    packaged = _packaged_list()
    if packaged is not None:
        return PublicSuffixList.from_lines(_read_lines(packaged[0]), source=packaged[1])
    import publicsuffix2

    warnings.warn(
        "mailauth: only publicsuffix2's Public Suffix List of December 2019 is available; "
        "suffixes added since are missing (a.b.pages.dev would be one organization with "
        "pages.dev), which makes RFC 7489 alignment wrong for them. Install a current "
        "list with `pip install 'mailauth[psl]'`, or pass psl_file= a current "
        "public_suffix_list.dat.",
        StalePublicSuffixListWarning, stacklevel=2)
    bundled = os.path.join(os.path.dirname(publicsuffix2.__file__), _DATA_FILE)
    version = importlib.metadata.version("publicsuffix2")
    return PublicSuffixList.from_lines(_read_lines(bundled),
                                       source=f"publicsuffix2 {version} (bundled)")


@lru_cache(maxsize=1)
def default_public_suffix_list() -> PublicSuffixList:
    """:func:`load_public_suffix_list` without a path, read once per process (so its
    warning, if any, is given once)."""
    return load_public_suffix_list()
