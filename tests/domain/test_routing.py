"""Which channels a notice goes out on, the contact details behind them and how they are
masked, and the petitioner's SMS (issue 11, items 2 and 3)."""

from __future__ import annotations

import pytest

from domain.contacts import (
    Contacts,
    GroupRobots,
    dingtalk_address,
    is_mobile,
    mask_email,
    mask_mobile,
    mask_webhook,
    sms_number,
    split_dingtalk_address,
)
from domain.delivery import DeliveryChannel
from domain.notices import extension_told, petitioner_text
from domain.petitioner_sms import Told, petitioner_sms, petitioner_sms_for, told_from_key
from domain.routing import address_for, channels_for
from domain.vocabulary import NoticeKind, Phase, Role

EMAIL, SMS = DeliveryChannel.EMAIL, DeliveryChannel.SMS
WECOM, DINGTALK = DeliveryChannel.WECOM, DeliveryChannel.DINGTALK
K = NoticeKind
BOTH = Contacts(email="zhang.ming@example.org", mobile="13800000101")
WECOM_URL = "http://127.0.0.1:9/cgi-bin/webhook/send?key=demo-dongguan-wecom"
DINGTALK_URL = "http://127.0.0.1:9/robot/send?access_token=demo-dongguan-dingtalk"
GROUP = GroupRobots(wecom_url=WECOM_URL, dingtalk_url=DINGTALK_URL, dingtalk_secret="SECdemo")


# ------------------------------------------------------------------------------ defaults


def test_escalations_reach_leaders_by_email_and_sms() -> None:
    for role in (Role.SUPERVISING_LEADER, Role.UNIT_HEAD, Role.COUNTY_CONTACT_LEADER):
        assert channels_for(BOTH, K.SUPERVISION, role) == [EMAIL, SMS]
    assert channels_for(BOTH, K.OVERDUE, Role.COUNTY_PRINCIPAL_LEADER) == [EMAIL, SMS]
    assert channels_for(BOTH, K.OVERDUE, Role.CASE_OWNER) == [EMAIL, SMS]
    assert channels_for(BOTH, K.OVERDUE, Role.BUREAU_DISPATCHER) == [EMAIL]


def test_reminders_and_assignments_go_by_email() -> None:
    assert channels_for(BOTH, K.REMINDER, Role.HANDLER) == [EMAIL]
    assert channels_for(BOTH, K.REMINDER, Role.UNIT_HEAD) == [EMAIL]
    assert channels_for(BOTH, K.ASSIGNMENT, Role.HANDLER) == [EMAIL]


def test_a_channel_without_an_address_is_left_out() -> None:
    assert channels_for(Contacts(mobile="13800000101"), K.SUPERVISION, Role.UNIT_HEAD) == [SMS]
    landline = Contacts(email="a@example.org", mobile="0558-6131001")
    assert channels_for(landline, K.SUPERVISION, Role.UNIT_HEAD) == [EMAIL]
    assert channels_for(Contacts(), K.SUPERVISION, Role.UNIT_HEAD) == []  # the inbox only


def test_the_petitioner_gets_an_sms_and_nothing_in_a_group() -> None:
    phone = Contacts(mobile="138-0000-0999")
    assert channels_for(phone, K.PETITIONER, Role.PETITIONER, group=GROUP) == [SMS]
    assert channels_for(Contacts(mobile="0558-6120101"), K.PETITIONER, Role.PETITIONER) == []
    # The petitioner is not in the directory: no preference can silence or widen the 告知.
    muted: dict[str, list[str]] = {"petitioner": []}
    assert channels_for(phone, K.PETITIONER, Role.PETITIONER, muted) == [SMS]


# ------------------------------------------------------------------------------ groups


def test_a_units_slips_to_its_own_people_go_to_its_group_chat() -> None:
    assert channels_for(BOTH, K.ASSIGNMENT, Role.HANDLER, group=GROUP) == [EMAIL, WECOM, DINGTALK]
    assert channels_for(BOTH, K.SUPERVISION, Role.UNIT_HEAD, group=GROUP) == [
        EMAIL,
        SMS,
        WECOM,
        DINGTALK,
    ]
    wecom_only = GroupRobots(wecom_url=WECOM_URL)
    assert channels_for(BOTH, K.REMINDER, Role.HANDLER, group=wecom_only) == [EMAIL, WECOM]


def test_copies_to_county_leaders_and_the_bureau_do_not_post_twice_in_the_group() -> None:
    for role in (Role.COUNTY_CONTACT_LEADER, Role.CASE_OWNER, Role.BUREAU_DISPATCHER):
        chosen = channels_for(BOTH, K.OVERDUE, role, group=GROUP)
        assert WECOM not in chosen and DINGTALK not in chosen
    upload = channels_for(BOTH, K.UPLOAD_REFUSED, Role.HANDLER, group=GROUP)
    assert upload == [EMAIL]


# ------------------------------------------------------------------------------ preferences


def test_a_persons_preference_replaces_the_default_of_the_kinds_it_names() -> None:
    prefs = {"reminder": ["sms", "email"], "supervision": []}
    assert channels_for(BOTH, K.REMINDER, Role.HANDLER, prefs) == [SMS, EMAIL]
    assert channels_for(BOTH, K.SUPERVISION, Role.UNIT_HEAD, prefs) == []
    assert channels_for(BOTH, K.OVERDUE, Role.UNIT_HEAD, prefs) == [EMAIL, SMS]  # not named
    # Robots belong to the unit, not to a person's preference.
    odd = {"reminder": ["wecom", "pigeon", "email"]}
    assert channels_for(BOTH, K.REMINDER, Role.HANDLER, odd, GROUP) == [EMAIL, WECOM, DINGTALK]


# ------------------------------------------------------------------------------ addresses


def test_addresses_of_the_chosen_channels() -> None:
    assert address_for(EMAIL, BOTH) == "zhang.ming@example.org"
    assert address_for(SMS, BOTH) == "13800000101"
    assert address_for(WECOM, BOTH, GROUP) == WECOM_URL
    url, secret = split_dingtalk_address(address_for(DINGTALK, BOTH, GROUP))
    assert (url, secret) == (DINGTALK_URL, "SECdemo")
    with pytest.raises(ValueError, match="no wecom address"):
        address_for(WECOM, BOTH)


def test_a_dingtalk_address_carries_its_secret_in_the_fragment_only() -> None:
    packed = dingtalk_address(DINGTALK_URL, "SEC+/=")
    assert packed.startswith(DINGTALK_URL + "#secret=")
    assert split_dingtalk_address(packed) == (DINGTALK_URL, "SEC+/=")
    assert dingtalk_address(DINGTALK_URL, None) == DINGTALK_URL
    assert split_dingtalk_address(DINGTALK_URL) == (DINGTALK_URL, None)


def test_mobile_numbers() -> None:
    for number in ("13800000101", "+86 138 0000 0101", "0086-13800000101", "19912345678"):
        assert is_mobile(number), number
        assert sms_number(number) == number.replace(" ", "").replace("-", "")[-11:]
    for other in ("0558-6120101", "12345", "1380000010", "23800000101", None):
        assert not is_mobile(other), other


def test_masks() -> None:
    assert mask_email("zhang.ming@example.org") == "z***@example.org"
    assert mask_email("nobody") == "******"
    assert mask_mobile("13800000101") == "138****0101"
    masked = mask_webhook(WECOM_URL)
    assert masked == "http://127.0.0.1:9/cgi-bin/webhook/send?key=demo****"
    assert "dongguan" not in mask_webhook(DINGTALK_URL)


# ------------------------------------------------------------------------------ the 告知 SMS


def test_the_petitioners_sms_says_the_number_and_the_decision_and_nothing_internal() -> None:
    pid = "XF-2026-000123"
    accepted = petitioner_sms(Told.ACCEPTED, pid)
    assert accepted == "您的信访事项（编号XF-2026-000123）已受理，书面告知书将送达您。"
    assert petitioner_sms(Told.ACCEPTED, pid, Phase.REVIEW).startswith("您的复查申请（编号")
    declined = petitioner_sms(Told.DECLINED, pid)
    assert "不予受理" in declined and "书面告知书" in declined
    assert "延长15日" in petitioner_sms(Told.EXTENDED, pid, extension_days=15)
    assert "依法延长" in petitioner_sms(Told.EXTENDED, pid)
    assert "已办结" in petitioner_sms(Told.REPLIED, pid, Phase.RE_REVIEW)
    for told in Told:
        for phase in Phase:
            text = petitioner_sms(told, pid, phase, 30)
            assert pid in text and len(text) <= 60, text


def test_the_sms_from_the_notice_the_recorder_wrote() -> None:
    pid = "XF-2026-000123"
    note = extension_told(15, "需要现场勘验并征求住建部门意见，承办人张明负责")
    text = petitioner_text(pid, note)
    sms = petitioner_sms_for("petitioner-extension-handling", pid, text)
    assert sms == "您的信访事项（编号XF-2026-000123）办理期限延长15日，详见书面告知。"
    assert "张明" not in (sms or "") and "住建" not in (sms or "")  # the reason stays in writing
    assert told_from_key("petitioner-decline") == (Told.DECLINED, Phase.HANDLING)
    assert told_from_key("petitioner-acceptance-re_review") == (Told.ACCEPTED, Phase.RE_REVIEW)
    assert told_from_key("reminder-1") is None
    assert petitioner_sms_for("level-2", pid) is None
