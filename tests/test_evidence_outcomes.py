"""Outcomes written as before/after tables and as "由…提高到…" sentences; systems described by what
they do rather than by their acronym; boilerplate that shares words with the criteria."""

from __future__ import annotations

from pathlib import Path

import pytest

from xdt_rules.evidence import find_evidence
from xdt_rules.models import Document, Mention
from support import doc, table

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def quantities(document: Document, item: str) -> list[Mention]:
    return [m for m in find_evidence([document]) if m.item_id == item and m.kind == "quantity"]


# ------------------------------------------------------------------ outcome tables

HEADER = ["指标", "改造前（2020年）", "改造后（2024年）", "变化"]


@pytest.mark.parametrize("row, item, direction, value, unit", [
    (["人均产值（万元/人）", "98", "141", "+43.9%"], "4.1.6", "up", 43.9, "%"),
    (["产品一次交检合格率", "95.3%", "98.6%", "提高3.3个百分点"], "4.1.4", "up", 3.3, "个百分点"),
    (["单件制造成本（元/件）", "312", "286", "下降8.3%"], "4.1.5", "down", 8.3, "%"),
    (["新产品开发周期（天）", "90", "55", "缩短35天"], "4.1.2", "down", 35, "天"),
    (["售后市场线上销售额（万元）", "0", "386", "新增"], "4.1.3", "up", 386, "万元"),
    (["可记录工伤事故（起/年）", "3", "0", "减少3起"], "4.1.8", "down", 3, "起"),
])
def test_outcome_table_rows_are_quantified_outcomes(row, item, direction, value, unit):
    for kind in ("table_cell", "sheet_cell"):
        (m,) = quantities(table(HEADER, row, kind=kind), item)
        assert m.polarity == "implemented" and m.block_kind == kind
        assert (m.quantity.direction, m.quantity.value, m.quantity.unit) == (direction, value, unit)
        assert m.matched == m.quantity.text


def test_before_and_after_columns_without_a_change_column():
    (m,) = quantities(table(["指标", "实施前", "实施后"], ["吨铸件熔炼电耗（kWh/吨）", "720", "615"]), "4.1.7")
    assert (m.quantity.direction, m.quantity.value, m.quantity.unit) == ("down", 615, "kwh/吨")  # units are normalised


def test_a_table_of_company_figures_is_not_an_outcome_table():
    # years in the rows, indicators in the header: the company's size, not a result of the transformation
    document = table(["年度", "营业收入（万元）", "利润总额（万元）"], ["2023年", "21,350", "1,148"], ["2024年", "23,610", "1,372"])
    assert not [m for m in find_evidence([document]) if m.kind == "quantity"]


def test_a_target_column_makes_the_row_a_plan():
    document = table(["指标", "现状", "2026年目标值", "变化"], ["人均产值（万元/人）", "98", "150", "+53%"])
    (m,) = quantities(document, "4.1.6")
    assert m.polarity == "planned"


def test_the_before_column_does_not_decide_the_row():
    document = table(HEADER, ["中小企业数字化水平评测等级", "未评测", "二级（2024年9月）", "达到二级"])
    assert {m.polarity for m in find_evidence([document]) if m.item_id == "4.1.1"} == {"implemented"}


def test_worksheet_rows_give_context_like_table_rows():
    document = table(["系统", "部署方", "本公司使用情况", "状态"], ["会员中心（CRM）", "集团", "计划2025年接入", "规划中"],
                     ["配方与包装PLM", "集团研发中心", "本公司不使用（无研发职能）", "—"], kind="sheet_cell")
    found = {m.item_id: m.polarity for m in find_evidence([document])}
    assert found["3.1.4"] == "planned" and found["1.1.3"] == "generic"


# ------------------------------------------------------------------ outcome sentences


@pytest.mark.parametrize("text, item, direction, value, unit", [
    ("压饼工序日产量由1200饼提高到3000饼。", "4.1.6", "up", 3000, "饼"),
    ("包装速度由每小时约300袋提高到1100袋。", "4.1.6", "up", 1100, "袋"),
    ("装量误差由±3%缩小到±1%。", "4.1.4", "down", 1, "%"),
    ("账实差异率由约2%降到0.3%。", "4.1.6", "down", 0.3, "%"),
    ("月度财务结账由上线前的8天缩短为3天。", "4.1.6", "down", 3, "天"),
    ("配方开发的实验次数减少约40%。", "4.1.2", "down", 40, "%"),
    ("粉尘作业岗位接触人数减少32人。", "4.1.8", "down", 32, "人"),
])
def test_outcome_sentences(text, item, direction, value, unit):
    (m,) = quantities(doc(text), item)
    assert (m.quantity.direction, m.quantity.value, m.quantity.unit) == (direction, value, unit)


def test_no_new_occupational_disease_is_a_safety_outcome():
    found = [m for m in find_evidence([doc("公司连续两年无新发职业病病例。")]) if m.item_id == "4.1.8"]
    assert found and {m.polarity for m in found} == {"implemented"}


@pytest.mark.parametrize("text", ["由1200提高到3000", "2023年以来支持企业", "按计划根据客户要求"])
def test_measure_words_that_start_words_are_not_units(text):
    assert not [m for m in find_evidence([doc(f"人均产值{text}。")]) if m.kind == "quantity" and m.quantity.unit in
                ("提", "支", "根")]


# ------------------------------------------------------------------ systems described by function


@pytest.mark.parametrize("text, item", [
    ("磷酸和锂源采用吨袋自动拆包投料站，投料和包装岗位由原来的46人减少到14人。", "1.2.1"),
    ("2023年4月购置全自动定量包装机2台，替代了原来的手工称量分装。", "1.2.1"),
    ("2021年建成自动配料生产线，原来人工称量、投料的8个粉尘岗位全部取消。", "1.2.1"),
    ("31家供应商在门户上接收订单、预约送货，到货后系统自动三单匹配、在线对账。", "2.2.3"),
    ("我司自建的订奶小程序于2021年10月上线，用户可在线订购、按周配送到户。", "2.2.1"),
    ("已与3家主要客户的质量系统对接，每批产品出厂时检验数据自动推送至客户。", "2.2.4"),
    ("公司2022年入驻省茶产业数字化服务平台，与14家合作初制所在平台上共享鲜叶收购数据。", "2.2.4"),
    ("研发人员使用FactSage热力学计算软件计算保护渣的熔化温度，配方开发的实验次数减少约40%。", "1.1.2"),
    ("研发中心用流程模拟软件搭建了全流程模型，新配方先做物料和能量衡算。", "1.1.2"),
    ("四项关键指标按批次绘制控制图并计算过程能力指数。", "1.3.4"),
    ("检测数据录入质量数据库，按批号可追溯到原料批次和配料记录。", "1.3.4"),
    ("计划员按订单生成批次工单，各工段在平板上扫码报工，在制品实时跟踪。", "1.3.2"),
    ("公司上线的经营管理平台覆盖财务、采购、销售、库存和成本核算。", "1.3.1"),
    ("管理层每天通过经营分析看板查看产销存、成本和资金情况。", "3.2.1"),
])
def test_systems_described_by_what_they_do(text, item):
    found = [m for m in find_evidence([doc(text)]) if m.item_id == item]
    assert "implemented" in {m.polarity for m in found}, [(m.matched, m.polarity, m.cue) for m in found]


# ------------------------------------------------------------------ boilerplate and criteria copies


def test_facts_that_share_words_with_the_criteria_are_not_copies():
    text = "2021年，公司投资420万元建成自动配料生产线，实现“机器换人”，原来人工称量的8个粉尘岗位全部取消。"
    assert "implemented" in {m.polarity for m in find_evidence([doc(text)]) if m.item_id == "1.2.1"}


def test_a_copy_with_filler_words_added_is_still_a_copy():
    text = "同时，公司积极推动锅炉、制冷等高能耗设备、电机、空压机等通用动力设备和其他各类关键生产设备及其辅助设备联网上云。"
    assert {m.polarity for m in find_evidence([doc(text)]) if m.item_id == "1.2.2"} == {"restates_criteria"}


def test_policy_boilerplate_is_no_demonstration_fact():
    text = "公司深入贯彻新发展理念，坚持以数字化转型为主线，着力打造冶金辅料行业数字化转型标杆。"
    assert "implemented" not in {m.polarity for m in find_evidence([doc(text)]) if m.item_id == "5.1.1"}


@pytest.mark.skipif(not (SAMPLES / "gold").is_dir(), reason="samples not built")
@pytest.mark.parametrize("first, last", [(1, 11), (12, 17), (18, 23), (24, 29)])
def test_quality_holds_on_each_set(first, last):
    """Development and hold-out sets are measured apart: a fix for one must not cost the other."""
    from xdt_rules.evidence.quality import evaluate

    apps = [p.stem for p in (SAMPLES / "gold").glob("*.yaml") if first <= int(p.stem.split("_", 1)[0]) <= last]
    report = evaluate(SAMPLES, "pdf", applications=apps)
    assert len(report.applications) == last - first + 1 and not report.errors
    assert report.f1 is not None and report.f1 >= 0.90
    assert report.false_implemented_share is not None and report.false_implemented_share <= 0.05


def test_a_unit_column_gives_the_unit():
    document = table(["序号", "指标", "单位", "基期值", "现值", "增减"], ["1", "人均产值", "万元/人", "98", "141", "+43"])
    (m,) = quantities(document, "4.1.6")
    assert (m.quantity.direction, m.quantity.value, m.quantity.unit) == ("up", 43, "万元/人")


# ------------------------------------------------------------------ outcomes in plain words (first missed in samples 24–29)


@pytest.mark.parametrize("text, item, direction, value, unit", [
    # counts of customers, products and stores are outcomes too (家, 个, 款; 多/余 before the unit)
    ("两个渠道2024年共带来新客户34家。", "4.1.3", "up", 34, "家"),
    ("网店2024年新增客户260多家。", "4.1.3", "up", 260, "家"),
    ("2024年上市新品17个。", "4.1.2", "up", 17, "个"),
    # time shortened without a named indicator: whatever took the time, it is efficiency
    ("ERP上线后，业务员报价由原来的半天缩短到20分钟左右。", "4.1.6", "down", 20, "分钟"),
    # a material used less of is a green outcome; throughput named as 处理/分选能力
    ("每年少用乙酸乙酯约38吨。", "4.1.7", "down", 38, "吨"),
    ("分选能力由人工的每小时1.2吨提高到每小时6吨。", "4.1.6", "up", 6, "吨"),
])
def test_outcomes_in_plain_words(text, item, direction, value, unit):
    found = quantities(doc(text), item)
    assert found, [(m.item_id, m.matched) for m in find_evidence([doc(text)])]
    m = found[0]
    assert (m.quantity.direction, m.quantity.value, m.quantity.unit) == (direction, value, unit)
    assert m.polarity == "implemented"


def test_a_new_product_and_its_first_year_sales_is_innovation():
    found = [m for m in find_evidence([doc("利用次果开发了冻干果脆片，当年销售380万元。")]) if m.item_id == "4.1.2"]
    assert "implemented" in {m.polarity for m in found}
    # sales of the company as a whole are no new product
    found = [m for m in find_evidence([doc("公司主要从事研发和生产，2024年销售额5000万元。")]) if m.item_id == "4.1.2"]
    assert "implemented" not in {m.polarity for m in found}


@pytest.mark.parametrize("text, expected", [
    ("三维设计普及以后，技术部2024年新增实用新型专利3项。", "implemented"),  # 以后 after an event = afterwards
    ("新品从立项到上市的平均周期由45天缩短到28天。", "implemented"),  # 从立项到 is a span, not a stage
    ("以后考虑新增专利申请3项。", "planned"),  # clause-initial 以后 is the future
])
def test_afterwards_is_not_a_plan(text, expected):
    found = [m for m in find_evidence([doc(text)]) if m.item_id in ("4.1.2", "4.1.6") and m.kind == "quantity"]
    assert found and {m.polarity for m in found} == {expected}


def test_a_table_comparing_two_years_is_an_outcome_table():
    document = table(["指标", "2021年", "2024年", "说明"], ["产品一次检验合格率", "98.1%", "99.4%", "出厂检验口径"],
                     ["月饼季人均日产量", "860盒", "1320盒", "按生产线在岗人员计"])
    (q,) = quantities(document, "4.1.4")
    assert (q.quantity.direction, q.quantity.value) == ("up", 99.4) and q.polarity == "implemented"
    (e,) = quantities(document, "4.1.6")
    assert e.quantity.direction == "up" and e.polarity == "implemented"
    # one year alone compares nothing
    assert not quantities(table(["指标", "2024年", "说明"], ["产品一次检验合格率", "99.4%", "出厂检验口径"]), "4.1.4")


@pytest.mark.parametrize("text", [
    "通过WMS系统，库存准确率由92%提升到\n99.5%，盘点时间缩短一半。",
    "一次合格率由96.3%提高到\n98.7%。",
])
def test_a_decimal_after_a_pdf_line_break_stays_in_its_sentence(text):
    """"99.5%" at the start of a wrapped PDF line is a number, not a list marker "99.": the
    sentence (and the highlight drawn from it) must hold the whole outcome."""
    (m,) = [q for q in find_evidence([doc(text)]) if q.kind == "quantity" and "由" in q.matched]
    assert m.sentence[m.start - m.sentence_start:m.end - m.sentence_start] == m.matched
    assert m.matched.endswith("%")


def test_a_numbered_heading_after_a_line_break_still_starts_a_sentence():
    document = doc("公司计划建设MES系统\n2. 已上线ERP系统，实现业财一体化。")
    erp = next(m for m in find_evidence([document]) if m.item_id == "1.3.1")
    assert erp.polarity == "implemented" and not erp.sentence.startswith("公司计划")
