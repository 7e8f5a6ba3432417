"""The decision log folded into what reviewers see: per item, per application.

An item's current decision is its newest row in the log. Besides it an item can be

- **changed since decided** (“证据或初评已变化，请复核”): the result was re-screened and the
  item's preliminary status, its maximum or its evidence (hash) is not what the decision was
  made on — the decision stays attached, the item counts as open until someone decides again;
- **in conflict** (“有分歧待裁定”): two reviewers' own latest decisions on it (since the last
  settlement) differ in status or score — open until settled; a settlement is a decision too.

Decided = has a current decision, neither changed nor in conflict. An application is 未审 with no
decision, 已完成 when all its items are decided, 审核中 in between. The confirmed total counts
each item at its decided score and an undecided one at its preliminary score.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from .outdir import AppEntry, ItemSnap
from .store import Decision

STATE_NEW = "未审"
STATE_ACTIVE = "审核中"
STATE_DONE = "已完成"
STATES = (STATE_NEW, STATE_ACTIVE, STATE_DONE)
CHANGED = "证据或初评已变化，请复核"
CONFLICT = "有分歧待裁定"


def same_outcome(a: Decision, b: Decision) -> bool:
    return a.to_status == b.to_status and round(a.to_score, 4) == round(b.to_score, 4)


def conflicting(history: list[Decision]) -> list[Decision]:
    """The reviewers' own latest decisions since the last settlement, when they differ."""
    start = 0
    for index, decision in enumerate(history):
        if decision.action == "settle":
            start = index + 1
    latest: dict[str, Decision] = {}
    for decision in history[start:]:
        latest[decision.reviewer] = decision
    mine = sorted(latest.values(), key=lambda d: d.seq)
    if len(mine) < 2 or all(same_outcome(mine[0], other) for other in mine[1:]):
        return []
    return mine


@dataclass
class ItemState:
    snap: ItemSnap
    history: list[Decision]
    current_hash: str | None
    conflict: list[Decision] = field(default_factory=list)

    @property
    def latest(self) -> Decision | None:
        return self.history[-1] if self.history else None

    @property
    def changed(self) -> bool:
        d = self.latest
        if d is None:
            return False
        return (d.prelim_status != self.snap.status or round(d.max_score, 4) != round(self.snap.max_score, 4)
                or (self.current_hash is not None and d.evidence_hash != self.current_hash))

    @property
    def decided(self) -> bool:
        return self.latest is not None and not self.changed and not self.conflict

    @property
    def status(self) -> str:
        return self.latest.to_status if self.latest else self.snap.status

    @property
    def score(self) -> float:
        return self.latest.to_score if self.latest else self.snap.score

    @property
    def flagged(self) -> bool:
        return self.snap.needs_confirmation

    @property
    def attention(self) -> bool:
        """Shown first on the application page: flagged, changed or in conflict."""
        return self.flagged or self.changed or bool(self.conflict)

    @property
    def label(self) -> str:
        if self.latest is None:
            return "未审"
        if self.conflict:
            return CONFLICT
        if self.changed:
            return CHANGED
        if self.latest.action == "settle":
            return "已裁定"
        return "已改判" if self.latest.action == "override" else "已确认"

    @property
    def css(self) -> str:
        if self.latest is None:
            return "open"
        if self.conflict:
            return "conflict"
        return "changed" if self.changed else "decided"


@dataclass
class AppProgress:
    items: int
    decided: int
    flags_left: int
    changed: int
    conflicts: int
    preliminary_total: float | None
    confirmed_total: float | None
    reviewers: list[str]
    last_ms: int | None
    state: str

    @property
    def open(self) -> int:
        return self.items - self.decided


class Ledger:
    """Every decision of the log, grouped by item; fed in seq order as the log grows."""

    def __init__(self) -> None:
        self.by_item: dict[tuple[str, str], list[Decision]] = defaultdict(list)
        self.by_app: dict[str, set[str]] = defaultdict(set)
        self.app_seq: dict[str, int] = {}
        self.last_seq = 0
        self.count = 0

    def add(self, decision: Decision) -> None:
        if decision.seq <= self.last_seq:
            return
        self.by_item[(decision.application, decision.item)].append(decision)
        self.by_app[decision.application].add(decision.item)
        self.app_seq[decision.application] = decision.seq
        self.last_seq = decision.seq
        self.count += 1

    def extend(self, decisions: list[Decision]) -> None:
        for decision in decisions:
            self.add(decision)

    def history(self, app: str, item: str) -> list[Decision]:
        return self.by_item.get((app, item), [])

    def latest(self, app: str, item: str) -> Decision | None:
        found = self.by_item.get((app, item))
        return found[-1] if found else None

    def decided_apps(self) -> list[str]:
        return sorted(self.by_app)

    def item_states(self, entry: AppEntry) -> dict[str, ItemState]:
        hashes = entry.hashes or {}
        out = {}
        for item_id, snap in entry.items.items():
            history = self.by_item.get((entry.name, item_id), [])
            out[item_id] = ItemState(snap=snap, history=history, current_hash=hashes.get(item_id),
                                     conflict=conflicting(history) if len(history) > 1 else [])
        return out

    def progress(self, entry: AppEntry) -> AppProgress:
        states = self.item_states(entry)
        decided = sum(1 for s in states.values() if s.decided)
        touched = self.by_app.get(entry.name, set())
        reviewers = sorted({d.reviewer for item in touched for d in self.by_item[(entry.name, item)]})
        last = max((self.by_item[(entry.name, item)][-1].at_ms for item in touched), default=None)
        if not entry.done:
            state = "—"
        elif not touched:
            state = STATE_NEW
        elif decided == len(states):
            state = STATE_DONE
        else:
            state = STATE_ACTIVE
        confirmed = round(sum(s.score for s in states.values()), 4) if entry.done else None
        return AppProgress(
            items=len(states), decided=decided,
            flags_left=sum(1 for s in states.values() if s.flagged and not s.decided),
            changed=sum(1 for s in states.values() if s.changed),
            conflicts=sum(1 for s in states.values() if s.conflict),
            preliminary_total=entry.row.total, confirmed_total=confirmed, reviewers=reviewers, last_ms=last,
            state=state)
