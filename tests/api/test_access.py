"""Who may do what, over every endpoint and every kind of user (issue 4, points 3–6).

The table below is the specification: for each endpoint, who is allowed, from whom the
petition is hidden (404: not even its existence leaks), and — by elimination — who gets 403.
Allowed means the authorization let the request through: the workflow may still refuse the
action for the petition's stage (409), which is not the access rule's business."""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest

from api.main import create_app
from core.settings import DEV_SECRET_KEY
from tests.helpers.api import ApiClient, ApiFactory, key_headers, register
from tests.helpers.county import AT_BUREAU, BUREAU, PETITION, SERVICE_ACCOUNT
from tests.helpers.settings import make_settings
from tests.helpers.waiting import eventually

V1 = "/api/v1"

# One user per kind of reach, all of the demo county, around a petition at 东关镇 (dongguan).
USERS = {
    "bureau": BUREAU,
    "handler": "dongguan-h1",
    "supervising_leader": "dongguan-sup",
    "unit_head": "dongguan-head",
    "county_contact_leader": "cl-01",  # dongguan's county contact leader
    "other_unit": "xihe-h1",  # a handler of another township
    "principal_leader": "cpl-01",
    "auditor": "audit-01",
    # An integration's service account (12345热线), by its API key: it registers, nothing else.
    "integration": SERVICE_ACCOUNT,
}
EVERYONE = frozenset(USERS)
PEOPLE = EVERYONE - {"integration"}  # every person reads (within their reach)
CHAIN = frozenset({"handler", "supervising_leader", "unit_head", "county_contact_leader"})
READERS = PEOPLE - {"other_unit"}
CHAIN_OR_BUREAU = CHAIN | {"bureau"}
HIDDEN = frozenset({"other_unit"})
OK = frozenset({"bureau"})


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # {pid}: the petition; {key}: an API key's id
    allowed: frozenset[str]
    hidden_from: frozenset[str] = frozenset()
    body: Any = None
    form: dict[str, str] | None = None
    changes: bool = False  # allowed calls get a petition of their own
    extra: dict[str, Any] = field(default_factory=dict)
    printed: bool = False  # called on an accepted petition, which has a slip and a document


API_KEY = {"name": "12345热线", "person_id": SERVICE_ACCOUNT}
REPORT_READERS = frozenset({"bureau", "county_contact_leader", "principal_leader"})
RECEPTION = {
    "leader_id": "cl-01",
    "day": "2026-10-20",
    "persons": 12,
    "petitions": 3,
    "signed_instructions": 2,
}
TABLE: dict[tuple[str, str], Endpoint] = {
    (e.method, e.path): e
    for e in [
        Endpoint("GET", "/units", PEOPLE),
        Endpoint("GET", "/people", PEOPLE),
        Endpoint("GET", "/auth/me", EVERYONE),
        Endpoint("GET", "/petitions", PEOPLE),  # every person lists, each only their reach
        Endpoint("POST", "/petitions", OK | {"integration"}, body=AT_BUREAU),
        Endpoint("GET", "/petitions/{pid}", READERS, HIDDEN),
        Endpoint("GET", "/petitions/{pid}/notices", READERS, HIDDEN),
        Endpoint("GET", "/petitions/{pid}/documents", READERS, HIDDEN),
        # The slips and documents as pages: read as the petition is (issue 11).
        *(
            Endpoint("GET", f"/petitions/{{pid}}/{what}.{form}", READERS, HIDDEN, printed=True)
            for what in ("notices/{notice_id}", "documents/{document_id}")
            for form in ("html", "pdf")
        ),
        # The outcome of an action (by the id its answer named) is the petition's to read.
        Endpoint("GET", "/petitions/{pid}/actions/{action}", READERS, HIDDEN),
        Endpoint(
            "POST", "/petitions/{pid}/assign", OK, HIDDEN, {"unit_id": "dongguan"}, changes=True
        ),
        Endpoint("POST", "/petitions/{pid}/accept", CHAIN_OR_BUREAU, HIDDEN, {}, changes=True),
        Endpoint(
            "POST",
            "/petitions/{pid}/decline",
            CHAIN_OR_BUREAU,
            HIDDEN,
            {"reason": "不属于本单位职责", "legal_basis": "《信访工作条例》第三十一条"},
            changes=True,
        ),
        Endpoint(
            "POST",
            "/petitions/{pid}/transfer",
            CHAIN_OR_BUREAU,
            HIDDEN,
            {"unit_id": "xihe", "reason": "属西河乡辖区"},
            changes=True,
        ),
        Endpoint(
            "POST",
            "/petitions/{pid}/withdraw",
            OK,  # the petitioner's side only, recorded by the bureau (issue 10)
            HIDDEN,
            {"reason": "已协商解决", "reached_by": "phone"},
            changes=True,
        ),
        Endpoint(
            "POST",
            "/petitions/{pid}/extension",
            CHAIN_OR_BUREAU,
            HIDDEN,
            {"days": 5, "reason": "需要现场测绘"},
            changes=True,
        ),
        Endpoint(
            "POST",
            "/petitions/{pid}/extension/decision",
            frozenset({"unit_head"}),
            HIDDEN,
            {"approve": False},
            changes=True,
        ),
        Endpoint(
            "POST",
            "/petitions/{pid}/complete",
            CHAIN_OR_BUREAU,
            HIDDEN,
            {"reply": "已督促施工方结清工资"},
            changes=True,
        ),
        Endpoint(
            "POST",
            "/petitions/{pid}/rating",
            OK,  # the petitioner's side only, recorded by the bureau (issue 10)
            HIDDEN,
            {"rating": "satisfied", "reached_by": "phone"},
            changes=True,
        ),
        Endpoint(
            "POST",
            "/petitions/{pid}/review",
            CHAIN_OR_BUREAU,
            HIDDEN,
            {"reason": "对答复不满意"},
            changes=True,
        ),
        Endpoint(
            "POST", "/petitions/{pid}/owner", OK, HIDDEN, {"person_id": "cl-01"}, changes=True
        ),
        Endpoint("GET", "/audit", frozenset({"auditor"})),
        Endpoint("GET", "/auth/api-keys", OK),
        Endpoint("POST", "/auth/api-keys", OK, body=API_KEY),
        Endpoint("DELETE", "/auth/api-keys/{key}", OK, changes=True),
        # The directory (组织名录): everyone reads the history of terms, the bureau writes.
        Endpoint("GET", "/posts", PEOPLE),
        Endpoint(
            "POST", "/units", OK, body={"id": "beishan", "name": "北山乡", "kind": "township"}
        ),
        Endpoint("POST", "/people", OK, body={"id": "zhong-shan", "name": "钟山", "title": "干事"}),
        Endpoint("PATCH", "/people/{person_id}", OK, body={"title": "东关镇信访办干事"}),
        Endpoint("PUT", "/people/{person_id}/password", OK, body={"password": "a-long-password"}),
        Endpoint(
            "POST",
            "/posts",
            OK,
            body={"unit_id": "dongguan", "role": "handler", "person_id": "xihe-h2"},
        ),
        Endpoint("POST", "/posts/{term_id}/end", OK),
        # Contact channels (issue 11): every person reads (masked), the bureau writes.
        Endpoint("GET", "/people/{person_id}/contacts", PEOPLE),
        Endpoint(
            "PUT",
            "/people/{person_id}/contacts",
            OK,
            body={"email": "he.jiaqi@example.org", "mobile": "15400000120"},
        ),
        # Each person sets their own quiet hours and channels (their addresses stay the bureau's).
        Endpoint("PUT", "/me/contact", PEOPLE, body={"quiet_hours": "23:00-06:30"}),
        Endpoint("GET", "/groups", PEOPLE),
        Endpoint("PUT", "/groups/{group_id}", OK, body={"name": "西河乡工作群", "unit_id": "xihe"}),
        # Workflow histories in clear (Temporal's codec protocol): the bureau and auditors.
        Endpoint("POST", "/codec/decode", frozenset({"bureau", "auditor"}), body={"payloads": []}),
        Endpoint("POST", "/codec/session", frozenset({"bureau", "auditor"})),
        # The inbox (issue 11): every person reads their own; only a notice's recipient signs for
        # it (the shared petition's 交办单 is the handler's), to anyone else it does not exist.
        Endpoint("GET", "/me/notices", PEOPLE),
        # The reports the schedules filed for you (issue 13): every person reads their own.
        Endpoint("GET", "/me/reports", PEOPLE),
        Endpoint(
            "POST", "/me/notices/{notice_id}/ack", frozenset({"handler"}), PEOPLE - {"handler"}
        ),
        # Everyone's deliveries: the bureau, and who reads every unit.
        Endpoint("GET", "/notices", frozenset({"bureau", "principal_leader", "auditor"})),
        # The reports (issue 13): the bureau and the county leaders read them; the bureau
        # records reception days and the AB roster, and marks a petition for a 专报.
        Endpoint("GET", "/reports/{kind}", REPORT_READERS),
        Endpoint("GET", "/receptions", REPORT_READERS),
        Endpoint("POST", "/receptions", OK, body=RECEPTION),
        Endpoint("GET", "/duty-roster", REPORT_READERS),
        Endpoint(
            "PUT", "/duty-roster/{day}", OK, body={"a_person_id": "cl-01", "b_person_id": "cl-02"}
        ),
        Endpoint(
            "POST",
            "/petitions/{pid}/special-report",
            OK,
            HIDDEN,
            {"kind": "threat", "reason": "扬言到市政府上访"},
        ),
    ]
}
# Whom the directory's rows act on: a person and a term no user of USERS depends on.
DIRECTORY_PERSON = "dongguan-h2"
# Open to everyone: the health check, the API docs and sign-in itself.
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("POST", "/api/v1/auth/token"),
    ("POST", "/api/v1/auth/refresh"),
}


def _b64(part: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()


async def _api_key(http: ApiClient) -> int:
    answer = await http.post(
        f"{V1}/auth/api-keys", json={"name": "对接测试", "person_id": SERVICE_ACCOUNT}
    )
    assert answer.status_code == 201, answer.text
    key_id: int = answer.json()["id"]
    return key_id


async def _term(http: ApiClient) -> int:
    """The current term of DIRECTORY_PERSON's handler post."""
    answer = await http.get(
        f"{V1}/posts", params={"person_id": DIRECTORY_PERSON, "include_ended": "false"}
    )
    assert answer.status_code == 200, answer.text
    term_id: int = answer.json()[0]["id"]
    return term_id


# An action taken on each petition the table reads, by the id its answer named (Action-Id).
_ACTIONS: dict[str, str] = {}
# The 交办单 of each petition the table reads (its handler's to sign for).
_NOTICES: dict[str, int] = {}


async def _assignment_slip(http: ApiClient, pid: str) -> int:
    async def slips() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = (await http.get(f"{V1}/petitions/{pid}/notices")).json()
        return [n for n in found if n["kind"] == "assignment"]

    notice_id: int = (await eventually(slips, bool))[0]["id"]
    return notice_id


# An accepted petition's 交办单 and 告知书, by petition: (notice id, document id).
_PRINTED: dict[str, tuple[int, int]] = {}


async def _call(
    http: ApiClient, endpoint: Endpoint, headers: dict[str, str], pid: str, key: int, term: int
) -> int:
    path = V1 + endpoint.path.format(
        pid=pid,
        key=key,
        person_id=DIRECTORY_PERSON,
        term_id=term,
        action=_ACTIONS.get(pid, ""),
        notice_id=_NOTICES.get(pid, _PRINTED.get(pid, (0, 0))[0]),
        document_id=_PRINTED.get(pid, (0, 0))[1],
        group_id="xihe",
        kind="monthly",
        day="2026-10-20",
    )
    answer = await http.request(endpoint.method, path, json=endpoint.body, headers=headers)
    assert answer.status_code < 500, (endpoint, answer.text)
    return answer.status_code


async def _printed(http: ApiClient) -> str:
    """An accepted petition, its 交办单 and 告知书 written: the pages' endpoints read them."""
    pid: str = (await register(http))["id"]
    accepted = await http.post(f"{V1}/petitions/{pid}/accept", json={})
    assert accepted.status_code == 200, accepted.text

    async def written() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        notices = (await http.get(f"{V1}/petitions/{pid}/notices")).json()
        return notices, (await http.get(f"{V1}/petitions/{pid}/documents")).json()

    notices, documents = await eventually(written, lambda both: all(both))
    _PRINTED[pid] = (notices[0]["id"], documents[0]["id"])
    return pid


def test_the_table_covers_every_endpoint(tmp_path: Path) -> None:
    """A new endpoint must get its row (or be deliberately public)."""
    app = create_app(make_settings(tmp_path))
    routes = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    covered = {
        (m, V1 + p.replace("{pid}", "{petition_id}").replace("{key}", "{key_id}")) for m, p in TABLE
    }
    covered = {(m, p.replace("{action}", "{action_id}")) for m, p in covered}
    assert routes - PUBLIC == covered


@pytest.mark.long(40)
async def test_the_role_table_holds_for_every_endpoint(
    api: ApiFactory, caplog: pytest.LogCaptureFixture
) -> None:
    # INFO is what runs in production (library DEBUG logs echo SQL parameters by design).
    caplog.set_level(logging.INFO)
    async with api(day_seconds=600) as http:
        shared = (await register(http))["id"]
        owned = await http.post(f"{V1}/petitions/{shared}/owner", json={"person_id": "cl-01"})
        assert owned.status_code == 200, owned.text
        _ACTIONS[shared] = owned.headers["Action-Id"]
        _NOTICES[shared] = await _assignment_slip(http, shared)
        printed = await _printed(http)
        shared_key = await _api_key(http)
        term = await _term(http)
        headers = {
            kind: await http.as_user(name) for kind, name in USERS.items() if kind != "integration"
        }
        headers["integration"] = await key_headers(http)
        expected_refusals: list[tuple[str, int, str]] = []
        for endpoint in TABLE.values():
            # Without a token: 401 everywhere.
            status = await _call(http, endpoint, {"Authorization": ""}, shared, shared_key, term)
            assert status == 401, endpoint
            for kind in sorted(EVERYONE):
                if kind in endpoint.allowed and endpoint.changes:
                    pid, key = (await register(http))["id"], await _api_key(http)
                else:
                    pid, key = (printed if endpoint.printed else shared), shared_key
                status = await _call(http, endpoint, headers[kind], pid, key, term)
                if kind in endpoint.allowed:
                    assert status not in (401, 403, 404), (endpoint.method, endpoint.path, kind)
                elif kind in endpoint.hidden_from:
                    assert status == 404, (endpoint.method, endpoint.path, kind, status)
                    expected_refusals.append((USERS[kind], 404, endpoint.path))
                else:
                    assert status == 403, (endpoint.method, endpoint.path, kind, status)
                    expected_refusals.append((USERS[kind], 403, endpoint.path))
        # Every refused attempt is on record, with who tried.
        trail = (
            await http.get(f"{V1}/audit", params={"limit": 500}, headers=headers["auditor"])
        ).json()["items"]
        recorded = [(r["actor"], r["status"]) for r in trail]
        for actor, status, path in expected_refusals:
            assert (actor, status) in recorded, (actor, status, path)
        anonymous = [r for r in trail if r["status"] == 401 and r["actor"] == "anonymous"]
        assert len(anonymous) >= len(TABLE)
        # Each reader's list holds their reach only.
        for kind, expect in [("handler", True), ("other_unit", False), ("auditor", True)]:
            listed = (await http.get(f"{V1}/petitions", headers=headers[kind])).json()
            assert (shared in {p["id"] for p in listed["items"]}) is expect, kind
    # Personal data never reaches a log line.
    assert PETITION["petitioner"]["phone"] not in caplog.text


async def test_contact_details_are_masked_for_readers_who_do_not_need_them(
    api: ApiFactory,
) -> None:
    async with api(day_seconds=600) as http:
        body = {
            **PETITION,
            "petitioner": {**PETITION["petitioner"], "id_number": "11010119800101123x"},
        }
        answer = await http.post(f"{V1}/petitions", json=body)
        assert answer.status_code == 201, answer.text
        pid = answer.json()["id"]
        full = answer.json()["petitioner"]
        assert (full["phone"], full["id_number"], full["masked"]) == (
            "13800138000",
            "11010119800101123X",
            False,
        )
        for user in ("dongguan-h1", "cl-01"):  # the unit's chain calls the petitioner back
            seen = await http.get(f"{V1}/petitions/{pid}", headers=await http.as_user(user))
            assert seen.json()["petitioner"]["phone"] == "13800138000"
        for user in ("cpl-01", "audit-01"):
            seen = await http.get(f"{V1}/petitions/{pid}", headers=await http.as_user(user))
            petitioner = seen.json()["petitioner"]
            assert petitioner == {
                "name": "李秀英",
                "phone": "138****8000",
                "id_number": "110101********123X",
                "masked": True,
            }
            assert "13800138000" not in seen.text


async def test_tokens_expire_and_cannot_be_forged(api: ApiFactory) -> None:
    async with api() as http:
        me = f"{V1}/auth/me"
        signed = await http.sign_in("dongguan-h1")
        assert signed.status_code == 200
        token = signed.json()["access_token"]
        claims = jwt.decode(token, options={"verify_signature": False})
        assert claims["sub"] == "dongguan-h1" and claims["exp"] - claims["iat"] == 15 * 60

        async def status_with(token: str) -> tuple[int, str]:
            answer = await http.get(me, headers={"Authorization": f"Bearer {token}"})
            return answer.status_code, answer.text

        assert (await status_with(token))[0] == 200
        now = datetime.now(UTC)
        expired = jwt.encode(
            {**claims, "iat": now - timedelta(hours=1), "exp": now - timedelta(minutes=1)},
            DEV_SECRET_KEY,
            algorithm="HS256",
        )
        code, text = await status_with(expired)
        assert code == 401 and "expired" in text
        # Someone else's name in a token signed with another key.
        forged = jwt.encode({**claims, "sub": BUREAU}, "x" * 40, algorithm="HS256")
        assert (await status_with(forged))[0] == 401
        # The payload changed under the original signature.
        head, _, signature = token.split(".")
        tampered_claims = jwt.encode({**claims, "sub": "bureau-01"}, "k" * 40).split(".")[1]
        assert (await status_with(f"{head}.{tampered_claims}.{signature}"))[0] == 401
        unsigned = ".".join(
            [_b64({"alg": "none", "typ": "JWT"}), _b64({**claims, "sub": "bureau-01"}), ""]
        )
        assert (await status_with(unsigned))[0] == 401
        assert (await status_with("not-a-token"))[0] == 401
        # A wrong password and an unknown user answer alike.
        wrong = await http.sign_in("dongguan-h1", "wrong")
        nobody = await http.sign_in("nobody", "demo")
        assert wrong.status_code == nobody.status_code == 401
        assert wrong.json() == nobody.json()


async def test_refresh_tokens_are_good_once(api: ApiFactory) -> None:
    async with api() as http:
        first = (await http.sign_in("dongguan-head")).json()
        refresh = f"{V1}/auth/refresh"
        second = await http.post(refresh, json={"refresh_token": first["refresh_token"]})
        assert second.status_code == 200
        pair = second.json()
        me = await http.get(
            f"{V1}/auth/me", headers={"Authorization": f"Bearer {pair['access_token']}"}
        )
        assert me.json()["username"] == "dongguan-head" and me.json()["role"] == "unit_head"
        # The first refresh token again: a stolen copy. Every session of the person ends.
        replayed = await http.post(refresh, json={"refresh_token": first["refresh_token"]})
        assert replayed.status_code == 401 and "already used" in replayed.text
        later = await http.post(refresh, json={"refresh_token": pair["refresh_token"]})
        assert later.status_code == 401
        unknown = await http.post(refresh, json={"refresh_token": "made-up"})
        assert unknown.status_code == 401


async def test_api_keys_act_as_their_service_account_until_revoked(api: ApiFactory) -> None:
    async with api(day_seconds=600) as http:
        issued = await http.post(
            f"{V1}/auth/api-keys", json={"name": "12345政务服务热线", "person_id": SERVICE_ACCOUNT}
        )
        assert issued.status_code == 201, issued.text
        key = issued.json()["key"]
        assert key.startswith("pf_") and issued.json()["prefix"] == key[:12]
        listed = (await http.get(f"{V1}/auth/api-keys")).json()
        assert key not in str(listed)  # only its hash is kept
        as_key = {"Authorization": "", "X-API-Key": key}
        me = (await http.get(f"{V1}/auth/me", headers=as_key)).json()
        assert (me["person_id"], me["via"], me["role"]) == (
            SERVICE_ACCOUNT,
            "api_key",
            "integration",
        )
        registered = await http.post(f"{V1}/petitions", json=AT_BUREAU, headers=as_key)
        assert registered.status_code == 201
        revoked = await http.delete(f"{V1}/auth/api-keys/{issued.json()['id']}")
        assert revoked.status_code == 200 and revoked.json()["revoked_at"]
        assert (await http.get(f"{V1}/auth/me", headers=as_key)).status_code == 401
        assert (await http.delete(f"{V1}/auth/api-keys/999999")).status_code == 404
        assert (await http.delete(f"{V1}/auth/api-keys/{10**22}")).status_code == 422
        unknown_person = await http.post(
            f"{V1}/auth/api-keys", json={"name": "x", "person_id": "nobody"}
        )
        assert unknown_person.status_code == 422 and "person_id" in unknown_person.text
        trail = (
            await http.get(
                f"{V1}/audit", headers=await http.as_user("audit-01"), params={"limit": 50}
            )
        ).json()["items"]
        assert ("register_petition", SERVICE_ACCOUNT, "integration") in [
            (r["action"], r["actor"], r["role"]) for r in trail
        ]


async def test_outside_dev_mode_default_secrets_and_passwords_stop_the_start(
    tmp_path: Path, database_url: str
) -> None:
    async def start(**settings: Any) -> None:
        app = create_app(make_settings(tmp_path, database_url=database_url, **settings))
        async with app.router.lifespan_context(app):
            pass

    with pytest.raises(RuntimeError, match="PETITIONFLOW_SECRET_KEY is the default"):
        await start(dev_mode=False)
    with pytest.raises(RuntimeError, match="shorter than 32 bytes"):
        await start(dev_mode=False, secret_key="short")
    strong = {"secret_key": "s" * 48, "payload_key": base64.b64encode(b"k" * 32).decode()}
    with pytest.raises(RuntimeError, match="PETITIONFLOW_PAYLOAD_KEY"):
        await start(dev_mode=False, secret_key=strong["secret_key"])
    await start(dev_mode=False, **strong)  # no account has a password yet: fine
    await start(dev_mode=True)  # a trial in dev mode gives the demo accounts "demo"…
    with pytest.raises(
        RuntimeError, match=r"\d+ accounts still have the default password \(audit-01, "
    ):
        await start(dev_mode=False, **strong)  # …which production then refuses


async def test_guessing_a_password_locks_the_username_for_a_while(api: ApiFactory) -> None:
    async with api(sign_in_max_failures=3) as http:
        for _ in range(3):
            assert (await http.sign_in("dongguan-h2", "guess")).status_code == 401
        locked = await http.sign_in("dongguan-h2")  # the right password, too late
        assert locked.status_code == 429 and "too many failed sign-ins" in locked.text
        assert int(locked.headers["Retry-After"]) == 15 * 60
        assert (await http.sign_in("dongguan-h1")).status_code == 200  # others sign in
        trail = (await http.get(f"{V1}/audit", headers=await http.as_user("audit-01"))).json()[
            "items"
        ]
        attempts = [(r["status"], r["outcome"]) for r in trail if r["actor"] == "dongguan-h2"]
        assert attempts == [(429, "refused")] + [(401, "refused")] * 3


async def test_a_case_owner_sees_their_case_outside_their_units(api: ApiFactory) -> None:
    async with api(day_seconds=600) as http:
        pid = (await register(http))["id"]
        owner = await http.as_user("cl-03")  # contact leader of other units, not of dongguan
        assert (await http.get(f"{V1}/petitions/{pid}", headers=owner)).status_code == 404
        owned = await http.post(f"{V1}/petitions/{pid}/owner", json={"person_id": "cl-03"})
        assert owned.status_code == 200, owned.text
        # The read model follows the workflow within a moment: then the owner reads it.
        seen = await eventually(
            lambda: http.get(f"{V1}/petitions/{pid}", headers=owner),
            lambda answer: answer.status_code == 200,
        )
        assert seen.json()["petitioner"]["phone"] == "13800138000"  # 包案领导 meet the petitioner
        listed = (await http.get(f"{V1}/petitions", headers=owner)).json()
        assert pid in {p["id"] for p in listed["items"]}
        # Owning is reading and pushing, not handling: the unit's chain completes it.
        done = await http.post(
            f"{V1}/petitions/{pid}/complete", json={"reply": "已办"}, headers=owner
        )
        assert done.status_code == 403
