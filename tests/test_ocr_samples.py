"""The committed OCR samples: image-only twins of sample 申报书, screenshots, small, reproducible."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pypdfium2 as pdfium
import pytest

ROOT = Path(__file__).resolve().parents[1]
OCR = ROOT / "samples" / "ocr"
SCRIPT = OCR / "build_ocr_samples.py"
FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
APPS = ("01_strong_manufacturer", "06_table_only_chemical")
IMAGES = ("system_list.png", "invoice.png", "certificate_photo.jpg")


def _committed_files() -> list[Path]:
    return sorted(p for p in OCR.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def test_total_size_is_small() -> None:
    total = sum(p.stat().st_size for p in _committed_files())
    assert total < 5 * 1024 * 1024, f"samples/ocr is {total / 1048576:.1f} MB"


@pytest.mark.parametrize("app", APPS)
def test_image_only_twin_has_no_text_layer_and_same_pages(app: str) -> None:
    scan = pdfium.PdfDocument(str(OCR / "pdf" / app / "申报书.pdf"))
    text = pdfium.PdfDocument(str(ROOT / "samples" / "pdf" / app / "申报书.pdf"))
    try:
        assert len(scan) == len(text) >= 3
        for page in scan:
            textpage = page.get_textpage()
            assert textpage.count_chars() == 0, "every page is only an image"
            images = [o for o in page.get_objects() if o.type == pdfium.raw.FPDF_PAGEOBJ_IMAGE]
            assert len(images) == 1
            width, height = images[0].get_px_size()
            assert 1100 <= width <= 1400 and 1600 <= height <= 1900  # ~150 dpi A4, not a thumbnail
    finally:
        scan.close()
        text.close()


@pytest.mark.parametrize("name", IMAGES)
def test_screenshots_have_their_drawn_text(name: str) -> None:
    from PIL import Image

    image = OCR / "images" / name
    truth = image.with_suffix(".txt").read_text(encoding="utf-8").splitlines()
    assert len(truth) >= 5
    with Image.open(image) as img:
        assert img.mode == "L" and min(img.size) >= 600


def _pictures(path: Path) -> list:
    """The pictures of a sample file, decoded: one per PDF page, or the image itself."""
    from PIL import Image

    if path.suffix == ".pdf":
        pdf = pdfium.PdfDocument(str(path))
        try:
            pictures = []
            for page in pdf:
                image = next(o for o in page.get_objects() if o.type == pdfium.raw.FPDF_PAGEOBJ_IMAGE)
                pictures.append(image.get_bitmap().to_pil().convert("L"))
            return pictures
        finally:
            pdf.close()
    with Image.open(path) as image:
        return [image.convert("L")]


def _strongly_different_share(a, b) -> float:
    import numpy as np

    if a.size != b.size:
        return 1.0
    diff = np.abs(np.asarray(a, dtype=np.int16) - np.asarray(b, dtype=np.int16))
    return float((diff > 48).mean())


@pytest.mark.skipif(not FONT.exists(), reason="rebuilding needs the CJK font fonts-wqy-zenhei")
def test_committed_outputs_are_what_the_script_builds(tmp_path: Path) -> None:
    """Rebuild from samples/sources and compare: byte-identical with the same library versions;
    otherwise the decoded pictures must match (a changed sentence changes ~1 % of a page's
    pixels strongly, a different JPEG encoder far less than the 0.05 % allowed)."""
    subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path)], check=True, capture_output=True)

    def digest(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()

    built = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    committed = sorted(p.relative_to(OCR) for p in _committed_files() if p != SCRIPT)
    assert built == committed
    for rel in built:
        if rel.suffix == ".txt":
            assert (tmp_path / rel).read_text(encoding="utf-8") == (OCR / rel).read_text(encoding="utf-8")
        elif digest(tmp_path / rel) != digest(OCR / rel):
            new, old = _pictures(tmp_path / rel), _pictures(OCR / rel)
            assert len(new) == len(old), f"{rel}: page count changed — run {SCRIPT.name}"
            for number, (a, b) in enumerate(zip(new, old), 1):
                share = _strongly_different_share(a, b)
                assert share < 0.0005, f"{rel} picture {number} is stale ({share:.2%} differs) — run {SCRIPT.name}"
