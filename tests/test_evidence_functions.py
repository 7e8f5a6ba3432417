"""Achievements described by what they do, not by a system's name (first missed in samples 24–29), each as a
general rule of how applications are written, with a case that must stay out:

quality inspection that finds and handles defects by itself, simulation named by its tool or its analysis,
devices counted by 台 that went online, logistics management of vehicles at the gate, a portal where
customers run orders to settlement, the customer's supplier platform the enterprise joins, online
customisation chosen by the buyer, monitoring data brought onto "one map" for managers to decide on,
and machine replacement stated as the headcount now."""

from __future__ import annotations

from pathlib import Path

import pytest

from xdt_rules.errors import DataFileError
from xdt_rules.evidence import find_evidence
from xdt_rules.evidence.keywords import load_keyword_folder
from xdt_rules.models import Mention
from support import CATALOGUE, doc

SHIPPED = Path(__file__).resolve().parents[1] / "keywords"


def mentions(*texts: str) -> list[Mention]:
    return find_evidence([doc(*texts)])


def polarities(item: str, *texts: str) -> set[str]:
    return {m.polarity for m in mentions(*texts) if m.item_id == item}


@pytest.mark.parametrize("text, item", [
    # quality by function: defects found and handled by the machine (QMS / online inspection)
    ("包装线配置了视觉检测相机，封口不良、漏装等缺陷自动剔除并报警。", "1.3.4"),
    ("2022年给分切机加装了在线检测装置，逐个比对每卷膜的外观，瑕疵自动分类记录。", "1.3.4"),
    # simulation by the tool's name or by the analysis done with software
    ("设计部用SolidWorks Simulation对支架做强度校核，每年出具校核报告40份。", "1.1.2"),
    ("研发中心利用JMP软件开展实验设计，确定了喷雾干燥工序的设计空间。", "1.1.2"),
    ("技术部在三维模型上做模态分析和振动分析，样机一次通过客户试验。", "1.1.2"),
    # devices counted by 台 that are networked through a vendor's cloud
    ("8台数控折弯机已通过厂家云平台联网，手机上可以看到运行状态。", "1.2.2"),
    # logistics managed as a system: appointment, gate, weighing, loading
    ("成品出厂由物流一卡通管理，司机在线预约、刷卡入厂、自动称重后按排队顺序装车。", "1.3.3"),
    # customers run the whole order flow on this enterprise's portal (SCM with customers)
    ("公司2023年上线了经销商门户，经销商在门户上下订单、查看发货和在途信息、在线对账结算。", "2.2.3"),
    # the enterprise joins a customer's supplier platform (2.2.4)
    ("2022年起公司成为一家连锁超市集团的蔬菜供应商，通过该集团供应商平台接收补货订单、查看门店库存。", "2.2.4"),
    # customisation chosen online by the buyer
    ("客户可以在网店上自选杯型和颜色、上传图案，下单后按单定制生产。", "3.1.2"),
    ("企业客户在小程序上选择礼盒款式并上传标志，确认后转为定制订单。", "3.1.2"),
    # monitoring data on one map, used by managers to decide
    ("生产、质量和能耗数据汇到“一张图”上集中展示，管理层每周据此研判和调度。", "3.2.1"),
    # machine replacement stated as the headcount that remains after the machine
    ("去年上了1条自动包装线，现在每班只需3人。", "1.2.1"),
    ("2023年上了2条光电分选线，现在每班分拣工18人。", "1.2.1"),
])
def test_an_achievement_described_by_its_function(text, item):
    assert "implemented" in polarities(item, text)


@pytest.mark.parametrize("text, item", [
    ("车间安装了视觉定位相机，引导机械手抓取工件。", "1.3.4"),  # vision without defects is not inspection
    ("产品图纸全部用SolidWorks绘制。", "1.1.2"),  # the CAD tool alone is not simulation
    # weighbridge and gate tied to the ERP: metering automation, no logistics system
    ("地磅、道闸与ERP实现了数据对接，车辆进厂、过磅、出厂全过程无人值守。", "1.3.3"),
    ("产品在网店上销售，客户可以选择规格下单。", "3.1.2"),  # choosing a listed size is no customisation
    ("车间看板集中展示当班产量。", "3.2.1"),  # a display nobody decides on
])
def test_the_same_words_without_the_function_stay_out(text, item):
    assert "implemented" not in polarities(item, text)


def test_a_portal_named_after_its_customers_is_ours_not_a_customers_platform():
    text = ("2023年我公司启用了客户协同门户，长期合同客户在门户上提交要货计划、确认订单，查看发货、在途和签收信息，"
            "货款通过票据在线结算。")
    assert "implemented" in polarities("2.2.3", text)
    assert "implemented" not in polarities("2.2.4", text)


def test_the_supplier_platform_of_a_customer_is_not_our_scm():
    text = "公司2023年起成为一家连锁商超的鲜食供应商，通过商超供应商平台接收各门店的补货订单。"
    assert "implemented" in polarities("2.2.4", text)
    srm = [m for m in mentions(text) if m.item_id == "2.2.3"]
    assert srm and all(m.polarity == "generic" and m.reading.actor == "other" for m in srm)


def test_our_own_supplier_platform_stays_ours():
    text = "2024年公司上线了供应商平台，原料供应商在线接单、预约送货、在线对账。"
    assert "implemented" in polarities("2.2.3", text)


def test_others_of_names_a_known_item_or_the_file_and_line(tmp_path):
    for path in SHIPPED.glob("*.yaml"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    target = tmp_path / "2_2_collaboration.yaml"
    text = target.read_text(encoding="utf-8")
    assert 'others_of: ["2.2.3"]' in text
    target.write_text(text.replace('others_of: ["2.2.3"]', 'others_of: ["9.9.9"]'), encoding="utf-8")
    with pytest.raises(DataFileError) as info:
        load_keyword_folder(tmp_path, CATALOGUE)
    assert info.value.data_file.endswith("2_2_collaboration.yaml") and info.value.line and "9.9.9" in info.value.reason_zh


def test_none_of_cancels_the_pattern_in_its_scope():
    text = "经销商在客户门户上下订单、查看发货和在途信息、在线对账结算，公司通过平台服务大客户。"
    # the 2.2.4 co-occurrence (通过 + 大客户 + 平台) is cancelled by 客户门户 in the same sentence
    assert not any(m.item_id == "2.2.4" and m.term == "接入大企业协同平台" for m in mentions(text))


# ------------------------------------------------------------------ data that is there but not used

NETWORKED = "6台注塑机已通过厂家云平台联网，手机上能看到每台设备的运行状态和报警信息。"


def test_data_seen_but_not_used_for_maintenance_is_no_equipment_management():
    unused = "平台上还能看到稼动率，但我们还没有把这些数据用到设备管理上，设备台账、点检记录还是纸质的。"
    for texts in ((NETWORKED, unused), (NETWORKED + unused,)):  # the next paragraph, or the same one
        assert "implemented" not in polarities("1.2.4", *texts), texts
        assert "negated" in polarities("1.2.4", *texts)
        assert "implemented" in polarities("1.2.2", *texts)  # the devices are networked all the same


def test_data_not_yet_used_for_something_else_leaves_equipment_management_alone():
    # the non-use sentence lacks nothing of 1.2.4: the monitoring stands
    texts = ("每台设备的运行状态和停机时间实时采集，自动统计开机率。", "这些数据还没有用于排产优化。")
    assert "implemented" in polarities("1.2.4", *texts)


def test_a_data_centre_is_storage_not_management_by_data():
    assert "implemented" not in {m.polarity for m in mentions("锅炉、空压机的能耗数据已接入数据中心。")
                                 if m.item_id == "3.2.1" and m.confidence >= 0.6}
    assert "implemented" in polarities("3.2.1", "2024年建成数据中台，汇聚各系统数据，管理层据此做经营分析。")


def test_a_blueprint_pursued_by_an_overall_architecture_is_a_plan():
    text = "公司按照“1+2+N”的总体架构推进数字化建设，即建设1个数据中台，打造生产、经营2大平台，拓展N个应用场景。"
    assert polarities("3.2.1", text) == {"planned"}
    # a clause that states a completion with 已 is not governed by it
    text = "公司按照总体规划推进数字化建设，ERP已于2022年上线。"
    assert "implemented" in polarities("1.3.1", text)


def test_each_products_bill_of_materials_kept_in_a_system_is_product_data_management():
    # batch 17: two applications kept every product's BOM in their ERP; the bare word BOM is weak evidence
    for text in ("每个型号的物料清单都在金蝶云星辰里维护，工程变更后由工程部更新版本。",
                 "每款酒盒用到的灰板、金卡、烫金膜、内托等物料都建成物料清单，维护在ERP中。"):
        assert any(m.item_id == "1.1.3" and m.kind == "cue" and m.polarity == "implemented" for m in mentions(text))
    spreadsheet = mentions("产品的物料清单目前由研发人员用电子表格维护，再由采购人员手工录入ERP。")
    assert not any(m.item_id == "1.1.3" and m.kind == "cue" for m in spreadsheet)
