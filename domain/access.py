"""Who may do what (权限): the rules of issue 4, pure, so they are read and tested in one place.

A person's reach follows the posts they hold now:
- a handler, supervising leader or unit head acts on the petitions of their own unit, and the
  county contact leader on those of the units they are the contact for (their chain, 责任链);
- the bureau (信访局交办人员) registers, assigns and acts on every petition;
- county principal leaders (县主要领导) and auditors read every petition and change nothing;
- only auditors read the audit trail;
- only the head of the petition's unit decides an extension (信访条例第三十三条);
- a leader who owns a case (包案) reads it, wherever it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.vocabulary import Role

# The posts of a unit's chain (三周工作法), in the order responsibility climbs.
CHAIN_ROLES = frozenset(
    {Role.HANDLER, Role.SUPERVISING_LEADER, Role.UNIT_HEAD, Role.COUNTY_CONTACT_LEADER}
)
READ_ALL_ROLES = frozenset({Role.BUREAU_DISPATCHER, Role.COUNTY_PRINCIPAL_LEADER, Role.AUDITOR})
# When a person holds several posts, the audit trail names the widest one.
_ROLE_ORDER = (
    Role.BUREAU_DISPATCHER,
    Role.AUDITOR,
    Role.COUNTY_PRINCIPAL_LEADER,
    Role.COUNTY_CONTACT_LEADER,
    Role.UNIT_HEAD,
    Role.SUPERVISING_LEADER,
    Role.HANDLER,
)


class Action(StrEnum):
    """The commands the API takes, in the domain's words."""

    REGISTER = "register"  # 登记
    ASSIGN = "assign"  # 交办
    ACCEPT = "accept"  # 受理
    DECLINE = "decline"  # 不予受理
    TRANSFER = "transfer"  # 转办
    WITHDRAW = "withdraw"  # 撤回
    REQUEST_EXTENSION = "request_extension"  # 延期申请
    DECIDE_EXTENSION = "decide_extension"  # 延期审批
    COMPLETE = "complete"  # 办结
    RATE = "rate"  # 回访
    REQUEST_REVIEW = "request_review"  # 复查/复核申请
    SET_OWNER = "set_owner"  # 领导包案
    ADMINISTER_DIRECTORY = "administer_directory"  # 组织名录维护, API keys
    READ_AUDIT = "read_audit"  # 审计


# Commands on one petition that its unit's chain or the bureau may give.
_CHAIN_OR_BUREAU = frozenset(
    {
        Action.ACCEPT,
        Action.DECLINE,
        Action.TRANSFER,
        Action.WITHDRAW,
        Action.REQUEST_EXTENSION,
        Action.COMPLETE,
        Action.RATE,
        Action.REQUEST_REVIEW,
    }
)
_BUREAU_ONLY = frozenset(
    {Action.REGISTER, Action.ASSIGN, Action.SET_OWNER, Action.ADMINISTER_DIRECTORY}
)


@dataclass(frozen=True)
class Principal:
    """A signed-in person (or an integration's API key acting as one) and their posts now."""

    person_id: str
    username: str
    name: str
    posts: frozenset[tuple[str, Role]]  # (unit id, role)
    via: str = "password"  # "password" (a bearer token) or "api_key"

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(role for _, role in self.posts)

    @property
    def role(self) -> Role | None:
        """The widest post held: what the audit trail records beside the username."""
        return next((r for r in _ROLE_ORDER if r in self.roles), None)

    @property
    def is_bureau(self) -> bool:
        return Role.BUREAU_DISPATCHER in self.roles

    @property
    def reads_all(self) -> bool:
        return bool(self.roles & READ_ALL_ROLES)

    @property
    def chain_units(self) -> frozenset[str]:
        """The units whose petitions this person is accountable for."""
        return frozenset(unit for unit, role in self.posts if role in CHAIN_ROLES)

    def may_read(self, unit_id: str | None, owner_id: str | None = None) -> bool:
        """May see the petition (a petition not yet assigned belongs to the bureau). A leader
        who owns the case (包案) sees it wherever it is."""
        return (
            self.reads_all
            or (unit_id is not None and unit_id in self.chain_units)
            or (owner_id is not None and owner_id == self.person_id)
        )

    def may(self, action: Action, unit_id: str | None = None) -> bool:
        """May give ``action``, on a petition now at ``unit_id`` where it concerns one."""
        if action in _BUREAU_ONLY:
            return self.is_bureau
        if action is Action.READ_AUDIT:
            return Role.AUDITOR in self.roles
        if action is Action.DECIDE_EXTENSION:
            return unit_id is not None and (unit_id, Role.UNIT_HEAD) in self.posts
        if action in _CHAIN_OR_BUREAU:
            return self.is_bureau or (unit_id is not None and unit_id in self.chain_units)
        raise ValueError(f"no rule for {action}")  # a new action must get its rule here


def mask_phone(phone: str) -> str:
    """138****8000: the first three and last four digits stay, the digits between are starred
    (a landline's separators stay where they are)."""
    digits = [i for i, ch in enumerate(phone) if ch.isdigit()]
    hidden = set(digits[3:-4]) if len(digits) > 7 else set(digits[1:-1])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(phone))


def mask_id_number(id_number: str) -> str:
    """身份证号: the region (first six) and the last four stay: 110101********1234."""
    if len(id_number) <= 10:
        return "*" * len(id_number)
    return id_number[:6] + "*" * (len(id_number) - 10) + id_number[-4:]


def sees_contact_details(
    principal: Principal, unit_id: str | None, owner_id: str | None = None
) -> bool:
    """Who needs to reach the petitioner: the bureau, the unit handling the petition and the
    leader who owns the case (包案领导 meet the petitioner). Others (principal leaders,
    auditors) see the contact details masked."""
    return (
        principal.is_bureau
        or (unit_id is not None and unit_id in principal.chain_units)
        or (owner_id is not None and owner_id == principal.person_id)
    )
