"""Reading a folder of screening results (``xdt screen --out`` / ``xdt batch`` JSON files)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from ..errors import XdtError
from ..models import ApplicationResult


@dataclass
class ResultSet:
    folder: str
    results: list[ApplicationResult] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list, metadata={"doc": "(file, reason) not read"})

    def by_application(self) -> dict[str, ApplicationResult]:
        return {r.application: r for r in self.results}


def load_results(folder: str | Path) -> ResultSet:
    """Every ``*.json`` in ``folder`` that is an application result, in file-name order.

    Other JSON files (a summary, something the user left there) are skipped with a reason, not
    fatal: a batch folder holds more than results. No result at all is an error.
    """
    path = Path(folder)
    if not path.is_dir():
        raise XdtError("结果目录不存在或不是文件夹", "results folder not found or not a folder", file=str(path))
    out = ResultSet(folder=str(path))
    seen: dict[str, str] = {}
    for file in sorted(path.glob("*.json")):
        try:
            result = ApplicationResult.model_validate_json(file.read_bytes())
        except (ValidationError, ValueError) as exc:
            first = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
            out.skipped.append((file.name, f"不是预审结果 / not a screening result: {first}"))
            continue
        if result.application in seen:
            out.skipped.append((file.name, f"申报“{result.application}”已在 {seen[result.application]} 中 / duplicate application"))
            continue
        seen[result.application] = file.name
        out.results.append(result)
    if not out.results:
        raise XdtError("结果目录中没有预审结果 JSON（先运行 xdt batch 或 xdt screen）",
                       "no screening result JSON in the folder (run xdt batch or xdt screen first)", file=str(path))
    return out
