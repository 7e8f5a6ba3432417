"""Batch entries and zip packages: what counts as an application, and hostile zips."""

from __future__ import annotations

import json
import stat
import zipfile
from pathlib import Path

from test_batch_support import FAKE, run_batch_cli, write_text_app, zip_with_raw_names

from xdt_rules.batch.inputs import (
    ZipLimits,
    decode_member_name,
    extract_zip,
    is_skipped_name,
    list_entries,
    prepare_entry,
)
from xdt_rules.cli import main


def test_entries_are_folders_files_and_zips_with_unique_names(tmp_path: Path):
    batch = tmp_path / "batch"
    write_text_app(batch / "a", "x")
    (batch / "a.zip").write_bytes(b"PK")
    (batch / "a.pdf").write_bytes(b"%PDF")
    (batch / "index.docx").write_bytes(b"x")  # would collide with OUT/index.html
    (batch / ".DS_Store").write_bytes(b"x")
    (batch / "~$草稿.docx").write_bytes(b"x")
    entries = list_entries(batch)
    assert [(e.name, e.kind) for e in entries] == [
        ("a", "folder"), ("a.pdf", "file"), ("a.zip", "zip"), ("index_申报", "file")]


def test_folder_files_skip_hidden_and_temp_files_and_are_hashed(tmp_path: Path):
    app = tmp_path / "app"
    write_text_app(app, "正文", "申报书.txt")
    write_text_app(app / "佐证", "合同", "合同.txt")
    for junk in (".DS_Store", "~$申报书.docx", "Thumbs.db", "x.tmp"):
        (app / junk).write_bytes(b"junk")
    (app / "__MACOSX").mkdir()
    (app / "__MACOSX" / "._申报书.txt").write_bytes(b"junk")
    entry = prepare_entry(list_entries(tmp_path)[0])
    assert [Path(f).relative_to(app).as_posix() for f in entry.files] == ["佐证/合同.txt", "申报书.txt"]
    assert set(entry.inputs) == {"佐证/合同.txt", "申报书.txt"}
    assert all(len(sha) == 64 for sha in entry.inputs.values())
    assert is_skipped_name("~$x.docx") and is_skipped_name("__MACOSX") and not is_skipped_name("申报书.pdf")


def test_zip_refuses_traversal_absolute_and_symlink_members(tmp_path: Path):
    package = tmp_path / "p.zip"
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("申报书.txt", "正文ERP")
        archive.writestr("../../evil.txt", "escape")
        archive.writestr("/etc/evil.txt", "absolute")
        archive.writestr("sub\\..\\..\\win.txt", "backslash traversal")
        link = zipfile.ZipInfo("link.txt")
        link.create_system = 3
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
        archive.writestr("__MACOSX/._申报书.txt", "resource fork")
        archive.writestr("inner.zip", "nested")
    dest = tmp_path / "out" / "p"
    result = extract_zip(package, dest)
    assert [Path(f).relative_to(dest).as_posix() for f in result.files] == ["申报书.txt"]
    reasons = {Path(e.path).name: e.error for e in result.errors}
    assert "路径不安全" in reasons["evil.txt"]
    assert "路径不安全" in next(r for p, r in reasons.items() if "win.txt" in p)
    assert "符号链接" in reasons["link.txt"]
    assert "嵌套压缩包" in reasons["inner.zip"]
    assert len(result.errors) == 5
    # nothing was written outside the destination
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == [
        "out/p/申报书.txt", "p.zip"]


def test_zip_bomb_is_refused_before_anything_is_extracted(tmp_path: Path):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("申报书.txt", "正常内容")
        archive.writestr("zeros.txt", b"\0" * (40 * 2**20))  # 40 MiB of zeros: ratio ~1000:1
    assert bomb.stat().st_size < 200_000
    dest = tmp_path / "x"
    result = extract_zip(bomb, dest)
    assert result.files == []
    assert len(result.errors) == 1 and "压缩炸弹" in result.errors[0].error
    assert not dest.exists()
    # a total-size limit refuses it too, whatever the ratio
    total = extract_zip(bomb, dest, ZipLimits(max_total_mb=10, max_ratio=10_000))
    assert total.files == [] and "解压后过大" in total.errors[0].error


def test_too_many_members_and_corrupt_zip(tmp_path: Path):
    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w") as archive:
        for i in range(30):
            archive.writestr(f"f{i}.txt", "x")
    result = extract_zip(many, tmp_path / "m", ZipLimits(max_members=10))
    assert result.files == [] and "成员过多" in result.errors[0].error
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 this is not a zip")
    assert "已损坏" in extract_zip(broken, tmp_path / "b").errors[0].error


def test_gbk_member_names_from_chinese_windows_are_decoded(tmp_path: Path):
    package = zip_with_raw_names(tmp_path / "gbk.zip", {
        "申报书.txt".encode("gbk"): "申报正文".encode("utf-8"),
        "佐证材料/合同扫描件.txt".encode("gbk"): b"contract",
        "README.txt".encode("ascii"): b"ascii",
    })
    with zipfile.ZipFile(package) as archive:
        infos = archive.infolist()
        assert not infos[0].flag_bits & 0x800
        assert infos[0].filename != "申报书.txt"  # what Python shows: cp437 乱码
        assert [decode_member_name(i) for i in infos] == ["申报书.txt", "佐证材料/合同扫描件.txt", "README.txt"]
    result = extract_zip(package, tmp_path / "out")
    assert sorted(Path(f).relative_to(tmp_path / "out").as_posix() for f in result.files) == [
        "README.txt", "佐证材料/合同扫描件.txt", "申报书.txt"]
    assert (tmp_path / "out" / "申报书.txt").read_text(encoding="utf-8") == "申报正文"


def test_utf8_names_without_the_flag_are_decoded(tmp_path: Path):
    package = zip_with_raw_names(tmp_path / "mac.zip", {"成效佐证.txt".encode("utf-8"): b"x"})
    with zipfile.ZipFile(package) as archive:
        assert decode_member_name(archive.infolist()[0]) == "成效佐证.txt"


def test_batch_with_hostile_zips_completes_and_reports_each_problem(tmp_path: Path, capsys):
    batch = tmp_path / "batch"
    write_text_app(batch / "正常企业", "我公司上线ERP系统。")
    with zipfile.ZipFile(batch / "穿越.zip", "w") as archive:
        archive.writestr("申报书.txt", "上线MES系统")
        archive.writestr("../../../escape.txt", "x")
    with zipfile.ZipFile(batch / "炸弹.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.txt", b"\0" * (30 * 2**20))
    zip_with_raw_names(batch / "中文名.zip", {"申报书.txt".encode("gbk"): "建设了WMS系统".encode("utf-8")})
    out = tmp_path / "out"
    assert main(["batch", str(batch), "--out", str(out), "--jobs", "2", "--quiet", "--pipeline", FAKE]) == 0
    results = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in out.glob("*.json")}
    assert set(results) == {"正常企业", "穿越", "炸弹", "中文名"}
    assert not (tmp_path / "escape.txt").exists() and not list(tmp_path.rglob("escape.txt"))
    travel = {Path(f["path"]).name: f for f in results["穿越"]["files"]}
    assert "路径不安全" in travel["escape.txt"]["error"] and travel["申报书.txt"]["error"] is None
    assert "压缩炸弹" in results["炸弹"]["files"][0]["error"]
    names = [Path(f["path"]).name for f in results["中文名"]["files"]]
    assert names == ["申报书.txt"]
    assert next(i for i in results["中文名"]["items"] if i["id"] == "1.3.3")["status"] == "met"
    # --strict turns file problems into a non-zero exit
    strict = run_batch_cli(batch, tmp_path / "out2", "--jobs", "1", "--quiet", "--strict", "--pipeline", FAKE)
    assert strict.returncode == 3, strict.stderr


def test_out_inside_the_batch_folder_is_not_an_application(tmp_path: Path):
    batch = tmp_path / "batch"
    write_text_app(batch / "甲", "上线ERP系统。")
    out = batch / "结果"
    assert main(["batch", str(batch), "--out", str(out), "--jobs", "1", "--quiet", "--pipeline", FAKE]) == 0
    assert main(["batch", str(batch), "--out", str(out), "--jobs", "1", "--quiet", "--pipeline", FAKE]) == 0
    rows = (out / "summary.csv").read_text(encoding="utf-8-sig").splitlines()[1:]
    assert [r.split(",")[1] for r in rows] == ["甲"]


def test_missing_batch_folder_is_a_one_line_error(tmp_path: Path, capsys):
    assert main(["batch", str(tmp_path / "没有"), "--out", str(tmp_path / "out"), "--pipeline", FAKE]) == 1
    assert "批量目录不存在" in capsys.readouterr().err
