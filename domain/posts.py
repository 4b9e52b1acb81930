"""The rules of the org directory's posts (岗位): which roles are posts, which have one holder at
a time, and where each may be held. Pure, so the store, the API and the tests read one page.

- Case owner (包案领导) and petitioner (信访人) are roles in a petition's story, not posts: a
  case owner is named per petition (``POST /petitions/{id}/owner``).
- A unit has one head, one supervising leader and one county contact leader at a time (the
  escalation chain addresses *the* holder of each; DOMAIN.md "each unit has … one supervising
  leader per area, one head, and one county contact leader" — the model has one area per
  unit). Appointing someone to such a post replaces whoever holds it (a replacement, 换人).
- Handlers, bureau dispatchers, county principal leaders and auditors may be many.
- The bureau's posts (dispatcher, county principal leader, auditor) are held at the bureau
  (the unit of kind ``bureau``) only: they reach every petition of the county, so holding one
  "at" a township would mean nothing and would hide a read-all post behind a unit's name.
  The chain posts may be held at any unit, the review bodies (复查/复核机关) and the bureau
  included.
"""

from __future__ import annotations

from domain.access import CHAIN_ROLES, READ_ALL_ROLES
from domain.vocabulary import Role, UnitKind

POST_ROLES = CHAIN_ROLES | READ_ALL_ROLES
SINGLE_HOLDER_ROLES = frozenset(
    {Role.SUPERVISING_LEADER, Role.UNIT_HEAD, Role.COUNTY_CONTACT_LEADER}
)
BUREAU_ROLES = READ_ALL_ROLES


def post_refusal(role: Role, unit_kind: UnitKind) -> str | None:
    """Why ``role`` cannot be a post at a unit of ``unit_kind``; None when it can."""
    if role not in POST_ROLES:
        return (
            f"{role.value} is not a post of the directory (posts: {', '.join(sorted(POST_ROLES))})"
        )
    if role in BUREAU_ROLES and unit_kind is not UnitKind.BUREAU:
        return f"{role.value} is a post of the bureau (信访局) only, not of a {unit_kind.value}"
    return None
