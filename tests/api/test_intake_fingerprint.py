"""An Idempotency-Key's fingerprint stays what it was before issue 13 added the report facts:
a registration retried across the upgrade, without those fields, gets its first answer rather
than 422 key_reused; with one of them set, it is a different request."""

from __future__ import annotations

import hashlib
import json

from api.schemas import PetitionCreate
from api.service.intake import _intake
from tests.helpers.county import PETITION


def _before_issue_13(body: PetitionCreate) -> str:
    payload = body.model_dump(mode="json")
    for added in ("destination_level", "first_time", "key_petitioner"):
        payload.pop(added)
    return hashlib.sha256(
        json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()


def test_a_registration_without_the_report_facts_keeps_its_fingerprint() -> None:
    body = PetitionCreate.model_validate(PETITION)
    assert _intake(body)[1] == _before_issue_13(body)


def test_a_report_fact_set_changes_the_fingerprint() -> None:
    plain = PetitionCreate.model_validate(PETITION)
    to_beijing = PetitionCreate.model_validate({**PETITION, "destination_level": "beijing"})
    assert _intake(to_beijing)[1] != _intake(plain)[1]
