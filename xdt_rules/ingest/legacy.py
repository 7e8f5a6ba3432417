"""LibreOffice: legacy OLE files (.doc, .wps, .xls) converted for reading, and Word files laid
out as PDF pages for the report's evidence crops, when it is installed.

There is no maintained pure-Python reader for Word 97 binaries; LibreOffice converts them
faithfully. Without it the reviewer is told how to convert the file by hand.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

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


# ---------------------------------------------------------------------- page layout for crops

# LibreOffice lays out text with the fonts fontconfig offers it. Offered only the font the package
# ships (every family asked for is that one), a Word file is laid out alike on every machine with
# the same LibreOffice, and its Chinese is never drawn as empty boxes for want of a system font.
_FONTS_CONF = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <dir>{fonts}</dir>
  <cachedir>{cache}</cachedir>
  <match target="pattern"><edit name="family" mode="assign" binding="strong"><string>{family}</string></edit></match>
</fontconfig>
"""
_FONT_FAMILY = "WenQuanYi Micro Hei"
_render_lock = threading.Lock()  # one LibreOffice profile per process: its runs must not overlap
_workspace: Path | None = None


def _process_workspace() -> Path:
    """A profile and font configuration kept for the process's life: LibreOffice starts twice as
    fast with a profile it made before (1.2 s instead of 2.5 s for a 9-page application)."""
    global _workspace
    if _workspace is None or not _workspace.is_dir():
        from .pdfium_fonts import FONT_DIR

        root = Path(tempfile.mkdtemp(prefix="xdt-lo-"))
        (root / "fonts.conf").write_text(_FONTS_CONF.format(fonts=escape(str(FONT_DIR)), cache=escape(str(root / "fc")),
                                                            family=_FONT_FAMILY), encoding="utf-8")
        atexit.register(shutil.rmtree, root, True)
        _workspace = root
    return _workspace


def render_pdf(sources: Sequence[tuple[Path, str]], outdir: Path, soffice: str, *,
               timeout: float) -> list[Path | None]:
    """Lay out Word files (``(path, kind)``, kind docx/doc/wps) as PDF in ``outdir``, in one
    LibreOffice run; the PDF of each, or None where LibreOffice made none. Raises OSError or
    subprocess.TimeoutExpired when LibreOffice cannot run."""
    outdir.mkdir(parents=True, exist_ok=True)
    inputs = []
    for number, (path, kind) in enumerate(sources):
        # plain names: LibreOffice names its output after the input, and two files may share a name
        target = outdir / f"doc{number}.{kind}"
        shutil.copyfile(path, target)
        inputs.append(str(target))
    with _render_lock:
        workspace = _process_workspace()
        command = [soffice, f"-env:UserInstallation={(workspace / 'profile').as_uri()}", "--headless", "--norestore",
                   "--convert-to", "pdf", "--outdir", str(outdir), *inputs]
        env = {**os.environ, "HOME": str(workspace), "FONTCONFIG_FILE": str(workspace / "fonts.conf")}
        _run_group(command, env, timeout)
    made = [outdir / f"doc{number}.pdf" for number in range(len(sources))]
    return [pdf if pdf.is_file() and pdf.stat().st_size > 0 else None for pdf in made]


def _run_group(command: list[str], env: dict[str, str], timeout: float) -> None:
    """Run LibreOffice in a process group of its own: ``soffice`` is a launcher whose worker
    (soffice.bin) would outlive a timeout that killed only the launcher."""
    import signal

    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env=env, start_new_session=True)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except OSError:
            pass
        process.wait()
        raise
