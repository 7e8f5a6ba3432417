from __future__ import annotations

import argparse

from .options import add_framework_arguments

HELP = ("审计规则与关键词的覆盖、命中和与标注的一致性 / audit rules and keywords: coverage, hits, "
        "agreement with labels, uncovered vocabulary")

EPILOG = """\
只给框架：静态审计（每项的关键词和规则、错误、永不命中的规则、歧义关键词、提示词）。
加 --results DIR（xdt batch / xdt screen 的输出目录）：各项状态分布、关键词与规则的命中次数、未覆盖词语。
再加 --gold LABELS：与标注比对（P/R/F1、混淆矩阵、每个误报漏报及其段落和判定规则）。
LABELS 可以是 samples/gold 这样的 YAML 目录，也可以是审核人员导出的 CSV：
  表头 application,item,label[,note]，label 为 implemented|planned|negated|absent（或 已实现/规划/缺失/无）。
有错误时退出码为 1（--strict 时警告也算）。

Static audit by default; --results adds hit counts and uncovered vocabulary; --gold adds agreement
(CSV columns: application,item,label[,note]). Exit code 1 on errors (with --strict also on warnings).
"""


def register(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add_framework_arguments(parser)
    parser.add_argument("--results", metavar="DIR", help="预审结果目录（*.json）/ folder of screening results")
    parser.add_argument("--gold", metavar="LABELS", help="标注：金标准 YAML 或审核 CSV（文件或目录）/ labels (YAML or CSV)")
    parser.add_argument("--docs", metavar="DIR", help="当初预审的申报材料目录（读文字用）/ the folder the applications "
                                                      "were screened from (for their text)")
    parser.add_argument("--cache", metavar="DIR", help="已解析文档缓存（默认 RESULTS/.cache）/ parsed-document cache")
    parser.add_argument("--no-vocabulary", action="store_true", help="不做未覆盖词语分析 / skip uncovered vocabulary")
    parser.add_argument("--top", type=int, default=40, help="未覆盖词语最多列出几个（默认 40）/ suggestions to list")
    parser.add_argument("--min-count", type=int, default=3, help="词语至少出现几次（默认 3）/ minimum occurrences")
    parser.add_argument("--stoplist", action="append", default=[], metavar="FILE",
                        help="追加的停用词 YAML（stop: {groups: …}）/ extra stop list (repeatable)")
    parser.add_argument("--ocr", choices=["off", "auto"], default="off",
                        help="需要重新读取文件时是否 OCR（默认 off）/ OCR when files must be read again")
    parser.add_argument("--count-scan-only", action="store_true",
                        help="比对时也计入只在扫描页上的标注 / count scan-only labels even without OCR")
    parser.add_argument("--json", action="store_true", help="输出 JSON（不输出终端报告）/ print JSON instead")
    parser.add_argument("--html", metavar="OUT", help="另存 HTML 报告 / also write an HTML report")
    parser.add_argument("--all", action="store_true", help="终端报告列出全部条目 / list everything in the terminal")
    parser.add_argument("--strict", action="store_true", help="有警告也以 1 退出 / exit 1 on warnings too")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..audit.render import print_audit, render_audit_html
    from ..audit.report import AuditOptions, run_audit
    from ..errors import XdtError

    if args.top < 1 or args.min_count < 1:
        raise XdtError("--top 与 --min-count 须为正整数", "--top and --min-count must be positive")
    options = AuditOptions(framework=args.framework, keywords=args.keywords, results=args.results, gold=args.gold,
                           docs=args.docs, cache=args.cache, vocabulary=not args.no_vocabulary, top=args.top,
                           min_count=args.min_count, stoplists=args.stoplist, ocr=args.ocr,
                           count_scan_only=args.count_scan_only)
    report = run_audit(options)
    if args.html:
        from ..fsutil import atomic_write_text

        atomic_write_text(Path(args.html), render_audit_html(report))
    if args.json:
        print(report.model_dump_json(indent=2))
    else:
        print_audit(report, show_all=args.all)
        if args.html:
            print(f"HTML 报告 / HTML report: {args.html}")
    return report.exit_code(strict=args.strict)
