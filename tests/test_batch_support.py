"""Helpers for the batch tests (no tests here): test files, a stand-in screening pipeline and
extractors that hang or crash on purpose.

Everything that runs in a worker is a module-level function so that it pickles by reference
(workers are spawned; they import this module from ``tests/``, which is on ``sys.path``).
The stand-in pipeline runs the REAL batch machinery (inputs, zip safety, cache, executor,
manifest, summary, duplicates); only the per-application scoring is simplified: an item is
"met" when its acronym or name occurs in the text.
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from xdt_rules import __version__
from xdt_rules.fsutil import atomic_write_text
from xdt_rules.batch.work import BatchPipeline, screen_pipeline
from xdt_rules.datapaths import DEFAULT_FRAMEWORK
from xdt_rules.framework import Framework
from xdt_rules.screen import ApplicationInput, ScreenOutcome, display_path
from xdt_rules.errors import IngestError
from xdt_rules.models import (
    ApplicationResult,
    Block,
    Document,
    ElementResult,
    EvidenceRef,
    FileEvidence,
    FileRecord,
    ItemResult,
    PageInfo,
    Total,
)

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "pdfminer-samples"
TESTS_DIR = Path(__file__).resolve().parent

FAKE_EXTRACTOR_VERSION = "fake-extract-1"


# --------------------------------------------------------------------------- stand-in extraction

def fake_extract(path: Path, options: Any = None) -> Document:
    """Text files by paragraphs, PDFs through pypdfium2; misbehaves on purpose by file name:
    ``hang*`` sleeps for an hour, ``crash*`` exits the process, ``segv*`` segfaults,
    ``slow*`` sleeps ``XDT_TEST_SLOW`` seconds (default 0.5), ``killparent*`` kills the process
    that started this one (on a Dask cluster: the Dask worker itself, as a machine dying would)."""
    path = Path(path)
    name = path.name.lower()
    if name.startswith("hang"):
        time.sleep(3600)
    if name.startswith("crash"):
        os._exit(7)
    if name.startswith("segv"):
        os.kill(os.getpid(), signal.SIGSEGV)
    if name.startswith("killparent"):
        os.kill(os.getppid(), signal.SIGKILL)
        time.sleep(3600)
    if name.startswith("slow"):
        time.sleep(float(os.environ.get("XDT_TEST_SLOW", "0.5")))
    log = os.environ.get("XDT_TEST_PARSELOG")
    if log:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(f"{path}\n")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError("无法读取文件", "cannot read", file=str(path), code="not_found") from exc
    sha = hashlib.sha256(data).hexdigest()
    suffix = path.suffix.lower()
    blocks: list[Block] = []
    pages = None
    page_info: list[PageInfo] = []
    if suffix in (".txt", ".md"):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise IngestError("文本不是 UTF-8", "not UTF-8", file=str(path), code="corrupt") from exc
        for para in re.split(r"\n\s*\n", text):
            if para.strip():
                blocks.append(Block(index=len(blocks), kind="paragraph", text=para.strip()))
        file_type = "txt"
    elif suffix == ".pdf":
        import pypdfium2 as pdfium

        try:
            pdf = pdfium.PdfDocument(data, password=getattr(options, "password", None) if options else None)
        except pdfium.PdfiumError as exc:
            if "password" in str(exc).lower():
                raise IngestError("PDF 已加密，需要密码（--password）", "encrypted PDF", file=str(path), code="encrypted") from None
            raise IngestError("PDF 已损坏", "corrupt PDF", file=str(path), code="corrupt") from None
        pages = len(pdf)
        for number in range(pages):
            page = pdf[number]
            text = page.get_textpage().get_text_range().replace("\r\n", "\n")
            page_info.append(PageInfo(number=number + 1, chars=len(text)))
            if text.strip():
                blocks.append(Block(index=len(blocks), kind="paragraph", text=text.strip(), page=number + 1))
        pdf.close()
        file_type = "pdf"
    else:
        raise IngestError("不支持的文件类型", "unsupported file type", file=str(path), code="unsupported")
    return Document(path=str(path), name=path.name, sha256=sha, size=len(data), file_type=file_type,
                    extractor_version=FAKE_EXTRACTOR_VERSION, pages=pages, page_info=page_info, blocks=blocks)


# --------------------------------------------------------------------------- stand-in screening

class FakeSettings(BaseModel):
    rules_version: str
    runlog: str | None = None


def _term(name: str) -> str:
    acronym = re.search(r"（([A-Z]+)", name)
    return acronym.group(1) if acronym else re.sub(r"（.*", "", name)


@dataclasses.dataclass(frozen=True)
class FakePipeline(BatchPipeline):
    """The real batch machinery around a stand-in extractor and scorer: an item is "met" when its
    acronym or name occurs in the text. ``XDT_TEST_RULES_VERSION`` simulates a rules edit;
    ``XDT_TEST_RUNLOG`` names a file that gets one line per application screened."""

    fake: FakeSettings = dataclasses.field(default_factory=lambda: FakeSettings(rules_version="fake-rules-1"))

    @property
    def rules_version(self) -> str:
        return self.fake.rules_version

    def document_key(self) -> str:
        return FAKE_EXTRACTOR_VERSION

    def evidence_key(self, framework: Framework) -> str:
        return FAKE_EXTRACTOR_VERSION

    def extract(self, path: Path) -> Document:
        return fake_extract(path, self.settings.extract)

    def find(self, document: Document, framework: Framework) -> FileEvidence:
        return FileEvidence(document=document, mentions=[], has_text=bool(document.blocks))

    def screen(self, app: ApplicationInput, framework: Framework, read) -> ScreenOutcome:  # noqa: ANN001
        catalogue = framework.catalogue
        documents: list[Document] = []
        files = list(app.file_errors)
        errors = [f"{f.path}: {f.error}" for f in app.file_errors]
        for file in app.files:
            shown = display_path(app.root, file)  # as the real pipeline names files: inside the application
            try:
                document = read(file).document
            except IngestError as exc:
                files.append(FileRecord(path=shown, error=exc.one_line()))
                errors.append(exc.one_line())
                continue
            documents.append(document)
            files.append(FileRecord(path=shown, sha256=document.sha256, pages=document.pages))
        items = []
        for item in catalogue.items:
            term = _term(item.name)
            evidence = []
            for document in documents:
                for block in document.blocks:
                    at = block.text.find(term)
                    if at >= 0 and not evidence:
                        evidence.append(EvidenceRef(file=document.name, page=block.page, block=block.index, start=at,
                                                    end=at + len(term), text=block.text[:200], matched=term,
                                                    polarity="implemented"))
            met = bool(evidence)
            items.append(ItemResult(id=item.id, name=item.name, status="met" if met else "not_found",
                                    score=round(item.points if met else 0.0, 4), max_score=round(item.points, 4),
                                    needs_confirmation=item.holistic, evidence=evidence,
                                    rules_fired=["fake.met" if met else "fake.none"]))
        elements = []
        for element in catalogue.spec.elements:
            score = sum(i.score for i in items if i.id.split(".")[0] == element.id)
            elements.append(ElementResult(id=element.id, name=element.name, score=round(score, 4),
                                          max=round(catalogue.element_max(element.id), 4)))
        result = ApplicationResult(application=app.name, files=sorted(files, key=lambda f: f.path),
                                   framework=catalogue.id, rules_version=self.rules_version,
                                   tool_version=__version__, total=Total(score=round(sum(e.score for e in elements), 4)),
                                   elements=elements, items=items, errors=errors)
        return ScreenOutcome(result=result, documents=documents)

    def write(self, outcome: ScreenOutcome, out_dir: Path, framework: Framework, crop_cache) -> list[Path]:  # noqa: ANN001
        name = outcome.result.application
        json_path = atomic_write_text(Path(out_dir) / f"{name}.json", outcome.result.model_dump_json(indent=1))
        html_path = atomic_write_text(Path(out_dir) / f"{name}.html",
                                      f"<!DOCTYPE html><meta charset='utf-8'><h1>{html.escape(name)}</h1>"
                                      f"<p>总分 {outcome.result.total.score}</p>")
        if self.fake.runlog:
            with open(self.fake.runlog, "a", encoding="utf-8") as handle:
                handle.write(f"{name}\n")
        return [json_path, html_path]


def fake_pipeline(*, framework: str = DEFAULT_FRAMEWORK, keywords: str | None = None,
                  extract_options: dict | None = None, crops: bool = True) -> FakePipeline:
    real = screen_pipeline(framework=framework, keywords=keywords, extract_options=extract_options, crops=crops)
    fake = FakeSettings(rules_version=os.environ.get("XDT_TEST_RULES_VERSION", "fake-rules-1"),
                        runlog=os.environ.get("XDT_TEST_RUNLOG"))
    return FakePipeline(framework=real.framework, fingerprint=real.fingerprint, settings=real.settings,
                        settings_key="fake-settings", fake=fake)


def hanging_extract(path: Path, options: Any = None) -> Document:
    """The real extractor, except that ``hang*`` files hang and ``crash*`` files kill the worker."""
    name = Path(path).name.lower()
    if name.startswith("hang"):
        time.sleep(3600)
    if name.startswith("crash"):
        os._exit(7)
    from xdt_rules.ingest import extract

    return extract(path, options)


@dataclasses.dataclass(frozen=True)
class HangingPipeline(BatchPipeline):
    def extract(self, path: Path) -> Document:
        return hanging_extract(path, self.settings.extract)


def real_pipeline_with_bad_files(*, framework: str = DEFAULT_FRAMEWORK, keywords: str | None = None,
                                 extract_options: dict | None = None, crops: bool = True) -> HangingPipeline:
    real = screen_pipeline(framework=framework, keywords=keywords, extract_options=extract_options, crops=crops)
    return HangingPipeline(**{f.name: getattr(real, f.name) for f in dataclasses.fields(real)})


# --------------------------------------------------------------------------- test files

BOILERPLATE = ("我公司坚持以数字化转型为核心战略，围绕研发设计、生产制造、经营管理、市场营销等关键环节，"
               "系统推进新一代信息技术与制造业深度融合，构建了覆盖全业务流程的数字化管理体系，"
               "实现了数据驱动的精益生产和科学决策，企业核心竞争力显著增强，为同行业中小企业提供了可借鉴的经验。")


def write_text_app(folder: Path, text: str, name: str = "申报书.txt") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def hanging_batch(batch: Path) -> Path:
    """卡住的企业 (a text 申报书 and a PDF the stand-in extractor hangs on) and 正常企业."""
    app = batch / "卡住的企业"
    write_text_app(app, "公司上线ERP系统与MES系统。", "申报书.txt")
    (app / "hang.pdf").write_bytes(b"%PDF-1.4 never parsed")
    write_text_app(batch / "正常企业", "建设了PLM系统。")
    return batch


def make_pdf(path: Path, paragraphs: list[str], *, pages: int = 1) -> Path:
    """A real Chinese PDF with a text layer (reportlab, STSong-Light)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    path.parent.mkdir(parents=True, exist_ok=True)
    c = canvas.Canvas(str(path), pagesize=A4)
    for page in range(pages):
        c.setFont("STSong-Light", 11)
        y = 800
        for para in paragraphs:
            for start in range(0, len(para), 40):
                c.drawString(50, y, para[start:start + 40])
                y -= 16
        c.drawString(50, 40, f"第 {page + 1} 页")
        c.showPage()
    c.save()
    return path


# --------------------------------------------------------------------------- running the CLI

FAKE = "test_batch_support:fake_pipeline"


def ctrl_c_reaches() -> None:
    """``preexec_fn`` of a child a test interrupts with SIGINT. A shell that starts the test run in the background
    (``pytest &``) makes it ignore SIGINT, children inherit that, and the interrupt never arrives: both
    interrupt tests failed so, only when the whole suite ran in the background."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def cli_env(**extra: str) -> dict[str, str]:
    """Environment for ``python -m xdt_rules batch`` subprocesses that use the stand-in pipeline."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(TESTS_DIR), env.get("PYTHONPATH", "")) if p)
    env.update(extra)
    return env


def run_batch_cli(batch: Path, out: Path, *args: str, env: dict[str, str] | None = None,
                  timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "xdt_rules", "batch", str(batch), "--out", str(out), *args],
                          env=env or cli_env(), capture_output=True, text=True, timeout=timeout)


def zip_with_raw_names(path: Path, members: dict[bytes, bytes]) -> Path:
    """A zip whose member names are the given raw bytes WITHOUT the UTF-8 flag — what Windows in a
    Chinese locale writes (GBK). zipfile would set the flag itself, so ASCII placeholders of the
    same length are written first and patched (names are outside the CRC)."""
    import zipfile

    placeholders = {}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for index, (raw, content) in enumerate(members.items()):
            placeholder = (f"N{index:03d}" + "x" * len(raw))[: len(raw)].encode("ascii")
            assert len(placeholder) == len(raw)
            placeholders[placeholder] = raw
            archive.writestr(placeholder.decode("ascii"), content)
    data = path.read_bytes()
    for placeholder, raw in placeholders.items():
        assert data.count(placeholder) == 2  # local header + central directory
        data = data.replace(placeholder, raw)
    path.write_bytes(data)
    return path
