"""One application end to end through the public seam (collect → screen → write)."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import pytest

from xdt_rules.errors import IngestError, XdtError
from xdt_rules.ingest import ExtractOptions, extract
from xdt_rules.models import ApplicationResult, FileRecord
from support import CATALOGUE, FRAMEWORK, screen, write
from xdt_rules.evidence import file_evidence
from xdt_rules.framework import load_framework
from xdt_rules.screen import ApplicationInput, ScreenSettings, collect_application, output_stem

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "pdf" / "01_strong_manufacturer"
SETTINGS = ScreenSettings(crops=False, extract=ExtractOptions(ocr="off"))

needs_sample = pytest.mark.skipif(not SAMPLE.is_dir(), reason="samples not built")

TEXT = ("企业基本情况：公司主营精密机械零部件。\n\n"
        "公司于2021年3月上线用友U8 Cloud，覆盖采购、销售、库存和财务全流程。\n\n"
        "2022年6月建成鼎捷MES制造执行系统，实现计划排产、生产调度和质量追溯。\n\n"
        "下一步计划建设WMS仓库管理系统。目前尚未建立PLM系统。\n\n"
        "通过数字化改造，生产效率提升23%，运营成本降低12%。\n")


def _app_folder(tmp_path: Path, name: str = "测试企业") -> Path:
    folder = tmp_path / name
    (folder / "佐证材料").mkdir(parents=True)
    (folder / "申报书.txt").write_text(TEXT, encoding="utf-8")
    (folder / "佐证材料" / "合同.txt").write_text("MES系统采购合同：鼎捷MES于2022年6月验收。\n", encoding="utf-8")
    return folder


def test_collect_folder_skips_hidden_and_temp_files(tmp_path):
    folder = _app_folder(tmp_path)
    for junk in (".DS_Store", "~$申报书.docx", "草稿.tmp", "Thumbs.db", "备份.txt~"):
        (folder / junk).write_text("x", encoding="utf-8")
    (folder / "__MACOSX").mkdir()
    (folder / "__MACOSX" / "申报书.txt").write_text("x", encoding="utf-8")
    (folder / ".git").mkdir()
    (folder / ".git" / "config").write_text("x", encoding="utf-8")
    app = collect_application(folder)
    assert app.name == "测试企业" and app.root == str(folder)
    assert [Path(f).relative_to(folder).as_posix() for f in app.files] == ["佐证材料/合同.txt", "申报书.txt"]
    single = collect_application(folder / "申报书.txt")
    assert (single.name, single.files) == ("申报书", [str(folder / "申报书.txt")])
    with pytest.raises(XdtError):
        collect_application(tmp_path / "没有这个")


def test_screen_a_folder_all_items_relative_paths(tmp_path):
    folder = _app_folder(tmp_path)
    outcome = screen(folder)
    result = outcome.result
    assert [i.id for i in result.items] == CATALOGUE.item_ids
    assert result.total.max == 100.0 and result.framework == "kunming-xdt"
    assert result.rules_version == FRAMEWORK.fingerprint
    assert [f.path for f in result.files] == ["佐证材料/合同.txt", "申报书.txt"]
    assert all(f.sha256 and not f.error for f in result.files) and result.errors == []
    status = {i.id: i.status for i in result.items}
    assert status["1.3.1"] in ("met", "partial") and status["1.3.2"] in ("met", "partial")
    assert status["1.3.3"] == "planned" and status["1.1.3"] == "negated"
    assert sum(i.score for i in result.items) == pytest.approx(result.total.score, abs=1e-3)
    text = json.dumps(result.model_dump(mode="json"), ensure_ascii=False)
    assert str(tmp_path) not in text
    # every evidence span slices its block exactly
    docs = {d.name: d for d in outcome.documents}
    for item in result.items:
        for ev in item.evidence:
            block = {b.index: b for b in docs[ev.file].blocks}[ev.block]  # documents are evidence views
            assert block.text[ev.start:ev.end] == ev.matched


def test_unreadable_file_is_recorded_and_the_application_goes_on(tmp_path):
    folder = _app_folder(tmp_path)
    (folder / "损坏.pdf").write_bytes(b"%PDF-1.7\n" + b"\x00garbage" * 50)
    result = screen(folder).result
    bad = next(f for f in result.files if f.path == "损坏.pdf")
    assert bad.error and "/" in bad.error and bad.sha256
    assert any(e.startswith("损坏.pdf: ") for e in result.errors)
    assert result.total.score > 0


def test_nothing_readable_still_gives_a_full_result(tmp_path):
    folder = tmp_path / "空"
    folder.mkdir()
    (folder / "坏.pdf").write_bytes(b"%PDF-1.4 broken")
    result = screen(folder).result
    assert len(result.items) == 36 and result.total.score == 0
    assert any("没有可读取的文件" in e for e in result.errors)


def test_injected_loader_and_file_errors_from_the_batch(tmp_path):
    folder = _app_folder(tmp_path)
    calls = []

    def loader(path: str):
        calls.append(Path(path).name)
        if Path(path).name == "合同.txt":
            raise IngestError("解析超时", "parse timed out", file=str(path), code="timeout")
        return file_evidence(extract(path, ExtractOptions(ocr="off")), FRAMEWORK)

    app = collect_application(folder).model_copy(update={
        "file_errors": [FileRecord(path="附件.zip/坏.docx", error="压缩包成员无法解压 / bad zip member")]})
    result = screen(app, read=loader).result
    assert sorted(calls) == ["合同.txt", "申报书.txt"]
    assert {f.path: f.error for f in result.files if f.error} == {
        "佐证材料/合同.txt": "解析超时 / parse timed out", "附件.zip/坏.docx": "压缩包成员无法解压 / bad zip member"}
    assert len(result.errors) == 2


def test_same_inputs_give_byte_identical_outputs(tmp_path):
    # Two copies in different places: no absolute path, time or order may leak into the JSON.
    a = _app_folder(tmp_path / "a")
    b = _app_folder(tmp_path / "b")
    outs = []
    for folder, out in ((a, tmp_path / "out1"), (b, tmp_path / "out2"), (a, tmp_path / "out3")):
        settings = ScreenSettings(extract=ExtractOptions(ocr="off"))
        outcome = screen(folder)
        outs.append([p.read_bytes() for p in write(outcome, out)])
    assert outs[0][0] == outs[1][0] == outs[2][0]
    assert outs[0][1] == outs[2][1]  # HTML too (same files)
    data = json.loads(outs[0][0])
    assert all(len(str(i["score"]).split(".")[-1]) <= 4 for i in data["items"])


@needs_sample
def test_sample_pdf_with_crops_is_deterministic(tmp_path):
    settings = ScreenSettings(extract=ExtractOptions(ocr="off"))
    first = write(screen(SAMPLE), tmp_path / "1")
    second = write(screen(SAMPLE), tmp_path / "2")
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
    result = ApplicationResult.model_validate_json(first[0].read_text(encoding="utf-8"))
    assert {f.path for f in result.files} >= {"申报书.pdf"} and all(not f.error for f in result.files)
    assert "data:image/png;base64," in first[1].read_text(encoding="utf-8")


def test_write_outputs_atomic_names_and_overwrite(tmp_path):
    folder = _app_folder(tmp_path)
    outcome = screen(folder)
    outcome.result.application = "a/b:c"
    out = tmp_path / "out"
    paths = write(outcome, out, crops=False)
    assert [p.name for p in paths] == ["a_b_c.json", "a_b_c.html"]
    paths = write(outcome, out, crops=False)
    assert sorted(p.name for p in out.iterdir()) == ["a_b_c.html", "a_b_c.json"]  # no temp files left
    assert output_stem("..") == "application" and output_stem("正常名称") == "正常名称"


def test_outcome_and_settings_pickle(tmp_path):
    folder = _app_folder(tmp_path)
    app = collect_application(folder)
    outcome = screen(app)
    for obj in (SETTINGS, app, outcome, FRAMEWORK.ref):
        assert pickle.loads(pickle.dumps(obj)) == obj


def test_rules_version_hashes_rules_and_keywords_content(tmp_path, monkeypatch):
    for name in ("one", "two"):
        shutil.copytree(ROOT / "rules", tmp_path / name / "rules")
        shutil.copytree(ROOT / "keywords", tmp_path / name / "keywords")
    monkeypatch.setenv("XDT_DATA_DIR", str(tmp_path / "one"))
    v1 = load_framework().fingerprint
    monkeypatch.setenv("XDT_DATA_DIR", str(tmp_path / "two"))
    assert load_framework().fingerprint == v1  # the place does not matter
    rules = tmp_path / "two" / "rules" / "kunming-xdt" / "rules.yaml"
    rules.write_text(rules.read_text(encoding="utf-8") + "\n# 注释也算修改\n", encoding="utf-8")
    v2 = load_framework().fingerprint
    assert v2 != v1
    kw = sorted((tmp_path / "two" / "keywords").glob("*.yaml"))[0]
    kw.write_text(kw.read_text(encoding="utf-8") + "\n# x\n", encoding="utf-8")
    assert load_framework().fingerprint not in (v1, v2)
    monkeypatch.setenv("XDT_DATA_DIR", str(tmp_path / "one"))
    assert load_framework().fingerprint == v1


def test_rules_version_ignores_rule_test_cases_and_notes(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    shutil.copytree(ROOT / "keywords", tmp_path / "keywords")
    monkeypatch.setenv("XDT_DATA_DIR", str(tmp_path))
    before = load_framework().fingerprint
    tests_dir = tmp_path / "rules" / "kunming-xdt" / "tests"
    tests_dir.mkdir(exist_ok=True)
    (tests_dir / "新用例.yaml").write_text("cases: []\n", encoding="utf-8")
    (tmp_path / "rules" / "kunming-xdt" / "说明.md").write_text("规则说明\n", encoding="utf-8")
    assert load_framework().fingerprint == before
