"""The console's report pages (报表, issue 13): 日报, 周报, 月报, 专报 and 巡查 with a period
picker, the summary paragraph, every table, the charts (api.console.charts) and the same report
as Excel or PDF — each the JSON API's call of the service layer (api.service.reports), so who
may read a report and what it counts are written once."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse

from api.console.charts import charts_of
from api.console.render import page, units_of
from api.console.session import ConsoleUser
from api.console.view import REPORT_KINDS
from api.deps import SessionDep
from api.routers.reports import Format, as_file
from api.service import reports as service
from domain.reports import ReportKind

router = APIRouter(include_in_schema=False)


@router.get("/reports")
async def console_reports() -> Response:
    """报表: the 月报 first, the one most read."""
    return RedirectResponse("/reports/monthly", status_code=303)


@router.get("/reports/{kind}")
async def console_report(
    request: Request,
    kind: ReportKind,
    session: SessionDep,
    user: ConsoleUser,
    format: Format = "json",
    on: Annotated[date | None, Query(alias="date")] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    month: Annotated[int | None, Query(ge=1, le=12)] = None,
    week: Annotated[int | None, Query(ge=1, le=53)] = None,
    start: date | None = None,
    end: date | None = None,
) -> Response:
    """One report over the period picked (the latest whole one by default); ``format=xlsx`` or
    ``pdf`` downloads it, as the API's ``GET /api/v1/reports/{kind}`` does."""
    asked = service.PeriodQuery(on, year, month, week, start, end)
    built = await service.report(
        session, user, kind, asked
    )  # refused unless the reader reads reports
    if format != "json":
        return await as_file(session, built, format)
    period = built.period
    iso_year, iso_week, _ = period.start.isocalendar()
    query = {
        ReportKind.MONTHLY: f"year={period.start.year}&month={period.start.month}",
        ReportKind.WEEKLY: f"year={iso_year}&week={iso_week}",
        ReportKind.SPECIAL: f"start={period.start}&end={period.end}",
    }.get(kind, f"date={period.start}")
    names = {unit_id: name for unit_id, name, _ in await units_of(session)}
    return page(
        request,
        "report.html.j2",
        user,
        kind=kind,
        kinds=REPORT_KINDS,  # the tabs, in the bureau's order (四报, 巡查)
        report=built,
        charts=charts_of(built),
        iso_year=iso_year,
        iso_week=iso_week,
        query=query,
        unit_names=names,
    )
