"""PDF text speed: pdfplumber ``extract_text`` vs raw pypdfium2 ``get_text_range`` vs ``extract()``.

Generates dense Chinese PDFs (reportlab STSong-Light, ~1,500 characters a page, a ruled table
every few pages) into a temporary folder, times each reader on the same files, and reports the
share of pages where pypdfium2's text equals pdfplumber's after whitespace normalisation.

    python bench/bench_pdf_text.py [--pages 60] [--files 2] [--table-every 4]

Absolute numbers depend on the machine (and other load); compare the ratios of one run.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

_WS = re.compile(r"\s+")


def _build(folder: Path, files: int, pages: int, table_every: int) -> list[Path]:
    from fixtures_build import build_dense_pdf

    paths = []
    for k in range(files):
        every = table_every if k % 2 == 0 else 0  # half of the files are text only
        paths.append(build_dense_pdf(folder / f"dense-{k}.pdf", pages, table_every=every, seed=k, paragraphs=10))
    return paths


def _timed(label: str, func, paths: list[Path]) -> tuple[float, list[list[str]]]:
    start = time.perf_counter()
    texts = [func(p) for p in paths]
    elapsed = time.perf_counter() - start
    pages = sum(len(t) for t in texts)
    rate = pages / elapsed if elapsed else float("inf")
    print(f"  {label:<34} {pages:5d} pages  {elapsed:7.2f} s  {rate:8.1f} pages/s")
    return rate, texts


def pdfplumber_text(path: Path) -> list[str]:
    import pdfplumber

    with pdfplumber.open(str(path)) as pdf:
        return [page.extract_text() or "" for page in pdf.pages]


def pdfium_text(path: Path) -> list[str]:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(path))
    try:
        out = []
        for page in doc:
            textpage = page.get_textpage()
            out.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return out
    finally:
        doc.close()


def extract_text(path: Path) -> list[str]:
    from xdt_rules.ingest import ExtractOptions, extract

    doc = extract(path, ExtractOptions(ocr="off"))
    pages: list[list[str]] = [[] for _ in range(doc.pages or 0)]
    for block in doc.blocks:
        pages[(block.page or 1) - 1].append(block.text)
    return ["\n".join(p) for p in pages]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=60, help="pages per generated PDF")
    parser.add_argument("--files", type=int, default=2, help="number of PDFs (every other one has tables)")
    parser.add_argument("--table-every", type=int, default=4, help="a ruled table every N pages in table files")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="xdt-bench-") as tmp:
        paths = _build(Path(tmp), args.files, args.pages, args.table_every)
        chars = sum(len(t) for t in pdfium_text(paths[0]))
        print(f"{len(paths)} PDFs × {args.pages} pages, ~{chars // args.pages} characters per page")
        # Warm imports and caches so the first reader is not charged for them.
        for func in (pdfplumber_text, pdfium_text, extract_text):
            func(paths[0]) if func is not pdfplumber_text else None
        plumber_rate, plumber = _timed("pdfplumber extract_text", pdfplumber_text, paths)
        pdfium_rate, pdfium = _timed("pypdfium2 get_text_range", pdfium_text, paths)
        extract_rate, _ = _timed("xdt_rules.ingest.extract()", extract_text, paths)
        text_only = [p for p in paths if "dense-1" in p.name or "dense-3" in p.name]
        if text_only:
            _timed("extract() on text-only PDFs", extract_text, text_only)
        same = total = 0
        for a_pages, b_pages in zip(plumber, pdfium):
            for a, b in zip(a_pages, b_pages):
                total += 1
                same += _WS.sub("", a) == _WS.sub("", b)
        print(f"pypdfium2 text == pdfplumber text (whitespace normalised): {same}/{total} pages "
              f"({100 * same / max(total, 1):.0f}%)")
        print(f"ratios: extract()/pdfplumber = {extract_rate / plumber_rate:.1f}×, "
              f"pypdfium2/pdfplumber = {pdfium_rate / plumber_rate:.1f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
