"""The review behind one object: OUT, the decision store and the ledger, with the operations the
web app and the CLI need (list, application page, decide, settle, agreement, log, export).

Every operation first catches up with the log (rows another process or thread appended) and
notices a re-screen of OUT (result files or the manifest changed), so what a reviewer sees and
what a write is checked against are always the newest.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from markupsafe import Markup

from ..datapaths import DEFAULT_FRAMEWORK
from ..errors import XdtError
from ..models import ApplicationResult, ItemResult
from . import DB_NAME, STATUSES
from .agreement import AgreementReport, agreement
from .ledger import STATES, AppProgress, ItemState, Ledger
from .outdir import AppEntry, OutDir, snapshot_key
from .store import ACTIONS, Decision, NewDecision, StaleWrite, Store

MAX_COMMENT = 2000
SORTS = ("rank", "name", "preliminary", "confirmed", "progress", "flags", "state", "reviewer", "updated")


class ReviewError(XdtError):
    """A request that cannot be carried out (bad input, unknown application): HTTP ``status``."""

    def __init__(self, reason_zh: str, reason_en: str, *, status: int = 400, file: str | None = None):
        super().__init__(reason_zh, reason_en, file=file, code="review")
        self.status = status


@dataclass
class ListRow:
    entry: AppEntry
    progress: AppProgress


@dataclass
class AppPage:
    entry: AppEntry
    result: ApplicationResult
    progress: AppProgress
    states: dict[str, ItemState]
    hashes: dict[str, str]
    sections: dict[str, Markup]
    parts: list[tuple[str, list[tuple[str, str, list[str]]]]]
    crops: bool
    files_root: bool
    previous: str | None
    following: str | None
    item_text: dict[str, str] = field(default_factory=dict)
    items: dict[str, ItemResult] = field(default_factory=dict)


def load_names(framework: str) -> tuple[object, dict[str, str]]:
    """The catalogue (element and item names, criteria texts) and the rule names, without the
    keywords: that is all the review shows, and it loads in a fraction of a second."""
    from ..catalogue import load_catalogue_file
    from ..datapaths import framework_dir
    from ..scoring.ruleset import load_rulebook_file

    folder = framework_dir(framework)
    catalogue = load_catalogue_file(folder / "framework.yaml")
    names: dict[str, str] = {}
    try:
        book = load_rulebook_file(folder / "rules.yaml", catalogue)
        for rules in book.items.values():
            for rule in rules.all_rules():
                names.setdefault(rule.key, rule.name or "")
    except (XdtError, OSError):
        pass  # a rules file broken since the batch only costs the rules' names on the page
    return catalogue, names


class ReviewService:
    def __init__(self, out_dir: str | Path, *, db: str | Path | None = None, cache_dir: str | Path | None = None,
                 sources: str | Path | None = None, framework: str | None = None, create: bool = True,
                 defer: bool = False):
        """``defer``: open the database now, read OUT later (:meth:`load`, in a thread) — the
        server listens at once and the first page waits for the index (see :meth:`wait_ready`)."""
        self.out = OutDir(out_dir, cache_dir=cache_dir, sources=sources)
        db_path = Path(db) if db else Path(out_dir) / DB_NAME
        if not create and not db_path.is_file():
            raise XdtError("找不到审核记录数据库（用 --db 指定）", "decision database not found (give it with --db)",
                           file=str(db_path))
        self.store = Store(db_path)
        self._lock = threading.RLock()
        self._render_lock = threading.Lock()  # pdfium is not thread-safe: one rendering at a time
        self._sections: OrderedDict[tuple[str, str], tuple[list[str], bool]] = OrderedDict()
        self._progress: dict[str, tuple[tuple, AppProgress]] = {}
        self.ledger = Ledger()
        self._framework = framework
        self.framework_id = framework or DEFAULT_FRAMEWORK
        self._names: tuple[object, dict[str, str]] | None = None
        self._names_lock = threading.Lock()
        self._ready = threading.Event()
        self._load_error: BaseException | None = None
        if not defer:
            self.load()

    def load(self) -> None:
        """Read OUT (the summary's rows), the decision log, and the fingerprints of decided applications."""
        import gc

        gc.disable()  # reading 700 results makes millions of objects and no cycles: collections only cost time
        try:
            with self._lock:
                self.out.load(self.store.snapshots())
                self.ledger.extend(self.store.decisions())
                self._fingerprint(self.ledger.decided_apps())
                self.framework_id = (self._framework or (self.out.summary.framework if self.out.summary else None)
                                     or DEFAULT_FRAMEWORK)
        except BaseException as exc:
            self._load_error = exc
            raise
        finally:
            gc.enable()
            gc.freeze()  # the index lives as long as the server: later collections need not scan it
            self._ready.set()

    def wait_ready(self, timeout: float = 120.0) -> None:
        if not self._ready.wait(timeout):
            raise XdtError("正在读取输出目录，请稍候刷新", "still reading the output folder; reload in a moment")
        if self._load_error is not None:
            error = self._load_error
            if isinstance(error, XdtError):
                raise error
            raise XdtError(f"读取输出目录失败：{type(error).__name__}: {error}",
                           f"reading the output folder failed: {type(error).__name__}: {error}")

    def warm(self) -> None:
        """What the first application page would otherwise wait for: names and the report code."""
        self._load_names()
        from ..report import crops, html  # noqa: F401

    def _load_names(self) -> tuple[object, dict[str, str]]:
        with self._names_lock:
            if self._names is None:
                self._names = load_names(self.framework_id)
            return self._names

    @property
    def catalogue(self):  # noqa: ANN201 - a Catalogue
        return self._load_names()[0]

    @property
    def rule_names(self) -> dict[str, str]:
        return self._load_names()[1]

    def close(self) -> None:
        self.store.close()

    # ------------------------------------------------------------------ keeping up

    def _fingerprint(self, names: list[str]) -> None:
        found = self.out.fingerprints_of(names)
        self.store.put_snapshots(found)

    def sync(self) -> None:
        self.wait_ready()
        with self._lock:
            self.ledger.extend(self.store.decisions(self.ledger.last_seq))
            if self.out.changed():
                self.out.load(self.store.snapshots())
                self._progress.clear()
                self._fingerprint(self.ledger.decided_apps())

    @property
    def elements(self) -> list[tuple[str, str]]:
        return [(e.id, e.name) for e in self.catalogue.spec.elements]  # type: ignore[attr-defined]

    def item_names(self) -> dict[str, str]:
        return {i.id: i.name for i in self.catalogue.items}  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ the list

    def progress(self, entry: AppEntry) -> AppProgress:
        key = (self.ledger.app_seq.get(entry.name, 0), entry.signature, entry.hashes is not None)
        cached = self._progress.get(entry.name)
        if cached is not None and cached[0] == key:
            return cached[1]
        found = self.ledger.progress(entry)
        self._progress[entry.name] = (key, found)
        return found

    def rows(self, *, q: str = "", state: str = "", reviewer: str = "", only: str = "", sort: str = "rank",
             descending: bool = False) -> list[ListRow]:
        """The applications with their progress, filtered and sorted (failed ones last, unsorted)."""
        self.sync()
        with self._lock:
            rows = [ListRow(self.out.entries[name], self.progress(self.out.entries[name])) for name in self.out.order]
        needle = q.strip().lower()
        if needle:
            rows = [r for r in rows if needle in r.entry.name.lower()]
        if state in STATES:
            rows = [r for r in rows if r.progress.state == state]
        if reviewer:
            rows = [r for r in rows if reviewer in r.progress.reviewers]
        if only == "flags":
            rows = [r for r in rows if r.progress.flags_left > 0]
        elif only == "changed":
            rows = [r for r in rows if r.progress.changed > 0]
        elif only == "conflicts":
            rows = [r for r in rows if r.progress.conflicts > 0]
        done = [r for r in rows if r.entry.done]
        rest = [r for r in rows if not r.entry.done]
        keys = {
            "rank": lambda r: (r.entry.row.rank or 0,),
            "name": lambda r: (r.entry.name,),
            "preliminary": lambda r: (r.progress.preliminary_total or 0.0, r.entry.name),
            "confirmed": lambda r: (r.progress.confirmed_total or 0.0, r.entry.name),
            "progress": lambda r: (r.progress.decided, r.entry.row.rank or 0),
            "flags": lambda r: (r.progress.flags_left, r.entry.row.rank or 0),
            "state": lambda r: (STATES.index(r.progress.state) if r.progress.state in STATES else 9,
                                r.entry.row.rank or 0),
            "reviewer": lambda r: ("、".join(r.progress.reviewers) or "\uffff", r.entry.row.rank or 0),
            "updated": lambda r: (r.progress.last_ms or 0, r.entry.row.rank or 0),
        }
        done.sort(key=keys.get(sort, keys["rank"]), reverse=descending)
        return done + rest

    def reviewers(self) -> list[str]:
        return sorted({d.reviewer for history in self.ledger.by_item.values() for d in history})

    # ------------------------------------------------------------------ an application

    def _entry(self, name: str) -> AppEntry:
        entry = self.out.entry(name)
        if entry is None:
            raise ReviewError("没有这份申报", "no such application", status=404, file=name)
        if not entry.done:
            raise ReviewError(f"这份申报没有预审结果（{entry.row.state}：{entry.row.reason or ''}）",
                              "this application has no screening result", status=404, file=name)
        return entry

    def _current(self, name: str) -> tuple[AppEntry, ApplicationResult, dict[str, dict]]:
        """The application's result as it is on disk now; a re-screen seen here reloads OUT."""
        entry = self._entry(name)
        result, prints, signature = self.out.read(name)
        if signature != entry.signature:
            with self._lock:
                self.out.load(self.store.snapshots())
                self._progress.clear()
            entry = self._entry(name)
        with self._lock:
            if entry.hashes is None:
                entry.hashes = {k: v["hash"] for k, v in prints.items()}
                self.store.put_snapshots({name: (snapshot_key(signature), result.rules_version, prints)})
        return entry, result, prints

    def _render_sections(self, entry: AppEntry, result: ApplicationResult) -> tuple[list[str], bool]:
        """The report's own rendering of each item's evidence (passages, marks, page crops)."""
        from ..cache import CropCache
        from ..report.crops import CropRenderer
        from ..report.html import evidence_sections

        key = (entry.name, entry.signature or "")
        with self._lock:
            cached = self._sections.get(key)
            if cached is not None:
                self._sections.move_to_end(key)
                return cached
        with self._render_lock:
            documents = self.out.documents(entry.name, result)
            renderer = CropRenderer(documents, cache=CropCache(self.out.cache_dir / "crops")) if documents else None
            try:
                sections = evidence_sections(result, documents, renderer)
            finally:
                if renderer is not None:
                    renderer.close()
            made = renderer is not None and renderer.made > 0
        with self._lock:
            self._sections[key] = (sections, made)
            while len(self._sections) > 24:
                self._sections.popitem(last=False)
        return sections, made

    def page(self, name: str) -> AppPage:
        self.sync()
        entry, result, prints = self._current(name)
        sections, crops = self._render_sections(entry, result)
        with self._lock:
            states = self.ledger.item_states(entry)
            progress = self.progress(entry)
            order = [n for n in self.out.order if self.out.entries[n].done]
        by_element: dict[str, list[str]] = {}
        item_ids = [i.id for i in result.items]
        for item_id in item_ids:
            by_element.setdefault(item_id.split(".")[0], []).append(item_id)
        parts = []
        for title, wanted in (("需重点审核（需人工确认、已变化或有分歧）", True), ("其他评价项", False)):
            groups = []
            for element_id, element_name in self.elements:
                ids = [i for i in by_element.get(element_id, []) if i in states and states[i].attention == wanted]
                if ids:
                    groups.append((element_id, element_name, ids))
            if groups:
                parts.append((title, groups))
        position = order.index(name) if name in order else -1
        texts = {i.id: i.text for i in self.catalogue.items}  # type: ignore[attr-defined]
        return AppPage(entry=entry, result=result, progress=progress, states=states,
                       hashes={k: v["hash"] for k, v in prints.items()},
                       sections={item.id: Markup(html) for item, html in zip(result.items, sections)},
                       parts=parts, crops=crops, files_root=self.out.file_root(name) is not None,
                       previous=order[position - 1] if position > 0 else None,
                       following=order[position + 1] if 0 <= position < len(order) - 1 else None,
                       item_text=texts, items={i.id: i for i in result.items})

    def item_state(self, name: str, item: str) -> tuple[ItemState, AppProgress, str]:
        with self._lock:
            entry = self._entry(name)
            state = self.ledger.item_states(entry)[item]
            return state, self.progress(entry), (entry.hashes or {}).get(item, "")

    # ------------------------------------------------------------------ deciding

    def decide(self, reviewer: str, name: str, item: str, *, action: str, base_seq: int, evidence_hash: str,
               status: str | None = None, score: object = None, comment: str = "") -> Decision:
        """Record a reviewer's decision on one item (see :class:`~.store.Store.record` for the
        stale-view check). ``confirm`` keeps the item's current outcome (the newest decision, or
        the preliminary one); ``override`` and ``settle`` set a status and a score and need a
        comment; ``settle`` is only for an item in conflict."""
        if action not in ACTIONS:
            raise ReviewError(f"未知操作 {action}", f"unknown action {action}")
        self.sync()
        entry, result, prints = self._current(name)
        if item not in entry.items:
            raise ReviewError(f"未知评价项 {item}", f"unknown item {item}", file=name)
        snap = entry.items[item]
        now = prints.get(item)
        if now is None or now["hash"] != evidence_hash:
            raise StaleWrite(self.ledger.latest(name, item),
                             reason_zh="预审结果在您打开页面后已更新（重新评分），请刷新页面，看过新的证据后再决定",
                             reason_en="the results were re-screened after you opened the page; reload and decide again")
        latest = self.ledger.latest(name, item)
        from_status, from_score = (latest.to_status, latest.to_score) if latest else (snap.status, snap.score)
        comment = (comment or "").strip()
        if len(comment) > MAX_COMMENT:
            raise ReviewError(f"意见不能超过 {MAX_COMMENT} 字", f"a comment has at most {MAX_COMMENT} characters")
        if action == "confirm":
            to_status, to_score = from_status, from_score
        else:
            if status not in STATUSES:
                raise ReviewError("请选择状态：已具备、证据较弱、仅有规划、明确未具备或未找到",
                                  f"status must be one of {', '.join(STATUSES)}")
            to_score = _score(score, snap.max_score)
            to_status = status
            if not comment:
                raise ReviewError("改判或裁定必须填写意见", "an override or a settlement needs a comment")
            if action == "settle":
                with self._lock:
                    state = self.ledger.item_states(entry)[item]
                if not state.conflict:
                    raise ReviewError("该项没有待裁定的分歧", "this item has no conflict to settle")
        new = NewDecision(reviewer=reviewer, application=name, item=item, action=action, from_status=from_status,
                          from_score=from_score, to_status=to_status, to_score=to_score, comment=comment,
                          rules_version=result.rules_version, evidence_hash=evidence_hash,
                          prelim_status=snap.status, prelim_score=snap.score, max_score=snap.max_score)
        decision = self.store.record(new, base_seq=base_seq)
        with self._lock:
            self.ledger.extend(self.store.decisions(self.ledger.last_seq))
        return decision

    # ------------------------------------------------------------------ agreement, log

    def agreement(self) -> AgreementReport:
        self.sync()
        with self._lock:
            return agreement(self.ledger, elements=self.elements, item_names=self.item_names())

    def log(self, application: str | None = None, limit: int = 500) -> tuple[list[Decision], int]:
        self.sync()
        decisions = self.store.decisions(application=application)
        return list(reversed(decisions))[:limit], len(decisions)

    # ------------------------------------------------------------------ export

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Up to date with the log and OUT, and held so: an export reads one consistent state."""
        self.sync()
        with self._lock:
            yield


def _score(value: object, maximum: float) -> float:
    try:
        score = float(str(value).strip())
    except (TypeError, ValueError):
        raise ReviewError("分数必须是数字", "the score must be a number") from None
    if not math.isfinite(score) or score < 0 or score > maximum + 1e-9:
        raise ReviewError(f"分数应在 0 到 {maximum:g} 之间", f"the score must be between 0 and {maximum:g}")
    if abs(round(score, 4) - score) > 1e-9:
        raise ReviewError("分数最多四位小数", "at most four decimals")
    return min(round(score, 4), maximum)
