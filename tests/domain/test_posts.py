"""The rules of the directory's posts: pure, no database."""

from __future__ import annotations

import pytest

from domain.posts import POST_ROLES, SINGLE_HOLDER_ROLES, post_refusal
from domain.vocabulary import Role, UnitKind


@pytest.mark.parametrize("role", [Role.CASE_OWNER, Role.PETITIONER])
def test_a_role_of_a_petition_is_no_post(role: Role) -> None:
    assert role not in POST_ROLES
    assert "not a post" in (post_refusal(role, UnitKind.TOWNSHIP) or "")


def test_a_service_accounts_role_is_no_post() -> None:
    """Issue 10, item 11: an integration's role (系统对接) is its account's own, held nowhere."""
    assert Role.INTEGRATION not in POST_ROLES
    for kind in UnitKind:
        assert "not a post" in (post_refusal(Role.INTEGRATION, kind) or "")


@pytest.mark.parametrize(
    "role", [Role.BUREAU_DISPATCHER, Role.COUNTY_PRINCIPAL_LEADER, Role.AUDITOR]
)
def test_the_bureaus_posts_are_held_at_the_bureau_only(role: Role) -> None:
    assert post_refusal(role, UnitKind.BUREAU) is None
    for kind in (UnitKind.TOWNSHIP, UnitKind.DEPARTMENT, UnitKind.REVIEW_BODY):
        assert "bureau" in (post_refusal(role, kind) or "")


def test_the_chain_posts_are_held_anywhere_and_the_leaders_one_at_a_time() -> None:
    for role in (Role.HANDLER, Role.SUPERVISING_LEADER, Role.UNIT_HEAD, Role.COUNTY_CONTACT_LEADER):
        assert all(post_refusal(role, kind) is None for kind in UnitKind)
    assert Role.HANDLER not in SINGLE_HOLDER_ROLES
    assert {Role.UNIT_HEAD, Role.SUPERVISING_LEADER} <= SINGLE_HOLDER_ROLES
