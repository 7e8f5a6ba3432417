"""Where the shipped data (frameworks, rules, keywords) lives.

In a wheel the top-level ``rules/`` and ``keywords/`` folders are packed into ``xdt_rules/_data``;
in a source checkout (editable install, tests) they are read where they stand. ``XDT_DATA_DIR``
points at another folder holding ``rules/`` and ``keywords/`` (another city's data).
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import XdtError

DEFAULT_FRAMEWORK = "kunming-xdt"


def data_root() -> Path:
    override = os.environ.get("XDT_DATA_DIR")
    if override:
        return Path(override)
    packaged = Path(__file__).resolve().parent / "_data"
    if (packaged / "rules").is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent


def rules_dir() -> Path:
    return data_root() / "rules"


def keywords_dir() -> Path:
    return data_root() / "keywords"


def framework_dir(framework: str | os.PathLike[str] = DEFAULT_FRAMEWORK) -> Path:
    """A framework by ID (a folder under rules/) or by a path to its folder or framework.yaml."""
    candidate = Path(framework)
    if candidate.is_file():
        return candidate.parent
    if candidate.is_dir():
        return candidate
    named = rules_dir() / str(framework)
    if named.is_dir():
        return named
    known = sorted(p.name for p in rules_dir().glob("*/framework.yaml") for p in [p.parent])
    raise XdtError(
        f"找不到评价框架“{framework}”（已有：{', '.join(known) or '无'}）",
        f"framework '{framework}' not found (known: {', '.join(known) or 'none'})",
    )
