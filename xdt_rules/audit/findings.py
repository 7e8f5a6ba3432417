"""One problem or observation of the audit, with where it is (file and line) and what it concerns.

Every section of the audit reports its problems as :class:`Finding` so the terminal, JSON and
HTML outputs list them the same way, and so ``xdt audit`` can decide its exit code from the
levels alone: ``error`` fails the run, ``warning`` fails only with ``--strict``, ``info`` never.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Level = Literal["error", "warning", "info"]
LEVEL_ZH = {"error": "错误", "warning": "警告", "info": "提示"}
LEVEL_ORDER = {"error": 0, "warning": 1, "info": 2}


class Finding(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    level: Level
    code: str = Field(description="stable machine name, e.g. no_keywords, unreachable, duplicate_keyword")
    message_zh: str
    message_en: str
    file: str | None = None
    line: int | None = None
    items: list[str] = Field(default_factory=list)
    rule: str | None = None
    keyword: str | None = None

    @property
    def where(self) -> str:
        """file:line for people (relative to the working folder when under it)."""
        shown = display_path(self.file) if self.file else ""
        return f"{shown}:{self.line}" if shown and self.line else shown

    def one_line(self) -> str:
        where = f"{self.where}: " if self.where else ""
        return f"{where}{LEVEL_ZH[self.level]}：{self.message_zh} / {self.level}: {self.message_en}"


def display_path(path: str) -> str:
    p = Path(path)
    if not p.is_absolute():
        return path
    try:
        return str(p.relative_to(Path.cwd()))
    except ValueError:
        return path


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Errors first, then by file and line, so the list reads like a compiler's."""
    return sorted(findings, key=lambda f: (LEVEL_ORDER[f.level], f.file or "", f.line or 0, f.code, f.message_en))


def count_levels(findings: list[Finding]) -> dict[str, int]:
    out = {"error": 0, "warning": 0, "info": 0}
    for f in findings:
        out[f.level] += 1
    return out
