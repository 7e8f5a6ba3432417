"""Reading options shared by the verbs that read files (extract, evidence, screen, batch)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..framework import Framework
    from ..ingest import ExtractOptions


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("必须大于 0 / must be positive")
    return value


def _dpi(text: str) -> int:
    value = int(text)
    if not 72 <= value <= 600:
        raise argparse.ArgumentTypeError("应在 72–600 之间 / must be between 72 and 600")
    return value


def add_extract_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("读取选项 / reading")
    group.add_argument("--password", default=None, help="加密 PDF 的密码 / password of encrypted PDFs")
    group.add_argument("--max-mb", type=_positive_float, default=None, metavar="MB",
                       help="单个文件大小上限（默认 200）/ file size limit in MB (default 200)")
    group.add_argument("--ocr", choices=["auto", "off", "force"], default="auto",
                       help="扫描页与图片识别：auto（默认，需 [ocr] 组件）/ off / force（所有 PDF 页重新识别）"
                            " / OCR of scans and images")
    group.add_argument("--ocr-dpi", type=_dpi, default=None, metavar="DPI",
                       help="扫描页识别分辨率（默认 200）/ rendering resolution for OCR (default 200)")


def extract_options(args: argparse.Namespace, **extra: object) -> "ExtractOptions":
    from ..ingest import ExtractOptions

    settings: dict[str, object] = {"password": args.password, "ocr": args.ocr, **extra}
    if args.max_mb is not None:
        settings["max_file_mb"] = args.max_mb
    if args.ocr_dpi is not None:
        settings["ocr_dpi"] = args.ocr_dpi
    return ExtractOptions(**settings)


def add_framework_arguments(parser: argparse.ArgumentParser) -> None:
    from ..datapaths import DEFAULT_FRAMEWORK

    group = parser.add_argument_group("评价框架 / framework")
    group.add_argument("--framework", default=DEFAULT_FRAMEWORK,
                       help=f"评价框架 ID 或路径（默认 {DEFAULT_FRAMEWORK}）/ framework ID or path")
    group.add_argument("--keywords", metavar="DIR", default=None,
                       help="关键词目录（默认随程序）/ keywords folder (default: the shipped one)")


def framework_of(args: argparse.Namespace) -> "Framework":
    """The framework the verb works with, loaded and validated once."""
    from ..framework import load_framework

    return load_framework(args.framework, args.keywords)
