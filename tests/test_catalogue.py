"""The criteria catalogue: IDs, points, official text, and errors that name file and line."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from xdt_rules.catalogue import load_catalogue_file
from xdt_rules.cli import main
from xdt_rules.errors import DataFileError
from support import CATALOGUE

EXPECTED_IDS = (
    "1.1.1 1.1.2 1.1.3 1.2.1 1.2.2 1.2.3 1.2.4 1.3.1 1.3.2 1.3.3 1.3.4 1.3.5 1.3.6 1.3.7 "
    "2.1.1 2.1.2 2.2.1 2.2.2 2.2.3 2.2.4 3.1.1 3.1.2 3.1.3 3.1.4 3.2.1 3.2.2 3.2.3 "
    "4.1.1 4.1.2 4.1.3 4.1.4 4.1.5 4.1.6 4.1.7 4.1.8 5.1.1"
).split()
SEED = Path(__file__).resolve().parents[2] / "shared" / "seeds" / "000_8b58acd71360597d.txt"
FRAMEWORK = Path(__file__).resolve().parents[1] / "rules" / "kunming-xdt" / "framework.yaml"


def test_all_36_item_ids_in_order():
    assert CATALOGUE.item_ids == EXPECTED_IDS


def test_points_sum_to_100_and_follow_the_weights():
    catalogue = CATALOGUE
    assert sum(i.points for i in catalogue.items) == pytest.approx(100.0)
    assert catalogue.item("1.1.1").points == pytest.approx(3.0)
    assert catalogue.item("1.3.1").points == pytest.approx(15 / 7)
    assert catalogue.item("5.1.1").points == pytest.approx(15.0)
    for element in catalogue.spec.elements:
        assert catalogue.element_max(element.id) == pytest.approx(element.weight)
        for section in element.sections:
            share = element.weight * section.weight / 100
            assert catalogue.section_max(section.id) == pytest.approx(share)


def test_holistic_elements_are_4_and_5():
    catalogue = CATALOGUE
    assert {i.element_id for i in catalogue.items if i.holistic} == {"4", "5"}


@pytest.mark.skipif(not SEED.exists(), reason="official criteria text not beside the checkout")
def test_item_texts_are_the_official_texts():
    squash = lambda s: re.sub(r"[\s（）()“”\"、，,。；;]", "", s)  # noqa: E731
    seed = squash(SEED.read_text(encoding="utf-8").replace(" with ", "与").replace("影\n\n响", "影响"))
    catalogue = CATALOGUE
    for item in catalogue.items:
        if item.element_id in {"1", "2", "3"}:
            assert squash(item.text) in seed, item.id
    assert "with" not in catalogue.item("1.3.5").text and "与高度集成" in catalogue.item("1.3.5").text
    assert catalogue.item("1.3.5").text_fix


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "framework.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_override_points_must_add_up(tmp_path):
    path = _write(tmp_path, FRAMEWORK.read_text(encoding="utf-8").replace(
        '- id: "1.1.1"\n            name: 计算机辅助设计（CAD）',
        '- id: "1.1.1"\n            points: 5\n            name: 计算机辅助设计（CAD）'))
    catalogue = load_catalogue_file(path)
    assert catalogue.item("1.1.1").points == pytest.approx(5)
    assert catalogue.item("1.1.2").points == pytest.approx(2)
    assert sum(i.points for i in catalogue.items) == pytest.approx(100)


def test_duplicate_item_id_names_the_line(tmp_path):
    text = FRAMEWORK.read_text(encoding="utf-8").replace('- id: "1.1.2"', '- id: "1.1.1"')
    path = _write(tmp_path, text)
    line = text.splitlines().index('          - id: "1.1.1"', text.splitlines().index('          - id: "1.1.1"') + 1) + 1
    with pytest.raises(DataFileError) as err:
        load_catalogue_file(path)
    assert err.value.line == line
    assert "重复" in str(err.value) and str(path) in str(err.value)


def test_bad_weight_type_names_the_line(tmp_path):
    text = FRAMEWORK.read_text(encoding="utf-8").replace("weight: 30\n    description: 企业在产品设计", "weight: 三十\n    description: 企业在产品设计")
    path = _write(tmp_path, text)
    with pytest.raises(DataFileError) as err:
        load_catalogue_file(path)
    assert err.value.line == text.splitlines().index("    weight: 三十") + 1


def test_yaml_syntax_error_and_duplicate_key(tmp_path):
    with pytest.raises(DataFileError) as err:
        load_catalogue_file(_write(tmp_path, "id: x\nname: [unclosed\n"))
    assert err.value.line is not None
    with pytest.raises(DataFileError) as err:
        load_catalogue_file(_write(tmp_path, "id: x\nid: y\n"))
    assert err.value.line == 2


def test_cli_criteria_prints_tree(capsys):
    assert main(["criteria"]) == 0
    out = capsys.readouterr().out
    assert "1.3.7" in out and "5.1.1" in out and "100" in out


def test_cli_broken_framework_is_one_line_error(tmp_path, capsys):
    path = _write(tmp_path, "id: x\nname: y\nversion: '1'\nelements: []\n")
    assert main(["criteria", "--framework", str(path)]) == 1
    err = capsys.readouterr().err
    assert str(path) in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
