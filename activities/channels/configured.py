"""The senders a deployment's settings give for SMS and the group robots; the worker adds the
email sender beside them and hands all to the delivery activity."""

from __future__ import annotations

from activities.channels import Sender
from activities.channels.dingtalk import DingTalkSender
from activities.channels.sms import SmsSender
from activities.channels.wecom import WeComSender
from core.settings import Settings
from domain.delivery import DeliveryChannel


def http_senders(settings: Settings) -> dict[DeliveryChannel, Sender]:
    """SMS when ``PETITIONFLOW_SMS_GATEWAY_URL`` is set (no entry otherwise: the channel is not
    configured), WeCom and DingTalk always (their addresses are in the directory)."""
    timeout = settings.channel_timeout_seconds
    senders: dict[DeliveryChannel, Sender] = {
        DeliveryChannel.WECOM: WeComSender(timeout=timeout),
        DeliveryChannel.DINGTALK: DingTalkSender(timeout=timeout),
    }
    sms = SmsSender.from_settings(settings)
    if sms is not None:
        senders[DeliveryChannel.SMS] = sms
    return senders
