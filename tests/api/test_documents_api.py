"""The slips and documents as printable pages through the API: numbered, in Chinese, as HTML
(officers' text escaped) and as PDF whose text reads back; read only as the petition is."""

from __future__ import annotations

import io
import shutil
from typing import Any

import pytest
from pypdf import PdfReader

from api.errors import Unavailable
from api.service import printing
from core import printing as core_printing
from domain.slips import number_year
from store.petitions import utcnow
from tests.helpers.api import ApiClient, ApiFactory, act, register
from tests.helpers.waiting import eventually

V1 = "/api/v1/petitions"
REPLY = "经核实，工资已于本月补发到位。<script>alert('x')</script>"


def pdf_text(content: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


async def listed(http: ApiClient, pid: str, what: str, count: int) -> list[dict[str, Any]]:
    async def read() -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = (await http.get(f"{V1}/{pid}/{what}")).json()
        return rows

    return await eventually(read, lambda rows: len(rows) >= count)


async def test_slips_and_documents_print_numbered_in_chinese(api: ApiFactory) -> None:
    year = number_year(utcnow())
    async with api(day_seconds=600) as http:
        pid = (await register(http))["id"]
        await act(http, pid, "accept")
        await act(http, pid, "complete", {"reply": REPLY})
        slip = (await listed(http, pid, "notices", 1))[0]
        assert (slip["kind"], slip["number"]) == ("assignment", f"青信交〔{year}〕1号")

        page = await http.get(f"{V1}/{pid}/notices/{slip['id']}.html")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        for expected in ("信访事项交办单", f"青信交〔{year}〕1号", pid, "东关镇", "一天内受理"):
            assert expected in page.text, expected
        assert "size: A4" in page.text and "Noto Serif CJK SC" in page.text

        pdf = await http.get(f"{V1}/{pid}/notices/{slip['id']}.pdf")
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        text = pdf_text(pdf.content)
        for expected in ("信访事项交办单", f"青信交〔{year}〕1号", "请于1日内受理", pid):
            assert expected in text, (expected, text)

        [notice] = await listed(http, pid, "documents", 1)
        [reply] = await listed(http, pid, "documents?kind=reply_opinion", 1)
        assert notice["number"] == f"青信告〔{year}〕1号"
        assert reply["number"] == f"青信复〔{year}〕1号"
        notice_pdf = await http.get(f"{V1}/{pid}/documents/{notice['id']}.pdf")
        assert notice_pdf.status_code == 200
        text = pdf_text(notice_pdf.content)
        assert "信访事项受理告知书" in text and f"青信告〔{year}〕1号" in text and "李秀英" in text

        # The officer's text is shown as text, never run as markup.
        reply_page = await http.get(f"{V1}/{pid}/documents/{reply['id']}.html")
        assert reply_page.status_code == 200
        assert "&lt;script&gt;" in reply_page.text and "<script>" not in reply_page.text
        assert "信访事项答复意见书" in reply_page.text and "工资已于本月补发到位" in reply_page.text

        # Read as the petition is: outside the reader's reach, it does not exist.
        other = await http.as_user("xihe-h1")
        assert (await http.get(f"{V1}/{pid}", headers=other)).status_code == 404
        for path in (
            f"notices/{slip['id']}.html",
            f"notices/{slip['id']}.pdf",
            f"documents/{notice['id']}.pdf",
        ):
            assert (await http.get(f"{V1}/{pid}/{path}", headers=other)).status_code == 404
        # Another petition's slip is not this one's.
        second = (await register(http, summary="另一件事"))["id"]
        assert (await http.get(f"{V1}/{second}/notices/{slip['id']}.html")).status_code == 404
        assert (await http.get(f"{V1}/{pid}/documents/999999.html")).status_code == 404

        # Printing a citizen's file is on the audit trail, as opening it is.
        trail = (
            await http.get(
                f"{V1.removesuffix('/petitions')}/audit",
                headers=await http.as_user("audit-01"),
                params={"limit": 100},
            )
        ).json()["items"]
        printed = {(r["action"], r["petition_id"], r["status"]) for r in trail}
        assert ("notice_pdf", pid, 200) in printed and ("document_html", pid, 200) in printed


async def test_without_the_chinese_fonts_the_pdf_is_refused_naming_the_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(core_printing, "_fonts_seen", False)
    monkeypatch.setattr(shutil, "which", lambda name: None)  # no fontconfig, no fonts
    with pytest.raises(Unavailable) as refused:
        await printing.as_pdf("<p>督办单</p>")
    assert "fonts-noto-cjk" in str(refused.value.detail)
