"""Issue 12's walk-through in a real browser on the `make run` stack (``python -m worker.stack``)
with a compressed policy day: the bureau registers a petition through the form; the township's
handler finds it in 我的待办, signs for the 交办单 and accepts it; time passes and the supervising
leader finds the 督办单 in their 待办 and the petition on the board; the handler completes it
with a reply, and the bureau's board, left open, changes by itself."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Page, expect

from tests.console.conftest import DESKTOP, shoot, sign_in
from tests.helpers.blackbox import Stack

# A policy day of one second: level 2 (督办 by the supervising leader) a week after 受理 is
# seven seconds away, level 3 fourteen.
DAY_SECONDS = "1"
WAIT_MS = 20_000  # a step of the workflow, on a loaded machine


async def _as(browser: Browser, url: str, username: str) -> Page:
    context = await browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = await context.new_page()
    await sign_in(page, url, username)
    return page


async def _until_shown(page: Page, text: str | re.Pattern[str], timeout_ms: int = WAIT_MS) -> None:
    """Reload until ``text`` shows (as a person presses F5 until the slip arrives)."""
    for _ in range(timeout_ms // 500):
        if await page.get_by_text(text).count():
            return
        await page.wait_for_timeout(500)
        await page.reload()
    await expect(page.get_by_text(text).first).to_be_visible()


@pytest.mark.long(25)
async def test_walk_through_on_the_stack(stack: Stack, browser: Browser) -> None:
    stack.env["PETITIONFLOW_DAY_SECONDS"] = DAY_SECONDS
    stack.start()
    await stack.wait_up()
    url = f"http://127.0.0.1:{stack.api_port}"

    # The bureau registers (and assigns) through the form; the repeat check answers first.
    bureau = await _as(browser, url, "demo-bureau")
    await bureau.get_by_role("link", name="登记", exact=True).click()
    await bureau.get_by_label("信访人姓名").fill("李秀英")
    await bureau.get_by_label("联系电话").fill("13800138000")
    await bureau.get_by_label("信访渠道").select_option(label="来访")
    await bureau.get_by_label("内容分类").select_option(label="劳资纠纷")
    await expect(bureau.get_by_text("未发现已终结的同类事项")).to_be_visible()
    await bureau.get_by_label("事项摘要").fill("建筑工地拖欠农民工工资")
    await bureau.get_by_label("诉求内容").fill("在东关镇某建筑工地务工，工资被拖欠三个月。")
    await bureau.get_by_label("责任单位", exact=False).select_option(label="东关镇人民政府")
    await shoot(bureau, "register")
    await bureau.get_by_role("button", name="登记", exact=True).click()
    await expect(bureau).to_have_url(re.compile(r"/petitions/XF-\d{4}-\d{6}$"))
    pid = bureau.url.rsplit("/", 1)[1]
    await expect(bureau.get_by_role("heading", name=re.compile(pid))).to_be_visible()

    # The handler: the petition waits for 受理 in 我的待办, with its 交办单 to sign for.
    handler = await _as(browser, url, "dongguan-h1")
    await _until_shown(handler, re.compile(r"【交办单】"))
    await expect(handler.get_by_role("link", name=re.compile(pid)).first).to_be_visible()
    await shoot(handler, "home")
    await handler.get_by_role("button", name=re.compile("^签收交办单")).click()
    await expect(handler.get_by_text("【交办单】")).to_have_count(0)
    await handler.get_by_role("link", name=re.compile(f"{pid} ")).click()
    await handler.get_by_role("button", name="受理", exact=True).click()
    await expect(handler.get_by_text("办理中").first).to_be_visible()
    await expect(handler.get_by_text(re.compile("已签收"))).to_be_visible()

    # The bureau's board, left open, refreshing itself every second.
    await bureau.goto(f"{url}/board?every=1")
    row_total = bureau.get_by_role("link", name="东关镇人民政府 合计 1件")
    await expect(row_total).to_be_visible()
    await shoot(bureau, "board")

    # A week of policy days later: the supervising leader's 督办单, and the petition on the
    # board (their own unit's row).
    leader = await _as(browser, url, "dongguan-sup")
    await _until_shown(leader, re.compile(r"【督办单】"))
    await leader.get_by_role("link", name="督查看板").click()
    await expect(leader.get_by_role("link", name="东关镇人民政府 合计 1件")).to_be_visible()

    # The handler completes it with a reply; the petition leaves the board of open petitions.
    await handler.reload()
    await handler.get_by_label("答复意见").fill("已督促施工单位结清拖欠工资。")
    await handler.get_by_role("button", name="办结", exact=True).click()
    await expect(handler.get_by_text("已答复（待回访）").first).to_be_visible()
    await shoot(handler, "petition")
    await expect(row_total).to_have_count(0, timeout=WAIT_MS)  # no reload: it refreshed
    await expect(bureau.get_by_text("没有在办的信访事项")).to_be_visible()
