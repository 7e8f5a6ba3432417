"""keywords/*.yaml: the shipped set is complete and valid; broken files fail with file and line."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from xdt_rules.errors import DataFileError
from xdt_rules.evidence.keywords import SPECIAL_FILES, load_keyword_folder
from xdt_rules.evidence.tokens import cuts_word, mine_vocabulary, tokens
from support import CATALOGUE, KEYWORDS

SHIPPED = Path(__file__).resolve().parents[1] / "keywords"


def test_every_item_has_keywords_and_ambiguities_are_recorded():
    keywords = KEYWORDS
    catalogue = CATALOGUE
    covered = {e.item_id for e in keywords.entries} | {p.item_id for p in keywords.patterns} | {
        i.item_id for i in keywords.indicators}
    assert covered == set(catalogue.item_ids)
    for item_id in [i for i in catalogue.item_ids if not i.startswith("4.1") or i in ("4.1.1", "4.1.7", "4.1.8")]:
        assert keywords.terms_of(item_id) or any(p.item_id == item_id for p in keywords.patterns)
    for item_id in ["4.1.2", "4.1.3", "4.1.4", "4.1.5", "4.1.6", "4.1.7", "4.1.8"]:
        assert any(i.item_id == item_id for i in keywords.indicators)
    winners = {a.term: (a.winner, set(a.others)) for a in keywords.ambiguities}
    assert winners["智能机器人"][0] == "3.1.1" and "1.2.1" in winners["智能机器人"][1]
    assert all(a.others for a in keywords.ambiguities)


def test_required_vendor_entities_present():
    keywords = KEYWORDS
    owner = {e.key: e.item_id for e in keywords.entries}
    expected = {
        "用友u8": "1.3.1", "u8cloud": "1.3.1", "yonbip": "1.3.1", "金蝶k/3": "1.3.1", "云星空": "1.3.1", "精斗云": "1.3.1",
        "s/4hana": "1.3.1", "businessone": "1.3.1", "鼎捷t100": "1.3.1", "易飞": "1.3.1", "浪潮gs": "1.3.1",
        "autocad": "1.1.1", "solidworks": "1.1.1", "catia": "1.1.1", "creo": "1.1.1", "中望cad": "1.1.1", "caxa": "1.1.1",
        "ansys": "1.1.2", "abaqus": "1.1.2", "comsol": "1.1.2", "moldflow": "1.1.2", "teamcenter": "1.1.3",
        "windchill": "1.1.3", "3dexperience": "1.1.3", "钉钉": "2.1.1", "企业微信": "2.1.1", "泛微": "2.1.1",
        "天猫": "2.2.2", "京东": "2.2.2", "拼多多": "2.2.2", "抖音": "2.2.2", "快手": "2.2.2", "阿里巴巴国际站": "2.2.2",
        "亚马逊": "2.2.2", "树根互联": "1.2.2", "卡奥斯": "1.2.2", "徐工汉云": "1.2.2", "rpa财务机器人": "3.2.3",
        "全电发票": "3.2.3", "数电发票": "3.2.3", "企业资源计划": "1.3.1", "企业资源管理系统": "1.3.1", "m.e.s": "1.3.2",
    }
    assert {k: owner.get(k) for k in expected} == expected


def _folder(tmp_path: Path, body: str, name: str = "9_test.yaml") -> Path:
    for special in SPECIAL_FILES:
        shutil.copy(SHIPPED / special, tmp_path / special)
    for path in SHIPPED.glob("[0-9]*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / name).write_text(textwrap.dedent(body), encoding="utf-8")
    return tmp_path


def _edit_error(tmp_path: Path, name: str, old: str, new: str) -> tuple[DataFileError, str]:
    """The error of loading the shipped keywords with the first ``old`` in file ``name`` made ``new``."""
    path = _folder(tmp_path, "items: {}\n") / name
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is no longer in {name}: the test must follow the data"
    text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataFileError) as info:
        load_keyword_folder(path.parent, CATALOGUE)
    return info.value, text


def _error(tmp_path: Path, body: str, name: str = "9_test.yaml") -> DataFileError:
    with pytest.raises(DataFileError) as info:
        load_keyword_folder(_folder(tmp_path, body, name), CATALOGUE)
    return info.value


def test_unknown_item_id_names_file_and_line(tmp_path):
    err = _error(tmp_path, """\
        items:
          "9.9.9":
            terms: [某系统]
        """)
    assert err.data_file.endswith("9_test.yaml") and err.line == 2 and "9.9.9" in err.reason_zh


def test_empty_term_names_line(tmp_path):
    (tmp_path / "sub").mkdir()
    folder = _folder(tmp_path / "sub", "items: {}\n", "0_empty.yaml")
    path = folder / "1_1_design.yaml"
    text = path.read_text(encoding="utf-8").replace("      - term: CAD\n", "      - term: \"  \"\n", 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataFileError) as info:
        load_keyword_folder(folder, CATALOGUE)
    lines = text.splitlines()
    assert info.value.data_file.endswith("1_1_design.yaml")
    assert lines[info.value.line - 1].strip() == '- term: "  "'


def test_same_term_under_two_items_is_refused_with_both_places(tmp_path):
    err, text = _edit_error(tmp_path, "2_2_collaboration.yaml", "      - term: 平台电商\n",
                            "      - term: 平台电商\n      - term: ＥＲＰ\n")
    assert err.data_file.endswith("2_2_collaboration.yaml")
    assert text.splitlines()[err.line - 1].strip() == "- term: ＥＲＰ"
    assert "1.3.1" in err.reason_zh and "1_3_production.yaml" in err.reason_zh and "contested_by" in err.reason_zh


def test_duplicate_yaml_key_is_refused(tmp_path):
    err = _error(tmp_path, """\
        items:
          "1.1.1":
            terms: [甲]
          "1.1.1":
            terms: [乙]
        """)
    assert err.line == 4


def test_item_in_two_files_and_empty_item(tmp_path):
    err = _error(tmp_path, """\
        items:
          "1.3.1":
            terms: [某某ERP]
        """)
    assert "1_3_production.yaml" in err.reason_zh
    other = tmp_path / "other"
    other.mkdir()
    err = _error(other, """\
        items:
          "1.1.1": {}
        """, "0_first.yaml")
    assert err.data_file.endswith("0_first.yaml") and err.line == 2


def test_bad_pattern_regex_and_contested_by(tmp_path):
    err, _ = _edit_error(tmp_path, "5_1_demonstration.yaml", "'\\d+(?:\\.\\d+)?余?家'", "'(unclosed'")
    assert err.line is not None and "正则" in err.reason_zh


def test_missing_special_file(tmp_path):
    folder = _folder(tmp_path, "items: {}\n")
    (folder / "_context.yaml").unlink()
    with pytest.raises(DataFileError) as info:
        load_keyword_folder(folder, CATALOGUE)
    assert info.value.data_file.endswith("_context.yaml")


def test_invalid_context_regex_has_line(tmp_path):
    err, text = _edit_error(tmp_path, "_context.yaml", "  planned:\n", "  planned:\n    - '(bad'\n")
    assert text.splitlines()[err.line - 1].strip() == "- '(bad'"


@pytest.mark.parametrize("key", ["accepted", "boilerplate"])
def test_invalid_regex_in_a_context_list_names_its_own_line(tmp_path, key):
    err, text = _edit_error(tmp_path, "_context.yaml", f"  {key}:\n", f"  {key}:\n    - '(bad'\n")
    assert text.splitlines()[err.line - 1].strip() == "- '(bad'" and "正则" in err.reason_zh


def test_ocr_confusions_must_keep_length(tmp_path):
    err, text = _edit_error(tmp_path, "_ocr_confusions.yaml", "{ocr: 己, correct: 已}", "{ocr: 己己, correct: 已}")
    assert "己己" in text.splitlines()[err.line - 1]


def test_a_cue_in_negated_and_in_pending_is_refused(tmp_path):
    # issue 13: 尚未启用 added to negated loaded silently and pending won; every cue list is now checked
    # against every other
    err, text = _edit_error(tmp_path, "_context.yaml", "negated:\n  - 未\n", "negated:\n  - 未\n  - 尚未启用\n")
    lines = text.splitlines()
    added = lines.index("negated:") + 3  # the line added to negated; the error stands at pending's own
    assert lines[added - 1].strip() == lines[err.line - 1].strip() == "- 尚未启用" and err.line != added
    assert f"(line {added}, negated)" in err.reason_en


def test_the_same_ocr_spelling_twice_is_refused(tmp_path):
    err, text = _edit_error(tmp_path, "_ocr_confusions.yaml", "  - {ocr: 巳, correct: 已}\n",
                            "  - {ocr: 巳, correct: 已}\n  - {ocr: 巳, correct: 己}\n")
    assert text.splitlines()[err.line - 1].strip() == "- {ocr: 巳, correct: 己}"


def test_audit_lists_every_keyword_problem_loading_stops_at_the_first(tmp_path):
    from xdt_rules.audit.static import static_audit
    from xdt_rules.evidence.keywords import check_keyword_folder
    from xdt_rules.framework import FrameworkRef

    folder = _folder(tmp_path, """\
        items:
          "7.7.7":
            terms: [量子计算]
          "1.1.1":
            terms: [ERP]
        """)
    context = folder / "_context.yaml"
    context.write_text(context.read_text(encoding="utf-8").replace("negated:\n  - 未\n", "negated:\n  - 未\n  - 尚未启用\n", 1),
                       encoding="utf-8")
    problems = check_keyword_folder(folder, CATALOGUE).problems
    assert {p.code for p in problems if p.level == "error"} >= {"unknown_item", "item_twice", "duplicate_cue"}
    with pytest.raises(DataFileError) as info:
        load_keyword_folder(folder, CATALOGUE)
    first = next(p for p in problems if p.level == "error")
    assert (info.value.data_file, info.value.line) == (first.file, first.line)
    audited = {(f.code, f.file, f.line) for f in static_audit(FrameworkRef(keywords=str(folder))).findings}
    assert {(p.code, p.file, p.line) for p in problems} <= audited


def test_edited_keywords_folder_is_reloaded_with_a_new_fingerprint(tmp_path):
    from xdt_rules.framework import load_framework

    folder = _folder(tmp_path, "items: {}\n")
    first = load_framework(keywords=folder)
    assert load_framework(keywords=folder) is first
    assert first.fingerprint != load_framework().fingerprint  # another keywords folder, another rules_version
    path = folder / "1_1_design.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("      - term: 二维绘图\n", "      - term: 二维绘图软件\n", 1),
                    encoding="utf-8")
    second = load_framework(keywords=folder)
    assert second is not first and second.fingerprint != first.fingerprint
    assert second.keywords.content_hash != first.keywords.content_hash


# ------------------------------------------------------------------ jieba


def test_jieba_user_dictionary_keeps_domain_terms_whole():
    keywords = KEYWORDS
    assert "制造执行系统" in tokens(keywords, "公司建成制造执行系统")
    words = keywords.jieba_words()
    assert "金蝶云星空" in words and all(" " not in w and "/" not in w for w in words)
    assert cuts_word(keywords, "公司位于北京东路", 5, 7)
    assert not cuts_word(keywords, "公司在京东开店", 3, 5)


def test_mine_vocabulary_lists_new_words_only():
    keywords = KEYWORDS
    texts = ["公司上线了智慧冷链追踪平台，冷链追踪数据实时上传。", "冷链追踪平台与ERP对接，冷链追踪效率提高。"]
    mined = dict(mine_vocabulary(keywords, texts, min_count=2))
    assert "冷链" in mined or "追踪" in mined
    assert "ERP" not in mined and "erp" not in {w.casefold() for w in mined}


def test_overlapping_terms_are_listed_for_the_audit():
    pairs = {(s.key, s.item_id, l.key, l.item_id) for s, l in KEYWORDS.overlaps()}
    assert ("机器人", "3.1.1", "财务机器人", "3.2.3") in pairs
    assert ("5g", "2.1.2", "5g专网", "2.1.2") not in pairs  # same item: no ambiguity


def test_jieba_is_silent_on_first_use(tmp_path):
    import subprocess
    import sys

    code = ("from xdt_rules.framework import load_framework\n"
            "from xdt_rules.evidence.tokens import tokens\n"
            "print(tokens(load_framework().keywords, '公司上线金蝶云星空'))\n")
    env = {"PATH": "/usr/bin:/bin", "TMPDIR": str(tmp_path), "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "金蝶云星空" in done.stdout
    # jieba's dictionary cache went to the temp folder, nowhere else
    assert any(p.name.startswith("jieba") for p in tmp_path.iterdir())


def test_not_within_must_hold_the_term(tmp_path):
    err, _ = _edit_error(tmp_path, "1_2_equipment.yaml", "not_within: [驾驶员状态监测,", "not_within: [驾驶员疲劳识别,")
    assert err.line is not None and "not_within" in err.reason_zh


def test_pattern_claims_name_known_items(tmp_path):
    err, _ = _edit_error(tmp_path, "2_2_collaboration.yaml", 'claims: ["2.2.1"]', 'claims: ["9.9.9"]')
    assert err.line is not None and "9.9.9" in err.reason_zh


def test_boilerplate_regexes_are_validated(tmp_path):
    err, _ = _edit_error(tmp_path, "_context.yaml", "    - '(?:高度重视|积极探索|积极拥抱|积极布局)'", "    - '(unclosed'")
    assert "正则" in err.reason_zh
