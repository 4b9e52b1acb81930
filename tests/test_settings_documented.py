"""Every setting an operator can give is in README's settings table: a setting added to
``core.settings.Settings`` without its line there is one nobody deploying petitionflow finds."""

from __future__ import annotations

import re
from pathlib import Path

from core.settings import Settings

README = Path(__file__).resolve().parent.parent / "README.md"


def test_every_setting_is_named_in_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    prefix = str(Settings.model_config.get("env_prefix", "")).upper()
    # The whole name: PETITIONFLOW_API_PORT does not name PETITIONFLOW_API.
    named = set(re.findall(rf"{prefix}[A-Z0-9_]*[A-Z0-9]", text))
    missing = [name for name in Settings.model_fields if prefix + name.upper() not in named]
    assert prefix == "PETITIONFLOW_"
    assert not missing, f"README names no {', '.join(prefix + n.upper() for n in missing)}"
