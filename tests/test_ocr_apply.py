"""apply_ocr end to end on real files: through ``xdt_rules.ingest.extract`` (the seam) and directly.

Scanned pages come from the committed OCR samples (``samples/ocr``), so no font is needed here.
Tests that run the engine are marked ``ocr`` and skipped only when rapidocr_onnxruntime is not
importable; the "extra missing" tests simulate that and always run.
"""

from __future__ import annotations

import importlib.util
import io
import json
import sys
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image

from xdt_rules.ingest import ExtractOptions, extract
from xdt_rules.models import Document
from xdt_rules.ocr import MISSING_EXTRA_ZH, apply_ocr
from xdt_rules.ocr import engine as ocr_engine

ROOT = Path(__file__).resolve().parents[1]
OCR_SAMPLES = ROOT / "samples" / "ocr"
SCAN_06 = OCR_SAMPLES / "pdf" / "06_table_only_chemical" / "申报书.pdf"
TEXT_06 = ROOT / "samples" / "pdf" / "06_table_only_chemical" / "申报书.pdf"
INVOICE_06 = ROOT / "samples" / "pdf" / "06_table_only_chemical" / "发票_LIMS实施服务.pdf"
SYSTEM_LIST = OCR_SAMPLES / "images" / "system_list.png"
INVOICE_PNG = OCR_SAMPLES / "images" / "invoice.png"
CERTIFICATE = OCR_SAMPLES / "images" / "certificate_photo.jpg"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "pdfminer-samples"

HAS_OCR = importlib.util.find_spec("rapidocr_onnxruntime") is not None
needs_engine = pytest.mark.skipif(not HAS_OCR, reason='needs the [ocr] extra: pip install "xdt-rules[ocr]"')


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One OCR cache for the module: an image read by two tests is OCR'd once."""
    return tmp_path_factory.mktemp("ocr-cache")


@pytest.fixture(scope="module")
def mixed_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Text page, scanned page, text page: real pages of sample 06 (text and image-only versions)."""
    path = tmp_path_factory.mktemp("mixed") / "混合.pdf"
    out = pdfium.PdfDocument.new()
    text, scan = pdfium.PdfDocument(str(TEXT_06)), pdfium.PdfDocument(str(SCAN_06))
    out.import_pages(text, [0])
    out.import_pages(scan, [4])  # page 5: 八、下一步计划
    out.import_pages(text, [1])
    out.save(str(path))
    for doc in (out, text, scan):
        doc.close()
    return path


def _pdf_of_images(path: Path, images: list[Image.Image]) -> Path:
    """A PDF whose every page is one full-page image (a scan), made with reportlab."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=A4)
    for image in images:
        buf = io.BytesIO()
        image.save(buf, "PNG")
        c.drawImage(ImageReader(io.BytesIO(buf.getvalue())), 0, 0, *A4)
        c.showPage()
    c.save()
    return path


def _blank_scan() -> Image.Image:
    """An empty sheet as a scanner sees it: paper tone, a few specks, no text."""
    img = Image.new("L", (1240, 1754), 238)
    for x, y in ((300, 400), (900, 1200), (620, 1500)):
        img.putpixel((x, y), 120)
    return img


def _scan_page(number: int) -> Image.Image:
    pdf = pdfium.PdfDocument(str(SCAN_06))
    try:
        return pdf[number - 1].render(scale=150 / 72).to_pil().convert("L")
    finally:
        pdf.close()


def _options(cache: Path, **kw) -> ExtractOptions:
    return ExtractOptions(cache_dir=str(cache), ocr_dpi=kw.pop("ocr_dpi", 150), **kw)


def _ocr_blocks(document: Document) -> list:
    return [b for b in document.blocks if b.source == "ocr"]


def _block_invariants(document: Document) -> None:
    assert [b.index for b in document.blocks] == list(range(len(document.blocks)))
    pages = [b.page for b in document.blocks if b.page is not None]
    assert pages == sorted(pages), "blocks must be in page order"
    sizes = {p.number: (p.width, p.height) for p in document.page_info}
    for block in _ocr_blocks(document):
        assert block.ocr_confidence is not None and 0.5 <= block.ocr_confidence <= 1.0
        assert block.lines, "OCR blocks carry line boxes"
        for span in block.lines:
            assert block.text[span.start:span.end].strip()
            if block.page is not None:
                width, height = sizes[block.page]
                assert 0 <= span.bbox.x0 < span.bbox.x1 <= width + 1
                assert 0 <= span.bbox.top < span.bbox.bottom <= height + 1


# --------------------------------------------------------------------------- with the engine


@pytest.mark.ocr
@needs_engine
def test_mixed_pdf_scanned_page_is_read_in_place(mixed_pdf: Path, shared_cache: Path) -> None:
    plain = extract(mixed_pdf, _options(shared_cache, ocr="off"))
    assert [p.status for p in plain.page_info] == ["ok", "no_text_layer", "ok"]
    document = extract(mixed_pdf, _options(shared_cache))
    assert [p.status for p in document.page_info] == ["ok", "ocr", "ok"]
    page2 = document.page_info[1]
    assert page2.chars > 50 and "OCR" in (page2.reason or "")
    ocr = _ocr_blocks(document)
    assert ocr and {b.page for b in ocr} == {2}
    text = "".join(b.text for b in ocr)
    assert "下一步计划" in text and "仓库管理系统" in text
    # the multi-line paragraph keeps its visual lines, like a text-layer PDF paragraph
    para = next(b for b in ocr if "生产执行系统" in b.text)
    assert para.kind == "paragraph" and para.text.count("\n") >= 1 and len(para.lines) >= 2
    # text pages untouched, and the OCR page's blocks sit between them
    assert [b.text for b in document.blocks if b.page != 2] == [b.text for b in plain.blocks]
    assert [b.page for b in document.blocks] == sorted(b.page for b in document.blocks)
    _block_invariants(document)


@pytest.mark.ocr
@needs_engine
def test_screenshot_image_gives_table_rows_with_status(shared_cache: Path) -> None:
    document = extract(SYSTEM_LIST, _options(shared_cache))
    assert document.file_type == "image"
    assert document.page_info[0].status == "ocr"
    cells = [b for b in document.blocks if b.kind == "table_cell"]
    assert cells, "the system list is a table"
    mes = next(b for b in cells if "制造执行系统" in b.text)
    row = {b.col: b.text for b in cells if b.table == mes.table and b.row == mes.row}
    assert "鼎捷MES" in row.values() and "已上线" in row.values()
    aps = next(b for b in cells if "APS" in b.text)
    assert "规划中" in {b.text for b in cells if b.table == aps.table and b.row == aps.row}
    # boxes are in the page's units (pixels for images: PageInfo width/height say so)
    assert (document.page_info[0].width, document.page_info[0].height) == (1280, 720)
    _block_invariants(document)


@pytest.mark.ocr
@needs_engine
def test_photographed_certificate_jpeg(shared_cache: Path) -> None:
    document = extract(CERTIFICATE, _options(shared_cache))
    text = "".join(b.text for b in document.blocks)
    assert "数字化水平评测" in text and "三级" in text
    assert not any(b.kind == "table_cell" for b in document.blocks), "a frame is not a table"
    _block_invariants(document)


def _docx_with_picture(path: Path, picture: Path, paragraphs: list[str]) -> Path:
    from docx import Document as Docx
    from docx.shared import Inches

    doc = Docx()
    for text in paragraphs:
        doc.add_paragraph(text)
    doc.add_picture(str(picture), width=Inches(6))
    doc.save(str(path))
    return path


@pytest.mark.ocr
@needs_engine
def test_docx_with_embedded_scan_and_little_text(tmp_path: Path, shared_cache: Path) -> None:
    path = _docx_with_picture(tmp_path / "发票扫描件.docx", INVOICE_PNG, ["附件3：MES系统实施服务发票（扫描件）"])
    text_only = extract(path, _options(shared_cache, ocr="off"))
    document = apply_ocr(text_only, path, _options(shared_cache))
    assert document.blocks[0].text == "附件3：MES系统实施服务发票（扫描件）" and document.blocks[0].source == "text"
    ocr = _ocr_blocks(document)
    assert ocr and all(b.image == "word/media/image1.png" and b.page is None for b in ocr)
    text = "".join(b.text for b in ocr)
    assert "MES系统实施服务" in text and "鼎捷数智股份有限公司" in text
    assert any(b.kind == "table_cell" for b in ocr), "the invoice's ruled item table"
    _block_invariants(document)


@pytest.mark.ocr
@needs_engine
def test_docx_with_plenty_of_text_reads_pictures_only_when_forced(tmp_path: Path, shared_cache: Path) -> None:
    long_text = ["公司持续推进数字化转型，建成覆盖研发、生产、经营的信息系统。" * 4] * 6
    path = _docx_with_picture(tmp_path / "申报书.docx", INVOICE_PNG, long_text)
    text_only = extract(path, _options(shared_cache, ocr="off"))
    assert text_only.text_chars > 500
    assert apply_ocr(text_only, path, _options(shared_cache)) == text_only
    forced = apply_ocr(text_only, path, _options(shared_cache, ocr="force"))
    assert _ocr_blocks(forced) and forced.blocks[: len(text_only.blocks)] == text_only.blocks


@pytest.mark.ocr
@needs_engine
def test_blank_scanned_page_gives_no_blocks_and_a_reason(tmp_path: Path, shared_cache: Path) -> None:
    path = _pdf_of_images(tmp_path / "空白扫描.pdf", [_blank_scan()])
    document = extract(path, _options(shared_cache))
    info = document.page_info[0]
    assert info.status == "empty" and info.reason and "未识别到文字" in info.reason
    assert document.blocks == []


@pytest.mark.ocr
@needs_engine
def test_second_run_hits_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    crop = Image.open(SYSTEM_LIST).crop((40, 172, 700, 560))
    image_path = tmp_path / "截图.png"
    crop.save(image_path)
    cache = tmp_path / "cache"
    calls: list[int] = []
    real_read = ocr_engine.OcrEngine.read

    def counting_read(self, image):
        calls.append(1)
        return real_read(self, image)

    monkeypatch.setattr(ocr_engine.OcrEngine, "read", counting_read)
    first = extract(image_path, _options(cache))
    assert len(calls) == 1 and _ocr_blocks(first)
    assert len(list(cache.rglob("*.json"))) == 1

    second = extract(image_path, _options(cache))
    assert len(calls) == 1, "the second run must not call the engine"
    assert second == first

    # A corrupt entry is ignored: OCR runs again and the entry is rewritten.
    entry = next(cache.rglob("*.json"))
    entry.write_text('{"format": 2, "lines": [', encoding="utf-8")
    third = extract(image_path, _options(cache))
    assert len(calls) == 2 and third == first
    assert json.loads(entry.read_text(encoding="utf-8"))["lines"]


@pytest.mark.ocr
@needs_engine
def test_engine_failure_on_one_page_is_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _pdf_of_images(tmp_path / "两页.pdf", [_scan_page(5), _blank_scan()])
    real_read = ocr_engine.OcrEngine.read
    calls: list[int] = []

    def failing_first(self, image):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("onnxruntime exploded")
        return real_read(self, image)

    monkeypatch.setattr(ocr_engine.OcrEngine, "read", failing_first)
    document = extract(path, _options(tmp_path / "cache"))
    assert [p.status for p in document.page_info] == ["no_text_layer", "empty"]
    assert any(w.startswith("第 1 页 OCR 失败（RuntimeError）") for w in document.warnings)
    assert "OCR 失败" in (document.page_info[0].reason or "")


@pytest.mark.ocr
@needs_engine
def test_upside_down_scan_is_turned(tmp_path: Path, shared_cache: Path) -> None:
    turned = Image.open(SYSTEM_LIST).crop((40, 172, 700, 560)).rotate(180)
    path = tmp_path / "倒置.png"
    turned.save(path)
    document = extract(path, _options(shared_cache))
    assert "180°" in (document.page_info[0].reason or "")
    assert "制造执行系统" in "".join(b.text for b in document.blocks)


@pytest.mark.ocr
@needs_engine
@pytest.mark.slow
def test_force_replaces_a_text_layer_page(shared_cache: Path) -> None:
    text = extract(INVOICE_06, _options(shared_cache, ocr="off"))
    forced = extract(INVOICE_06, _options(shared_cache, ocr="force"))
    assert text.page_info[0].status == "ok" and forced.page_info[0].status == "ocr"
    assert forced.blocks and all(b.source == "ocr" for b in forced.blocks)
    assert "三维天地" in "".join(b.text for b in forced.blocks)
    _block_invariants(forced)


@pytest.mark.ocr
@needs_engine
@pytest.mark.slow
def test_real_jbig2_scan_from_the_corpus(shared_cache: Path) -> None:
    path = CORPUS / "samples_contrib_pdf-with-jbig2.pdf"
    if not path.exists():
        pytest.skip("shared PDF corpus not present")
    document = extract(path, _options(shared_cache))
    assert document.page_info[0].status == "ocr"
    assert "Doesn" in "".join(b.text for b in document.blocks)


@pytest.mark.ocr
@needs_engine
def test_cli_extract_json_shows_ocr_blocks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from xdt_rules.cli import main

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # the CLI uses the user cache
    assert main(["extract", str(CERTIFICATE), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["page_info"][0]["status"] == "ocr"
    assert any(b["source"] == "ocr" and "三级" in b["text"] for b in data["blocks"])
    assert list((tmp_path / "xdt-rules" / "ocr").rglob("*.json")), "OCR result cached in the user cache"


# --------------------------------------------------------------------------- without the engine


@pytest.fixture
def no_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Simulate a machine without ``xdt-rules[ocr]``: importing rapidocr_onnxruntime fails."""
    monkeypatch.setitem(sys.modules, "rapidocr_onnxruntime", None)
    monkeypatch.setattr(ocr_engine, "_engine", None)


def test_extra_missing_leaves_pages_flagged_with_one_warning(no_extra, mixed_pdf: Path, tmp_path: Path) -> None:
    assert not ocr_engine.ocr_available()
    document = extract(mixed_pdf, _options(tmp_path))
    assert [p.status for p in document.page_info] == ["ok", "no_text_layer", "ok"]
    assert not _ocr_blocks(document)
    assert [w for w in document.warnings if w.startswith(MISSING_EXTRA_ZH)] == [
        '需要OCR（未安装 xdt-rules[ocr]）：第 2 页 / OCR needed (install "xdt-rules[ocr]"): page 2'
    ]
    assert not list(tmp_path.rglob("*.json"))


def test_extra_missing_lists_every_flagged_page(no_extra, tmp_path: Path) -> None:
    path = _pdf_of_images(tmp_path / "扫描.pdf", [_blank_scan(), _blank_scan(), _blank_scan()])
    document = extract(path, _options(tmp_path))
    assert any(w.startswith("需要OCR（未安装 xdt-rules[ocr]）：第 1、2、3 页") for w in document.warnings)


def test_extra_missing_image_and_docx(no_extra, tmp_path: Path) -> None:
    image = extract(SYSTEM_LIST, _options(tmp_path))
    assert image.page_info[0].status == "no_text_layer"
    assert any(w.startswith("需要OCR（未安装 xdt-rules[ocr]）：第 1 页") for w in image.warnings)
    path = _docx_with_picture(tmp_path / "扫描件.docx", INVOICE_PNG, ["附件：发票"])
    docx = apply_ocr(extract(path, _options(tmp_path, ocr="off")), path, _options(tmp_path))
    assert any(w.startswith("需要OCR（未安装 xdt-rules[ocr]）：嵌入图片 image1.png") for w in docx.warnings)


def test_installed_but_broken_extra_says_why(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # e.g. opencv-python on a server without libGL: the extra is installed but cannot load.
    class BrokenFinder:
        @staticmethod
        def find_spec(name, path=None, target=None):
            if name == "rapidocr_onnxruntime":
                raise ImportError("libGL.so.1: cannot open shared object file: No such file or directory")
            return None

    monkeypatch.delitem(sys.modules, "rapidocr_onnxruntime", raising=False)
    monkeypatch.setattr(sys, "meta_path", [BrokenFinder(), *sys.meta_path])
    monkeypatch.setattr(ocr_engine, "_engine", None)
    document = extract(SYSTEM_LIST, _options(tmp_path))
    assert document.page_info[0].status == "no_text_layer"
    assert [w for w in document.warnings if w.startswith("需要OCR")] == [
        "需要OCR（OCR 组件无法加载：ImportError: libGL.so.1: cannot open shared object file: No such file or "
        "directory）：第 1 页 / OCR needed (the OCR engine cannot load: ImportError: libGL.so.1: cannot open "
        "shared object file: No such file or directory): page 1"
    ]


def test_ocr_off_changes_nothing(mixed_pdf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_engine(*_a, **_k):
        raise AssertionError("OCR must not run with ocr='off'")

    monkeypatch.setattr(ocr_engine, "get_engine", no_engine)
    options = _options(tmp_path, ocr="off")
    document = extract(mixed_pdf, options)
    assert document.page_info[1].status == "no_text_layer" and not _ocr_blocks(document)
    assert apply_ocr(document, mixed_pdf, options) is document
    assert not any("OCR" in w for w in document.warnings)


@pytest.mark.ocr
@needs_engine
def test_unreadable_page_image_is_a_warning_not_a_crash(tmp_path: Path) -> None:
    # An "image" document whose file is not an image any more (replaced after ingestion).
    path = tmp_path / "坏图.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    document = Document(path=str(path), name=path.name, sha256="0" * 64, size=48, file_type="image",
                        extractor_version="t", pages=1,
                        page_info=[{"number": 1, "status": "no_text_layer", "reason": "需要OCR"}])
    out = apply_ocr(document, path, _options(tmp_path))
    assert out.page_info[0].status == "no_text_layer"
    assert any(w.startswith("第 1 页无法OCR：图片无法读取") for w in out.warnings)
