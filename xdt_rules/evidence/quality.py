"""Measured quality of evidence detection against the samples' gold labels.

For each sample application (``samples/<variant>/<app>/`` with gold in ``samples/gold/<app>.yaml``)
every item gets a *detected* label: the strongest polarity among its mentions, where

- an item is detected **implemented** when at least one ``implemented`` mention has
  confidence ≥ :data:`MIN_CONFIDENCE` (0.6). Fuzzy and OCR mentions count like any other — their
  lower confidence (0.64–0.85) still clears the bar; weak hints (协同办公 0.5, AGV 0.55) do not,
  and count as ``generic`` whether stated as done or planned (the scoring facts do the same);
- otherwise the strongest of planned > negated > restates_criteria > generic; ``absent`` if none.

Reported per variant (DOCX, PDF): per-item precision/recall/F1 of "implemented", micro P/R/F1,
the share of gold planned/negated/absent items wrongly detected implemented, and the confusion
matrix (gold label × detected label). Gold items marked ``scan_only`` need OCR: they are left
out of the figures when the run did not OCR (``ocr="off"``) and counted when it did.
The audit reuses :func:`evaluate`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection
from pathlib import Path

from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from ..gold import GoldApplication, load_gold_dir
from ..models import Document, Mention

if TYPE_CHECKING:
    from ..framework import Framework

MIN_CONFIDENCE = 0.6
DETECTED_ORDER = ("implemented", "planned", "negated", "restates_criteria", "generic", "absent")
GOLD_LABELS = ("implemented", "planned", "negated", "absent")
SKIP_NAMES = ("~$", ".")


class ItemScore(BaseModel):
    item_id: str
    tp: int = 0
    fp: int = 0
    fn: int = 0
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None


class Miss(BaseModel):
    application: str
    item_id: str
    gold: str
    detected: str
    evidence: list[str] = Field(default_factory=list, description="what the tool saw (implemented mentions) or the gold quote")


class VariantReport(BaseModel):
    variant: str
    applications: list[str]
    ocr: bool
    items: list[ItemScore]
    tp: int
    fp: int
    fn: int
    precision: float | None
    recall: float | None
    f1: float | None
    not_implemented_total: int = Field(description="gold planned/negated/absent items counted")
    false_implemented: int = Field(description="of those, detected implemented")
    false_implemented_share: float | None
    confusion: dict[str, dict[str, int]]
    skipped_scan_only: int = 0
    misses: list[Miss] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def _f1(p: float | None, r: float | None) -> float | None:
    if p is None or r is None or p + r == 0:
        return None if p is None or r is None else 0.0
    return round(2 * p * r / (p + r), 4)


def detected_labels(mentions: list[Mention], item_ids: list[str]) -> dict[str, str]:
    """Item → strongest detected polarity ('absent' when the item has no mention)."""
    seen: dict[str, set[str]] = defaultdict(set)
    for m in mentions:
        if m.polarity in ("implemented", "planned") and m.confidence < MIN_CONFIDENCE:
            seen[m.item_id].add("generic")  # a weak hint is neither an achievement nor a plan of the item
            continue
        seen[m.item_id].add(m.polarity)
    out = {}
    for item_id in item_ids:
        labels = seen.get(item_id, set())
        out[item_id] = next((p for p in DETECTED_ORDER if p in labels), "absent")
    return out


def application_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(SKIP_NAMES))


def evaluate(samples_dir: str | Path, variant: str, *, framework: Framework | None = None, ocr: bool = False,
             load_document: Callable[[Path], Document] | None = None,
             applications: Collection[str] | None = None) -> VariantReport:
    """Detection vs gold for one variant folder (``samples/<variant>/``).

    ``applications`` restricts the measurement to those application names (a development or
    hold-out set); by default every labelled application in the folder counts."""
    from ..framework import load_framework
    from . import find_evidence

    samples = Path(samples_dir)
    framework = framework or load_framework()
    catalogue = framework.catalogue
    golds: dict[str, GoldApplication] = load_gold_dir(samples / "gold", catalogue)
    if load_document is None:
        from ..ingest import ExtractOptions, extract

        options = ExtractOptions(ocr="auto" if ocr else "off")

        def load_document(path: Path) -> Document:
            return extract(path, options)

    item_ids = catalogue.item_ids
    scores = {i: ItemScore(item_id=i) for i in item_ids}
    confusion = {g: {d: 0 for d in DETECTED_ORDER} for g in GOLD_LABELS}
    report_errors: list[str] = []
    misses: list[Miss] = []
    apps: list[str] = []
    skipped = 0
    not_impl = false_impl = 0
    for app, gold in sorted(golds.items()):
        if applications is not None and app not in applications:
            continue
        folder = samples / variant / app
        if not folder.is_dir():
            continue
        apps.append(app)
        documents = []
        for path in application_files(folder):
            try:
                documents.append(load_document(path))
            except Exception as exc:  # noqa: BLE001 - a broken sample is reported, the rest measured
                report_errors.append(f"{path}: {exc}")
        mentions = find_evidence(documents, framework)
        detected = detected_labels(mentions, item_ids)
        for item_id in item_ids:
            g = gold.items[item_id]
            if g.scan_only and not ocr:
                skipped += 1
                continue
            d = detected[item_id]
            confusion[g.label][d] += 1
            score = scores[item_id]
            if g.label == "implemented" and d == "implemented":
                score.tp += 1
            elif g.label == "implemented":
                score.fn += 1
                misses.append(Miss(application=app, item_id=item_id, gold=g.label, detected=d, evidence=g.evidence[:1]))
            elif d == "implemented":
                score.fp += 1
                shown = [m.sentence for m in mentions if m.item_id == item_id and m.polarity == "implemented"
                         and m.confidence >= MIN_CONFIDENCE][:2]
                misses.append(Miss(application=app, item_id=item_id, gold=g.label, detected=d, evidence=shown))
            if g.label != "implemented":
                not_impl += 1
                false_impl += d == "implemented"
    for score in scores.values():
        score.precision = _ratio(score.tp, score.tp + score.fp)
        score.recall = _ratio(score.tp, score.tp + score.fn)
        score.f1 = _f1(score.precision, score.recall)
    tp = sum(s.tp for s in scores.values())
    fp = sum(s.fp for s in scores.values())
    fn = sum(s.fn for s in scores.values())
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    return VariantReport(
        variant=variant, applications=apps, ocr=ocr, items=list(scores.values()), tp=tp, fp=fp, fn=fn,
        precision=precision, recall=recall, f1=_f1(precision, recall), not_implemented_total=not_impl,
        false_implemented=false_impl, false_implemented_share=_ratio(false_impl, not_impl), confusion=confusion,
        skipped_scan_only=skipped, misses=misses, errors=report_errors,
    )
