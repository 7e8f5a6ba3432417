"""Benchmark of ``xdt batch`` against raw PDF text extraction, in ONE run on the same files.

    python bench/bench_batch.py               # 100 applications × 30–60 pages (a few minutes)
    python bench/bench_batch.py --apps 20     # quicker

Measures, on a synthetic batch (bench/synth.py, cached under bench/_work/):

1. raw pdfplumber ``extract_text`` over every PDF page (the baseline);
2. raw pypdfium2 text extraction over every PDF page;
3. the whole ``xdt batch`` pipeline (listing, hashing, parsing, evidence, rules, JSON+HTML
   reports, duplicate passages, summary) with ``--jobs 1`` and ``--jobs 2``, cold cache;
4. a re-score after a rules change (a copy of rules/ with an edited rules file through
   XDT_DATA_DIR), warm cache, ``--resume`` — every application must be re-scored, no file parsed,
   matched or rendered (every file's evidence and every crop come from the caches);
5. peak RSS per worker, and the same on one 300-page PDF;
6. how many cores the run really had (two CPU spinners side by side against one): on a shared
   machine a busy neighbour leaves --jobs 2 one core, and then it cannot scale.

Per-page figures count PDF pages only; DOCX 申报书 time is included in the pipeline's time
(conservative). Targets: pipeline --jobs 1 ≥ 3× pdfplumber per page; --jobs 2 ≥ 1.7× --jobs 1;
a rules edit re-scoring 700 cached applications in ≤ 30 s with --jobs 2 (measured on this batch and
scaled by application count: the per-application cost does not depend on the batch size); peak RSS
per worker < 500 MB on the 300-page PDF.
Absolute numbers are noisy on a shared machine: compare the ratios of one run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import synth  # noqa: E402

WORK = HERE / "_work"


def ensure_batch(apps: int, seed: int) -> Path:
    batch = WORK / f"batch-g{synth.GENERATOR_VERSION}-n{apps}-s{seed}"
    marker = batch / ".complete"
    if not marker.exists():
        if batch.exists():
            shutil.rmtree(batch)
        t0 = time.perf_counter()
        synth.generate_batch(batch, apps, seed=seed)
        marker.write_text("ok", encoding="utf-8")  # hidden: not an application
        print(f"生成批次 / generated batch in {time.perf_counter() - t0:.1f} s: {batch}")
    return batch


def pdfs_of(batch: Path) -> list[Path]:
    return sorted(batch.rglob("*.pdf"))


def raw_pdfplumber(pdfs: list[Path]) -> tuple[int, float]:
    import pdfplumber

    pages = 0
    t0 = time.perf_counter()
    for path in pdfs:
        with pdfplumber.open(path) as pdf:
            for page in pdf.pages:
                page.extract_text()
                page.flush_cache()
                pages += 1
    return pages, time.perf_counter() - t0


def raw_pdfium(pdfs: list[Path]) -> tuple[int, float]:
    import pypdfium2 as pdfium

    pages = 0
    t0 = time.perf_counter()
    for path in pdfs:
        pdf = pdfium.PdfDocument(str(path))
        for index in range(len(pdf)):
            page = pdf[index]
            textpage = page.get_textpage()
            textpage.get_text_range()
            textpage.close()
            page.close()
            pages += 1
        pdf.close()
    return pages, time.perf_counter() - t0


CROPS = True


def run_pipeline(batch: Path, out: Path, *, jobs: int, resume: bool = False, fresh: bool = True):
    from xdt_rules.batch.runner import BatchOptions, run_batch

    if fresh and out.exists():
        shutil.rmtree(out)
    t0 = time.perf_counter()
    report = run_batch(batch, out, BatchOptions(jobs=jobs, quiet=True, resume=resume, file_timeout=600, crops=CROPS))
    seconds = time.perf_counter() - t0
    if report.interrupted:
        raise SystemExit("已中断 / interrupted")
    for failure in report.failures[:5]:
        print(f"  ✗ {failure.application}: {failure.reason[:200]}")
    if report.failed:
        print(f"  注意 / warning: {report.failed} 份申报失败，此轮数字不可比 / failures make this run's figures incomparable")
    return report, seconds


def _spin(_: int) -> float:
    t0 = time.perf_counter()
    x = 0
    for i in range(5_000_000):
        x += i
    return time.perf_counter() - t0


def effective_cores() -> float:
    """How many cores this run really gets: on a shared machine another process may hold one,
    and then no --jobs 2 can scale. Two spinners side by side against one alone."""
    import multiprocessing as mp

    alone = _spin(0)
    with mp.get_context("spawn").Pool(2) as pool:
        pool.map(_spin, [0, 0])  # start-up
        t0 = time.perf_counter()
        pool.map(_spin, [0, 0])
        both = time.perf_counter() - t0
    return round(2 * alone / both, 2)


def modified_data_dir() -> Path:
    """rules/ and keywords/ copied with one rules file edited: a new rules_version, same outcome."""
    from xdt_rules.datapaths import data_root

    target = WORK / "data-rules-edited"
    if target.exists():
        shutil.rmtree(target)
    source = data_root()
    shutil.copytree(source / "rules", target / "rules")
    shutil.copytree(source / "keywords", target / "keywords")
    from xdt_rules.framework import load_framework

    before = load_framework().fingerprint
    edited = target / "rules" / "kunming-xdt" / "rules.yaml"
    with edited.open("a", encoding="utf-8") as handle:
        handle.write("\n# bench: 规则修改 / a rules edit\n")
    os.environ["XDT_DATA_DIR"] = str(target)
    try:
        if load_framework().fingerprint == before:
            raise SystemExit("编辑 rules.yaml 未改变 rules_version / editing rules.yaml did not change rules_version")
    finally:
        del os.environ["XDT_DATA_DIR"]
    return target


# parts of the "read" stage (parsing on a cache miss, cache reads and writes), shown inside it
_READ_PARTS = ("extract", "evidence", "cache")


def fmt_stages(stages: dict[str, float]) -> str:
    top = {k: v for k, v in stages.items() if k not in _READ_PARTS}
    total = sum(top.values()) or 1.0
    shown = []
    for name, seconds in sorted(top.items(), key=lambda kv: -kv[1]):
        text = f"{name} {seconds:.1f}s ({seconds / total:.0%})"
        if name == "read" and any(stages.get(k) for k in _READ_PARTS):
            text += " [" + ", ".join(f"{k} {stages.get(k, 0.0):.1f}s" for k in _READ_PARTS) + "]"
        shown.append(text)
    return "  ".join(shown)


def main() -> None:
    parser = argparse.ArgumentParser(description="xdt batch benchmark")
    parser.add_argument("--apps", type=int, default=100)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--long-pages", type=int, default=300)
    parser.add_argument("--skip-raw", action="store_true", help="skip the raw pdfplumber/pdfium baselines")
    parser.add_argument("--no-crops", action="store_true", help="reports without evidence crops (xdt batch --no-crops)")
    args = parser.parse_args()
    global CROPS
    CROPS = not args.no_crops
    WORK.mkdir(exist_ok=True)
    batch = ensure_batch(args.apps, args.seed)
    pdfs = pdfs_of(batch)
    figures: dict[str, object] = {"apps": args.apps, "pdf_files": len(pdfs)}
    print(f"报告截图 / evidence crops: {'on' if CROPS else 'off (--no-crops)'}")
    print(f"批次 / batch: {args.apps} 份申报, {len(pdfs)} 个 PDF, "
          f"{sum(1 for _ in batch.rglob('*.docx'))} 个 DOCX")

    if not args.skip_raw:
        pages, seconds = raw_pdfplumber(pdfs)
        figures["pdfplumber_pages_per_s"] = pages / seconds
        print(f"pdfplumber extract_text : {pages} 页 {seconds:7.1f} s  {pages / seconds:7.1f} 页/秒")
        pages, seconds = raw_pdfium(pdfs)
        figures["pdfium_pages_per_s"] = pages / seconds
        print(f"pypdfium2 get_text_range: {pages} 页 {seconds:7.1f} s  {pages / seconds:7.1f} 页/秒")
        figures["pdf_pages"] = pages

    figures["crops"] = CROPS
    cores = effective_cores()
    figures["effective_cores"] = cores
    print(f"可用核数（两个计算进程并行 / 单个）/ effective cores right now: {cores}")
    out1 = WORK / "out-j1"
    report1, seconds1 = run_pipeline(batch, out1, jobs=1)
    pdf_pages = figures.get("pdf_pages") or report1.counts.pages
    figures.update(pipeline_j1_s=seconds1, pipeline_j1_pages_per_s=pdf_pages / seconds1,
                   pipeline_j1_done=report1.done, pipeline_j1_failed=report1.failed)
    print(f"xdt batch --jobs 1      : {report1.done} 完成 {report1.failed} 失败 {seconds1:7.1f} s  "
          f"{pdf_pages / seconds1:7.1f} PDF 页/秒  峰值内存 {report1.peak_rss_mb:.0f} MB")
    print(f"  各阶段（工作进程内）/ worker time by stage: {fmt_stages(report1.counts.stage_seconds)}")

    cores2 = effective_cores()
    figures["effective_cores_before_jobs2"] = cores2
    print(f"可用核数 / effective cores before --jobs 2: {cores2}")
    out2 = WORK / "out-j2"
    report2, seconds2 = run_pipeline(batch, out2, jobs=2)
    figures.update(pipeline_j2_s=seconds2, pipeline_j2_pages_per_s=pdf_pages / seconds2,
                   peak_rss_mb=max(report1.peak_rss_mb, report2.peak_rss_mb))
    print(f"xdt batch --jobs 2      : {report2.done} 完成 {report2.failed} 失败 {seconds2:7.1f} s  "
          f"{pdf_pages / seconds2:7.1f} PDF 页/秒  峰值内存 {report2.peak_rss_mb:.0f} MB")

    os.environ["XDT_DATA_DIR"] = str(modified_data_dir())
    try:
        report3, seconds3 = run_pipeline(batch, out2, jobs=2, resume=True, fresh=False)
    finally:
        del os.environ["XDT_DATA_DIR"]
    c3 = report3.counts
    figures.update(rescore_s=seconds3, rescore_done=report3.done, rescore_cache_misses=c3.cache_misses,
                   rescore_evidence_hits=c3.evidence_hits, rescore_crops_rendered=c3.crops_rendered)
    if report3.done != report2.done:
        print(f"  注意 / warning: only {report3.done} of {report2.done} applications were re-scored")
    print(f"规则修改后重新评分 / re-score after a rules edit (--resume, warm cache, --jobs 2): "
          f"{report3.done} 重新评分, {report3.skipped} 跳过, 缓存未命中 {c3.cache_misses}, {seconds3:.1f} s")
    print(f"  证据缓存命中 / files from the evidence cache {c3.evidence_hits}, 新渲染截图 / crops rendered "
          f"{c3.crops_rendered}")
    print(f"  各阶段 / by stage: {fmt_stages(c3.stage_seconds)}")

    long_batch = WORK / f"long-{args.long_pages}"
    long_pdf = long_batch / "长文档企业" / "申报书.pdf"
    if not long_pdf.exists():
        synth.generate_long_pdf(long_pdf, args.long_pages)
    report4, seconds4 = run_pipeline(long_batch, WORK / "out-long", jobs=1)
    figures.update(long_pdf_pages=report4.counts.pages, long_pdf_s=seconds4, long_pdf_peak_rss_mb=report4.peak_rss_mb)
    print(f"{args.long_pages} 页 PDF: {seconds4:.1f} s, 工作进程峰值内存 / worker peak RSS {report4.peak_rss_mb:.0f} MB")

    print("\n比值 / ratios (targets in brackets):")
    checks = []
    if "pdfplumber_pages_per_s" in figures:
        speedup = figures["pipeline_j1_pages_per_s"] / figures["pdfplumber_pages_per_s"]
        checks.append(("pipeline --jobs 1 vs pdfplumber extract_text, per page", speedup, "≥ 3.0×", speedup >= 3.0))
    scaling = seconds1 / seconds2
    checks.append(("--jobs 2 vs --jobs 1", scaling, "≥ 1.7×", scaling >= 1.7))
    per_700 = seconds3 / max(report3.done, 1) * 700
    checks.append(("re-score of 700 cached applications after a rules edit, --jobs 2 (s)", per_700, "≤ 30 s",
                   per_700 <= 30))
    checks.append(("peak RSS per worker on the long PDF (MB)", report4.peak_rss_mb, "< 500", report4.peak_rss_mb < 500))
    for label, value, target, ok in checks:
        shown = f"{value:.1%}" if "%" in target else (f"{value:.2f}×" if "×" in target else f"{value:.1f}")
        print(f"  {'达标 PASS' if ok else '未达标 MISS'}  {label}: {shown}  [{target}]")
        figures[label] = value
    (WORK / "bench_batch_result.json").write_text(json.dumps(figures, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
