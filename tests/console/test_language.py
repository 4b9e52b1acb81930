"""The console in English where a person picks it: the switch on every page, the choice kept
across sign-in and sign-out, every page's own words in English (the petition's stay as entered),
back to zh-CN — and a catalog with an English text for every text the console shows, so it
cannot fall behind the templates."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from playwright.async_api import Page, expect

from api.console import i18n
from api.console.render import templates
from api.console.view import LABELS, REPORT_KINDS, countdown
from domain.contracts import Deadline
from tests.console.conftest import DESKTOP, Console, shoot
from tests.console.test_view import NOW
from tests.helpers.api import detail, register
from tests.helpers.county import PETITION
from tests.helpers.waiting import eventually

CONSOLE = Path(i18n.__file__).parent
TEMPLATES = "templates/**.j2"
METHODS = [(TEMPLATES, "jinja2.ext:babel_extract"), ("**.py", "python")]
OPTIONS = {TEMPLATES: {"extensions": "jinja2.ext.i18n"}}


def _shown() -> set[tuple[str | None, str]]:
    """Every text the console may show: gettext's in its templates and its modules, and every
    name of the domain's tables it shows (each under its msgctxt)."""
    found: set[tuple[str | None, str]] = set()
    for _, _, message, _, context in extract_from_dir(str(CONSOLE), METHODS, OPTIONS):
        found.add((context, message if isinstance(message, str) else message[0]))
    for table in [*LABELS.values(), REPORT_KINDS]:
        found |= {(table.context, name) for name in table.table.values()}
    return found


def _catalog() -> Catalog:
    with i18n.catalog_path("en").open("rb") as po:
        return read_po(po, locale="en")


def test_every_text_of_the_console_has_its_english() -> None:
    catalog = _catalog()
    shown = _shown()
    assert len(shown) > 250  # the extraction found the templates' texts
    untranslated = sorted(
        (context or "", message)
        for context, message in shown
        if not (entry := catalog.get(message, context=context)) or not entry.string or entry.fuzzy
    )
    assert not untranslated, f"no English for {untranslated}"
    # Nothing kept that the console no longer shows, and every %(name)s kept in the English.
    stale = sorted(m.id for m in catalog if m.id and (m.context, m.id) not in shown)
    assert not stale, f"texts the console no longer shows: {stale}"
    problems = [(m.id, errors) for m, errors in catalog.check()]
    assert not problems, problems


def test_the_countdown_and_a_refusal_in_english_and_zh_cn_unchanged() -> None:
    due = Deadline(kind="escalation", due_at=NOW + timedelta(hours=5), description="升级至第2级")
    i18n.set_language("en")
    try:
        assert countdown(due, NOW).left == "5 h 0 min left"
        assert LABELS["event_labels"]["accepted"] == "Accepted"
        assert LABELS["action_labels"]["accept"] == "Accept"
    finally:
        i18n.set_language("zh-CN")
    assert countdown(due, NOW).left == "剩余5小时0分"
    assert LABELS["event_labels"]["accepted"] == "受理"


def test_a_value_in_a_translated_text_is_escaped() -> None:
    shown = templates.env.from_string('{{ _("第%(level)s级", level=x) }}')
    i18n.set_language("en")
    try:
        assert shown.render(x="<b>") == "Level &lt;b&gt;"
    finally:
        i18n.set_language("zh-CN")
    assert shown.render(x="<b>") == "第&lt;b&gt;级"


async def _language(page: Page) -> str | None:
    return await page.locator("html").get_attribute("lang")


async def test_a_person_picks_english_and_back(console: Console) -> None:
    url, api = console.url, console.api
    pid = (await register(api))["id"]
    await eventually(lambda: detail(api, pid), lambda d: d["stage"] == "assigned")

    # The browser asks for English (Accept-Language): the console still answers in zh-CN.
    context = await console.browser.new_context(viewport=DESKTOP, locale="en-US")
    page = await context.new_page()
    await page.goto(f"{url}/login")
    assert await _language(page) == "zh-CN"
    await expect(page.get_by_label("用户名")).to_be_visible()

    # The switch, before signing in; kept across the sign-in.
    switch = page.get_by_role("navigation", name="语言 / Language")
    await switch.get_by_role("link", name="English").click()
    assert await _language(page) == "en"
    await page.get_by_label("Username").fill("demo-bureau")
    await page.get_by_label("Password").fill("demo")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="My work")).to_be_visible()
    menu = page.get_by_role("navigation", name="Main menu")
    for item in ("Petitions", "Register", "To assign", "Supervision board", "Directory"):
        await expect(menu.get_by_role("link", name=item, exact=True)).to_be_visible()
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    # The petition: the page's words and the domain's names in English, the petitioner's own
    # words as entered; the actions and the countdown too.
    await page.goto(f"{url}/petitions/{pid}")
    assert await _language(page) == "en"
    intake = page.get_by_role("region", name="Intake")
    await expect(intake.get_by_text("Wage dispute")).to_be_visible()
    await expect(intake.get_by_text("General track")).to_be_visible()
    await expect(intake.get_by_text(PETITION["content"])).to_be_visible()
    await expect(page.get_by_text("Assigned (to accept)")).to_be_visible()
    timeline = page.get_by_role("region", name="Timeline")
    await expect(timeline.get_by_text("Registered", exact=True)).to_be_visible()
    await expect(page.get_by_role("heading", name="Actions you can take")).to_be_visible()
    await expect(page.get_by_role("button", name="Accept", exact=True)).to_be_visible()
    await expect(page.get_by_label("Handler")).to_be_visible()
    await page.get_by_text("Case owner…").click()
    await expect(page.get_by_label("Case owner")).to_be_visible()
    left = page.locator(".due .left").first
    await expect(left).to_have_text(re.compile(r"( left|^overdue by )"))
    await shoot(page, "petition-en")

    # A refusal in words, in English: the same 受理 from a page left open after it was done.
    stale = await context.new_page()
    await stale.goto(page.url)
    await page.get_by_role("button", name="Accept", exact=True).click()
    await expect(page.get_by_text("Handling", exact=True).first).to_be_visible()
    await stale.get_by_role("button", name="Accept", exact=True).click()
    await expect(stale.get_by_role("alert")).to_contain_text("Not possible at this stage")

    # The board.
    await page.goto(f"{url}/board")
    await expect(page.get_by_role("heading", name="Supervision board")).to_be_visible()
    await expect(page.get_by_label("Category")).to_be_visible()
    await expect(page.get_by_role("button", name="Filter")).to_be_visible()
    await expect(page.get_by_role("columnheader", name="Responsible unit")).to_be_visible()
    await expect(page.get_by_role("columnheader", name="Level 1")).to_be_visible()

    # Back to zh-CN, on the page it was picked on.
    await (
        page.get_by_role("navigation", name="语言 / Language")
        .get_by_role("link", name="中文")
        .click()
    )
    assert await _language(page) == "zh-CN"
    assert page.url.endswith("/board")
    await expect(page.get_by_role("heading", name="督查看板")).to_be_visible()
    await expect(page.get_by_role("columnheader", name="责任单位")).to_be_visible()
    await page.goto(f"{url}/")
    await expect(page.get_by_role("heading", name="我的待办")).to_be_visible()
    await page.get_by_role("button", name="退出登录").click()
    await expect(page.get_by_label("用户名")).to_be_visible()
    await context.close()
