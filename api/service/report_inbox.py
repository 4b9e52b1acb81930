"""The reports in a person's inbox (issue 13): each scheduled run filed for them (巡查, 日报, 周报,
月报), unread first. Reports belong to no petition, so they are not among the notices."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Principal
from store import report_runs


class ReportReceivedPublic(BaseModel):
    id: int
    run_id: str  # the schedule's id and the scheduled time
    unit_id: str | None  # whose section it is (None: the whole report)
    text: str
    delivered_at: datetime | None
    read_at: datetime | None


async def my_reports(
    session: AsyncSession, reader: Principal, limit: int
) -> list[ReportReceivedPublic]:
    rows = await report_runs.inbox(session, reader.person_id, limit)
    return [ReportReceivedPublic.model_validate(row, from_attributes=True) for row in rows]
