"""The notices' own process yields the CPU to the chain (issue 11): ``--queues notices`` runs
nicer by PETITIONFLOW_NOTICE_WORKER_NICE (10 unless told, 0 off); a process hosting the chain
never lowers its own priority; ``make run`` starts the sends in such a process."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import Settings
from tests.helpers.settings import make_settings
from worker.niceness import niceness_for
from worker.stack import worker_processes


def test_only_the_notices_alone_run_nicer(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    assert settings.notice_worker_nice == 10
    assert niceness_for("notices", settings) == 10
    assert niceness_for("petitions", settings) == 0
    assert niceness_for("all", settings) == 0


def test_the_operator_sets_it_or_turns_it_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PETITIONFLOW_NOTICE_WORKER_NICE", "0")
    assert niceness_for("notices", Settings(data_dir=tmp_path, dev_mode=True)) == 0
    monkeypatch.setenv("PETITIONFLOW_NOTICE_WORKER_NICE", "5")
    assert niceness_for("notices", Settings(data_dir=tmp_path, dev_mode=True)) == 5


def test_make_run_starts_the_sends_beside_the_chain(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    assert worker_processes(settings) == [
        ("worker", ["--queues", "petitions"], {}),
        # The escalation lag is the chain's to serve; a second process would fight for the port.
        ("notices worker", ["--queues", "notices"], {"PETITIONFLOW_WORKER_METRICS_ADDRESS": ""}),
    ]
    quiet = settings.model_copy(update={"notice_delivery": False})
    assert worker_processes(quiet) == [("worker", ["--queues", "all"], {})]
