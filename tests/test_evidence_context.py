"""Polarity of mentions: every cue of keywords/_context.yaml, pseudo cues, and the sentence
shapes applicants write (mixed sentences, past plans now done, 将 meaning 把, plan sections,
table rows, other parties, pasted criteria), plus quantified outcomes."""

from __future__ import annotations

import pytest

from xdt_rules.evidence import find_evidence
from xdt_rules.evidence.normalize import normalize_key
from xdt_rules.models import Block, Document, Mention
from support import KEYWORDS, doc

CONTEXT = KEYWORDS.context


def polarity(text: str, item: str = "1.3.2", term_text: str | None = None) -> Mention:
    mentions = [m for m in find_evidence([doc(text)]) if m.item_id == item and (term_text is None or m.matched == term_text)]
    assert mentions, f"no {item} mention in {text!r}"
    return mentions[0]


# ------------------------------------------------------------------ every cue word


@pytest.mark.parametrize("cue", CONTEXT.implemented)
def test_each_implemented_cue(cue):
    assert polarity(f"公司{cue}MES系统。").polarity == "implemented"


@pytest.mark.parametrize("cue", CONTEXT.planned)
def test_each_planned_cue(cue):
    m = polarity(f"公司{cue}MES系统。")
    assert (m.polarity, m.cue) == ("planned", cue)


@pytest.mark.parametrize("cue", CONTEXT.stages)
def test_each_stage_cue_makes_a_plan(cue):
    assert polarity(f"MES系统已完成{cue}。").polarity == "planned"


@pytest.mark.parametrize("cue", CONTEXT.negated)
def test_each_negated_cue(cue):
    m = polarity(f"公司{cue}MES系统。")
    assert (m.polarity, m.cue) == ("negated", normalize_key(cue))  # the words as they stand, normalised (Excel → excel)


@pytest.mark.parametrize("cue", CONTEXT.generic)
def test_each_generic_cue(cue):
    m = polarity(f"{cue}MES系统。")
    assert (m.polarity, m.cue) == ("generic", cue)


@pytest.mark.parametrize("word", CONTEXT.pseudo)
def test_each_pseudo_cue_carries_no_polarity(word):
    # the pseudo word stands where a cue would, and the statement stays a plain fact
    m = polarity(f"MES系统{word}。")
    assert m.polarity == "implemented" and m.cue is None


@pytest.mark.parametrize("text", [
    "公司实现无纸化办公，MES系统运行良好。",
    "车间无线网络全覆盖，MES系统无缝对接ERP。",
    "建成无人化仓库，MES系统不断完善。",
    "MES系统不仅管理生产，还管理质量，不良率下降了30%。",
])
def test_pseudo_negations_are_not_lacks(text):
    assert polarity(text).polarity == "implemented"


@pytest.mark.parametrize("pattern_kind", ["planned", "implemented", "negated"])
def test_regex_cues_compile_and_fire(pattern_kind):
    samples = {
        "planned": "公司力争2026年底前建成MES系统。",
        "implemented": "MES系统于2023年6月正式上线。",
        "negated": "生产报工仍以人工填写纸质单据为主，没有MES系统。",
    }
    assert polarity(samples[pattern_kind]).polarity == pattern_kind


# ------------------------------------------------------------------ sentence shapes


def test_mixed_sentence_splits_at_but():
    assert polarity("目前公司已上线ＥＲＰ，但MES尚未建设。", "1.3.1").polarity == "implemented"
    assert polarity("目前公司已上线ＥＲＰ，但MES尚未建设。", "1.3.2").polarity == "negated"


def test_past_plan_now_done_is_implemented():
    m = polarity("2022年计划建设的WMS已于2023年上线。", "1.3.3")
    assert (m.polarity, m.cue) == ("implemented", "已于")


def test_plan_governs_its_completion_verb():
    assert polarity("公司计划在包装线引入MES系统。").polarity == "planned"
    assert polarity("公司尚未部署MES系统。").polarity == "negated"


def test_jiang_as_ba_is_not_a_plan():
    assert polarity("MES系统将生产数据实时上传至云端。").polarity == "implemented"
    assert polarity("公司将建设MES系统。").polarity == "planned"


def test_deadline_and_target_years_are_plans():
    assert polarity("2026年底前建成MES系统。").polarity == "planned"
    assert polarity("到2027年全面推广MES系统。").polarity == "planned"


def test_plan_opener_governs_later_clauses():
    m = polarity("下一步，公司将重点推进以下工作：一是2025年建成MES系统，实现车间透明化；")
    assert m.polarity == "planned"


def test_earlier_clause_before_later_clause():
    text = "公司正在建设MES系统，重点实现批次追溯功能，目前已完成需求调研。"
    assert polarity(text, "1.3.4").polarity == "planned"


def test_plan_section_heading_turns_statements_into_plans():
    document = Document(path="a.docx", name="a.docx", sha256="0" * 64, size=1, file_type="docx", extractor_version="t",
                        blocks=[Block(index=0, kind="heading", text="六、下一步工作计划"),
                                Block(index=1, kind="paragraph", text="一是2026年上线MES，实现全过程数字化管理。"),
                                Block(index=2, kind="paragraph", text="二是在已上线ERP的基础上完善成本核算。"),
                                Block(index=3, kind="heading", text="七、其他"),
                                Block(index=4, kind="paragraph", text="公司上线MES。")])
    by_block = {(m.block, m.item_id): m for m in find_evidence([document])}
    assert by_block[(1, "1.3.2")].polarity == "planned"
    assert by_block[(2, "1.3.1")].polarity == "implemented"  # explicit 已 stays a fact
    assert by_block[(4, "1.3.2")].polarity == "implemented"


def test_headings_are_not_statements():
    document = Document(path="a.docx", name="a.docx", sha256="0" * 64, size=1, file_type="docx", extractor_version="t",
                        blocks=[Block(index=0, kind="heading", text="（二）ERP系统建设情况")])
    (m,) = [m for m in find_evidence([document]) if m.item_id == "1.3.1"]
    assert m.polarity == "generic"


def test_other_parties_systems_are_generic():
    assert polarity("行业普遍采用MES管理生产过程。").polarity == "generic"
    assert polarity("主要供应商已上线SRM系统。", "2.2.3").polarity == "generic"
    m = polarity("公司通过客户的供应商门户接收订单。", "2.2.3")
    assert m.polarity == "generic" and m.reading.actor == "other"
    assert polarity("县里有同行企业已经用上了溯源系统。", "1.3.4").polarity == "generic"
    assert polarity("公司按客户要求上线了MES系统。").polarity == "implemented"


def test_pasted_criteria_text_restates():
    m = polarity("采用计算机辅助设计（CAD）等技术，实现产品数字化设计。", "1.1.1")
    assert m.polarity == "restates_criteria" and "1.1.1" in m.cue
    m = polarity("在产业链内开展网络化协作，对接融入大企业供应链体系，形成数据驱动的大中小企业融通创新模式。", "2.2.4")
    assert m.polarity == "restates_criteria"  # pasted with words cut out


def test_official_wording_with_specifics_is_not_a_copy():
    m = polarity("公司2021年建立企业资源计划系统（用友U8），提高人、财、物、事等企业资源管理功能。", "1.3.1")
    assert m.polarity == "implemented"


# ------------------------------------------------------------------ tables


def _row(cells: list[str], row: int = 1, header: list[str] | None = None) -> Document:
    blocks = []
    if header:
        blocks += [Block(index=i, kind="table_cell", text=t, table=0, row=0, col=i) for i, t in enumerate(header)]
    blocks += [Block(index=len(blocks) + i, kind="table_cell", text=t, table=0, row=row, col=i) for i, t in enumerate(cells)]
    return Document(path="a.pdf", name="a.pdf", sha256="0" * 64, size=1, file_type="pdf", extractor_version="t", blocks=blocks)


@pytest.mark.parametrize("status, expected", [
    ("已上线", "implemented"), ("规划中", "planned"), ("否", "negated"), ("未建设", "negated"), ("2022年6月", "implemented"),
])
def test_table_row_cells_give_context(status, expected):
    mentions = [m for m in find_evidence([_row(["MES系统", "鼎捷", status])]) if m.item_id == "1.3.2"]
    assert mentions and all(m.polarity == expected for m in mentions)


def test_table_column_header_with_plan():
    document = _row(["WMS", "2026年"], header=["拟建系统", "计划上线时间"])
    (m,) = [m for m in find_evidence([document]) if m.item_id == "1.3.3" and m.block > 1]
    assert m.polarity == "planned"


# ------------------------------------------------------------------ patterns and quantities


def test_co_occurrence_patterns():
    kinds = {(m.item_id, m.kind) for m in find_evidence([doc("ERP与MES系统实现数据互通，工单自动下达。")])}
    assert ("1.3.5", "cue") in kinds
    kinds = {(m.item_id, m.kind) for m in find_evidence([doc("包装线引入码垛机器人，替代人工搬运。")])}
    assert ("1.2.1", "cue") in kinds
    kinds = {(m.item_id, m.kind) for m in find_evidence([doc("公司带动上下游15家企业开展数字化改造。")])}
    assert ("5.1.1", "cue") in kinds


def test_pattern_needs_all_groups():
    assert not [m for m in find_evidence([doc("ERP系统实现数据互通。")]) if m.item_id == "1.3.5" and m.kind != "model"]


def test_negation_inside_pattern_is_part_of_it():
    m = polarity("全年未发生安全生产事故。", "4.1.8")
    assert m.polarity == "implemented"


@pytest.mark.parametrize("text, item, direction, value, unit", [
    ("生产效率提升23%，运营成本降低12%。", "4.1.6", "up", 23, "%"),
    ("生产效率提升23%，运营成本降低12%。", "4.1.5", "down", 12, "%"),
    ("产品研制周期缩短30天。", "4.1.2", "down", 30, "天"),
    ("年节约126吨标煤。", "4.1.7", "down", 126, "吨标煤"),
    ("产品不良率由3.2%下降至1.5%。", "4.1.4", "down", 1.5, "%"),
    ("单位产值能耗下降８．５％。", "4.1.7", "down", 8.5, "%"),
    ("2024年线上销售额约86万元。", "4.1.3", "none", 86, "万元"),
])
def test_quantified_outcomes(text, item, direction, value, unit):
    (m,) = [m for m in find_evidence([doc(text)]) if m.item_id == item and m.kind == "quantity"]
    assert m.quantity is not None
    assert (m.quantity.direction, m.quantity.value, m.quantity.unit) == (direction, value, unit)
    assert m.quantity.text == m.matched


@pytest.mark.parametrize("text", [
    "2023年营业收入1.2亿元。",  # a company fact, not an outcome
    "公司拥有发明专利12项。",  # a stock, not a result of the transformation
    "生产效率在2023年有所提高。",  # a year is not a quantity
])
def test_facts_are_not_outcomes(text):
    assert not [m for m in find_evidence([doc(text)]) if m.kind == "quantity"]


def test_planned_outcome():
    (m,) = [m for m in find_evidence([doc("预计生产效率提升20%。")]) if m.kind == "quantity"]
    assert m.polarity == "planned"


def test_generic_cue_stays_in_its_clause():
    text = "设计部使用SolidWorks进行三维设计，生产效率提升23%，行业普遍采用PLM系统。"
    assert polarity(text, "1.1.1", "SolidWorks").polarity == "implemented"
    assert polarity(text, "1.1.3").polarity == "generic"


def test_stage_words_and_phase_words():
    assert polarity("MES和WMS项目已于2024年完成招标，目前处于实施阶段。").polarity == "planned"
    assert polarity("现阶段生产工单在MES系统中管理，计划2026年扩展到仓储。").polarity == "implemented"


def _blocks(*specs: tuple[str, str, int, str]) -> Document:
    return Document(path="a.pdf", name="a.pdf", sha256="0" * 64, size=1, file_type="pdf", extractor_version="t",
                    blocks=[Block(index=i, kind=kind, text=text, page=page, source=source)  # type: ignore[arg-type]
                            for i, (kind, text, page, source) in enumerate(specs)])


def test_numbered_short_paragraph_counts_as_heading():
    document = _blocks(("paragraph", "七、下一步计划", 4, "text"), ("paragraph", "一是2026年上线MES。", 4, "text"))
    (m,) = [m for m in find_evidence([document]) if m.item_id == "1.3.2"]
    assert m.polarity == "planned"


def test_scanned_page_does_not_inherit_the_previous_section():
    document = _blocks(("heading", "七、下一步计划", 4, "text"),
                       ("ocr_line", "2024年单位产品综合能耗较2021年下降11.2%。", 5, "ocr"))
    (m,) = [m for m in find_evidence([document]) if m.kind == "quantity"]
    assert m.polarity == "implemented" and m.ocr


def test_upgrade_source_exists_target_is_planned():
    text = "公司ERP系统较为陈旧，拟于2025年升级为用友YonBIP。"
    assert polarity(text, "1.3.1", "ERP系统").polarity == "implemented"
    assert polarity(text, "1.3.1", "用友YonBIP").polarity == "planned"
    assert polarity("下一步，公司将把金蝶K3替换为金蝶云星空。", "1.3.1", "金蝶K3").polarity == "implemented"
    assert polarity("公司已与用友签订ERP实施合同，项目预计于2025年6月上线。", "1.3.1", "ERP").polarity == "planned"
