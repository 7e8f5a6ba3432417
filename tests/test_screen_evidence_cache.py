"""Screening through the evidence cache: mentions and evidence views per document, the same
result and report as screening from scratch, and no parsing or matching on a hit."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from xdt_rules.cache import CacheMiss, EvidenceCache, evidence_key
from xdt_rules.catalogue import load_catalogue
from xdt_rules.ingest import ExtractOptions
from xdt_rules.report.html import render_report
from xdt_rules.screen import (
    ScreenSettings,
    collect_application,
    evidence_view,
    result_json,
    screen_application,
)

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
TABLES = SAMPLES / "pdf" / "06_table_only_chemical"
WORD = SAMPLES / "docx" / "01_strong_manufacturer"
SETTINGS = ScreenSettings(extract=ExtractOptions(ocr="off"))

pytestmark = pytest.mark.skipif(not (TABLES.is_dir() and WORD.is_dir()), reason="samples not built")


def _cache(tmp_path: Path) -> EvidenceCache:
    return EvidenceCache(tmp_path / "evidence", "doc-key", evidence_key(load_catalogue().spec.model_dump_json()))


def _refuse(path, options):  # a LoadDocument that must not be called
    raise AssertionError(f"{path} was read although its evidence is cached")


@pytest.mark.parametrize("folder", [TABLES, WORD], ids=["pdf-tables", "docx"])
def test_cached_screening_equals_screening_from_scratch(folder, tmp_path):
    app = collect_application(folder)
    fresh = screen_application(app, SETTINGS)
    cache = _cache(tmp_path)
    first = screen_application(app, SETTINGS, evidence_cache=cache)
    assert first.complete and cache.stats.writes == len(app.files)
    again = screen_application(app, SETTINGS, evidence_cache=cache, load_document=_refuse)
    assert not again.complete and cache.stats.hits == len(app.files)
    assert result_json(fresh.result) == result_json(first.result) == result_json(again.result)
    assert render_report(fresh, settings=SETTINGS) == render_report(again, settings=SETTINGS)
    assert again.seconds["evidence"] < 0.05  # nothing matched
    # the whole documents are still what a fresh screening returns
    assert [d.blocks for d in first.documents] == [d.blocks for d in fresh.documents]


def test_evidence_view_keeps_mention_blocks_and_their_table_rows():
    app = collect_application(TABLES)
    outcome = screen_application(app, SETTINGS)
    full = {d.name: d for d in outcome.documents}
    evidence = [ev for item in outcome.result.items for ev in item.evidence]
    assert any(full[ev.file].blocks[ev.block].kind == "table_cell" for ev in evidence)
    for view in outcome.views:
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
    cache = _cache(tmp_path)
    screen_application(app, SETTINGS, evidence_cache=cache)
    copy = tmp_path / "副本"
    copy.mkdir()
    for file in app.files:
        (copy / Path(file).name).write_bytes(Path(file).read_bytes())
    moved = screen_application(collect_application(copy), SETTINGS, evidence_cache=cache, load_document=_refuse)
    assert {d.path for d in moved.views} == {str(p) for p in copy.iterdir()}
    assert all(ev.file in {p.name for p in copy.iterdir()} for i in moved.result.items for ev in i.evidence)
    entry = next((tmp_path / "evidence").rglob("*.ev.gz"))
    entry.write_bytes(gzip.compress(b'{"format": 1, "broken'))
    again = screen_application(app, SETTINGS, evidence_cache=cache)
    assert cache.stats.corrupt == 1 and again.result == screen_application(app, SETTINGS).result


def test_a_cache_miss_in_cached_only_screening_is_not_a_file_error(tmp_path):
    def cached_only(path, options):
        raise CacheMiss(f"{path} would be read")

    with pytest.raises(CacheMiss):
        screen_application(collect_application(TABLES), SETTINGS, evidence_cache=_cache(tmp_path),
                           load_document=cached_only)


def test_evidence_view_of_a_document_without_mentions_has_no_blocks():
    outcome = screen_application(collect_application(TABLES), SETTINGS)
    doc = outcome.documents[0]
    view = evidence_view(doc, [])
    assert view.blocks == [] and view.sha256 == doc.sha256 and view.page_info == doc.page_info
