"""``xdt extract FILE``: what ingestion reads from one file (type, pages, blocks, warnings)."""

from __future__ import annotations

import argparse
import json
from collections import Counter

from .options import add_extract_arguments, extract_options

HELP = "读取单个文件并显示提取结果（文件类型、页面状态、文本块）/ extract one file and show what was read"

STATUS_ZH = {"ok": "正常", "no_text_layer": "无文字层", "garbled": "乱码", "ocr": "已OCR", "empty": "空白"}
KIND_ZH = {"paragraph": "段落", "heading": "标题", "list_item": "列表项", "table_cell": "表格单元格", "header": "页眉",
           "footer": "页脚", "footnote": "脚注", "text_box": "文本框", "content_control": "内容控件",
           "sheet_cell": "工作表单元格", "ocr_line": "OCR行"}
PREVIEW_BLOCKS = 12
PREVIEW_CHARS = 80


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="PDF / DOCX / XLSX / TXT / MD / 图片 / .doc / .wps")
    parser.add_argument("--json", action="store_true", help="输出 Document JSON / print the Document as JSON")
    add_extract_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from ..ingest import extract

    document = extract(args.file, extract_options(args))
    if args.json:
        print(json.dumps(document.model_dump(mode="json"), ensure_ascii=False, indent=2))
        return 0
    _summary(document)
    return 0


def _summary(document) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console()
    pages = f"，{document.pages} 页" if document.pages is not None else ""
    console.print(Text(f"{document.name}", style="bold"), Text(f"  类型 {document.file_type}{pages}，"
                  f"{len(document.blocks)} 个文本块，{document.text_chars} 字符，{document.size:,} 字节"))
    console.print(f"sha256 {document.sha256}", style="dim")
    console.print(f"extractor {document.extractor_version}", style="dim")

    if document.page_info:
        counts = Counter((b.page, b.kind) for b in document.blocks)
        table = Table(title="页面 / pages", show_lines=False)
        table.add_column("页 Page", justify="right")
        table.add_column("状态 Status")
        table.add_column("字符 Chars", justify="right")
        table.add_column("文本块 Blocks")
        for info in document.page_info:
            kinds = "，".join(f"{KIND_ZH.get(k, k)} {n}" for (page, k), n in sorted(counts.items(), key=str)
                             if page == info.number)
            style = "" if info.status == "ok" else "yellow"
            table.add_row(str(info.number), Text(STATUS_ZH.get(info.status, info.status), style=style),
                          str(info.chars), kinds or "—")
        console.print(table)
        for info in document.page_info:
            if info.status != "ok":
                console.print(Text(f"第 {info.number} 页 {STATUS_ZH.get(info.status, info.status)}：{info.reason or ''}",
                                   style="yellow"), soft_wrap=True)
    else:
        kinds = Counter(b.kind for b in document.blocks)
        console.print("文本块 / blocks: " + "，".join(f"{KIND_ZH.get(k, k)} {n}" for k, n in kinds.most_common()))

    if document.blocks:
        preview = Table(title=f"前 {min(PREVIEW_BLOCKS, len(document.blocks))} 个文本块 / first blocks", show_lines=False)
        preview.add_column("#", justify="right")
        preview.add_column("类型 Kind")
        preview.add_column("位置 Where")
        preview.add_column("文本 Text")
        for block in document.blocks[:PREVIEW_BLOCKS]:
            where = []
            if block.page is not None:
                where.append(f"p{block.page}")
            if block.sheet is not None:
                where.append(block.sheet)
            if block.table is not None:
                where.append(f"表{block.table}")
            if block.row is not None:
                where.append(f"r{block.row}c{block.col}")
            text = block.text.replace("\n", "⏎")
            if len(text) > PREVIEW_CHARS:
                text = text[:PREVIEW_CHARS] + "…"
            preview.add_row(str(block.index), KIND_ZH.get(block.kind, block.kind), " ".join(where), Text(text))
        console.print(preview)
    else:
        console.print("未提取到文本 / no text extracted", style="yellow")
    for warning in document.warnings:
        console.print(Text(f"警告 / warning: {warning}", style="yellow"), soft_wrap=True)
