"""Evidence crops: the overlay box sits on the span's ink, pages are opened once, crops are small
and cached on disk so that a re-score renders nothing."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from test_report_html import PAGE_TEXT, build_pdf, parse, result_for

from xdt_rules.ingest import ExtractOptions, extract
from xdt_rules.models import EvidenceRef
from xdt_rules.report import crops as crops_module
from xdt_rules.cache import CropCache
from xdt_rules.report.crops import (
    MAX_WIDTH_PX,
    CropLimits,
    CropRenderer,
    crop_key,
    png_size,
)
from support import FRAMEWORK
from xdt_rules.report.html import render_report
from xdt_rules.screen import ApplicationInput


@pytest.fixture(scope="module")
def doc(tmp_path_factory):
    folder = tmp_path_factory.mktemp("crops")
    return extract(build_pdf(folder / "申报书.pdf", [PAGE_TEXT[:3], PAGE_TEXT[3:]]), ExtractOptions(ocr="off"))


def evidence_of(doc, word: str) -> EvidenceRef:
    block = next(b for b in doc.blocks if word in b.text)
    start = block.text.index(word)
    return EvidenceRef(file=doc.name, page=block.page, block=block.index, start=start, end=start + len(word),
                       text=block.text, matched=word, polarity="implemented", sentence_start=0,
                       sentence_end=len(block.text))


def ink_columns(crop, threshold: int = 140) -> tuple[Image.Image, tuple[int, int, int, int]]:
    image = Image.open(io.BytesIO(crop.png)).convert("L")
    assert image.size == (crop.width, crop.height) == png_size(crop.png)
    ((left, top, width, height),) = crop.marks
    box = (round(left * crop.width / 100), round(top * crop.height / 100),
           round((left + width) * crop.width / 100), round((top + height) * crop.height / 100))
    return image, box


def test_overlay_box_sits_on_the_words_ink(doc):
    from reportlab.pdfbase.pdfmetrics import stringWidth

    ev = evidence_of(doc, "SolidWorks")
    with CropRenderer([doc]) as renderer:
        crop = renderer.crop(ev)
    assert crop is not None and renderer.exact_boxes == 1
    # in page points: reportlab drew the line at x=60 in 12 pt STSong, 8 CJK glyphs before the word;
    # the frame adds its padding (2 pt) on each side
    (mark,) = crop.mark_boxes()
    assert mark.x0 == pytest.approx(60 + 8 * 12 - 2, abs=1.5)
    assert mark.x1 == pytest.approx(60 + 8 * 12 + stringWidth("SolidWorks", "STSong-Light", 12) + 2, abs=2)
    assert 6 <= mark.bottom - mark.top <= 18
    image, (x0, y0, x1, y1) = ink_columns(crop)
    pixels = image.load()
    dark = [(x, y) for x in range(crop.width) for y in range(y0, y1) if pixels[x, y] < 140]
    inside = [x for x, _ in dark if x0 <= x < x1]
    assert inside, "the box must hold the word's glyphs"
    # the frame hugs the word: its ink starts and ends within the padding (2 pt ≈ 3 px at 96 dpi) + a pixel
    assert 0 <= min(inside) - x0 <= 5 and 0 <= x1 - 1 - max(inside) <= 5
    # and it is no wider: the Chinese characters on either side (用 … 进) are outside it
    assert any(x < x0 for x, _ in dark) and any(x >= x1 for x, _ in dark)
    # vertically the frame covers the glyphs' rows
    rows = [y for x in range(x0, x1) for y in range(crop.height) if pixels[x, y] < 140]
    assert y0 <= min(rows) and max(rows) < y1


def test_crops_are_small_grayscale_and_capped(doc):
    with CropRenderer([doc], limits=CropLimits(per_report=2)) as renderer:
        made = [renderer.crop(evidence_of(doc, w)) for w in ("用友U8 Cloud", "MES", "SolidWorks")]
    assert made[2] is None and renderer.made == 2  # the report's cap
    for crop in made[:2]:
        assert crop.width <= MAX_WIDTH_PX and crop.height < 200
        assert Image.open(io.BytesIO(crop.png)).mode == "P"  # 16 greys, 4 bits per pixel
        assert len(crop.png) < 20_000


def test_each_page_is_opened_once(doc):
    words = ["用友U8 Cloud", "MES", "SolidWorks", "WMS", "PLM"]
    with CropRenderer([doc], limits=CropLimits(per_report=10)) as renderer:
        assert all(renderer.crop(evidence_of(doc, w)) for w in words)
    assert renderer.renders == 5 and renderer.page_loads == 2


def test_disk_cache_renders_nothing_the_second_time(doc, tmp_path):
    words = ["用友U8 Cloud", "SolidWorks", "PLM"]
    with CropRenderer([doc], cache=CropCache(tmp_path)) as first:
        fresh = [first.crop(evidence_of(doc, w)) for w in words]
    assert first.renders == 3 and len(list(tmp_path.rglob("*.crop"))) == 3
    cache = CropCache(tmp_path)
    with CropRenderer([doc], cache=cache) as second:
        again = [second.crop(evidence_of(doc, w)) for w in words]
    assert again == fresh and cache.stats.hits == 3
    assert second.renders == 0 and second.page_loads == 0


def test_cache_key_follows_the_content_not_the_block_number(doc, tmp_path):
    ev = evidence_of(doc, "SolidWorks")
    block = next(b for b in doc.blocks if b.index == ev.block)
    key = crop_key(doc, ev.page, [(block, ev.start, ev.end)], 96)
    moved = block.model_copy(update={"index": block.index + 7})
    assert crop_key(doc, ev.page, [(moved, ev.start, ev.end)], 96) == key
    changed = block.model_copy(update={"text": block.text.replace("研发", "设计")})
    assert crop_key(doc, ev.page, [(changed, ev.start, ev.end)], 96) != key
    assert crop_key(doc, ev.page, [(block, ev.start, ev.end)], 110) != key
    assert crop_key(doc.model_copy(update={"sha256": "f" * 64}), ev.page, [(block, ev.start, ev.end)], 96) != key
    # a damaged entry is rendered again, not trusted
    cache = CropCache(tmp_path)
    with CropRenderer([doc], cache=cache) as renderer:
        good = renderer.crop(ev)
    (entry,) = tmp_path.rglob("*.crop")
    entry.write_bytes(b"XDTCROP2 {broken\n")
    with CropRenderer([doc], cache=CropCache(tmp_path)) as renderer:
        assert renderer.crop(ev) == good and renderer.renders == 1


def test_report_from_the_cache_is_identical_and_renders_no_page(tmp_path, monkeypatch):
    folder = tmp_path / "测试企业"
    folder.mkdir()
    build_pdf(folder / "申报书.pdf", [PAGE_TEXT[:3], PAGE_TEXT[3:]])
    app = ApplicationInput(name="测试企业", root=str(folder), files=[str(folder / "申报书.pdf")])
    result, docs = result_for(app)
    cache_dir = tmp_path / "crops"
    first = render_report(result, FRAMEWORK, docs, crop_cache=CropCache(cache_dir))
    assert first == render_report(result, FRAMEWORK, docs)  # the cache changes nothing in the report

    def no_rendering(*args, **kwargs):
        raise AssertionError("a cached crop was rendered again")

    monkeypatch.setattr(crops_module.CropRenderer, "_render", no_rendering)
    monkeypatch.setattr(crops_module.CropRenderer, "_open", no_rendering)
    assert render_report(result, FRAMEWORK, docs, crop_cache=CropCache(cache_dir)) == first
    imgs = [a for t, a in parse(first).tags if t == "img"]
    assert imgs and all(int(a["width"]) <= MAX_WIDTH_PX for a in imgs)


def test_unrenderable_file_has_no_crops_and_the_report_goes_on(doc, tmp_path):
    gone = doc.model_copy(update={"path": str(Path(tmp_path) / "missing.pdf")})
    with CropRenderer([gone]) as renderer:
        assert renderer.crop(evidence_of(gone, "SolidWorks")) is None
        assert renderer.crop(evidence_of(gone, "MES")) is None  # not tried again
