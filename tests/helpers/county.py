"""The demo county (store/demo_county.yaml) as the tests meet it: the people they act as, the
bureau's dispatcher, and a petition as the API takes it in."""

from __future__ import annotations

from typing import Any

from domain.contracts import Person
from domain.vocabulary import Role

BUREAU = "demo-bureau"  # the bureau's dispatcher (dev mode: password "demo")

DONGGUAN_HEAD = Person(
    person_id="dongguan-head",
    name="李卫东",
    title="东关镇党委书记",
    role=Role.UNIT_HEAD,
    unit_id="dongguan",
)
XIHE_HEAD = Person(
    person_id="xihe-head", name="杨国强", title="西河乡乡长", role=Role.UNIT_HEAD, unit_id="xihe"
)
COUNTY_LEADER = Person(
    person_id="cl-02",
    name="周海涛",
    title="县委常委、政法委书记",
    role=Role.COUNTY_CONTACT_LEADER,
    unit_id="xihe",
)

# A petition (信访事项) as the API registers it: a visit about unpaid wages at 东关镇.
PETITION: dict[str, Any] = {
    "channel": "visit",
    "petitioner": {"name": "李秀英", "phone": "13800138000"},
    "persons": 1,
    "category": "wage_dispute",
    "summary": "建筑工地拖欠农民工工资",
    "content": "本人在东关镇某建筑工地务工，工资被拖欠三个月共计两万四千元，多次讨要未果。",
    "unit_id": "dongguan",
    "track": "general",
}
