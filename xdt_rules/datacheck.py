"""Problems of the YAML data files (catalogue, keywords, cues, rules), collected by one validator per file.

Each data file has one checker that goes on past a problem and records every one it finds as a
:class:`DataProblem` (file, line, bilingual message, a stable code). Loading a file raises the first
error (:meth:`Problems.raise_first`); ``xdt audit`` lists them all — from the same code, so what the
audit reports is exactly what would stop a run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import DataFileError
from .yamlio import LoadedYaml, PathKey, load_yaml

ModelT = TypeVar("ModelT", bound=BaseModel)
ProblemLevel = Literal["error", "warning"]


class DataProblem(BaseModel):
    """One problem of a data file, fit for a list in the audit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    level: ProblemLevel = Field(description="error: the file is refused; warning: it loads, the audit reports it")
    code: str = Field(description="stable machine name, e.g. duplicate_keyword, unknown_item, unreachable")
    file: str = Field(description="the data file")
    line: int | None = Field(None, description="1-based line in the file, when known")
    message_zh: str
    message_en: str
    rule: str | None = Field(None, description="rule key, e.g. systems:named_and_dated")
    items: list[str] = Field(default_factory=list, description="criterion items concerned")
    keyword: str | None = Field(None, description="the keyword or cue concerned")

    def one_line(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        label = "错误" if self.level == "error" else "警告"
        return f"{where}: {label}：{self.message_zh} / {self.level}: {self.message_en}"

    def as_error(self) -> DataFileError:
        return DataFileError(self.file, self.line, self.message_zh, self.message_en)


class Problems:
    """The problems one checker finds, in the order found."""

    def __init__(self) -> None:
        self.found: list[DataProblem] = []

    def add(self, file: str, line: int | None, code: str, zh: str, en: str, *, level: ProblemLevel = "error",
            items: list[str] | None = None, keyword: str | None = None) -> None:
        self.found.append(DataProblem(level=level, code=code, file=file, line=line, message_zh=zh, message_en=en,
                                      items=items or [], keyword=keyword))

    def at(self, loaded: LoadedYaml, loc: PathKey, code: str, zh: str, en: str, *, level: ProblemLevel = "error",
           items: list[str] | None = None, keyword: str | None = None) -> None:
        """A problem at a node of a loaded file."""
        self.add(loaded.path, loaded.line_of(loc), code, zh, en, level=level, items=items, keyword=keyword)

    def error(self, exc: DataFileError, code: str) -> None:
        self.add(exc.data_file, exc.line, code, exc.problem_zh, exc.problem_en)

    @property
    def errors(self) -> list[DataProblem]:
        return [p for p in self.found if p.level == "error"]

    def raise_first(self) -> None:
        """Loading stops at the first error (warnings never stop it)."""
        if self.errors:
            raise self.errors[0].as_error()


def schema_problems(loaded: LoadedYaml, exc: ValidationError, problems: Problems) -> None:
    """Every pydantic error of a file, each at its line."""
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        where = ".".join(str(p) for p in loc) or "(根)"
        msg = err.get("msg", "无效")
        problems.at(loaded, loc, "schema", f"{where}：{msg}", f"{where}: {msg}")


def check_model(model: type[ModelT], path: str | Path, problems: Problems) -> tuple[ModelT | None, LoadedYaml | None]:
    """A data file read into its model, or None with its problems recorded (YAML syntax, empty, schema)."""
    try:
        loaded = load_yaml(path)
    except DataFileError as exc:
        problems.error(exc, "yaml")
        return None, None
    if loaded.data is None:
        problems.at(loaded, (), "empty_file", "文件为空", "file is empty")
        return None, loaded
    try:
        return model.model_validate(loaded.data), loaded
    except ValidationError as exc:
        schema_problems(loaded, exc, problems)
        return None, loaded
