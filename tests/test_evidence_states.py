"""System states between done and planned (first misread in samples 18–23), other
parties named by kinship (母公司/兄弟单位/联合体), organisation names, and dated clauses.

The sentences are written for these tests, not taken from the samples: they state the rule in
another industry's words."""

from __future__ import annotations

import pytest

from xdt_rules.evidence import find_evidence
from xdt_rules.models import Block, Document, Mention
from support import KEYWORDS, doc, table


def mentions(document: Document, item: str, term_text: str | None = None) -> list[Mention]:
    return [m for m in find_evidence([document]) if m.item_id == item and (term_text is None or m.matched == term_text)]


def polarity(text: str, item: str, term_text: str | None = None) -> str:
    found = mentions(doc(text), item, term_text)
    assert found, f"no {item} mention in {text!r}"
    return found[0].polarity


# ------------------------------------------------------------------ bought or built, not yet in use


@pytest.mark.parametrize("text", [
    "2024年9月已购买WMS系统的授权，服务器已到位，尚未启用，计划明年一季度启用。",  # the state is in a later clause
    "立体仓库的WMS系统已完成安装调试，待验收。",
    "WMS系统已采购，尚未投入使用。",
    "WMS与ERP的接口已开发完成，目前正在联调。",
    "WMS系统已于去年底部署完毕，但由于基础数据还没整理好，暂未启用。",  # 但 gives the reason; the state is still WMS's
])
def test_not_yet_in_use_is_a_plan(text):
    assert polarity(text, "1.3.3", None) == "planned"


@pytest.mark.parametrize("text", [
    "WMS系统一期已上线运行，二期尚未启用。",  # another part of the project
    "WMS系统已上线运行，与ERP的接口正在联调。",  # the later clause names its own subject
    "WMS系统试运行期间出库差错率下降一半。",  # trial operation is operation
])
def test_a_pending_part_or_another_subject_leaves_the_fact(text):
    assert polarity(text, "1.3.3", "WMS系统") == "implemented"


# ------------------------------------------------------------------ taken out of use


@pytest.mark.parametrize("text", [
    "2018年上线的WMS系统因供应商倒闭无人维护，已于2022年停用。",
    "公司早年购买的WMS系统使用率低，试用一年后停用，目前仓库仍用纸质单据。",
    "2020年建设的WMS系统和条码系统也都因与新ERP不兼容而停止使用。",
])
def test_ceased_is_a_lack(text):
    assert polarity(text, "1.3.3", "WMS系统") == "negated"


def test_stopping_something_else_is_no_lack():
    # 停用 with an object: this enterprise stopped its old way, the system is the new one
    assert polarity("WMS系统上线后，仓库停用了纸质出入库单。", "1.3.3", "WMS系统") == "implemented"


def test_table_row_state_outranks_a_completion_date():
    document = table(["项目", "供应商", "状态", "时间"],
                     ["WMS（旧）", "本地软件公司", "已停用", "2019年上线，2023年停用"],
                     ["条码WMS", "用友", "已采购，尚未启用", "2024年12月采购"],
                     ["堆垛机WMS", "设备厂家", "安装调试完成待验收", "2025年3月"],
                     ["ERP", "金蝶", "一期已上线；二期在建", "2023年7月上线"])
    by_cell = {m.sentence: m.polarity for m in find_evidence([document]) if m.block_kind == "table_cell"}
    assert by_cell["WMS（旧）"] == "negated"
    assert by_cell["条码WMS"] == "planned"
    assert by_cell["堆垛机WMS"] == "planned"
    assert by_cell["ERP"] == "implemented"


def test_no_longer_relying_on_the_old_way_is_done():
    # 不再靠经验 is the lack removed, not a lack
    assert polarity("仓库出入库全部扫码，在WMS系统中完成，不再靠人工记账。", "1.3.3", "WMS系统") == "implemented"


# ------------------------------------------------------------------ dated clauses


def test_a_dated_figure_under_an_expectation_is_a_plan():
    text = "预计新WMS上线后，库存周转天数可由目前的45天缩短到30天，每年节约仓储费用约80万元。"
    found = [m for m in find_evidence([doc(text)]) if m.kind == "quantity"]
    assert found and all(m.polarity == "planned" for m in found)


def test_a_dated_topic_followed_by_a_lack_is_a_lack():
    assert polarity("车间的可燃气体报警器目前是独立报警，还没有联网。", "1.3.7") == "negated"


def test_a_dated_fact_followed_by_a_plan_stays_a_fact():
    assert polarity("目前生产工单在MES系统中管理，计划明年扩展到仓储。", "1.3.2", "MES系统") == "implemented"


# ------------------------------------------------------------------ other parties by kinship


@pytest.mark.parametrize("text, item, term", [
    ("成品由兄弟单位物流中心统一仓储和配送，使用其自有的WMS系统。", "1.3.3", "WMS系统"),
    ("线上销售由兄弟单位云岭电子商务有限公司统一运营。", "2.2.2", "线上销售"),
    ("母公司建有数字化指挥中心，对各子公司经营数据进行分析，我司的经营数据由母公司每月汇总。", "3.2.2", None),
    ("需要说明的是，母公司于2023年通过两化融合管理体系AA级评定，评定范围为母公司本部。", "4.1.1", None),
    ("母公司的集团MES目前在兄弟单位试点。", "1.3.2", "MES"),
    ("联合体牵头单位建设了工业互联网平台。", "1.2.2", None),
])
def test_kin_and_partners_are_other_parties(text, item, term):
    assert polarity(text, item, term) == "generic"


def test_deployed_by_the_parent_and_used_here_is_ours():
    text = "ERP系统由母公司信息中心部署、我司财务部使用，采购、销售和库存全部在系统中运行。"
    assert polarity(text, "1.3.1", "ERP系统") == "implemented"


def test_organisation_names_are_not_activities():
    assert polarity("公司另设全资子公司滇红电子商务有限公司。", "2.2.2") == "generic"
    assert polarity("主要客户覆盖烟草、医药、电商快递和冷链行业。", "2.2.2") == "generic"


# ------------------------------------------------------------------ integration without acronyms


def test_two_named_systems_joined_are_integration():
    assert polarity("门店收银系统与配送系统已打通，销量自动生成要货单。", "1.3.5") == "implemented"


def test_two_names_of_one_system_are_not_two_systems():
    text = "一车间的设备数据采集与OEE看板已投用，系统自动统计开机时间并推送到班组长手机。"
    assert not mentions(doc(text), "1.3.5")


# ------------------------------------------------------------------ sections, contracts, not applicable


def _doc(*specs: tuple[str, str]) -> Document:
    return Document(path="a.pdf", name="a.pdf", sha256="0" * 64, size=1, file_type="pdf", extractor_version="t",
                    blocks=[Block(index=i, kind=kind, text=text, page=1) for i, (kind, text) in enumerate(specs)])  # type: ignore[arg-type]


def test_numbered_subheading_stays_in_the_plan_section():
    document = _doc(("heading", "五、下一步工作计划"), ("heading", "（二）生产管理"), ("paragraph", "WMS系统覆盖成品仓。"))
    (m,) = mentions(document, "1.3.3")
    assert m.polarity == "planned"
    document = _doc(("heading", "五、下一步工作计划"), ("heading", "六、应用成效"), ("paragraph", "WMS系统覆盖成品仓。"))
    (m,) = mentions(document, "1.3.3")
    assert m.polarity == "implemented"


def test_a_heading_with_clauses_is_a_statement():
    # PDF extraction took the numbered first line of a plan item for a heading
    document = _doc(("heading", "五、下一步工作计划"),
                    ("heading", "（一）2025年6月前完成WMS在成品仓上线，实现扫码出入库，2026"),
                    ("paragraph", "年推广到原料仓；WMS二期建设供应商送货预约。"))
    found = mentions(document, "1.3.3")
    assert found and all(m.polarity == "planned" for m in found)


def _contract(*lines: str) -> Document:
    return _doc(("heading", "仓储管理系统实施合同（摘录）"), ("paragraph", "甲方：某某食品有限公司"),
                ("paragraph", "乙方：某某软件有限公司"), *(("paragraph", t) for t in lines))


def test_a_contract_without_acceptance_is_a_plan():
    document = _contract("第一条 项目内容：乙方为甲方成品仓实施仓储管理系统，包括扫码出入库和库位管理。",
                         "第三条 验收：试运行满30天后验收，验收合格后支付尾款。")
    found = [m for m in mentions(document, "1.3.3") if m.block_kind != "heading"]
    assert found and all(m.polarity == "planned" for m in found)


def test_an_accepted_contract_states_facts():
    document = _contract("第一条 项目内容：乙方为甲方成品仓实施仓储管理系统，包括扫码出入库和库位管理。",
                         "第五条 验收记录：本项目于2023年5月18日通过甲方组织的最终验收。")
    assert any(m.polarity == "implemented" for m in mentions(document, "1.3.3"))


def test_not_applicable_governs_the_topic_before_it():
    assert polarity("产品的远程诊断、预测性维护这类服务，我们不涉及。", "3.1.3", "远程诊断") == "generic"
    assert polarity("数控编程和DNC我们没有这个环节。", "1.2.3", "DNC") == "generic"


def test_a_restricted_use_takes_back_the_previous_fact():
    text = ("锅炉和空压机等设备的运行数据已接入厂家云平台，每10分钟上传一次。"
            "但这个平台我们只用来看报警，设备台账和点检仍是纸质记录。")
    found = mentions(doc(text), "1.2.4")
    assert found and all(m.polarity == "negated" for m in found)
    # without the restriction the first sentence is a fact and the second a lack of something else
    plain = "锅炉和空压机等设备的运行数据已接入厂家云平台，每10分钟上传一次。设备台账和点检仍是纸质记录。"
    assert {m.polarity for m in mentions(doc(plain), "1.2.4")} == {"implemented", "negated"}


def test_self_assessment_answer_leaves_another_partys_system_alone():
    document = table(["序号", "评价内容", "是否具备", "说明"],
                     ["20", "在产业链内开展网络化协作，对接融入大企业供应链体系", "具备",
                      "公司是一家整车企业的二级供应商，通过该企业的供应商协同平台接收订单和发货通知。"])
    by_item = {m.item_id: m.polarity for m in find_evidence([document]) if m.matched == "供应商协同平台"}
    assert by_item == {"2.2.3": "generic"}


# ------------------------------------------------------------------ outcomes written with other verbs and counts


@pytest.mark.parametrize("text, item", [
    ("2023年以来新取得三类、二类医疗器械注册证4个。", "4.1.2"),
    ("门店关于配送延误的投诉由每月40条减少到9条。", "4.1.4"),
    ("订单平均备货时间由45分钟缩短到20分钟。", "4.1.6"),
    ("板材利用率由78%提高到85%，每年节约板材款约60万元。", "4.1.5"),
    ("2024年公司在省电力公司物资招标中的中标金额达到8600万元，比上年增长21%。", "4.1.3"),
])
def test_outcomes_in_prose(text, item):
    found = [m for m in find_evidence([doc(text)]) if m.kind == "quantity" and m.item_id == item]
    assert found and all(m.polarity == "implemented" for m in found), [(m.item_id, m.polarity, m.cue) for m in find_evidence([doc(text)])]


def test_money_saved_counts_only_with_a_saving_word():
    assert not [m for m in find_evidence([doc("每年采购面料款约960万元。")]) if m.kind == "quantity"]


# ------------------------------------------------------------------ functional descriptions


def implemented_items(text: str) -> set[str]:
    return {m.item_id for m in find_evidence([doc(text)]) if m.polarity == "implemented" and m.confidence >= 0.6}


@pytest.mark.parametrize("text, item", [
    # machines named by what they do, plus a head count that fell
    ("2023年引进全自动封箱机2台，装箱岗位由12人减为4人。", "1.2.1"),
    ("车间新上连续式压面机3台，压面工序操作人员由15人减为6人。", "1.2.1"),
    # CAM/DNC by function: files generated by the programming software go over the network to the machines
    ("编程软件生成的切割文件通过车间网络直接下发到6台激光切割机，不再用U盘拷贝。", "1.2.3"),
    # equipment data counted per machine
    ("云平台自动统计每台织机的产量、断纱次数和停机时间。", "1.2.4"),
    # two systems joined without acronyms
    ("财务系统与报关系统已打通，报关单数据自动生成凭证。", "1.3.5"),
    # BOM maintained in a system, with a count
    ("产品配方和工艺路线在金蝶云星空中维护，共建立成品配方860个。", "1.1.3"),
    # the system computes demand from data
    ("各仓补货量由系统根据近8周销量、季节和促销计划自动测算，采购员只作微调。", "3.2.1"),
    # an own mini-program organising outside capacity
    ("公司开发了派单小程序，把周边合作社的140名编织手艺人组织起来，在小程序上发布任务、接单并按件结算。", "2.2.4"),
])
def test_functional_descriptions(text, item):
    assert item in implemented_items(text)


def test_suppliers_taking_orders_in_our_system_are_supply_chain_not_a_platform():
    text = "28家主要供应商在供应链系统的供应商端接单、确认送货。"
    assert "2.2.4" not in implemented_items(text)


# ------------------------------------------------------------------ demonstration


@pytest.mark.parametrize("text", [
    "2024年5月，县工信局组织全县8家茶企到我们的初制所参观，我们介绍了鲜叶溯源的做法。",
    "公司带动周边12个合作社和800余户茶农使用溯源小程序。",
    "派单平台让合作社社员在家就能接单，2024年参与接单的社员人均收入比2022年增加约40%。",
])
def test_demonstration_in_prose(text):
    assert "5.1.1" in implemented_items(text)


@pytest.mark.parametrize("text", [
    "公司与周边2个合作社签订长期收购协议，带动果农300余户。",  # order farming, nothing digital
    "公司组织中层干部到省内3家标杆企业参观学习。",  # we visit others
])
def test_not_demonstration(text):
    assert "5.1.1" not in implemented_items(text)


def test_promotion_plan_is_planned():
    assert polarity("下一步，公司计划将质量追溯经验向同行业企业推广。", "5.1.1") == "planned"


# ------------------------------------------------------------------ general talk and another party's system


def test_general_opener_governs_the_sentence():
    assert polarity("一般来说，MES系统能够提升生产透明度。", "1.3.2") == "generic"


def test_a_partys_system_that_we_have_not_joined_is_our_lack():
    assert polarity("母公司已上线SAP系统，我司尚未接入。", "1.3.1") == "negated"
    assert polarity("母公司已上线SAP系统，我司计划2026年接入。", "1.3.1") == "planned"
    assert polarity("母公司已上线SAP系统。", "1.3.1") == "generic"


def test_no_accident_is_an_outcome_not_a_lack():
    found = [m for m in find_evidence([doc("连续三年未发生安全生产事故。")]) if m.item_id == "4.1.8"]
    assert found and all(m.polarity == "implemented" for m in found)


def test_information_islands_are_a_lack():
    assert polarity("各系统相互独立，ERP与MES的数据无法互通，存在信息孤岛。", "1.3.5") == "negated"
    assert polarity("ESB上线后消除了信息孤岛，ERP与MES数据自动同步。", "1.3.5") == "implemented"


def test_a_dated_tool_before_a_lack_of_another_system_stays_in_use():
    # 金蝶KIS is in use; the lack names its own topic (ERP)
    assert polarity("目前仅用金蝶KIS记账，尚未使用ERP系统。", "1.3.1", "金蝶KIS") == "implemented"


# ------------------------------------------------------------------ every state cue, and the probes of this round

CONTEXT = KEYWORDS.context


@pytest.mark.parametrize("cue", CONTEXT.pending)
def test_each_pending_cue_is_a_plan(cue):
    m = mentions(doc(f"仓储管理系统已完成安装，{cue}。"), "1.3.3")[0]
    assert (m.polarity, m.cue) == ("planned", cue)


@pytest.mark.parametrize("cue", CONTEXT.ceased)
def test_each_ceased_cue_at_the_end_of_its_clause_is_a_lack(cue):
    m = mentions(doc(f"2019年上线的仓储管理系统已于2023年{cue}。"), "1.3.3")[0]
    assert m.polarity == "negated"


def test_not_yet_live_at_the_end_of_a_clause_versus_with_an_object():
    assert polarity("WMS系统已开发完成，尚未上线。", "1.3.3") == "planned"
    assert polarity("公司尚未上线WMS系统。", "1.3.3") == "negated"


@pytest.mark.parametrize("text, item", [
    ("良品率从92%升至97.5%。", "4.1.4"),
    ("交货期由15天缩至9天。", "4.1.6"),
    ("单位产品能耗压减了8.5%。", "4.1.7"),
    ("试运行期间，一次合格率由95.1%提高到97.8%。", "4.1.4"),
])
def test_more_outcome_verbs(text, item):
    found = [m for m in find_evidence([doc(text)]) if m.kind == "quantity" and m.item_id == item]
    assert found and found[0].polarity == "implemented"


@pytest.mark.parametrize("text, item", [
    ("由控股股东统一建设运营的电商平台负责线上销售。", "2.2.2"),
    ("关联公司已上线SRM系统，我司未使用。", "2.2.3"),
])
def test_shareholders_and_affiliates_are_other_parties(text, item):
    assert {m.polarity for m in mentions(doc(text), item)} == {"generic"}


def test_trial_operation_is_operation():
    assert polarity("MES系统目前处于试运行阶段，覆盖两条产线。", "1.3.2") == "implemented"


def test_an_interface_under_joint_debugging_is_no_existing_system_of_an_upgrade():
    # 切换 is an upgrade word, but a system not yet in use is no existing system
    assert polarity("ERP与MES的接口正在联调，预计6月切换。", "1.3.5") == "planned"


def test_self_assessment_under_construction_answer_is_a_plan():
    document = table(["序号", "评价内容", "是否具备", "说明"],
                     ["9", "建立制造执行系统（MES），实现生产过程管理", "建设中", "合同已签订，预计年底上线"])
    found = [m for m in find_evidence([document]) if m.item_id == "1.3.2"]
    assert found and {m.polarity for m in found} == {"planned"}


@pytest.mark.parametrize("text", [
    "MES系统于2023年上线，纸质流转卡已停用。",
    "ERP系统已于2021年上线，原有的手工账已停用。",
])
def test_the_old_way_stopped_leaves_the_new_system(text):
    found = [m for m in find_evidence([doc(text)]) if m.item_id in ("1.3.1", "1.3.2")]
    assert found and all(m.polarity == "implemented" for m in found)


def test_this_enterprise_named_by_a_third_party_is_not_another_party():
    # an acceptance opinion writes about the applicant as 该企业
    assert polarity("该企业的MES系统运行稳定，实现了生产工单和质量追溯的闭环管理。", "1.3.2", "MES系统") == "implemented"
    assert polarity("公司建立了其自有的WMS系统。", "1.3.3", "WMS系统") == "implemented"


@pytest.mark.parametrize("text, item", [
    ("审批通知文件通过企业微信直接下发到员工手机。", "1.2.3"),
    ("销售人员通过CRM系统接单，2024年服务200名客户。", "2.2.4"),
])
def test_functional_patterns_need_their_objects(text, item):
    assert item not in implemented_items(text)


def test_english_status_cells():
    document = table(["Phase", "Module", "Solution", "Go-live", "Status"],
                     ["Phase II", "Warehouse", "Odoo 17 Inventory WMS", "2023-09-04", "Live"],
                     ["Phase IV", "Supplier Portal", "SAP Business One Supplier Portal", "2025 Q4 (planned)", "Planned"])
    by_item = {}
    for m in find_evidence([document]):
        by_item.setdefault(m.item_id, set()).add(m.polarity)
    assert by_item["1.3.3"] == {"implemented"}
    assert by_item["2.2.3"] == {"planned"}


def test_latin_status_words_need_word_edges():
    # "deliver" holds "live", "unplanned" holds "planned": neither is a status
    assert polarity("WMS系统支持按订单deliver，减少unplanned停机。", "1.3.3", "WMS系统") == "implemented"


def test_not_measured_is_neither_outcome_nor_lack():
    document = table(["序号", "评价内容", "是否具备", "说明"],
                     ["33", "降本方面成效", "未单独测算", "人工成本下降明显"])
    assert {m.polarity for m in find_evidence([document]) if m.item_id == "4.1.5"} <= {"generic"}


def test_a_long_before_figure_between_indicator_and_direction():
    text = "2024年单位产品综合电耗由2023年的412kWh/km下降到367kWh/km。"
    found = [m for m in find_evidence([doc(text)]) if m.kind == "quantity" and m.item_id == "4.1.7"]
    assert found and found[0].polarity == "implemented"


def test_a_pattern_made_of_the_criterion_column_words_is_no_fact():
    document = table(["序号", "评价内容", "是否具备", "说明"],
                     ["3", "建立PLM和BOM系统，实现产品多配置、研发项目和设计工艺数据集成管理", "部分具备",
                      "BOM在U8+中维护，尚未建立PLM"])
    found = find_evidence([document])
    assert {m.polarity for m in found if m.item_id == "1.3.5"} <= {"restates_criteria"}
    assert "implemented" in {m.polarity for m in found if m.item_id == "1.1.3"}  # the answer still holds for its item
