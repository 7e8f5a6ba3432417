"""Versions written into every result, so a score can be traced to the data that produced it."""

from __future__ import annotations

import hashlib
from pathlib import Path

from .batch.fsutil import walk_files
from .datapaths import DEFAULT_FRAMEWORK, framework_dir, keywords_dir

_SKIP_PARTS = {"__pycache__"}
# Rule test cases and notes live beside the rules but do not change a score: editing them must not
# make `xdt batch --resume` re-screen everything or the audit call finished results stale.
_SKIP_TOP = {"tests"}
_DATA_SUFFIXES = (".yaml", ".yml")


def _data_files(root: Path) -> list[str]:
    """The data files under ``root`` as sorted relative POSIX paths."""
    if not root.is_dir():
        return []
    found = []
    for rel, _, _ in walk_files(str(root)):
        parts = rel.split("/")
        if parts[0] in _SKIP_TOP or any(p.startswith(".") or p in _SKIP_PARTS for p in parts):
            continue
        if rel.endswith(_DATA_SUFFIXES):
            found.append(rel)
    return found


def rules_version(framework: str = DEFAULT_FRAMEWORK) -> str:
    """Hash of the YAML data of ``rules/<framework>/**`` (less ``tests/``) and ``keywords/**`` (16 hex digits).

    Paths enter relative to their folder, so the same data checked out anywhere (or packed in
    a wheel) has the same version; any edit to a rule, keyword or the framework changes it.
    Every application screened asks for it (rules may be edited mid-batch), so it reads the
    bytes each time rather than trusting file times.
    """
    roots = (("rules", Path(framework_dir(framework))), ("keywords", keywords_dir()))
    digest = hashlib.sha256()
    for label, root in roots:
        for rel in _data_files(root):
            digest.update(f"{label}/{rel}\0".encode())
            digest.update(hashlib.sha256((root / rel).read_bytes()).digest())
    return digest.hexdigest()[:16]
