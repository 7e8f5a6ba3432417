"""Agreement between reviewers: Cohen's κ on the status of items two reviewers decided.

For each item that two or more reviewers decided, the two who decided it first are its two
raters and their own latest decisions (settlements left out: they are not a rating) are the
pair. κ = (p_o − p_e) / (1 − p_e) over the five statuses, per element and overall; and for every
pair of reviewers over the items both decided. When both raters used one and the same status
throughout, p_e = 1 and κ is undefined (shown as “—”), although they agreed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from itertools import combinations

from . import STATUSES
from .ledger import Ledger, conflicting
from .store import Decision


@dataclass(frozen=True)
class Kappa:
    n: int
    observed: float | None
    expected: float | None
    kappa: float | None


def cohen_kappa(pairs: list[tuple[str, str]], categories: tuple[str, ...] = STATUSES) -> Kappa:
    n = len(pairs)
    if n == 0:
        return Kappa(0, None, None, None)
    agree = sum(1 for a, b in pairs if a == b)
    first, second = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    observed = agree / n
    expected = sum(first[c] * second[c] for c in set(categories) | set(first) | set(second)) / (n * n)
    kappa = None if expected >= 1.0 else (observed - expected) / (1.0 - expected)
    return Kappa(n, round(observed, 4), round(expected, 4), None if kappa is None else round(kappa, 4))


@dataclass
class Rated:
    application: str
    item: str
    first: Decision
    second: Decision


@dataclass
class Conflict:
    application: str
    item: str
    item_name: str
    decisions: list[Decision]
    latest_seq: int


@dataclass
class AgreementReport:
    overall: Kappa
    elements: list[tuple[str, str, Kappa]]
    pairs: list[tuple[str, str, Kappa]]
    rated: list[Rated]
    confusion: dict[str, dict[str, int]]
    score_agreement: float | None
    conflicts: list[Conflict] = field(default_factory=list)
    reviewers: list[str] = field(default_factory=list)


def _own_latest(history: list[Decision]) -> dict[str, Decision]:
    """Each reviewer's latest own decision, in the order the reviewers first decided."""
    order: list[str] = []
    latest: dict[str, Decision] = {}
    for decision in history:
        if decision.action == "settle":
            continue
        if decision.reviewer not in latest:
            order.append(decision.reviewer)
        latest[decision.reviewer] = decision
    return {r: latest[r] for r in order}


def agreement(ledger: Ledger, *, elements: list[tuple[str, str]], item_names: dict[str, str]) -> AgreementReport:
    rated: list[Rated] = []
    by_pair: dict[tuple[str, str], list[tuple[str, str]]] = {}
    reviewers: set[str] = set()
    conflicts: list[Conflict] = []
    for (app, item), history in sorted(ledger.by_item.items(), key=lambda kv: (kv[0][0], _id_key(kv[0][1]))):
        own = _own_latest(history)
        reviewers.update(own)
        if len(own) >= 2:
            names = list(own)
            rated.append(Rated(app, item, own[names[0]], own[names[1]]))
            for a, b in combinations(sorted(names), 2):
                by_pair.setdefault((a, b), []).append((own[a].to_status, own[b].to_status))
        found = conflicting(history) if len(history) > 1 else []
        if found:
            conflicts.append(Conflict(app, item, item_names.get(item, item), found, history[-1].seq))
    pairs = [(r.first.to_status, r.second.to_status) for r in rated]
    confusion = {a: {b: 0 for b in STATUSES} for a in STATUSES}
    for a, b in pairs:
        if a in confusion and b in confusion[a]:
            confusion[a][b] += 1
    per_element = []
    for element_id, element_name in elements:
        mine = [(r.first.to_status, r.second.to_status) for r in rated if r.item.split(".")[0] == element_id]
        per_element.append((element_id, element_name, cohen_kappa(mine)))
    same_score = sum(1 for r in rated if round(r.first.to_score, 4) == round(r.second.to_score, 4))
    return AgreementReport(
        overall=cohen_kappa(pairs), elements=per_element,
        pairs=[(a, b, cohen_kappa(v)) for (a, b), v in sorted(by_pair.items())],
        rated=rated, confusion=confusion, score_agreement=round(same_score / len(rated), 4) if rated else None,
        conflicts=conflicts, reviewers=sorted(reviewers))


def _id_key(dotted: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in dotted.split("."))
