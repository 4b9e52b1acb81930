"""Who may do what (权限): the rules of issue 4, pure, so they are read and tested in one place.

A person's reach follows the posts they hold now:
- a handler, supervising leader or unit head acts on the petitions of their own unit, and the
  county contact leader on those of the units they are the contact for (their chain, 责任链);
- the bureau (信访局交办人员) registers, assigns and acts on every petition;
- county principal leaders (县主要领导) and auditors read every petition and change nothing;
- only auditors read the audit trail;
- only the head of the petition's unit decides an extension (信访条例第三十三条);
- a leader who owns a case (包案) reads it, wherever it is, while they hold a leader post;
- the loop is closed on the petitioner's side (issue 10): their rating and withdrawal are
  recorded by the bureau on their behalf, never by the chain of the unit being supervised;
- an integration (系统对接: 12345热线, the online platform) acts through a service account
  (服务账号), never in a person's name: it holds no post, only its own role, and registers
  petitions — nothing else, not even reading them back (what it registered, it sent).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.vocabulary import Role

# The posts of a unit's chain (三周工作法), in the order responsibility climbs.
CHAIN_ROLES = frozenset(
    {Role.HANDLER, Role.SUPERVISING_LEADER, Role.UNIT_HEAD, Role.COUNTY_CONTACT_LEADER}
)
# The posts that may own a case (领导包案): a unit's leaders, the county contact leaders and
# the county principal leaders (seeds 001/003: 党政主要领导 own major cases).
LEADER_ROLES = frozenset(
    {
        Role.SUPERVISING_LEADER,
        Role.UNIT_HEAD,
        Role.COUNTY_CONTACT_LEADER,
        Role.COUNTY_PRINCIPAL_LEADER,
    }
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
    Role.INTEGRATION,
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
    # Issue 13: the bureau records the leaders' reception days and the AB roster, and marks
    # 专报 (who reads the reports is ``Principal.reads_reports``: a reading, not a command).
    RECORD_RECEPTION = "record_reception"  # 领导接访、AB岗登记
    MARK_SPECIAL = "mark_special"  # 专报


# Commands on one petition that its unit's chain or the bureau may give.
_CHAIN_OR_BUREAU = frozenset(
    {
        Action.ACCEPT,
        Action.DECLINE,
        Action.TRANSFER,
        Action.REQUEST_EXTENSION,
        Action.COMPLETE,
        Action.REQUEST_REVIEW,
    }
)
# The petitioner's side (信访人一方): a unit rating its own reply "satisfied", or withdrawing
# its own case, would block the petitioner's review. The bureau records these for the
# petitioner (代为记录), saying how they were reached.
PETITIONER_SIDE = frozenset({Action.WITHDRAW, Action.RATE})
PETITIONER_SIDE_RULE = (
    "only the bureau records the petitioner's rating or withdrawal, on their behalf (代为记录), "
    "never the accountable unit's chain"
)
_BUREAU_ONLY = frozenset(
    {
        Action.REGISTER,
        Action.ASSIGN,
        Action.SET_OWNER,
        Action.ADMINISTER_DIRECTORY,
        Action.RECORD_RECEPTION,
        Action.MARK_SPECIAL,
    }
)
# Who reads the reports besides the bureau: the county's leaders, to whom they go.
REPORT_READERS = frozenset({Role.COUNTY_PRINCIPAL_LEADER, Role.COUNTY_CONTACT_LEADER})
# What a service account's role lets it do, and nothing more. An integration registers the
# petitions it takes in (登记, at the bureau: the bureau assigns them); it reads none back, so a
# leaked key shows no petitioner's data and no officer's, and acts in no one's name.
SERVICE_ACTIONS: dict[Role, frozenset[Action]] = {Role.INTEGRATION: frozenset({Action.REGISTER})}
SERVICE_RULE = (
    "an integration's service account (系统对接) only registers petitions: it reads, assigns "
    "and decides nothing"
)


@dataclass(frozen=True)
class Principal:
    """A signed-in person and their posts now, or an integration's service account (服务账号,
    by its API key) with its own role and no post."""

    person_id: str
    username: str
    name: str
    posts: frozenset[tuple[str, Role]]  # (unit id, role)
    via: str = "password"  # "password" (a bearer token) or "api_key"
    service_role: Role | None = None  # a service account's role (系统对接); None: a person

    @property
    def roles(self) -> frozenset[Role]:
        held = frozenset(role for _, role in self.posts)
        return held | {self.service_role} if self.service_role else held

    @property
    def role(self) -> Role | None:
        """The widest post held: what the audit trail records beside the username."""
        return next((r for r in _ROLE_ORDER if r in self.roles), None)

    @property
    def reads(self) -> bool:
        """Reads anything at all (查阅: petitions within reach, the directory): every person;
        no service account, whose role only sends petitions in."""
        return self.service_role is None

    @property
    def is_bureau(self) -> bool:
        return Role.BUREAU_DISPATCHER in self.roles

    @property
    def reads_reports(self) -> bool:
        """Reads the 四报 and the 巡查 (issue 13): the bureau and the county's leaders, to whom
        they go."""
        return self.service_role is None and (self.is_bureau or bool(self.roles & REPORT_READERS))

    @property
    def reads_all(self) -> bool:
        return bool(self.roles & READ_ALL_ROLES)

    @property
    def chain_units(self) -> frozenset[str]:
        """The units whose petitions this person is accountable for."""
        return frozenset(unit for unit, role in self.posts if role in CHAIN_ROLES)

    @property
    def is_leader(self) -> bool:
        """Holds a post that may own a case (包案) now."""
        return bool(self.roles & LEADER_ROLES)

    def owns(self, owner_id: str | None) -> bool:
        """The leader who owns the case (包案), while they still hold a leader post: the
        ownership was given to the post's holder, and ends with the post."""
        return owner_id is not None and owner_id == self.person_id and self.is_leader

    def may_read(
        self, unit_id: str | None, owner_id: str | None = None, handled_by: str | None = None
    ) -> bool:
        """May see the petition (a petition not yet assigned belongs to the bureau). A leader
        who owns the case (包案) sees it wherever it is; the unit that handled it (``handled_by``)
        keeps seeing it during 复查/复核, its reply being what is reviewed."""
        return self.reads and (
            self.reads_all
            or (unit_id is not None and unit_id in self.chain_units)
            or (handled_by is not None and handled_by in self.chain_units)
            or self.owns(owner_id)
        )

    def may(self, action: Action, unit_id: str | None = None) -> bool:
        """May give ``action``, on a petition now at ``unit_id`` where it concerns one."""
        if self.service_role is not None:  # its role's actions, whatever else it may hold
            return action in SERVICE_ACTIONS.get(self.service_role, frozenset())
        if action in _BUREAU_ONLY:
            return self.is_bureau
        if action is Action.READ_AUDIT:
            return Role.AUDITOR in self.roles
        if action is Action.DECIDE_EXTENSION:
            return unit_id is not None and (unit_id, Role.UNIT_HEAD) in self.posts
        if action in _CHAIN_OR_BUREAU:
            return self.is_bureau or (unit_id is not None and unit_id in self.chain_units)
        if action in PETITIONER_SIDE:
            # Not even a dispatcher who also holds a post in the unit's chain.
            return self.is_bureau and (unit_id is None or unit_id not in self.chain_units)
        raise ValueError(f"no rule for {action}")  # a new action must get its rule here


def on_behalf_refusal(recorder_role: Role | None, reached_by: str | None) -> str | None:
    """The workflow's own check of a rating or withdrawal (defence in depth: anyone who reaches
    Temporal can send an update): it names the bureau's dispatcher who recorded it for the
    petitioner and how the petitioner was reached; None when it does."""
    if recorder_role is not Role.BUREAU_DISPATCHER:
        return PETITIONER_SIDE_RULE
    if reached_by is None:
        return "say how the petitioner was reached (reached_by: phone, visit, letter or online)"
    return None


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
        or principal.owns(owner_id)
    )
