"""How well item statuses and totals agree with the gold labels of the samples.

Gold labels (``samples/gold/<app>.yaml``) say what each application really evidences:
implemented | planned | negated | absent. A status maps onto them as

    met, partial → implemented · planned → planned · negated → negated · not_found → absent

and a reviewer's reference total for an application is the points of its gold-implemented
items (what it would score if every real achievement got full points). The tool's totals
should order the applications the same way.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..catalogue import Catalogue
from ..gold import GoldApplication
from ..models import ApplicationResult

STATUS_TO_GOLD = {"met": "implemented", "partial": "implemented", "planned": "planned", "negated": "negated",
                  "not_found": "absent"}
GOLD_LABELS = ("implemented", "planned", "negated", "absent")
STATUSES = ("met", "partial", "planned", "negated", "not_found")


@dataclass
class Mismatch:
    application: str
    item: str
    gold: str
    status: str
    reasons: list[str]
    scan_only: bool


@dataclass
class Agreement:
    """Counts over (application, item) pairs."""

    confusion: Counter = field(default_factory=Counter)  # (gold label, status) → n
    mismatches: list[Mismatch] = field(default_factory=list)

    def add(self, result: ApplicationResult, gold: GoldApplication) -> None:
        for item in result.items:
            g = gold.items[item.id]
            self.confusion[(g.label, item.status)] += 1
            if STATUS_TO_GOLD[item.status] != g.label:
                self.mismatches.append(Mismatch(result.application, item.id, g.label, item.status, item.reasons,
                                                g.scan_only))

    def total(self) -> int:
        return sum(self.confusion.values())

    def _count(self, gold: str | None = None, mapped: str | None = None) -> int:
        return sum(n for (g, s), n in self.confusion.items()
                   if (gold is None or g == gold) and (mapped is None or STATUS_TO_GOLD[s] == mapped))

    def implemented_scores(self) -> dict[str, float]:
        """met/partial vs gold implemented: precision, recall, F1, binary accuracy."""
        tp = self._count("implemented", "implemented")
        predicted = self._count(mapped="implemented")
        actual = self._count("implemented")
        precision = tp / predicted if predicted else 1.0
        recall = tp / actual if actual else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        total = self.total()
        correct = tp + (total - predicted - actual + tp)
        return {"precision": precision, "recall": recall, "f1": f1, "accuracy": correct / total if total else 1.0,
                "tp": tp, "predicted": predicted, "actual": actual}

    def label_scores(self, label: str) -> dict[str, float]:
        """One label against the rest (planned vs rest, negated vs rest, absent vs rest)."""
        tp = self._count(label, label)
        predicted = self._count(mapped=label)
        actual = self._count(label)
        precision = tp / predicted if predicted else 1.0
        recall = tp / actual if actual else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "predicted": predicted, "actual": actual}

    def accuracy(self) -> float:
        """All four classes (met/partial counted as implemented)."""
        total = self.total()
        return sum(n for (g, s), n in self.confusion.items() if STATUS_TO_GOLD[s] == g) / total if total else 1.0

    def false_implemented_rate(self) -> float:
        """Share of gold planned/negated/absent items the tool calls met or partial."""
        not_impl = self.total() - self._count("implemented")
        wrong = sum(n for (g, s), n in self.confusion.items() if g != "implemented" and s in ("met", "partial"))
        return wrong / not_impl if not_impl else 0.0


def reference_total(gold: GoldApplication, catalogue: Catalogue) -> float:
    return round(sum(catalogue.item(i).points for i, g in gold.items.items() if g.label == "implemented"), 4)


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Spearman rank correlation with average ranks for ties (no scipy needed)."""

    def ranks(values: Sequence[float]) -> list[float]:
        order = sorted(range(len(values)), key=lambda i: values[i])
        out = [0.0] * len(values)
        i = 0
        while i < len(order):
            j = i
            while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
                j += 1
            for k in range(i, j + 1):
                out[order[k]] = (i + j) / 2 + 1
            i = j + 1
        return out

    n = len(xs)
    if n < 2:
        return 1.0
    rx, ry = ranks(xs), ranks(ys)
    mx, my = sum(rx) / n, sum(ry) / n
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    vx = sum((a - mx) ** 2 for a in rx) ** 0.5
    vy = sum((b - my) ** 2 for b in ry) ** 0.5
    return cov / (vx * vy) if vx and vy else 0.0


def pairwise_order(tool: Mapping[str, float], reference: Mapping[str, float], margin: float = 5.0) -> tuple[int, int]:
    """Pairs whose reference totals differ by more than ``margin`` points: (ordered alike, all such pairs)."""
    apps = sorted(tool)
    agree = pairs = 0
    for i, a in enumerate(apps):
        for b in apps[i + 1:]:
            if abs(reference[a] - reference[b]) <= margin:
                continue
            pairs += 1
            agree += (tool[a] - tool[b]) * (reference[a] - reference[b]) > 0
    return agree, pairs
