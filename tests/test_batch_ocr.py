"""OCR inside a batch: it runs in the workers, the progress bar and the summary count the pages
the engine read, and a second screening reads none (parsed-document and OCR caches)."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from rich.console import Console

from xdt_rules.batch.runner import BatchOptions, run_batch
from xdt_rules.ocr import ocr_available

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOT = ROOT / "samples" / "ocr" / "images" / "system_list.png"


@pytest.mark.ocr
@pytest.mark.skipif(not ocr_available(), reason='needs the [ocr] extra: pip install "xdt-rules[ocr]"')
def test_pages_ocrd_in_workers_are_counted_and_never_ocrd_twice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))  # a cold OCR cache, not the user's
    batch = tmp_path / "batch"
    (batch / "甲公司").mkdir(parents=True)
    shutil.copy(SCREENSHOT, batch / "甲公司" / "系统清单截图.png")
    (batch / "甲公司" / "申报书.txt").write_text("公司已上线ERP系统，实现业务财务一体化。", encoding="utf-8")
    out = tmp_path / "out"

    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=200, color_system=None)
    first = run_batch(batch, out, BatchOptions(jobs=1, duplicates=False), console=console)
    assert first.done == 1 and first.counts.ocr_pages == 1 and first.counts.ocr_seconds > 0
    assert first.ocr_pages_per_second > 0
    assert "OCR 1 页" in screen.getvalue()  # the progress bar

    again = run_batch(batch, out, BatchOptions(jobs=1, duplicates=False, use_cache=False), console=Console(file=io.StringIO()))
    assert again.done == 1 and again.counts.ocr_pages == 0  # parsed again, the page's text from the OCR cache
    assert "制造执行系统" in (out / "甲公司.json").read_text(encoding="utf-8")
