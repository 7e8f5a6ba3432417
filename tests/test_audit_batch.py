"""`xdt audit --results/--gold`: hit counts, agreement with labels, uncovered vocabulary, JSON and HTML,
over the sample applications screened once for this module (DOCX variants, OCR off) plus one extra
application that keeps writing about a domain term no keyword knows.
"""

from __future__ import annotations

import copy
import io
import json
import shutil
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from xdt_rules.audit.agreement import agreement_audit
from xdt_rules.audit.documents import load_documents_for
from xdt_rules.audit.labels import load_label_csv, load_labels
from xdt_rules.audit.render import print_audit, render_audit_html
from xdt_rules.audit.report import AuditOptions, run_audit
from xdt_rules.audit.results import load_results
from xdt_rules.cli import main
from xdt_rules.datapaths import framework_dir, keywords_dir
from xdt_rules.errors import DataFileError
from xdt_rules.evidence.normalize import normalize_key
from xdt_rules.gold import load_gold_dir
from xdt_rules.ingest import ExtractOptions
from xdt_rules.screen import ScreenSettings, collect_application, output_stem, result_json, screen_application
from support import CATALOGUE, KEYWORDS, screen

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples" / "docx"
GOLD = REPO / "samples" / "gold"
# A domain term no keyword covers (checked below), written the way applicants write.
NEW_TERM = "冷链温控箱"
EXTRA_APP = "99_cold_chain_boxes"
EXTRA_TEXT = f"""昆明某冷链物流有限公司数字化转型情况

公司为每辆冷藏车配备{NEW_TERM}，{NEW_TERM}每五分钟把箱内温度数据实时回传调度中心。

调度员在大屏上查看{NEW_TERM}的温度曲线，温度超限时系统自动提醒司机。

2024年公司新增{NEW_TERM}120台，{NEW_TERM}数据与客户订单关联，客户可扫码查看全程温度。

{NEW_TERM}的电池和传感器由设备部统一维护，维护记录录入系统。

{NEW_TERM}的开关记录自动存进系统，空置的{NEW_TERM}在系统里登记库位。
"""


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """(results dir, docs dir): every DOCX sample plus the extra application, screened once."""
    root = tmp_path_factory.mktemp("audit_batch")
    docs, results = root / "docs", root / "results"
    shutil.copytree(SAMPLES, docs)
    (docs / EXTRA_APP).mkdir()
    (docs / EXTRA_APP / "申报书.txt").write_text(EXTRA_TEXT, encoding="utf-8")
    results.mkdir()
    settings = ScreenSettings(crops=False, extract=ExtractOptions(ocr="off"))
    for folder in sorted(p for p in docs.iterdir() if p.is_dir()):
        outcome = screen(folder)
        (results / f"{output_stem(outcome.result.application)}.json").write_text(result_json(outcome.result),
                                                                                 encoding="utf-8")
    return results, docs


@pytest.fixture(scope="module")
def report(batch):
    results, docs = batch
    # top: the batch holds every sample, so a term of one application ranks below terms shared by many
    return run_audit(AuditOptions(results=str(results), gold=str(GOLD), docs=str(docs), top=200))


def _json_results(results: Path) -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(results.glob("*.json"))]


# ---------------------------------------------------------------- dynamic


def test_status_counts_per_item_add_up(batch, report):
    results, _ = batch
    raw = _json_results(results)
    dyn = report.dynamic
    assert dyn is not None and len(dyn.applications) == len(raw)
    for usage in dyn.items:
        expected = Counter(next(i for i in r["items"] if i["id"] == usage.id)["status"] for r in raw)
        assert usage.statuses == {s: expected.get(s, 0) for s in ("met", "partial", "planned", "negated", "not_found")}
        assert usage.evidenced == expected["met"] + expected["partial"]
    assert dyn.items_not_evidenced == [u.id for u in dyn.items if u.evidenced == 0]


def test_keyword_hits_are_counted_per_application(batch, report):
    results, _ = batch
    raw = _json_results(results)
    rows = {(k.item, k.keyword): k for k in report.dynamic.keywords}
    for item_id, term in (("1.3.1", "ERP"), ("1.3.2", "MES"), ("1.3.1", "用友U8 Cloud")):
        apps = {r["application"] for r in raw for i in r["items"] if i["id"] == item_id
                for ev in i["evidence"] if ev["term"] == term}
        assert apps, term  # the samples do use these
        assert rows[(item_id, term)].applications == len(apps)
    dead = set(report.dynamic.dead_keywords)
    assert "1.3.1 ERP" not in dead
    assert all(rows[tuple(d.split(" ", 1))].applications == 0 for d in dead)


def test_rule_fire_counts(batch, report):
    results, _ = batch
    fired = Counter(key for r in _json_results(results) for i in r["items"] for key in i["rules_fired"])
    for rule in report.dynamic.rules:
        assert rule.fired == fired.get(rule.rule, 0), rule.rule
    assert report.dynamic.dead_rules == [r.rule for r in report.dynamic.rules if r.fired == 0]


def test_seeded_dead_keyword_via_data_dir(batch, tmp_path, monkeypatch, capsys):
    results, _ = batch
    data = tmp_path / "data"
    shutil.copytree(keywords_dir(), data / "keywords")
    (data / "rules").mkdir()
    shutil.copytree(framework_dir(), data / "rules" / "kunming-xdt")
    path = data / "keywords" / "1_3_production.yaml"
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    spec["items"]["1.3.2"]["terms"].append({"term": "量子退火排产引擎"})
    path.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")

    monkeypatch.setenv("XDT_DATA_DIR", str(data))
    assert main(["audit", "--results", str(results), "--no-vocabulary", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    dead = out["dynamic"]["dead_keywords"]
    assert "1.3.2 量子退火排产引擎" in dead
    assert "1.3.1 ERP" not in dead and "1.3.2 MES" not in dead
    # the results were screened with other keywords than these: the audit says so
    assert any(f["code"] == "stale_results" for f in out["dynamic"]["findings"])

    monkeypatch.delenv("XDT_DATA_DIR")
    assert main(["audit", "--results", str(results), "--no-vocabulary", "--keywords", str(data / "keywords"),
                 "--all"]) == 0
    text = capsys.readouterr().out
    assert "量子退火排产引擎" in text and "未命中的关键词" in text


# ---------------------------------------------------------------- agreement


def test_agreement_figures_recomputed_from_the_files(batch, report):
    results, _ = batch
    golds = load_gold_dir(GOLD, CATALOGUE)
    agr = report.agreement
    tp = fp = fn = skipped = 0
    confusion: Counter = Counter()
    for r in _json_results(results):
        gold = golds.get(r["application"])
        if gold is None:
            assert r["application"] in agr.results_without_labels
            continue
        ocr = any(ev["ocr"] for i in r["items"] for ev in i["evidence"])
        for item in r["items"]:
            g = gold.items[item["id"]]
            if g.scan_only and not ocr:
                skipped += 1
                continue
            confusion[(g.label, item["status"])] += 1
            has, yes = item["status"] in ("met", "partial"), g.label == "implemented"
            tp += has and yes
            fp += has and not yes
            fn += yes and not has
    assert (agr.tp, agr.fp, agr.fn, agr.skipped_scan_only) == (tp, fp, fn, skipped)
    assert agr.pairs == sum(confusion.values())
    assert {(g, s): n for g, row in agr.confusion.items() for s, n in row.items() if n} == dict(confusion)
    assert agr.precision == round(tp / (tp + fp), 4) and agr.recall == round(tp / (tp + fn), 4)
    assert sum(i.tp for i in agr.items) == tp
    assert EXTRA_APP in agr.results_without_labels


def test_every_false_positive_and_negative_is_listed_with_passages(batch, report):
    agr = report.agreement
    assert len(agr.false_positives) == agr.fp and len(agr.false_negatives) == agr.fn
    assert agr.fp + agr.fn > 0  # the hold-out samples are not tuned to the matcher
    for d in agr.false_positives:
        assert d.status in ("met", "partial") and d.label != "implemented"
        assert d.decided_by and d.tool_evidence and all(p.file and p.text for p in d.tool_evidence)
        assert all(p.polarity == "implemented" for p in d.tool_evidence)
    results, docs = batch
    rs = load_results(results)
    texts = {app: "".join(normalize_key(b.text) for doc in documents for b in doc.blocks)
             for app, documents in load_documents_for(rs.results, results, docs_dir=docs)[0].items()}
    located = total = 0
    for d in agr.false_negatives:
        assert d.label == "implemented" and d.status not in ("met", "partial") and d.decided_by
        assert d.label_evidence and d.label_source.startswith(str(GOLD))
        for p in d.label_evidence:
            total += 1
            if p.located:
                located += 1
                assert p.file and p.block is not None
            else:  # only a quote that is not in the text layer (a scanned page, OCR off) stays unlocated
                assert p.file is None and normalize_key(p.text) not in texts[d.application]
    assert located >= 0.9 * total


def test_reviewer_csv_labels_disagreeing_with_the_tool(batch, tmp_path):
    results, _ = batch
    rs = load_results(results).by_application()
    strong = rs["01_strong_manufacturer"]
    met_item = next(i for i in strong.items if i.status == "met")
    weak = rs["02_weak_few_systems"]
    missing_item = next(i for i in weak.items if i.status == "not_found")
    csv_path = tmp_path / "复核结果.csv"
    csv_path.write_text(
        "申报,评价项,标注,备注\n"
        f"01_strong_manufacturer,{met_item.id},无,复核认为材料不足\n"
        f"02_weak_few_systems,{missing_item.id},已实现,现场核查看到系统\n", encoding="gbk")
    labels = load_labels(csv_path, CATALOGUE)
    assert labels.labels["01_strong_manufacturer"][met_item.id].line == 2
    agr = agreement_audit(list(rs.values()), labels, catalogue=CATALOGUE)
    assert agr.pairs == 2 and agr.fp == 1 and agr.fn == 1
    fp = agr.false_positives[0]
    assert (fp.application, fp.item, fp.label_note) == ("01_strong_manufacturer", met_item.id, "复核认为材料不足")
    assert fp.label_source == f"{csv_path}:2" and fp.tool_evidence
    assert agr.false_negatives[0].item == missing_item.id


@pytest.mark.parametrize(("body", "line", "words"), [
    ("application,item,label\n01,1.3.1,implemented\n01,9.9.9,absent\n", 3, "9.9.9"),
    ("application,item,label\n01,1.3.1,maybe\n", 2, "maybe"),
    ("application,item,label\n01,1.3.1,absent\n01,1.3.1,planned\n", 3, "第 2 行"),
    ("app,item,label\n01,1.3.1,absent\n", 1, "application"),
])
def test_reviewer_csv_errors_name_file_and_line(tmp_path, body, line, words):
    path = tmp_path / "labels.csv"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(DataFileError) as err:
        load_label_csv(path, CATALOGUE)
    assert err.value.line == line and words in err.value.one_line() and str(path) in err.value.one_line()


# ---------------------------------------------------------------- vocabulary


def test_uncovered_domain_term_is_suggested_with_examples(report):
    keywords = KEYWORDS
    assert not any(e.key in normalize_key(NEW_TERM) for e in keywords.entries)  # really not a keyword
    voc = report.vocabulary
    assert voc is not None and voc.applications == len(report.dynamic.applications)
    hit = next(t for t in voc.terms if NEW_TERM in t.term)
    assert hit.count >= 5 and hit.applications == 1
    assert hit.examples and all(e.application == EXTRA_APP and NEW_TERM in e.text for e in hit.examples)
    assert hit.examples[0].file == "申报书.txt"
    # its part is not listed on its own (the phrase accounts for its occurrences); nothing suggested is
    # already a keyword or a stop word
    assert "温控箱" not in [t.term for t in voc.terms]
    keys = [e.key for e in keywords.entries]
    for term in voc.terms:
        assert not any(k in normalize_key(term.term) for k in keys), term.term
        assert term.term not in ("公司", "系统", "数据", "平台")


def test_vocabulary_needs_text_and_says_so(batch, tmp_path):
    results, _ = batch
    lone = tmp_path / "results"
    lone.mkdir()
    shutil.copy(results / "01_strong_manufacturer.json", lone)
    rep = run_audit(AuditOptions(results=str(lone)))
    assert rep.vocabulary is None
    assert any(n.code == "vocabulary_skipped" for n in rep.notes)


# ---------------------------------------------------------------- CLI, JSON, HTML


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: Counter = Counter()
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        self.tags[tag] += 1
        self.attrs += attrs


def test_cli_full_audit_json_is_deterministic(batch, report, capsys):
    results, docs = batch
    assert main(["audit", "--results", str(results), "--gold", str(GOLD), "--docs", str(docs), "--json", "--top", "200"]) == 0
    out = capsys.readouterr().out
    assert out.strip() == report.model_dump_json(indent=2)  # the same inputs give the same report, byte for byte
    data = json.loads(out)
    assert {"static", "dynamic", "agreement", "vocabulary", "summary"} <= set(data)
    assert data["agreement"]["fp"] == len(data["agreement"]["false_positives"])


def test_terminal_report_lists_every_disagreement(report):
    console = Console(file=io.StringIO(), width=200, highlight=False, soft_wrap=True)
    print_audit(report, console=console)
    out = console.file.getvalue()
    for title in ("评价项覆盖", "命中统计", "规则命中", "与标注比对", "状态混淆矩阵", "误报", "漏报", "未被关键词覆盖的高频词语"):
        assert title in out
    for d in report.agreement.false_positives + report.agreement.false_negatives:
        assert f"{d.application} {d.item}" in out and (d.decided_by or "无") in out


def test_html_report_is_self_contained_and_escaped(batch, tmp_path):
    results, _ = batch
    hostile = tmp_path / "results"
    hostile.mkdir()
    data = json.loads((results / "01_strong_manufacturer.json").read_text(encoding="utf-8"))
    evil = copy.deepcopy(data)
    evil["application"] = "<script>alert('app')</script>"
    item = next(i for i in evil["items"] if i["status"] == "met")
    item["evidence"][0]["text"] = "<img src=x onerror=alert(1)>公司已上线ERP"
    (hostile / "evil.json").write_text(json.dumps(evil, ensure_ascii=False), encoding="utf-8")
    labels = tmp_path / "labels.csv"
    labels.write_text(f"application,item,label\n\"{evil['application']}\",{item['id']},absent\n", encoding="utf-8")
    out = tmp_path / "audit.html"
    assert main(["audit", "--results", str(hostile), "--gold", str(labels), "--no-vocabulary",
                 "--html", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(&#39;app&#39;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    parser = _Tags()
    parser.feed(html)
    assert parser.tags["script"] == 0 and parser.tags["link"] == 0
    assert not [v for k, v in parser.attrs if k in ("src", "href")]  # nothing loaded from anywhere
    assert "误报" in html and "与标注比对" in html


def test_html_full_report_has_every_section(report):
    html = render_audit_html(report)
    for title in ("问题清单", "评价项覆盖", "可归多项的关键词", "语境提示词", "命中统计", "与标注比对", "未被关键词覆盖的高频词语"):
        assert f"<h2>{title}</h2>" in html
    assert NEW_TERM in html
    assert html.count('class="dis fp"') == len(report.agreement.false_positives)
    assert html.count('class="dis fn"') == len(report.agreement.false_negatives)


# ---------------------------------------------------------------- where the text comes from


def test_documents_from_the_batch_cache_and_the_manifest(batch, tmp_path):
    from xdt_rules.batch.resume import AppRecord, Manifest, save_manifest
    from xdt_rules.cache import DocumentCache
    from xdt_rules.ingest import extract

    results, docs = batch
    out = tmp_path / "out"
    out.mkdir()
    for name in ("01_strong_manufacturer", "02_weak_few_systems"):
        shutil.copy(results / f"{name}.json", out)
    rs = load_results(out).results
    strong = next(r for r in rs if r.application == "01_strong_manufacturer")
    # 01: every file in the parsed-document cache (what xdt batch leaves in OUT/.cache)
    cache = DocumentCache(out / ".cache")
    for record in strong.files:
        cache.put(extract(docs / strong.application / record.path, ExtractOptions(ocr="off")), "somekey")
    # 02: found through the manifest's source folder
    save_manifest(out, Manifest(order=["02_weak_few_systems"], applications={"02_weak_few_systems": AppRecord(
        name="02_weak_few_systems", source=str(docs / "02_weak_few_systems"), status="done", rules_version="x",
        settings_key="y")}))
    documents, sources = load_documents_for(rs, out)
    by_app = {s.application: s for s in sources}
    assert by_app["01_strong_manufacturer"].from_cache == len(strong.files) and not by_app["01_strong_manufacturer"].missing
    assert by_app["02_weak_few_systems"].parsed == 1 and not by_app["02_weak_few_systems"].missing
    assert {d.name for d in documents["01_strong_manufacturer"]} == {f.path for f in strong.files}


def test_a_changed_file_is_not_used(batch, tmp_path):
    results, docs = batch
    moved = tmp_path / "docs" / "02_weak_few_systems"
    shutil.copytree(docs / "02_weak_few_systems", moved)
    (moved / "申报书.docx").write_bytes(b"not the screened bytes")
    rs = [r for r in load_results(results).results if r.application == "02_weak_few_systems"]
    documents, sources = load_documents_for(rs, results, docs_dir=tmp_path / "docs")
    assert documents["02_weak_few_systems"] == [] and sources[0].missing == ["申报书.docx"]


@pytest.mark.slow
def test_end_to_end_after_xdt_batch(tmp_path, capsys):
    """xdt batch (worker processes, document cache) → xdt audit reads its OUT without --docs."""
    batch_dir = tmp_path / "batch"
    for name in ("01_strong_manufacturer", "10_tricky_language_coffee"):
        shutil.copytree(SAMPLES / name, batch_dir / name)
    out = tmp_path / "out"
    assert main(["batch", str(batch_dir), "--out", str(out), "--jobs", "1", "--ocr", "off", "--no-crops", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["audit", "--results", str(out), "--gold", str(GOLD), "--json", "--min-count", "2"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["dynamic"]["applications"] == ["01_strong_manufacturer", "10_tricky_language_coffee"]
    assert all(s["from_cache"] == s["files"] and not s["missing"] for s in data["documents"])
    assert data["vocabulary"]["applications"] == 2 and data["agreement"]["pairs"] > 0
