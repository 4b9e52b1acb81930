"""The slips and documents as printable A4 pages: HTML from Jinja2 templates (core/templates),
and the same HTML as PDF with the Chinese fonts embedded (WeasyPrint, on Debian's pango and
fonts-noto-cjk). One source for both, so the PDF is what the browser prints."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

# Served as HTML: every value is escaped (an officer's free text may hold markup), and a
# missing one is an error, never a blank on a signed document.
_templates = Environment(
    loader=PackageLoader("core", "templates"),
    undefined=StrictUndefined,
    autoescape=select_autoescape(default=True, default_for_string=True),
)

# The families the templates name; either one makes the page readable.
CJK_FAMILIES = ("Noto Serif CJK SC", "Noto Sans CJK SC")
FONTS_MISSING = (
    "PDF unavailable: the Chinese fonts (Noto Serif/Sans CJK SC) are not installed on this "
    "server; install the Debian package fonts-noto-cjk"
)
RENDERER_MISSING = (
    "PDF unavailable: WeasyPrint cannot load pango; install the Debian packages "
    "libpango-1.0-0 and libpangoft2-1.0-0"
)


class PrintingUnavailable(Exception):
    """The PDF cannot be made on this machine (a system package is missing): the message names
    the package. Never a PDF of empty boxes."""


def render_html(template: str, **context: Any) -> str:
    return _templates.get_template(template).render(**context)


def cjk_fonts_installed() -> bool:
    """Whether fontconfig knows a family the templates name. Without one, pango would fall back
    to a font without Chinese glyphs and print boxes."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return False
    listed = subprocess.run(  # noqa: S603 (a fixed command, no input of the request)
        [fc_list, ":lang=zh", "family"], capture_output=True, text=True, check=False, timeout=30
    ).stdout
    return any(family in listed for family in CJK_FAMILIES)


_fonts_seen = False
# One page at a time, on one thread of its own: pango and fontconfig are not made to be called
# from several threads at once, and a burst of PDFs then queues instead of taking every core.
_renderer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pdf")


async def render_pdf(html: str) -> bytes:
    """The page as PDF (A4, fonts subset and embedded). Rendering takes about half a second of
    CPU: it runs on the renderer's thread, so the API keeps answering meanwhile."""
    global _fonts_seen
    if not _fonts_seen:  # checked until found: installing the package needs no restart
        _fonts_seen = await asyncio.to_thread(cjk_fonts_installed)
        if not _fonts_seen:
            raise PrintingUnavailable(FONTS_MISSING)
    return await asyncio.get_running_loop().run_in_executor(_renderer, _write_pdf, html)


def _write_pdf(html: str) -> bytes:
    try:
        # Imported on first use: it loads pango and takes seconds, which no other request
        # should wait for at the API's start.
        from weasyprint import HTML
    except OSError as exc:  # pango's shared libraries are missing
        raise PrintingUnavailable(RENDERER_MISSING) from exc
    pdf: bytes = HTML(string=html).write_pdf()
    return pdf
