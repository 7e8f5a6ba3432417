"""Issue 14 (14), what a reviewer read under an item: the same sentence up to three times, highlights
starting and ending mid-word (…成的加工程序经审核后由DNC系统统一下发到机), PDF sentences with their
line breaks. Checked on the reports of real samples."""

from __future__ import annotations

import json
import re
from collections import Counter
from html import unescape
from pathlib import Path

import pytest

from xdt_rules.cli import main

ROOT = Path(__file__).resolve().parents[1]
PDF_01 = ROOT / "samples" / "pdf" / "01_strong_manufacturer"
pytestmark = pytest.mark.skipif(not PDF_01.is_dir(), reason="samples not built (python samples/build_samples.py)")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:
    out = tmp_path_factory.mktemp("passages")
    assert main(["screen", str(PDF_01), "--out", str(out), "--no-crops", "--ocr", "off"]) == 0
    return (json.loads((out / f"{PDF_01.name}.json").read_text(encoding="utf-8")),
            (out / f"{PDF_01.name}.html").read_text(encoding="utf-8"))


def _articles(html: str) -> dict[str, str]:
    return dict(re.findall(r'<article class="item" id="item-([\d.]+)"(.*?)</article>', html, re.S))


def _quotes(article: str) -> list[tuple[str, str]]:
    """(where, the passage as a reviewer reads it) of each passage under an item."""
    wheres = re.findall(r'<span class="where"[^>]*>(.*?)</span>', article, re.S)
    quotes = re.findall(r'<blockquote class="sentence">(.*?)</blockquote>', article, re.S)
    assert len(wheres) == len(quotes)
    return [(unescape(w), unescape(re.sub(r"<[^>]+>", "", q))) for w, q in zip(wheres, quotes)]


def test_the_same_sentence_is_shown_once_under_an_item(report) -> None:
    result, html = report
    articles = _articles(html)
    for item_id, article in articles.items():
        repeated = [q for q, n in Counter(_quotes(article)).items() if n > 1]
        assert not repeated, (item_id, repeated)
    # 1.2.1 had its 机器换人 sentence three times (a pattern overlapping two keywords): once now,
    # with one mark over the overlapping matches
    machine = [q for _, q in _quotes(articles["1.2.1"]) if "先后引进焊接机器人4台" in q]
    assert len(machine) == 1
    evidence = {(ev["start"], ev["end"]) for item in result["items"] if item["id"] == "1.2.1" for ev in item["evidence"]}
    spans = [tuple(map(int, s.split("-"))) for s in
             re.findall(r'data-spans="([^"]+)"', articles["1.2.1"]) for s in s.split()]
    assert len(spans) == len(set(spans)) and set(spans) <= evidence  # every match marked once


def test_pattern_highlights_cover_whole_words(report) -> None:
    result, html = report
    (cue,) = [ev for item in result["items"] if item["id"] == "1.2.3" for ev in item["evidence"]
              if ev["kind"] == "cue"]
    # the pattern's span ran from 成 (of 生成) to 机 (of 机床)
    assert cue["matched"].replace("\n", "") == "生成的加工程序经审核后由DNC系统统一下发到机床"
    assert cue["text"][cue["text_start"]:cue["text_end"]] == cue["matched"]
    marks = [unescape(re.sub(r"<[^>]+>", "", m)) for m in
             re.findall(r"<mark [^>]*>(.*?)</mark>", _articles(html)["1.2.3"], re.S)]
    assert "生成的加工程序经审核后由DNC系统统一下发到机床" in marks


def test_widening_stops_at_words_and_never_crosses_punctuation() -> None:
    from xdt_rules.scoring.words import whole_words

    text = "Mastercam生成的加工程序经审核后由\nDNC系统统一下发到机床，实现了管理。"
    start, end = text.index("成的"), text.index("床")
    assert text[slice(*whole_words(text, start, end, soft_breaks=True))] == \
        "生成的加工程序经审核后由\nDNC系统统一下发到机床"
    # already on word boundaries: unchanged; a span ending before a comma stays there
    a, b = text.index("实现"), text.index("。")
    assert whole_words(text, a, b) == (a, b)
    assert whole_words("ERP系统", 0, 3) == (0, 3)  # Latin next to Chinese is a boundary


def test_pdf_line_breaks_are_not_in_the_report_text(report) -> None:
    result, html = report
    wrapped = [ev for item in result["items"] for ev in item["evidence"] if ev["page"] and "\n" in ev["text"]]
    assert len(wrapped) > 50  # the JSON keeps the sentence as it stands in the block, offsets exact
    for _, article in _articles(html).items():
        for _, quote in _quotes(article):
            assert "\n" not in quote
    # a Latin name broken across lines keeps its space, Chinese runs on
    from xdt_rules.report.html import unwrap

    text = "上线用友U8\nCloud，覆盖采购、销\n售和库存"
    assert unwrap(text, 0, len(text)) == "上线用友U8 Cloud，覆盖采购、销售和库存"


def test_docx_line_breaks_in_a_cell_are_kept() -> None:
    """Only a PDF's wraps are taken out: two paragraphs of a Word table cell stay two lines."""
    from xdt_rules.models import EvidenceRef
    from xdt_rules.report.html import passages

    text = "采购管理\n库存管理"
    ev = EvidenceRef(file="a.docx", block=3, start=5, end=9, text=text, text_start=5, text_end=9, matched="库存管理",
                     polarity="implemented", sentence_start=0, sentence_end=len(text))
    (view,) = passages([ev])
    assert "采购管理\n" in str(view.quote)
    (pdf,) = passages([ev.model_copy(update={"page": 2})])
    assert "\n" not in str(pdf.quote)


def test_the_same_words_in_two_places_are_shown_once_with_both_places() -> None:
    """A heading in the table of contents and in the body read the same: one passage, two places."""
    from xdt_rules.models import EvidenceRef, Location
    from xdt_rules.report.html import passages

    evs = [EvidenceRef(file="申报书.docx", block=block, block_kind="heading", start=2, end=6, text="七、示范带动效应",
                       text_start=2, text_end=6, matched="示范带动", polarity="generic", sentence_start=0,
                       sentence_end=8, location=Location(label=label))
           for block, label in ((17, "标题"), (160, "七、示范带动效应 · 标题"))]
    (view,) = passages(evs)
    assert view.where == "申报书.docx · 标题" and view.also == ["七、示范带动效应 · 标题"]


def test_overlapping_matches_get_one_frame_per_line_in_the_crop() -> None:
    """The crop of a passage whose matches overlap framed each match: frames inside frames. Now
    the overlapping matches are one span, one frame per line, like the one highlight above it."""
    from support import screen
    from xdt_rules.report.crops import CropLimits, CropRenderer
    from xdt_rules.report.html import passages

    outcome = screen(PDF_01)
    item = next(i for i in outcome.result.items if i.id == "1.2.1")
    (view,) = [v for v in passages(item.evidence) if "先后引进焊接机器人4台" in v.text]
    assert len(view.evidence) >= 3  # a pattern over two lines and the keywords inside it
    renderer = CropRenderer(outcome.documents, limits=CropLimits(per_item=9, per_report=9))
    try:
        crop = renderer.crop(view.evidence)
    finally:
        renderer.close()
    boxes = crop.mark_boxes()
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            overlap_x = min(a.x1, b.x1) - max(a.x0, b.x0)
            overlap_y = min(a.bottom, b.bottom) - max(a.top, b.top)
            assert overlap_x <= 0 or overlap_y <= 3, (a, b)  # frames of neighbouring lines may touch
