"""Re-scoring a batch from its caches, with the REAL pipeline: a rules edit neither parses nor
matches nor renders anything and runs in the batch's own process (from each application's
cached scoring inputs, else from its documents' cached evidence), a keyword edit re-runs only
the matching; either way the outputs are byte-identical to a fresh run without caches."""

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
    assert report.done == 3 and report.failed == 0 and report.crops_rendered > 0
    assert report.rescored_in_main == 0  # nothing cached yet: workers parse
    return root, batch, out


def _fresh(batch: Path, out: Path) -> dict[str, bytes]:
    """The same batch screened from scratch, without any cache."""
    report = run_batch(batch, out, _options(use_cache=False))
    assert report.done == 3
    return _outputs(out)


def _files(batch: Path) -> int:
    return sum(1 for p in batch.rglob("*") if p.is_file())


def test_rules_edit_rescores_in_the_main_process_from_the_caches(first_run, tmp_path, monkeypatch):
    root, batch, out = first_run
    monkeypatch.setenv("XDT_DATA_DIR", str(_edited_data(root, rules="规则修改 1")))
    report = run_batch(batch, out, _options(resume=True))
    assert report.done == 3 and report.skipped == 0
    assert report.rescored_in_main == 3  # no worker started
    assert report.inputs_hits == 3 and report.evidence_hits == 0  # only the rules ran
    assert report.cache_hits == report.cache_misses == 0  # no parsed document even read
    assert report.crops_rendered == 0
    # byte-identical to screening from scratch with the edited rules
    assert _outputs(out) == _fresh(batch, tmp_path / "fresh")
    results = [json.loads((out / f"{name}.json").read_text(encoding="utf-8")) for name in [*APPS, "规划企业"]]
    assert len({r["rules_version"] for r in results}) == 1


def test_forks_of_the_main_process_share_a_cached_rescore(first_run, tmp_path, monkeypatch):
    from xdt_rules.batch import runner

    root, batch, out = first_run
    monkeypatch.setattr(runner, "HELPERS_MIN_PENDING", 0)  # three applications are enough here
    monkeypatch.setenv("XDT_DATA_DIR", str(_edited_data(root, rules="规则修改 fork")))
    report = run_batch(batch, out, _options(resume=True, jobs=2))
    if not runner.fork_is_safe():
        pytest.skip("no fork on this platform or with other threads alive")
    assert report.done == 3 and report.rescored_in_main + report.rescored_in_forks == 3
    assert report.rescored_in_forks >= 1 and report.rescored_in_main >= 1  # the first one warms the forks up
    assert report.cache_hits == report.cache_misses == 0 and report.crops_rendered == 0
    assert _outputs(out) == _fresh(batch, tmp_path / "fresh")


def test_no_fork_while_another_thread_runs(first_run, monkeypatch):
    import threading

    from xdt_rules.batch import runner

    root, batch, out = first_run
    monkeypatch.setattr(runner, "HELPERS_MIN_PENDING", 0)
    monkeypatch.setenv("XDT_DATA_DIR", str(_edited_data(root, rules="规则修改 thread")))
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    other.start()
    try:
        report = run_batch(batch, out, _options(resume=True, jobs=2))
    finally:
        stop.set()
        other.join()
    assert report.done == 3 and report.rescored_in_forks == 0 and report.rescored_in_main == 3


def test_without_scoring_inputs_the_rescore_reads_the_cached_evidence(first_run, tmp_path, monkeypatch):
    root, batch, out = first_run
    shutil.rmtree(out / ".cache" / "scoring")
    monkeypatch.setenv("XDT_DATA_DIR", str(_edited_data(root, rules="规则修改 evidence")))
    report = run_batch(batch, out, _options(resume=True))
    assert report.done == 3 and report.rescored_in_main == 3 and report.inputs_hits == 0
    assert report.evidence_hits == _files(batch)  # every document's mentions from the cache
    assert report.cache_hits == report.cache_misses == 0 and report.crops_rendered == 0
    assert len(list((out / ".cache" / "scoring").rglob("*.json.gz"))) == 3  # written again for the next edit
    assert _outputs(out) == _fresh(batch, tmp_path / "fresh")


def test_scoring_inputs_counted_with_other_fact_options_are_not_used(first_run, tmp_path, monkeypatch):
    """The facts depend on the rule file's ``facts:`` options: an edit there counts them again."""
    root, batch, out = first_run
    data = _edited_data(root)
    rules = data / "rules" / "kunming-xdt" / "rules.yaml"
    original = rules.read_text(encoding="utf-8")
    assert "min_confidence:" in original
    monkeypatch.setenv("XDT_DATA_DIR", str(data))
    try:
        rules.write_text(original.replace("min_confidence:", "min_confidence: 0.01 #", 1), encoding="utf-8")
        report = run_batch(batch, out, _options(resume=True))
        assert report.done == 3 and report.inputs_hits == 0 and report.evidence_hits == _files(batch)
        assert _outputs(out) == _fresh(batch, tmp_path / "fresh")
    finally:
        rules.write_text(original, encoding="utf-8")


def test_a_damaged_scoring_inputs_entry_is_dropped_and_rebuilt(first_run, tmp_path, monkeypatch):
    root, batch, out = first_run
    monkeypatch.setenv("XDT_DATA_DIR", str(_edited_data(root, rules="规则修改 before damage")))
    run_batch(batch, out, _options(resume=True))  # every entry up to date with this rule file
    entries = sorted((out / ".cache" / "scoring").rglob("*.json.gz"), key=lambda p: p.stat().st_mtime_ns)[-3:]
    entries[0].write_bytes(b"\x1f\x8b not really gzip")
    monkeypatch.setenv("XDT_DATA_DIR", str(_edited_data(root, rules="规则修改 damaged")))
    report = run_batch(batch, out, _options(resume=True))
    assert report.done == 3 and report.rescored_in_main == 3 and report.inputs_hits == 2
    assert report.evidence_hits > 0 and report.cache_misses == 0
    assert _outputs(out) == _fresh(batch, tmp_path / "fresh")
    assert gzip.decompress(entries[0].read_bytes())  # rebuilt


def test_report_sections_are_rebuilt_from_cached_crops_in_the_main_process(first_run, tmp_path, monkeypatch):
    root, batch, out = first_run
    for cached in ("report", "scoring"):  # the evidence sections: passages are laid out again
        shutil.rmtree(out / ".cache" / cached)
    monkeypatch.setenv("XDT_DATA_DIR", str(_edited_data(root, rules="规则修改 1b")))
    report = run_batch(batch, out, _options(resume=True))
    assert report.done == 3 and report.rescored_in_main == 3 and report.crops_rendered == 0
    assert any((out / ".cache" / "report").rglob("*.html.gz"))
    assert _outputs(out) == _fresh(batch, tmp_path / "fresh")


def test_missing_crop_or_passages_send_the_application_to_a_worker(first_run, tmp_path, monkeypatch):
    root, batch, out = first_run
    for cached in ("crops", "report", "scoring"):  # nothing left to show the evidence without rendering pages
        shutil.rmtree(out / ".cache" / cached)
    passages = state_dir(out) / "passages" / "强企业.json.gz"
    before = json.loads(gzip.decompress(passages.read_bytes()))
    passages.unlink()
    monkeypatch.setenv("XDT_DATA_DIR", str(_edited_data(root, rules="规则修改 2")))
    report = run_batch(batch, out, _options(resume=True))
    assert report.done == 3 and report.rescored_in_main == 0 and report.crops_rendered > 0
    # the passages were rebuilt from whole documents (the parsed-document cache), not from views
    assert json.loads(gzip.decompress(passages.read_bytes())) == before
    assert report.cache_misses == 0
    assert _outputs(out) == _fresh(batch, tmp_path / "fresh")


def test_keywords_edit_matches_again_without_parsing(first_run, tmp_path, monkeypatch):
    root, batch, out = first_run
    monkeypatch.setenv("XDT_DATA_DIR", str(_edited_data(root, keywords="关键词修改")))
    report = run_batch(batch, out, _options(resume=True))
    assert report.done == 3 and report.evidence_hits == 0
    assert report.cache_misses == 0 and report.cache_hits == _files(batch)  # parsed documents reused
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

    package = tmp_path / "pkg"
    shutil.copytree(Path(cache.__file__).parent / "evidence", package / "evidence",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(Path(cache.__file__).parent / "models.py", package / "models.py")
    monkeypatch.setattr(cache, "_PACKAGE_DIR", package)
    data = _edited_data(tmp_path)
    monkeypatch.setenv("XDT_DATA_DIR", str(data))
    base = cache.evidence_key("criteria")
    _edited_data(tmp_path, rules="只改规则")
    assert cache.evidence_key("criteria") == base
    assert cache.evidence_key("other criteria") != base
    _edited_data(tmp_path, keywords="改关键词")
    changed = cache.evidence_key("criteria")
    assert changed != base
    with (package / "evidence" / "finder.py").open("a", encoding="utf-8") as fh:
        fh.write("\n# a code change\n")
    assert cache.evidence_key("criteria") not in (base, changed)


def test_scoring_inputs_key_follows_files_names_settings_and_evidence_keys(tmp_path):
    from xdt_rules.report.html import SectionCache
    from xdt_rules.rescore import ScoringInputsCache

    def cache(**change) -> ScoringInputsCache:
        args = {"document_key": "d1", "evidence_key": "e1", "salt": "s1", **change}
        return ScoringInputsCache(tmp_path, sections=SectionCache(tmp_path / "report"), **args)

    files = [("/b/申报书.pdf", "申报书.pdf", "a" * 64), ("/b/合同.pdf", "合同.pdf", "b" * 64)]
    base = cache().key(files)
    assert cache().key(list(files)) == base
    variants = [cache(document_key="d2").key(files), cache(evidence_key="e2").key(files), cache(salt="s2").key(files),
                cache().key(files[::-1]), cache().key(files[:1]),
                cache().key([(files[0][0], "佐证/申报书.pdf", files[0][2]), files[1]]),
                cache().key([(files[0][0], files[0][1], "c" * 64), files[1]])]
    assert base not in variants and len(set(variants)) == len(variants)


def test_the_cli_says_how_many_applications_only_the_rules_ran_for(first_run, monkeypatch, capsys):
    from xdt_rules.cli import main

    root, batch, out = first_run
    monkeypatch.setenv("XDT_DATA_DIR", str(_edited_data(root, rules="规则修改 cli")))
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["batch", str(batch), "--out", str(out), "--jobs", "1", "--resume", "--ocr", "off"]) == 0
    captured = capsys.readouterr()
    shown = captured.out + captured.err
    row = next(line for line in shown.splitlines() if "re-scored by the rules alone" in line)
    assert row.split("│")[-2].strip() == "3"
