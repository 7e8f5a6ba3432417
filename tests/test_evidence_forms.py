"""Reading forms and fragments, each as a general rule (first misread in samples 12–17):
self-assessment Q&A, bullet "label：value" fragments, present-tense words, not-applicable answers,
agreements and registrations as pre-stages, plain-language lacks and boilerplate ambitions."""

from __future__ import annotations

import pytest

from xdt_rules.evidence import find_evidence
from xdt_rules.models import Block, Document, Mention
from support import KEYWORDS, doc

CONTEXT = KEYWORDS.context


def mentions(text: str, item: str, kind: str = "paragraph") -> list[Mention]:
    return [m for m in find_evidence([doc(text, kind=kind)]) if m.item_id == item]


def polarities(text: str, item: str, kind: str = "paragraph") -> set[str]:
    found = mentions(text, item, kind)
    assert found, f"no {item} mention in {text!r}"
    return {m.polarity for m in found}


# ------------------------------------------------------------------ self-assessment questions


@pytest.mark.parametrize("text, item, expected", [
    ("9．是否建立MES：否，目前生产报工仍为纸质，月底由统计员手工汇总。", "1.3.2", {"negated"}),
    ("2．是否采用CAE、CAPP等开展工艺设计与仿真：否。", "1.1.2", {"negated"}),
    ("1．是否采用计算机辅助设计（CAD）：是。", "1.1.1", {"implemented"}),
    ("27．是否应用财务机器人、电子发票服务平台：部分是。", "3.2.3", {"implemented"}),
    ("13．是否实现生产系统自运行、自诊断、自优化：尚不具备条件。", "1.3.6", {"negated"}),
    ("36．是否形成可复制推广的经验并对外输出：目前还谈不上对外输出经验。", "5.1.1", {"negated"}),
    ("5．关键设备是否联网上云：否，尚不具备条件。", "1.2.2", {"negated"}),
])
def test_the_answer_after_the_question_decides(text, item, expected):
    # the question restates the criterion (and has 采用/建立/实现 in it); the answer is the fact
    assert polarities(text, item) == expected


@pytest.mark.parametrize("text, item", [
    ("6．是否采用CAM、DNC：不适用，本企业没有数控加工环节。", "1.2.3"),
    ("23．是否开展在线监控、远程诊断、预测性维护等服务：不涉及，茶叶产品无此类服务需求。", "3.1.3"),
])
def test_not_applicable_is_neither_a_lack_nor_a_fact(text, item):
    assert polarities(text, item) == {"generic"}


def test_a_question_is_never_a_criteria_copy():
    text = "是否采用计算机辅助设计（CAD）等技术，实现产品数字化设计：是。"
    assert polarities(text, "1.1.1") == {"implemented"}


def test_a_question_without_an_answer_states_nothing():
    assert polarities("21．是否应用人工智能、新型传感器、AR/VR等技术：详见附件。", "3.1.1") == {"generic"}


# ------------------------------------------------------------------ bullets: "label：value" fragments


@pytest.mark.parametrize("text, item, expected", [
    ("● DNC：无，加工程序仍用U盘拷到机床", "1.2.3", {"negated"}),
    ("● WMS/TMS：无", "1.3.3", {"negated"}),
    ("● PLM：暂无，图纸按产品型号存放在共享盘", "1.1.3", {"negated"}),
    ("● ERP：用友U8，2021年3月上线，采购、销售、库存全部在系统中做", "1.3.1", {"implemented"}),
    ("● MES：新核云，2022年10月上线，覆盖熔炼、造型、机加全工序", "1.3.2", {"implemented"}),
])
def test_bullet_value_decides_the_label(text, item, expected):
    assert polarities(text, item, kind="list_item") == expected


def test_bullet_label_follows_the_same_item_in_its_value():
    # "目前只有视频监控" says nothing on its own; the value's own mention of the item is a lack
    text = "● 安全生产信息化：目前只有视频监控，熔炼区域还未接入工业互联网安全生产监测平台"
    assert polarities(text, "1.3.7", kind="list_item") == {"negated"}


def test_long_lead_in_before_a_colon_is_not_a_label():
    text = "公司在粉尘最大、劳动强度最高的投料和包装环节全面实现了MES管理：计划员按订单生成批次工单。"
    assert polarities(text, "1.3.2") == {"implemented"}


def test_label_with_its_own_cue_keeps_it():
    assert polarities("● 计划建设的MES：2026年上线", "1.3.2", kind="list_item") == {"planned"}


# ------------------------------------------------------------------ tense and cue words


@pytest.mark.parametrize("cue", CONTEXT.present)
def test_present_tense_alone_is_a_fact(cue):
    assert polarities(f"{cue}生产工单在MES系统中管理。", "1.3.2") == {"implemented"}


@pytest.mark.parametrize("cue", CONTEXT.present)
def test_present_tense_yields_to_a_stronger_cue(cue):
    assert polarities(f"MES系统{cue}还没有。", "1.3.2") == {"negated"}
    assert polarities(f"MES系统{cue}正在建设。", "1.3.2") == {"planned"}


@pytest.mark.parametrize("text, item", [
    ("拼配工艺还停留在靠老师傅经验判断的阶段，没有仿真软件。", "1.1.2"),
    ("公司只有一个业务系统，谈不上系统集成。", "1.3.5"),
    ("设备台账是纸质的，设备管理系统基本空白。", "1.2.4"),
    ("公司产品面向电池企业，不通过电商渠道销售。", "2.2.2"),
    ("对上游供应商的采购仍是电话下单，SCM无从谈起。", "2.2.3"),
])
def test_plain_language_lacks(text, item):
    assert "negated" in polarities(text, item)


def test_not_measured_is_not_a_lack():
    assert polarities("安全方面：未统计。", "4.1.8") == {"generic"}


@pytest.mark.parametrize("text", [
    "2025年：机加二车间接入运营商5G专网（已与中国联通签订建设协议）。",
    "2025年10月前上线5G专网（已与供应商签订意向协议）。",
    "公司已与运营商签订框架协议，5G专网进入实施准备。",
])
def test_a_signed_agreement_is_not_an_implementation(text):
    assert polarities(text, "2.1.2") == {"planned"}


def test_registration_for_an_evaluation_is_a_plan():
    assert "planned" in polarities("已报名参加2025年组织的中小企业数字化水平评测。", "4.1.1")


def test_an_inquiry_in_a_business_process_is_not_a_stage():
    text = "客户从询价、送样、订单到投诉处理的全过程都在客户服务平台中记录。"
    assert polarities(text, "3.1.4") == {"implemented"}


@pytest.mark.parametrize("text", [
    "公司着力打造行业数字化转型标杆。",
    "公司致力于建立客户关系管理系统（CRM）。",
])
def test_ambitions_are_plans(text):
    item = "5.1.1" if "标杆" in text else "3.1.4"
    assert polarities(text, item) <= {"planned", "restates_criteria"}


def test_year_to_year_comparisons_and_as_of_dates_are_not_deadlines():
    text = "线上销售额由2021年的310万元增长到2024年的1260万元。"
    assert polarities(text, "4.1.3") == {"implemented"}
    assert polarities("截至2024年底，MES系统累计处理工单3万张。", "1.3.2") == {"implemented"}
    assert polarities("2025年10月前上线MES系统。", "1.3.2") == {"planned"}


# ------------------------------------------------------------------ other question shapes


@pytest.mark.parametrize("texts, item, expected", [
    (["9．是否建立MES？否，生产报工仍为纸质。"], "1.3.2", {"negated"}),
    (["问：是否建立仓库管理系统（WMS）？答：没有，仓库靠手工台账。"], "1.3.3", {"negated"}),
    (["（5）企业是否实现关键设备联网上云？已实现，48台设备接入云平台。"], "1.2.2", {"implemented"}),
    (["是否建立MES？是否建立WMS？否。"], "1.3.2", {"generic"}),  # the next question is no answer
])
def test_questions_ending_in_a_question_mark(texts, item, expected):
    assert {m.polarity for m in find_evidence([doc(*texts)]) if m.item_id == item} == expected


def _table(header: list[str], *rows: list[str]) -> Document:
    blocks = []
    for r, cells in enumerate([header, *rows]):
        for c, text in enumerate(cells):
            blocks.append(Block(index=len(blocks), kind="table_cell", text=text, table=0, row=r, col=c))
    return Document(path="a.pdf", name="a.pdf", sha256="0" * 64, size=1, file_type="pdf", extractor_version="t", blocks=blocks)


def test_self_assessment_table_answers_decide_and_the_criterion_column_is_no_copy():
    document = _table(["序号", "评价内容", "是否具备", "说明"],
                      ["9", "建立制造执行系统（MES），实现制造数据、计划排产、生产调度、质量、设备、能效等管理功能。", "否", "报工靠纸质"],
                      ["10", "采用计算机辅助设计（CAD）等技术，实现产品数字化设计。", "是", "用AutoCAD绘图"],
                      ["11", "采用计算机辅助制造（CAM）技术，对制造过程和生产设备进行控制与监视。", "不适用", "无数控加工"])
    got: dict[str, set[str]] = {}
    for m in find_evidence([document]):
        got.setdefault(m.item_id, set()).add(m.polarity)
    assert got["1.3.2"] == {"negated"} and got["1.1.1"] == {"implemented"} and got["1.2.3"] == {"generic"}


def test_an_answer_only_counts_under_a_header_that_asks():
    # | 设备 | 联网方式 | ：“无”说的是联网方式，不是“没有打磨机器人”
    document = _table(["设备名称", "数量", "联网方式"], ["打磨机器人", "3", "无"])
    assert {m.polarity for m in find_evidence([document]) if m.item_id == "1.2.1"} == {"implemented"}


# ------------------------------------------------------------------ dates after the document's own date


@pytest.mark.parametrize("texts, item, expected", [
    (["● 2026年：试点APS排产，根据订单自动排产", "2025年4月8日"], "1.3.2", {"planned"}),
    (["2025年6月上线MES系统。", "昆明某某有限公司", "2025年3月20日"], "1.3.2", {"planned"}),
    (["2025年1月上线MES系统。", "2025年3月20日"], "1.3.2", {"implemented"}),
    (["二〇二五年三月", "2026年上线MES系统。"], "1.3.2", {"planned"}),  # a cover date in Chinese numerals
    (["2026年MES系统已完成二期上线。", "2025年3月20日"], "1.3.2", {"implemented"}),  # stated with 已
    (["2021年至2026年累计投入MES系统建设资金500万元。", "2025年3月20日"], "1.3.2", {"implemented"}),  # end of a range
    (["2026年上线MES系统。"], "1.3.2", {"implemented"}),  # no date of its own: nothing to compare with
    (["2026年上线MES系统。", "有效期至2026年10月11日", "发证日期：2023年10月12日"], "1.3.2", {"planned"}),
])
def test_facts_dated_after_the_document_are_plans(texts, item, expected):
    assert {m.polarity for m in find_evidence([doc(*texts)]) if m.item_id == item} == expected


def test_a_system_list_row_dated_after_the_document_is_a_plan():
    document = _table(["系统", "供应商", "上线时间"], ["WMS", "富勒", "2026年6月"], ["ERP", "用友", "2021年3月"])
    document.blocks.append(Block(index=len(document.blocks), kind="paragraph", text="2025年3月20日"))
    got = {m.item_id: m.polarity for m in find_evidence([document]) if m.kind != "fuzzy"}
    assert got["1.3.3"] == "planned" and got["1.3.1"] == "implemented"


@pytest.mark.parametrize("text, item, expected", [
    ("1.是否建立ERP：是（详见附件3）", "1.3.1", {"implemented"}),
    ("2.是否建立MES：部分具备，车间报工已上线。", "1.3.2", {"implemented"}),
    ("3.是否建立WMS：√", "1.3.3", {"implemented"}),
    ("4.是否采用SCM：×", "2.2.3", {"negated"}),
    ("5.是否建立CRM：暂不具备条件", "3.1.4", {"negated"}),
])
def test_answer_forms(text, item, expected):
    assert polarities(text, item) == expected


def test_a_lack_with_a_plan_for_the_same_topic_is_a_plan():
    assert polarities("9．是否建立MES：否，计划2026年引入轻量化生产管理软件。", "1.3.2") == {"planned"}
    assert polarities("● WMS：暂无，亟需建设", "1.3.3", kind="list_item") == {"planned"}
    assert polarities("9．是否建立MES：否，报工仍为纸质。", "1.3.2") == {"negated"}


@pytest.mark.parametrize("text, item, expected", [
    ("【DNC】无，程序仍用U盘拷到机床", "1.2.3", {"negated"}),
    ("【ERP】用友U8，2021年3月上线", "1.3.1", {"implemented"}),
    ("★ WMS：暂无", "1.3.3", {"negated"}),
])
def test_other_label_shapes(text, item, expected):
    assert polarities(text, item, kind="list_item") == expected


def test_a_sentence_broken_by_a_page_continues_in_the_next_paragraph():
    document = Document(path="a.pdf", name="a.pdf", sha256="0" * 64, size=1, file_type="pdf", extractor_version="t",
                        blocks=[Block(index=0, kind="paragraph", page=4, text="公司计划2025年底前完成78台设备的数据采集，并接入拟建设的平台，"),
                                Block(index=1, kind="footer", page=4, text="第 4 页，共 6 页"),
                                Block(index=2, kind="paragraph", page=5, text="逐步开展设备稼动率和能耗分析。公司已上线ERP系统。")])
    got = {m.matched: m.polarity for m in find_evidence([document]) if m.block == 2}
    assert got["设备稼动率"] == "planned" and got["ERP系统"] == "implemented"
    # a finished paragraph carries nothing over
    document.blocks[0] = Block(index=0, kind="paragraph", page=4, text="公司计划2025年底前完成78台设备的数据采集。")
    assert {m.polarity for m in find_evidence([document]) if m.matched == "设备稼动率"} == {"implemented"}


def test_an_outcome_row_answered_yes_and_described_is_evidence_not_a_tick():
    # batches 16-17: every outcome row of the self-assessment forms was missed; the row's own label
    # (创新方面成效) is a weak word by itself, the row's answer and its 说明 make it a claim
    from support import table

    from xdt_rules.scoring import score_mentions
    from xdt_rules.framework import load_framework

    fw = load_framework()
    form = table(["序号", "评价要求", "现状", "说明"],
                 ["29", "创新方面成效", "是", "技术团队经过3年攻关，掌握了高纯度NMP提纯技术，已申请专利。"],
                 ["30", "市场方面成效", "是", "——"],
                 ["33", "增效方面成效", "预计", "焚烧项目建成后，年焚烧处置危险废物能力将达到3万吨。"],
                 ["36", "示范带动效应", "是", "辐射带动周边2600余户群众种植辣椒8000余亩。"])
    items = {i.id: i for i in score_mentions(find_evidence([form], fw), catalogue=fw.catalogue, book=fw.rules).items}
    assert items["4.1.2"].status == "partial"
    assert items["4.1.3"].status not in ("met", "partial")  # answered, not described
    assert items["4.1.6"].status == "planned"  # 建成后……将达到: the row is a plan
    assert items["5.1.1"].status not in ("met", "partial")  # employment is no digital demonstration


def test_a_plain_xianzhuang_column_is_the_forms_answer():
    # batch 18: | 评价内容 | 现状 | 说明 | forms had their criterion text read as the enterprise's claims
    from support import table

    form = table(["序号", "评价内容", "现状", "说明"],
                 ["6", "采用CAM、DNC技术", "不涉及", ""],
                 ["12", "MES、ERP与PLM、SCM、CRM等系统之间数据互换", "已实现", "SAP与WMS之间有接口，生产订单下达和成品入库数据自动传递。"])
    found = find_evidence([form])
    assert not any(m.item_id == "1.2.3" and m.polarity == "implemented" for m in found)
    assert any(m.item_id == "1.3.5" and m.polarity == "implemented" for m in found)  # SAP与WMS之间有接口
    # the answer is about integration, not about a PLM or a CRM the criterion's wording names
    assert not any(m.item_id in ("1.1.3", "3.1.4") and m.polarity == "implemented" for m in found)
