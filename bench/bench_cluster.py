"""The Dask backend against the local pool, and what a city round needs in machines.

    python bench/bench_cluster.py                 # samples/pdf and an OCR-heavy batch, 1 round each
    python bench/bench_cluster.py --rounds 3      # alternate the backends 3 times, report medians
    python bench/bench_cluster.py --skip-ocr      # text batch only (a few minutes less)

Measures, cold caches every run (a fresh OUT, so parsing, OCR and crops all happen):

1. ``xdt batch --jobs 2`` (the local pool) and ``xdt batch --cluster local:2`` (a LocalCluster
   of 2 worker processes: every application's files shipped as bytes, every result and cache
   entry shipped back) on the same batch, alternately, so a drift of the shared machine's speed
   hits both; the ratio of pages per second (target ≥ 0.9);
2. the same on an OCR-heavy batch (the image-only 申报书 of ``samples/ocr/pdf`` and the scanned
   images of ``samples/ocr/images`` as a third application);
3. a capacity table computed from the measured costs: seconds per text page and per OCR page on
   one core, and the cluster's efficiency from (1) — hours to screen 200 / 700 / 5,000
   applications on 1, 5 and 20 four-core machines. The assumptions are printed with it.

The machine this runs on may be shared: compare the ratios of one run, not absolute seconds.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from xdt_rules.batch.cluster import ClusterOptions  # noqa: E402
from xdt_rules.batch.runner import BatchOptions, BatchReport, run_batch  # noqa: E402

MACHINES = (1, 5, 20)
APPLICATIONS = (200, 700, 5000)
CORES_PER_MACHINE = 4
PAGES_PER_APPLICATION = 60  # issue 16: ~8 attachments, 20–150 page 申报书


def ocr_batch(work: Path) -> Path:
    batch = work / "ocr-batch"
    if batch.exists():
        return batch
    for app in sorted((ROOT / "samples" / "ocr" / "pdf").iterdir()):
        shutil.copytree(app, batch / f"扫描-{app.name}")
    images = batch / "扫描-图片佐证"
    images.mkdir(parents=True)
    for image in sorted((ROOT / "samples" / "ocr" / "images").iterdir()):
        if image.suffix.lower() in (".png", ".jpg", ".jpeg"):
            shutil.copy(image, images / image.name)
    return batch


def run(batch: Path, out: Path, *, cluster: bool) -> tuple[BatchReport, float]:
    shutil.rmtree(out, ignore_errors=True)
    extract = {"cache_dir": str(out / ".cache" / "ocr")}  # as the CLI sets it: OCR pages cached in OUT
    options = BatchOptions(jobs=2, quiet=True, extract_options=extract,
                           cluster=ClusterOptions(local_workers=2) if cluster else None)
    started = time.perf_counter()
    report = run_batch(batch, out, options)
    wall = time.perf_counter() - started  # the cluster's start and stop included
    if report.failed or report.interrupted or report.stopped:
        raise SystemExit(f"batch did not finish cleanly: {report.failures or report.stopped}")
    return report, wall


def compare(label: str, batch: Path, work: Path, rounds: int) -> dict[str, list[tuple[BatchReport, float]]]:
    print(f"\n{label}: {batch}")
    runs: dict[str, list[tuple[BatchReport, float]]] = {"local": [], "cluster": []}
    for index in range(rounds):
        for name in ("local", "cluster"):
            report, wall = run(batch, work / f"out-{name}", cluster=name == "cluster")
            runs[name].append((report, wall))
            print(f"  round {index + 1} {name:<8} {report.counts.pages:5d} pages  {wall:7.1f} s wall  "
                  f"{report.counts.pages / wall:6.2f} pages/s  OCR {report.counts.ocr_pages} pages "
                  f"in {report.counts.ocr_seconds:.1f} engine-s")
    ratios = [lw / cw for (_, lw), (_, cw) in zip(runs["local"], runs["cluster"])]
    print(f"  --cluster local:2 / --jobs 2 throughput: median {statistics.median(ratios):.2f} "
          f"(rounds: {', '.join(f'{r:.2f}' for r in ratios)}; target ≥ 0.90)")
    return runs


def capacity(text_runs, ocr_runs) -> None:  # noqa: ANN001 - the runs of compare()
    local_text = [r for r, _ in text_runs["local"]]
    # core-seconds per text page: the sample batch has a few scanned pages, whose OCR time is not a text page's
    text_page = statistics.median((2 * w - r.counts.ocr_seconds) / max(1, r.counts.pages - r.counts.ocr_pages)
                                  for r, w in text_runs["local"])
    efficiency = statistics.median(lw / cw for (_, lw), (_, cw) in zip(text_runs["local"], text_runs["cluster"]))
    if ocr_runs:
        ocr_page = statistics.median(r.counts.ocr_seconds / r.counts.ocr_pages for r, _ in ocr_runs["local"]
                                     if r.counts.ocr_pages)
        efficiency = min(efficiency, statistics.median(
            lw / cw for (_, lw), (_, cw) in zip(ocr_runs["local"], ocr_runs["cluster"])))
    else:
        ocr_page = 4.0  # README: 3–5 s per page per core
    print("\n容量估算 / capacity (hours to finish, from the costs measured above)")
    print(f"  assumptions: {PAGES_PER_APPLICATION} pages per application; text page {text_page:.3f} core-s "
          f"(whole pipeline, --jobs 2 on {sum(r.counts.pages for r in local_text) // len(local_text)} pages); "
          f"OCR page {ocr_page:.2f} core-s on top (engine time per page, one worker); {CORES_PER_MACHINE} cores "
          f"per machine, one Dask worker process per core, ≥ 1 GB memory per worker; cluster efficiency "
          f"{min(efficiency, 1.0):.2f} (measured local:2 / --jobs 2); a LAN that moves a 10 MB application "
          f"in about a second (100 Mbit/s) is not the bottleneck at these per-page costs")
    header = "| applications | kind | " + " | ".join(f"{m} machine{'s' if m > 1 else ''}" for m in MACHINES) + " |"
    print(header)
    print("|" + " --- |" * (2 + len(MACHINES)))
    for kind, scanned in (("text only", 0.0), ("half scanned", 0.5)):
        per_app = PAGES_PER_APPLICATION * (text_page + scanned * ocr_page)
        for apps in APPLICATIONS:
            cells = []
            for machines in MACHINES:
                cores = machines * CORES_PER_MACHINE * (min(efficiency, 1.0) if machines > 1 else 1.0)
                cells.append(f"{apps * per_app / cores / 3600:.1f} h")
            print(f"| {apps} | {kind} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description="xdt batch: Dask LocalCluster vs the local pool, and capacity")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--batch", type=Path, default=ROOT / "samples" / "pdf")
    parser.add_argument("--skip-ocr", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="xdt-bench-cluster-"))
    try:
        text_runs = compare("1. 文字批次 / text batch", args.batch, work, args.rounds)
        ocr_runs = None if args.skip_ocr else compare("2. 扫描批次 / OCR-heavy batch", ocr_batch(work), work, args.rounds)
        capacity(text_runs, ocr_runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
