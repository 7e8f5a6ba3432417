"""Quantified outcomes: indicator + direction + number + unit ("生产效率提升 23%").

Indicators belong to 4.1.x items (``keywords/4_1_outcomes.yaml``); directions and units are in
``keywords/_quantities.yaml``. Everything runs on the normalised text, inside one comma clause:
"生产效率提升了23%，运营成本降低12%" gives two outcomes, each with its own indicator.
Years ("2023年") are never quantities; where a clause has a "before" and an "after" figure
(合格率从95%提升至99.2%) the figure after the direction word is taken.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass

import ahocorasick

from ..models import Quantity
from .keywords import Indicator, KeywordSet
from .normalize import normalize_key
from .tables import Roles, bare_number, signed_change, unit_in_parens

_YEAR = re.compile(r"(?:19|20)\d\d$")
ROW_LABEL_MAX = 30
_CLAUSE_END = re.compile(r"[,;:。!?]")
_FROM = re.compile(r".{0,3}[由从]")
# against a baseline (比2021年, 较改造前): outcome reporting; 同比 (year on year) is the business of any year
_COMPARES = re.compile(r"(?:比|较)(?:20\d\d年|改造前|上线前|实施前|投用前|改造以前|以前|原来)|与20\d\d年相比")


@dataclass(frozen=True)
class Outcome:
    start: int  # normalised coordinates
    end: int
    indicator: Indicator
    quantity: Quantity


@dataclass(frozen=True)
class WordedOutcome:
    """An outcome stated in words ("次品明显减少"): weaker evidence than a figure."""

    start: int  # normalised coordinates
    end: int
    indicator: Indicator
    change: str
    confidence: float


class QuantityFinder:
    def __init__(self, keywords: KeywordSet):
        spec = keywords.quantities
        self.max_gap = spec.max_gap
        self.lead_gap = spec.lead_gap
        self._capability = tuple(sorted((normalize_key(w) for w in spec.capability.words), key=len, reverse=True))
        self._plan_before_capability = tuple(normalize_key(w) for w in spec.capability.unless_after)
        # direction word → unit → (the indicator it implies, whether it needs a before/after comparison):
        # money saved (节约…万元), time shortened, material saved, a count compared (由2.6次降到1.3次)
        self.implied: dict[str, dict[str, tuple[Indicator, bool]]] = {}
        for rule in ([spec.savings] if spec.savings is not None else []) + list(spec.implied):
            ind = Indicator(rule.item, rule.indicator, "", True)
            for word in rule.directions:
                by_unit = self.implied.setdefault(normalize_key(word), {})
                for unit in rule.units:
                    by_unit.setdefault(normalize_key(unit), (ind, rule.comparison))
        units = sorted({normalize_key(u) for u in spec.units}, key=len, reverse=True)
        # "新增客户260多家", "用工减少30余人": 多/余 between the number and its unit
        self.number = re.compile(
            r"(?<![\d.a-z])(\d+(?:,\d{3})*(?:\.\d+)?)(?:多|余)?(" + "|".join(re.escape(u) for u in units) + ")"
        )
        self.indicators = ahocorasick.Automaton()
        for ind in keywords.indicators:
            self.indicators.add_word(ind.key, ind)
        self.indicators.make_automaton()
        self.directions = ahocorasick.Automaton()
        for kind, words in (("up", spec.up), ("down", spec.down)):
            for word in words:
                key = normalize_key(word)
                self.directions.add_word(key, (key, kind))
        self.directions.make_automaton()
        self.worded = spec.qualitative
        self.worded_indicators = ahocorasick.Automaton()
        for ind in keywords.indicators:
            self.worded_indicators.add_word(ind.key, ind)
        if self.worded is not None:
            for item_id, extra in self.worded.indicators.items():
                for word in extra.words:
                    key = normalize_key(word)
                    self.worded_indicators.add_word(key, Indicator(item_id, word, key, True, extra.improves))
        self.worded_indicators.make_automaton()
        self.changes = ahocorasick.Automaton()
        if self.worded is not None:
            for kind, words in (("up", self.worded.up), ("down", self.worded.down)):
                for word in words:
                    key = normalize_key(word)
                    self.changes.add_word(key, (key, kind))
            self.changes.make_automaton()
            self._degree = tuple(normalize_key(w) for w in self.worded.degree)
            self._comparison = tuple(normalize_key(w) for w in self.worded.comparison)
            self._not_reported = tuple(sorted((normalize_key(w) for w in self.worded.not_reported), key=len, reverse=True))
            self._reported_after = tuple(normalize_key(w) for w in self.worded.reported_after)

    @staticmethod
    def _longest(hits: list[tuple[int, int, object]]) -> list[tuple[int, int, object]]:
        hits.sort(key=lambda h: (h[0], -(h[1] - h[0])))
        out: list[tuple[int, int, object]] = []
        last = -1
        for hit in hits:
            if hit[0] >= last:
                out.append(hit)
                last = hit[1]
        return out

    def scan(self, text: str) -> list[Outcome]:
        numbers = [m for m in self.number.finditer(text) if not (m.group(2) == "年" and _YEAR.match(m.group(1)))]
        if not numbers:
            return []
        inds = self._longest([(e - len(i.key) + 1, e + 1, i) for e, i in self.indicators.iter(text)])
        if not inds and not self.implied:
            return []
        dirs = [(a, b, kind, text[a:b]) for a, b, kind in
                self._longest([(e - len(k) + 1, e + 1, kind) for e, (k, kind) in self.directions.iter(text)])]
        if not inds and not any(d[3] in self.implied for d in dirs):
            return []  # no indicator, and no direction that names one by itself (节约…万元, 缩短到…分钟)
        cuts = [m.end() for m in _CLAUSE_END.finditer(text)]

        def clause(pos: int) -> int:
            return bisect_right(cuts, pos)

        used: set[int] = set()
        out: list[Outcome] = []
        for m in numbers:
            n_start, n_end = m.start(), m.end()
            c = clause(n_start)
            direction = None
            for d in reversed(dirs):
                if d[1] <= n_start and clause(d[0]) == c and n_start - d[1] <= self.max_gap:
                    direction = d
                    break
            if direction is not None and self._capability and self._can_do(text, cuts[c - 1] if c else 0, direction[0]):
                continue  # "用上这套产品的企业，生产成本能降低15%以上": what the product can do, not an outcome
            anchor = direction[0] if direction else n_start
            indicator = None
            # "综合电耗1.86kWh，比2021年下降12.3%": a clause that opens with a comparison (比/较…) goes on with the
            # indicator of the clause before it
            compares = c > 0 and _COMPARES.match(text, cuts[c - 1]) is not None
            for ind in reversed(inds):
                if id(ind) in used or not (clause(ind[0]) == c or (compares and clause(ind[0]) == c - 1)):
                    continue
                if clause(ind[0]) != c:
                    if direction is not None:
                        indicator = ind
                        break
                    continue
                if ind[1] <= anchor and (anchor - ind[1] <= self.max_gap or (
                        anchor - ind[1] <= 2 * self.max_gap and _FROM.match(text, ind[1], anchor))):
                    # "综合电耗由2023年的412kWh/km下降到367kWh/km": the before figure stands in between
                    indicator = ind
                    break
                if direction and ind[1] <= n_start and ind[0] >= direction[1]:
                    indicator = ind  # 提升生产效率23%
                    break
            if indicator is None:
                for ind in inds:  # 节约126吨标煤 / 降低30%的能耗
                    if clause(ind[0]) == c and id(ind) not in used and n_start <= ind[0] <= n_end + 2:
                        indicator = ind
                        break
            if indicator is None and direction is not None:
                # "每年节约面料款约96万元": money saved is a cost outcome whatever the money was spent on;
                # "报价由半天缩短到20分钟": time shortened is an efficiency outcome whatever took the time
                implied = self.implied.get(direction[3], {}).get(m.group(2))
                if implied is not None and (not implied[1] or self._compared(text, cuts[c - 1] if c else 0, direction[0],
                                                                             m.group(2))):
                    indicator = (direction[0], direction[1], implied[0])
            if indicator is None:
                continue
            if direction is None and indicator[1] <= n_start:
                # "新取得水胶体敷料、藻酸盐敷料等二类注册证3个": the direction leads the indicator
                for d in reversed(dirs):
                    if d[1] <= indicator[0] and clause(d[0]) == c and indicator[0] - d[1] <= self.lead_gap:
                        direction = d
                        break
            ind_obj: Indicator = indicator[2]  # type: ignore[assignment]
            if ind_obj.needs_direction and direction is None:
                continue
            if ind_obj.improves and direction is not None and direction[2] != ind_obj.improves:
                continue
            used.add(id(indicator))
            start = min(indicator[0], direction[0] if direction else n_start)
            end = max(n_end, indicator[1])
            value = float(m.group(1).replace(",", ""))
            out.append(
                Outcome(start, end, ind_obj,
                        Quantity(indicator=ind_obj.canonical, direction=direction[2] if direction else "none",  # type: ignore[arg-type]
                                 value=value, unit=m.group(2), text=text[start:end]))
            )
        return out

    def scan_words(self, text: str, figures: list[Outcome]) -> list[WordedOutcome]:
        """Outcomes stated in words: in one clause an indicator and a change word within ``max_gap``,
        reported as having happened (a degree word before the change, 了 after it, or a comparison in the
        clause), not as a capacity or a purpose (能/将/为了 right before it); none where a figure of the
        same indicator was found."""
        spec = self.worded
        if spec is None or len(self.changes) == 0:
            return []
        inds = self._longest([(e - len(i.key) + 1, e + 1, i) for e, i in self.worded_indicators.iter(text)])
        if not inds:
            return []
        changes = self._longest([(e - len(k) + 1, e + 1, (k, kind)) for e, (k, kind) in self.changes.iter(text)])
        if not changes:
            return []
        cuts = [0] + [m.end() for m in _CLAUSE_END.finditer(text)] + [len(text)]
        taken = [(f.start, f.end, f.indicator.item_id) for f in figures]
        out: list[WordedOutcome] = []
        for lo, hi in zip(cuts, cuts[1:]):
            clause_inds = [i for i in inds if lo <= i[0] and i[1] <= hi]
            clause_changes = [c for c in changes if lo <= c[0] and c[1] <= hi]
            if not clause_inds or not clause_changes:
                continue
            compared = any(w in text[lo:hi] for w in self._comparison)
            for c_start, c_end, change in clause_changes:
                word, way = change  # type: ignore[misc]
                before = text[max(lo, c_start - 4):c_start]
                if any(before.endswith(w) for w in self._not_reported):
                    continue
                said = before + str(word)
                # reported as having happened: a degree (明显减少, 成倍增长), 了, a comparative (更好), a comparison
                if not (compared or any(w in said for w in self._degree) or "了" in str(word) or str(word).startswith("更")
                        or text.startswith("了", c_end) or text.startswith(self._reported_after, c_end)):
                    continue
                # the indicators it reports on: before it ("次品明显减少", "能耗和人工成本大大降低"), else right
                # after it ("减少了用工"); one per item, the nearest
                near = [i for i in clause_inds if i[1] <= c_start and c_start - i[1] <= spec.max_gap]
                if not near:
                    near = [i for i in clause_inds if i[0] >= c_end and i[0] - c_end <= spec.max_gap][:1]
                by_item: dict[str, tuple[int, int, object]] = {}
                for ind in sorted(near, key=lambda i: abs(c_start - i[1])):
                    by_item.setdefault(ind[2].item_id, ind)  # type: ignore[attr-defined]
                for i_start, i_end, ind in by_item.values():
                    indicator: Indicator = ind  # type: ignore[assignment]
                    if any(a <= i_start < b and item == indicator.item_id for a, b, item in taken):
                        continue
                    if indicator.improves and way != indicator.improves:
                        continue
                    out.append(WordedOutcome(min(i_start, c_start), max(i_end, c_end), indicator, str(word),
                                             spec.confidence))
        return out

    def _can_do(self, text: str, lo: int, at: int) -> bool:
        """A capability word right before the direction at ``at``, with no plan word before it in the clause."""
        before = text[max(lo, at - 3):at]
        word = next((w for w in self._capability if before.endswith(w)), None)
        return word is not None and not any(p in text[lo:at - len(word)] for p in self._plan_before_capability)

    def _compared(self, text: str, lo: int, hi: int, unit: str) -> bool:
        """"成分调整次数由平均2.6次降到1.3次": the clause states the before figure in the same unit (由/从 …),
        so the count is one thing measured before and after, not a stock (设备增加到45台)."""
        return re.search(rf"[由从][^,;:。!?]{{0,10}}?\d+(?:\.\d+)?(?:多|余)?{re.escape(unit)}", text[lo:hi]) is not None

    # ------------------------------------------------------------------ outcome tables
    def _change(self, text: str) -> tuple[str | None, float | None, str]:
        """(direction, value, unit) of a change cell: "+43.9%", "下降8.3%", "缩短35天", "新增"."""
        signed = signed_change(text)
        if signed:
            return signed
        dirs = self._longest([(e - len(k) + 1, e + 1, kind) for e, (k, kind) in self.directions.iter(text)])
        direction = str(dirs[0][2]) if dirs else None
        for m in self.number.finditer(text):
            if not (m.group(2) == "年" and _YEAR.match(m.group(1))):
                return direction, float(m.group(1).replace(",", "")), m.group(2)
        return direction, None, ""

    def _is_change(self, text: str) -> bool:
        direction, value, _ = self._change(text)
        return direction is not None and value is not None

    def row_outcomes(self, cell: str, row: Callable[[], list[tuple[str | None, str]]], roles: Roles | None) -> list[Outcome]:
        """Outcomes of a table row from its indicator cell (normalised ``cell``, which holds no figure
        itself) and ``row()``: the other cells as (column role, normalised text), asked for only when
        the cell names an indicator."""
        if len(cell) > ROW_LABEL_MAX or next(self.indicators.iter(cell), None) is None:
            return []  # an indicator cell is a short label ("人均产值（万元/人）"), not a description
        inds = self._longest([(e - len(i.key) + 1, e + 1, i) for e, i in self.indicators.iter(cell)])
        if not inds:
            return []
        others = row()
        changes = [t for role, t in others if role == "change"]
        # a row without a change column still states one where a cell reads "+43.9%" / "提高3.3个百分点"
        changes += [t for role, t in others if role is None and self._is_change(t)]
        before = [t for role, t in others if role == "before"]
        after = [t for role, t in others if role == "after"]
        if not changes and not (roles is not None and roles.before and roles.after and before and after):
            return []
        direction: str | None = None
        value: float | None = None
        unit = ""
        for text in changes:
            d, v, u = self._change(text)
            direction = direction or d
            if value is None and v is not None:
                value, unit = v, u
        after_value = next((bare_number(t) for t in after if bare_number(t) is not None), None)
        before_value = next((bare_number(t) for t in before if bare_number(t) is not None), None)
        if value is None and after_value is not None:
            value = after_value
            unit = next((m.group(2) for t in after for m in self.number.finditer(t)), "")
        if not unit and value is not None:
            unit = next((t for role, t in others if role == "unit" and t), "") or unit_in_parens(cell)
        if direction is None and after_value is not None and before_value is not None and after_value != before_value:
            direction = "up" if after_value > before_value else "down"
        if value is None:
            return []
        start, end, indicator = inds[0]
        ind: Indicator = indicator  # type: ignore[assignment]
        if ind.needs_direction and direction is None:
            return []
        return [Outcome(start, end, ind, Quantity(indicator=ind.canonical, direction=direction or "none",  # type: ignore[arg-type]
                                                  value=value, unit=unit, text=cell[start:end]))]
