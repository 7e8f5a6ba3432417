"""Near-duplicate passages across applications."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st
from test_batch_support import BOILERPLATE

from xdt_rules.batch.duplicates import (
    K,
    W,
    build_passages,
    criteria_texts,
    find_duplicates,
    normalise,
    normalise_with_map,
    shingle_hashes,
    winnow,
)
from xdt_rules.models import Block, Document
from support import CATALOGUE

OWN = "本公司位于昆明市经开区，主营高原特色农产品加工，年产值约三亿元，员工四百余人，拥有发明专利五项。"


def _doc(name: str, *paragraphs: str, page: int | None = None) -> Document:
    blocks = [Block(index=i, kind="paragraph", text=t, page=page) for i, t in enumerate(paragraphs)]
    return Document(path=name, name=name, sha256="0" * 64, size=1, file_type="txt", extractor_version="t", blocks=blocks)


def _filler(seed: int, n: int = 400) -> str:
    rng = random.Random(seed)
    return "".join(chr(rng.randrange(0x4E00, 0x9FA5)) for _ in range(n))


def test_normalise_drops_whitespace_punctuation_and_folds_width():
    assert normalise("ＥＲＰ 系统，已上线！\n（2021 年）") == "erp系统已上线2021年"
    norm, origin = normalise_with_map("a，Ｂ c")
    assert norm == "abc" and origin == [0, 2, 4]


def test_shared_boilerplate_is_found_despite_reflowing_and_repunctuation():
    reflowed = BOILERPLATE.replace("，", ", ").replace("。", ".\n")[:60] + "\n" + BOILERPLATE.replace("，", ", ")[60:]
    a = build_passages("甲", [_doc("甲.pdf", _filler(1), BOILERPLATE, _filler(2), page=7)])
    b = build_passages("乙", [_doc("乙.docx", _filler(3)), _doc("乙2.docx", reflowed, _filler(4))])
    c = build_passages("丙", [_doc("丙.pdf", _filler(5), OWN)])
    report = find_duplicates([a, b, c])
    assert len(report.passages) == 1
    passage = report.passages[0]
    assert (passage.app_a, passage.app_b) == ("甲", "乙")
    assert passage.chars == len(normalise(BOILERPLATE))
    assert passage.text == BOILERPLATE.rstrip("。")  # original text of A, trailing punctuation is not compared
    assert (passage.file_a, passage.page_a, passage.file_b, passage.page_b) == ("甲.pdf", 7, "乙2.docx", None)
    assert report.count_by_application() == {"甲": 1, "乙": 1}


def test_short_common_runs_are_not_reported():
    shared = normalise(BOILERPLATE)[:70]
    a = build_passages("甲", [_doc("a", _filler(1) + shared + _filler(2))])
    b = build_passages("乙", [_doc("b", _filler(3) + shared + _filler(4))])
    assert find_duplicates([a, b]).passages == []
    assert len(find_duplicates([a, b], min_chars=60).passages) == 1


def test_the_official_criteria_text_is_not_boilerplate():
    catalogue = CATALOGUE
    criteria = catalogue.item("1.2.4").text  # long official text that applicants paste
    excluded = criteria_texts(catalogue)
    a = build_passages("甲", [_doc("a", _filler(1), criteria, _filler(2))])
    b = build_passages("乙", [_doc("b", _filler(3), criteria, _filler(4))])
    assert len(normalise(criteria)) > 100
    assert find_duplicates([a, b]).passages != []  # without the exclusion it would be reported
    a = build_passages("甲", [_doc("a", _filler(1), criteria, _filler(2))], excluded_texts=excluded)
    b = build_passages("乙", [_doc("b", _filler(3), criteria, _filler(4))], excluded_texts=excluded)
    assert a.masked == [(400, 400 + len(normalise(criteria)))]
    assert find_duplicates([a, b]).passages == []
    # criteria text followed by shared own words: only the own words are reported
    a = build_passages("甲", [_doc("a", _filler(1), criteria + BOILERPLATE, _filler(2))], excluded_texts=excluded)
    b = build_passages("乙", [_doc("b", _filler(3), criteria + BOILERPLATE, _filler(4))], excluded_texts=excluded)
    passages = find_duplicates([a, b]).passages
    assert len(passages) == 1
    assert normalise(BOILERPLATE)[K:] in normalise(passages[0].text)
    assert normalise(criteria)[:40] not in normalise(passages[0].text)


def test_a_passage_in_most_applications_is_the_form_template():
    template = "申报单位基本情况表填写说明请按实际情况如实填写所有栏目不得空缺否则视为放弃申报资格请认真核对后签字盖章确认无误后提交至所在县区工信部门统一报送逾期不予受理申报材料一经提交概不退还请申报单位自行留存复印件备查"
    assert len(template) >= 90
    apps = [build_passages(f"企业{i}", [_doc("x", _filler(i), template, _filler(100 + i))]) for i in range(12)]
    report = find_duplicates(apps)
    assert report.passages == [] and report.template_fingerprints > 0
    assert len(find_duplicates(apps, max_apps_per_passage=20).passages) == 12 * 11 // 2


def test_winnowing_keeps_a_fingerprint_in_every_window():
    hashes = shingle_hashes(_filler(9, 2000))
    picked = {pos for _, pos in winnow(hashes)}
    assert all(any(p in picked for p in range(start, start + W)) for start in range(len(hashes) - W + 1))
    assert len(picked) < len(hashes) * 3 / (W + 1)  # about 2/(w+1) of the positions


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=W + K - 1, max_value=300),
       st.integers(min_value=0, max_value=300), st.integers(min_value=0, max_value=300))
def test_any_common_run_of_guaranteed_length_is_found(seed: int, length: int, left_a: int, left_b: int):
    shared = _filler(seed, length)
    a = build_passages("a", [_doc("a", _filler(seed + 1, left_a) + shared + _filler(seed + 2, 50))])
    b = build_passages("b", [_doc("b", _filler(seed + 3, left_b) + shared + _filler(seed + 4, 50))])
    passages = find_duplicates([a, b], min_chars=W + K - 1).passages
    assert any(shared in p.text for p in passages)


def test_passages_are_rebuilt_only_when_the_documents_change(tmp_path):
    from xdt_rules.batch.duplicates import passages_path, read_passages, update_passages

    docs = [_doc("a.txt", BOILERPLATE, _filler(1))]
    assert update_passages(tmp_path, "甲", docs) is True
    assert update_passages(tmp_path, "甲", docs) is False  # a re-score: same documents, nothing to do
    assert read_passages(passages_path(tmp_path, "甲")).norm.startswith(normalise(BOILERPLATE))
    changed = [_doc("a.txt", BOILERPLATE, _filler(2)).model_copy(update={"sha256": "1" * 64})]
    assert update_passages(tmp_path, "甲", changed) is True
    assert update_passages(tmp_path, "甲", changed, excluded_texts=["评价内容"]) is True
    passages_path(tmp_path, "甲").unlink()
    assert update_passages(tmp_path, "甲", changed, excluded_texts=["评价内容"]) is True


@settings(max_examples=30, deadline=None)
@given(st.text(alphabet="企业数字化转型ERPmes系统上线123", min_size=0, max_size=400))
def test_numpy_and_pure_python_paths_give_the_same_fingerprints(text: str):
    """Workers with and without numpy must produce comparable passages files."""
    from xdt_rules.batch import duplicates as D

    np = D._numpy()
    if np is None:
        return
    norm = normalise(text)
    pure = D._shingle_hashes_py(norm, K)
    assert D._shingle_hashes_np(np, norm, K).tolist() == pure
    excluded = frozenset(pure[:3])
    assert D.fingerprints_and_runs(norm, excluded) == (winnow(pure), D._runs(pure, excluded))
