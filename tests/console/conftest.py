"""Fixtures of the console's browser tests: one headless Chromium (Debian's, `make chromium`)
for the session, the console served in-process with a worker on the shared dev server, and
screenshots at a desktop's and a phone's width kept as test artifacts (var/screenshots)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, ViewportSize, async_playwright
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from store.db import dispose
from tests.helpers.api import ApiClient
from tests.helpers.county import BUREAU
from tests.helpers.serving import served
from tests.helpers.settings import make_settings
from tests.helpers.store import Templates, open_store
from tests.helpers.temporal import temporal_address, worker_for

PROJECT = Path(__file__).resolve().parents[2]
SHOTS = PROJECT / "var" / "screenshots"
DESKTOP = ViewportSize(width=1280, height=800)
PHONE = ViewportSize(width=390, height=844)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless; Playwright's own browser download is not available here."""
    path = shutil.which("chromium")
    assert path, "no chromium on PATH: `make chromium` installs Debian's package"
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=path)
        yield launched
        await launched.close()


@dataclass
class Console:
    """The console at ``url``, and the JSON API of the same app signed in as the bureau."""

    url: str
    api: ApiClient
    browser: Browser

    async def page_as(self, username: str, password: str = "demo") -> Page:
        """A fresh browser context (its own cookies) signed in as ``username``."""
        context = await self.browser.new_context(viewport=DESKTOP, locale="zh-CN")
        page = await context.new_page()
        await sign_in(page, self.url, username, password)
        return page


async def sign_in(page: Page, url: str, username: str, password: str = "demo") -> None:
    """As a person does: the labelled fields, then the button."""
    await page.goto(f"{url}/login")
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill(password)
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_load_state()


async def shoot(page: Page, name: str) -> None:
    """The page at a desktop's width and at a phone's, into var/screenshots (not committed);
    at the phone's width nothing may stick out sideways but a table's own scroll box."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.set_viewport_size(DESKTOP)
    await page.screenshot(path=SHOTS / f"{name}-desktop.png", full_page=True)
    await page.set_viewport_size(PHONE)
    await page.screenshot(path=SHOTS / f"{name}-phone.png", full_page=True)
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{name} is {overflow}px wider than a phone"
    await page.set_viewport_size(DESKTOP)


@pytest.fixture
async def console(
    browser: Browser, dev_env: WorkflowEnvironment, tmp_path: Path, templates: Templates
) -> AsyncIterator[Console]:
    """The app (console and JSON API) on a free port with its lifespan, a worker on its task
    queue, on a copy of the demo county (SQLite); three wrong passwords lock a username."""
    settings = make_settings(
        tmp_path,
        temporal_address=temporal_address(dev_env),
        database_url=await templates.sqlite_copy(tmp_path / "petitionflow.db"),
        sign_in_max_failures=3,
    )
    sessions = await open_store(settings)
    app = create_app(settings)
    try:
        async with (
            app.router.lifespan_context(app),
            worker_for(dev_env.client, settings, sessions),
            served(app) as url,
            ApiClient(
                transport=httpx.ASGITransport(app=app), base_url="http://console.test"
            ) as api,
        ):
            api.services = app.state.services
            api.headers.update(await api.as_user(BUREAU))
            yield Console(url, api, browser)
    finally:
        await dispose(sessions)
