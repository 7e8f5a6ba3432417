"""Progress display: two lines that fit an 80-column terminal.

Line 1 is what a reviewer watches — a bar, done/total, failures, skipped and the time left;
line 2 the detail — pages and pages per second, pages OCR'd, time so far and the file being
read, cut with an ellipsis rather than wrapped. (One line of twelve columns collapsed into
unreadable fragments at 80 columns.)

Pages count as the final table counts them: the pages of finished applications, plus the pages
already read of applications in progress; an application that fails or is re-run (after a
timeout) takes its pages back, so the last figure shown equals the table's.

``quiet`` shows nothing (for scripts and cron jobs); the runner's events drive it either way.
Written to stderr so that ``xdt batch … > log`` keeps the log clean.
"""

from __future__ import annotations

import time
from typing import Any

# Line 1 without the bar: spinner, title, N/M, 失败 n, 跳过 n, 剩余 h:mm:ss and the gaps.
_LINE1_FIXED = 52
_BAR_MIN, _BAR_MAX = 10, 40


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class BatchProgress:
    def __init__(self, total: int, *, quiet: bool = False, console: Any | None = None):
        self.total = total
        self.quiet = quiet
        self.done = 0
        self.failed = 0
        self.skipped = 0
        self.pages = 0  # of finished applications
        self.ocr_pages = 0
        self.ocr_seconds = 0.0
        self.title = "批量预审"
        self.current = ""
        self._inflight_pages: dict[str, int] = {}
        self._started = time.monotonic()
        self._progress: Any = None
        self._task: Any = None
        self._console = console
        self._drawn = 0.0

    def __enter__(self) -> BatchProgress:
        if self.quiet:
            return self
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeRemainingColumn

        console = self._console or Console(stderr=True)
        detail = self.detail_line

        class _TwoLines(Progress):
            def get_renderables(self):  # noqa: ANN202 - rich's renderables
                yield self.make_tasks_table(self.tasks)
                yield detail()

        bar = max(_BAR_MIN, min(_BAR_MAX, console.width - _LINE1_FIXED))
        self._progress = _TwoLines(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}[/]"),
            BarColumn(bar_width=bar),
            MofNCompleteColumn(),
            TextColumn("失败 [red]{task.fields[failed]}[/]"),
            TextColumn("{task.fields[skipped]}"),
            TextColumn("剩余"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
            # redrawn by the batch loop (tick), not by a thread of its own: with no other thread
            # alive the batch may fork warm copies of itself to re-score cached applications
            auto_refresh=False,
        )
        self._progress.__enter__()
        self._task = self._progress.add_task(self.title, total=self.total, failed=0, skipped="")
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        if exc_type is KeyboardInterrupt:
            self.title = "已中断"
        elif exc_type is not None:
            self.title = "已停止"
        elif self.title == "批量预审":
            self.title = "已完成"
        if self._progress is not None:
            self.current = ""
            self._refresh()
            self._progress.refresh()
            self._progress.__exit__(exc_type, *exc)
            self._progress = None

    # -- what is shown

    @property
    def shown_pages(self) -> int:
        return self.pages + sum(self._inflight_pages.values())

    @property
    def pages_per_second(self) -> float:
        elapsed = time.monotonic() - self._started
        return self.shown_pages / elapsed if elapsed > 0 else 0.0

    def ocr_text(self) -> str:
        """``OCR 12 页 · 0.31 页/秒``: pages the OCR engine read so far and their throughput over the
        batch's time; empty until the first page is OCR'd (most batches have no scans)."""
        if not self.ocr_pages:
            return ""
        elapsed = time.monotonic() - self._started
        rate = self.ocr_pages / elapsed if elapsed > 0 else 0.0
        return f"OCR {self.ocr_pages} 页 · {rate:.2f} 页/秒"

    def detail_text(self) -> str:
        parts = [f"{self.shown_pages} 页 · {self.pages_per_second:.1f} 页/秒"]
        if self.ocr_pages:
            parts.append(self.ocr_text())
        parts.append(f"用时 {_clock(time.monotonic() - self._started)}")
        if self.current:
            parts.append(self.current)
        return "  " + " · ".join(parts)

    def detail_line(self) -> Any:
        from rich.text import Text

        return Text(self.detail_text(), style="dim", no_wrap=True, overflow="ellipsis")

    def _refresh(self) -> None:
        if self._progress is None:
            return
        self._progress.update(self._task, description=self.title, completed=self.done + self.failed + self.skipped,
                              failed=self.failed, skipped=f"跳过 {self.skipped}" if self.skipped else "")
        self.tick()

    def tick(self) -> None:
        """Redraw, at most ten times a second (the spinner and clock move on every loop turn)."""
        if self._progress is None:
            return
        now = time.monotonic()
        if now - self._drawn >= 0.1:
            self._drawn = now
            self._progress.refresh()

    # -- events

    def file_started(self, application: str, file: str) -> None:
        name = file.rsplit("/", 1)[-1]
        self.current = f"{application} · {name}"
        self._refresh()

    def file_finished(self, pages: int, ocr_pages: int = 0, ocr_seconds: float = 0.0, *, task: str | None = None) -> None:
        if task is None:
            self.pages += pages
        else:
            self._inflight_pages[task] = self._inflight_pages.get(task, 0) + pages
        self.ocr_pages += ocr_pages
        self.ocr_seconds += ocr_seconds
        self._refresh()

    def task_dropped(self, task: str) -> None:
        """The application failed or runs again: the pages read for it so far no longer count."""
        self._inflight_pages.pop(task, None)
        self._refresh()

    def application_done(self, *, task: str | None = None, pages: int | None = None) -> None:
        self.done += 1
        if task is not None:
            self._inflight_pages.pop(task, None)
        if pages is not None:
            self.pages += pages
        self._refresh()

    def application_failed(self) -> None:
        self.failed += 1
        self._refresh()

    def application_skipped(self) -> None:
        self.skipped += 1
        self._refresh()

    def finish(self, *, interrupted: bool = False, stopped: str | None = None) -> None:
        """The last state's title: 已完成, 已中断 or 已停止 (drawn if the display is still up)."""
        self.title = "已中断" if interrupted else "已停止" if stopped else "已完成"
        self._refresh()

    def note(self, message: str) -> None:
        """A line above the bar (a timeout, a dead worker), not lost when the bar redraws."""
        if self._progress is not None:
            self._progress.console.print(message)
