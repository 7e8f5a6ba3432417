"""Agreement with reviewers: where the screening results and reference labels disagree.

The question per (application, item) is "does the enterprise have it": the tool says yes with
``met``/``partial``, the label with ``implemented``. Per item: precision, recall and F1 of that
yes; overall: the status confusion matrix (label × status). Every false positive (tool yes,
label no) and false negative (label yes, tool no) is listed with what the rule owner needs to fix
it: the passages (file, page, text) — the tool's evidence for a false positive, the reviewer's
quote (located in the documents when their text is at hand) and whatever the tool did see for a
false negative — and the rule that decided.

Items labelled ``scan_only`` (the evidence is only on image pages) are left out for applications
screened without OCR (no evidence of the application came from OCR), unless asked to count them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..catalogue import Catalogue
from ..evidence.normalize import normalize, normalize_key
from ..models import ApplicationResult, Document, EvidenceRef, ItemResult
from .labels import GOLD_LABELS, Label, LabelSet

STATUSES = ("met", "partial", "planned", "negated", "not_found")
HAS_IT = ("met", "partial")
STATUS_TO_LABEL = {"met": "implemented", "partial": "implemented", "planned": "planned", "negated": "negated",
                   "not_found": "absent"}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Passage(_Model):
    file: str | None = None
    page: int | None = None
    block: int | None = None
    text: str
    matched: str | None = Field(None, description="the words matched in the passage (、-separated)")
    term: str | None = None
    polarity: str | None = None
    located: bool = Field(True, description="for a reviewer's quote: whether it was found in the documents")


class Disagreement(_Model):
    application: str
    item: str
    item_name: str
    kind: Literal["false_positive", "false_negative", "other"]
    label: str
    status: str
    decided_by: str | None = Field(None, description="the decide rule that set the status")
    flags: list[str] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)
    label_note: str | None = None
    label_source: str
    tool_evidence: list[Passage] = Field(default_factory=list)
    label_evidence: list[Passage] = Field(default_factory=list)


class ItemAgreement(_Model):
    id: str
    name: str
    labelled: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None


class AgreementAudit(_Model):
    labels: str
    applications: list[str] = Field(description="applications with both a result and labels")
    labels_without_result: list[str] = Field(default_factory=list)
    results_without_labels: list[str] = Field(default_factory=list)
    pairs: int = Field(0, description="(application, item) pairs compared")
    skipped_scan_only: int = 0
    items: list[ItemAgreement]
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None
    label_agreement: float | None = Field(None, description="share of pairs whose status maps onto the label exactly")
    confusion: dict[str, dict[str, int]] = Field(description="label → status → pairs")
    false_positives: list[Disagreement] = Field(default_factory=list)
    false_negatives: list[Disagreement] = Field(default_factory=list)
    other: list[Disagreement] = Field(default_factory=list, description="other label/status mismatches (planned vs negated…)")


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def _f1(p: float | None, r: float | None) -> float | None:
    if p is None or r is None:
        return None
    return round(2 * p * r / (p + r), 4) if p + r else 0.0


def _passages(refs: list[EvidenceRef]) -> list[Passage]:
    """One passage per sentence (and polarity), the words matched in it listed together."""
    out: dict[tuple, Passage] = {}
    for ev in refs:
        key = (ev.file, ev.page, ev.block, ev.sentence_start, ev.text, ev.polarity)
        if key in out:
            p = out[key]
            words = (p.matched or "").split("、")
            if ev.matched not in words:
                p.matched = "、".join(words + [ev.matched])
            continue
        out[key] = Passage(file=ev.file, page=ev.page, block=ev.block, text=ev.text, matched=ev.matched, term=ev.term,
                           polarity=ev.polarity)
    return list(out.values())


class _Locator:
    """Finds a reviewer's quote in an application's documents (whitespace and width insensitive)."""

    def __init__(self, documents: list[Document]):
        self.blocks = [(doc.name, block.page, block.index, normalize(block.text).text) for doc in documents
                       for block in doc.blocks]

    def find(self, quote: str) -> tuple[str, int | None, int] | None:
        key = normalize_key(quote)
        if not key:
            return None
        probes = [key] + ([key[:24]] if len(key) > 24 else [])
        for probe in probes:
            for name, page, index, text in self.blocks:
                if probe in text:
                    return name, page, index
        return None


def _quote_passages(label: Label, item: ItemResult, locator: _Locator | None) -> list[Passage]:
    out = []
    for quote in label.evidence:
        key = normalize_key(quote)
        where = locator.find(quote) if locator else None
        if where is None:  # the tool may have seen the sentence with another polarity
            ev = next((e for e in item.evidence if key and (key in normalize_key(e.text) or normalize_key(e.text) in key)),
                      None)
            if ev is not None:
                where = (ev.file, ev.page, ev.block)
        if where is None:
            out.append(Passage(text=quote, located=False))
        else:
            out.append(Passage(file=where[0], page=where[1], block=where[2], text=quote))
    return out


def _ocr_ran(result: ApplicationResult) -> bool:
    return any(ev.ocr for item in result.items for ev in item.evidence)


def agreement_audit(results: list[ApplicationResult], labels: LabelSet, *, catalogue: Catalogue,
                    documents: Mapping[str, list[Document]] | None = None,
                    count_scan_only: bool = False) -> AgreementAudit:
    by_app = {r.application: r for r in results}
    names = {i.id: i.name for i in catalogue.items}
    items = {i.id: ItemAgreement(id=i.id, name=i.name) for i in catalogue.items}
    confusion = {g: {s: 0 for s in STATUSES} for g in GOLD_LABELS}
    audit = AgreementAudit(labels=labels.source, applications=[], items=[], confusion=confusion,
                           labels_without_result=sorted(a for a in labels.labels if a not in by_app),
                           results_without_labels=sorted(a for a in by_app if a not in labels.labels))
    exact = 0
    for app in sorted(a for a in labels.labels if a in by_app):
        result = by_app[app]
        audit.applications.append(app)
        ocr = count_scan_only or _ocr_ran(result)
        docs = (documents or {}).get(app)
        locator = _Locator(docs) if docs else None
        results_by_item = {i.id: i for i in result.items}
        for item_id, label in labels.labels[app].items():
            item = results_by_item.get(item_id)
            if item is None or item_id not in items:
                continue
            if label.scan_only and not ocr:
                audit.skipped_scan_only += 1
                continue
            audit.pairs += 1
            confusion[label.label][item.status] += 1
            exact += STATUS_TO_LABEL[item.status] == label.label
            row = items[item_id]
            row.labelled += 1
            has_it, labelled_yes = item.status in HAS_IT, label.label == "implemented"
            if has_it and labelled_yes:
                row.tp += 1
                continue
            if not has_it and not labelled_yes:
                row.tn += 1
                if STATUS_TO_LABEL[item.status] == label.label:
                    continue
                kind = "other"
            elif has_it:
                row.fp += 1
                kind = "false_positive"
            else:
                row.fn += 1
                kind = "false_negative"
            decide = item.rules_fired[0] if item.rules_fired else None
            shown = [e for e in item.evidence if e.polarity == "implemented"] if kind == "false_positive" else item.evidence
            dis = Disagreement(
                application=app, item=item_id, item_name=names[item_id], kind=kind, label=label.label,  # type: ignore[arg-type]
                status=item.status, decided_by=decide, flags=item.rules_fired[1:], reasons=item.reasons,
                label_note=label.note, label_source=label.source, tool_evidence=_passages(shown),
                label_evidence=_quote_passages(label, item, locator))
            {"false_positive": audit.false_positives, "false_negative": audit.false_negatives,
             "other": audit.other}[kind].append(dis)
    for row in items.values():
        row.precision = _ratio(row.tp, row.tp + row.fp)
        row.recall = _ratio(row.tp, row.tp + row.fn)
        row.f1 = _f1(row.precision, row.recall)
    audit.items = list(items.values())
    audit.confusion = confusion  # (the model holds a copy of the dict it was built with)
    audit.tp, audit.fp = sum(r.tp for r in items.values()), sum(r.fp for r in items.values())
    audit.fn, audit.tn = sum(r.fn for r in items.values()), sum(r.tn for r in items.values())
    audit.precision = _ratio(audit.tp, audit.tp + audit.fp)
    audit.recall = _ratio(audit.tp, audit.tp + audit.fn)
    audit.f1 = _f1(audit.precision, audit.recall)
    audit.label_agreement = _ratio(exact, audit.pairs)
    return audit
