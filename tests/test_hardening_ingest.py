"""Reading files without silent losses and with the same answer on every machine (issue 14,
points 9 and 10): text after an entity reference in a DOCX, a UTF-8 text cut mid-character or
with a damaged byte, an oversized text refused with its reason; and PDF text and crops that do
not depend on the fonts installed on the machine."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from xdt_rules.cli import main

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "pdf" / "01_strong_manufacturer"
# Its results changed without a CJK font (the table cell "AR远程协助" lost a character).
FONT_SENSITIVE = ROOT / "samples" / "pdf" / "19_outcome_verbs_optics"
ERP = "公司于2021年上线用友U8 Cloud企业资源计划系统，采购、销售、库存、财务全流程在线运行。"


def _extract(path: Path, capsys: pytest.CaptureFixture[str]) -> dict:
    assert main(["extract", str(path), "--json", "--ocr", "off"]) == 0
    return json.loads(capsys.readouterr().out)


def test_text_after_an_entity_reference_in_a_docx_is_read_and_the_reference_reported(tmp_path: Path,
                                                                                    capsys: pytest.CaptureFixture[str]):
    import docx

    plain = tmp_path / "plain.docx"
    document = docx.Document()
    document.add_paragraph("第一段：公司已上线ERP系统。")
    document.add_paragraph("ENTITY_HERE公司已上线鼎捷MES制造执行系统，实现扫码报工。")
    document.save(plain)
    hostile = tmp_path / "申报书.docx"
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(hostile, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "word/document.xml":
                xml = data.decode("utf-8")
                head, rest = xml.split("?>", 1)
                xml = head + '?><!DOCTYPE w:document [<!ENTITY ext SYSTEM "file:///etc/passwd">]>' + rest
                data = xml.replace("ENTITY_HERE", "&ext;").encode("utf-8")
            target.writestr(info, data)

    read = _extract(hostile, capsys)
    texts = [block["text"] for block in read["blocks"]]
    assert "公司已上线鼎捷MES制造执行系统，实现扫码报工。" in texts  # the text after the reference
    assert not any("root:" in text for text in texts)  # the reference itself is never resolved
    assert any("&ext;" in warning and "实体" in warning for warning in read["warnings"])


def test_a_utf8_text_cut_mid_character_is_read_with_a_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    cut = tmp_path / "申报书.txt"
    cut.write_bytes((ERP * 3).encode("utf-8")[:-1])  # the last 。 loses its third byte
    read = _extract(cut, capsys)
    assert read["blocks"][0]["text"].startswith(ERP * 2)
    assert any("截断" in w for w in read["warnings"])

    damaged = tmp_path / "损坏.txt"
    data = bytearray((ERP * 3).encode("utf-8"))
    data[12] = 0xFF  # one damaged byte in the middle
    damaged.write_bytes(bytes(data))
    read = _extract(damaged, capsys)
    assert "采购、销售、库存" in read["blocks"][0]["text"]  # read as UTF-8, not refused, not GB18030 乱码
    assert any("无法解码" in w for w in read["warnings"])


def test_a_text_file_over_the_text_limit_is_refused_with_its_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    from xdt_rules.ingest.limits import TEXT_MAX_BYTES

    big = tmp_path / "日志.txt"
    with open(big, "wb") as handle:
        handle.write((ERP * 200).encode("utf-8"))  # text where the type is sniffed
        handle.truncate(TEXT_MAX_BYTES + 1024)  # the rest sparse: costs no disk
    assert main(["extract", str(big), "--ocr", "off"]) == 1
    err = capsys.readouterr().err
    assert "文本文件过大" in err and "text file too large" in err and "日志.txt" in err


# --------------------------------------------------------------------------- fonts

# Run the CLI in a process where pdfium first sees NO font at all: what a machine without any
# CJK (or other) font gives. pypdfium2 initialises pdfium on import; restarting it with an empty
# font folder list reproduces such a machine (FONTCONFIG is not what pdfium reads).
NO_SYSTEM_FONTS = r"""
import ctypes, os, sys, tempfile
import pypdfium2, pypdfium2.raw as c
empty = tempfile.mkdtemp()
paths = (ctypes.c_char_p * 2)(os.fsencode(empty), None)
config = c.FPDF_LIBRARY_CONFIG()
config.version = 2
config.m_pUserFontPaths = ctypes.cast(paths, type(config.m_pUserFontPaths))
c.FPDF_DestroyLibrary()
c.FPDF_InitLibraryWithConfig(ctypes.byref(config))
if os.environ.get("XDT_TEST_RAW_TEXT"):  # what pdfium alone reads from the page now
    pdf = pypdfium2.PdfDocument(os.environ["XDT_TEST_RAW_TEXT"])
    print(pdf[3].get_textpage().get_text_range())
    sys.exit(0)
from xdt_rules.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _screen(out: Path, *, without_fonts: bool) -> subprocess.CompletedProcess[str]:
    args = ["screen", str(FONT_SENSITIVE), "--out", str(out), "--ocr", "off"]
    command = [sys.executable, "-c", NO_SYSTEM_FONTS, *args] if without_fonts else [sys.executable, "-m", "xdt_rules", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def test_results_and_crops_are_identical_with_and_without_system_fonts(tmp_path: Path):
    # the simulated machine really lacks fonts: pdfium on its own loses a table cell's last character
    raw = subprocess.run([sys.executable, "-c", NO_SYSTEM_FONTS], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "XDT_TEST_RAW_TEXT": str(SAMPLE / "申报书.pdf")})
    assert raw.returncode == 0, raw.stderr
    assert "箱体模态分" in raw.stdout and "箱体模态分\r\n析" not in raw.stdout

    with_fonts, without = _screen(tmp_path / "with", without_fonts=False), _screen(tmp_path / "without", without_fonts=True)
    assert with_fonts.returncode == 0 and without.returncode == 0, without.stderr
    name = FONT_SENSITIVE.name
    assert (tmp_path / "with" / f"{name}.json").read_bytes() == (tmp_path / "without" / f"{name}.json").read_bytes()
    # the reports embed the evidence crops: byte-identical HTML means the same pixels
    assert (tmp_path / "with" / f"{name}.html").read_bytes() == (tmp_path / "without" / f"{name}.html").read_bytes()

    # and a crop shows its Chinese: dark pixels, not a blank box
    from PIL import Image

    html = (tmp_path / "without" / f"{name}.html").read_text(encoding="utf-8")
    marker = "data:image/png;base64,"
    start = html.index(marker) + len(marker)
    png = base64.b64decode(html[start:html.index('"', start)])
    image = Image.open(io.BytesIO(png)).convert("L")
    dark = sum(image.histogram()[:128])
    assert dark > 0.01 * image.width * image.height


def test_the_shipped_font_is_the_one_pdfium_uses():
    from xdt_rules.ingest import pdfium_fonts

    assert pdfium_fonts.font_path().is_file()
    pdfium_fonts.check_font()  # the sha256 this code was tested with
    import xdt_rules.ingest.pdf  # noqa: F401 - reading PDFs switches pdfium to the package font

    assert pdfium_fonts.use_package_fonts() == "package"
