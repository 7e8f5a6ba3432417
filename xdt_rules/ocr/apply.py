"""``apply_ocr``: the OCR stage ingestion calls at the end of ``extract()``.

What is read:
* PDF pages that ingestion flagged ``no_text_layer`` or ``garbled`` (their garbage is not in the
  blocks); with ``ocr="force"`` every PDF page, replacing its text layer;
* image files (one flagged page per frame);
* images embedded in a DOCX (``word/media/*``) when the document has little text of its own
  (a Word file wrapping scans), or always with ``ocr="force"``.

What comes back is a NEW Document: the OCR'd pages' blocks are OCR blocks (``source="ocr"``,
``ocr_confidence``, ``page``, line boxes in PDF points, top-left origin), blocks are re-indexed in
page order, and the page status is ``ocr`` (or ``empty`` for a blank scan, with a reason).
Nothing here raises for bad input: a page that cannot be rendered or read is a warning for that
page, and a missing ``[ocr]`` extra leaves the pages flagged with one warning per file.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..ingest.limits import DOCX_LITTLE_TEXT_CHARS
from ..models import Block, Document, PageInfo
from . import engine as _engine
from .cache import CachedPage, OcrCache, cache_key, image_digest
from .grid import GridTable, find_tables
from .layout import LAYOUT_VERSION, PageGeometry, lines_to_blocks
from .sources import (MIN_EMBEDDED_IMAGE_AREA, MIN_EMBEDDED_IMAGE_SIDE, ImageSourceError, big_enough,
                      docx_images, image_dpi, image_size, open_image, read_docx_member, render_pdf_page)

DEFAULT_DPI = 200
MIN_DPI, MAX_DPI = 72, 600
FLAGGED: frozenset[str] = frozenset({"no_text_layer", "garbled"})
# A DOCX with fewer characters than this is mostly pictures (a Word file wrapping scanned pages,
# certificates, invoices): its embedded images are OCR'd. A full 申报书 has tens of thousands of
# characters; OCRing every logo and chart in it would cost seconds per image for nothing.
# Below this mean confidence a page's OCR text is flagged for a person to check.
LOW_CONFIDENCE = 0.80
# Pixels → points for images that declare no resolution: 1 px = 1 pt (the scale is recorded in
# PageInfo.width/height, so report crops map boxes back to pixels exactly).
FALLBACK_IMAGE_DPI = 72.0

NEEDS_OCR_PREFIX = "需要OCR（"
MISSING_EXTRA_ZH = f"{NEEDS_OCR_PREFIX}未安装 xdt-rules[ocr]）"
MISSING_EXTRA_EN = 'OCR needed (install "xdt-rules[ocr]")'


@dataclass
class _Target:
    kind: Literal["pdf_page", "image_page", "docx_image"]
    page: int | None = None  # 1-based page / frame
    flagged: bool = True  # False: a page with a text layer OCR'd only because of ocr="force"
    media: str | None = None  # zip member for DOCX images


@dataclass
class _Outcome:
    blocks: list[Block] = field(default_factory=list)
    page_updates: dict[int, dict[str, Any]] = field(default_factory=dict)
    replaced_pages: set[int] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)
    unavailable: list[_Target] = field(default_factory=list)
    unavailable_reason: str = ""


def _opt(options: Any, name: str, default: Any) -> Any:
    value = getattr(options, name, default) if options is not None else default
    return default if value is None else value


def _pages_text(pages: list[int]) -> tuple[str, str]:
    return "、".join(str(p) for p in pages), ", ".join(str(p) for p in pages)


def _plan(document: Document, path: Path, mode: str) -> tuple[list[_Target], list[str]]:
    """What to OCR, and the names of embedded media that cannot be OCR'd (for a warning)."""
    if document.file_type in ("pdf", "image"):
        kind: Literal["pdf_page", "image_page"] = "pdf_page" if document.file_type == "pdf" else "image_page"
        infos = document.page_info or [PageInfo(number=1, status="no_text_layer")]
        targets = []
        for info in infos:
            flagged = info.status in FLAGGED
            # force re-reads PDF pages with a text layer; an image page always needs OCR.
            if flagged or mode == "force" or kind == "image_page":
                targets.append(_Target(kind=kind, page=info.number, flagged=flagged or kind == "image_page"))
        return targets, []
    if document.file_type == "docx" and (mode == "force" or document.text_chars < DOCX_LITTLE_TEXT_CHARS):
        try:
            images, skipped = docx_images(path)
        except ImageSourceError:
            return [], []
        return [_Target(kind="docx_image", media=name) for name in images], skipped
    return [], []


def _image_for(target: _Target, path: Path, dpi: int, password: str | None) -> tuple[Any, int]:
    """The image to OCR and the dpi that goes into the cache key (0: the image's own pixels)."""
    if target.kind == "pdf_page":
        return render_pdf_page(path, target.page or 1, dpi, password), dpi
    if target.kind == "image_page":
        return open_image(path, frame=(target.page or 1) - 1), 0
    return open_image(read_docx_member(path, target.media or "")), 0


@dataclass
class OcrWork:
    """Pages (or images) the engine read in this process and the seconds it took; pages served
    from the OCR cache are not counted. The batch reports the difference around each file."""

    pages: int = 0
    seconds: float = 0.0


_work = OcrWork()
_work_lock = threading.Lock()


def ocr_work_done() -> OcrWork:
    """A copy of this process's running totals (see :class:`OcrWork`)."""
    with _work_lock:
        return OcrWork(_work.pages, _work.seconds)


def _recognise(image: Any, key_dpi: int, cache: OcrCache) -> CachedPage:
    version = _engine.engine_version()
    key = cache_key(image_digest(image), version, key_dpi)
    cached = cache.get(key)
    if cached is not None:
        return cached
    started = time.perf_counter()
    rotation, lines = _engine.upright_recognise(_engine.get_engine(), image)
    with _work_lock:
        _work.pages += 1
        _work.seconds += time.perf_counter() - started
    page = CachedPage(key=key, engine=version, dpi=key_dpi, width=image.width, height=image.height,
                      rotation=rotation, lines=lines)
    cache.put(page)
    return page


def _geometry(document: Document, target: _Target, image: Any, path: Path, dpi: int) -> tuple[PageGeometry, float, float]:
    """Pixel → point scale for the target, and the page size in points."""
    info = next((p for p in document.page_info if p.number == target.page), None)
    if target.kind != "docx_image" and info is not None and info.width and info.height:
        width, height = float(info.width), float(info.height)
    else:
        if target.kind == "pdf_page":
            own_dpi: float | None = dpi
        elif target.kind == "image_page":
            own_dpi = image_dpi(path)
        else:
            own_dpi = None
        scale = 72.0 / (own_dpi or FALLBACK_IMAGE_DPI)
        width, height = image.width * scale, image.height * scale
    return PageGeometry(scale_x=width / image.width, scale_y=height / image.height,
                        width=image.width, height=image.height), width, height


def _upright(image: Any, rotation: int) -> Any:
    return image.rotate(rotation, expand=True) if rotation else image


def _grids_for_lines(image: Any, lines: list[_engine.OcrLine]) -> list[GridTable]:
    """Ruled tables on the upright image, sized by the page's typical text height (~50 ms, not cached)."""
    heights = [line.box[3] - line.box[1] for line in lines]
    if len(heights) < 2:
        return []
    try:
        return find_tables(image, statistics.median(heights))
    except Exception:  # noqa: BLE001 - a table-finding failure only costs the table structure
        return []


def ocr_image(image: Any, *, page: int | None = None, points_per_pixel: float = 1.0,
              engine: _engine.OcrEngine | None = None, document_page: bool = False) -> list[Block]:
    """OCR one PIL image into blocks (no cache, no Document): for benchmarks, tools and tests.

    Boxes are ``pixels × points_per_pixel`` (72/dpi for a page rendered at dpi);
    ``document_page`` marks running headers/footers. Raises :class:`OcrUnavailable` without
    the [ocr] extra.
    """
    rotation, lines = _engine.upright_recognise(engine or _engine.get_engine(), image)
    geometry = PageGeometry(scale_x=points_per_pixel, scale_y=points_per_pixel, rotation=rotation,
                            width=image.width, height=image.height)
    upright = _upright(image, rotation)
    blocks, _ = lines_to_blocks(lines, page=page, geometry=geometry, grids=_grids_for_lines(upright, lines),
                                page_height=upright.height if document_page else None)
    return [b.model_copy(update={"index": i}) for i, b in enumerate(blocks)]


def _where(target: _Target) -> tuple[str, str]:
    if target.kind == "docx_image":
        name = Path(target.media or "").name
        return f"嵌入图片 {name}", f"embedded image {name}"
    return f"第 {target.page} 页", f"page {target.page}"


def _run(document: Document, path: Path, targets: list[_Target], *, dpi: int, password: str | None,
         cache: OcrCache) -> _Outcome:
    out = _Outcome()
    next_table = 1 + max((b.table for b in document.blocks if b.table is not None), default=-1)
    for target in targets:
        where_zh, where_en = _where(target)
        try:
            image, key_dpi = _image_for(target, path, dpi, password)
        except ImageSourceError as exc:
            out.warnings.append(f"{where_zh}无法OCR：{exc.reason_zh} / {where_en}: cannot OCR: {exc.reason_en}")
            if target.page is not None and target.flagged:
                out.page_updates[target.page] = {"reason": f"无法OCR：{exc.reason_zh}"}
            continue
        if target.kind == "docx_image" and not big_enough(image):
            continue  # logos, icons, signatures
        try:
            result = _recognise(image, key_dpi, cache)
        except _engine.OcrUnavailable as exc:  # the models fail to load (import worked)
            out.unavailable.append(target)
            out.unavailable_reason = str(exc) or type(exc).__name__
            continue
        except Exception as exc:  # noqa: BLE001 - one page's OCR failure must not stop the file
            out.warnings.append(f"{where_zh} OCR 失败（{type(exc).__name__}）/ {where_en}: OCR failed: "
                                f"{type(exc).__name__}: {exc}")
            if target.page is not None and target.flagged:
                out.page_updates[target.page] = {"reason": f"OCR 失败（{type(exc).__name__}）"}
            continue

        geometry, width, height = _geometry(document, target, image, path, dpi)
        geometry.rotation = result.rotation
        page_no = target.page if target.kind != "docx_image" else None
        upright = _upright(image, result.rotation)
        grids = _grids_for_lines(upright, result.lines)
        # Running heads only on document pages; a screenshot's title bar is content.
        page_height = upright.height if target.kind == "pdf_page" else None
        blocks, next_table = lines_to_blocks(result.lines, page=page_no, geometry=geometry,
                                             first_table=next_table, grids=grids, page_height=page_height)
        if target.kind == "docx_image":
            out.blocks.extend(b.model_copy(update={"image": target.media}) for b in blocks)
            continue

        assert target.page is not None
        size = {"width": round(width, 2), "height": round(height, 2)}
        if not blocks:
            if target.flagged:
                out.page_updates[target.page] = {
                    "status": "empty", "chars": 0, **size,
                    "reason": "扫描页未识别到文字（空白页？）",
                }
            else:  # force on a page with a text layer: keep the text rather than lose it
                out.warnings.append(f"{where_zh} OCR 未识别到文字，保留原文本层 / {where_en}: OCR found no text, "
                                    f"text layer kept")
            continue
        chars = sum(len(b.text) for b in blocks)
        confidence = sum((b.ocr_confidence or 0.0) * len(b.text) for b in blocks) / max(1, chars)
        out.blocks.extend(blocks)
        out.replaced_pages.add(target.page)
        out.page_updates[target.page] = {
            "status": "ocr", "chars": chars, **size,
            "reason": f"文字由OCR识别（平均置信度 {confidence:.2f}）"
                      + (f"，页面倒置或横置，已旋转 {result.rotation}° 识别" if result.rotation else ""),
        }
        if confidence < LOW_CONFIDENCE:
            out.warnings.append(f"{where_zh} OCR 置信度低（{confidence:.2f}），请人工核对 / {where_en}: low OCR "
                                f"confidence ({confidence:.2f}), check by hand")
    return out


def _missing_extra_warning(targets: list[_Target], detail: str = "") -> str:
    pages = sorted({t.page for t in targets if t.kind != "docx_image" and t.page is not None})
    media = [Path(t.media or "").name for t in targets if t.kind == "docx_image"]
    parts_zh: list[str] = []
    parts_en: list[str] = []
    if pages:
        zh, en = _pages_text(pages)
        parts_zh.append(f"第 {zh} 页")
        parts_en.append(f"page{'s' if len(pages) > 1 else ''} {en}")
    if media:
        parts_zh.append("嵌入图片 " + "、".join(media))
        parts_en.append("embedded images " + ", ".join(media))
    head_zh = MISSING_EXTRA_ZH if not detail else f"{NEEDS_OCR_PREFIX}OCR 组件无法加载：{detail}）"
    head_en = MISSING_EXTRA_EN if not detail else f"OCR needed (the OCR engine cannot load: {detail})"
    return f"{head_zh}：{'，'.join(parts_zh)} / {head_en}: {'; '.join(parts_en)}"


def _ocr_worthy_docx_targets(targets: list[_Target], path: Path) -> list[_Target]:
    """Without the engine we still say which embedded images would have been read (by their
    header size: no pixels are decoded)."""
    worthy = []
    for target in targets:
        if target.kind != "docx_image":
            worthy.append(target)
            continue
        try:
            size = image_size(read_docx_member(path, target.media or ""))
        except ImageSourceError:
            continue
        if size and min(size) >= MIN_EMBEDDED_IMAGE_SIDE and size[0] * size[1] >= MIN_EMBEDDED_IMAGE_AREA:
            worthy.append(target)
    return worthy


def ocr_fingerprint() -> str:
    """What OCR output depends on besides the file and the options, for a cache of parsed
    Documents: layout code version, the installed engine distribution's version, our parameters.

    Cheap (package metadata, no import: ~1 ms instead of ~0.2 s for importing onnxruntime and
    hashing the models), because a batch computes it before anything else. Documents whose OCR
    did not run (extra missing or broken, a page failed) must not be cached at all — see
    :func:`ocr_left_undone` — so they are read again once the engine works."""
    try:
        version = importlib.metadata.version(_engine.ENGINE_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        version = "none"
    params = hashlib.sha256(repr(sorted(_engine.ENGINE_PARAMS.items())).encode()).hexdigest()[:8]
    return f"ocr-layout-{LAYOUT_VERSION}+{_engine.ENGINE_DISTRIBUTION}-{version}+{params}"


def ocr_left_undone(document: Document) -> bool:
    """True when OCR should have read something of ``document`` and did not: pages still without
    a text layer or garbled, or images named in a 需要OCR warning (the extra missing or unable
    to load, a page whose OCR failed). Such a Document is not worth caching: the next run may
    read it."""
    if any(info.status in FLAGGED for info in document.page_info):
        return True
    return any(w.startswith(NEEDS_OCR_PREFIX) for w in document.warnings)


def apply_ocr(document: Document, path: str | Path, options: Any = None) -> Document:
    """OCR what ingestion could not read (see the module docstring). ``options`` is an
    ``xdt_rules.ingest.ExtractOptions`` (fields used: ``ocr``, ``ocr_dpi``, ``cache_dir``,
    ``password``); ``None`` means the defaults (auto, 200 dpi, user cache)."""
    mode = str(_opt(options, "ocr", "auto"))
    if mode == "off":
        return document
    path = Path(path)
    dpi = min(MAX_DPI, max(MIN_DPI, int(_opt(options, "ocr_dpi", DEFAULT_DPI))))
    targets, skipped_media = _plan(document, path, mode)
    warnings = list(document.warnings)
    if skipped_media:
        warnings.append("嵌入图片无法OCR（矢量图或过大）：" + "、".join(skipped_media)
                        + " / embedded images not OCR'd (vector or too large): " + ", ".join(skipped_media))
    if not targets:
        return document.model_copy(update={"warnings": warnings}) if len(warnings) != len(document.warnings) else document

    problem = _engine.unavailable_reason()
    if problem is not None:  # "" = not installed, else the installed extra cannot load
        needing = [t for t in _ocr_worthy_docx_targets(targets, path) if t.flagged or t.kind == "docx_image"]
        if mode == "force" and not needing:
            warnings.append("OCR 不可用，--ocr force 未执行 / OCR is not available; --ocr force ignored"
                            + (f"（{problem}）" if problem else ""))
        elif needing:
            warnings.append(_missing_extra_warning(needing, problem))
        return document.model_copy(update={"warnings": warnings})

    cache = OcrCache(_opt(options, "cache_dir", None))
    out = _run(document, path, targets, dpi=dpi, password=_opt(options, "password", None), cache=cache)
    warnings.extend(out.warnings)
    if out.unavailable:
        needing = [t for t in out.unavailable if t.flagged or t.kind == "docx_image"]
        if needing:
            warnings.append(_missing_extra_warning(needing, out.unavailable_reason))

    kept = [b for b in document.blocks if b.page is None or b.page not in out.replaced_pages]
    ordered = sorted(
        enumerate(kept + out.blocks),
        # Page order; DOCX blocks (page None) keep their order with OCR'd images after the text.
        key=lambda pair: (pair[1].page if pair[1].page is not None else float("inf"), pair[0]),
    )
    blocks = [b.model_copy(update={"index": i}) for i, (_, b) in enumerate(ordered)]
    page_info = [p.model_copy(update=out.page_updates[p.number]) if p.number in out.page_updates else p
                 for p in document.page_info]
    known = {p.number for p in page_info}
    for number, update in sorted(out.page_updates.items()):
        if number not in known:  # an image document that came without page info
            page_info.append(PageInfo(number=number, **update))
    page_info.sort(key=lambda p: p.number)
    update: dict[str, Any] = {"blocks": blocks, "page_info": page_info, "warnings": warnings}
    if document.pages is None and page_info and document.file_type in ("pdf", "image"):
        update["pages"] = len(page_info)
    return document.model_copy(update=update)
