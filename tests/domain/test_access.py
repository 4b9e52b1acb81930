"""The access rules and the masking of contact details, without a server."""

from __future__ import annotations

from dataclasses import replace

import pytest

from domain.access import (
    LEADER_ROLES,
    PETITIONER_SIDE_RULE,
    Action,
    Principal,
    mask_id_number,
    mask_phone,
    on_behalf_refusal,
    sees_contact_details,
)
from domain.vocabulary import ReachedBy, Role


def person(*posts: tuple[str, Role], person_id: str = "p") -> Principal:
    return Principal(person_id=person_id, username=person_id, name="某", posts=frozenset(posts))


HANDLER = person(("dongguan", Role.HANDLER))
HEAD = person(("dongguan", Role.UNIT_HEAD))
CONTACT = person(("dongguan", Role.COUNTY_CONTACT_LEADER), ("kaifaqu", Role.COUNTY_CONTACT_LEADER))
BUREAU = person(("bureau", Role.BUREAU_DISPATCHER))
PRINCIPAL = person(("bureau", Role.COUNTY_PRINCIPAL_LEADER))
AUDITOR = person(("bureau", Role.AUDITOR))
NOBODY = person()


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13800138000", "138****8000"),
        ("+8613800138000", "+861******8000"),
        ("0558-6120101", "055*-***0101"),
        ("12345", "1***5"),
    ],
)
def test_phone_masking_keeps_the_ends(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


def test_id_number_masking_keeps_region_and_last_four() -> None:
    assert mask_id_number("11010119800101123X") == "110101********123X"
    assert mask_id_number("110101800101123") == "110101*****1123"
    assert mask_id_number("1234") == "****"


def test_a_units_chain_reads_and_acts_on_its_own_units_only() -> None:
    assert HANDLER.may_read("dongguan") and not HANDLER.may_read("xihe")
    assert not HANDLER.may_read(None)  # not yet assigned: the bureau's
    assert CONTACT.chain_units == {"dongguan", "kaifaqu"}
    for action in (Action.ACCEPT, Action.COMPLETE, Action.TRANSFER, Action.REQUEST_REVIEW):
        assert HANDLER.may(action, "dongguan") and not HANDLER.may(action, "xihe")
    assert not HANDLER.may(Action.DECIDE_EXTENSION, "dongguan")
    assert HEAD.may(Action.DECIDE_EXTENSION, "dongguan")
    assert not HEAD.may(Action.DECIDE_EXTENSION, "xihe")
    assert not CONTACT.may(Action.DECIDE_EXTENSION, "dongguan")


def test_the_bureau_does_all_but_extensions_and_the_audit_trail() -> None:
    assert BUREAU.reads_all and BUREAU.may_read(None)
    for action in Action:
        expected = action not in (Action.DECIDE_EXTENSION, Action.READ_AUDIT)
        assert BUREAU.may(action, "dongguan") is expected, action


@pytest.mark.parametrize("reader", [PRINCIPAL, AUDITOR])
def test_principal_leaders_and_auditors_read_all_and_change_nothing(reader: Principal) -> None:
    assert reader.may_read("xihe") and reader.may_read(None)
    changes = [a for a in Action if a is not Action.READ_AUDIT]
    assert not any(reader.may(a, "dongguan") for a in changes)
    assert reader.may(Action.READ_AUDIT) is (reader is AUDITOR)
    assert not sees_contact_details(reader, "dongguan")


def test_the_case_owner_reads_their_case_wherever_it_is() -> None:
    owner = person(("xihe", Role.UNIT_HEAD), person_id="cl-03")
    assert owner.may_read("dongguan", owner_id="cl-03")
    assert not owner.may_read("dongguan", owner_id="cl-01")
    assert sees_contact_details(owner, "dongguan", owner_id="cl-03")
    assert not owner.may(Action.COMPLETE, "dongguan")


def test_no_post_no_reach_and_the_widest_post_names_the_role() -> None:
    assert not NOBODY.may_read("dongguan") and NOBODY.role is None
    assert person(("dongguan", Role.HANDLER), ("bureau", Role.AUDITOR)).role is Role.AUDITOR
    assert HEAD.role is Role.UNIT_HEAD


def test_only_the_bureau_closes_the_loop_for_the_petitioner() -> None:
    """Issue 10, item 3: the unit's own chain neither rates its reply nor withdraws its case."""
    for action in (Action.RATE, Action.WITHDRAW):
        for chain in (HANDLER, HEAD, CONTACT, person(("dongguan", Role.SUPERVISING_LEADER))):
            assert not chain.may(action, "dongguan"), (chain, action)
        assert BUREAU.may(action, "dongguan")
        # Not even a dispatcher who also holds a post in the unit supervised.
        both = person(("bureau", Role.BUREAU_DISPATCHER), ("dongguan", Role.HANDLER))
        assert not both.may(action, "dongguan") and both.may(action, "xihe")
    assert HANDLER.may(Action.REQUEST_REVIEW, "dongguan")  # asking for review is unchanged


def test_the_workflow_wants_the_bureau_recorder_and_how_the_petitioner_was_reached() -> None:
    assert on_behalf_refusal(Role.BUREAU_DISPATCHER, ReachedBy.PHONE) is None
    assert on_behalf_refusal(None, ReachedBy.PHONE) == PETITIONER_SIDE_RULE  # a forged update
    assert on_behalf_refusal(Role.HANDLER, ReachedBy.VISIT) == PETITIONER_SIDE_RULE
    assert "reached_by" in (on_behalf_refusal(Role.BUREAU_DISPATCHER, None) or "")


def test_county_principal_leaders_may_own_a_case_and_ownership_ends_with_the_post() -> None:
    """Issue 10, item 7."""
    assert Role.COUNTY_PRINCIPAL_LEADER in LEADER_ROLES and PRINCIPAL.is_leader
    owner = person(("xihe", Role.UNIT_HEAD), person_id="cl-03")
    assert owner.owns("cl-03") and owner.may_read("dongguan", owner_id="cl-03")
    left = person(person_id="cl-03")  # no post any more
    assert not left.owns("cl-03") and not left.may_read("dongguan", owner_id="cl-03")
    assert not sees_contact_details(left, "dongguan", owner_id="cl-03")
    now_handler = person(("xihe", Role.HANDLER), person_id="cl-03")  # no leader post either
    assert not now_handler.may_read("dongguan", owner_id="cl-03")


def test_the_unit_that_handled_a_case_keeps_reading_it_during_review() -> None:
    """Issue 10, item 8: in 复查 the petition is at the review body; its handling unit reads it
    (and does not act on it)."""
    assert HANDLER.may_read("county-review", handled_by="dongguan")
    assert not HANDLER.may_read("county-review", handled_by="xihe")
    assert not HANDLER.may(Action.COMPLETE, "county-review")


INTEGRATION = Principal(
    person_id="svc-12345",
    username="svc-12345",
    name="12345政务服务热线",
    posts=frozenset(),
    via="api_key",
    service_role=Role.INTEGRATION,
)


def test_an_integrations_service_account_registers_and_does_nothing_else() -> None:
    """Issue 10, item 11: API keys act as a service account with its own role, never a person."""
    assert INTEGRATION.role is Role.INTEGRATION and INTEGRATION.may(Action.REGISTER)
    others = [a for a in Action if a is not Action.REGISTER]
    assert not any(INTEGRATION.may(a, unit) for a in others for unit in (None, "dongguan"))
    assert not INTEGRATION.reads and not INTEGRATION.reads_all
    assert not INTEGRATION.may_read(None) and not INTEGRATION.may_read("dongguan")
    # A post on its row (the table edited by hand) gives it nothing: its role is all it has.
    posing = replace(INTEGRATION, posts=frozenset({("bureau", Role.BUREAU_DISPATCHER)}))
    assert not posing.may(Action.ASSIGN) and not posing.may_read("dongguan")
    assert not posing.may(Action.ADMINISTER_DIRECTORY) and not posing.may(Action.READ_AUDIT)
    # Every person reads (within their reach), whatever their posts.
    assert all(p.reads for p in (BUREAU, HANDLER, AUDITOR, NOBODY))


def test_the_bureau_and_the_county_leaders_read_the_reports() -> None:
    assert BUREAU.reads_reports and PRINCIPAL.reads_reports
    assert person(("dongguan", Role.COUNTY_CONTACT_LEADER)).reads_reports
    assert not AUDITOR.reads_reports and not HANDLER.reads_reports
    # Recording for the reports and marking a 专报 are the bureau's.
    for action in (Action.RECORD_RECEPTION, Action.MARK_SPECIAL):
        assert BUREAU.may(action) and not PRINCIPAL.may(action) and not HANDLER.may(action)
