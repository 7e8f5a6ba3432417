"""Helpers for the review tests (no tests here): output folders to review, an HTTP client with
cookies, the review server in a thread or as ``xdt review`` in a subprocess, a headless browser.

Two kinds of OUT:

- :func:`synthetic_out` writes result JSON files the way ``xdt screen`` does (real models, the
  shipped catalogue), fast, with full control over statuses, evidence and hostile text;
- :func:`real_batch` runs ``xdt batch`` on small Chinese PDFs: manifest, cache, crops, reports.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from support import CATALOGUE
from xdt_rules import __version__
from xdt_rules.fsutil import atomic_write_text
from xdt_rules.models import ApplicationResult, ElementResult, EvidenceRef, FileRecord, ItemResult, Total
from xdt_rules.screen import result_json

TESTS_DIR = Path(__file__).resolve().parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


# --------------------------------------------------------------------------- output folders


def synthetic_result(name: str, *, statuses: dict[str, tuple[str, float]] | None = None, rules_version: str = "rules-1",
                     evidence_text: str = "我公司于2021年上线用友U8 ERP系统，实现业财一体化。",
                     files: list[FileRecord] | None = None, flagged: tuple[str, ...] = ("4.1.1", "5.1.1"),
                     reasons: list[str] | None = None) -> ApplicationResult:
    """A result over the shipped catalogue: every item ``not_found`` unless given in ``statuses``
    (item → (status, score)); items with a status other than not_found carry one evidence passage."""
    statuses = statuses or {}
    items = []
    for item in CATALOGUE.items:
        status, score = statuses.get(item.id, ("not_found", 0.0))
        evidence = []
        if status != "not_found":
            matched = "ERP" if "ERP" in evidence_text else evidence_text[:2]
            at = evidence_text.find(matched)
            evidence.append(EvidenceRef(file="申报书.pdf", page=1, block=0, start=at, end=at + len(matched),
                                        text=evidence_text, matched=matched, polarity="implemented", term=matched,
                                        kind="term", sentence_start=0, sentence_end=len(evidence_text)))
        items.append(ItemResult(id=item.id, name=item.name, status=status, score=round(score, 4),  # type: ignore[arg-type]
                                max_score=round(item.points, 4), needs_confirmation=item.id in flagged,
                                reasons=list(reasons or (["证据单薄"] if item.id in flagged else [])),
                                rules_fired=["systems:thin"] if status != "not_found" else ["systems:nothing"],
                                evidence=evidence))
    elements = []
    for element in CATALOGUE.spec.elements:
        score = sum(i.score for i in items if i.id.split(".")[0] == element.id)
        elements.append(ElementResult(id=element.id, name=element.name, score=round(score, 4),
                                      max=round(CATALOGUE.element_max(element.id), 4)))
    return ApplicationResult(
        application=name, files=files or [FileRecord(path="申报书.pdf", sha256="0" * 64, pages=1)],
        framework=CATALOGUE.id, rules_version=rules_version, tool_version=__version__,
        total=Total(score=round(sum(e.score for e in elements), 4)), elements=elements, items=items)


def write_result(out: Path, result: ApplicationResult) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / f"{result.application}.html", f"<!DOCTYPE html><title>{result.application}</title>")
    return atomic_write_text(out / f"{result.application}.json", result_json(result))


def synthetic_out(out: Path, count: int = 3) -> Path:
    """``count`` applications A00, A01, … with decreasing totals (A00 ranks first)."""
    for index in range(count):
        met = {item.id: ("met", item.points) for item in CATALOGUE.items[: max(1, 12 - 2 * index)]}
        met["1.3.2"] = ("partial", round(CATALOGUE.item("1.3.2").points / 2, 4))
        write_result(out, synthetic_result(f"A{index:02d}", statuses=met))
    return out


def make_batch_folder(batch: Path) -> Path:
    """Two small applications as Chinese PDFs (a text layer, so crops can be rendered)."""
    from test_batch_support import make_pdf

    make_pdf(batch / "甲公司" / "申报书.pdf", [
        "我公司于2021年上线用友U8 ERP系统，实现采购、销售、库存和财务一体化管理。",
        "2022年建成MES制造执行系统，生产工单全部在线派工报工，设备数据自动采集。",
        "公司已部署WMS仓储管理系统，实现条码出入库和库位管理。",
        "公司计划明年引入PLM系统。"])
    make_pdf(batch / "乙公司" / "申报书.pdf", [
        "公司目前尚未使用ERP系统，财务采用手工记账。",
        "我公司已部署WMS仓储管理系统，实现条码出入库。"])
    return batch


def real_batch(root: Path) -> tuple[Path, Path]:
    """``xdt batch`` (the real pipeline) on :func:`make_batch_folder`; returns (batch, OUT)."""
    from xdt_rules.cli import main

    batch = make_batch_folder(root / "batch")
    out = root / "out"
    assert main(["batch", str(batch), "--out", str(out), "--jobs", "1", "--ocr", "off"]) == 0
    return batch, out


# --------------------------------------------------------------------------- HTTP


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> dict:
        return json.loads(self.body)


class Client:
    """A browser-like HTTP client: cookies, redirects followed, errors returned (not raised)."""

    def __init__(self, base: str):
        self.base = base.rstrip("/")
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.csrf = ""

    def request(self, path: str, *, data: bytes | None = None, headers: dict[str, str] | None = None,
                method: str | None = None) -> Answer:
        req = urllib.request.Request(self.base + path, data=data, headers=headers or {}, method=method)
        try:
            with self.opener.open(req, timeout=30) as response:
                answer = Answer(response.status, {k.lower(): v for k, v in response.headers.items()}, response.read())
        except urllib.error.HTTPError as exc:
            answer = Answer(exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read())
        found = re.search(r'name="csrf-token" content="([^"]*)"', answer.text) if answer.body[:1] == b"<" else None
        if found and found.group(1):
            self.csrf = found.group(1)
        return answer

    def get(self, path: str) -> Answer:
        return self.request(path)

    def post_form(self, path: str, fields: dict[str, str], headers: dict[str, str] | None = None) -> Answer:
        return self.request(path, data=urllib.parse.urlencode(fields).encode(), headers=headers)

    def post_json(self, path: str, payload: dict, *, csrf: str | None = None, headers: dict[str, str] | None = None) -> Answer:
        head = {"Content-Type": "application/json", "Accept": "application/json", **(headers or {})}
        token = self.csrf if csrf is None else csrf
        if token:
            head["X-CSRF-Token"] = token
        return self.request(path, data=json.dumps(payload).encode(), headers=head)

    def login(self, name: str, password: str | None = None) -> Answer:
        page = self.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert token, page.text[:500]
        fields = {"csrf": token.group(1), "name": name, "next": "/"}
        if password is not None:
            fields["password"] = password
        return self.post_form("/login", fields)

    def item_view(self, app: str, item: str) -> tuple[int, str]:
        """(base seq, evidence hash) of an item as its application page shows them now."""
        page = self.get(f"/a/{urllib.parse.quote(app)}")
        found = re.search(rf'id="dec-{re.escape(item)}" data-base="(\d+)" data-hash="(\w*)"', page.text)
        assert found, f"item {item} not on the page"
        return int(found.group(1)), found.group(2)

    def decide(self, app: str, item: str, action: str = "confirm", **fields: str) -> Answer:
        base, digest = self.item_view(app, item)
        payload = {"item": item, "action": action, "base": base, "hash": digest, **fields}
        return self.post_json(f"/a/{urllib.parse.quote(app)}/decide", payload)


# --------------------------------------------------------------------------- the server as a user starts it


class CliServer:
    """``python -m xdt_rules review OUT --port 0 …`` in a subprocess; the URL read from its output."""

    def __init__(self, out: Path, *args: str):
        self.proc = subprocess.Popen([sys.executable, "-m", "xdt_rules", "review", str(out), "--port", "0", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.output = ""
        deadline = time.monotonic() + 30
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.output += line
            found = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
            if found:
                self.url = found.group(1)
                return
        self.proc.kill()
        raise AssertionError(f"xdt review did not start: {self.output}")

    def kill9(self) -> None:
        import signal

        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# --------------------------------------------------------------------------- a real headless browser


def browser(download_dir: Path | None = None):  # noqa: ANN201
    """Chromium from the OS packages driven by Selenium through the system chromedriver; the test
    is skipped, saying why, where either is missing. Nothing is downloaded."""
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip(f"no headless browser here ({CHROMIUM} and {CHROMEDRIVER} needed: "
                    "apt-get install chromium chromium-driver); browser tests skipped")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("selenium is not installed (pip install -e '.[test]'); browser tests skipped")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1400,1000", "--lang=zh-CN"):
        options.add_argument(flag)
    options.add_argument("--user-data-dir=" + tempfile.mkdtemp(prefix="xdt-chromium-"))
    if download_dir is not None:
        options.add_experimental_option("prefs", {"download.default_directory": str(download_dir),
                                                  "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    if download_dir is not None:
        driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(download_dir)})
    return driver
