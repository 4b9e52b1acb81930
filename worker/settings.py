"""Runtime settings, read from ``PETITIONFLOW_*`` environment variables (and ``.env``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.policy import EscalationPolicy

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEMO_DIRECTORY = PROJECT_DIR / "store" / "demo_county.yaml"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PETITIONFLOW_", env_file=".env", extra="ignore")

    # The length of one policy day in seconds: 86400 in production; 1 compresses the four-week
    # chain into about half a minute for a demo or a black-box test.
    day_seconds: float = Field(default=86400, gt=0)
    database_url: str = f"sqlite+aiosqlite:///{PROJECT_DIR / 'var' / 'petitionflow.db'}"
    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    task_queue: str = "petitions"
    # The org directory loaded into an empty database on first start.
    directory_file: Path = DEMO_DIRECTORY
    # The local stack (`make run`): where the API listens and where Temporal's Web UI is served.
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    temporal_ui_port: int = 8233
    data_dir: Path = PROJECT_DIR / "var"
    # How long the API waits on the workflow for a query or an update before answering 503.
    temporal_rpc_timeout_seconds: float = Field(default=10, gt=0)

    def policy(self) -> EscalationPolicy:
        """The policy new petitions start with (each keeps its own copy for life)."""
        return EscalationPolicy(day_seconds=self.day_seconds)


@lru_cache
def get_settings() -> Settings:
    return Settings()
