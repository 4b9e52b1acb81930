"""The directory's admin API (组织名录维护), on SQLite and PostgreSQL: units, people, passwords,
appointments, replacements and the history of terms."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select

from store.models import Person
from tests.helpers.api import ApiFactory

V1 = "/api/v1"
NEW_HEAD = {
    "id": "dongguan-head-2",
    "name": "陈立新",
    "title": "东关镇党委书记",
    "phone": "0558-6131009",
    "username": "chen-lixin",
}


def field_of(response: httpx.Response) -> list[Any]:
    """Where a 422 says the error is: the last part of each error's ``loc``."""
    assert response.status_code == 422, response.text
    return [error["loc"][-1] for error in response.json()["detail"]]


async def created(http: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await http.post(f"{V1}{path}", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_a_new_unit_is_staffed_and_its_head_replaced(api: ApiFactory) -> None:
    async with api() as http:
        unit = await created(
            http, "/units", {"id": "nanshan", "name": "南山镇人民政府", "kind": "township"}
        )
        assert unit == {"id": "nanshan", "name": "南山镇人民政府", "kind": "township"}
        assert unit in (await http.get(f"{V1}/units")).json()
        person = await created(
            http, "/people", {"id": "nanshan-head", "name": "欧阳春", "title": "南山镇党委书记"}
        )
        assert person["posts"] == [] and person["username"] is None
        # Someone without a post is in the directory, to be appointed.
        assert "nanshan-head" in [p["id"] for p in (await http.get(f"{V1}/people")).json()]
        first = await created(
            http, "/posts", {"unit_id": "nanshan", "role": "unit_head", "person_id": "nanshan-head"}
        )
        assert first["ended"] == [] and first["term"]["ended_at"] is None

        # The head of 东关镇 is replaced (换人): the old term ends when the new one starts.
        await created(http, "/people", NEW_HEAD)
        made = await created(
            http,
            "/posts",
            {"unit_id": "dongguan", "role": "unit_head", "person_id": NEW_HEAD["id"]},
        )
        term, (ended,) = made["term"], made["ended"]
        assert (term["person_id"], term["person_name"], term["ended_at"]) == (
            "dongguan-head-2",
            "陈立新",
            None,
        )
        assert (ended["person_id"], ended["person_name"]) == ("dongguan-head", "李卫东")
        assert ended["ended_at"] == term["started_at"]
        heads = await http.get(f"{V1}/people", params={"unit_id": "dongguan", "role": "unit_head"})
        assert [p["id"] for p in heads.json()] == ["dongguan-head-2"]

        history = (
            await http.get(f"{V1}/posts", params={"unit_id": "dongguan", "role": "unit_head"})
        ).json()
        assert [(t["person_name"], t["ended_at"] is None) for t in history] == [
            ("陈立新", True),
            ("李卫东", False),
        ]
        assert datetime.fromisoformat(history[1]["started_at"]) <= datetime.fromisoformat(
            history[1]["ended_at"]
        )
        current = await http.get(
            f"{V1}/posts", params={"unit_id": "dongguan", "include_ended": "false"}
        )
        assert "dongguan-head" not in [t["person_id"] for t in current.json()]
        # Who was the head a moment before the replacement, and at it.
        before = await http.get(
            f"{V1}/posts",
            params={"unit_id": "dongguan", "role": "unit_head", "at": history[1]["started_at"]},
        )
        at = await http.get(
            f"{V1}/posts",
            params={"unit_id": "dongguan", "role": "unit_head", "at": term["started_at"]},
        )
        assert [t["person_id"] for t in before.json()] == ["dongguan-head"]
        assert [t["person_id"] for t in at.json()] == ["dongguan-head-2"]
        naive = await http.get(f"{V1}/posts", params={"at": "2026-05-01T09:00:00"})
        assert field_of(naive) == ["at"]
        before_utc = await http.get(f"{V1}/posts", params={"at": "0001-01-01T00:00:00+08:00"})
        assert field_of(before_utc) == ["at"]
        # Anyone signed in reads the history.
        mine = await http.get(
            f"{V1}/posts",
            params={"person_id": "dongguan-h1"},
            headers=await http.as_user("dongguan-h1"),
        )
        assert [t["role"] for t in mine.json()] == ["handler"]

        # A handler joins and leaves: the term ends, the record stays.
        handler = await created(
            http, "/posts", {"unit_id": "nanshan", "role": "handler", "person_id": "nanshan-head"}
        )
        ended_now = await http.post(f"{V1}/posts/{handler['term']['id']}/end")
        assert ended_now.status_code == 200 and ended_now.json()["ended_at"] is not None
        again = await http.post(f"{V1}/posts/{handler['term']['id']}/end")
        assert again.status_code == 409
        assert (await http.post(f"{V1}/posts/999999/end")).status_code == 404
        assert field_of(await http.post(f"{V1}/posts/{10**22}/end")) == ["term_id"]

        renamed = await http.patch(
            f"{V1}/people/nanshan-head", json={"title": "南山镇党委书记、镇长", "phone": None}
        )
        assert renamed.status_code == 200, renamed.text
        assert (renamed.json()["title"], renamed.json()["name"]) == (
            "南山镇党委书记、镇长",
            "欧阳春",
        )
        assert renamed.json()["posts"] == [{"unit_id": "nanshan", "role": "unit_head"}]


WRITES: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/units", {"id": "beishan", "name": "北山乡人民政府", "kind": "township"}),
    ("POST", "/people", {"id": "someone", "name": "某人", "title": "干事"}),
    ("PATCH", "/people/dongguan-h1", {"title": "主任"}),
    ("PUT", "/people/dongguan-h1/password", {"password": "a-long-password"}),
    ("POST", "/posts", {"unit_id": "dongguan", "role": "unit_head", "person_id": "dongguan-sup"}),
    ("POST", "/posts/1/end", {}),
]


async def test_only_the_bureau_writes_and_bad_input_is_refused(api: ApiFactory) -> None:
    async with api() as http:
        for username in ("dongguan-head", "cpl-01", "audit-01"):
            headers = await http.as_user(username)
            for method, path, body in WRITES:
                refused = await http.request(method, f"{V1}{path}", json=body, headers=headers)
                assert refused.status_code == 403, (username, method, path, refused.text)
        assert (await http.get(f"{V1}/posts")).status_code == 200
        unsigned = await http.post(f"{V1}/units", json=WRITES[0][2], headers={"Authorization": ""})
        assert unsigned.status_code == 401

        async def post(path: str, body: dict[str, Any]) -> httpx.Response:
            return await http.post(f"{V1}{path}", json=body)

        # 422 naming the field.
        unit = {"id": "beishan", "name": "北山乡人民政府", "kind": "township"}
        assert field_of(await post("/units", {**unit, "kind": "village"})) == ["kind"]
        assert field_of(await post("/units", {**unit, "id": "北山"})) == ["id"]
        assert field_of(await post("/units", {**unit, "name": "北山\u0000乡"})) == ["name"]
        assert field_of(await post("/units", {**unit, "surprise": 1})) == ["surprise"]
        person = {"id": "beishan-head", "name": "钟山", "title": "北山乡乡长"}
        assert field_of(await post("/people", {**person, "phone": "call me"})) == ["phone"]
        assert field_of(await post("/people", {**person, "name": "  "})) == ["name"]
        assert field_of(await post("/people", {**person, "username": "a b"})) == ["username"]
        patched = await http.patch(f"{V1}/people/dongguan-h1", json={"name": None})
        assert field_of(patched) == ["name"]
        post_body = {"unit_id": "dongguan", "role": "handler", "person_id": "cl-01"}
        for change, field in [
            ({"unit_id": "nowhere"}, "unit_id"),
            ({"person_id": "nobody"}, "person_id"),
            ({"role": "king"}, "role"),
            ({"role": "case_owner"}, "role"),
            ({"role": "auditor"}, "role"),  # the bureau's posts are held at the bureau
        ]:
            assert field_of(await post("/posts", {**post_body, **change})) == [field], change

        # 404 for an unknown id in the path.
        assert (await http.patch(f"{V1}/people/nobody", json={"title": "x"})).status_code == 404
        missing = await http.put(f"{V1}/people/nobody/password", json={"password": "long-enough"})
        assert missing.status_code == 404

        # 409 for a conflict, never a 500.
        assert (await post("/units", {**unit, "id": "dongguan"})).status_code == 409
        assert (await post("/units", {**unit, "kind": "bureau"})).status_code == 409
        taken = await post("/people", {**person, "username": "dongguan-h1"})
        assert taken.status_code == 409 and "taken" in taken.json()["detail"]
        assert (await post("/people", {**person, "id": "dongguan-h1"})).status_code == 409
        renamed = await http.patch(f"{V1}/people/dongguan-h2", json={"username": "dongguan-h1"})
        assert renamed.status_code == 409
        held = await post(
            "/posts", {"unit_id": "dongguan", "role": "handler", "person_id": "dongguan-h1"}
        )
        assert held.status_code == 409
        nameless = await post("/people", person)
        assert nameless.status_code == 201
        no_login = await http.put(
            f"{V1}/people/beishan-head/password", json={"password": "long-enough"}
        )
        assert no_login.status_code == 409 and "username" in no_login.json()["detail"]
        # The last bureau dispatcher stays: someone must be able to maintain the directory.
        dispatchers = await http.get(
            f"{V1}/posts", params={"role": "bureau_dispatcher", "include_ended": "false"}
        )
        terms = {t["person_id"]: t["id"] for t in dispatchers.json()}
        assert (await http.post(f"{V1}/posts/{terms['bureau-02']}/end")).status_code == 200
        last = await http.post(f"{V1}/posts/{terms['bureau-01']}/end")
        assert last.status_code == 409 and "last" in last.json()["detail"]

        # Every command is on the audit trail, the refused ones too.
        audit = await http.get(
            f"{V1}/audit", params={"limit": 500}, headers=await http.as_user("audit-01")
        )
        actions = {(row["action"], row["outcome"]) for row in audit.json()["items"]}
        assert {("appoint", "refused"), ("appoint", "invalid"), ("end_term", "done")} <= actions


async def test_the_bureau_sets_a_password_and_the_old_one_stops_working(api: ApiFactory) -> None:
    async with api() as http:
        assert (await http.sign_in("dongguan-h1", "demo")).status_code == 200
        for weak in ("demo", "pw-7chr", "x" * 129, "tab\there1"):
            refused = await http.put(f"{V1}/people/dongguan-h1/password", json={"password": weak})
            assert field_of(refused) == ["password"] and weak not in refused.text
        new = "东关镇-信访-2026"
        done = await http.put(f"{V1}/people/dongguan-h1/password", json={"password": new})
        assert done.status_code == 204, done.text
        assert (await http.sign_in("dongguan-h1", new)).status_code == 200
        assert (await http.sign_in("dongguan-h1", "demo")).status_code == 401
        # Dev mode gave the demo password a cheap hash (it is public); one set is hashed in full.
        async with http.services.sessions() as session:
            stored = {
                p.id: p.password_hash
                for p in await session.scalars(
                    select(Person).where(Person.id.in_(("dongguan-h1", "dongguan-h2")))
                )
            }
        assert str(stored["dongguan-h1"]).startswith("$argon2id$v=19$m=65536,t=3,p=4$")
        assert str(stored["dongguan-h2"]).startswith("$argon2id$v=19$m=1024,t=1,p=1$")
