"""The rule engine seam: rule books compiled onto durable-rules. The ONLY module importing it.

Why the care:

* durable-rules cannot redefine a ruleset name in a process, so a ruleset's name carries the
  hash of its compiled definition; an edited rule file becomes a new ruleset, an unchanged one
  is compiled once per process and reused.
* it keeps session state until deleted, so every application gets its own session id and the
  state is deleted afterwards (also when something goes wrong).
* it swallows exceptions raised inside actions (stores a string in the session state), so
  actions record their errors and :meth:`RuleEngine.fire` re-raises them after the post.
* a fact no rule matches raises ``MessageNotHandledException``; here that is a defined outcome
  (an item with no fired rule), not a crash. Worse, ``delete_state`` on a session whose facts
  were ALL unhandled aborts the whole process (C assertion, measured with 2.0.28). So every item
  without an unconditional rule gets a hidden catch-all rule (``_seen``) that fires and records
  nothing: no fact is ever unhandled, and "no rule matched" means "only the catch-all fired".
* ``durable.engine.Host`` starts two timer threads that poll every ruleset; this engine uses no
  timers or async actions, so a host without those threads (safer under fork in batch workers).

Facts are posted one per item (``assert_fact``): a batch assert stops at the first unmatched
fact and leaves the rest unprocessed.

Every rule matches ONE fact (``{"all": [{"m": ...}]}``), so which rules fire for an item is a
function of that item's fact alone: a compiled engine remembers it per distinct fact, and a
fact seen before (most items of most applications: zero mentions, or the same few counts) is
not posted again. In a batch of 100 applications 3,600 item facts held 1,150 distinct ones.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import os
import threading
from collections.abc import Mapping
from typing import Any

from durable import engine as _durable

from .facts import ItemFacts
from .ruleset import OPERATORS, Rule, RuleBook


class RuleEngineError(RuntimeError):
    """A rule action failed inside durable-rules (re-raised after the post) or the engine misbehaved."""


class _QuietHost(_durable.Host):
    def _run(self) -> None:  # no polling threads: we only assert facts synchronously
        return None


_HOST: _QuietHost | None = None
_COMPILED: dict[str, "RuleEngine"] = {}
_LOCK = threading.RLock()
_SESSIONS = itertools.count(1)
_SEEN = "_seen"  # the hidden catch-all's key; never reported


def _host() -> _QuietHost:
    global _HOST
    if _HOST is None:
        _HOST = _QuietHost()
    return _HOST


def _condition(rule: Rule, item_id: str) -> dict[str, Any]:
    terms: list[dict[str, Any]] = [{"item": item_id}]
    for c in rule.conditions:
        if c.op == "==":
            terms.append({c.fact: c.engine_value()})
        else:
            terms.append({OPERATORS[c.op]: {c.fact: c.engine_value()}})
    return {"$and": terms}


class RuleEngine:
    """A compiled rule book. ``fire(facts)`` → the rule keys that fired per item, in rule order."""

    def __init__(self, book: RuleBook):
        self.book = book
        # durable rule name → (item, rule key); rule names are short and ASCII on purpose.
        self._names: dict[str, tuple[str, str]] = {}
        definition: dict[str, dict[str, Any]] = {}
        for item_id, rules in book.items.items():
            for rule in rules.all_rules():
                name = f"r{len(self._names)}"
                self._names[name] = (item_id, rule.key)
                definition[name] = {"all": [{"m": _condition(rule, item_id)}]}
            if not any(not r.conditions for r in rules.all_rules()):
                name = f"r{len(self._names)}"
                self._names[name] = (item_id, _SEEN)
                definition[name] = {"all": [{"m": {"item": item_id}}]}
        # The name carries the hash of everything durable-rules sees plus our name → rule mapping.
        payload = json.dumps([definition, self._names], sort_keys=True, ensure_ascii=False)
        digest = hashlib.sha256(payload.encode()).hexdigest()
        slug = "".join(ch if ch.isalnum() else "_" for ch in book.framework)
        self.ruleset_name = f"xdt_{slug}_{digest[:16]}"
        self._definition = definition
        self._sessions: dict[str, dict[str, Any]] = {}
        self._fired_by_fact: dict[tuple, frozenset[str]] = {}
        self._registered = False
        self.last_session: str | None = None  # for diagnostics and tests: the state is gone after fire()

    # The action of every rule: note which rule fired for which session. Any failure is recorded
    # and re-raised by fire(), because durable-rules would swallow it.
    def _action(self, name: str, c: Any) -> None:
        session = self._sessions[c.m["sid"]]
        session["handled"] = True
        try:
            self._record(session, name, c)
        except BaseException as exc:  # noqa: BLE001 - surfaced after the post
            session["errors"].append(exc)
            raise

    def _record(self, session: dict[str, Any], name: str, c: Any) -> None:
        item_id, key = self._names[name]
        if c.m["item"] != item_id:
            raise RuleEngineError(f"rule {key} fired for item {c.m['item']}, compiled for {item_id}")
        session["fired"].setdefault(item_id, set()).add(key)

    def _register(self) -> None:
        if self._registered:
            return
        rules = copy.deepcopy(self._definition)  # durable-rules pops "run" from what it is given
        for name, rule in rules.items():
            rule["run"] = (lambda n: (lambda c: self._action(n, c)))(name)
        _host().register_rulesets({self.ruleset_name: rules})
        self._registered = True

    def fire(self, facts: Mapping[str, ItemFacts]) -> dict[str, list[str]]:
        """The fired rule keys per item, in rule order; items whose fact matched no rule map to
        an empty list. Facts not seen before are posted, one per item, in a fresh session."""
        for item_id in facts:
            if item_id not in self.book.items:
                raise RuleEngineError(f"no rules for item {item_id}")
        keyed = {item_id: (item_id, *item_facts.as_fact().values()) for item_id, item_facts in facts.items()}
        new = {item_id: facts[item_id] for item_id, key in keyed.items() if key not in self._fired_by_fact}
        if new:
            fired = self._post(new)
            if len(self._fired_by_fact) > _MAX_REMEMBERED:
                self._fired_by_fact.clear()
            for item_id in new:
                self._fired_by_fact[keyed[item_id]] = frozenset(fired.get(item_id, ()))
        out: dict[str, list[str]] = {}
        for item_id, key in keyed.items():
            keys = self._fired_by_fact[key]
            out[item_id] = [r.key for r in self.book.items[item_id].all_rules() if r.key in keys]
        return out

    def _post(self, facts: Mapping[str, ItemFacts]) -> dict[str, set[str]]:
        """Post one fact per item in a fresh session: the rule keys that fired per item."""
        with _LOCK:
            self._register()
            sid = f"{os.getpid()}-{next(_SESSIONS)}"
            self.last_session = sid
            session: dict[str, Any] = {"fired": {}, "errors": [], "handled": False}
            self._sessions[sid] = session
            host = _host()
            try:
                for item_id, item_facts in facts.items():
                    fact = {"sid": sid, "item": item_id, **item_facts.as_fact()}
                    try:
                        state = host.assert_fact(self.ruleset_name, fact)
                    except _durable.MessageNotHandledException:
                        state = None  # cannot happen with the catch-all; still a defined outcome
                    if session["errors"]:
                        exc = session["errors"][0]
                        raise RuleEngineError(f"规则动作出错 / rule action failed: {type(exc).__name__}: {exc}") from exc
                    if isinstance(state, dict) and state.get("exception"):
                        raise RuleEngineError(f"规则动作出错 / rule action failed: {state['exception']}")
            finally:
                del self._sessions[sid]
                # Only a session where some rule fired is safe to delete (see module docstring);
                # one that never got that far holds a few bytes and is left alone.
                if session["handled"]:
                    try:
                        host.delete_state(self.ruleset_name, sid)
                    except Exception:  # noqa: BLE001 - already gone
                        pass
        return session["fired"]


# distinct item facts remembered per compiled engine (a few hundred bytes each)
_MAX_REMEMBERED = 200_000


def session_exists(engine: RuleEngine, sid: str) -> bool:
    """Whether durable-rules still holds state for a session (it must not after fire())."""
    try:
        _host().get_state(engine.ruleset_name, sid)
    except Exception:  # noqa: BLE001 - durable raises a bare Exception for an unknown sid
        return False
    return True


_BY_BOOK: dict[int, tuple[RuleBook, RuleEngine]] = {}


def engine_for(book: RuleBook) -> RuleEngine:
    """The compiled engine of a rule book, once per process per rule content."""
    with _LOCK:
        known = _BY_BOOK.get(id(book))
        if known is not None and known[0] is book:
            return known[1]
        eng = RuleEngine(book)
        cached = _COMPILED.get(eng.ruleset_name)
        if cached is None:
            _COMPILED[eng.ruleset_name] = cached = eng
        _BY_BOOK[id(book)] = (book, cached)  # keeps the book alive, so its id is not reused
        return cached
