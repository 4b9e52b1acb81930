"""The bureau's reports (issue 13): 日报, 周报, 月报, 专报 and 巡查 as JSON, Excel or PDF, read by
the bureau and the county leaders; the leaders' reception days and the AB-post roster the
bureau records for the 周报; and the 专报 mark on a petition, which reaches the county's
principal leaders at once."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, status
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import CurrentUser
from api.deps import SessionDep
from api.report_schemas import (
    DutyIn,
    DutyPublic,
    ReceptionIn,
    ReceptionPublic,
    SpecialIn,
    SpecialPublic,
)
from api.routers.petitions import FORBIDDEN, NOT_FOUND, UNAVAILABLE
from api.service import Case, petition_for, printing
from api.service import reports as service
from core.report_files import XLSX_TYPE
from domain.access import Action
from domain.reports import Report, ReportKind

router = APIRouter(tags=["reports"])

Format = Literal["json", "xlsx", "pdf"]
FILES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"application/json": {}, XLSX_TYPE: {}, "application/pdf": {}},
        "description": "the report: JSON (the default), an Excel workbook or a PDF",
    },
    **FORBIDDEN,
    **UNAVAILABLE,
}


@router.get("/reports/{kind}", response_model=Report, responses=FILES)
async def read_report(
    kind: Annotated[ReportKind, Path(description="daily, weekly, monthly, special or patrol")],
    session: SessionDep,
    user: CurrentUser,
    format: Format = "json",
    on: Annotated[date | None, Query(alias="date", description="日报, 巡查, 专报: the day")] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    month: Annotated[int | None, Query(ge=1, le=12, description="月报, with year")] = None,
    week: Annotated[int | None, Query(ge=1, le=53, description="周报: ISO week, with year")] = None,
    start: Annotated[date | None, Query(description="专报: from this day")] = None,
    end: Annotated[date | None, Query(description="专报: to this day")] = None,
) -> Any:
    """A report of ``kind`` over the period the query names (the latest whole one when it
    names none: today, last week, last month). ``format=xlsx``: one sheet per table, Chinese
    headers, the header row frozen; ``format=pdf``: the A4 page (503 naming the missing package
    when this server cannot print Chinese)."""
    asked = service.PeriodQuery(on, year, month, week, start, end)
    built = await service.report(session, user, kind, asked)
    return await as_file(session, built, format) if format != "json" else built


async def as_file(session: AsyncSession, built: Report, format: Format) -> Response:
    """The report as an Excel workbook or a PDF (the API's and the console's downloads)."""
    name = f"{built.kind.value}-{built.period.start:%Y%m%d}-{built.period.end:%Y%m%d}"
    if format == "xlsx":
        return Response(
            await service.as_xlsx(session, built),
            media_type=XLSX_TYPE,
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
        )
    pdf = await printing.as_pdf(await service.as_html(session, built))
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}.pdf"'},
    )


Since = Annotated[date | None, Query(description="from this day (default: a week ago)")]
Until = Annotated[date | None, Query(description="to this day (default: today)")]


@router.post(
    "/receptions",
    status_code=status.HTTP_201_CREATED,
    response_model=ReceptionPublic,
    responses=FORBIDDEN,
)
async def record_reception(
    body: ReceptionIn, session: SessionDep, user: CurrentUser
) -> ReceptionPublic:
    """领导接访: a leader's reception day, as the bureau records it for the 周报 and 日报."""
    return await service.record_reception(session, user, body)


@router.get("/receptions", response_model=list[ReceptionPublic], responses=FORBIDDEN)
async def list_receptions(
    session: SessionDep, user: CurrentUser, start: Since = None, end: Until = None
) -> list[ReceptionPublic]:
    """The leaders' reception days in a period."""
    return await service.list_receptions(session, user, start, end)


@router.put("/duty-roster/{day}", response_model=DutyPublic, responses=FORBIDDEN)
async def set_duty(
    day: Annotated[date, Path(description="the Beijing date")],
    body: DutyIn,
    session: SessionDep,
    user: CurrentUser,
) -> DutyPublic:
    """接访AB岗: who is on post A that day and who stands in on post B (replaces the day's)."""
    return await service.set_duty(session, user, day, body)


@router.get("/duty-roster", response_model=list[DutyPublic], responses=FORBIDDEN)
async def duty_roster(
    session: SessionDep, user: CurrentUser, start: Since = None, end: Until = None
) -> list[DutyPublic]:
    """The AB-post roster in a period."""
    return await service.duty_roster(session, user, start, end)


@router.post(
    "/petitions/{petition_id}/special-report",
    status_code=status.HTTP_201_CREATED,
    response_model=SpecialPublic,
    responses={**NOT_FOUND, **FORBIDDEN},
)
async def mark_special(
    body: SpecialIn, case: Annotated[Case, petition_for(Action.MARK_SPECIAL)]
) -> SpecialPublic:
    """专报: the bureau marks the petition (进京访, 扬言, 极端, 不稳定) with a short reason; each
    county principal leader finds it in their inbox at once, with the case's timeline."""
    return await service.mark_special(case, body)
