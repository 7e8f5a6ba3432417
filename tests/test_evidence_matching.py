"""Matching on normalised raw text: full-width, case, line breaks, word boundaries, longest match,
jieba word checks, fuzzy/OCR variants, and the exact-span property."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xdt_rules.evidence import find_evidence
from xdt_rules.evidence.normalize import normalize, normalize_key
from xdt_rules.models import Block, Document, Mention
from support import KEYWORDS, doc


def found(text: str, **kw: str) -> list[Mention]:
    return find_evidence([doc(text, **kw)])


def items(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for m in found(text):
        out.setdefault(m.item_id, []).append(m.matched)
    return out


def check_spans(document: Document, mentions: list[Mention]) -> None:
    blocks = {b.index: b for b in document.blocks}
    for m in mentions:
        text = blocks[m.block].text
        assert text[m.start : m.end] == m.matched
        assert text[m.sentence_start : m.sentence_end] == m.sentence
        assert m.sentence_start <= m.start < m.end <= m.sentence_end
        Mention.model_validate(m.model_dump())


# ------------------------------------------------------------------ normalisation


def test_normalize_maps_back_to_original_offsets():
    nt = normalize("公司上线ＥＲＰ，制造执\n行系统与 U8 Cloud")
    assert nt.text == "公司上线erp,制造执行系统与u8cloud"
    i = nt.text.index("制造执行系统")
    start, end = nt.span(i, i + len("制造执行系统"))
    assert nt.original[start:end] == "制造执\n行系统"
    i = nt.text.index("erp")
    assert nt.original[slice(*nt.span(i, i + 3))] == "ＥＲＰ"


def test_normalize_key_folds_width_case_and_spaces():
    assert normalize_key("ＳｏｌｉｄＷｏｒｋｓ") == "solidworks"
    assert normalize_key("U8 Cloud") == "u8cloud"
    assert normalize_key("（ＥＲＰ）") == "(erp)"


# ------------------------------------------------------------------ tricky terms


@pytest.mark.parametrize("text, item, matched", [
    ("公司已上线ＥＲＰ系统。", "1.3.1", "ＥＲＰ系统"),
    ("公司已上线erp。", "1.3.1", "erp"),
    ("制造执\n行系统已全面上线。", "1.3.2", "制造执\n行系统"),
    ("企业资源计\n划系统运行稳定。", "1.3.1", "企业资源计\n划系统"),
    ("2021年上线用友U8 Cloud。", "1.3.1", "用友U8 Cloud"),
    ("2021年上线用友U8Cloud。", "1.3.1", "用友U8Cloud"),
    ("设计部使用Solid\nWorks绘图。", "1.1.1", "Solid\nWorks"),
    ("已建成M.E.S，运行良好。", "1.3.2", "M.E.S"),
    ("通过财务机器人实现自动对账。", "3.2.3", "财务机器人"),
    ("车间已覆盖5G专网。", "2.1.2", "5G专网"),
    ("全面推行数电发票。", "3.2.3", "数电发票"),
    ("采用金蝶云星空管理财务。", "1.3.1", "金蝶云星空"),
])
def test_terms_found_with_exact_original_text(text, item, matched):
    assert matched in items(text).get(item, [])


def test_longest_match_wins_over_contained_terms():
    found_items = items("通过财务机器人实现自动对账，5G专网覆盖全厂。")
    assert "3.1.1" not in found_items  # 机器人 inside 财务机器人
    assert found_items["2.1.2"] == ["5G专网"]  # not also 5G


@pytest.mark.parametrize("text, item", [
    ("系统发送MESSAGE到终端。", "1.3.2"),
    ("芯片设计使用CADENCE工具。", "1.1.1"),
    ("请发送EMAIL联系我们。", "3.1.1"),  # AI inside EMAIL
    ("型号为XMES200的设备。", "1.3.2"),
    ("CA D图纸", "1.1.1"),  # two words, not CAD
])
def test_latin_terms_only_on_word_boundaries(text, item):
    assert item not in items(text)


@pytest.mark.parametrize("text, item", [
    ("公司位于北京东路88号。", "2.2.2"),  # 京东 inside 北京/东路
    ("秉承宁静致远的企业文化。", "2.1.1"),  # 致远 inside 宁静致远
])
def test_short_chinese_terms_do_not_cut_words(text, item):
    assert item not in items(text)


def test_short_chinese_terms_found_as_words():
    assert items("公司在京东开设旗舰店，并入驻天猫。")["2.2.2"][:1] == ["京东"]


@pytest.mark.parametrize("text, item, term", [
    ("制造执行糸统已上线。", "1.3.2", "MES"),
    ("财务使用金碟软件记账。", "1.3.1", "金蝶"),
    ("产品生命周期管里系统已上线。", "1.1.3", "PLM"),
])
def test_fuzzy_variants_of_longer_terms(text, item, term):
    hits = [m for m in found(text) if m.item_id == item]
    assert hits and hits[0].kind == "fuzzy" and hits[0].term == term
    assert hits[0].confidence < 1


def test_no_fuzzy_for_short_terms_or_generic_suffixes():
    assert "1.3.3" not in items("物料管理系统已上线。")  # 物流管理系统 differs by one char but means another thing
    assert "2.2.2" not in items("公司在京西开设门店。")  # 京东: 2 chars, never fuzzy


def test_table_cells_and_page_numbers_are_kept():
    document = Document(path="a.pdf", name="a.pdf", sha256="1" * 64, size=1, file_type="pdf", extractor_version="t",
                        blocks=[Block(index=0, kind="table_cell", text="MES系统", page=3, table=0, row=1, col=0)])
    (m,) = [m for m in find_evidence([document]) if m.item_id == "1.3.2"]
    assert (m.page, m.in_table, m.block_kind, m.file) == (3, True, "table_cell", "a.pdf")


def test_ocr_blocks_flagged_and_confusions_corrected():
    (m,) = [m for m in found("公司己引人金碟云星空。", source="ocr") if m.item_id == "1.3.1"]
    assert m.ocr is True and m.kind == "fuzzy" and m.matched == "金碟云星空"
    assert m.polarity == "implemented" and m.cue == "已引入"  # the cue as corrected
    (m,) = [m for m in found("MES系统己上线。", source="ocr") if m.item_id == "1.3.2"]
    assert m.kind == "term" and m.polarity == "implemented" and m.cue == "已上线"


def test_deterministic_order_and_output():
    document = doc("公司已上线ERP和MES，计划建设WMS。", "2023年上线用友U8，设备联网率达到90%。")
    first = [m.model_dump() for m in find_evidence([document, document])]
    second = [m.model_dump() for m in find_evidence([document, document])]
    assert first == second
    keys = [(0 if i < len(first) // 2 else 1, m["block"], m["start"], m["end"]) for i, m in enumerate(first)]
    assert keys == sorted(keys)


def test_keyword_set_is_cached_per_folder_and_content():
    assert KEYWORDS is KEYWORDS


# ------------------------------------------------------------------ property: spans slice the original text

FRAGMENTS = [
    "ERP", "ＥＲＰ", "erp", "MES", "M.E.S", "制造执", "\n", "行系统", "U8", " ", "Cloud", "用友", "金蝶", "金碟",
    "已上线", "计划", "尚未", "无纸化", "财务机器人", "5G", "专网", "，", "。", "；", "生产效率提升", "23", "%",
    "１２％", "吨标煤", "节约", "\u3000", "（", "）", "MESSAGE", "CAD", "北京东路", "京东", "　", "\t", "㎏", "①",
    "采用计算机辅助设计（CAD）等技术，实现产品数字化设计。", "设备", "联网", "系统集成", "与", "数据互通",
]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=3)), min_size=1, max_size=30),
       st.sampled_from(["text", "ocr"]))
def test_every_span_slices_the_block_text_exactly(parts, source):
    document = doc("".join(parts), "".join(reversed(parts)), source=source)
    check_spans(document, find_evidence([document]))
