"""The slips and written documents of a petition as printable A4 pages: HTML, and the same page
as PDF with the Chinese fonts embedded. Read like the petition itself (404 outside the
reader's reach), and on the audit trail as a reading of the petitioner's file."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse, Response

from api.routers.petitions import NOT_FOUND, UNAVAILABLE, Readable
from api.service import printing

router = APIRouter(prefix="/petitions", tags=["documents"])

NoticeId = Annotated[int, Path(description="the slip's id, from GET …/notices")]
DocumentId = Annotated[int, Path(description="the document's id, from GET …/documents")]
HTML_PAGE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {}}, "description": "the page, A4, to print"},
    **NOT_FOUND,
}
PDF_PAGE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}}, "description": "the page as PDF, fonts embedded"},
    **NOT_FOUND,
    **UNAVAILABLE,
}


def _pdf(content: bytes, name: str) -> Response:
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}.pdf"'},
    )


@router.get(
    "/{petition_id}/notices/{notice_id}.html", response_class=HTMLResponse, responses=HTML_PAGE
)
async def notice_html(case: Readable, notice_id: NoticeId) -> HTMLResponse:
    """A slip (交办单, 催办单, 督办单, 逾期通报) with its number, date, unit, what is asked, by when
    and why, as printable A4 HTML."""
    return HTMLResponse(await printing.notice_page(case, notice_id))


@router.get("/{petition_id}/notices/{notice_id}.pdf", response_class=Response, responses=PDF_PAGE)
async def notice_pdf(case: Readable, notice_id: NoticeId) -> Response:
    """The slip as PDF (A4, Chinese fonts embedded); 503 naming the missing package when this
    server cannot print Chinese."""
    page = await printing.notice_page(case, notice_id)
    return _pdf(await printing.as_pdf(page), f"{case.petition_id}-notice-{notice_id}")


@router.get(
    "/{petition_id}/documents/{document_id}.html",
    response_class=HTMLResponse,
    responses=HTML_PAGE,
)
async def document_html(case: Readable, document_id: DocumentId) -> HTMLResponse:
    """A written document (受理告知书, 答复意见书) with its number, as printable A4 HTML."""
    return HTMLResponse(await printing.document_page(case, document_id))


@router.get(
    "/{petition_id}/documents/{document_id}.pdf", response_class=Response, responses=PDF_PAGE
)
async def document_pdf(case: Readable, document_id: DocumentId) -> Response:
    """The written document as PDF (A4, Chinese fonts embedded)."""
    page = await printing.document_page(case, document_id)
    return _pdf(await printing.as_pdf(page), f"{case.petition_id}-document-{document_id}")
