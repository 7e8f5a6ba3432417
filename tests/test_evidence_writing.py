"""How Chinese applications state achievements, plans, lacks, other parties and outcomes — the
phenomena of the fourth generalisation round, each as a rule with its counter-case (the sentences are
written for the tests, not taken from the samples)."""

from __future__ import annotations

import pytest

from xdt_rules.evidence import find_evidence
from xdt_rules.evidence.quality import MIN_CONFIDENCE
from xdt_rules.models import Block, Document, Mention
from support import doc, table


def mentions(document: Document, item: str) -> list[Mention]:
    return [m for m in find_evidence([document]) if m.item_id == item]


def detected(document: Document, item: str) -> str:
    """The item's strongest reading, as the quality measure takes it (weak hints are no facts)."""
    seen = {"generic" if m.polarity in ("implemented", "planned") and m.confidence < MIN_CONFIDENCE else m.polarity
            for m in mentions(document, item)}
    return next((p for p in ("implemented", "planned", "negated", "restates_criteria", "generic") if p in seen), "absent")


def text_says(text: str, item: str) -> str:
    return detected(doc(text), item)


# ------------------------------------------------------------------ the criteria's category language


def test_category_language_without_specifics_restates_the_criteria():
    text = ("公司高度重视生产管理数字化，积极采用制造执行系统（MES）、仓库管理系统（WMS）等先进技术，"
            "实现生产过程透明化和精细化管理。")
    assert text_says(text, "1.3.2") == "restates_criteria"
    assert text_says(text, "1.3.3") == "restates_criteria"
    assert text_says("公司积极探索5G、工业PON等新一代网络技术在车间的应用。", "2.1.2") == "restates_criteria"


@pytest.mark.parametrize("text", [
    "公司积极采用MES、WMS等先进技术，2023年6月上线MES，覆盖两个车间。",
    "公司积极采用鼎捷MES等先进技术管理生产过程。",
])
def test_category_language_with_a_date_or_product_is_a_statement(text):
    assert text_says(text, "1.3.2") == "implemented"


# ------------------------------------------------------------------ plans that look like facts


def test_a_signed_contract_is_a_plan_until_go_live():
    assert text_says("2025年2月，公司已与软件服务商签订仓储管理系统实施合同。", "1.3.3") == "planned"
    # the PDF page break may carry 合同 into the next paragraph: signing with someone is the stage already
    assert text_says("2025年2月，公司已与软件服务商签订仓储管理系统", "1.3.3") == "planned"


def test_a_decision_with_a_date_is_a_plan():
    assert text_says("我们已经和三家软件公司交流过，决定2026年上半年先上生产报工模块。", "1.3.2") == "planned"


def test_a_scheduled_event_is_a_plan():
    text = "市行业协会已发出通知，定于2025年9月在我公司召开数字化现场会，届时我公司将介绍经验。"
    assert text_says(text, "5.1.1") == "planned"


def test_a_later_phase_in_a_status_cell_is_a_plan():
    document = table(["系统", "内容", "状态"], ["设备联网与设备管理", "关键设备数据采集、设备台账", "二期建设"],
                     ["ERP", "财务、采购", "已建成"])
    assert detected(document, "1.2.2") == "planned"
    assert detected(document, "1.3.1") == "implemented"


def test_a_lack_with_a_dated_plan_in_the_same_sentence_is_a_plan():
    assert text_says("我们还没有参加过数字化水平评测，计划2026年上半年参加。", "4.1.1") == "planned"
    assert text_says("公司目前没有MES，计划2026年上半年上线。", "1.3.2") == "planned"


@pytest.mark.parametrize("text", [
    "我们还没有客户关系管理系统，明年看情况再考虑。",  # a vague plan stays a lack
    "我们还没有客户关系管理系统，计划2026年上线WMS。",  # the plan is about something else
])
def test_a_lack_with_a_vague_or_other_plan_stays_a_lack(text):
    assert text_says(text, "3.1.4") == "negated"


@pytest.mark.parametrize("text, item", [
    ("客户管理系统明年再看。", "3.1.4"),
    ("客户关系管理系统视业务发展需要再考虑。", "3.1.4"),
    ("上生产管理系统的事，以后再说。", "1.3.2"),
])
def test_an_open_intention_is_a_lack_not_a_plan(text, item):
    assert text_says(text, item) == "negated"


def test_the_condition_of_an_open_intention_is_not_its_object():
    text = "折弯机联网、上生产管理系统，要等ERP用顺了以后再考虑。"
    assert text_says(text, "1.3.2") == "negated"
    assert text_says(text, "1.3.1") != "negated"


def test_an_open_intention_elsewhere_leaves_a_dated_plan_alone():
    assert text_says("计划2026年上线MES，视情况扩展到二车间。", "1.3.2") == "planned"


def test_an_open_intention_under_a_plan_heading_is_a_lack():
    document = Document(path="a.txt", name="a.txt", sha256="0" * 64, size=1, file_type="txt", extractor_version="t",
                        blocks=[Block(index=0, kind="heading", text="五、下一步打算"),
                                Block(index=1, kind="paragraph", text="上生产管理系统，要等ERP用顺了以后再考虑。"),
                                Block(index=2, kind="paragraph", text="2026年上线WMS。")])
    assert detected(document, "1.3.2") == "negated"
    assert detected(document, "1.3.3") == "planned"


@pytest.mark.parametrize("text, item", [
    ("设备的保养目前还是按纸质计划表做，维修记录也是手写的。", "1.2.4"),
    ("安全生产检查仍靠纸质巡检记录和微信群。", "1.3.7"),
    ("原料和成品的检验记录都是纸质的。", "1.3.4"),
])
def test_management_still_on_paper_is_a_lack(text, item):
    assert text_says(text, item) == "negated"


def test_paper_words_alone_state_nothing():
    # the paper-based patterns speak only where a lack is stated: a record kept on paper as a back-up is no lack
    assert text_says("设备保养在EAM系统中派单，纸质记录同时归档。", "1.2.4") != "negated"


def test_a_period_from_a_month_to_a_year_is_no_deadline():
    text = "2022年3月至2024年底，节约电费56万元。"
    assert text_says(text, "4.1.5") == "implemented"


# ------------------------------------------------------------------ whose is it


def test_their_own_platform_is_another_partys():
    text = ("国内大客户的采购都在他们自己的电子采购平台上进行，我们2021年注册成为这些平台的合格供应商，"
            "2024年通过大客户电子采购平台成交合同额2100万元。")
    assert text_says(text, "2.2.3") != "implemented"


def test_leaving_the_factory_is_no_other_factory():
    assert text_says("出厂一年内的返修率由3.1%降到1.2%。", "4.1.4") == "implemented"


def test_a_products_own_communication_is_not_the_enterprises_network():
    assert text_says("我们的终端用NB-IoT模组联网，这是产品自带的通信方式。", "2.1.2") == "generic"
    assert text_says("厂区部署了NB-IoT网络，采集各库房的温湿度。", "2.1.2") == "implemented"


@pytest.mark.parametrize("text", [
    "我们的设备卖给客户以后都接入公司自建的云平台，在线设备约8000台。",
    "数控机床和检测仪器的电脑都接入车间局域网，与技术部的服务器相连。",
])
def test_customers_devices_or_a_local_network_are_no_equipment_cloud(text):
    assert text_says(text, "1.2.2") != "implemented"


def test_an_app_that_organises_suppliers_is_no_sales_channel():
    text = "2022年公司开发了“鲜果收购”微信小程序，现在12家合作社和900户农户都在上面。"
    assert text_says(text, "2.2.4") == "implemented"
    assert text_says(text, "2.2.1") != "implemented"
    assert text_says("2022年公司开发了微信小程序，会员可在线下单。", "2.2.1") == "implemented"


def test_ordering_on_a_suppliers_platform_is_no_customisation():
    text = "电路板打样都在外协厂的下单平台上完成，小批量多品种的新品试制也快。"
    assert text_says(text, "3.1.2") != "implemented"


# ------------------------------------------------------------------ look-alikes and table labels


@pytest.mark.parametrize("text", [
    "车队全部车辆安装了驾驶员状态监测终端，疲劳驾驶实时报警。",
    "厂界安装了扬尘在线监测和噪声在线监测设备。",
    "排污口安装了废水在线监测，数据接入环保部门。",
])
def test_monitoring_people_or_environment_is_no_equipment_management(text):
    assert text_says(text, "1.2.4") == "absent"


def test_equipment_condition_monitoring_still_counts():
    assert text_says("2023年上线设备状态监测系统，关键风机的振动和温度实时在线监测。", "1.2.4") == "implemented"


def test_a_column_header_over_figures_names_what_is_counted():
    document = table(["年份", "在线数量（台）", "其中5G"], ["2023", "1200", "300"], ["2024", "2100", "800"])
    assert detected(document, "2.1.2") == "generic"


# ------------------------------------------------------------------ functions described in plain words


@pytest.mark.parametrize("text, item", [
    ("化验室的分析结果自动传入配料系统，系统根据目标成分自动计算出各种原料的加入量，操作工按提示投料。", "1.3.6"),
    ("2023年在反应釜上加装了超温超压报警装置，报警直接联锁紧急切断进料阀。", "1.3.7"),
    ("2022年上线货车智能调度系统，全部货车安装北斗定位终端，自动派车。", "1.3.3"),
    ("2023年包装车间上了1条全自动包装线，称重、装袋、封口、装箱一条线完成。", "1.2.1"),
    ("2024年为清洗工位加装了自动清洗装置，日常清理不再需要人员进入罐内。", "1.2.1"),
    ("窑炉控制系统和地磅数据通过专线上传到公司云服务器，调度中心实时查看。", "1.2.2"),
    ("技术部使用配方设计软件进行新品配方设计，软件按原料检测数据自动计算配比。", "1.1.2"),
    ("2023年在ERP中建立了客户信用评级模型，按回款数据每月自动评级，评级下降时提醒业务员。", "3.2.1"),
    ("产品下线后在自动测试台上逐台检测，检测数据按序列号存入数据库，自动生成出厂报告。", "1.3.4"),
    ("新品定型后，配方中各原料的用量录入ERP系统，作为生产用的物料清单（BOM）。", "1.1.3"),
    ("餐饮客户可以在小程序的定制专区提交口味要求，研发中心打样后按客户订单生产。", "3.1.2"),
])
def test_functions_in_plain_words(text, item):
    assert text_says(text, item) == "implemented"


def test_a_design_software_that_only_computes_a_design_is_no_self_optimisation():
    text = "试验室使用配合比设计软件：试验人员录入原材料检测数据，软件自动计算初步配合比。"
    assert text_says(text, "1.3.6") == "absent"


# ------------------------------------------------------------------ outcomes without an indicator noun


@pytest.mark.parametrize("text, item", [
    ("现在每班的换模次数由平均5次降到2次。", "4.1.6"),
    ("每天能检测的样品由40个左右提高到120个。", "4.1.6"),
    ("新配方的试配次数由平均6次减少到3次。", "4.1.2"),
    ("AI视频投用以来，共报警制止人员误入危险区域41次，没有发生起重伤害事故。", "4.1.8"),
])
def test_outcomes_compared_before_and_after(text, item):
    assert text_says(text, item) == "implemented"


@pytest.mark.parametrize("text", ["公司的数控设备增加到45台。", "目前在线设备约1.2万台。"])
def test_a_count_without_a_before_figure_is_no_outcome(text):
    assert text_says(text, "4.1.6") == "absent"


def test_trips_per_vehicle_is_an_efficiency_indicator():
    document = table(["指标", "2022年", "2024年"], ["罐车日均趟次（趟/天·车）", "3.6", "4.4"])
    assert detected(document, "4.1.6") == "implemented"


# ------------------------------------------------------------------ lacks and plans in plain words


@pytest.mark.parametrize("text, item, expected", [
    ("2025年3月和一家软件公司签了合同，给4台注塑机加装数据采集盒，预计6月完成。", "1.2.2", "planned"),
    ("我们规模小，谈不上示范带动。", "5.1.1", "negated"),
    ("公司的示范带动作用明显。", "5.1.1", "generic"),  # the item's own name is no fact
    ("经营分析就是每月看几张报表，谈不上用数据来做计划和决策。", "3.2.1", "negated"),
    ("原料采购都是打电话订货，和供应商之间没有任何系统上的协同。", "2.2.3", "negated"),
    ("计划2026年内把T+Cloud、溯源系统和小程序打通。", "1.3.5", "planned"),
])
def test_lacks_and_plans_in_plain_words(text, item, expected):
    assert text_says(text, item) == expected


def test_energy_saved_without_an_indicator_noun():
    assert text_says("冷库机组计划2026年改造为变频控制，预计每年节电约20万kWh。", "4.1.7") == "planned"
    assert text_says("空压机改造后每年节电约12万kWh。", "4.1.7") == "implemented"


def test_a_comparison_clause_goes_on_with_the_indicator_before_it():
    assert text_says("2024年单位产品综合电耗1.86kWh，比2021年下降12.3%。", "4.1.7") == "implemented"
    # year on year is the business of any year, stated in the company profile
    # (the topic model may still see sales talk in it: a general mention, never an outcome)
    assert text_says("2024年公司实现销售收入3260万元，同比增长8%。", "4.1.3") in ("absent", "generic")


def test_others_following_our_model_is_demonstration():
    text = "县农业农村局组织县内企业到该公司学习订单小程序的做法，目前已有3家蔬菜企业参照该模式开展订单收购。"
    assert text_says(text, "5.1.1") == "implemented"
