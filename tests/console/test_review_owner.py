"""The console's forms for 领导包案 (the bureau names the leader owning a case) and 申请复查
(a review asked after the reply): offered to whom the service layer lets act now, submitted
through it, the outcome on the page; not offered to anyone else."""

from __future__ import annotations

from typing import Any

from playwright.async_api import expect

from tests.console.conftest import Console
from tests.helpers.api import act, detail, register
from tests.helpers.waiting import eventually


async def test_the_bureau_names_the_case_owner_and_asks_for_review(console: Console) -> None:
    api, url = console.api, console.url
    pid = (await register(api))["id"]
    await eventually(lambda: detail(api, pid), lambda d: d["stage"] == "assigned")
    target = f"{url}/petitions/{pid}"

    # 包案: the township's handler may not name the owner (the bureau's command); the bureau may.
    handler = await console.page_as("dongguan-h1")
    await handler.goto(target)
    await expect(handler.get_by_role("button", name="受理", exact=True)).to_be_visible()
    assert await handler.get_by_text("领导包案…").count() == 0
    assert await handler.get_by_role("button", name="确定包案").count() == 0

    bureau = await console.page_as("demo-bureau")
    await bureau.goto(target)
    await bureau.get_by_text("领导包案…").click()
    await bureau.get_by_label("包案领导").select_option(value="cl-01")
    await bureau.get_by_role("button", name="确定包案").click()
    intake = bureau.get_by_role("region", name="登记信息")
    await expect(intake.get_by_text("陈志远")).to_be_visible()  # the owner, on the page
    timeline = bureau.get_by_role("region", name="办理过程")
    await expect(timeline.get_by_text("领导包案")).to_be_visible()
    assert (await detail(api, pid))["owner"]["person_id"] == "cl-01"

    # 复查 is not offered before the reply; after it, within the window, it is.
    assert await bureau.get_by_role("button", name="申请复查").count() == 0
    await act(api, pid, "accept", {}, as_user="dongguan-h1")
    await act(api, pid, "complete", {"reply": "已依法处理"}, as_user="dongguan-h1")

    def window_open(d: dict[str, Any]) -> bool:
        return any(x["kind"] == "review_request" and not x["passed"] for x in d["deadlines"])

    await eventually(lambda: detail(api, pid), window_open)

    # A county principal leader reads the case and acts on none of it: no 复查 form.
    leader = await console.page_as("cpl-01")
    await leader.goto(target)
    await expect(leader.get_by_text("当前没有您可以办理的操作")).to_be_visible()
    assert await leader.get_by_role("button", name="申请复查").count() == 0

    await bureau.goto(target)
    await bureau.get_by_text("申请复查…").click()
    await bureau.get_by_label("申请复查理由").fill("信访人对答复不满意，申请复查")
    await bureau.get_by_role("button", name="申请复查", exact=True).click()
    await expect(timeline.get_by_text("申请复查/复核")).to_be_visible()
    await expect(bureau.locator("main").get_by_text("复查", exact=True)).to_be_visible()
    answer = await detail(api, pid)
    assert (answer["phase"], answer["stage"]) == ("review", "handling")
    # Asked once: the form is gone from the page.
    assert await bureau.get_by_role("button", name="申请复查", exact=True).count() == 0
