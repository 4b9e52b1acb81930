"""The signed-in person's reports (issue 13): what the reports' schedules filed for them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.auth import CurrentUser
from api.deps import SessionDep
from api.service.report_inbox import ReportReceivedPublic, my_reports

router = APIRouter(tags=["reports"])


@router.get("/me/reports", response_model=list[ReportReceivedPublic])
async def my_report_inbox(
    session: SessionDep, user: CurrentUser, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> list[ReportReceivedPublic]:
    """Your reports: each 巡查, 日报, 周报 and 月报 filed for you (your unit's section of it, or
    the whole report), unread first, then newest first."""
    return await my_reports(session, user, limit)
