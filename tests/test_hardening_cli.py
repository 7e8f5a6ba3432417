"""What a user meets on the command line (issue 14, points 12, 15, 16 and 17): a closed pipe is
no error, usage errors in Chinese and English, --jobs checked, a batch folder refused by
``xdt screen`` with a pointer to ``xdt batch``, a progress display that reads at 80 columns with
the final page count, an interrupted run titled so, and ``xdt audit`` naming the keywords it
cannot find."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.cells import cell_len
from test_batch_support import FAKE, cli_env, ctrl_c_reaches, make_pdf, write_text_app

from xdt_rules.batch.resume import load_manifest, manifest_path
from xdt_rules.cli import main

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_PDF = ROOT / "samples" / "pdf" / "01_strong_manufacturer" / "申报书.pdf"
ERP = "公司于2021年上线用友U8 Cloud企业资源计划系统，采购、销售、库存、财务全流程在线运行。"


def test_piping_json_into_head_is_not_an_error():
    process = subprocess.Popen([sys.executable, "-m", "xdt_rules", "extract", str(SAMPLE_PDF), "--json", "--ocr", "off"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.read(100)  # `| head -c 100`: the reader stops early
    process.stdout.close()
    stderr = process.stderr.read().decode("utf-8", errors="replace")
    process.wait(timeout=120)
    assert first.startswith(b"{")
    assert process.returncode == 0, stderr
    assert "BrokenPipe" not in stderr and "internal error" not in stderr and stderr.strip() == ""


def test_screen_without_out_says_so_in_chinese_and_english(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as exit_:
        main(["screen", "申报书.pdf"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "缺少必需的参数：--out" in err and "the following arguments are required: --out" in err


@pytest.mark.parametrize("jobs", ["0", "-1", "两个"])
def test_jobs_must_be_a_positive_number(jobs: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    write_text_app(tmp_path / "batch" / "甲", ERP)
    with pytest.raises(SystemExit) as exit_:
        main(["batch", str(tmp_path / "batch"), "--out", str(tmp_path / "out"), "--jobs", jobs])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--jobs" in err and "正整数" in err and "positive" in err
    assert not (tmp_path / "out").exists()  # nothing ran


def test_screen_of_a_batch_folder_points_at_xdt_batch(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    batch = tmp_path / "批量"
    for name in ("甲公司", "乙公司", "丙公司"):
        write_text_app(batch / name, ERP)
    out = tmp_path / "out"
    assert main(["screen", str(batch), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "看起来是一批申报" in err and f"xdt batch {batch}" in err and "3" in err
    assert not list(out.glob("*.json"))  # nothing merged into one 100/100 application

    # one application with a 佐证材料 subfolder is not a batch
    app = tmp_path / "一份申报"
    write_text_app(app, ERP)
    write_text_app(app / "佐证材料", "MES系统采购合同。", name="合同.txt")
    assert main(["screen", str(app), "--out", str(out), "--no-crops"]) == 0
    # and --one-application overrides the guess
    assert main(["screen", str(batch), "--out", str(out), "--no-crops", "--one-application"]) == 0


def _progress_lines(stderr: str) -> list[str]:
    """The progress display's lines: the bar (… 剩余 h:mm:ss) and the detail line below it."""
    return [line for line in stderr.splitlines() if "剩余" in line or re.match(r"\s+\d+ 页 · ", line)]


def test_progress_at_80_columns_is_readable_and_ends_on_the_final_page_count(tmp_path: Path):
    batch = tmp_path / "batch"
    for n in range(3):
        make_pdf(batch / f"申报{n}" / "申报书.pdf", [ERP], pages=3)
    make_pdf(batch / "会崩溃" / "a申报书.pdf", [ERP], pages=4)  # read (4 pages), then the worker dies
    write_text_app(batch / "会崩溃", ERP, name="crash.txt")
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "xdt_rules", "batch", str(batch), "--out", str(out), "--jobs", "1",
                           "--pipeline", FAKE], env=cli_env(COLUMNS="80", TERM="dumb"), capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    lines = _progress_lines(done.stderr)
    assert len(lines) >= 2, done.stderr
    bar, detail = lines[-2], lines[-1]
    assert "━" in bar and "4/4" in bar and "失败 1" in bar and "剩余" in bar and "已完成" in bar
    assert all(cell_len(line) <= 80 for line in lines)
    shown_pages = int(re.search(r"(\d+) 页 ·", detail).group(1))
    table_pages = int(re.search(r"页数 pages\s*│\s*(\d+)", done.stderr).group(1))
    assert shown_pages == table_pages == 9  # the crashed application's 4 pages count in neither


def test_an_interrupted_run_is_titled_interrupted(tmp_path: Path):
    batch = tmp_path / "batch"
    for n in range(6):  # each its own text: identical files would come from the cache after the first, at once
        write_text_app(batch / f"申报{n}", f"{ERP}（申报{n}）", name="slow申报书.txt")
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-m", "xdt_rules", "batch", str(batch), "--out", str(out), "--jobs",
                                "1", "--pipeline", FAKE], env=cli_env(XDT_TEST_SLOW="0.8", COLUMNS="100"),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=ctrl_c_reaches)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if manifest_path(out).exists() and any(r.status == "done" for r in load_manifest(out).applications.values()):
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "批量预审已中断" in stderr and "批量预审完成" not in stderr
    assert "已中断" in _progress_lines(stderr)[-2]


def test_audit_names_the_keywords_it_cannot_find_and_finds_outcome_indicators(tmp_path: Path):
    batch = tmp_path / "batch"
    write_text_app(batch / "甲公司", ERP + "业务员报价由原来的半天缩短到20分钟。冷库机组变频改造后每年节电约18万kWh。"
                   "通过MES系统，产品不良率由3%下降到1.2%，差错明显减少。")
    out = tmp_path / "out"
    assert main(["batch", str(batch), "--out", str(out), "--jobs", "1", "--quiet", "--no-crops"]) == 0
    result = json.loads((out / "甲公司.json").read_text(encoding="utf-8"))
    terms = {ev.get("term") for item in result["items"] for ev in item["evidence"]}
    assert {"用时缩短", "节电节水"} <= terms  # outcome indicators of _quantities.yaml

    def audit() -> dict:
        printed = subprocess.run([sys.executable, "-m", "xdt_rules", "audit", "--results", str(out), "--json",
                                  "--no-vocabulary"], capture_output=True, text=True, timeout=300, env=cli_env())
        return json.loads(printed.stdout)

    fresh = audit()["dynamic"]
    assert fresh["unknown_keywords"] == []  # right after a fresh batch every evidence term is known
    assert not [f for f in fresh["findings"] if f["code"] == "unknown_keywords"]

    item = next(i for i in result["items"] if i["evidence"])
    item["evidence"][0]["term"] = "早已改名的术语"
    item["evidence"][0]["kind"] = "term"
    (out / "甲公司.json").write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    finding = next(f for f in audit()["dynamic"]["findings"] if f["code"] == "unknown_keywords")
    assert f"{item['id']} 早已改名的术语" in finding["message_zh"]  # named, not only counted
