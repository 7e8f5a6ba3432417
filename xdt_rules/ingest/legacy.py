"""Legacy OLE files (.doc, .wps, .xls): converted with LibreOffice when it is installed.

There is no maintained pure-Python reader for Word 97 binaries; LibreOffice converts them
faithfully. Without it the reviewer is told how to convert the file by hand.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import IngestError
from ..models import PageInfo
from .limits import CONVERT_TIMEOUT_S
from .structure import BlockSink

if TYPE_CHECKING:
    from . import ExtractOptions

_TARGET = {"doc": "docx", "wps": "docx", "xls": "xlsx"}


def find_soffice() -> str | None:
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    return None


def convert(path: Path, file: str, target: str, soffice: str, outdir: Path) -> Path:
    # A private profile directory: concurrent conversions (batch workers) would otherwise
    # fight over the user's LibreOffice profile lock and silently do nothing.
    profile = outdir / "lo-profile"
    command = [soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
               "--convert-to", target, "--outdir", str(outdir), str(path.resolve())]
    try:
        subprocess.run(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=CONVERT_TIMEOUT_S, check=False, env={**os.environ, "HOME": str(outdir)})
    except subprocess.TimeoutExpired as exc:
        raise IngestError(f"LibreOffice 转换超时（{CONVERT_TIMEOUT_S} 秒）", "LibreOffice conversion timed out",
                          file=file, code="conversion_failed") from exc
    except OSError as exc:
        raise IngestError("无法运行 LibreOffice", f"cannot run LibreOffice ({exc})", file=file,
                          code="conversion_failed") from exc
    produced = outdir / f"{path.stem}.{target}"
    if not produced.is_file():
        raise IngestError("LibreOffice 未能转换该文件（文件可能已损坏）", "LibreOffice could not convert the file",
                          file=file, code="conversion_failed")
    return produced


def extract_legacy(path: Path, file: str, kind: str, options: ExtractOptions,
                   sink: BlockSink) -> tuple[str, int | None, list[PageInfo], list[str]]:
    target = _TARGET[kind]
    label = {"doc": "Word 97-2003（.doc）", "wps": "WPS 文字（.wps）", "xls": "Excel 97-2003（.xls）"}[kind]
    soffice = find_soffice()
    if soffice is None:
        raise IngestError(f"{label} 为旧格式，需要转换：请用 WPS/Word 另存为 .{target} 后重新提交（或安装 LibreOffice）",
                          f"legacy format; save as .{target} in WPS/Word and resubmit (or install LibreOffice)",
                          file=file, code="needs_conversion")
    with tempfile.TemporaryDirectory(prefix="xdt-convert-") as tmp:
        outdir = Path(tmp)
        # Copy under a plain name: LibreOffice derives the output name from the input name.
        source = outdir / f"input.{kind}"
        shutil.copyfile(path, source)
        produced = convert(source, file, target, soffice, outdir)
        if target == "docx":
            from .docx import extract_docx

            warnings = extract_docx(produced, file, sink)
        else:
            from .xlsx import extract_xlsx

            warnings = extract_xlsx(produced, file, sink)
    warnings.insert(0, f"已用 LibreOffice 将 {label} 转换为 .{target} 后读取 / converted to .{target} with LibreOffice")
    return target, None, [], warnings
