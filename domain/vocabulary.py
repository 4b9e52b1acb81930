"""The domain's vocabulary: enums in its own words, with the Chinese term beside each."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    """How the petition reached the bureau (信访渠道)."""

    LETTER = "letter"  # 来信
    VISIT = "visit"  # 来访
    ONLINE = "online"  # 网上投诉
    PHONE = "phone"  # 来电
    LEADER_MAILBOX = "leader_mailbox"  # 领导信箱


class Category(StrEnum):
    """Content category (内容分类) as the county reports count them."""

    WAGE_DISPUTE = "wage_dispute"  # 劳资纠纷
    AGRICULTURE_RURAL = "agriculture_rural"  # 农业农村
    CIVIL_ASSISTANCE = "civil_assistance"  # 民政救助
    DEMOLITION_COMPENSATION = "demolition_compensation"  # 拆迁补偿
    ENVIRONMENT = "environment"  # 环境保护
    ACCUSATION = "accusation"  # 揭发控诉
    LITIGATION = "litigation"  # 涉法涉诉
    URBAN_RURAL_CONSTRUCTION = "urban_rural_construction"  # 城乡建设
    LABOUR_SOCIAL_SECURITY = "labour_social_security"  # 劳动社保
    OTHER = "other"  # 其他


class Track(StrEnum):
    """Handling track (办理程序): simple (简易) or general (一般)."""

    SIMPLE = "simple"
    GENERAL = "general"


class Stage(StrEnum):
    """Where a petition is in the closed loop (闭环)."""

    REGISTERED = "registered"  # 已登记, waiting for the bureau to assign a unit (交办)
    ASSIGNED = "assigned"  # 已交办, waiting for the unit to accept
    HANDLING = "handling"  # 办理中 (also during review 复查 and re-review 复核)
    OVERDUE = "overdue"  # 逾期, still not completed after the deadline
    REPLIED = "replied"  # 已答复 (办结), waiting for the revisit (回访)
    CLOSED = "closed"  # 已结案: rated, not reached, or terminated (三级终结)
    DECLINED = "declined"  # 不予受理
    WITHDRAWN = "withdrawn"  # 撤回


class Phase(StrEnum):
    """Which handling round the petition is in (三级: 办理 → 复查 → 复核)."""

    HANDLING = "handling"  # 办理
    REVIEW = "review"  # 复查
    RE_REVIEW = "re_review"  # 复核


class Rating(StrEnum):
    """The petitioner's answer at the revisit (回访)."""

    SATISFIED = "satisfied"  # 满意
    BASICALLY_SATISFIED = "basically_satisfied"  # 基本满意
    DISSATISFIED = "dissatisfied"  # 不满意


class ReachedBy(StrEnum):
    """How the bureau reached the petitioner to record their rating or withdrawal for them
    (代为记录: the loop is closed on the petitioner's side, never by the unit supervised)."""

    PHONE = "phone"  # 电话
    VISIT = "visit"  # 走访、当面
    LETTER = "letter"  # 信函
    ONLINE = "online"  # 网上


class Closure(StrEnum):
    """Why a petition's case is closed."""

    SATISFIED = "satisfied"  # 满意
    BASICALLY_SATISFIED = "basically_satisfied"  # 基本满意
    DISSATISFIED = "dissatisfied"  # 不满意, no review asked within the window
    NOT_REACHED = "not_reached"  # 回访未联系上 (no rating within the revisit window)
    TERMINATED = "terminated"  # 三级终结: re-review done, not accepted again
    DECLINED = "declined"  # 不予受理
    WITHDRAWN = "withdrawn"  # 撤回


class Role(StrEnum):
    """A post in the org directory (岗位)."""

    HANDLER = "handler"  # 信访案件责任人 / 承办人
    SUPERVISING_LEADER = "supervising_leader"  # 分管领导
    UNIT_HEAD = "unit_head"  # 单位主要领导
    COUNTY_CONTACT_LEADER = "county_contact_leader"  # 联系点县领导
    BUREAU_DISPATCHER = "bureau_dispatcher"  # 信访局交办人员
    COUNTY_PRINCIPAL_LEADER = "county_principal_leader"  # 县委、县政府主要领导 (reads all)
    AUDITOR = "auditor"  # 审计/监督人员 (reads all and the audit trail, changes nothing)
    CASE_OWNER = "case_owner"  # 包案领导 (a copy of every slip of a key case)
    PETITIONER = "petitioner"  # 信访人 (told in writing; contact details stay in the store)
    # 系统对接: the role of an integration's service account (服务账号: 12345热线, the online
    # platform), held by the account itself, never as a post: no person holds it.
    INTEGRATION = "integration"


class UnitKind(StrEnum):
    TOWNSHIP = "township"  # 乡镇/街道/开发区
    DEPARTMENT = "department"  # 县直单位
    BUREAU = "bureau"  # 信访局
    REVIEW_BODY = "review_body"  # 复查/复核机关 (the next level up)


class NoticeKind(StrEnum):
    """The slips of "三单", the overdue flag, the petitioner's 告知书 and the upload refusal."""

    ASSIGNMENT = "assignment"  # 交办单
    REMINDER = "reminder"  # 催办单
    SUPERVISION = "supervision"  # 督办单
    OVERDUE = "overdue"  # 逾期通报
    PETITIONER = "petitioner"  # 告知书 to the petitioner
    UPLOAD_REFUSED = "upload_refused"  # 拒收通知: the upper-level system refused the reply
    # Issue 11: written by a notice's delivery, not by the petition's chain.
    SIGN_REMINDER = "sign_reminder"  # 催办单: a 督办单 not signed for (未签收) in time
    UNDELIVERED = "undelivered"  # 送达失败通知: a slip did not reach its recipient
    # Issue 13: written when the bureau marks a petition for the principal leaders (专报).
    SPECIAL_REPORT = "special_report"  # 专报


class EventKind(StrEnum):
    """What a timeline entry records."""

    REGISTERED = "registered"  # 登记
    ASSIGNED = "assigned"  # 交办
    ACCEPTED = "accepted"  # 受理
    REMINDER = "reminder"  # 催办
    SUPERVISION = "supervision"  # 督办 (the chain climbed a level)
    OVERDUE = "overdue"  # 逾期
    # 逾期未交办 / 逾期未受理: a statutory intake limit passed, a 督办单 sent (no level climbed).
    INTAKE_OVERDUE = "intake_overdue"
    COMPLETED = "completed"  # 办结 / 答复
    TRANSFERRED = "transferred"  # 转办 to another unit
    DECLINED = "declined"  # 不予受理
    WITHDRAWN = "withdrawn"  # 撤回
    EXTENSION_REQUESTED = "extension_requested"  # 申请延期
    EXTENSION_APPROVED = "extension_approved"  # 批准延期
    EXTENSION_REFUSED = "extension_refused"  # 不批准延期
    OWNER_SET = "owner_set"  # 领导包案
    NOTIFIED = "notified"  # 告知信访人 (四告知, decline, extension)
    UPLOADED = "uploaded"  # 上传上级信访信息系统
    RATED = "rated"  # 回访评价
    REVIEW_REQUESTED = "review_requested"  # 申请复查/复核
    CLOSED = "closed"  # 结案
    # 签收: a slip signed for by its recipient (issue 11). Not a step of the workflow: the
    # petition's view adds it from the notices, after the step that sent the slip.
    SIGNED = "signed"


ROLE_LABELS: dict[Role, str] = {
    Role.HANDLER: "信访案件责任人",
    Role.SUPERVISING_LEADER: "分管领导",
    Role.UNIT_HEAD: "单位主要领导",
    Role.COUNTY_CONTACT_LEADER: "联系点县领导",
    Role.BUREAU_DISPATCHER: "信访局交办人员",
    Role.COUNTY_PRINCIPAL_LEADER: "县主要领导",
    Role.CASE_OWNER: "包案领导",
    Role.PETITIONER: "信访人",
}

NOTICE_LABELS: dict[NoticeKind, str] = {
    NoticeKind.ASSIGNMENT: "交办单",
    NoticeKind.REMINDER: "催办单",
    NoticeKind.SUPERVISION: "督办单",
    NoticeKind.OVERDUE: "逾期通报",
    NoticeKind.PETITIONER: "告知书",
    NoticeKind.UPLOAD_REFUSED: "上传拒收通知",
    NoticeKind.SIGN_REMINDER: "催办单",
    NoticeKind.UNDELIVERED: "送达失败通知",
    NoticeKind.SPECIAL_REPORT: "专报",
}

PHASE_LABELS: dict[Phase, str] = {
    Phase.HANDLING: "办理",
    Phase.REVIEW: "复查",
    Phase.RE_REVIEW: "复核",
}


# The Chinese names the pages, the reports and the slips show, written once (issue 12, 13).
CHANNEL_LABELS: dict[str, str] = {
    Channel.VISIT: "来访",
    Channel.LETTER: "来信",
    Channel.ONLINE: "网上投诉",
    Channel.PHONE: "来电",
    Channel.LEADER_MAILBOX: "领导信箱",
}
CATEGORY_LABELS: dict[str, str] = {
    Category.WAGE_DISPUTE: "劳资纠纷",
    Category.AGRICULTURE_RURAL: "农业农村",
    Category.CIVIL_ASSISTANCE: "民政救助",
    Category.DEMOLITION_COMPENSATION: "拆迁补偿",
    Category.ENVIRONMENT: "环境保护",
    Category.ACCUSATION: "揭发控诉",
    Category.LITIGATION: "涉法涉诉",
    Category.URBAN_RURAL_CONSTRUCTION: "城乡建设",
    Category.LABOUR_SOCIAL_SECURITY: "劳动社保",
    Category.OTHER: "其他",
}
TRACK_LABELS: dict[str, str] = {Track.SIMPLE: "简易程序", Track.GENERAL: "一般程序"}
STAGE_LABELS: dict[str, str] = {
    Stage.REGISTERED: "已登记",
    Stage.ASSIGNED: "已交办",
    Stage.HANDLING: "办理中",
    Stage.OVERDUE: "逾期",
    Stage.REPLIED: "已答复",
    Stage.CLOSED: "已结案",
    Stage.DECLINED: "不予受理",
    Stage.WITHDRAWN: "已撤回",
}
EVENT_LABELS: dict[str, str] = {
    EventKind.REGISTERED: "登记",
    EventKind.ASSIGNED: "交办",
    EventKind.ACCEPTED: "受理",
    EventKind.REMINDER: "催办",
    EventKind.SUPERVISION: "督办",
    EventKind.OVERDUE: "逾期",
    EventKind.INTAKE_OVERDUE: "逾期未交办/未受理",
    EventKind.COMPLETED: "办结",
    EventKind.TRANSFERRED: "转办",
    EventKind.DECLINED: "不予受理",
    EventKind.WITHDRAWN: "撤回",
    EventKind.EXTENSION_REQUESTED: "申请延期",
    EventKind.EXTENSION_APPROVED: "批准延期",
    EventKind.EXTENSION_REFUSED: "不批准延期",
    EventKind.OWNER_SET: "领导包案",
    EventKind.NOTIFIED: "告知信访人",
    EventKind.UPLOADED: "上传上级系统",
    EventKind.RATED: "回访评价",
    EventKind.REVIEW_REQUESTED: "申请复查/复核",
    EventKind.CLOSED: "结案",
    EventKind.SIGNED: "签收",
}
