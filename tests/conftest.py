"""Shared, generic test fixtures: the test-file builders on sys.path and the shared PDF corpus."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
if str(TESTS_DIR) not in sys.path:  # lets test modules `import fixtures_build`
    sys.path.insert(0, str(TESTS_DIR))

CORPUS_DIR = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "pdfminer-samples"


@pytest.fixture
def corpus_dir() -> Path:
    """Real-world PDFs from ../shared/corpus; the test is skipped where that folder is absent."""
    if not CORPUS_DIR.is_dir():
        pytest.skip("shared PDF corpus not present")
    return CORPUS_DIR
