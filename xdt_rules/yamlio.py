"""YAML data files that policy officers edit: loaded with line numbers so errors name the line.

Every data file (framework, keywords, cues, rules) is read by :func:`load_yaml`, which rejects
duplicate keys (plain YAML silently keeps the last one) and keeps each node's line, so that the
file's checker (:mod:`xdt_rules.datacheck`) and :func:`load_model` name the file, the line and the
problem.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from .errors import DataFileError

ModelT = TypeVar("ModelT", bound=BaseModel)
PathKey = tuple[str | int, ...]


@dataclass
class LoadedYaml:
    path: str
    data: Any
    lines: dict[PathKey, int] = field(default_factory=dict)

    def line_of(self, loc: PathKey) -> int | None:
        """The line of the deepest known node on ``loc`` (1-based)."""
        loc = tuple(loc)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get((), None)


# libyaml (in PyYAML's wheels) parses these files ~14× faster than the pure-Python loader; the
# nodes carry the same line marks. Every batch and worker loads the rules and keywords once.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _walk(node: yaml.Node, path: PathKey, lines: dict[PathKey, int], file: str) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                raise DataFileError(
                    file,
                    key_node.start_mark.line + 1,
                    f"键“{key}”重复（第一次出现在第 {seen[key]} 行）",
                    f"duplicate key '{key}' (first at line {seen[key]})",
                )
            seen[key] = key_node.start_mark.line + 1
            child = path + (key,)
            _walk(value_node, child, lines, file)
            lines[child] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, child_node in enumerate(node.value):
            _walk(child_node, path + (i,), lines, file)


def load_yaml(path: str | Path) -> LoadedYaml:
    path = Path(path)
    shown = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataFileError(shown, None, "文件不存在", "file not found") from None
    except UnicodeDecodeError as exc:
        raise DataFileError(shown, None, f"不是 UTF-8 编码（{exc.reason}）", f"not UTF-8 ({exc.reason})") from None
    try:
        loader = _Loader(text)
        try:  # what yaml.safe_load does, keeping the node tree for the line numbers
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise DataFileError(shown, line, f"YAML 语法错误：{exc.problem}", f"YAML syntax error: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise DataFileError(shown, None, f"YAML 错误：{exc}", f"YAML error: {exc}") from None
    lines: dict[PathKey, int] = {}
    if node is not None:
        _walk(node, (), lines, shown)
    return LoadedYaml(path=shown, data=data, lines=lines)


def validation_error(loaded: LoadedYaml, exc: ValidationError) -> DataFileError:
    """The first pydantic error as a DataFileError at its line."""
    err = exc.errors()[0]
    loc = tuple(err.get("loc", ()))
    where = ".".join(str(p) for p in loc) or "(根)"
    msg = err.get("msg", "无效")
    return DataFileError(loaded.path, loaded.line_of(loc), f"{where}：{msg}", f"{where}: {msg}")


def load_model(model: type[ModelT], path: str | Path) -> tuple[ModelT, LoadedYaml]:
    loaded = load_yaml(path)
    if loaded.data is None:
        raise DataFileError(loaded.path, None, "文件为空", "file is empty")
    try:
        return model.model_validate(loaded.data), loaded
    except ValidationError as exc:
        raise validation_error(loaded, exc) from None
