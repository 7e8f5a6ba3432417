"""OCR look-alike characters (``confusions.yaml``) and a length-preserving fold over them.

``fold_confusions("制造执行糸统己上线")`` → ``"制造执行系统已上线"``: the evidence matcher can fold both
its keywords and OCR block text, then match exactly, without fuzzy scoring and without moving any
offset (every replacement is one character for one character).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..errors import DataFileError
from ..yamlio import load_model

CONFUSIONS_FILE = Path(__file__).resolve().parent / "confusions.yaml"


class ConfusionSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    chars: list[str] = Field(min_length=2, description="look-alike characters; the first is canonical")
    fold: bool = Field(True, description="False: a pair for fuzzy scoring only, never folded")
    note: str | None = None

    @field_validator("chars")
    @classmethod
    def _single_distinct(cls, chars: list[str]) -> list[str]:
        for c in chars:
            if len(c) != 1:
                raise ValueError(f"“{c}”不是单个字符 / '{c}' is not a single character")
        if len(set(chars)) != len(chars):
            raise ValueError("同一组内字符重复 / a character repeats within the set")
        return chars


class ConfusionData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int
    sets: list[ConfusionSet]


def load_confusions(path: str | Path | None = None) -> list[ConfusionSet]:
    """The look-alike sets, validated (file + line in errors); a character may be in one set only."""
    data, loaded = load_model(ConfusionData, path or CONFUSIONS_FILE)
    seen: dict[str, int] = {}
    for i, group in enumerate(data.sets):
        for c in group.chars:
            if c in seen:
                raise DataFileError(loaded.path, loaded.line_of(("sets", i, "chars")),
                                    f"字符“{c}”已在第 {seen[c] + 1} 组出现", f"'{c}' is already in set {seen[c] + 1}")
            seen[c] = i
    return data.sets


@lru_cache(maxsize=4)
def _table(path: str) -> dict[int, str]:
    return {ord(c): group.chars[0] for group in load_confusions(path) if group.fold for c in group.chars[1:]}


def fold_confusions(text: str, path: str | Path | None = None) -> str:
    """Replace every look-alike of a ``fold: true`` set by the set's canonical character.

    The result has the same length as ``text`` (offsets stay valid). Apply it to NFKC-normalised,
    case-folded text and to the keywords alike.
    """
    return text.translate(_table(str(path or CONFUSIONS_FILE)))
