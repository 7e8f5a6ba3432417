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


# --------------------------------------------------------------------------- corpus figures

CORE_ELEMENTS = ("1", "2", "3")  # what the enterprise has: systems, networks, intelligence
OUTCOME_ELEMENTS = ("4", "5")  # what it achieved and shows others


@dataclass
class BinaryCounts:
    """"Has it" (met/partial) against gold implemented."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, predicted: bool, actual: bool) -> None:
        if predicted and actual:
            self.tp += 1
        elif predicted:
            self.fp += 1
        elif actual:
            self.fn += 1
        else:
            self.tn += 1

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class CorpusFigures:
    """The figures a first-sight batch is recorded with (see samples/corpus/LEDGER.md)."""

    applications: int = 0
    core: BinaryCounts = field(default_factory=BinaryCounts)
    outcomes: BinaryCounts = field(default_factory=BinaryCounts)
    false_has_it: int = 0  # gold planned/negated/absent reported met/partial
    not_implemented: int = 0
    stated_lacks: int = 0  # gold negated …
    lacks_has_it: int = 0  # … reported met/partial
    items: int = 0
    flagged: int = 0
    wrong: int = 0  # has-it calls that disagree with gold
    wrong_flagged: int = 0
    tool_totals: dict[str, float] = field(default_factory=dict)
    gold_totals: dict[str, float] = field(default_factory=dict)
    mismatches: list[Mismatch] = field(default_factory=list)

    def add(self, result: ApplicationResult, gold: GoldApplication, catalogue: Catalogue, *,
            skip_scan_only: bool = False) -> None:
        self.applications += 1
        for item in result.items:
            g = gold.items[item.id]
            if skip_scan_only and g.scan_only:
                continue
            has_it, actual = item.status in ("met", "partial"), g.label == "implemented"
            group = self.core if catalogue.item(item.id).element_id in CORE_ELEMENTS else self.outcomes
            group.add(has_it, actual)
            self.items += 1
            self.flagged += item.needs_confirmation
            if not actual:
                self.not_implemented += 1
                self.false_has_it += has_it
            if g.label == "negated":
                self.stated_lacks += 1
                self.lacks_has_it += has_it
            if has_it != actual:
                self.wrong += 1
                self.wrong_flagged += item.needs_confirmation
            if STATUS_TO_GOLD[item.status] != g.label:
                self.mismatches.append(Mismatch(result.application, item.id, g.label, item.status, item.reasons,
                                                g.scan_only))
        self.tool_totals[result.application] = result.total.score
        self.gold_totals[result.application] = reference_total(gold, catalogue)

    @property
    def false_has_it_rate(self) -> float:
        return self.false_has_it / self.not_implemented if self.not_implemented else 0.0

    @property
    def flag_rate(self) -> float:
        return self.flagged / self.items if self.items else 0.0

    @property
    def wrong_flagged_rate(self) -> float:
        """Of the wrong has-it calls, the share a reviewer is told to confirm."""
        return self.wrong_flagged / self.wrong if self.wrong else 1.0

    @property
    def spearman(self) -> float:
        apps = sorted(self.tool_totals)
        return spearman([self.tool_totals[a] for a in apps], [self.gold_totals[a] for a in apps])

    def summary(self) -> dict[str, float]:
        return {
            "applications": self.applications,
            "core_f1": self.core.f1, "core_p": self.core.precision, "core_r": self.core.recall,
            "outcomes_f1": self.outcomes.f1, "outcomes_p": self.outcomes.precision, "outcomes_r": self.outcomes.recall,
            "false_has_it": self.false_has_it_rate,
            "lacks_has_it": self.lacks_has_it / self.stated_lacks if self.stated_lacks else 0.0,
            "spearman": self.spearman, "flags": self.flag_rate, "wrong_flagged": self.wrong_flagged_rate,
            "tool_mean_total": sum(self.tool_totals.values()) / len(self.tool_totals) if self.tool_totals else 0.0,
            "gold_mean_total": sum(self.gold_totals.values()) / len(self.gold_totals) if self.gold_totals else 0.0,
        }
