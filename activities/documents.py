"""Written notices to the petitioner (告知书), rendered from Jinja2 templates in zh-CN."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from domain.policy import BEIJING

# Plain text, not HTML: nothing is escaped, and a missing variable is an error, never a blank.
_templates = Environment(
    loader=PackageLoader("activities", "templates"),
    undefined=StrictUndefined,
    autoescape=False,  # noqa: S701 (text documents, never served as HTML)
    keep_trailing_newline=True,
)


def beijing(moment: datetime) -> str:
    """A moment as the petitioner reads it: Beijing time, Chinese date."""
    return f"{moment.astimezone(BEIJING):%Y年%m月%d日%H时%M分}"


def render(template: str, **context: Any) -> str:
    return _templates.get_template(template).render(**context)
