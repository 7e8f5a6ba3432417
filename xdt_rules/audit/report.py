"""``run_audit``: the audit sections that the given inputs allow, in one :class:`AuditReport`.

* always: the static audit of the framework's rules and the keyword folder;
* with ``results``: the dynamic audit of a screened batch, and the uncovered vocabulary when the
  applications' text can be found (see :mod:`.documents`);
* with ``results`` and ``gold``: agreement with the reference labels.

The report is deterministic for the same inputs (no timestamps), so two audits can be diffed.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, computed_field

from .. import __version__
from ..datapaths import DEFAULT_FRAMEWORK
from ..errors import DataFileError, XdtError
from .agreement import AgreementAudit
from .documents import DocumentSource
from .dynamic import DynamicAudit
from .findings import Finding, count_levels, sort_findings
from .static import StaticAudit
from .vocabulary import VocabularyAudit


class AuditOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    framework: str = DEFAULT_FRAMEWORK
    keywords: str | None = Field(None, description="keywords folder (default: the shipped one / XDT_DATA_DIR)")
    results: str | None = Field(None, description="folder of screening result JSON files")
    gold: str | None = Field(None, description="labels: gold YAML or reviewer CSV, a file or a folder")
    docs: str | None = Field(None, description="folder the applications were screened from")
    cache: str | None = Field(None, description="parsed-document cache (default RESULTS/.cache)")
    vocabulary: bool = True
    top: int = Field(40, ge=1)
    min_count: int = Field(3, ge=1)
    stoplists: list[str] = Field(default_factory=list)
    ocr: str = "off"
    count_scan_only: bool = False


class AuditReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tool_version: str = __version__
    framework: str
    options: AuditOptions
    static: StaticAudit
    dynamic: DynamicAudit | None = None
    agreement: AgreementAudit | None = None
    vocabulary: VocabularyAudit | None = None
    documents: list[DocumentSource] = Field(default_factory=list)
    notes: list[Finding] = Field(default_factory=list, description="what the audit could not do, and why")

    @property
    def findings(self) -> list[Finding]:
        found = list(self.static.findings) + (list(self.dynamic.findings) if self.dynamic else []) + list(self.notes)
        return sort_findings(found)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def summary(self) -> dict[str, int]:
        """Findings per level over all sections."""
        return count_levels(self.findings)

    def levels(self) -> dict[str, int]:
        return count_levels(self.findings)

    def exit_code(self, strict: bool = False) -> int:
        levels = self.levels()
        return 1 if levels["error"] or (strict and levels["warning"]) else 0


def _note(level: str, code: str, zh: str, en: str, **extra: object) -> Finding:
    return Finding(level=level, code=code, message_zh=zh, message_en=en, **extra)  # type: ignore[arg-type]


def run_audit(options: AuditOptions) -> AuditReport:
    from ..framework import FrameworkRef, load_framework
    from .static import static_audit

    if options.gold and not options.results:
        raise XdtError("与标注比对需要预审结果：请同时给出 --results", "--gold needs --results (the screened batch)")
    ref = FrameworkRef(framework=options.framework, keywords=options.keywords)
    static = static_audit(ref)
    report = AuditReport(framework=static.framework, options=options, static=static)
    if not options.results:
        return report

    from .results import load_results

    results = load_results(options.results)
    for name, reason in results.skipped:
        report.notes.append(_note("info", "not_a_result", f"跳过 {name}：{reason}", f"skipped {name}: {reason}",
                                  file=str(Path(options.results) / name)))
    try:
        framework = load_framework(ref)
    except DataFileError as exc:
        report.notes.append(_note("error", "dynamic_skipped", f"关键词或规则有错误，无法做命中统计：{exc.reason_zh}",
                                  f"keywords or rules are broken, no hit counts: {exc.reason_en}", file=exc.data_file,
                                  line=exc.line))
        return report
    from .dynamic import dynamic_audit

    catalogue, keywords = framework.catalogue, framework.keywords
    report.dynamic = dynamic_audit(results.results, catalogue=catalogue, keywords=keywords, book=framework.rules,
                                   results_dir=options.results, current_rules_version=framework.fingerprint)

    documents = {}
    if options.vocabulary or options.gold:
        from .documents import load_documents_for

        documents, report.documents = load_documents_for(results.results, options.results, docs_dir=options.docs,
                                                         cache_dir=options.cache, ocr=options.ocr)
        missing = [s.application for s in report.documents if s.missing]
        if missing:
            report.notes.append(_note(
                "info", "no_text", f"{len(missing)} 份申报材料的部分或全部文字找不到（{', '.join(missing[:5])}"
                f"{' …' if len(missing) > 5 else ''}）；用 --docs 指定当初预审的申报材料目录",
                f"text of {len(missing)} applications is partly or wholly missing; give --docs (the folder screened)"))
    if options.gold:
        from .agreement import agreement_audit
        from .labels import load_labels

        labels = load_labels(options.gold, catalogue)
        report.agreement = agreement_audit(results.results, labels, catalogue=catalogue, documents=documents,
                                           count_scan_only=options.count_scan_only)
        if not report.agreement.applications:
            report.notes.append(_note("warning", "no_labelled_results", "标注与预审结果没有共同的申报（名称不一致？）",
                                      "no application has both a result and labels (names differ?)"))
    if options.vocabulary:
        if any(documents.values()):
            from .vocabulary import load_mining_data, uncovered_vocabulary

            report.vocabulary = uncovered_vocabulary(documents, framework,
                                                     data=load_mining_data(options.stoplists), top=options.top,
                                                     min_count=options.min_count)
        else:
            report.notes.append(_note("info", "vocabulary_skipped", "没有找到申报材料的文字，未做未覆盖词语分析（用 --docs 指定）",
                                      "no application text found: no uncovered vocabulary (give --docs)"))
    return report
