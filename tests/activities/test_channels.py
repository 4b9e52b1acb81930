"""The SMS gateway and the WeCom and DingTalk group robots against real HTTP servers on
127.0.0.1 that check each provider's format (tests/helpers/robots.py): success, permanent and
transient failure for each sender, and the Chinese text arriving intact."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from activities.channels import Sender
from activities.channels.configured import http_senders
from activities.channels.dingtalk import DingTalkSender, sign
from activities.channels.sms import SmsSender
from activities.channels.wecom import WeComSender, fit
from domain.contacts import dingtalk_address
from domain.delivery import (
    DeliveryChannel,
    Outgoing,
    PermanentDeliveryFailure,
    TransientDeliveryFailure,
)
from tests.helpers.ports import free_port
from tests.helpers.robots import Providers
from tests.helpers.settings import make_settings

TEXT = (
    "【督办单】李卫东（东关镇党委书记）：信访事项 XF-2026-000123（第3级）。"
    "该信访事项未按期办结，请落实办理。"
)
SECRET = "SECdongguan0123456789"  # a test robot's secret, sent to 127.0.0.1 only
TEMPLATE = "SMS_PETITION_001"
QUICK = 0.3  # seconds a sender waits on the server that never answers


def outgoing(channel: DeliveryChannel, address: str, text: str = TEXT) -> Outgoing:
    return Outgoing(
        notice_id=42,
        channel=channel,
        address=address,
        subject="督办单 XF-2026-000123",
        text=text,
        dedup_key=f"42:{channel.value}",
    )


@pytest.fixture
async def providers() -> AsyncIterator[Providers]:
    async with Providers() as served:
        yield served


def sms_sender(p: Providers, **changes: str) -> SmsSender:
    args = {"gateway_url": p.sms_url(), "template_id": TEMPLATE, "signature": "青川县信访局"}
    return SmsSender(**(args | changes), token=p.sms_token, timeout=5)


def test_each_sender_is_a_sender_of_its_channel() -> None:
    senders: list[Sender] = [SmsSender("http://x", "t", "s"), WeComSender(), DingTalkSender()]
    assert [s.channel for s in senders] == [
        DeliveryChannel.SMS,
        DeliveryChannel.WECOM,
        DeliveryChannel.DINGTALK,
    ]


# ------------------------------------------------------------------------------ SMS


async def test_an_sms_goes_in_the_documented_shape_with_its_dedup_key(
    providers: Providers,
) -> None:
    message = outgoing(DeliveryChannel.SMS, "+86 138-0000-0101")
    assert await sms_sender(providers).send(message) == "SMS-0001"
    assert providers.sms["42:sms"] == {
        "phone": "13800000101",
        "template_id": TEMPLATE,
        "signature": "青川县信访局",
        "params": {"text": TEXT},  # Chinese intact
        "out_id": "42:sms",
        "n": 1,
    }


async def test_a_resent_sms_is_dropped_by_a_deduplicating_gateway(providers: Providers) -> None:
    """A worker killed after the gateway took the SMS and before the delivery was recorded
    sends again on retry: the same out id, so the gateway answers with the first message."""
    sender = sms_sender(providers)
    message = outgoing(DeliveryChannel.SMS, "13800000101")
    first = await sender.send(message)
    again = await sender.send(message)
    assert first == again == "SMS-0001"
    assert providers.sms_requests == 2 and len(providers.sms) == 1


async def test_sms_gateway_4xx_is_permanent(providers: Providers) -> None:
    with pytest.raises(PermanentDeliveryFailure, match=r"400: .*unknown template"):
        await sms_sender(providers, template_id="SMS_NOPE").send(
            outgoing(DeliveryChannel.SMS, "13800000101")
        )
    wrong_token = SmsSender(providers.sms_url(), TEMPLATE, "青川县信访局", token="guess")
    with pytest.raises(PermanentDeliveryFailure, match="401") as refused:
        await wrong_token.send(outgoing(DeliveryChannel.SMS, "13800000101"))
    assert "guess" not in str(refused.value)
    assert providers.sms == {}


async def test_a_landline_is_refused_before_any_request(providers: Providers) -> None:
    with pytest.raises(PermanentDeliveryFailure, match="not a mobile"):
        await sms_sender(providers).send(outgoing(DeliveryChannel.SMS, "0558-6131001"))
    assert providers.sms_requests == 0


async def test_sms_gateway_5xx_429_timeouts_and_refused_connections_are_transient(
    providers: Providers,
) -> None:
    providers.sms_script = [503, 429]
    sender = sms_sender(providers)
    message = outgoing(DeliveryChannel.SMS, "13800000101")
    with pytest.raises(TransientDeliveryFailure, match="503"):
        await sender.send(message)
    with pytest.raises(TransientDeliveryFailure, match="429"):
        await sender.send(message)
    assert await sender.send(message) == "SMS-0001"  # then the retry goes through
    hanging = SmsSender(f"{providers.base_url}/sms/hang", TEMPLATE, "签名", timeout=QUICK)
    with pytest.raises(TransientDeliveryFailure, match="Timeout"):
        await hanging.send(message)
    closed = SmsSender(f"http://127.0.0.1:{free_port()}/sms", TEMPLATE, "签名", timeout=QUICK)
    with pytest.raises(TransientDeliveryFailure, match="ConnectError"):
        await closed.send(message)


def test_the_sms_sender_comes_from_settings(tmp_path: Path) -> None:
    assert SmsSender.from_settings(make_settings(tmp_path)) is None  # no gateway: no SMS
    assert set(http_senders(make_settings(tmp_path))) == {
        DeliveryChannel.WECOM,
        DeliveryChannel.DINGTALK,
    }
    settings = make_settings(
        tmp_path,
        sms_gateway_url="http://127.0.0.1:9/sms/send",
        sms_gateway_token="t0ken",
        sms_template_id=TEMPLATE,
        sms_signature="青川县信访局",
        channel_timeout_seconds=3,
    )
    sender = http_senders(settings)[DeliveryChannel.SMS]
    assert isinstance(sender, SmsSender)
    assert (sender.gateway_url, sender.template_id, sender.signature, sender.timeout) == (
        "http://127.0.0.1:9/sms/send",
        TEMPLATE,
        "青川县信访局",
        3,
    )


# ------------------------------------------------------------------------------ WeCom


async def test_a_wecom_robot_posts_the_text(providers: Providers) -> None:
    assert await WeComSender().send(outgoing(DeliveryChannel.WECOM, providers.wecom_url())) is None
    assert providers.wecom == [
        ("wecom-dongguan", {"msgtype": "text", "text": {"content": TEXT}}),
    ]


async def test_a_long_text_is_cut_to_the_robots_limit_on_a_character(
    providers: Providers,
) -> None:
    long_text = "督" * 1000  # 3,000 bytes of UTF-8
    await WeComSender().send(outgoing(DeliveryChannel.WECOM, providers.wecom_url(), long_text))
    content = providers.wecom[0][1]["text"]["content"]
    assert len(content.encode()) <= 2048 and content.endswith("督…")
    assert fit("短", 2048) == "短"


async def test_a_wrong_wecom_key_is_permanent(providers: Providers) -> None:
    with pytest.raises(PermanentDeliveryFailure, match="errcode 93000") as refused:
        await WeComSender().send(outgoing(DeliveryChannel.WECOM, providers.wecom_url("stolen")))
    assert "stolen" not in str(refused.value)  # the key is a credential: never in an error


async def test_wecom_rate_limit_and_busy_are_transient(providers: Providers) -> None:
    providers.wecom_script = [45009, -1, 40008]
    message = outgoing(DeliveryChannel.WECOM, providers.wecom_url())
    for code in (45009, -1):
        with pytest.raises(TransientDeliveryFailure, match=f"errcode {code}"):
            await WeComSender().send(message)
    with pytest.raises(PermanentDeliveryFailure, match="errcode 40008"):
        await WeComSender().send(message)
    await WeComSender().send(message)
    assert len(providers.wecom) == 1


async def test_an_http_error_of_the_robot_host(providers: Providers) -> None:
    missing = outgoing(DeliveryChannel.WECOM, f"{providers.base_url}/no/such/robot?key=k")
    with pytest.raises(PermanentDeliveryFailure, match="404"):
        await WeComSender().send(missing)
    closed = outgoing(DeliveryChannel.WECOM, f"http://127.0.0.1:{free_port()}/send?key=k")
    with pytest.raises(TransientDeliveryFailure, match="unreachable"):
        await WeComSender(timeout=QUICK).send(closed)


# ------------------------------------------------------------------------------ DingTalk


def test_the_signature_is_dingtalks() -> None:
    # The example any reader can recompute: HMAC-SHA256("SECxyz", "1700000000000\nSECxyz").
    assert sign("SECxyz", 1700000000000) == "0PUR1j8g85Xg3vlFV/UrEcxXfF5HpCAGzcjrNfyJoyg="


async def test_a_signed_dingtalk_robot_checks_and_posts(providers: Providers) -> None:
    address = dingtalk_address(providers.dingtalk_url(), SECRET)
    assert await DingTalkSender().send(outgoing(DeliveryChannel.DINGTALK, address)) is None
    assert providers.dingtalk == [
        ("dingtalk-dongguan", {"msgtype": "text", "text": {"content": TEXT}}),
    ]


async def test_a_wrong_secret_or_a_stale_timestamp_is_refused_for_good(
    providers: Providers,
) -> None:
    wrong = dingtalk_address(providers.dingtalk_url(), "SECnotit")
    with pytest.raises(PermanentDeliveryFailure, match="310000: sign not match"):
        await DingTalkSender().send(outgoing(DeliveryChannel.DINGTALK, wrong))
    right = dingtalk_address(providers.dingtalk_url(), SECRET)
    two_hours_ago = DingTalkSender(clock=lambda: time.time() - 7200)
    with pytest.raises(PermanentDeliveryFailure, match="310000: invalid timestamp"):
        await two_hours_ago.send(outgoing(DeliveryChannel.DINGTALK, right))
    unsigned = providers.dingtalk_url()  # the robot is in signed mode: no signature, no post
    with pytest.raises(PermanentDeliveryFailure, match="310000"):
        await DingTalkSender().send(outgoing(DeliveryChannel.DINGTALK, unsigned))
    unknown = dingtalk_address(providers.dingtalk_url("gone"), SECRET)
    with pytest.raises(PermanentDeliveryFailure, match="300001"):
        await DingTalkSender().send(outgoing(DeliveryChannel.DINGTALK, unknown))
    assert providers.dingtalk == []


async def test_a_dingtalk_robot_without_a_secret_is_sent_to_unsigned(
    providers: Providers,
) -> None:
    providers.dingtalk_robots["keyword-robot"] = None
    address = dingtalk_address(providers.dingtalk_url("keyword-robot"), None)
    await DingTalkSender().send(outgoing(DeliveryChannel.DINGTALK, address))
    assert providers.dingtalk[0][0] == "keyword-robot"


async def test_dingtalk_sending_too_fast_and_busy_are_transient(providers: Providers) -> None:
    providers.dingtalk_script = [410100, 130101, -1]
    message = outgoing(DeliveryChannel.DINGTALK, dingtalk_address(providers.dingtalk_url(), SECRET))
    for code in (410100, 130101, -1):
        with pytest.raises(TransientDeliveryFailure, match=f"errcode {code}"):
            await DingTalkSender().send(message)
    await DingTalkSender().send(message)  # each attempt signs afresh
    assert len(providers.dingtalk) == 1
    closed = dingtalk_address(f"http://127.0.0.1:{free_port()}/robot/send?access_token=t", SECRET)
    with pytest.raises(TransientDeliveryFailure, match="ConnectError"):
        await DingTalkSender(timeout=QUICK).send(outgoing(DeliveryChannel.DINGTALK, closed))
