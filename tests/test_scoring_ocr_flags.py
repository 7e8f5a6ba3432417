"""Issue 14 (19): evidence read by OCR from a scan decided an item (sample 07, 1.2.2: met, 写明实施
或上线时间) without a flag or a mark, while another item of the same report (4.1.1, all its
evidence OCR'd) had both. Every item whose verdict rests on OCR text is flagged for confirmation
now, and its OCR passages are marked 来自扫描件识别 in the report."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

import pytest

from support import CATALOGUE, RULES, reading_of
from xdt_rules.cli import main
from xdt_rules.models import Mention
from xdt_rules.ocr import ocr_available
from xdt_rules.scoring import score_mentions

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "pdf" / "07_scanned_page_nonferrous"
DECIDING = {"met": "implemented", "partial": "implemented", "planned": "planned", "negated": "negated"}


def _mention(text: str, term: str, *, ocr: bool, polarity: str = "implemented", page: int = 1,
             item: str = "1.3.2") -> Mention:
    start = text.index(term)
    return Mention(item_id=item, term=term, matched=term, kind="term", polarity=polarity,  # type: ignore[arg-type]
                   reading=reading_of(polarity), file="a.pdf", sha256="0" * 64, page=page, block=page,
                   block_kind="ocr_line" if ocr else "paragraph", start=start, end=start + len(term), sentence=text,
                   sentence_start=0, sentence_end=len(text), ocr=ocr)


def _item(mentions: list[Mention], item: str = "1.3.2"):  # noqa: ANN202
    # the rules and the OCR rule alone: whether the model also flags it is tested in test_confirmation.py
    scored = score_mentions(mentions, catalogue=CATALOGUE, book=RULES, learned_confirmation=False)
    return next(i for i in scored.items if i.id == item)


def test_a_verdict_resting_partly_on_ocr_text_is_flagged() -> None:
    typed = _mention("2021年公司上线MES系统，覆盖全部工序。", "MES", ocr=False)
    scanned = _mention("2022年MES系统二期验收合格。", "MES", ocr=True, page=2)
    alone = _item([typed])
    assert alone.status == "met" and not alone.needs_confirmation
    both = _item([typed, scanned])
    assert both.status == "met" and both.needs_confirmation
    assert any("来自扫描件识别" in r for r in both.reasons)
    # the rules' own flag (all evidence OCR'd) is not doubled
    only = _item([scanned])
    assert only.needs_confirmation and sum("来自扫描件识别" in r for r in only.reasons) == 1


def test_ocr_text_the_verdict_does_not_rest_on_is_not_flagged() -> None:
    """A scanned page that only mentions the item in passing (generic) leaves a typed verdict alone."""
    typed = _mention("2021年公司上线MES系统，覆盖全部工序。", "MES", ocr=False)
    passing = _mention("行业内企业普遍使用MES。", "MES", ocr=True, polarity="generic", page=2)
    item = _item([typed, passing])
    assert item.status == "met" and not item.needs_confirmation
    assert not any("扫描件" in r for r in item.reasons)


def test_a_lack_read_by_ocr_is_flagged() -> None:
    """A misread 未 decides as much as a misread system name."""
    lack = _mention("公司尚未建立MES系统。", "MES", ocr=True, polarity="negated")
    item = _item([lack])
    assert item.status == "negated" and item.needs_confirmation
    assert any("来自扫描件识别" in r for r in item.reasons)


@pytest.mark.skipif(not SAMPLE.is_dir(), reason="samples not built (python samples/build_samples.py)")
@pytest.mark.skipif(not ocr_available(), reason='needs the [ocr] extra: pip install "xdt-rules[ocr]"')
def test_every_item_decided_by_ocr_in_sample_07_is_flagged_and_its_passages_marked(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["screen", str(SAMPLE), "--out", str(out), "--no-crops"]) == 0
    result = json.loads((out / f"{SAMPLE.name}.json").read_text(encoding="utf-8"))
    html = unescape((out / f"{SAMPLE.name}.html").read_text(encoding="utf-8"))
    items = {i["id"]: i for i in result["items"]}
    decided = [i for i in result["items"]
               if any(ev["ocr"] and ev["polarity"] == DECIDING.get(i["status"]) for ev in i["evidence"])]
    assert {"1.2.2", "4.1.1"} <= {i["id"] for i in decided}
    for item in decided:
        assert item["needs_confirmation"], item["id"]
        assert any("来自扫描件识别" in r for r in item["reasons"]), (item["id"], item["reasons"])
        article = re.search(rf'<article class="item" id="item-{re.escape(item["id"])}".*?</article>', html, re.S).group(0)
        assert '需人工确认' in article and "来自扫描件识别" in article
        heads = re.findall(r'<div class="ev-head">(.*?)</div>', article, re.S)
        ocr_heads = [h for h in heads if "第 5 页" in h]  # the scanned page
        assert ocr_heads and all("来自扫描件识别" in h for h in ocr_heads)
    assert items["1.2.2"]["status"] == "met"
    # typed pages are not marked as scans
    typed_heads = re.findall(r'<div class="ev-head">((?:(?!</div>).)*第 2 页(?:(?!</div>).)*)</div>', html, re.S)
    assert typed_heads and not any("来自扫描件识别" in h for h in typed_heads)


def test_the_confirmation_model_never_unflags_a_verdict_resting_on_ocr_text() -> None:
    typed = _mention("2021年公司上线MES系统，覆盖全部工序。", "MES", ocr=False)
    scanned = _mention("2022年MES系统二期验收合格。", "MES", ocr=True, page=2)
    assert RULES.confirmation is not None
    scored = score_mentions([typed, scanned], catalogue=CATALOGUE, book=RULES)
    item = next(i for i in scored.items if i.id == "1.3.2")
    assert item.status == "met" and item.needs_confirmation
    assert any("扫描件" in r for r in item.reasons)
