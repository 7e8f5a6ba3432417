"""`xdt screen` and `xdt schema` through the CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xdt_rules.cli import main
from xdt_rules.models import ApplicationResult

TEXT = "公司于2021年3月上线用友U8 Cloud，覆盖采购、销售、库存和财务全流程。\n\n下一步计划建设WMS仓库管理系统。\n"


def _apps(tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "甲公司"
    folder.mkdir()
    (folder / "申报书.txt").write_text(TEXT, encoding="utf-8")
    single = tmp_path / "乙公司.txt"
    single.write_text("公司目前仍以人工纸质记录为主，尚未建立ERP。\n", encoding="utf-8")
    return folder, single


def test_screen_two_applications(tmp_path, capsys):
    folder, single = _apps(tmp_path)
    out = tmp_path / "out"
    assert main(["screen", str(folder), str(single), "--out", str(out), "--no-crops", "--ocr", "off"]) == 0
    stdout = capsys.readouterr().out
    assert "甲公司" in stdout and "乙公司" in stdout and "初步" in stdout
    assert sorted(p.name for p in out.iterdir()) == ["乙公司.html", "乙公司.json", "甲公司.html", "甲公司.json"]
    a = ApplicationResult.model_validate_json((out / "甲公司.json").read_text(encoding="utf-8"))
    b = ApplicationResult.model_validate_json((out / "乙公司.json").read_text(encoding="utf-8"))
    assert a.total.score > b.total.score
    assert next(i for i in b.items if i.id == "1.3.1").status == "negated"
    assert "初步结果，须人工确认" in (out / "甲公司.html").read_text(encoding="utf-8")


def test_same_name_twice_gets_two_outputs(tmp_path, capsys):
    folder, _ = _apps(tmp_path)
    out = tmp_path / "out"
    assert main(["screen", str(folder), str(folder), "--out", str(out), "--no-crops"]) == 0
    assert sorted(p.name for p in out.glob("*.json")) == ["甲公司-2.json", "甲公司.json"]


def test_exit_1_only_when_nothing_could_be_read(tmp_path, capsys):
    bad = tmp_path / "坏公司"
    bad.mkdir()
    (bad / "申报书.pdf").write_bytes(b"%PDF-1.4 not really")
    out = tmp_path / "out"
    assert main(["screen", str(bad), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "坏公司" in err and "Traceback" not in err
    assert (out / "坏公司.json").exists()  # the failure is still reported as a result
    folder, _ = _apps(tmp_path)
    assert main(["screen", str(bad), str(folder), "--out", str(out), "--no-crops"]) == 0


def test_missing_application_is_a_one_line_error(tmp_path, capsys):
    assert main(["screen", str(tmp_path / "nope"), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "找不到" in err and "Traceback" not in err


def _check(schema: dict, defs: dict, value, path: str = "$") -> None:
    """A small JSON Schema checker (type, properties, required, items, $ref, anyOf, enum)."""
    if "$ref" in schema:
        return _check(defs[schema["$ref"].split("/")[-1]], defs, value, path)
    if "anyOf" in schema:
        errors = []
        for option in schema["anyOf"]:
            try:
                return _check(option, defs, value, path)
            except AssertionError as exc:
                errors.append(str(exc))
        raise AssertionError(f"{path}: no anyOf option fits: {errors}")
    if "enum" in schema:
        assert value in schema["enum"], f"{path}: {value!r} not in {schema['enum']}"
    kind = schema.get("type")
    types = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None),
             "integer": int, "number": (int, float)}
    if kind:
        assert isinstance(value, types[kind]) and not (kind in ("integer", "number") and isinstance(value, bool)), \
            f"{path}: {value!r} is not {kind}"
    if kind == "object":
        for key in schema.get("required", []):
            assert key in value, f"{path}: missing {key}"
        props = schema.get("properties", {})
        if schema.get("additionalProperties") is False:
            assert set(value) <= set(props), f"{path}: extra keys {set(value) - set(props)}"
        for key, sub in props.items():
            if key in value:
                _check(sub, defs, value[key], f"{path}.{key}")
    if kind == "array":
        for i, v in enumerate(value):
            _check(schema.get("items", {}), defs, v, f"{path}[{i}]")


def test_schema_describes_the_written_json(tmp_path, capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "ApplicationResult"
    assert {"application", "files", "framework", "rules_version", "total", "elements", "items"} <= set(schema["required"])
    item = schema["$defs"]["ItemResult"]
    assert set(item["properties"]["status"]["enum"]) == {"met", "partial", "planned", "negated", "not_found"}
    folder, _ = _apps(tmp_path)
    main(["screen", str(folder), "--out", str(tmp_path / "out"), "--no-crops"])
    capsys.readouterr()
    written = json.loads((tmp_path / "out" / "甲公司.json").read_text(encoding="utf-8"))
    _check(schema, schema["$defs"], written)
    with pytest.raises(AssertionError):
        written["items"][0]["status"] = "done"
        _check(schema, schema["$defs"], written)


def test_schema_of_other_models(capsys):
    assert main(["schema", "--model", "validation-report"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "ValidationReport"


def test_rule_file_problems_are_reported_with_file_and_line(tmp_path, capsys, monkeypatch):
    import shutil

    root = Path(__file__).resolve().parents[1]
    shutil.copytree(root / "rules", tmp_path / "data" / "rules")
    shutil.copytree(root / "keywords", tmp_path / "data" / "keywords")
    monkeypatch.setenv("XDT_DATA_DIR", str(tmp_path / "data"))
    rules = tmp_path / "data" / "rules" / "kunming-xdt" / "rules.yaml"
    text = rules.read_text(encoding="utf-8")
    folder, _ = _apps(tmp_path)
    # a shadowed rule: a warning, screening goes on
    rules.write_text(text.replace("when: [entity >= 1]\n", "when: [implemented >= 1]\n", 1), encoding="utf-8")
    assert main(["screen", str(folder), "--out", str(tmp_path / "out"), "--no-crops"]) == 0
    err = capsys.readouterr().err
    assert "永远不会命中" in err and f"{rules}:" in err
    # a bad status: an error naming file and line, nothing screened
    bad = text.replace("        status: met", "        status: done", 1)
    rules.write_text(bad, encoding="utf-8")
    line = bad.splitlines().index("        status: done") + 1
    assert main(["screen", str(folder), "--out", str(tmp_path / "out2"), "--no-crops"]) == 1
    err = capsys.readouterr().err
    assert f"{rules}:{line}" in err and "done" in err and not (tmp_path / "out2").exists()
