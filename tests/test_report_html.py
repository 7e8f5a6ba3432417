"""The HTML report: exact highlights, escaping, crops, self-contained, navigable, printable."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from xdt_rules.ingest import ExtractOptions, extract
from xdt_rules.models import Block, BBox, Document, EvidenceRef, LineSpan, Mention
from xdt_rules.report.crops import CropLimits, CropRenderer, span_boxes, span_segments
from xdt_rules.report.html import passages, render_report, unwrap
from xdt_rules.scoring import score_mentions
from xdt_rules.screen import ApplicationInput, ScreenSettings, display_path
from support import CATALOGUE, FRAMEWORK, RULES, reading_of


PAGE_TEXT = [
    "一、企业基本情况",
    "公司于2021年3月上线用友U8 Cloud，覆盖采购、销售、库存和财务。",
    "2022年6月建成鼎捷MES制造执行系统，实现计划排产与生产调度。",
    "研发部门全面采用SolidWorks进行三维设计，设计周期缩短30天。",
    "公司计划于2026年建设WMS仓库管理系统。",
    "目前尚未建立PLM系统，图纸仍以人工方式管理。",
]
TERMS = {"用友U8 Cloud": ("1.3.1", "entity", "implemented"), "MES": ("1.3.2", "term", "implemented"),
         "SolidWorks": ("1.1.1", "entity", "implemented"), "WMS": ("1.3.3", "term", "planned"),
         "PLM": ("1.1.3", "term", "negated")}


def build_pdf(path: Path, pages: list[list[str]]) -> Path:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    c = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    for lines in pages:
        y = 780
        for line in lines:
            c.setFont("STSong-Light", 12)
            c.drawString(60, y, line)
            y -= 40  # separate paragraphs
        c.showPage()
    c.save()
    return path


def mentions_for(docs: list[Document]) -> list[Mention]:
    """Stand-in for the evidence stage: the fixed terms above, sentence = the block's sentence."""
    out = []
    for doc in docs:
        for block in doc.blocks:
            for term, (item, kind, polarity) in TERMS.items():
                for m in re.finditer(re.escape(term), block.text):
                    s0 = block.text.rfind("。", 0, m.start()) + 1
                    s1 = block.text.find("。", m.end())
                    s1 = len(block.text) if s1 < 0 else s1 + 1
                    out.append(Mention(item_id=item, term=term, matched=m.group(), kind=kind, polarity=polarity, reading=reading_of(polarity),
                                       file=doc.path, sha256=doc.sha256, page=block.page, block=block.index,
                                       block_kind=block.kind, start=m.start(), end=m.end(),
                                       sentence=block.text[s0:s1], sentence_start=s0, sentence_end=s1))
    return out


def load_documents(app: ApplicationInput) -> tuple[list, list, list, list]:
    """Every file of the application read whole, named as the report shows it."""
    from xdt_rules.ingest import extract
    from xdt_rules.models import FileRecord

    docs = [extract(f, ExtractOptions(ocr="off")).model_copy(update={"name": display_path(app.root, f)})
            for f in app.files]
    records = [FileRecord(path=d.name, sha256=d.sha256, pages=d.pages) for d in docs]
    return docs, records, [], []


def result_for(app: ApplicationInput):
    docs, records, errors, warnings = load_documents(app)
    names = {d.path: d.name for d in docs}
    scored = score_mentions(mentions_for(docs), catalogue=CATALOGUE, book=RULES,
                            file_names=names)
    from xdt_rules.models import ApplicationResult

    result = ApplicationResult(application=app.name, files=records, framework="kunming-xdt", rules_version="test",
                               tool_version="t", total=scored.total, elements=scored.elements, items=scored.items,
                               errors=errors, warnings=warnings)
    return result, docs


class Collect(HTMLParser):
    """Tags, attributes, <mark> texts, and each blockquote as a list of (text, mark attributes or None)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.marks: list[str] = []
        self.quotes: list[list[tuple[str, dict | None]]] = []
        self._mark: dict | None = None
        self._quote = False
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "mark":
            self._mark = dict(attrs)
            self.marks.append("")
            if self._quote:
                self.quotes[-1].append(("", self._mark))
        elif tag == "blockquote":
            self._quote = True
            self.quotes.append([])

    def handle_endtag(self, tag):
        if tag == "mark":
            self._mark = None
        elif tag == "blockquote":
            self._quote = False

    def handle_data(self, data):
        self.text.append(data)
        if self._mark is not None:
            self.marks[-1] += data
        if self._quote:
            if self._mark is not None:
                text, attrs = self.quotes[-1][-1]
                self.quotes[-1][-1] = (text + data, attrs)
            else:
                self.quotes[-1].append((data, None))


def shown(block: Block, start: int, end: int) -> str:
    """A block's text as the report shows it: a PDF's line wraps taken out (U8\nCloud → U8 Cloud)."""
    return unwrap(block.text, start, end) if block.page is not None or block.source == "ocr" else block.text[start:end]


def check_marks(page: "Collect", docs: list[Document], file_of: dict[str, str] | None = None) -> int:
    """Every mark is its block's text at data-start:data-end (as shown: without a PDF's line wraps),
    preceded by exactly that block's text."""
    blocks = {(d.name, b.index): b for d in docs for b in d.blocks}
    checked = 0
    for quote in page.quotes:
        before = ""
        for text, attrs in quote:
            if attrs is None:
                before += text
                continue
            start, end = int(attrs["data-start"]), int(attrs["data-end"])
            candidates = [b for (name, _), b in blocks.items() if shown(b, start, end) == text]
            assert candidates, f"mark {text!r} is not any block's text at {start}:{end}"
            lead = before.lstrip("…").split(" │ ")[-1]  # inside a table row: the cell's own text
            assert any(shown(b, 0, start).endswith(lead) for b in candidates), (text, lead)
            before += text
            checked += 1
    return checked


def parse(html: str) -> Collect:
    p = Collect()
    p.feed(html)
    p.close()
    return p


@pytest.fixture(scope="module")
def pdf_app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("app") / "测试企业"
    folder.mkdir()
    build_pdf(folder / "申报书.pdf", [PAGE_TEXT[:3], PAGE_TEXT[3:]])
    return ApplicationInput(name="测试企业", root=str(folder), files=[str(folder / "申报书.pdf")])


def test_each_mark_is_exactly_the_matched_text(pdf_app):
    result, docs = result_for(pdf_app)
    html = render_report(result, FRAMEWORK, docs)
    page = parse(html)
    expected = [ev.matched for item in result.items for ev in item.evidence]
    assert len(expected) >= 5
    assert sorted(page.marks) == sorted(expected)  # every evidence marked once
    assert "用友U8 Cloud" in page.marks and "SolidWorks" in page.marks
    assert check_marks(page, docs) == len(expected)
    assert 'class="warn"' not in html  # every mark placed by offsets, none by text search


def test_mark_is_on_the_occurrence_the_offsets_name():
    sentence = "先上线ERP，后升级ERP。"
    second = sentence.rindex("ERP")
    ev = Mention(item_id="1.3.1", term="ERP", matched="ERP", kind="term", polarity="implemented", reading=reading_of("implemented"), file="a.txt",
                 sha256="0" * 64, block=3, block_kind="paragraph", start=100 + second, end=103 + second,
                 sentence=sentence, sentence_start=100, sentence_end=100 + len(sentence))
    scored = score_mentions([ev], catalogue=CATALOGUE, book=RULES)
    from xdt_rules.models import ApplicationResult

    result = ApplicationResult(application="a", files=[], framework="kunming-xdt", rules_version="t", tool_version="t",
                               total=scored.total, elements=scored.elements, items=scored.items)
    html = render_report(result, FRAMEWORK)
    (before,) = re.findall(r'<blockquote class="sentence">(.*?)<mark', html)
    assert before == "先上线ERP，后升级"


def test_crops_embedded_for_pdf_evidence_and_pages_rendered_once(pdf_app):
    result, docs = result_for(pdf_app)
    renderer = CropRenderer(docs, limits=CropLimits(per_item=1, per_report=3))
    crops = [renderer.crop(ev) for item in result.items for ev in item.evidence]
    made = [c for c in crops if c]
    assert len(made) == 3 and all(c.src.startswith("data:image/png;base64,") and c.marks for c in made)
    pages = {ev.page for item in result.items for ev in item.evidence}
    assert renderer.page_loads <= len(pages) == 2  # each page opened once, however many crops it gives
    assert renderer.renders == 3  # one region render per crop
    assert renderer.exact_boxes == 3  # each span located by pdfium's text search, not estimated
    renderer.close()
    html = render_report(result, FRAMEWORK, docs)
    tags = parse(html).tags
    imgs = [a for t, a in tags if t == "img"]
    assert imgs and all(a["src"].startswith("data:image/png;base64,") for a in imgs)
    assert len(imgs) <= sum(1 for i in result.items if i.evidence) * 3
    # every crop carries its evidence box as an overlay, not drawn into the pixels
    overlays = [a for t, a in tags if t == "span" and a.get("class") == "crop-mark"]
    assert len(overlays) >= len(imgs)
    assert all(re.fullmatch(r"left:[-\d.]+%;top:[-\d.]+%;width:[\d.]+%;height:[\d.]+%", a["style"]) for a in overlays)
    assert not any(t == "img" for t, _ in parse(render_report(result, FRAMEWORK, docs, crops=False)).tags)


def test_crop_box_covers_the_span(pdf_app):
    _, docs = result_for(pdf_app)
    block = next(b for b in docs[0].blocks if "SolidWorks" in b.text)
    start = block.text.index("SolidWorks")
    (box,) = span_boxes(block, start, start + len("SolidWorks"))
    line = next(ln for ln in block.lines if ln.start <= start < ln.end)
    assert line.bbox.x0 < box.x0 < box.x1 < line.bbox.x1
    assert (box.top, box.bottom) == (line.bbox.top, line.bbox.bottom)


def test_located_box_is_the_words_own_box(pdf_app):
    _, docs = result_for(pdf_app)
    block = next(b for b in docs[0].blocks if "SolidWorks" in b.text)
    start = block.text.index("SolidWorks")
    renderer = CropRenderer(docs)
    ((text, line, estimate),) = span_segments(block, start, start + len("SolidWorks"))
    box = renderer._located(docs[0], block.page, text, line, estimate)
    renderer.close()
    assert renderer.exact_boxes == 1
    # reportlab drew the line at x=60 in 12 pt STSong: 研发部门全面采用 = 8 CJK glyphs before the word
    assert box.x0 == pytest.approx(60 + 8 * 12, abs=1.5)
    from reportlab.pdfbase.pdfmetrics import stringWidth

    assert box.x1 - box.x0 == pytest.approx(stringWidth("SolidWorks", "STSong-Light", 12), abs=2)


def test_span_over_two_lines_gives_two_boxes():
    block = Block(index=0, kind="paragraph", text="制造执\n行系统", page=1,
                  lines=[LineSpan(start=0, end=3, bbox=BBox(x0=100, top=100, x1=136, bottom=112)),
                         LineSpan(start=4, end=7, bbox=BBox(x0=60, top=116, x1=96, bottom=128))])
    boxes = span_boxes(block, 0, 7)
    assert [(b.top, b.bottom) for b in boxes] == [(100, 112), (116, 128)]
    assert boxes[0].x0 == 100 and boxes[1].x1 == 96


def test_document_text_is_escaped(tmp_path):
    folder = tmp_path / "app"
    folder.mkdir()
    evil_name = '<img src=x onerror=alert(1)>.txt'
    (folder / evil_name).write_text(
        "公司已上线ERP系统<script>alert('x')</script>，并且<img src=x onerror=alert(2)>全面应用。\n", encoding="utf-8")
    app = ApplicationInput(name="<script>alert(3)</script>", root=str(folder), files=[str(folder / evil_name)])
    docs, records, *_ = load_documents(app)
    block = docs[0].blocks[0]
    start = block.text.index("ERP")
    mention = Mention(item_id="1.3.1", term="ERP", matched="ERP", kind="term", polarity="implemented", reading=reading_of("implemented"),
                      file=docs[0].path, sha256=docs[0].sha256, block=0, block_kind=block.kind, start=start,
                      end=start + 3, sentence=block.text, sentence_start=0, sentence_end=len(block.text))
    scored = score_mentions([mention], catalogue=CATALOGUE, book=RULES,
                            file_names={d.path: d.name for d in docs})
    from xdt_rules.models import ApplicationResult

    result = ApplicationResult(application=app.name, files=records, framework="kunming-xdt", rules_version="t",
                               tool_version="t", total=scored.total, elements=scored.elements, items=scored.items)
    html = render_report(result, FRAMEWORK, docs)
    page = parse(html)
    assert [t for t, _ in page.tags].count("script") == 1  # only the report's own filter script
    assert not any("onerror" in attrs for _, attrs in page.tags)
    assert [a.get("src") for t, a in page.tags if t == "img"] == []
    text = "".join(page.text)
    assert "<script>alert('x')</script>" in text and "<img src=x onerror=alert(2)>" in text
    assert "<script>alert(3)</script>" in text and evil_name in text
    assert "&lt;script&gt;alert(&#39;x&#39;)" in html or "&lt;script&gt;alert('x')" in html
    assert page.marks == ["ERP"]


def test_report_is_self_contained_navigable_and_printable(pdf_app):
    result, docs = result_for(pdf_app)
    html = render_report(result, FRAMEWORK, docs)
    page = parse(html)
    # nothing fetched from elsewhere
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert not any(t == "link" for t, _ in page.tags)
    assert not any(t == "script" and a.get("src") for t, a in page.tags)
    assert "@media print" in html and "初步结果，须人工确认" in html
    # criteria tree with every item, and the filters
    nav = [a["href"] for t, a in page.tags if t == "a" and a.get("href", "").startswith("#item-")]
    assert nav == [f"#item-{i}" for i in CATALOGUE.item_ids]
    ids = {a.get("id") for _, a in page.tags}
    assert {f"item-{i}" for i in CATALOGUE.item_ids} <= ids and {"f-confirm", "f-planned"} <= ids
    articles = [a for t, a in page.tags if t == "article"]
    assert len(articles) == 36 and {a["data-status"] for a in articles} >= {"met", "planned", "negated", "not_found"}
    # scores and counts
    text = "".join(page.text)
    assert f"{result.total.score:.2f}".rstrip("0").rstrip(".") in text
    assert "需人工确认" in text and "已具备" in text and "仅有规划" in text
    svg_fills = [a for t, a in page.tags if t == "rect" and a.get("class") == "fill"]
    assert len(svg_fills) == 1 + len(result.elements)


def test_passage_context_is_trimmed_and_bad_offsets_are_flagged():
    sentence = "甲" * 200 + "ERP" + "乙" * 200
    ev = EvidenceRef(file="a", block=0, start=1200, end=1203, text=sentence, matched="ERP", polarity="implemented",
                     sentence_start=1000, sentence_end=1403)
    (view,) = passages([ev], context=20)
    assert [seg.text for seg in view.segments] == ["甲" * 20, "ERP", "乙" * 20]
    assert view.cut_before and view.cut_after and view.inexact == []
    (view,) = passages([ev.model_copy(update={"start": 5, "end": 8})])
    assert [seg.text for seg in view.segments if seg.ev] == ["ERP"] and view.inexact == ["ERP"]  # found by text, flagged
    (view,) = passages([ev.model_copy(update={"matched": "MES", "start": 5, "end": 8})])
    assert not any(seg.ev for seg in view.segments) and view.inexact == ["MES"]


def test_settings_carry_crops_flag():
    assert ScreenSettings().crops is True and ScreenSettings(crops=False).crops is False


SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "pdf" / "08_line_wraps_tobacco"


@pytest.mark.skipif(not SAMPLE.is_dir(), reason="samples not built")
def test_real_evidence_marks_on_a_sample_with_line_wrapped_terms(tmp_path):
    from support import screen

    outcome = screen(SAMPLE)
    html = render_report(outcome.result, FRAMEWORK, outcome.documents)
    page = parse(html)
    shown = check_marks(page, outcome.documents)
    evidence = [ev for item in outcome.result.items for ev in item.evidence]
    spans = [tuple(map(int, span.split("-"))) for t, a in page.tags if t == "mark" for span in a["data-spans"].split()]
    assert shown == len(page.marks) and len(spans) >= 0.8 * len(evidence)
    assert set(spans) <= {(ev.start, ev.end) for ev in evidence}  # every mark is made of evidence spans
    # terms split by a line break are marked whole, and shown as the words they are (no line break)
    wrapped = [ev for ev in evidence if "\n" in ev.matched and (ev.start, ev.end) in set(spans)]
    assert wrapped and all(any(unwrap(ev.matched, 0, len(ev.matched)) in m for m in page.marks) for ev in wrapped)
    assert not any("\n" in m for m in page.marks)
    assert 'class="warn"' not in html
    # an item's matches in one sentence are shown once, together
    assert len(page.quotes) < len(page.marks)


def test_table_cell_shown_with_its_row():
    from xdt_rules.report.html import TableRows, passages

    doc = Document(path="x.pdf", name="申报书.pdf", sha256="0" * 64, size=1, file_type="pdf", extractor_version="t",
                   blocks=[Block(index=0, kind="table_cell", text="制造执行系统", table=0, row=2, col=0),
                           Block(index=1, kind="table_cell", text="鼎捷MES", table=0, row=2, col=1),
                           Block(index=2, kind="table_cell", text="2022年6月", table=0, row=2, col=2)])
    ev = EvidenceRef(file="申报书.pdf", page=1, block=1, start=2, end=5, text="鼎捷MES", matched="MES",
                     polarity="implemented", sentence_start=0, sentence_end=5)
    (view,) = passages([ev], TableRows([doc]))
    assert view.row and "".join(seg.text for seg in view.segments) == "制造执行系统 │ 鼎捷MES │ 2022年6月"
    assert [seg.text for seg in view.segments if seg.ev] == ["MES"]
    # two cells of the same row: one passage, both marked
    name = EvidenceRef(file="申报书.pdf", page=1, block=0, start=0, end=6, text="制造执行系统", matched="制造执行系统",
                       polarity="implemented", sentence_start=0, sentence_end=6)
    (view,) = passages([ev, name], TableRows([doc]))
    assert [seg.text for seg in view.segments if seg.ev] == ["制造执行系统", "MES"]


def test_a_sentence_is_shown_once_however_its_matches_overlap():
    """Issue 14 (14): overlapping matches each got a copy of the sentence (one sentence three
    times under one item). Now one copy, one mark over the overlapping matches, which still says
    each match's own offsets (data-spans) and sets the keywords inside a pattern's span apart."""
    from xdt_rules.report.html import passages

    sentence = "公司全面采用三维设计软件。"
    evs = [EvidenceRef(file="a", block=0, start=s, end=s + len(m), text=sentence, matched=m, polarity="implemented",
                       sentence_start=0, sentence_end=len(sentence), kind=kind)
           for m, s, kind in (("三维设计", 6, "term"), ("三维设计软件", 6, "cue"), ("软件", 10, "term"))]
    (view,) = passages(evs)
    assert [seg.text for seg in view.segments if seg.ev] == ["三维设计软件"]
    page = parse(str(view.quote))
    assert page.marks == ["三维设计软件"]
    (mark,) = [a for t, a in page.tags if t == "mark"]
    assert (mark["data-start"], mark["data-end"]) == ("6", "12")
    assert sorted(mark["data-spans"].split()) == ["10-12", "6-10", "6-12"]
    assert [a.get("class") for t, a in page.tags if t == "span"] == ["kw"]  # 三维设计 and 软件 touch: one stretch
