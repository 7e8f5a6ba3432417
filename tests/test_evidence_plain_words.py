"""Evidence stated in plain words: outcomes without figures, capabilities described without a
system's name (the learned topic model), lacks written as a description, shortcomings sections.

Each case is the shape of a wrong call seen on the real-text corpus (samples/corpus, batch 1) before
the fix; the wording here is made up."""

from __future__ import annotations

import pytest

from support import FRAMEWORK, doc, mentions_in
from xdt_rules.evidence import find_evidence
from xdt_rules.models import Block, Document
from xdt_rules.scoring import score_mentions


@pytest.mark.parametrize("text, item", [
    ("车间改造后，次品明显减少，客户投诉比以前少了很多。", "4.1.4"),
    ("不但能耗和人工成本大大降低，产量也明显提高了。", "4.1.7"),
    ("不但能耗和人工成本大大降低，产量也明显提高了。", "4.1.5"),
    ("不但能耗和人工成本大大降低，产量也明显提高了。", "4.1.6"),
    ("近两年出口订单明显增加。", "4.1.3"),
    ("茶叶的外形、色泽和滋味批次间差异明显缩小。", "4.1.4"),
    ("化肥和农药的用量都明显下降。", "4.1.7"),
    # batch 7: how much or to what after the change word says it happened
    ("码垛系统投用后，包装车间用工减少约三分之一。", "4.1.5"),
    ("零件尺寸不良率下降明显。", "4.1.4"),
    ("批记录自动归档后，放行审核时间由两天缩短到半天。", "4.1.6"),
    # and a bad thing that is gone is no lack: "退货基本没有了"
    ("零件尺寸不良率下降明显，品牌客户的来料退货基本没有了。", "4.1.4"),
    # 工艺准备 is a step of the work, not an intention (it read as a plan)
    ("新产品的设计和工艺准备周期明显缩短。", "4.1.2"),
])
def test_outcome_stated_in_words_is_an_outcome(text, item):
    found = mentions_in(text, item=item)
    assert found and all(m.polarity == "implemented" for m in found), [(m.item_id, m.matched) for m in mentions_in(text)]


@pytest.mark.parametrize("text", [
    "数字化能够提高生产效率。",  # a capacity, not a change that happened
    "为了提高效率，公司引入了MES。",  # a purpose
    "效率提高。",  # no sign that it was reported as having happened
])
def test_a_change_word_alone_is_no_outcome(text):
    # (the learned model may still read the sentence as about the outcome; that is a weak, flagged mention)
    assert not [m for m in mentions_in(text) if m.item_id.startswith("4.") and m.kind != "model"]


def test_an_expected_outcome_in_words_is_a_plan():
    (m,) = mentions_in("预计生产效率明显提高。", item="4.1.6")
    assert m.polarity == "planned"
    # an amount after the change word says how much, not that it happened: a target stays a plan
    found = mentions_in("争取明年把包装车间用工再减少约三分之一。", item="4.1.5")
    assert found and all(m.polarity == "planned" for m in found)


def test_outcome_in_words_scores_as_weak_evidence():
    text = "上线以后，差错明显减少。"
    scored = score_mentions(find_evidence([doc(text)], FRAMEWORK), catalogue=FRAMEWORK.catalogue,
                            book=FRAMEWORK.rules)
    item = next(i for i in scored.items if i.id == "4.1.4")
    assert item.status == "partial" and item.rules_fired[0] == "outcomes:described"


def _section(heading: str, *texts: str) -> Document:
    blocks = [Block(index=0, kind="heading", text=heading)]
    blocks += [Block(index=i + 1, kind="paragraph", text=t) for i, t in enumerate(texts)]
    return Document(path="a.txt", name="a.txt", sha256="0" * 64, size=1, file_type="txt", extractor_version="t",
                    blocks=blocks)


def test_a_plain_statement_in_a_shortcomings_section_proves_nothing():
    # "生产管理系统和金蝶云星空相互独立" under 存在的不足 speaks of the missing link, not of two more systems
    document = _section("四、存在的不足", "生产管理系统和ERP是两套系统，完工数量要由统计员再录一遍。")
    found = [m for m in find_evidence([document], FRAMEWORK) if m.item_id == "1.3.1"]
    assert found and all(m.polarity != "implemented" for m in found)


def test_a_lack_stated_in_a_shortcomings_section_stays_a_lack():
    document = _section("四、存在的不足", "目前还没有上线仓库管理系统。")
    found = [m for m in find_evidence([document], FRAMEWORK) if m.item_id == "1.3.3"]
    assert found and {m.polarity for m in found} == {"negated"}


def test_an_achievement_with_yi_stays_one_in_a_shortcomings_section():
    document = _section("四、存在的不足", "公司虽已上线ERP系统，但与生产管理系统没有打通。")
    assert "implemented" in {m.polarity for m in find_evidence([document], FRAMEWORK) if m.item_id == "1.3.1"}


@pytest.mark.parametrize("text", [
    "钢板和五金件的库存由保管员手工记账，每月盘点一次。",
    "生产计划现在还是车间主任在白板上排，每天早上开会分派。",
])
def test_a_lack_written_as_a_description_is_no_achievement(text):
    found = mentions_in(text)
    assert not [m for m in found if m.polarity == "implemented" and m.item_id in ("1.3.2", "1.3.3")]


def _framework_with_model(tmp_path, weights: dict[str, list[list[float]]]):
    """The shipped keywords with a hand-made topic model: 1.3.2 for sentences with the given features."""
    import json
    import shutil

    from xdt_rules.framework import load_framework

    folder = tmp_path / "keywords"
    shutil.copytree(FRAMEWORK.keywords_folder, folder)
    items = FRAMEWORK.catalogue.item_ids
    model = {"items": items, "bias": [-6.0] * len(items), "thresholds": [0.5] * len(items), "weights": weights,
             "modes": {"labels": ["implemented", "planned", "negated"], "bias": [0.0, -1.0, -1.0], "confidence": 0.6,
                       "weights": {"手工": [-3.0, 0.0, 3.0]}}}
    (folder / "_topics.json").write_text(json.dumps(model, ensure_ascii=False), encoding="utf-8")
    return load_framework(keywords=folder)


def test_a_capability_described_without_its_name_is_found_by_the_model(tmp_path):
    framework = _framework_with_model(tmp_path, {"追溯": [[FRAMEWORK.catalogue.item_ids.index("1.3.2"), 8.0]]})
    text = "每一批成品都贴有二维码，扫一扫就能追溯到原料批次和操作人员。"
    found = [m for m in find_evidence([doc(text)], framework) if m.kind == "model"]
    assert [(m.item_id, m.polarity) for m in found] == [("1.3.2", "implemented")]
    m = found[0]
    assert m.term == "描述：MES" or m.term.startswith("描述：")
    assert m.matched == text.rstrip("。") and 0.5 <= m.confidence <= 1
    assert framework.fingerprint != FRAMEWORK.fingerprint  # the model is data: part of the rules_version


def test_the_mode_model_reads_a_described_lack(tmp_path):
    framework = _framework_with_model(tmp_path, {"库存": [[FRAMEWORK.catalogue.item_ids.index("1.3.3"), 8.0]]})
    text = "原料的库存由保管员手工登记在册子里。"
    found = [m for m in find_evidence([doc(text)], framework) if m.kind == "model"]
    assert [(m.item_id, m.polarity) for m in found] == [("1.3.3", "negated")]


def test_the_model_adds_nothing_where_a_keyword_names_the_item(tmp_path):
    framework = _framework_with_model(tmp_path, {"报工": [[FRAMEWORK.catalogue.item_ids.index("1.3.2"), 8.0]]})
    text = "2022年上线鼎捷MES，扫码报工、批次追溯都在系统里完成。"
    found = [m for m in find_evidence([doc(text)], framework) if m.item_id == "1.3.2"]
    assert found and not [m for m in found if m.kind == "model"]


def test_a_described_capability_scores_weak_and_is_flagged():
    from xdt_rules.scoring import ItemFacts, score_facts

    facts = {i: ItemFacts() for i in FRAMEWORK.catalogue.item_ids}
    facts["1.3.2"] = ItemFacts(mentions=1, model=1)
    item = next(i for i in score_facts(facts, {}, catalogue=FRAMEWORK.catalogue, book=FRAMEWORK.rules).items
                if i.id == "1.3.2")
    assert item.status == "partial" and item.needs_confirmation
