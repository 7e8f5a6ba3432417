"""The parsed-document cache: keyed by content, versioned, corrupt entries rebuilt; a re-score
after a rules change parses nothing."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

from test_batch_support import FAKE, fake_extract, make_pdf, write_text_app

from xdt_rules.cache import DocumentCache, document_key
from xdt_rules.ingest import ExtractOptions
from xdt_rules.cli import main


def _doc(tmp_path: Path):
    return fake_extract(make_pdf(tmp_path / "a.pdf", ["公司上线ERP系统，实现业财一体化。"], pages=2))


def test_round_trip_gives_the_callers_path_and_name(tmp_path: Path):
    document = _doc(tmp_path)
    cache = DocumentCache(tmp_path / "cache")
    key = "k1"
    entry = cache.put(document, key)
    assert entry.name.startswith(document.sha256) and entry.suffixes[-2:] == [".json", ".gz"]
    again = cache.get(document.sha256, key, path="other/副本.pdf", name="副本.pdf")
    assert again is not None
    assert again.model_dump(exclude={"path", "name"}) == document.model_dump(exclude={"path", "name"})
    assert (again.path, again.name) == ("other/副本.pdf", "副本.pdf")
    assert cache.stats.hits == 1
    assert entry.stat().st_size < len(document.model_dump_json().encode()) // 2 + 200  # compact


def test_key_changes_with_the_relevant_options_only(monkeypatch):
    from xdt_rules import cache

    base = document_key(ExtractOptions(ocr="off", cache_dir="/a"))
    assert base == document_key(ExtractOptions(ocr="off", cache_dir="/b"))  # where OCR results are kept
    assert base != document_key(ExtractOptions(ocr="off", max_pages=10))
    assert base != document_key(ExtractOptions(ocr="auto"))
    with_password = document_key(ExtractOptions(ocr="off", password="foo"))
    assert with_password != base and "foo" not in with_password
    monkeypatch.setattr(cache, "code_version", lambda part: "other ingestion code")
    assert document_key(ExtractOptions(ocr="off")) != base


def test_old_version_misses_and_corrupt_entries_are_dropped(tmp_path: Path):
    document = _doc(tmp_path)
    cache = DocumentCache(tmp_path / "cache")
    entry = cache.put(document, "k1")
    assert cache.get(document.sha256, "k2") is None
    for garbage in (b"not gzip at all", gzip.compress(b'{"format": 1}\n{broken json'),
                    gzip.compress(json.dumps({"format": 1, "sha256": "0" * 64, "key": "k1"}).encode()
                                  + b"\n" + document.model_dump_json().encode()),
                    entry.read_bytes()[:40]):
        entry.write_bytes(garbage)
        assert cache.get(document.sha256, "k1") is None
        assert not entry.exists()  # dropped, so the next put rebuilds it
        cache.put(document, "k1")
    assert cache.stats.corrupt == 4
    assert cache.get(document.sha256, "k1") is not None


def _parses(log: Path) -> list[str]:
    return log.read_text(encoding="utf-8").split() if log.exists() else []


def test_rescoring_after_a_rules_change_parses_nothing_again(tmp_path: Path, monkeypatch):
    batch = tmp_path / "batch"
    make_pdf(batch / "甲" / "申报书.pdf", ["公司上线ERP系统。"], pages=3)
    write_text_app(batch / "甲", "合同：MES系统实施", "合同.txt")
    make_pdf(batch / "乙.pdf", ["建设PLM系统。"], pages=2)
    out = tmp_path / "out"
    parse_log = tmp_path / "parse.log"
    monkeypatch.setenv("XDT_TEST_PARSELOG", str(parse_log))
    args = ["batch", str(batch), "--out", str(out), "--jobs", "2", "--quiet", "--pipeline", FAKE]
    assert main(args) == 0
    assert len(_parses(parse_log)) == 3
    assert len(list((out / ".cache").rglob("*.json.gz"))) == 3

    monkeypatch.setenv("XDT_TEST_RULES_VERSION", "fake-rules-2")
    assert main(args) == 0
    assert len(_parses(parse_log)) == 3  # re-scored from the cache
    assert json.loads((out / "甲.json").read_text(encoding="utf-8"))["rules_version"] == "fake-rules-2"

    # a corrupt parsed document is parsed again once its evidence is not cached; --no-cache parses everything
    shutil.rmtree(out / ".cache" / "evidence")
    victim = next((out / ".cache").rglob("*.json.gz"))
    victim.write_bytes(b"garbage")
    assert main(args) == 0
    assert len(_parses(parse_log)) == 4
    assert main(args + ["--no-cache"]) == 0
    assert len(_parses(parse_log)) == 7

    # --cache-dir elsewhere
    other = tmp_path / "shared-cache"
    assert main(args + ["--cache-dir", str(other)]) == 0
    assert len(list(other.rglob("*.json.gz"))) == 3



def _text_and_scan_pdf(path: Path) -> Path:
    from PIL import Image
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path))
    c.drawString(50, 800, "This page has a text layer.")
    c.showPage()
    c.drawImage(ImageReader(Image.new("L", (200, 280), 235)), 50, 50, 400, 600)  # a blank scan
    c.showPage()
    c.save()
    return path


def test_a_document_the_missing_ocr_engine_left_unread_is_not_cached(tmp_path: Path, monkeypatch):
    """A scanned page parsed while the [ocr] extra was missing stays flagged; that Document must
    not be cached, or it would be served flagged again once the extra is installed."""
    from xdt_rules.cache import CachedReader
    from xdt_rules.ingest import ExtractOptions, extract, pages_needing_ocr
    from xdt_rules.ocr import engine as ocr_engine
    from xdt_rules.ocr.engine import OcrUnavailable

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    pdf = _text_and_scan_pdf(tmp_path / "mixed.pdf")
    entries = lambda: sorted(p.name for p in (tmp_path / "cache").rglob("*.json.gz"))  # noqa: E731

    def load(ocr: str):
        options = ExtractOptions(ocr=ocr)
        reader = CachedReader(tmp_path / "cache", document_key=document_key(options), evidence_key="e", ocr=ocr != "off",
                              extract=lambda path: extract(path, options), find=lambda document: None)
        return reader.document(str(pdf))

    def missing_extra():
        raise OcrUnavailable("No module named 'rapidocr_onnxruntime'", installed=False)

    with monkeypatch.context() as patch:
        patch.setattr(ocr_engine, "_import_engine_module", missing_extra)
        document = load("auto")
    assert pages_needing_ocr(document) == [2] and any("需要OCR" in w for w in document.warnings)
    assert entries() == []

    load("off")  # with OCR off a flagged page is the expected result: cached
    assert len(entries()) == 1

    if ocr_engine.unavailable_reason() is None:  # the extra is installed: read now, and cached
        document = load("auto")
        assert pages_needing_ocr(document) == [] and document.page_info[1].status == "empty"
        assert len(entries()) == 2
