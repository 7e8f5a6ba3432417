"""The per-application HTML report: one self-contained Chinese file (inline CSS, JS and images).

Everything from the documents is escaped by Jinja2's autoescape; the highlight is built here as
(before, match, after) strings so the template escapes each part and the ``<mark>`` lands on
exactly the evidence's characters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from ..catalogue import Catalogue, load_catalogue
from ..models import ApplicationResult, EvidenceRef, ItemResult
from .crops import CropLimits, CropRenderer

if TYPE_CHECKING:
    from ..screen import ScreenOutcome, ScreenSettings

TEMPLATES = Path(__file__).resolve().parent / "templates"
CONTEXT_CHARS = 90  # characters of the sentence shown on each side of a match
MAX_EVIDENCE_SHOWN = 12  # per item; the rest are listed folded

STATUS_ZH = {"met": "已具备", "partial": "证据较弱", "planned": "仅有规划", "negated": "明确未具备", "not_found": "未找到"}
POLARITY_ZH = {"implemented": "已实施", "planned": "规划", "negated": "否定", "generic": "泛泛/他方",
               "restates_criteria": "照抄评价内容"}
KIND_ZH = {"term": "关键词", "entity": "厂商产品", "quantity": "量化数据", "fuzzy": "模糊匹配", "cue": "提示语"}


@dataclass
class Highlight:
    before: str
    match: str
    after: str
    cut_before: bool = False
    cut_after: bool = False
    exact: bool = True


def highlight(ev: EvidenceRef, context: int = CONTEXT_CHARS) -> Highlight:
    """Split the evidence sentence around the match; the match is exactly ``ev.matched``."""
    text = ev.text
    s0 = ev.start - (ev.sentence_start or 0)
    e0 = ev.end - (ev.sentence_start or 0)
    exact = 0 <= s0 <= e0 <= len(text) and text[s0:e0] == ev.matched
    if not exact:
        # Offsets that do not fit the sentence (should not happen): fall back to the first
        # occurrence, and say so in the report rather than mark the wrong characters.
        found = text.find(ev.matched) if ev.matched else -1
        if found < 0:
            return Highlight(before=text[: 2 * context], match="", after="", cut_after=len(text) > 2 * context,
                             exact=False)
        s0, e0 = found, found + len(ev.matched)
    b0 = max(0, s0 - context)
    a1 = min(len(text), e0 + context)
    return Highlight(before=text[b0:s0], match=text[s0:e0], after=text[e0:a1], cut_before=b0 > 0,
                     cut_after=a1 < len(text), exact=exact)


@dataclass
class EvidenceView:
    ref: EvidenceRef
    hl: Highlight
    polarity_zh: str
    kind_zh: str
    where: str
    crop: str | None = None


@dataclass
class ItemView:
    result: ItemResult
    status_zh: str
    rules: list[tuple[str, str]]
    evidence: list[EvidenceView] = field(default_factory=list)
    more: int = 0


def _where(ev: EvidenceRef) -> str:
    parts = [ev.file]
    if ev.page is not None:
        parts.append(f"第 {ev.page} 页")
    parts.append(f"块 {ev.block}")
    return " · ".join(parts)


def _rule_names(framework: str) -> dict[str, str]:
    try:
        from ..scoring import load_rulebook

        book = load_rulebook(framework)
    except Exception:  # noqa: BLE001 - names are a nicety; the keys are always shown
        return {}
    names: dict[str, str] = {}
    for rules in book.items.values():
        for rule in rules.all_rules():
            names.setdefault(rule.key, rule.name or "")
    return names


def _items_view(result: ApplicationResult, crops: CropRenderer | None, rule_names: dict[str, str]) -> list[ItemView]:
    views = []
    for item in result.items:
        view = ItemView(result=item, status_zh=STATUS_ZH.get(item.status, item.status),
                        rules=[(key, rule_names.get(key, "")) for key in item.rules_fired])
        made = 0
        for ev in item.evidence[:MAX_EVIDENCE_SHOWN]:
            crop = None
            # Crops for the strongest evidence first (evidence is sorted implemented-first).
            if crops is not None and made < crops.limits.per_item and ev.polarity in ("implemented", "planned", "negated"):
                crop = crops.crop(ev)
                made += crop is not None
            view.evidence.append(EvidenceView(ref=ev, hl=highlight(ev), polarity_zh=POLARITY_ZH.get(ev.polarity, ev.polarity),
                                              kind_zh=KIND_ZH.get(ev.kind or "", ev.kind or ""), where=_where(ev), crop=crop))
        view.more = max(0, len(item.evidence) - MAX_EVIDENCE_SHOWN)
        views.append(view)
    return views


def _tree(catalogue: Catalogue, items: dict[str, ItemView]) -> list[dict]:
    tree = []
    for element in catalogue.spec.elements:
        sections = []
        for section in element.sections:
            sections.append({"id": section.id, "name": section.name,
                             "items": [items[i.id] for i in section.items if i.id in items]})
        tree.append({"id": element.id, "name": element.name, "holistic": element.holistic, "weight": element.weight,
                     "sections": sections})
    return tree


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["pts"] = lambda x: f"{x:.2f}".rstrip("0").rstrip(".") if x else "0"
    env.filters["pct"] = lambda part, whole: 0 if not whole else max(0.0, min(100.0, 100.0 * part / whole))
    return env


def render_result(result: ApplicationResult, *, documents=(), crops: bool = True, password: str | None = None,
                  limits: CropLimits | None = None) -> str:
    """The HTML of a result; crops are drawn from ``documents`` (PDFs only) when asked."""
    catalogue = load_catalogue(result.framework)
    renderer = CropRenderer(documents, password=password, limits=limits) if crops and documents else None
    try:
        views = _items_view(result, renderer, _rule_names(result.framework))
    finally:
        if renderer is not None:
            renderer.close()
    by_id = {v.result.id: v for v in views}
    counts = {status: sum(1 for i in result.items if i.status == status) for status in STATUS_ZH}
    confirm = sum(1 for i in result.items if i.needs_confirmation)
    elements = [(e, catalogue.element_max(e.id)) for e in result.elements]
    template = _environment().get_template("report.html.j2")
    return template.render(result=result, tree=_tree(catalogue, by_id), items=views, counts=counts, confirm=confirm,
                           elements=elements, status_zh=STATUS_ZH, framework_name=catalogue.spec.name)


def render_report(outcome: ScreenOutcome, *, settings: ScreenSettings) -> str:
    return render_result(outcome.result, documents=outcome.documents, crops=settings.crops,
                         password=settings.extract.password)
