"""The demo county (store/demo_county.yaml) as the tests meet it: the people they act as, the
bureau's dispatcher, and a petition as the API takes it in."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

from core.settings import DEMO_DIRECTORY
from domain.contracts import Person
from domain.vocabulary import ReachedBy, Role

BUREAU = "demo-bureau"  # the bureau's dispatcher (dev mode: password "demo")
SERVICE_ACCOUNT = "svc-12345"  # 12345热线's service account (系统对接): API keys act as it


def _entries(node: Any) -> Iterator[dict[str, Any]]:
    """Every mapping of the directory file, depth first."""
    if isinstance(node, dict):
        yield node
        node = list(node.values())
    if isinstance(node, list):
        for child in node:
            yield from _entries(child)


def demo_person(person_id: str, role: Role, unit_id: str) -> Person:
    """The person ``person_id`` of the demo directory, as the workflow names them in ``role``
    at ``unit_id``: name and title as the directory file has them."""
    found = next(
        entry
        for entry in _entries(yaml.safe_load(DEMO_DIRECTORY.read_text(encoding="utf-8")))
        if entry.get("id") == person_id and "name" in entry
    )
    return Person(
        person_id=person_id, name=found["name"], title=found["title"], role=role, unit_id=unit_id
    )


DONGGUAN_HEAD = demo_person("dongguan-head", Role.UNIT_HEAD, "dongguan")  # 李卫东, 党委书记
XIHE_HEAD = demo_person("xihe-head", Role.UNIT_HEAD, "xihe")  # 杨国强, 乡长
COUNTY_LEADER = demo_person("cl-02", Role.COUNTY_CONTACT_LEADER, "xihe")  # 周海涛, 政法委书记
DISPATCHER = demo_person("bureau-01", Role.BUREAU_DISPATCHER, "bureau")  # 王建国, demo-bureau
# A rating or withdrawal as the bureau records it for the petitioner (代为记录, issue 10).
ON_BEHALF: dict[str, Any] = {"reached_by": ReachedBy.PHONE, "recorded_by": DISPATCHER}

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
# The same registered at the bureau only (登记): with a unit it is an assignment (交办) too.
AT_BUREAU: dict[str, Any] = {k: v for k, v in PETITION.items() if k != "unit_id"}
