"""Issue 14 (13): Word documents had no crops (no pages). Where LibreOffice is installed their pages
are laid out as PDF once per report and each span is found there by its text; without it the
report has no Word crops and says nothing wrong. CI installs LibreOffice (.ci/run) when root."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from support import FRAMEWORK, screen
from xdt_rules.ingest.legacy import find_soffice
from xdt_rules.report.crops import CropLimits, CropRenderer
from xdt_rules.report.docx_pages import row_text, squeeze
from xdt_rules.report.html import render_report

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "docx" / "01_strong_manufacturer"
needs_samples = pytest.mark.skipif(not SAMPLE.is_dir(), reason="samples not built (python samples/build_samples.py)")
needs_libreoffice = pytest.mark.skipif(find_soffice() is None,
                                       reason="LibreOffice (soffice) is not installed: apt-get install libreoffice-writer-nogui")


@pytest.fixture(scope="module")
def outcome():  # noqa: ANN201
    return screen(SAMPLE)


def _evidence(outcome, file: str, kind: str):  # noqa: ANN001, ANN202
    return [ev for item in outcome.result.items for ev in item.evidence
            if ev.file == file and ev.block_kind == kind and ev.polarity == "implemented" and "\n" not in ev.matched]


def _text_in(layout, page: int, box) -> str:  # noqa: ANN001
    """The characters pdfium finds inside a box (top-left points) of a laid-out page."""
    pdf_page = layout.pdf[page - 1]
    height = pdf_page.get_size()[1]
    textpage = pdf_page.get_textpage()
    try:
        return textpage.get_text_bounded(left=box.x0, bottom=height - box.bottom, right=box.x1, top=height - box.top)
    finally:
        textpage.close()
        pdf_page.close()


@needs_samples
@needs_libreoffice
def test_word_evidence_is_found_on_the_laid_out_page_and_cropped(outcome) -> None:
    docs = {d.name: d for d in outcome.documents}
    doc = docs["申报书.docx"]
    blocks = {b.index: b for b in doc.blocks}
    renderer = CropRenderer(outcome.documents, limits=CropLimits(per_item=999, per_report=999))
    layout = renderer._words.get(doc)
    assert layout is not None
    try:
        evidence = _evidence(outcome, "申报书.docx", "paragraph") + _evidence(outcome, "申报书.docx", "table_cell")
        found = 0
        for ev in evidence:
            block = blocks[ev.block]
            placed = layout.place(block.text, ev.start, ev.end, row_text(block, doc.blocks))
            if placed is None:
                continue  # a span that runs across a page break (the footer and header stand inside it)
            found += 1
            # the boxes (one per line the span takes up) hold exactly the matched characters
            inside = "".join(squeeze(_text_in(layout, placed.page, box))[0] for box in placed.boxes)
            assert inside == squeeze(ev.matched)[0], (ev.matched, inside)
            crop = renderer.crop(ev)
            assert crop is not None and crop.png.startswith(b"\x89PNG") and crop.width <= 720
            marks = crop.mark_boxes()
            assert len(marks) == len(placed.boxes)
            for mark, box in zip(marks, placed.boxes):
                assert mark.x0 < box.x0 < box.x1 < mark.x1 and mark.top < box.top < box.bottom < mark.bottom
        assert len(evidence) >= 150 and found >= 0.97 * len(evidence)
    finally:
        renderer.close()


@needs_samples
@needs_libreoffice
def test_word_crops_are_in_the_report_and_come_from_the_cache_the_second_time(outcome, tmp_path, monkeypatch) -> None:
    from xdt_rules.cache import CropCache
    from xdt_rules.ingest import legacy

    cache = CropCache(tmp_path / "crops")
    html = render_report(outcome.result, FRAMEWORK, outcome.documents, crop_cache=cache)
    figures = re.findall(r'<figcaption>(申报书\.docx[^<]*)</figcaption>', html)
    assert len(figures) >= 10 and all("按 LibreOffice 排版" in f for f in figures)
    assert cache.stats.writes >= 10

    def no_layout(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("LibreOffice ran although every crop was cached")

    monkeypatch.setattr(legacy, "render_pdf", no_layout)
    assert render_report(outcome.result, FRAMEWORK, outcome.documents, crop_cache=CropCache(tmp_path / "crops")) == html


@needs_samples
def test_without_libreoffice_word_evidence_has_no_crops_and_the_report_goes_on(outcome, monkeypatch) -> None:
    from xdt_rules.ingest import legacy

    monkeypatch.setattr(legacy, "find_soffice", lambda: None)
    html = render_report(outcome.result, FRAMEWORK, outcome.documents)
    assert "按 LibreOffice 排版" not in html and 'class="crop"' not in html
    assert "申报书.docx · 三、数字化改造情况 › （二）制造设备数字化 · 第 2 段" in html
