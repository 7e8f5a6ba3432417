"""Re-scoring a batch from its caches, with the REAL pipeline: a rules edit neither parses nor
matches nor renders anything (every file's evidence and every crop come from the caches), a
keyword edit re-runs only the matching; either way the outputs are byte-identical to a fresh
run without caches."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from xdt_rules.batch.resume import state_dir
from xdt_rules.batch.runner import BatchOptions, rebuild_summary, run_batch

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "pdf"
APPS = {"强企业": SAMPLES / "01_strong_manufacturer", "表格企业": SAMPLES / "06_table_only_chemical"}
LOOSE = SAMPLES / "03_plan_heavy_pharma" / "申报书.pdf"

pytestmark = pytest.mark.skipif(not all(p.exists() for p in [*APPS.values(), LOOSE]), reason="samples not built")


def _options(**extra) -> BatchOptions:
    return BatchOptions(**{"jobs": 1, "quiet": True, "file_timeout": 300, "extract_options": {"ocr": "off"}, **extra})


def _outputs(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.suffix in (".json", ".html")}


def _edited_data(tmp: Path, *, rules: str = "", keywords: str = "") -> Path:
    """A copy of rules/ and keywords/ with comments appended: new versions, the same meaning."""
    from xdt_rules.datapaths import data_root

    data = tmp / "data"
    if not data.exists():
        shutil.copytree(data_root() / "rules", data / "rules")
        shutil.copytree(data_root() / "keywords", data / "keywords")
    if rules:
        with (data / "rules" / "kunming-xdt" / "rules.yaml").open("a", encoding="utf-8") as fh:
            fh.write(f"\n# {rules}\n")
    if keywords:
        first = sorted((data / "keywords").glob("[0-9]*.yaml"))[0]
        with first.open("a", encoding="utf-8") as fh:
            fh.write(f"\n# {keywords}\n")
    return data


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("rescore")
    batch = root / "batch"
    for name, folder in APPS.items():
        shutil.copytree(folder, batch / name)
    shutil.copy(LOOSE, batch / "规划企业.pdf")
    out = root / "out"
    report = run_batch(batch, out, _options())
    assert report.done == 3 and report.failed == 0 and report.counts.crops_rendered > 0
    assert report.counts.evidence_hits == 0  # nothing cached yet: workers parse
    return root, batch, out


def _fresh(batch: Path, out: Path) -> dict[str, bytes]:
    """The same batch screened from scratch, without any cache."""
    report = run_batch(batch, out, _options(use_cache=False))
    assert report.done == 3
    return _outputs(out)


def _files(batch: Path) -> int:
    return sum(1 for p in batch.rglob("*") if p.is_file())


def test_rules_edit_rescores_from_the_caches_without_parsing_matching_or_rendering(first_run, tmp_path, monkeypatch):
    root, batch, out = first_run
    monkeypatch.setenv("XDT_DATA_DIR", str(_edited_data(root, rules="规则修改 1")))
    report = run_batch(batch, out, _options(resume=True))
    assert report.done == 3 and report.skipped == 0
    assert report.counts.evidence_hits == _files(batch)  # every file's evidence from the cache
    assert report.counts.cache_hits == report.counts.cache_misses == 0  # no parsed document even read
    assert report.counts.crops_rendered == 0
    assert report.counts.stage_seconds.get("extract", 0) == 0 and report.counts.stage_seconds.get("evidence", 0) == 0
    # byte-identical to screening from scratch with the edited rules
    assert _outputs(out) == _fresh(batch, tmp_path / "fresh")
    results = [json.loads((out / f"{name}.json").read_text(encoding="utf-8")) for name in [*APPS, "规划企业"]]
    assert len({r["rules_version"] for r in results}) == 1


def test_a_damaged_evidence_entry_is_dropped_and_rebuilt_from_the_parsed_document(first_run, tmp_path, monkeypatch):
    root, batch, out = first_run
    entries = sorted((out / ".cache" / "evidence").rglob("*.ev.gz"))
    entries[0].write_bytes(b"\x1f\x8b not really gzip")
    monkeypatch.setenv("XDT_DATA_DIR", str(_edited_data(root, rules="规则修改 damaged")))
    report = run_batch(batch, out, _options(resume=True))
    assert report.done == 3 and report.counts.evidence_hits == _files(batch) - 1
    assert report.counts.cache_hits == 1 and report.counts.cache_misses == 0  # parsed, not parsed again
    assert gzip.decompress(entries[0].read_bytes())  # rebuilt
    assert _outputs(out) == _fresh(batch, tmp_path / "fresh")


def test_missing_crops_and_passages_are_made_again_from_the_parsed_documents(first_run, tmp_path, monkeypatch):
    root, batch, out = first_run
    shutil.rmtree(out / ".cache" / "crops")
    passages = state_dir(out) / "passages" / "强企业.json.gz"
    before = json.loads(gzip.decompress(passages.read_bytes()))
    passages.unlink()
    monkeypatch.setenv("XDT_DATA_DIR", str(_edited_data(root, rules="规则修改 2")))
    report = run_batch(batch, out, _options(resume=True))
    assert report.done == 3 and report.counts.crops_rendered > 0
    # the passages were rebuilt from whole documents (the parsed-document cache), not from views
    assert json.loads(gzip.decompress(passages.read_bytes())) == before
    assert report.counts.cache_misses == 0
    assert _outputs(out) == _fresh(batch, tmp_path / "fresh")


def test_keywords_edit_matches_again_without_parsing(first_run, tmp_path, monkeypatch):
    root, batch, out = first_run
    monkeypatch.setenv("XDT_DATA_DIR", str(_edited_data(root, keywords="关键词修改")))
    report = run_batch(batch, out, _options(resume=True))
    assert report.done == 3 and report.counts.evidence_hits == 0
    assert report.counts.cache_misses == 0 and report.counts.cache_hits == _files(batch)  # parsed documents reused
    assert _outputs(out) == _fresh(batch, tmp_path / "fresh")


def test_duplicate_passages_are_reused_until_a_document_changes(first_run, monkeypatch):
    from xdt_rules.batch import duplicates

    _, batch, out = first_run
    saved = (state_dir(out) / "duplicates.json").read_bytes()

    def no_comparison(*args, **kwargs):
        raise AssertionError("the batch's documents did not change: nothing to compare again")

    monkeypatch.setattr(duplicates, "find_duplicates", no_comparison)
    rebuild_summary(out)
    assert (state_dir(out) / "duplicates.json").read_bytes() == saved
    key = state_dir(out) / "passages" / "表格企业.key"
    key.write_text("changed", encoding="ascii")
    with pytest.raises(AssertionError, match="nothing to compare"):
        rebuild_summary(out)


def test_evidence_key_follows_code_keywords_and_criteria_not_rules(tmp_path, monkeypatch):
    from xdt_rules import cache
    from xdt_rules.framework import load_framework

    package = tmp_path / "pkg"
    shutil.copytree(Path(cache.__file__).parent / "evidence", package / "evidence",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(Path(cache.__file__).parent / "models.py", package / "models.py")
    monkeypatch.setattr(cache, "_PACKAGE_DIR", package)
    cache.code_version.cache_clear()
    data = _edited_data(tmp_path)
    monkeypatch.setenv("XDT_DATA_DIR", str(data))
    base = cache.evidence_key(load_framework())
    _edited_data(tmp_path, rules="只改规则")
    assert cache.evidence_key(load_framework()) == base
    catalogue = data / "rules" / "kunming-xdt" / "framework.yaml"
    catalogue.write_text(catalogue.read_text(encoding="utf-8").replace("实现产品数字化设计", "实现产品的数字化设计", 1),
                         encoding="utf-8")
    other_criteria = cache.evidence_key(load_framework())
    assert other_criteria != base
    _edited_data(tmp_path, keywords="改关键词")
    changed = cache.evidence_key(load_framework())
    assert changed not in (base, other_criteria)
    with (package / "evidence" / "finder.py").open("a", encoding="utf-8") as fh:
        fh.write("\n# a code change\n")
    cache.code_version.cache_clear()
    try:
        assert cache.evidence_key(load_framework()) not in (base, changed)
    finally:
        monkeypatch.undo()
        cache.code_version.cache_clear()


def test_the_cli_says_how_many_files_had_their_evidence_cached(first_run, monkeypatch, capsys):
    from xdt_rules.cli import main

    root, batch, out = first_run
    monkeypatch.setenv("XDT_DATA_DIR", str(_edited_data(root, rules="规则修改 cli")))
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["batch", str(batch), "--out", str(out), "--jobs", "1", "--resume", "--ocr", "off"]) == 0
    captured = capsys.readouterr()
    shown = captured.out + captured.err
    row = next(line for line in shown.splitlines() if "files whose evidence was cached" in line)
    assert row.split("│")[-2].strip() == str(_files(batch))
