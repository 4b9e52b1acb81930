"""The console's languages (语言): zh-CN, in which every text is written (the source and the
default), and English where a person picks it. gettext catalogs: the English one is a Babel .po
file (locale/en/LC_MESSAGES/console.po), compiled in memory when the app starts, so there is no
build step; the zh-CN texts are the msgids themselves. The choice is a cookie of its own, kept
across sign-in and sign-out; nothing else (no Accept-Language) chooses.

The language of the request being answered is held in a context variable, set by
``LanguageMiddleware`` from the cookie before the console's code runs, so the templates, the
countdowns and the refusals in words all read it without it being handed down."""

from __future__ import annotations

import gettext as stdlib
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from markupsafe import Markup, escape
from starlette.types import ASGIApp, Receive, Scope, Send

DEFAULT = "zh-CN"
# Each language with its name in itself: what the switch shows.
LANGUAGES = {"zh-CN": "中文", "en": "English"}
COOKIE = "pf_lang"
COOKIE_SECONDS = 365 * 86400  # a preference, not a session: a year
DOMAIN = "console"
LOCALE = Path(__file__).parent / "locale"

_current: ContextVar[str] = ContextVar("console_language", default=DEFAULT)


def catalog_path(language: str) -> Path:
    return LOCALE / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def _compiled(language: str) -> stdlib.GNUTranslations:
    """The .po compiled to a .mo in memory (fuzzy entries left out, as msgfmt does)."""
    with catalog_path(language).open("rb") as po:
        catalog = read_po(po, locale=language)
    mo = BytesIO()
    write_mo(mo, catalog)
    mo.seek(0)
    return stdlib.GNUTranslations(mo)


CATALOGS: dict[str, stdlib.NullTranslations] = {
    DEFAULT: stdlib.NullTranslations(),  # zh-CN: the msgids are the texts
    "en": _compiled("en"),
}


def language() -> str:
    """The language of the request being answered."""
    return _current.get()


def chosen(value: str | None) -> str:
    """A cookie's (or a link's) language, if the console has it; zh-CN otherwise."""
    return value if value in LANGUAGES else DEFAULT


def set_language(value: str) -> None:
    """For code answering outside a request (a test, the benchmark's warm-up)."""
    _current.set(chosen(value))


def gettext(message: str) -> str:
    return CATALOGS[_current.get()].gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return CATALOGS[_current.get()].ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    return CATALOGS[_current.get()].pgettext(context, message)


def npgettext(context: str, singular: str, plural: str, n: int) -> str:
    return CATALOGS[_current.get()].npgettext(context, singular, plural, n)


def N_(message: str) -> str:
    """Marks a text for the catalog where it is defined; ``gettext`` translates it where used."""
    return message


def _markup(text: str, values: dict[str, Any]) -> Markup:
    """A catalog's text (ours, never a person's) as markup, each value escaped into it."""
    if values:
        text = text % {name: escape(value) for name, value in values.items()}
    return Markup(text)  # noqa: S704 (the catalog's own text; the values are escaped above)


def _template_gettext(message: str, **values: Any) -> Markup:
    return _markup(gettext(message), values)


def _template_ngettext(singular: str, plural: str, num: int, **values: Any) -> Markup:
    return _markup(ngettext(singular, plural, num), {"num": num, **values})


def _template_pgettext(context: str, message: str, **values: Any) -> Markup:
    return _markup(pgettext(context, message), values)


def _template_npgettext(
    context: str, singular: str, plural: str, num: int, **values: Any
) -> Markup:
    return _markup(npgettext(context, singular, plural, num), {"num": num, **values})


# The templates' gettext: jinja2.ext.i18n's "newstyle" calls (_("第%(level)s级", level=l):
# translated, then formatted with the values escaped), as plain functions reading the request's
# language — without the extension's own wrappers, which cost each text twice as much.
TEMPLATE_CALLABLES = {
    "_": _template_gettext,
    "gettext": _template_gettext,
    "ngettext": _template_ngettext,
    "pgettext": _template_pgettext,
    "npgettext": _template_npgettext,
}


class Labels(Mapping[Any, str]):
    """One of the domain's tables of zh-CN names (domain.vocabulary: stages, channels, …) read in
    the request's language: the zh-CN name is the msgid, under the table's own msgctxt (the same
    word is a stage in one table and a button in another: 受理 "Accepted" and "Accept")."""

    def __init__(self, context: str, table: Mapping[Any, str]) -> None:
        self.context = context
        self.table = table

    def __getitem__(self, key: Any) -> str:
        return pgettext(self.context, self.table[key])

    def __iter__(self) -> Iterator[Any]:
        return iter(self.table)

    def __len__(self) -> int:
        return len(self.table)


@dataclass(frozen=True)
class LanguageMiddleware:
    """Sets the request's language from its cookie (plain ASGI: the same task as the route, so
    the context variable reaches the route, its templates and its error pages)."""

    app: ASGIApp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = _current.set(_requested(scope))
        try:
            await self.app(scope, receive, send)
        finally:
            _current.reset(token)


def _requested(scope: Scope) -> str:
    """The language a page request's cookie chose; the JSON API speaks no language of its own."""
    if scope["type"] != "http" or scope["path"].startswith("/api/"):
        return DEFAULT
    value = None
    for name, raw in scope.get("headers", ()):
        if name == b"cookie":
            value = _cookie_value(raw) or value
    return chosen(value)


def _cookie_value(header: bytes) -> str | None:
    """The language cookie's value in a Cookie header (name=value pairs split by ';')."""
    for part in header.split(b";"):
        name, _, value = part.strip().partition(b"=")
        if name == COOKIE.encode():
            return value.decode("latin-1").strip('"')
    return None
