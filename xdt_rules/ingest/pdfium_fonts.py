"""pdfium sees the fonts shipped with the package and nothing else: same text, same crops on
every machine.

A PDF that does not embed its fonts (reportlab's ``STSong-Light``, many Office exports) is drawn
and read by pdfium with a substitute from the machine's font folders. Text extraction is not
immune: pdfium builds its text page from the glyph boxes of the substitute, and with no CJK font
installed characters are dropped (a table cell's ``AR远程协助`` became ``AR远程协``, 20 of the 61
sample PDFs read differently, 12 of 35 sample results changed). So the library is (re)started
with ``m_pUserFontPaths`` pointing at ``fonts/`` beside this module (WenQuanYi Micro Hei, a free
CJK font with Latin glyphs; see ``fonts/README.md``), which REPLACES pdfium's system folders
(/usr/share/fonts…); the standard PDF fonts (Helvetica, Times…) are built into pdfium itself.

pypdfium2 initialises pdfium when it is imported, with the system folders; :func:`use_package_fonts`
destroys that instance and initialises it again, once per process, before any document is
opened (it refuses to when documents are open: destroying the library would invalidate them).
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import threading
from pathlib import Path

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONT_FILE = "wqy-microhei.ttc"
FONT_SHA256 = "2420e8078af796b19a3f6ef13de527a1a91c1e7171eea115926c614ced1009b3"

_log = logging.getLogger(__name__)
_lock = threading.Lock()
_state: str | None = None  # "package" once done; the reason otherwise
_paths_keepalive: object = None  # pdfium reads the path array lazily: it must outlive the library


class FontSetupError(RuntimeError):
    pass


def font_path() -> Path:
    return FONT_DIR / FONT_FILE


def check_font() -> None:
    """The shipped font is there and is the one this code was tested with."""
    path = font_path()
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise FontSetupError(f"随程序提供的中文字体缺失：{path}（{exc.strerror}）/ the bundled CJK font is missing") from None
    if digest != FONT_SHA256:
        raise FontSetupError(f"随程序提供的中文字体已被改动：{path} / the bundled CJK font was changed")


def _open_objects() -> bool:
    """Whether pypdfium2 tracks open documents or pages (then the library must not be restarted)."""
    try:
        from pypdfium2.internal import bases
    except ImportError:  # pragma: no cover - another pypdfium2 layout: assume the worst
        return True
    tracker = getattr(bases, "ObjectTracker", None)
    if tracker is None:  # pragma: no cover
        return False
    try:
        return any(bool(refs) for refs in tracker.values())
    except Exception:  # noqa: BLE001 - unknown tracker shape
        return True


def use_package_fonts() -> str:
    """Restart pdfium with the package's font folder as its only font folder. Idempotent;
    returns "package" when done. Raises :class:`FontSetupError` when it cannot be done — a
    result that depends on the machine's fonts is not acceptable, so nothing is read then."""
    global _state, _paths_keepalive
    if _state == "package":
        return _state
    with _lock:
        if _state == "package":
            return _state
        check_font()
        import pypdfium2 as pdfium  # noqa: F401 - initialises the library with the system folders
        import pypdfium2.raw as pdfium_c

        if _open_objects():
            raise FontSetupError("PDF 库已有打开的文档，无法切换到随程序提供的字体；请先导入 xdt_rules.ingest 再打开 PDF / "
                                 "pdfium has open documents; import xdt_rules.ingest before opening PDFs")
        folder = os.fsencode(str(FONT_DIR))
        array = (ctypes.c_char_p * 2)(folder, None)
        config = pdfium_c.FPDF_LIBRARY_CONFIG()
        config.version = 2
        config.m_pUserFontPaths = ctypes.cast(array, type(config.m_pUserFontPaths))
        config.m_pIsolate = None
        config.m_v8EmbedderSlot = 0
        _paths_keepalive = (array, folder)
        # pypdfium2 keeps its own "library available" flag and destroys the library at exit once:
        # destroy + init here leaves that balance as it was.
        try:
            from pypdfium2.internal import bases
        except ImportError:  # pragma: no cover - another pypdfium2 layout
            bases = None
        if bases is None or getattr(bases, "LIBRARY_AVAILABLE", True):
            pdfium_c.FPDF_DestroyLibrary()
        pdfium_c.FPDF_InitLibraryWithConfig(ctypes.byref(config))
        if bases is not None and hasattr(bases, "LIBRARY_AVAILABLE"):
            bases.LIBRARY_AVAILABLE = True
        _state = "package"
        _log.debug("pdfium restarted with the package fonts in %s", FONT_DIR)
        return _state
