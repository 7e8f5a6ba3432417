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
    parser.add_argument("--one-application", action="store_true",
                        help="文件夹即使看起来像一批申报（多个子文件夹各有申报书），也作为一份申报 / "
                             "treat a folder as one application even if it looks like a batch")
    add_extract_arguments(parser)


def _unique(name: str, used: set[str]) -> str:
    """Two applications with the same name (two folders called 申报材料) get distinct outputs,
    also when the names differ only where a file name cannot (a?b, a*b) or in case."""
    from ..screen import output_stem

    candidate, n = name, 2
    while output_stem(candidate).casefold() in used:
        candidate, n = f"{name}-{n}", n + 1
    used.add(output_stem(candidate).casefold())
    return candidate


def _batch_like(given: str) -> str | None:
    """Why ``given`` is refused as one application: a folder of applications (use xdt batch)."""
    from ..batch.inputs import batch_like_subfolders

    folder = Path(given)
    if not folder.is_dir():
        return None
    parts = batch_like_subfolders(folder)
    if not parts:
        return None
    shown = "、".join(parts[:3]) + ("…" if len(parts) > 3 else "")
    return (f"{given}: 这个文件夹看起来是一批申报（{len(parts)} 个子文件夹或压缩包各有申报材料：{shown}），"
            f"合在一起预审会把它们算成一份；请用 xdt batch {given} --out 输出目录，"
            f"若确实是一份申报请加 --one-application / this folder looks like a batch of {len(parts)} applications; "
            f"screening it would merge them into one. Use `xdt batch {given} --out OUT`, or --one-application "
            f"if it really is one application")


def run(args: argparse.Namespace) -> int:
    from rich import box
    from rich.console import Console
    from rich.markup import escape
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
        refused = None if args.one_application else _batch_like(given)
        if refused:
            errs.print(f"[red]错误 / error:[/] {escape(refused)}", markup=True, highlight=False, soft_wrap=True)
            continue
        try:
            app = collect_application(given)
        except XdtError as exc:
            errs.print(f"[red]错误 / error:[/] {escape(exc.one_line())}", markup=True, highlight=False, soft_wrap=True)
            continue
        app = app.model_copy(update={"name": _unique(app.name, used)})
        outcome = screen_application(app, framework, read=reader)
        paths = write_outputs(outcome, out, framework, settings)
        result = outcome.result
        read = sum(1 for f in result.files if not f.error)
        anything_read = anything_read or read > 0
        rows.append((result, paths))
        for error in result.errors:
            errs.print(f"[yellow]{escape(result.application)}[/]: {escape(error)}", markup=True, highlight=False,
                       soft_wrap=True)
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
        if not any(not f.error for f in result.files):  # nothing read: no score to show
            table.add_row(escape(result.application), "[red]无法评分[/]", *["—" for _ in result.elements], "—", "—",
                          str(len(result.errors)) if result.errors else "")
            continue
        table.add_row(escape(result.application), f"{result.total.score:.1f}", *[f"{e.score:.1f}" for e in result.elements],
                      counts, str(confirm), str(len(result.errors)) if result.errors else "")
    console.print(table)
    console.print(f"输出 / written to: {out}", soft_wrap=True, highlight=False)
    if not anything_read:
        errs.print("[red]没有任何文件可以读取 / nothing could be read[/]", markup=True, soft_wrap=True)
        return 1
    return 0
