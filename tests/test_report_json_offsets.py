"""Issue 14 (18): evidence ``start``/``end`` in the JSON are offsets into the block, not into
``text``, and slicing ``text[start:end]`` was wrong for a quarter of the entries; the schema
(``xdt schema``) described no field. Now ``text_start``/``text_end`` slice ``text``, the block
offsets say so, and every field of the result schema is described."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xdt_rules.cli import main

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = [ROOT / "samples" / "pdf" / "01_strong_manufacturer", ROOT / "samples" / "docx" / "09_long_flower_supply_chain"]


@pytest.mark.skipif(not all(s.is_dir() for s in SAMPLES), reason="samples not built (python samples/build_samples.py)")
@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: f"{s.parent.name}-{s.name}")
def test_text_offsets_slice_the_sentence_and_block_offsets_the_block(sample: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert main(["screen", str(sample), "--out", str(out), "--no-crops", "--ocr", "off"]) == 0
    result = json.loads((out / f"{sample.name}.json").read_text(encoding="utf-8"))
    evidence = [ev for item in result["items"] for ev in item["evidence"]]
    # what broke: slicing text with the block offsets
    assert sum(ev["text"][ev["start"]:ev["end"]] != ev["matched"] for ev in evidence) > 0.1 * len(evidence)
    for ev in evidence:
        assert ev["text"][ev["text_start"]:ev["text_end"]] == ev["matched"]
        assert ev["text_start"] == ev["start"] - ev["sentence_start"]
    # the block offsets are those of the blocks `xdt extract --json` lists
    capsys.readouterr()
    for file in sorted({ev["file"] for ev in evidence}):
        assert main(["extract", str(sample / file), "--json", "--ocr", "off"]) == 0
        blocks = {b["index"]: b["text"] for b in json.loads(capsys.readouterr().out)["blocks"]}
        for ev in (ev for ev in evidence if ev["file"] == file):
            assert blocks[ev["block"]][ev["start"]:ev["end"]] == ev["matched"]
            assert blocks[ev["block"]][ev["sentence_start"]:ev["sentence_end"]] == ev["text"]


def _undescribed(schema: dict) -> list[str]:
    missing = []
    models = {"ApplicationResult": schema, **schema["$defs"]}
    for name, model in models.items():
        if not model.get("description"):
            missing.append(name)
        for field, spec in model.get("properties", {}).items():
            if not spec.get("description"):
                missing.append(f"{name}.{field}")
    return missing


def test_every_field_of_the_result_schema_is_described(capsys) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$schema"].endswith("2020-12/schema")
    assert _undescribed(schema) == []
    evidence = schema["$defs"]["EvidenceRef"]["properties"]
    assert {"text_start", "text_end", "location", "block_kind"} <= set(evidence)
    assert "BLOCK" in evidence["start"]["description"] and "text_start" in evidence["start"]["description"]
    assert "text[text_start:text_end] == matched" in evidence["text_start"]["description"]
    # the check finds what it looks for
    del schema["$defs"]["Total"]["properties"]["score"]["description"]
    assert _undescribed(schema) == ["Total.score"]
