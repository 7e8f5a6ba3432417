"""The criteria catalogue: elements → sections → items, their official texts and points.

The catalogue is data (``rules/<framework>/framework.yaml``); this module validates it and
computes each item's points: 100 × element weight × section weight, split equally among the
section's items unless an item sets ``points`` itself.
"""

from __future__ import annotations

import os
import re

from pydantic import BaseModel, ConfigDict, Field

from .datacheck import DataProblem, Problems, check_model
from .errors import DataFileError
from .yamlio import LoadedYaml

_ID = re.compile(r"^\d+(\.\d+)*$")
_TOLERANCE = 1e-6


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ItemSpec(_Spec):
    id: str
    name: str = Field(min_length=1)
    text: str = Field(min_length=1, description="official text of the evaluation content")
    text_fix: str | None = Field(None, description="how a typo of the source was fixed")
    points: float | None = Field(None, gt=0, description="overrides the equal split")


class SectionSpec(_Spec):
    id: str
    name: str
    weight: float = Field(gt=0, le=100, description="percent of the element")
    description: str | None = None
    name_fix: str | None = None
    items: list[ItemSpec] = Field(min_length=1)


class ElementSpec(_Spec):
    id: str
    name: str
    weight: float = Field(gt=0, le=100, description="percent of the total")
    holistic: bool = False
    description: str | None = None
    description_fix: str | None = None
    sections: list[SectionSpec] = Field(min_length=1)


class FrameworkSpec(_Spec):
    id: str
    name: str
    version: str
    total: float = 100.0
    elements: list[ElementSpec] = Field(min_length=1)


class Item(BaseModel):
    """An evaluation item with its place in the tree and its points, ready for scoring."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    text: str
    text_fix: str | None
    points: float
    section_id: str
    section_name: str
    element_id: str
    element_name: str
    holistic: bool


class Catalogue:
    """A validated framework with items in catalogue order and their points."""

    def __init__(self, spec: FrameworkSpec, source: str):
        self.spec = spec
        self.source = source
        self.items: list[Item] = []
        for element in spec.elements:
            for section in element.sections:
                share = spec.total * element.weight / 100 * section.weight / 100
                fixed = sum(i.points for i in section.items if i.points is not None)
                free = [i for i in section.items if i.points is None]
                if free:
                    each = (share - fixed) / len(free)
                    if each <= 0:
                        raise DataFileError(source, None, f"板块 {section.id} 的指定分值超过板块分值 {share:g}")
                elif abs(fixed - share) > _TOLERANCE:
                    raise DataFileError(
                        source, None, f"板块 {section.id} 各项分值之和 {fixed:g} 不等于板块分值 {share:g}"
                    )
                for spec_item in section.items:
                    self.items.append(
                        Item(
                            id=spec_item.id,
                            name=spec_item.name,
                            text=spec_item.text,
                            text_fix=spec_item.text_fix,
                            points=spec_item.points if spec_item.points is not None else each,
                            section_id=section.id,
                            section_name=section.name,
                            element_id=element.id,
                            element_name=element.name,
                            holistic=element.holistic,
                        )
                    )
        self._by_id = {item.id: item for item in self.items}

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def item_ids(self) -> list[str]:
        return [item.id for item in self.items]

    def item(self, item_id: str) -> Item:
        return self._by_id[item_id]

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._by_id

    def element_max(self, element_id: str) -> float:
        return sum(i.points for i in self.items if i.element_id == element_id)

    def section_max(self, section_id: str) -> float:
        return sum(i.points for i in self.items if i.section_id == section_id)


def _check_structure(spec: FrameworkSpec, loaded: LoadedYaml, problems: Problems) -> None:
    """Weights add up, IDs are dotted numbers under their parent and unique; every problem at its line."""

    def fail(loc: tuple[str | int, ...], code: str, zh: str, en: str) -> None:
        problems.at(loaded, loc, code, zh, en)

    total = sum(e.weight for e in spec.elements)
    if abs(total - 100) > _TOLERANCE:
        fail(("elements",), "weights", f"要素权重之和应为 100，实为 {total:g}", f"element weights add up to {total:g}, not 100")
    seen: dict[str, tuple[str | int, ...]] = {}
    for ei, element in enumerate(spec.elements):
        eloc: tuple[str | int, ...] = ("elements", ei)
        nodes: list[tuple[str, str | None, tuple[str | int, ...]]] = [(element.id, None, eloc)]
        weights = sum(s.weight for s in element.sections)
        if abs(weights - 100) > _TOLERANCE:
            fail(eloc + ("sections",), "weights", f"要素 {element.id} 的板块权重之和应为 100，实为 {weights:g}",
                 f"section weights of element {element.id} add up to {weights:g}, not 100")
        for si, section in enumerate(element.sections):
            sloc = eloc + ("sections", si)
            nodes.append((section.id, element.id, sloc))
            nodes += [(item.id, section.id, sloc + ("items", ii)) for ii, item in enumerate(section.items)]
        for node_id, parent, loc in nodes:
            if not _ID.match(node_id):
                fail(loc + ("id",), "bad_id", f"编号“{node_id}”不是点分数字", f"ID '{node_id}' is not a dotted number")
            elif parent is not None and not node_id.startswith(parent + "."):
                fail(loc + ("id",), "bad_id", f"编号“{node_id}”不在上级“{parent}”之下", f"ID '{node_id}' is not under '{parent}'")
            if node_id in seen:
                fail(loc + ("id",), "duplicate_id", f"编号“{node_id}”重复（第 {loaded.line_of(seen[node_id])} 行已有）",
                     f"duplicate ID '{node_id}'")
            seen.setdefault(node_id, loc + ("id",))


def check_catalogue_file(path: str | os.PathLike[str]) -> tuple[Catalogue | None, list[DataProblem]]:
    """Every problem of a framework file, and the catalogue when it has none."""
    problems = Problems()
    spec, loaded = check_model(FrameworkSpec, path, problems)
    if spec is None or loaded is None:
        return None, problems.found
    _check_structure(spec, loaded, problems)
    if problems.errors:
        return None, problems.found
    try:
        return Catalogue(spec, loaded.path), problems.found
    except DataFileError as exc:  # points of a section that cannot be shared out
        problems.error(exc, "points")
        return None, problems.found


def load_catalogue_file(path: str | os.PathLike[str]) -> Catalogue:
    """A validated framework; the first problem as a DataFileError naming file and line."""
    catalogue, problems = check_catalogue_file(path)
    if catalogue is None:
        raise problems[0].as_error()
    return catalogue
