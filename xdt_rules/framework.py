"""A framework loaded once: catalogue, rule book, keywords and context cues, one fingerprint.

Everything that reads criteria data is handed a :class:`Framework` (screen, batch, report,
audit); nothing resolves a framework from its name a second time. The fingerprint is a digest of
every data file the bundle was built from — ``rules/<framework>/**`` (less its ``tests/``) and
the keywords folder, the default one or the one given with ``--keywords`` — and is the
``rules_version`` written into every result. It is the one way the tool knows that data changed:
a process keeps the bundles it loaded by fingerprint, so loading again after an edit gives the
new data and loading without one gives the same object.

Workers of a batch are sent a :class:`FrameworkRef` and the fingerprint the batch started with;
:func:`load_framework` refuses a folder whose data no longer has that fingerprint (edited while
the batch ran), so one batch is always scored with one version of its rules.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from .catalogue import Catalogue, load_catalogue_file
from .datapaths import DEFAULT_FRAMEWORK, framework_dir, keywords_dir
from .errors import XdtError
from .fsutil import walk_files

if TYPE_CHECKING:
    from .evidence.keywords import KeywordSet
    from .scoring.ruleset import RuleBook

CATALOGUE_FILE = "framework.yaml"
RULES_FILE = "rules.yaml"
# Rule test cases live beside the rules but change no score: editing them must not make
# `xdt batch --resume` re-screen everything or the audit call finished results stale.
_SKIP_TOP = {"tests"}
_DATA_SUFFIXES = (".yaml", ".yml", ".json")  # .json: the learned topic model


class FrameworkRef(BaseModel):
    """Where a framework's data is: what a worker needs to load the same bundle (picklable)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    framework: str = DEFAULT_FRAMEWORK
    keywords: str | None = None


def _data_files(root: Path) -> list[str]:
    """The data files under ``root`` as sorted relative POSIX paths (no tests/, no hidden files)."""
    if not root.is_dir():
        return []
    found = []
    for rel, _, _ in walk_files(str(root)):
        parts = rel.split("/")
        if parts[0] in _SKIP_TOP or any(p.startswith(".") or p == "__pycache__" for p in parts):
            continue
        if rel.endswith(_DATA_SUFFIXES):
            found.append(rel)
    return found


def _digest(roots: list[tuple[str, Path]]) -> str:
    """Paths enter relative to their folder, so the same data checked out anywhere (or packed in
    a wheel) has the same digest."""
    digest = hashlib.sha256()
    for label, root in roots:
        for rel in _data_files(root):
            digest.update(f"{label}/{rel}\0".encode())
            digest.update(hashlib.sha256((root / rel).read_bytes()).digest())
    return digest.hexdigest()[:16]


@dataclass(frozen=True, eq=False)
class Framework:
    """One framework's data, validated and compiled; immutable once loaded."""

    ref: FrameworkRef
    folder: Path
    keywords_folder: Path
    catalogue: Catalogue
    rules: RuleBook
    keywords: KeywordSet
    fingerprint: str  # every data file: the results' rules_version
    evidence_fingerprint: str  # what evidence detection reads: the catalogue and the keywords
    _compiled: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def id(self) -> str:
        return self.catalogue.id

    @property
    def name(self) -> str:
        return self.catalogue.spec.name

    @cached_property
    def rule_names(self) -> dict[str, str]:
        names: dict[str, str] = {}
        for rules in self.rules.items.values():
            for rule in rules.all_rules():
                names.setdefault(rule.key, rule.name or "")
        return names

    def compiled(self, name: str, build: Any) -> Any:
        """A per-process compiled form of the data (the evidence finder, the rule engine), built once."""
        found = self._compiled.get(name)
        if found is None:
            found = self._compiled[name] = build(self)
        return found


_LOADED: dict[tuple[str, str, str], Framework] = {}


def framework_fingerprint(ref: FrameworkRef) -> str:
    folder, keywords = framework_paths(ref)
    return _digest([("rules", folder), ("keywords", keywords)])


def framework_paths(ref: FrameworkRef) -> tuple[Path, Path]:
    """The framework's folder and its keywords folder (the default one unless the ref names another)."""
    folder = Path(framework_dir(ref.framework)).resolve()
    keywords = Path(ref.keywords).resolve() if ref.keywords else keywords_dir().resolve()
    return folder, keywords


def load_framework(framework: str | os.PathLike[str] | FrameworkRef = DEFAULT_FRAMEWORK,
                   keywords: str | os.PathLike[str] | None = None, *, expect: str | None = None) -> Framework:
    """The framework by ID or path, with the default or the given keywords folder.

    Validation errors name the file and the line (:class:`~xdt_rules.errors.DataFileError`).
    ``expect``: the fingerprint the caller started with; other data is refused."""
    ref = framework if isinstance(framework, FrameworkRef) else FrameworkRef(
        framework=str(framework), keywords=str(keywords) if keywords is not None else None)
    folder, keywords_folder = framework_paths(ref)
    fingerprint = _digest([("rules", folder), ("keywords", keywords_folder)])
    if expect is not None and fingerprint != expect:
        raise XdtError("评价框架、规则或关键词在批处理运行期间被修改，请重新运行",
                       "the framework, rules or keywords changed while the batch ran; run it again",
                       file=str(folder))
    key = (str(folder), str(keywords_folder), fingerprint)
    bundle = _LOADED.get(key)
    if bundle is None:
        bundle = _LOADED[key] = _build(ref, folder, keywords_folder, fingerprint)
    return bundle


def _build(ref: FrameworkRef, folder: Path, keywords_folder: Path, fingerprint: str) -> Framework:
    from .evidence.keywords import load_keyword_folder
    from .scoring.ruleset import load_rulebook_file

    catalogue_path = folder / CATALOGUE_FILE
    if not catalogue_path.is_file():
        raise XdtError(f"评价框架缺少 {CATALOGUE_FILE}", f"framework has no {CATALOGUE_FILE}", file=str(folder))
    catalogue = load_catalogue_file(catalogue_path)
    rules_path = folder / RULES_FILE
    if not rules_path.is_file():
        raise XdtError(f"评价框架没有评分规则文件 {RULES_FILE}", f"framework has no {RULES_FILE}", file=str(rules_path))
    book = load_rulebook_file(rules_path, catalogue)
    keyword_set = load_keyword_folder(keywords_folder, catalogue)
    evidence = hashlib.sha256(catalogue.spec.model_dump_json().encode())
    evidence.update(_digest([("keywords", keywords_folder)]).encode())
    return Framework(ref=ref, folder=folder, keywords_folder=keywords_folder, catalogue=catalogue, rules=book,
                     keywords=keyword_set, fingerprint=fingerprint, evidence_fingerprint=evidence.hexdigest()[:16])
