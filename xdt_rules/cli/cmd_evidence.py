from __future__ import annotations

import argparse
import json
from pathlib import Path

from .options import add_extract_arguments, add_framework_arguments, extract_options, framework_of

HELP = "找出申报材料中每个评价项的证据句 / show the evidence found for each criterion"

_POLARITY_ZH = {
    "implemented": "已实现",
    "planned": "规划",
    "negated": "缺失",
    "generic": "泛指",
    "restates_criteria": "照抄评价内容",
}
_KIND_ZH = {"term": "术语", "entity": "产品", "quantity": "量化", "fuzzy": "模糊", "cue": "模式", "model": "按描述"}
_STYLE = {"implemented": "green", "planned": "yellow", "negated": "red", "generic": "dim", "restates_criteria": "magenta"}


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="FILE_OR_DIR", help="申报文件或文件夹（含其中全部文件）/ a file, or a folder (all its files)")
    parser.add_argument("--json", action="store_true", help="输出 JSON / print JSON")
    parser.add_argument("--item", action="append", metavar="ID", help="只看这些评价项 / only these items (repeatable)")
    parser.add_argument("--polarity", action="append", choices=sorted(_POLARITY_ZH),
                        help="只看这些判定 / only these polarities (repeatable)")
    add_extract_arguments(parser)
    add_framework_arguments(parser)


def _files(path: Path) -> tuple[list[Path], list[tuple[str, str]]]:
    """The files to read and the entries refused (symbolic links inside a folder are not followed)."""
    from ..errors import XdtError
    from ..fsutil import scan_folder

    if path.is_file():
        return [path], []
    if path.is_dir():
        return scan_folder(path, lambda parts, folder: any(part.startswith((".", "~$")) for part in parts))
    raise XdtError(f"找不到文件或文件夹：{path}", f"no such file or folder: {path}")


def _marked(m: object) -> str:
    from rich.markup import escape

    sentence, start, end = m.sentence, m.start - m.sentence_start, m.end - m.sentence_start  # type: ignore[attr-defined]
    text = escape(sentence[:start]) + "[reverse]" + escape(sentence[start:end]) + "[/reverse]" + escape(sentence[end:])
    return text.replace("\n", "⏎")


def run(args: argparse.Namespace) -> int:
    from ..errors import IngestError, XdtError
    from ..evidence import find_evidence
    from ..ingest import extract

    framework = framework_of(args)
    catalogue = framework.catalogue
    for item_id in args.item or []:
        if item_id not in catalogue:
            raise XdtError(f"未知评价项编号 {item_id}", f"unknown item ID {item_id}")
    options = extract_options(args)
    documents = []
    files: list[dict[str, object]] = []
    paths, refused = _files(Path(args.path))
    for rel, reason in refused:
        files.append({"path": rel, "error": f"{rel}: {reason}"})
    for path in paths:
        try:
            document = extract(path, options)
        except IngestError as exc:
            files.append({"path": str(path), "error": exc.one_line()})
            continue
        documents.append(document)
        files.append({"path": document.path, "sha256": document.sha256, "pages": document.pages})
    mentions = find_evidence(documents, framework)
    if args.item:
        mentions = [m for m in mentions if m.item_id in args.item]
    if args.polarity:
        mentions = [m for m in mentions if m.polarity in args.polarity]
    order = {item_id: n for n, item_id in enumerate(catalogue.item_ids)}
    mentions.sort(key=lambda m: order[m.item_id])  # stable: document order within an item
    if args.json:
        _print_json(framework.fingerprint, files, mentions)
        return 0 if documents or not files else 1
    _table(catalogue, mentions, files)
    return 0 if documents or not files else 1


def _print_json(rules_version: str, files: list[dict[str, object]], mentions: list) -> None:
    """The same text as ``json.dumps({...}, indent=2)``, written one mention at a time: the whole
    payload as one string took as much memory again as finding the evidence (400 MB for a 5 MB
    text)."""
    import sys

    write = sys.stdout.write
    head = json.dumps({"rules_version": rules_version, "files": files}, ensure_ascii=False, indent=2)
    write(head[:-2] + ",\n  \"mentions\": [")
    for n, mention in enumerate(mentions):
        text = json.dumps(mention.model_dump(mode="json"), ensure_ascii=False, indent=2)
        write(("," if n else "") + "\n    " + text.replace("\n", "\n    "))
    write("\n  ]\n}\n" if mentions else "]\n}\n")


def _table(catalogue: object, mentions: list, files: list[dict[str, object]]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    for record in files:
        if record.get("error"):
            console.print(f"[red]无法读取 / unreadable[/]: {escape(str(record['error']))}")
    table = Table(title=f"证据 / evidence（{len(mentions)} 处，{sum(1 for f in files if not f.get('error'))} 个文件）",
                  show_lines=True)
    for header in ("评价项 Item", "词 Term", "类型 Kind", "判定 Polarity", "位置 Where", "句子 Sentence"):
        table.add_column(header, overflow="fold")
    last_item = None
    for m in mentions:
        item = catalogue.item(m.item_id)  # type: ignore[attr-defined]
        shown_item = f"{m.item_id} {item.name}" if m.item_id != last_item else ""
        last_item = m.item_id
        where = f"{Path(m.file).name} " + (f"第{m.page}页" if m.page else "") + f" 块{m.block}"
        style = _STYLE[m.polarity]
        polarity = f"[{style}]{_POLARITY_ZH[m.polarity]}[/]" + (f"\n[dim]{escape(m.cue)}[/]" if m.cue else "")
        kind = _KIND_ZH[m.kind] + (" OCR" if m.ocr else "") + (f" {m.confidence:.2f}" if m.confidence < 1 else "")
        table.add_row(escape(shown_item), escape(m.term), kind, polarity, escape(where), _marked(m))
    console.print(table)
    found = sorted({m.item_id for m in mentions if m.polarity == "implemented"}, key=catalogue.item_ids.index)  # type: ignore[attr-defined]
    console.print(f"有“已实现”证据的评价项 / items with implemented evidence: {len(found)} / {len(catalogue.item_ids)}")  # type: ignore[attr-defined]
