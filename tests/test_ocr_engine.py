"""The OCR engine: models ship inside the wheel, nothing is downloaded, threads are bounded."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import socket
from pathlib import Path

import pytest
import yaml
from PIL import Image

from xdt_rules.ocr import engine as ocr_engine

ROOT = Path(__file__).resolve().parents[1]
SYSTEM_LIST = ROOT / "samples" / "ocr" / "images" / "system_list.png"

HAS_OCR = importlib.util.find_spec("rapidocr_onnxruntime") is not None
needs_engine = pytest.mark.skipif(not HAS_OCR, reason='needs the [ocr] extra: pip install "xdt-rules[ocr]"')


@pytest.mark.ocr
@needs_engine
def test_chinese_models_are_files_of_the_installed_wheel() -> None:
    dist = importlib.metadata.distribution("rapidocr-onnxruntime")
    assert dist.version.startswith("1.4.")
    shipped = {Path(str(f)).name for f in dist.files or [] if str(f).endswith(".onnx")}
    config = yaml.safe_load((Path(str(dist.locate_file("rapidocr_onnxruntime/config.yaml")))).read_text())
    wanted = {Path(config[part]["model_path"]).name for part in ("Det", "Rec", "Cls")}
    assert wanted == {"ch_PP-OCRv4_det_infer.onnx", "ch_PP-OCRv4_rec_infer.onnx", "ch_ppocr_mobile_v2.0_cls_infer.onnx"}
    assert wanted <= shipped, "det/rec/cls models are recorded in the wheel's RECORD"
    for name in wanted:
        model = Path(str(dist.locate_file(f"rapidocr_onnxruntime/models/{name}")))
        assert model.stat().st_size > 500_000


@pytest.mark.ocr
@needs_engine
def test_engine_code_has_no_download_path() -> None:
    """rapidocr 2.x/3.x fetch models from ModelScope (utils/download_file.py); 1.4 has no such code."""
    package = Path(importlib.util.find_spec("rapidocr_onnxruntime").origin).parent
    sources = {p.relative_to(package).as_posix(): p.read_text(encoding="utf-8") for p in package.rglob("*.py")}
    assert "utils/download_file.py" not in sources
    for name, code in sources.items():
        for needle in ("import requests", "urllib.request", "http.client", "urlopen(", "snapshot_download"):
            assert needle not in code, f"{name} contains {needle}"


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args, **_kwargs):
        raise OSError("network unreachable (test)")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.ocr
@needs_engine
def test_ocr_runs_with_the_network_unreachable(no_network, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(OSError):
        socket.create_connection(("modelscope.cn", 443))  # the guard is really in place
    # A fresh engine and version: the models are loaded and hashed under the guard.
    monkeypatch.setattr(ocr_engine, "_engine", None)
    monkeypatch.setattr(ocr_engine, "_version_cache", None)
    from xdt_rules.ocr import ocr_image

    crop = Image.open(SYSTEM_LIST).convert("L").crop((40, 172, 700, 560))
    blocks = ocr_image(crop)
    text = "".join(b.text for b in blocks)
    assert "制造执行系统" in text and "鼎捷MES" in text
    assert ocr_engine.engine_version().startswith("rapidocr-onnxruntime-1.4.")


def test_thread_count_is_small_and_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ocr_engine.THREADS_ENV, raising=False)
    assert 1 <= ocr_engine.default_threads() <= 2
    monkeypatch.setenv(ocr_engine.THREADS_ENV, "3")
    assert ocr_engine.default_threads() == 3
    monkeypatch.setenv(ocr_engine.THREADS_ENV, "zero")
    assert 1 <= ocr_engine.default_threads() <= 2


@pytest.mark.ocr
@needs_engine
def test_engine_is_created_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ocr_engine, "_engine", None)
    created: list[int] = []
    real_init = ocr_engine.OcrEngine.__init__

    def counting_init(self, threads=None):
        created.append(1)
        real_init(self, threads)

    monkeypatch.setattr(ocr_engine.OcrEngine, "__init__", counting_init)
    first = ocr_engine.get_engine()
    assert ocr_engine.get_engine() is first and len(created) == 1
    assert first.threads == ocr_engine.default_threads()


def test_missing_extra_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "rapidocr_onnxruntime", None)
    monkeypatch.setattr(ocr_engine, "_engine", None)
    assert ocr_engine.ocr_available() is False
    with pytest.raises(ocr_engine.OcrUnavailable):
        ocr_engine.get_engine()


def test_fingerprint_names_the_engine_version_without_importing_the_engine() -> None:
    """The parsed-document cache keys on it before any work; importing onnxruntime for it cost
    ~0.2 s of every batch, so it reads package metadata only."""
    import subprocess
    import sys

    code = ("import sys; from xdt_rules.ocr import ocr_fingerprint; f = ocr_fingerprint(); "
            "print(f); print('onnxruntime' in sys.modules or 'rapidocr_onnxruntime' in sys.modules)")
    fingerprint, imported = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                           check=True).stdout.split()
    assert imported == "False"
    assert fingerprint.startswith("ocr-layout-")
    if HAS_OCR:
        assert "rapidocr-onnxruntime-1.4." in fingerprint
    else:
        assert "rapidocr-onnxruntime-none" in fingerprint