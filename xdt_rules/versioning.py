"""Versions written into every result, so a score can be traced to the data that produced it."""

from __future__ import annotations

import hashlib
from pathlib import Path

from .datapaths import DEFAULT_FRAMEWORK, framework_dir, keywords_dir

_SKIP_PARTS = {"__pycache__"}
# Rule test cases and notes live beside the rules but do not change a score: editing them must not
# make `xdt batch --resume` re-screen everything or the audit call finished results stale.
_SKIP_TOP = {"tests"}
_DATA_SUFFIXES = (".yaml", ".yml")


def _data_files(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    files = []
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if not path.is_file() or any(p.startswith(".") or p in _SKIP_PARTS for p in rel.parts):
            continue
        if rel.parts[0] in _SKIP_TOP or path.suffix not in _DATA_SUFFIXES:
            continue
        files.append(path)
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def rules_version(framework: str = DEFAULT_FRAMEWORK) -> str:
    """Hash of the YAML data of ``rules/<framework>/**`` (less ``tests/``) and ``keywords/**`` (16 hex digits).

    Paths enter relative to their folder, so the same data checked out anywhere (or packed in
    a wheel) has the same version; any edit to a rule, keyword or the framework changes it.
    """
    digest = hashlib.sha256()
    for label, root in (("rules", Path(framework_dir(framework))), ("keywords", keywords_dir())):
        for path in _data_files(root):
            rel = path.relative_to(root).as_posix()
            digest.update(f"{label}/{rel}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]
