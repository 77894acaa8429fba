"""``python -m ml.card``: the model card re-rendered from metrics.json, without TensorFlow."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from ml import card
from ml.contract import METRIC_TOLERANCE, SCORE_TOLERANCE


def test_model_card_is_current_and_states_the_reproducibility_contract(
    artifacts: Path, committed_report: dict[str, Any]
) -> None:
    text = (artifacts / "MODEL_CARD.md").read_text()
    assert text == card.render(committed_report), "re-render: python -m ml.card"
    section = text.split("## Reproducibility", 1)[1].split("\n## ", 1)[0]
    assert "byte-identical" in section
    for key, tolerance in METRIC_TOLERANCE.items():
        assert f"`{key}` {tolerance}" in section, key
    assert f"{SCORE_TOLERANCE:g}" in section


def test_rerendering_the_committed_card_changes_nothing(artifacts: Path, tmp_path: Path) -> None:
    shutil.copy(artifacts / "metrics.json", tmp_path)
    assert card.main(["--out", str(tmp_path)]) == 0
    assert (tmp_path / "MODEL_CARD.md").read_text() == (artifacts / "MODEL_CARD.md").read_text()


@pytest.mark.parametrize("content", [None, "{not json", '{"data": {}}', "[1]"])
def test_a_missing_or_broken_metrics_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None
) -> None:
    if content is not None:
        (tmp_path / "metrics.json").write_text(content)
    with pytest.raises(SystemExit) as exit_info:
        card.main(["--out", str(tmp_path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "metrics.json") in err
    assert "cannot read" in err or "is not a report of python -m ml.train" in err
    assert not (tmp_path / "MODEL_CARD.md").exists()
