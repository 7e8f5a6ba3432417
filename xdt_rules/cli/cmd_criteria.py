from __future__ import annotations

import argparse
import json

from .options import add_framework_arguments, framework_of

HELP = "显示评价框架（要素/板块/评价项及分值）/ print the criteria tree with points"


def register(parser: argparse.ArgumentParser) -> None:
    add_framework_arguments(parser)
    parser.add_argument("--json", action="store_true", help="输出 JSON / print JSON")
    parser.add_argument("--text", action="store_true", help="显示评价内容全文 / show the official text of each item")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    catalogue = framework_of(args).catalogue
    if args.json:
        print(json.dumps([item.model_dump() for item in catalogue.items], ensure_ascii=False, indent=2))
        return 0
    table = Table(title=f"{catalogue.spec.name}（{catalogue.id}，满分 {catalogue.spec.total:g}）", show_lines=False)
    table.add_column("编号 ID", no_wrap=True)
    table.add_column("名称 Name")
    table.add_column("权重 Weight", justify="right")
    table.add_column("分值 Points", justify="right")
    if args.text:
        table.add_column("评价内容 Text")
    for element in catalogue.spec.elements:
        extra = ["—"] if args.text else []
        note = "（综合评估）" if element.holistic else ""
        table.add_row(f"[bold]{element.id}[/]", f"[bold]{element.name}{note}[/]", f"{element.weight:g}%",
                      f"[bold]{catalogue.element_max(element.id):.2f}[/]", *extra)
        for section in element.sections:
            table.add_row(f"  {section.id}", section.name, f"{section.weight:g}%",
                          f"{catalogue.section_max(section.id):.2f}", *extra)
            for spec_item in section.items:
                item = catalogue.item(spec_item.id)
                extra_text = [item.text] if args.text else []
                table.add_row(f"    {item.id}", item.name, "", f"{item.points:.4g}", *extra_text)
    Console().print(table)
    return 0
