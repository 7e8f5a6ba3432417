"""Errors users see. Each carries a Chinese and an English reason and names the file."""

from __future__ import annotations


class XdtError(Exception):
    """An expected failure with a message fit for a reviewer; no traceback is shown."""

    def __init__(self, reason_zh: str, reason_en: str, *, file: str | None = None, code: str = "error"):
        self.reason_zh = reason_zh
        self.reason_en = reason_en
        self.file = file
        self.code = code
        super().__init__(self.one_line())

    def one_line(self) -> str:
        where = f"{self.file}: " if self.file else ""
        return f"{where}{self.reason_zh} / {self.reason_en}"


class IngestError(XdtError):
    """A file that cannot be read: encrypted, corrupt, unsupported, too large, a zip bomb…"""


class DataFileError(XdtError):
    """A YAML data file (framework, keywords, rules, cues) that is broken; names file and line."""

    def __init__(self, file: str, line: int | None, problem_zh: str, problem_en: str | None = None):
        self.line = line
        self.problem_zh, self.problem_en = problem_zh, problem_en or problem_zh
        where = f"第 {line} 行" if line else "文件"
        where_en = f"line {line}" if line else "file"
        super().__init__(
            f"{where}：{problem_zh}",
            f"{where_en}: {problem_en or problem_zh}",
            file=f"{file}:{line}" if line else file,
            code="data_file",
        )
        self.data_file = file
