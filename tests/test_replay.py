"""Every saved history of every released workflow version replays with the current code.

A petition lives for weeks; a deployment in between must not break it. A failure here means a
change altered what an old history already decided: keep the old path behind
``workflow.patched`` (README: "Changing the workflow")."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from core.settings import Settings
from core.temporal import data_converter
from workflows.petition import PetitionWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*/*.json"))


def test_histories_are_saved_for_the_released_versions() -> None:
    versions = {path.parent.name for path in HISTORIES}
    assert "v1" in versions, "tests/histories/v1 holds the first released version's histories"


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: f"{p.parent.name}/{p.stem}")
async def test_saved_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))
    # The worker's own converter, its codec opening the unencrypted payloads of histories
    # saved without it (only a replay may: the worker refuses them).
    replayer = Replayer(
        workflows=[PetitionWorkflow], data_converter=data_converter(Settings(), replay=True)
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path}: {result.replay_failure}"
