"""The console keeps the access table of the API (domain.access): per role, a person sees no
petition and no button outside their reach; a form posted without the session's CSRF token is
refused; the sign-in keeps the API's lockout. Pages are tested in Chromium, found by label and
role as a person finds them."""

from __future__ import annotations

import re
from typing import Any

import jwt
from playwright._impl._api_structures import SetCookieParam
from playwright.async_api import Page, expect
from sqlalchemy import update

from api.auth import ISSUER
from store.models import Petition
from tests.console.conftest import Console, shoot, sign_in
from tests.helpers.api import detail, register
from tests.helpers.waiting import eventually


async def _registered(console: Console) -> dict[str, str]:
    """Three petitions: at 东关镇 and at 西河乡 (both assigned), and one left at the bureau."""
    api = console.api
    found = {
        "dongguan": (await register(api))["id"],
        "xihe": (await register(api, unit_id="xihe", summary="西河乡土地承包纠纷"))["id"],
        "bureau": (await register(api, unit_id=None, summary="待交办的来信"))["id"],
    }

    async def stages() -> list[Any]:
        return [(await detail(api, pid))["stage"] for pid in found.values()]

    await eventually(stages, lambda s: s == ["assigned", "assigned", "registered"])
    return found


async def _listed(page: Page, url: str) -> str:
    await page.goto(f"{url}/petitions")
    return await page.locator("main").inner_text()


async def test_each_role_sees_only_its_petitions_and_buttons(console: Console) -> None:
    pids = await _registered(console)
    url = console.url

    # The township's handler: its own petition, with 受理; the others do not exist for them.
    handler = await console.page_as("dongguan-h1")
    listed = await _listed(handler, url)
    assert pids["dongguan"] in listed
    assert pids["xihe"] not in listed and pids["bureau"] not in listed
    await handler.goto(f"{url}/petitions/{pids['dongguan']}")
    await expect(handler.get_by_role("button", name="受理", exact=True)).to_be_visible()
    await expect(handler.get_by_text("13800138000")).to_be_visible()  # their unit: unmasked
    assert await handler.get_by_role("button", name="交办", exact=True).count() == 0
    assert await handler.get_by_role("link", name="登记", exact=True).count() == 0
    answer = await handler.goto(f"{url}/petitions/{pids['xihe']}")
    assert answer is not None and answer.status == 404
    assert "西河乡土地承包纠纷" not in await handler.locator("main").inner_text()
    for bureau_page in ("/register", "/queue", "/directory", "/board"):
        answer = await handler.goto(f"{url}{bureau_page}")
        assert answer is not None and answer.status == 403, bureau_page

    # 西河乡's handler: the mirror image.
    other = await console.page_as("xihe-h1")
    listed = await _listed(other, url)
    assert pids["xihe"] in listed and pids["dongguan"] not in listed

    # A county principal leader reads every petition, contacts masked, and acts on none.
    leader = await console.page_as("cpl-01")
    listed = await _listed(leader, url)
    assert all(pid in listed for pid in pids.values())
    await leader.goto(f"{url}/petitions/{pids['dongguan']}")
    await expect(leader.get_by_text("138****8000")).to_be_visible()
    assert await leader.get_by_text("13800138000").count() == 0
    assert await leader.locator("main form").count() == 0
    await expect(leader.get_by_text("当前没有您可以办理的操作")).to_be_visible()
    answer = await leader.goto(f"{url}/board")
    assert answer is not None and answer.status == 200

    # The bureau: every petition; the one left with it is in the queue, with its 交办 form.
    bureau = await console.page_as("demo-bureau")
    await bureau.goto(f"{url}/queue")
    await expect(bureau.get_by_role("button", name=f"交办 {pids['bureau']}")).to_be_visible()
    assert pids["dongguan"] not in await bureau.locator("main").inner_text()
    await shoot(bureau, "queue")

    # The repeat check answers before submit: this petitioner's 劳资纠纷 was terminated
    # (三级终结, set in the read model here: the chain to it takes three rounds).
    async with console.api.services.sessions() as session:
        await session.execute(
            update(Petition).where(Petition.id == pids["bureau"]).values(closure="terminated")
        )
        await session.commit()
    await bureau.goto(f"{url}/register")
    await bureau.get_by_label("联系电话").fill("13800138000")
    await bureau.get_by_label("内容分类").select_option(label="劳资纠纷")
    warning = bureau.get_by_text("重复件提示")
    await expect(warning).to_contain_text(pids["bureau"])

    # The directory: appoint (换人: the post's holder replaced), then end the new term (免职).
    await bureau.goto(f"{url}/directory")
    await bureau.get_by_label("单位", exact=True).select_option(label="东关镇人民政府")
    await bureau.get_by_label("岗位", exact=True).select_option(label="分管领导")
    await bureau.get_by_label("人员", exact=True).select_option(value="dongguan-h2")
    await bureau.get_by_role("button", name="任命", exact=True).click()
    ended = bureau.get_by_role("region", name="任职记录")
    await expect(ended.get_by_text("赵秀兰")).to_be_visible()  # the former holder's term
    await shoot(bureau, "directory")
    await bureau.get_by_role("button", name="免去何佳琪的分管领导职务").click()
    await expect(ended.get_by_text("何佳琪")).to_be_visible()
    assert await bureau.get_by_role("button", name="免去何佳琪的分管领导职务").count() == 0


async def test_a_form_without_its_csrf_token_is_refused(console: Console) -> None:
    pids = await _registered(console)
    page = await console.page_as("dongguan-h1")
    target = f"{console.url}/petitions/{pids['dongguan']}/act/accept"
    # The session's cookie goes with it (as with a post from another site's page), the token
    # does not: refused, and nothing was done.
    forms: list[dict[str, str | float | bool]] = [{}, {"csrf": "forged"}]
    for form in forms:
        answer = await page.request.post(target, form=form, max_redirects=0)
        assert answer.status == 403, await answer.text()
        assert "CSRF" in await answer.text()
    assert (await detail(console.api, pids["dongguan"]))["stage"] == "assigned"
    signed_out = await page.request.post(f"{console.url}/logout", form={}, max_redirects=0)
    assert signed_out.status == 403
    # With its token, the same click is done; the same click on a page left open since (a
    # second tab) is refused by the workflow, and the page says why in words.
    await page.goto(f"{console.url}/petitions/{pids['dongguan']}")
    stale = await page.context.new_page()
    await stale.goto(page.url)
    await page.get_by_role("button", name="受理", exact=True).click()
    await expect(page.get_by_text("办理中").first).to_be_visible()
    await stale.get_by_role("button", name="受理", exact=True).click()
    await expect(stale.get_by_role("alert")).to_contain_text("当前阶段不能办理")
    assert await stale.get_by_role("button", name="受理", exact=True).count() == 0

    # 申请延期 by the handler; the unit head finds it in 我的待办 and approves it.
    await page.get_by_text("申请延期…").click()
    await page.get_by_label("延期理由").fill("涉及多方核实，需延长办理期限")
    await page.get_by_role("button", name="申请延期", exact=True).click()
    head = await console.page_as("dongguan-head")
    await expect(head.get_by_text("待审批延期")).to_be_visible()
    await head.get_by_role("link", name=re.compile(pids["dongguan"])).first.click()
    await head.get_by_label("审批意见").fill("同意")
    await head.get_by_role("button", name="批准延期").click()
    await expect(head.get_by_text("批准延期").first).to_be_visible()
    assert (await detail(console.api, pids["dongguan"]))["extension"]["approved"] is True

    # On the audit trail like the API's commands: who, how they signed in, refused or done.
    trail = await console.api.get(
        "/api/v1/audit",
        params={"petition_id": pids["dongguan"]},
        headers=await console.api.as_user("audit-01"),
    )
    rows = [
        (r["actor"], r["action"], r["via"], r["status"])
        for r in trail.json()["items"]
        if r["action"] == "console_act"
    ]
    assert [(actor, status) for actor, _, _, status in rows] == [
        ("dongguan-head", 303),  # 批准延期
        ("dongguan-h1", 303),  # 申请延期
        ("dongguan-h1", 409),  # 受理 again, from the stale tab
        ("dongguan-h1", 303),  # 受理
        ("dongguan-h1", 403),  # without a token
        ("dongguan-h1", 403),  # with a forged one
    ], rows
    assert {via for *_, via, _ in rows} == {"console"}


async def test_sign_in_by_keyboard_lockout_and_sign_out(console: Console) -> None:
    url = console.url
    page = await console.browser.new_page(locale="zh-CN")
    for _ in range(3):
        await sign_in(page, url, "dongguan-h2", "wrong")
        await expect(page.get_by_role("alert")).to_have_text("用户名或密码错误。")
    await sign_in(page, url, "dongguan-h2", "demo")  # the right one, too late: locked
    await expect(page.get_by_role("alert")).to_contain_text("登录失败次数过多")
    await shoot(page, "login")

    # Every control by keyboard: the fields in order, Enter submits.
    await page.goto(f"{url}/login")
    await page.keyboard.press("Tab")  # the skip link
    await page.keyboard.press("Tab")
    await page.keyboard.type("dongguan-h1")
    await page.keyboard.press("Tab")
    await page.keyboard.type("demo")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="我的待办")).to_be_visible()
    cookie = next(c for c in await page.context.cookies() if c["name"] == "pf_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"

    # Idle for more than 15 minutes (the cookie's last request moved back): signed out.
    settings = console.api.services.settings
    claims = jwt.decode(
        cookie["value"], settings.secret_key.get_secret_value(), algorithms=["HS256"], issuer=ISSUER
    )
    stale = {**claims, "seen": claims["seen"] - 16 * 60}
    idle = jwt.encode(stale, settings.secret_key.get_secret_value(), algorithm="HS256")
    await page.context.add_cookies([SetCookieParam(name="pf_console", value=idle, url=url)])
    await page.goto(f"{url}/")
    await expect(page.get_by_role("alert")).to_contain_text("登录已超时")
    await page.context.add_cookies(
        [SetCookieParam(name="pf_console", value=cookie["value"], url=url)]
    )
    await page.goto(f"{url}/")

    await page.get_by_role("button", name="退出登录").click()
    await expect(page.get_by_label("用户名")).to_be_visible()
    # The session ended on the server: the old cookie opens nothing.
    await page.context.add_cookies(
        [SetCookieParam(name=cookie["name"], value=cookie["value"], url=url)]
    )
    await page.goto(f"{url}/")
    await expect(page.get_by_label("用户名")).to_be_visible()
