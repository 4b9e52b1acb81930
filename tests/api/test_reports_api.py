"""The reports through the API (issue 13): the intake's new fields counted, the 月报 as JSON,
as a workbook openpyxl opens and as a PDF in Chinese; reception days and the roster counted in
the 周报; a 专报 in the principal leader's inbox at once; a bad kind, period or format is a 422
naming it, never a 500."""

from __future__ import annotations

import gc
import io
from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from api.main import create_app
from core import heap
from domain.policy import BEIJING
from store.petitions import utcnow
from tests.api.test_documents_api import pdf_text
from tests.helpers.api import ApiFactory, register
from tests.helpers.settings import make_settings

V1 = "/api/v1"


async def test_reports_in_json_excel_and_pdf(api: ApiFactory) -> None:
    today = utcnow().astimezone(BEIJING).date()
    month = {"year": today.year, "month": today.month}
    async with api(worker=False) as http:
        await register(http, destination_level="beijing", persons=6)
        pid = (await register(http, channel="letter", first_time=False, key_petitioner=True))["id"]
        monthly = await http.get(f"{V1}/reports/monthly", params=month)
        assert monthly.status_code == 200, monthly.text
        overview = {row[0]: row for row in monthly.json()["tables"][0]["rows"]}
        assert overview["信访总量（批次）"][1] == 2 and overview["信访总量（人次）"][1] == 7
        assert overview["进京访（批次）"][1] == overview["集体访（批次）"][1] == 1

        xlsx = await http.get(f"{V1}/reports/monthly", params={**month, "format": "xlsx"})
        assert xlsx.status_code == 200 and "spreadsheetml" in xlsx.headers["content-type"]
        book = load_workbook(io.BytesIO(xlsx.content))
        assert (
            book["总体情况"]["A2"].value == "信访总量（批次）" and book["总体情况"]["B2"].value == 2
        )

        pdf = await http.get(f"{V1}/reports/monthly", params={**month, "format": "pdf"})
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        assert "信访工作月报" in pdf_text(pdf.content)

        # The 周报 counts the week's reception days; the roster is the bureau's to set.
        reception = {
            "leader_id": "cl-01",
            "day": str(today),
            "persons": 9,
            "petitions": 2,
            "signed_instructions": 1,
        }
        assert (await http.post(f"{V1}/receptions", json=reception)).status_code == 201
        duty = await http.put(
            f"{V1}/duty-roster/{today}", json={"a_person_id": "cl-01", "b_person_id": "cl-02"}
        )
        assert duty.status_code == 200 and duty.json()["b_name"] == "周海涛"
        year, week, _ = today.isocalendar()
        weekly = (
            await http.get(f"{V1}/reports/weekly", params={"year": year, "week": week})
        ).json()
        assert "县领导接访1次，接待群众9人次" in weekly["summary"]
        keys = next(t for t in weekly["tables"] if t["title"] == "重点信访人在办事项")
        assert [row[0] for row in keys["rows"]] == [pid]

        # 专报: in the principal leader's inbox at once, with the case's timeline.
        marked = await http.post(
            f"{V1}/petitions/{pid}/special-report",
            json={"kind": "unstable", "reason": "情绪激动，扬言不解决就去北京"},
        )
        assert marked.status_code == 201, marked.text
        assert marked.json()["notified"] == ["林振邦"]
        inbox = (await http.get(f"{V1}/me/notices", headers=await http.as_user("cpl-01"))).json()
        [notice] = [n for n in inbox["items"] if n["kind"] == "special_report"]
        assert "【专报·不稳定】" in notice["text"] and "登记" in notice["text"]
        special = (await http.get(f"{V1}/reports/special")).json()
        assert special["tables"][0]["rows"][0][0] == pid

        # Clear refusals: never a 500.
        later = str(today + timedelta(days=1))
        refusals: list[tuple[str, dict[str, str | int]]] = [
            ("/reports/yearly", {}),
            ("/reports/monthly", {"year": 2026, "month": 13}),
            ("/reports/monthly", {"year": 2026}),
            ("/reports/weekly", {"year": 2025, "week": 53}),
            ("/reports/daily", {"format": "docx"}),
            ("/reports/daily", {"date": "2026-02-30"}),
            ("/reports/special", {"start": later, "end": str(today)}),
            ("/receptions", {"start": later, "end": str(today)}),
            ("/reports/daily", {"date": "9999-12-31"}),
            ("/reports/special", {"start": "0001-01-01"}),
        ]
        for path, params in refusals:
            refused = await http.get(f"{V1}{path}", params=params)
            assert refused.status_code == 422, (path, params, refused.text)
        with_nul = await http.post(f"{V1}/receptions", json={**reception, "note": "a\u0000b"})
        assert with_nul.status_code == 422
        unknown = await http.post(f"{V1}/receptions", json={**reception, "leader_id": "nobody"})
        assert unknown.status_code == 422 and "leader_id" in unknown.text
        auditor = await http.get(f"{V1}/reports/daily", headers=await http.as_user("audit-01"))
        assert auditor.status_code == 403


async def test_the_api_freezes_what_its_start_allocated(
    tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """core/heap.py: once started, a full collection no longer walks the start's objects (a
    pause of tens of ms in a 月报: its p95 at 100,000 petitions); once a process, so a second
    app in it does not walk the whole heap again."""
    gc.unfreeze()
    monkeypatch.setattr(heap, "_frozen", False)  # as a process of its own starts
    app = create_app(make_settings(tmp_path, database_url=store_url))
    async with app.router.lifespan_context(app):
        assert gc.get_freeze_count() > 10_000
    gc.unfreeze()
    again = create_app(make_settings(tmp_path, database_url=store_url))
    async with again.router.lifespan_context(again):
        assert gc.get_freeze_count() == 0
