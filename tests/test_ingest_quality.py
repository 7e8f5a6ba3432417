"""The per-page text-quality gate: unit cases and real PDFs whose text layer is unusable."""

from __future__ import annotations

import pytest

from fixtures_build import build_unmapped_font_pdf
from xdt_rules.ingest import ExtractOptions, extract, pages_needing_ocr
from xdt_rules.ingest.quality import assess_page, char_stats

GOOD = "公司于2021年上线用友U8 ERP系统，实现采购、销售、库存和财务业务的一体化管理。①设备联网率达到95%。"


def test_good_chinese_text_is_ok():
    verdict = assess_page(GOOD)
    assert verdict.status == "ok" and verdict.reason is None and verdict.chars == len(GOOD.replace(" ", ""))


@pytest.mark.parametrize("text, status, phrase", [
    ("", "empty", "空白页"),
    ("   \n ", "empty", "空白页"),
    ("(cid:12)(cid:15)(cid:77)(cid:3) 公司", "garbled", "(cid:N)"),
    ("企业\ufffd\ufffd\ufffd\ufffd系统上线", "garbled", "乱码"),
    ("\ue001\ue002\ue003\ue004\ue005企业", "garbled", "乱码"),
    ("\x01\x02\x03\x04企业数字化", "garbled", "乱码"),
    ("ꀀꀁꀂꀃꀄꀅꀆꀇꀈꀉꀊꀋꀌꀍꀎꀏꀐꀑꀒꀓꀔꀕ企业", "garbled", "组合异常"),
])
def test_broken_text_layers(text, status, phrase):
    verdict = assess_page(text)
    assert verdict.status == status and phrase in verdict.reason


def test_scanned_page_with_a_page_number_only():
    assert assess_page("- 3 -", images=1, image_coverage=0.9).status == "no_text_layer"
    assert assess_page("", images=2, image_coverage=0.1).status == "no_text_layer"
    # A screenshot with a real paragraph under it is a text page.
    assert assess_page(GOOD, images=1, image_coverage=0.6).status == "ok"


def test_char_stats_counts():
    stats = char_stats("(cid:3)(cid:4) 企\ufffd\ue000")
    assert (stats.cid, stats.replacement, stats.private_use, stats.total) == (2, 1, 1, 5)


def test_pdf_page_without_unicode_map_is_garbled_and_not_emitted(tmp_path):
    doc = extract(build_unmapped_font_pdf(tmp_path / "nomap.pdf"), ExtractOptions(ocr="off"))
    assert [(p.status, p.chars > 0) for p in doc.page_info] == [("ok", True), ("garbled", True)]
    assert "ToUnicode" in doc.page_info[1].reason and "需要OCR" in doc.page_info[1].reason
    assert [(b.page, b.text) for b in doc.blocks] == [(1, "Digital transformation report")]
    assert pages_needing_ocr(doc) == [2]
