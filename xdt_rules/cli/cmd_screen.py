from __future__ import annotations

import argparse
from pathlib import Path

from .options import add_extract_arguments, add_framework_arguments, extract_options, framework_of

HELP = "预审申报材料，输出 JSON 与 HTML 报告 / screen applications: JSON result + HTML report per application"


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("apps", nargs="+", metavar="APP",
                        help="申报材料：一个文件，或一个文件夹（申报书+佐证材料）/ a file, or a folder = one application")
    parser.add_argument("--out", required=True, metavar="DIR", help="输出目录 / output folder")
    add_framework_arguments(parser)
    parser.add_argument("--no-crops", action="store_true", help="报告中不嵌入 PDF 原文截图 / no PDF crops in the HTML")
    add_extract_arguments(parser)


def _unique(name: str, used: set[str]) -> str:
    """Two applications with the same name (two folders called 申报材料) get distinct outputs."""
    candidate, n = name, 2
    while candidate in used:
        candidate, n = f"{name}-{n}", n + 1
    used.add(candidate)
    return candidate


def run(args: argparse.Namespace) -> int:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    import sys

    from ..errors import XdtError
    from ..screen import ScreenSettings, collect_application, plain_reader, screen_application, write_outputs

    # Piped output is not wrapped by a terminal: do not squeeze the table into 80 columns.
    console = Console() if sys.stdout.isatty() else Console(width=160)
    errs = Console(stderr=True)
    settings = ScreenSettings(crops=not args.no_crops, extract=extract_options(args))
    # Data problems first: errors stop here (file and line), rule warnings are shown once.
    framework = framework_of(args)
    reader = plain_reader(framework, settings.extract)
    for issue in framework.rules.report.warnings:
        errs.print(f"[yellow]{issue.one_line()}[/]", markup=True, highlight=False, soft_wrap=True)
    out = Path(args.out)
    used: set[str] = set()
    rows = []
    anything_read = False
    for given in args.apps:
        try:
            app = collect_application(given)
        except XdtError as exc:
            errs.print(f"[red]错误 / error:[/] {exc.one_line()}", markup=True, highlight=False, soft_wrap=True)
            continue
        app = app.model_copy(update={"name": _unique(app.name, used)})
        outcome = screen_application(app, framework, read=reader)
        paths = write_outputs(outcome, out, framework, settings)
        result = outcome.result
        read = sum(1 for f in result.files if not f.error)
        anything_read = anything_read or read > 0
        rows.append((result, paths))
        for error in result.errors:
            errs.print(f"[yellow]{result.application}[/]: {error}", markup=True, highlight=False, soft_wrap=True)
    if not rows:
        raise XdtError("没有可预审的申报材料", "no application could be screened")
    table = Table(title="预审结果（初步，须人工确认）/ preliminary — a reviewer must confirm", title_justify="left",
                  box=box.SIMPLE_HEAD, pad_edge=False,
                  caption="1–5：各要素得分；状态：已具备/较弱/规划/未具备/未找到 的项数；确认：需人工确认的项数",
                  caption_justify="left")
    table.add_column("申报 Application", overflow="fold", min_width=12)
    table.add_column("总分", justify="right")
    for element in rows[0][0].elements:
        table.add_column(element.id, justify="right")
    table.add_column("状态", justify="right", no_wrap=True)
    table.add_column("确认", justify="right")
    table.add_column("错误", justify="right")
    for result, _ in rows:
        counts = "/".join(str(sum(1 for i in result.items if i.status == s))
                          for s in ("met", "partial", "planned", "negated", "not_found"))
        confirm = sum(1 for i in result.items if i.needs_confirmation)
        table.add_row(result.application, f"{result.total.score:.1f}", *[f"{e.score:.1f}" for e in result.elements],
                      counts, str(confirm), str(len(result.errors)) if result.errors else "")
    console.print(table)
    console.print(f"输出 / written to: {out}", soft_wrap=True, highlight=False)
    if not anything_read:
        errs.print("[red]没有任何文件可以读取 / nothing could be read[/]", markup=True, soft_wrap=True)
        return 1
    return 0
