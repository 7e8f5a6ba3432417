"""Screening through the caching reader: each file's evidence view and mentions cached, the same
result and report as screening from scratch, and no parsing or matching on a hit."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from support import FRAMEWORK
from xdt_rules.cache import CachedReader, document_key, evidence_key
from xdt_rules.evidence import evidence_view, file_evidence
from xdt_rules.ingest import ExtractOptions, extract
from xdt_rules.report.html import render_report
from xdt_rules.screen import collect_application, plain_reader, result_json, screen_application

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
TABLES = SAMPLES / "pdf" / "06_table_only_chemical"
WORD = SAMPLES / "docx" / "01_strong_manufacturer"
OPTIONS = ExtractOptions(ocr="off")

pytestmark = pytest.mark.skipif(not (TABLES.is_dir() and WORD.is_dir()), reason="samples not built")


def _reader(tmp_path: Path, *, parse=lambda path: extract(path, OPTIONS)) -> CachedReader:
    return CachedReader(tmp_path / "cache", document_key=document_key(OPTIONS), evidence_key=evidence_key(FRAMEWORK),
                        ocr=False, extract=parse, find=lambda document: file_evidence(document, FRAMEWORK))


def _refuse(path):  # an extractor that must not be called
    raise AssertionError(f"{path} was parsed although its evidence is cached")


@pytest.mark.parametrize("folder", [TABLES, WORD], ids=["pdf-tables", "docx"])
def test_cached_screening_equals_screening_from_scratch(folder, tmp_path):
    app = collect_application(folder)
    fresh = screen_application(app, FRAMEWORK, read=plain_reader(FRAMEWORK, OPTIONS))
    first_reader = _reader(tmp_path)
    first = screen_application(app, FRAMEWORK, read=first_reader)
    assert first_reader.evidence.stats.writes == len(app.files)
    again_reader = _reader(tmp_path, parse=_refuse)
    again = screen_application(app, FRAMEWORK, read=again_reader)
    assert again_reader.evidence.stats.hits == len(app.files) and again_reader.times.evidence == 0
    assert result_json(fresh.result) == result_json(first.result) == result_json(again.result)
    assert render_report(fresh.result, FRAMEWORK, fresh.documents) == render_report(again.result, FRAMEWORK,
                                                                                     again.documents)


def test_evidence_view_keeps_mention_blocks_and_their_table_rows():
    app = collect_application(TABLES)
    outcome = screen_application(app, FRAMEWORK, read=plain_reader(FRAMEWORK, OPTIONS))
    full = {Path(f).name: extract(f, OPTIONS) for f in app.files}
    evidence = [ev for item in outcome.result.items for ev in item.evidence]
    assert any(full[ev.file].blocks[ev.block].kind == "table_cell" for ev in evidence)
    for view in outcome.documents:
        doc = full[view.name]
        kept = {b.index for b in view.blocks}
        used = {ev.block for ev in evidence if ev.file == view.name}
        assert used <= kept and len(kept) < len(doc.blocks)
        rows = {(b.table, b.row) for b in doc.blocks if b.index in used and b.kind == "table_cell"}
        assert {b.index for b in doc.blocks if (b.table, b.row) in rows} <= kept  # whole rows
        assert all(b == doc.blocks[b.index] for b in view.blocks)  # blocks unchanged
        assert (view.page_info, view.pages, view.warnings) == (doc.page_info, doc.pages, doc.warnings)


def test_another_path_gets_its_own_names_and_damaged_entries_are_rebuilt(tmp_path):
    app = collect_application(TABLES)
    screen_application(app, FRAMEWORK, read=_reader(tmp_path))
    copy = tmp_path / "副本"
    copy.mkdir()
    for file in app.files:
        (copy / Path(file).name).write_bytes(Path(file).read_bytes())
    moved = screen_application(collect_application(copy), FRAMEWORK, read=_reader(tmp_path, parse=_refuse))
    assert {d.path for d in moved.documents} == {str(p) for p in copy.iterdir()}
    assert all(ev.file in {p.name for p in copy.iterdir()} for i in moved.result.items for ev in i.evidence)
    entry = next((tmp_path / "cache" / "evidence").rglob("*.ev.gz"))
    entry.write_bytes(gzip.compress(b'{"format": 1, "broken'))
    reader = _reader(tmp_path)
    again = screen_application(app, FRAMEWORK, read=reader)
    assert reader.evidence.stats.corrupt == 1
    assert again.result == screen_application(app, FRAMEWORK, read=plain_reader(FRAMEWORK, OPTIONS)).result


def test_evidence_view_of_a_document_without_mentions_has_no_blocks():
    document = extract(collect_application(TABLES).files[0], OPTIONS)
    assert evidence_view(document, []).blocks == []
