"""File types by content, every kind of bad input, images, legacy formats, the OCR seam, the
shared PDF corpus and the ``xdt extract`` command."""

from __future__ import annotations

import importlib.machinery
import json
import os
import shutil
import sys
import time
import types
from pathlib import Path

import pytest

from fixtures_build import PdfItem, build_pdf, scan_like_image
from xdt_rules.cli import main
from xdt_rules.errors import IngestError
from xdt_rules.ingest import ExtractOptions, extract
from xdt_rules.ingest.legacy import find_soffice

OFF = ExtractOptions(ocr="off")
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _code(path, options=OFF) -> str:
    with pytest.raises(IngestError) as err:
        extract(path, options)
    # Every error is one line, Chinese / English, naming the file.
    line = err.value.one_line()
    assert " / " in line and str(path) in line and "\n" not in line
    return err.value.code


def test_missing_file_directory_and_empty_file(tmp_path):
    assert _code(tmp_path / "nope.pdf") == "not_found"
    assert _code(tmp_path) == "not_a_file"
    empty = tmp_path / "empty.docx"
    empty.write_bytes(b"")
    assert _code(empty) == "empty"


def test_file_over_the_size_limit(tmp_path):
    path = tmp_path / "big.txt"
    path.write_bytes(("正文" * 400_000).encode("utf-8"))  # ~2.4 MB
    assert _code(path, ExtractOptions(ocr="off", max_file_mb=1)) == "too_large"
    assert extract(path, ExtractOptions(ocr="off", max_file_mb=5)).blocks


def test_unknown_binary_is_unsupported(tmp_path):
    path = tmp_path / "data.pdf"
    path.write_bytes(bytes(range(256)) * 64)
    assert _code(path) == "unsupported"


def test_zip_that_is_not_office(tmp_path):
    import zipfile

    path = tmp_path / "材料.docx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "hello")
    assert _code(path) == "unsupported"


def test_pdf_named_txt_is_read_as_pdf(tmp_path):
    path = build_pdf(tmp_path / "x.pdf", [PdfItem("para", text="内容为PDF的文件。")])
    renamed = tmp_path / "notes.txt"
    path.rename(renamed)
    doc = extract(renamed, OFF)
    assert doc.file_type == "pdf" and doc.blocks[0].text == "内容为PDF的文件。"


def test_sha256_size_and_path_as_given(tmp_path, monkeypatch):
    import hashlib

    path = tmp_path / "a.txt"
    path.write_text("设备联网", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    doc = extract("a.txt", OFF)
    assert doc.path == "a.txt" and doc.name == "a.txt"
    assert doc.sha256 == hashlib.sha256(path.read_bytes()).hexdigest() and doc.size == path.stat().st_size


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "TIFF", "BMP"])
def test_images_are_one_page_needing_ocr(tmp_path, fmt):
    path = tmp_path / f"scan.{fmt.lower()}.bin"  # the extension says nothing
    scan_like_image(size=(300, 400)).save(path, format=fmt)
    doc = extract(path, OFF)
    assert doc.file_type == "image" and doc.pages == 1 and doc.blocks == []
    assert [(p.status, p.reason) for p in doc.page_info] == [("no_text_layer", "需要OCR")]


def test_corrupt_image(tmp_path):
    path = tmp_path / "broken.png"
    data = bytearray()
    scan_like_image(size=(300, 400)).save(tmp_path / "ok.png")
    data = (tmp_path / "ok.png").read_bytes()
    path.write_bytes(data[:60])
    assert _code(path) == "corrupt"


def _fake_ole(path: Path, stream: str) -> Path:
    path.write_bytes(OLE + b"\x00" * 504 + stream.encode("utf-16-le") + b"\x00" * 600)
    return path


@pytest.mark.skipif(find_soffice() is not None, reason="LibreOffice is installed: conversion is tested instead")
def test_legacy_doc_and_wps_need_conversion(tmp_path):
    for name in ("旧版申报书.doc", "旧版申报书.wps"):
        path = _fake_ole(tmp_path / name, "WordDocument")
        with pytest.raises(IngestError) as err:
            extract(path, OFF)
        assert err.value.code == "needs_conversion"
        assert "请用 WPS/Word 另存为 .docx 后重新提交" in err.value.reason_zh and "save as .docx" in err.value.reason_en
    assert _code(_fake_ole(tmp_path / "old.xls", "Workbook")) == "needs_conversion"


def test_encrypted_office_file(tmp_path):
    assert _code(_fake_ole(tmp_path / "locked.docx", "EncryptedPackage")) == "encrypted"


@pytest.mark.skipif(find_soffice() is None, reason="LibreOffice (soffice) is not installed")
def test_legacy_doc_converted_with_libreoffice(tmp_path):
    import subprocess

    import docx

    source = tmp_path / "src.docx"
    document = docx.Document()
    document.add_paragraph("旧格式文件中的ERP系统说明。")
    document.save(str(source))
    subprocess.run([find_soffice(), "--headless", "--convert-to", "doc", "--outdir", str(tmp_path), str(source)],
                   check=True, timeout=180, capture_output=True)
    doc = extract(tmp_path / "src.doc", OFF)
    assert doc.file_type == "doc"
    assert [b.text for b in doc.blocks] == ["旧格式文件中的ERP系统说明。"]


# ----------------------------------------------------------------------------- OCR seam


@pytest.fixture
def scanned_pdf(tmp_path) -> Path:
    return build_pdf(tmp_path / "scan.pdf", [PdfItem("para", text="正文页。"), PdfItem("break"),
                                             PdfItem("image", image=scan_like_image())])


def _install_fake_ocr(monkeypatch, calls: list):
    module = types.ModuleType("xdt_rules.ocr")
    module.__spec__ = importlib.machinery.ModuleSpec("xdt_rules.ocr", None)

    def apply_ocr(document, path, options):
        calls.append((document.name, Path(path), options.ocr))
        document.page_info[1].status = "ocr"
        return document

    module.apply_ocr = apply_ocr
    monkeypatch.setitem(sys.modules, "xdt_rules.ocr", module)


def test_ocr_stage_called_for_flagged_pages(monkeypatch, scanned_pdf):
    calls: list = []
    _install_fake_ocr(monkeypatch, calls)
    doc = extract(scanned_pdf, ExtractOptions(ocr="auto"))
    assert calls == [("scan.pdf", scanned_pdf, "auto")]
    assert doc.page_info[1].status == "ocr"


def test_ocr_off_and_missing_stage_leave_pages_flagged(monkeypatch, scanned_pdf):
    calls: list = []
    _install_fake_ocr(monkeypatch, calls)
    doc = extract(scanned_pdf, ExtractOptions(ocr="off"))
    assert calls == [] and doc.page_info[1].status == "no_text_layer"
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "xdt_rules.ocr" else real_find_spec(name, *a))
    doc = extract(scanned_pdf, ExtractOptions(ocr="auto"))
    assert calls == [] and doc.page_info[1].status == "no_text_layer"


def test_ocr_not_called_when_nothing_is_flagged(monkeypatch, tmp_path):
    calls: list = []
    _install_fake_ocr(monkeypatch, calls)
    extract(build_pdf(tmp_path / "t.pdf", [PdfItem("para", text="全是文字。")]), ExtractOptions(ocr="auto"))
    assert calls == []


def test_ocr_failure_keeps_the_text_layer(monkeypatch, scanned_pdf):
    module = types.ModuleType("xdt_rules.ocr")
    module.__spec__ = importlib.machinery.ModuleSpec("xdt_rules.ocr", None)

    def apply_ocr(document, path, options):
        raise RuntimeError("model missing")

    module.apply_ocr = apply_ocr
    monkeypatch.setitem(sys.modules, "xdt_rules.ocr", module)
    doc = extract(scanned_pdf, ExtractOptions(ocr="auto"))
    assert doc.blocks[0].text == "正文页。" and doc.page_info[1].status == "no_text_layer"
    assert any("OCR" in w for w in doc.warnings)


# ----------------------------------------------------------------------------- corpus


def _corpus_files() -> list[Path]:
    folder = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "pdfminer-samples"
    return sorted(folder.iterdir()) if folder.is_dir() else []


@pytest.mark.parametrize("path", _corpus_files(), ids=lambda p: p.name)
def test_every_corpus_file_gives_a_document_or_an_ingest_error(corpus_dir, path):
    started = time.perf_counter()
    try:
        doc = extract(path, OFF)
    except IngestError as err:
        assert err.code in {"encrypted", "corrupt", "no_pages", "unsupported"}
    else:
        assert doc.pages == len(doc.page_info) >= 1
        assert [b.index for b in doc.blocks] == list(range(len(doc.blocks)))
        for block in doc.blocks:
            assert block.text.strip()
            for span in block.lines:
                assert 0 <= span.start <= span.end <= len(block.text)
    assert time.perf_counter() - started < 5


def test_corpus_fonts_without_unicode_map(corpus_dir):
    # pdfium guesses wrong characters here; pdfminer decodes the ToUnicode map correctly.
    doc = extract(corpus_dir / "samples_contrib_issue-791-non-unicode-cmap.pdf", OFF)
    assert doc.blocks[0].text == "Peněžní prostředky na účtech"
    assert any("Unicode" in w for w in doc.warnings)
    # Vertical writing: pdfium's columns give the reading order (pdfminer's rows do not).
    doc = extract(corpus_dir / "samples_contrib_issue-449-vertical.pdf", OFF)
    assert [b.text for b in doc.blocks] == ["Test\nVertical\nLayout"]


# ----------------------------------------------------------------------------- CLI


def test_cli_json(tmp_path, capsys):
    path = tmp_path / "a.txt"
    path.write_text("一、概况\n\n已上线ERP系统。", encoding="utf-8")
    assert main(["extract", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["file_type"] == "txt" and [b["text"] for b in data["blocks"]] == ["一、概况", "已上线ERP系统。"]


def test_cli_summary(tmp_path, capsys, scanned_pdf):
    assert main(["extract", str(scanned_pdf), "--ocr", "off"]) == 0
    out = capsys.readouterr().out
    assert "scan.pdf" in out and "无文字层" in out and "需要OCR" in out and "正文页。" in out


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["extract", str(tmp_path / "missing.pdf")]) == 1
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and "文件不存在 / file not found" in err and "missing.pdf" in err
    locked = build_pdf(tmp_path / "locked.pdf", [PdfItem("para", text="机密")], user_password="pw")
    assert main(["extract", str(locked)]) == 1
    assert "PDF 已加密，需要密码（--password）" in capsys.readouterr().err
    assert main(["extract", str(locked), "--password", "pw", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["blocks"][0]["text"] == "机密"
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * 2_000_000)
    assert main(["extract", str(big), "--max-mb", "1"]) == 1
    assert "文件过大" in capsys.readouterr().err


def test_cli_debug_shows_the_traceback(tmp_path):
    with pytest.raises(IngestError):
        main(["--debug", "extract", str(tmp_path / "missing.pdf")])


def _console_script() -> str | None:
    """The installed ``xdt`` of the interpreter running the tests (a venv's bin/ need not be on PATH)."""
    beside = Path(sys.executable).with_name("xdt")
    return str(beside) if beside.exists() else shutil.which("xdt")


@pytest.mark.skipif(_console_script() is None, reason="console script not installed")
def test_cli_as_a_process(tmp_path):
    import subprocess

    path = tmp_path / "a.md"
    path.write_text("# 标题\n\n正文", encoding="utf-8")
    result = subprocess.run([_console_script(), "extract", str(path), "--json"], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["blocks"][0] == {**json.loads(result.stdout)["blocks"][0], "kind": "heading",
                                                      "text": "标题"}


# ----------------------------------------------------------------------------- samples

SAMPLE_SUFFIXES = {".pdf", ".docx", ".xlsx", ".txt", ".md", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"}


def _sample_files() -> list[Path]:
    root = Path(__file__).resolve().parents[1] / "samples"
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in SAMPLE_SUFFIXES
                  and "gold" not in p.parts)


@pytest.mark.skipif(not _sample_files(), reason="no sample applications yet")
@pytest.mark.parametrize("path", _sample_files(), ids=lambda p: "/".join(p.parts[-3:]))
def test_sample_applications_extract(path):
    doc = extract(path, OFF)
    if doc.file_type in ("pdf", "image"):
        assert doc.pages == len(doc.page_info)
        readable = [p for p in doc.page_info if p.status == "ok"]
        assert doc.blocks or not readable
    elif not doc.blocks:
        # a Word file wrapping a scan: with OCR off the reader is told its pictures were not read
        assert doc.file_type == "docx" and any("未做OCR" in w for w in doc.warnings)
    # Offsets of every visual line stay inside its block.
    for block in doc.blocks:
        assert all(0 <= s.start < s.end <= len(block.text) for s in block.lines)


def test_ocr_stage_called_for_docx_with_embedded_scans(monkeypatch, tmp_path):
    import docx

    calls: list = []
    module = types.ModuleType("xdt_rules.ocr")
    module.__spec__ = importlib.machinery.ModuleSpec("xdt_rules.ocr", None)
    module.apply_ocr = lambda document, path, options: calls.append(Path(path).name) or document
    monkeypatch.setitem(sys.modules, "xdt_rules.ocr", module)
    plain = tmp_path / "plain.docx"
    document = docx.Document()
    document.add_paragraph("只有文字。")
    document.save(str(plain))
    extract(plain, ExtractOptions(ocr="auto"))
    assert calls == []
    scan = tmp_path / "scan.png"
    scan_like_image(size=(600, 800)).save(scan)
    document.add_picture(str(scan))
    wrapped = tmp_path / "wrapped.docx"
    document.save(str(wrapped))
    extract(wrapped, ExtractOptions(ocr="auto"))
    assert calls == ["wrapped.docx"]
