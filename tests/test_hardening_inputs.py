"""Hostile and awkward inputs to ``xdt batch`` and ``xdt screen``, through the CLI on real files:
symbolic links out of the batch, a FIFO and a link to /dev/zero, a folder named like a file,
names that clash once made file names, names too long for a file name (issue 14, points 1, 2,
4 and 7)."""

from __future__ import annotations

import csv
import gzip
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from test_batch_support import write_text_app

from xdt_rules.batch.resume import load_manifest
from xdt_rules.cli import main

SECRET = "机密标记ZX9Q：这段文字在批量目录之外，绝不能出现在任何报告里"
ERP = "公司于2021年上线用友U8 Cloud企业资源计划系统，采购、销售、库存、财务全流程在线运行。"


def _everything_written(out: Path) -> str:
    """All text under OUT, gzip entries unpacked: what a leaked secret would be found in."""
    parts = []
    for path in out.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if path.name.endswith(".gz"):
            try:
                data = gzip.decompress(data)
            except OSError:
                pass
        parts.append(data.decode("utf-8", errors="ignore"))
    return "\n".join(parts)


def _summary_rows(out: Path) -> list[dict[str, str]]:
    with open(out / "summary.csv", encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")
def test_symbolic_links_in_a_batch_are_not_followed_into_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(SECRET, encoding="utf-8")
    (outside / "folder").mkdir()
    (outside / "folder" / "申报书.txt").write_text(SECRET + "（文件夹）", encoding="utf-8")
    batch = tmp_path / "batch"
    app = batch / "甲公司"
    write_text_app(app, ERP)
    (app / "佐证材料.txt").symlink_to(outside / "secret.txt")  # a file link inside an application
    (app / "附件").symlink_to(outside / "folder")  # a folder link inside an application
    (batch / "乙公司").symlink_to(outside / "folder")  # an application that is a link
    (batch / "丙公司.txt").symlink_to("/etc/passwd")
    out = tmp_path / "out"

    assert main(["batch", str(batch), "--out", str(out), "--jobs", "1", "--quiet", "--no-crops"]) == 0

    written = _everything_written(out)
    assert "机密标记ZX9Q" not in written and "root:" not in written  # reports, index.html, duplicates.json…
    result = json.loads((out / "甲公司.json").read_text(encoding="utf-8"))
    errors = {f["path"]: f["error"] for f in result["files"] if f.get("error")}
    assert set(errors) == {"佐证材料.txt", "附件"} and all("符号链接" in e for e in errors.values())
    assert next(i for i in result["items"] if i["id"] == "1.3.1")["status"] in ("met", "partial")  # its own file counts
    rows = {r["申报"]: r for r in _summary_rows(out)}
    assert rows["甲公司"]["状态"] == "完成"
    for linked in ("乙公司", "丙公司"):
        assert rows[linked]["状态"] == "失败" and "符号链接" in rows[linked]["说明"]

    # `xdt screen` of the folder does not follow them either
    assert main(["screen", str(app), "--out", str(tmp_path / "screen"), "--no-crops"]) == 0
    assert "机密标记ZX9Q" not in _everything_written(tmp_path / "screen")
    assert "符号链接" in capsys.readouterr().err


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_or_a_link_to_dev_zero_does_not_hang_the_batch(tmp_path: Path):
    batch = tmp_path / "batch"
    write_text_app(batch / "管道", ERP)
    os.mkfifo(batch / "管道" / "佐证材料.pdf")  # nobody ever writes to it: reading it would block for ever
    write_text_app(batch / "设备", ERP)
    (batch / "设备" / "附件.txt").symlink_to("/dev/zero")  # never ends
    os.mkfifo(batch / "顶层管道.txt")
    write_text_app(batch / "文件夹名像文件", ERP)
    (batch / "文件夹名像文件" / "申报书.pdf").mkdir()  # a folder where the reviewer expects a file
    out = tmp_path / "out"

    done = subprocess.run([sys.executable, "-m", "xdt_rules", "batch", str(batch), "--out", str(out), "--jobs", "1",
                           "--quiet", "--no-crops"], capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr

    def file_errors(name: str) -> dict[str, str]:
        result = json.loads((out / f"{name}.json").read_text(encoding="utf-8"))
        return {f["path"]: f["error"] for f in result["files"] if f.get("error")}

    assert "管道" in file_errors("管道")["佐证材料.pdf"]
    assert "符号链接" in file_errors("设备")["附件.txt"]
    assert "文件夹" in file_errors("文件夹名像文件")["申报书.pdf"]
    rows = {r["申报"]: r for r in _summary_rows(out)}
    assert rows["顶层管道"]["状态"] == "失败" and "管道" in rows["顶层管道"]["说明"]
    assert {rows[n]["状态"] for n in ("管道", "设备", "文件夹名像文件")} == {"完成"}


def test_names_that_differ_only_in_unsafe_characters_get_their_own_reports(tmp_path: Path):
    batch = tmp_path / "batch"
    batch.mkdir()
    names = ["a?b", "a*b", "a_b", "A_B"]  # one file name each once ? and * are replaced, and A_B is a_b on Windows
    for n, name in enumerate(names):
        (batch / f"{name}.txt").write_text(f"{ERP}第{n}份。", encoding="utf-8")
    out = tmp_path / "out"

    assert main(["batch", str(batch), "--out", str(out), "--jobs", "1", "--quiet", "--no-crops",
                 "--no-duplicates"]) == 0

    rows = _summary_rows(out)
    assert len(rows) == 4 and len({r["报告"] for r in rows}) == 4  # four rows, four different reports
    for row in rows:
        report = out / row["报告"]
        result = json.loads(report.with_suffix(".json").read_text(encoding="utf-8"))
        assert result["application"] == row["申报"]  # each row links to its own application's report
    reports = {p.name.lower() for p in out.glob("*.html")} - {"index.html"}
    assert len(list(out.glob("*.json"))) == 4 and len(reports) == 4


def test_long_application_and_member_names_are_screened(tmp_path: Path):
    batch = tmp_path / "batch"
    batch.mkdir()
    long_name = "云南省昆明市某某数字化转型试点小灯塔企业申报材料" * 4  # 100 characters, 300 bytes in UTF-8
    assert len(long_name.encode("utf-8")) > 255
    (batch / f"{long_name[:80]}.txt").write_text(ERP, encoding="utf-8")  # 240 bytes: the file name itself fits
    member = "佐证材料/" + "合同附件说明" * 15 + ".txt"  # a member name component of 270 bytes
    with zipfile.ZipFile(batch / "压缩包申报.zip", "w") as archive:
        archive.writestr("申报书.txt", ERP)
        archive.writestr(member, "公司已上线鼎捷MES制造执行系统，实现扫码报工。")
    out = tmp_path / "out"

    assert main(["batch", str(batch), "--out", str(out), "--jobs", "1", "--quiet", "--no-crops"]) == 0

    manifest = load_manifest(out)
    assert {r.status for r in manifest.applications.values()} == {"done"}, manifest
    rows = {r["申报"]: r for r in _summary_rows(out)}
    assert rows[long_name[:80]]["状态"] == "完成" and (out / rows[long_name[:80]]["报告"]).is_file()
    zipped = json.loads((out / "压缩包申报.json").read_text(encoding="utf-8"))
    assert not [f for f in zipped["files"] if f.get("error")]  # the long member was read, not the package failed
    assert next(i for i in zipped["items"] if i["id"] == "1.3.2")["status"] in ("met", "partial")
