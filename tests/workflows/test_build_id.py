"""The worker names its build (``worker.runtime.build_id``) on every workflow task it completes:
a hash of the worker's code, not the SDK's hash of every module a process has loaded."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.workflows import CaseFactory
from worker.runtime import WORKER_CODE, build_id, code_hash


async def test_each_workflow_task_names_the_workers_build(case_factory: CaseFactory) -> None:
    case = await case_factory()
    await case.accept()
    history = await case.handle.fetch_history()
    completed = [
        e.workflow_task_completed_event_attributes
        for e in history.events
        if e.HasField("workflow_task_completed_event_attributes")
    ]
    assert completed
    # The time-skipping server keeps it as the binary checksum, newer servers as the version.
    assert {c.worker_version.build_id or c.binary_checksum for c in completed} == {build_id()}


def test_the_build_changes_with_the_workers_code_and_only_with_it(tmp_path: Path) -> None:
    for package in WORKER_CODE:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text('"""代码"""\n', encoding="utf-8")
    built = code_hash(tmp_path, "1.0")
    assert built == code_hash(tmp_path, "1.0")  # the same code, the same build
    assert built != code_hash(tmp_path, "1.1")  # another SDK
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "main.py").write_text("x = 1\n", encoding="utf-8")
    (tmp_path / "workflows" / "notes.txt").write_text("not code\n", encoding="utf-8")
    assert code_hash(tmp_path, "1.0") == built  # the web front and data are not the worker's
    (tmp_path / "workflows" / "petition.py").write_text("x = 1\n", encoding="utf-8")
    changed = code_hash(tmp_path, "1.0")
    assert changed != built
    # A module moved between packages is another build, though its bytes are the same.
    (tmp_path / "workflows" / "petition.py").rename(tmp_path / "domain" / "petition.py")
    assert code_hash(tmp_path, "1.0") not in {built, changed}
