"""Progress display: one rich bar with done/failed/total, pages per second, pages OCR'd and ETA.

``quiet`` shows nothing (for scripts and cron jobs); the runner's events drive it either way.
Written to stderr so that ``xdt batch … > log`` keeps the log clean.
"""

from __future__ import annotations

import time
from typing import Any


class BatchProgress:
    def __init__(self, total: int, *, quiet: bool = False, console: Any | None = None):
        self.total = total
        self.quiet = quiet
        self.done = 0
        self.failed = 0
        self.skipped = 0
        self.pages = 0
        self.ocr_pages = 0
        self.ocr_seconds = 0.0
        self._started = time.monotonic()
        self._progress = None
        self._task = None
        self._console = console
        self._drawn = 0.0

    def __enter__(self) -> BatchProgress:
        if self.quiet:
            return self
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        console = self._console or Console(stderr=True)
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]批量预审[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("失败 [red]{task.fields[failed]}[/]"),
            TextColumn("跳过 {task.fields[skipped]}"),
            TextColumn("{task.fields[pages]} 页 · {task.fields[rate]} 页/秒"),
            TextColumn("{task.fields[ocr]}"),
            TimeElapsedColumn(),
            TextColumn("剩余"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[current]}", style="dim"),
            console=console,
            transient=False,
            # redrawn by the batch loop (tick), not by a thread of its own: with no other thread
            # alive the batch may fork warm copies of itself to re-score cached applications
            auto_refresh=False,
        )
        self._progress.__enter__()
        self._task = self._progress.add_task("batch", total=self.total, failed=0, skipped=0, pages=0,
                                             rate="0.0", ocr="", current="")
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._progress is not None:
            self._refresh(current="")
            self._progress.__exit__(*exc)

    @property
    def pages_per_second(self) -> float:
        elapsed = time.monotonic() - self._started
        return self.pages / elapsed if elapsed > 0 else 0.0

    def ocr_text(self) -> str:
        """``OCR 12 页 · 0.31 页/秒``: pages the OCR engine read so far and their throughput over the
        batch's time; empty until the first page is OCR'd (most batches have no scans)."""
        if not self.ocr_pages:
            return ""
        elapsed = time.monotonic() - self._started
        rate = self.ocr_pages / elapsed if elapsed > 0 else 0.0
        return f"OCR {self.ocr_pages} 页 · {rate:.2f} 页/秒"

    def _refresh(self, **fields: Any) -> None:
        if self._progress is None:
            return
        self._progress.update(self._task, completed=self.done + self.failed + self.skipped, failed=self.failed,
                              skipped=self.skipped, pages=self.pages, rate=f"{self.pages_per_second:.1f}",
                              ocr=self.ocr_text(), **fields)
        self.tick()

    def tick(self) -> None:
        """Redraw, at most ten times a second (the spinner and clock move on every loop turn)."""
        if self._progress is None:
            return
        now = time.monotonic()
        if now - self._drawn >= 0.1:
            self._drawn = now
            self._progress.refresh()

    def file_started(self, application: str, file: str) -> None:
        name = file.rsplit("/", 1)[-1]
        self._refresh(current=f"{application} · {name}"[:60])

    def file_finished(self, pages: int, ocr_pages: int = 0, ocr_seconds: float = 0.0) -> None:
        self.pages += pages
        self.ocr_pages += ocr_pages
        self.ocr_seconds += ocr_seconds
        self._refresh()

    def application_done(self) -> None:
        self.done += 1
        self._refresh()

    def application_failed(self) -> None:
        self.failed += 1
        self._refresh()

    def application_skipped(self) -> None:
        self.skipped += 1
        self._refresh()

    def note(self, message: str) -> None:
        """A line above the bar (a timeout, a dead worker), not lost when the bar redraws."""
        if self._progress is not None:
            self._progress.console.print(message)
