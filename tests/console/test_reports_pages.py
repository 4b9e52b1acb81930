"""The console's report pages (issue 13): the bureau finds 报表 in its menu, picks a month with
the labelled fields and sees the 月报 drawn (the months as columns, the units' ranking as bars:
images with their names) beside every table, and downloads the same report as Excel; a
township's handler has no 报表 in the menu and is refused the page."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from playwright.async_api import expect
from sqlalchemy import update

from store.models import Petition
from tests.console.conftest import Console, shoot
from tests.helpers.store import register_petition

# A year of petitions, in a few months: the 月报 of October 2026 beside October 2025.
REGISTERED = [
    (datetime(2025, 10, 9, 2, tzinfo=UTC), "dongguan"),
    (datetime(2026, 3, 10, 2, tzinfo=UTC), "xihe"),
    (datetime(2026, 3, 11, 2, tzinfo=UTC), "dongguan"),
    (datetime(2026, 7, 20, 2, tzinfo=UTC), "xihe"),
    *[(datetime(2026, 10, day, 2, tzinfo=UTC), "dongguan") for day in (8, 9, 12)],
    (datetime(2026, 10, 14, 2, tzinfo=UTC), "xihe"),
]


async def _a_year_of_petitions(console: Console) -> None:
    services = console.api.services
    for n, (at, unit) in enumerate(REGISTERED):
        await register_petition(
            services.sessions,
            settings=services.settings,
            unit_id=unit,
            now=at,
            phone=f"139{n:08d}",
        )
    # Rows of the read model alone: no workflow is started for them by the recovery sweep.
    async with services.sessions() as session, session.begin():
        await session.execute(update(Petition).values(workflow_started=True))


async def test_the_bureau_reads_the_monthly_report_drawn_a_handler_is_refused(
    console: Console,
) -> None:
    await _a_year_of_petitions(console)
    url = console.url

    bureau = await console.page_as("demo-bureau")
    await bureau.get_by_role("link", name="报表", exact=True).click()
    await expect(bureau).to_have_url(re.compile(r"/reports/monthly$"))
    await bureau.get_by_label("年份").fill("2026")
    await bureau.get_by_label("月份").select_option(label="10月")
    await bureau.get_by_role("button", name="查询").click()
    await expect(bureau.get_by_role("heading", name=re.compile("2026年10月"))).to_be_visible()

    months = bureau.get_by_role("img", name="本年各月信访量（批次）")
    await expect(months).to_be_visible()
    assert await months.locator("rect").count() >= 10 * 2  # this year and last, each month
    ranking = bureau.get_by_role("img", name="各单位信访情况排名（批次）")
    await expect(ranking).to_be_visible()
    ranked = await ranking.text_content() or ""
    assert ranked.index("东关镇") < ranked.index("西河乡")  # most first: 3 before 1

    # The numbers drawn are in the tables too.
    by_month = bureau.get_by_role("table", name="本年各月信访量")
    await expect(by_month.get_by_role("row", name=re.compile(r"^10月 4 4 1 "))).to_be_visible()
    units = bureau.get_by_role("table", name="各单位信访情况排名")
    await expect(units.get_by_role("row", name=re.compile(r"^1 东关镇\S* 3 3 "))).to_be_visible()
    for title in ("总体情况", "工作质量"):
        await expect(bureau.get_by_role("table", name=title)).to_be_visible()
    await expect(bureau.get_by_text(re.compile("本月受理4件4人次"))).to_be_visible()

    excel = bureau.get_by_role("link", name="Excel（XLSX）")
    answer = await bureau.request.get(url + (await excel.get_attribute("href") or ""))
    assert answer.status == 200 and "spreadsheetml" in answer.headers["content-type"]
    assert "year=2026&month=10&format=pdf" in (
        await bureau.get_by_role("link", name="PDF").get_attribute("href") or ""
    )
    await shoot(bureau, "reports-monthly")

    handler = await console.page_as("dongguan-h1")
    assert await handler.get_by_role("link", name="报表", exact=True).count() == 0
    refused = await handler.goto(f"{url}/reports/monthly?year=2026&month=10")
    assert refused is not None and refused.status == 403
    await expect(handler.get_by_role("alert")).to_be_visible()
    assert await handler.get_by_role("img").count() == 0
