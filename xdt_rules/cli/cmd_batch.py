from __future__ import annotations

import argparse
import os
import sys

from .options import add_extract_arguments, add_framework_arguments
from .options import extract_options as read_options

HELP = "批量预审：文件夹中每个子文件夹/文件/zip 为一份申报 / screen a folder of applications"

EXIT_STRICT = 3


def _positive_float(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("不能为负数 / must not be negative")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"应为正整数，而不是“{text}” / must be a positive whole number, not '{text}'")
    if value < 1:
        raise argparse.ArgumentTypeError(f"应为正整数（至少 1），而不是 {value} / "
                                         f"must be a positive whole number (at least 1), not {value}")
    return value


def _default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _local_cluster(text: str) -> int:
    """``local:N`` → N (``local`` alone: one worker per CPU)."""
    kind, _, count = text.partition(":")
    if kind != "local":
        raise argparse.ArgumentTypeError(f"应为 local:N（本机 N 个工作进程），而不是“{text}”；已有的集群用 --scheduler / "
                                         f"expected local:N, not '{text}'; for a running cluster use --scheduler")
    return _positive_int(count) if count else _default_jobs()


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("batch_dir", metavar="BATCH_DIR",
                        help="批量目录：每个子文件夹、文件或 .zip 为一份申报 / one application per entry")
    parser.add_argument("--out", required=True, metavar="OUT", help="输出目录 / output folder")
    parser.add_argument("--jobs", "-j", type=_positive_int, default=_default_jobs(), metavar="N",
                        help="并行进程数（默认 CPU 数）/ worker processes (default: CPU count)")
    parser.add_argument("--resume", action="store_true",
                        help="跳过输入与规则均未变化的已完成申报 / skip applications already done with the same inputs and rules")
    parser.add_argument("--file-timeout", type=_positive_float, default=120.0, metavar="SECONDS",
                        help="单个文件解析时限，超时记为解析超时（默认 120，0 为不限）/ per-file parse limit")
    parser.add_argument("--ocr-page-timeout", type=_positive_float, default=20.0, metavar="SECONDS",
                        help="需识别的扫描页每页追加的时限（默认 20）/ extra limit per page needing OCR")
    parser.add_argument("--worker-memory-mb", type=_positive_float, default=None, metavar="MB",
                        help="每个工作进程的内存上限，超出时终止并跳过正在读取的文件（默认按本机内存自动设定，最多 4096；"
                             "0 为不限）/ memory limit per worker (default: automatic, at most 4096; 0 = none)")
    parser.add_argument("--cache-dir", metavar="DIR", help="解析缓存目录（默认 OUT/.cache）/ parsed-document cache")
    parser.add_argument("--no-cache", action="store_true", help="不使用解析缓存 / do not cache parsed documents")
    parser.add_argument("--strict", action="store_true",
                        help=f"有申报或文件失败时以退出码 {EXIT_STRICT} 结束 / exit {EXIT_STRICT} if anything failed")
    parser.add_argument("--quiet", "-q", action="store_true", help="不显示进度与汇总表 / no progress output")
    add_framework_arguments(parser)
    add_extract_arguments(parser)
    parser.add_argument("--no-crops", action="store_true", help="报告中不嵌入证据截图 / no evidence crops in reports")
    parser.add_argument("--no-duplicates", action="store_true", help="不检查申报间重复段落 / skip the duplicate-passage check")
    parser.add_argument("--min-duplicate-chars", type=int, default=80, metavar="N",
                        help="重复段落最少字数（去除空白标点后，默认 80）/ minimum shared passage length")
    parser.add_argument("--zip-max-mb", type=float, default=2048, metavar="MB",
                        help="zip 解压后总大小上限（默认 2048）/ limit on a package's uncompressed size")
    cluster = parser.add_argument_group(
        "多台电脑协同预审（需 .[cluster]）/ several machines (needs the [cluster] extra)")
    where = cluster.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="在已启动的 Dask 集群上运行，如 tcp://192.168.1.10:8786 / run on a running Dask scheduler")
    where.add_argument("--cluster", type=_local_cluster, metavar="local:N",
                       help="在本机启动 N 个 Dask 工作进程运行 / start a local Dask cluster of N worker processes")
    cluster.add_argument("--shared-path", nargs="?", const="", default=None, metavar="DIR",
                         help="工作机通过共享盘读取文件：DIR 为批量目录在工作机上的路径（省略则与本机相同）；默认随任务发送文件 / "
                              "workers read the files on a share mounted at DIR (default: files are sent with each task)")
    cluster.add_argument("--tls-ca-file", metavar="FILE", help="TLS：签发证书的 CA / the cluster's CA certificate")
    cluster.add_argument("--tls-cert", metavar="FILE", help="TLS：本机证书 / this machine's certificate")
    cluster.add_argument("--tls-key", metavar="FILE", help="TLS：本机私钥 / this machine's private key")
    cluster.add_argument("--scheduler-timeout", type=_positive_float, default=10.0, metavar="SECONDS",
                         help="连接调度器的时限（默认 10）/ how long to try to reach the scheduler")
    # The seam for other engines and for tests: "module:function" returning a batch Pipeline.
    parser.add_argument("--pipeline", help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    from ..batch.inputs import ZipLimits
    from ..batch.runner import BatchOptions, resolve_reference, run_batch
    from ..batch.work import screen_pipeline

    cluster = _cluster_options(args)
    extract_options = read_options(args).model_dump(exclude_defaults=True)
    if not args.no_cache:
        # OCR results (per page image) live beside the parsed documents, so a new extractor
        # version re-parses PDFs without running OCR on the same scans again.
        extract_options["cache_dir"] = os.path.join(args.cache_dir or os.path.join(args.out, ".cache"), "ocr")
    options = BatchOptions(
        jobs=args.jobs, file_timeout=args.file_timeout or None, resume=args.resume,
        worker_memory_mb=args.worker_memory_mb,
        cache_dir=args.cache_dir, use_cache=not args.no_cache, quiet=args.quiet,
        duplicates=not args.no_duplicates, min_duplicate_chars=args.min_duplicate_chars,
        zip_limits=ZipLimits(max_total_mb=args.zip_max_mb), framework=args.framework, keywords=args.keywords,
        extract_options=extract_options, crops=not args.no_crops, ocr_page_seconds=args.ocr_page_timeout,
        cluster=cluster,
    )
    factory = resolve_reference(args.pipeline) if args.pipeline else screen_pipeline
    pipeline = factory(framework=args.framework, keywords=args.keywords, extract_options=extract_options,
                       crops=not args.no_crops)
    report = run_batch(args.batch_dir, args.out, options, pipeline=pipeline)
    if not args.quiet:
        _print_report(report)
    for note in report.notes:  # about OUT: shown even with --quiet
        print(f"注意 / note: {note}", file=sys.stderr)
    if report.stopped:
        print(f"错误 / error: 批量预审已停止：{report.stopped}；已完成的结果均已保存，问题解决后用 --resume 继续 / "
              "the batch stopped; finished results are kept, rerun with --resume once the problem is fixed",
              file=sys.stderr)
        return 1
    if report.interrupted:
        print("已中断：已完成的结果均已保存，可用 --resume 继续 / interrupted: finished results kept, rerun with --resume",
              file=sys.stderr)
        return 130
    if args.strict and (report.failed or report.counts.file_errors or report.not_run):
        return EXIT_STRICT
    return 0


def _cluster_options(args: argparse.Namespace):  # noqa: ANN202 - a ClusterOptions or None
    from ..batch.cluster import ClusterOptions
    from ..errors import XdtError

    tls = (args.tls_ca_file, args.tls_cert, args.tls_key)
    if not (args.scheduler or args.cluster):
        if args.shared_path is not None or any(tls):
            raise XdtError("--shared-path 与 --tls-* 只用于 --scheduler 或 --cluster",
                           "--shared-path and --tls-* go with --scheduler or --cluster", code="usage")
        return None
    if args.cluster and any(tls):
        raise XdtError("本机集群（--cluster local:N）不需要 --tls-*；它们用于 --scheduler",
                       "a local cluster needs no --tls-*; they go with --scheduler", code="usage")
    if any(tls) and not all(tls[1:]):
        raise XdtError("TLS 需要同时给出 --tls-cert 和 --tls-key（以及 --tls-ca-file）",
                       "TLS needs --tls-cert and --tls-key (and --tls-ca-file)", code="usage")
    return ClusterOptions(scheduler=args.scheduler, local_workers=args.cluster, shared_path=args.shared_path,
                          tls_ca_file=args.tls_ca_file, tls_cert=args.tls_cert, tls_key=args.tls_key,
                          connect_timeout=args.scheduler_timeout)


def _print_report(report) -> None:  # noqa: ANN001 - a BatchReport
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(stderr=True)
    if report.interrupted:
        title = "批量预审已中断 / batch interrupted"
    elif report.stopped:
        title = "批量预审已停止 / batch stopped"
    else:
        title = "批量预审完成 / batch finished"
    table = Table(title=title, show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    rows = [
        ("申报 applications", report.applications),
        ("完成 done", report.done),
        ("跳过（未变化）skipped", report.skipped),
        ("失败 failed", report.failed),
        ("未处理 not run", report.not_run),
        ("文件错误 file errors", report.counts.file_errors),
        ("解析超时 timeouts", report.timeouts),
        ("内存超限 over the memory limit", report.memory_kills),
        ("页数 pages", report.counts.pages),
        ("用时 seconds", f"{report.seconds:.1f}"),
        ("页/秒 pages/s", f"{report.pages_per_second:.1f}"),
        ("OCR 识别页数 pages OCR'd", report.counts.ocr_pages),
        ("OCR 页/秒/进程 OCR pages/s per worker", f"{report.ocr_pages_per_second:.2f}"),
        ("缓存命中/未命中 cache hits/misses", f"{report.counts.cache_hits}/{report.counts.cache_misses}"),
        ("证据取自缓存的文件 files whose evidence was cached", report.counts.evidence_hits),
        ("重复段落 shared passages", report.duplicate_passages),
        ("工作进程峰值内存 peak RSS per worker", f"{report.peak_rss_mb:.0f} MB"),
    ]
    if report.cluster is not None:
        cluster = report.cluster
        rows += [
            ("集群 cluster", cluster.address),
            ("工作进程/线程 workers/threads", f"{cluster.workers}/{cluster.threads}"),
            ("发往集群 applications shipped", cluster.shipped),
            ("本机完成（证据已缓存）screened here (cached)", cluster.here),
            ("发送/接收 MB sent/received", f"{cluster.mb_sent:.1f}/{cluster.mb_received:.1f}"),
            ("重发 sent again", cluster.resent),
        ]
    for label, value in rows:
        table.add_row(label, str(value))
    console.print(table)
    for failure in report.failures[:20]:
        console.print(f"[red]✗[/] {escape(failure.application)}：{escape(failure.reason)}")
    if report.summary:
        console.print(f"汇总 / summary: {report.summary.xlsx}  {report.summary.csv}  {report.summary.html}", markup=False)
