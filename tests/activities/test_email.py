"""The email channel against a real local SMTP server (aiosmtpd): a Chinese slip as UTF-8 mail
with a Message-ID fixed by its notice, a refused address permanent, a server away transient."""

from __future__ import annotations

import pytest

from activities.channels.email import EmailSender, SmtpServer, message_id
from domain.delivery import (
    DeliveryChannel,
    Outgoing,
    PermanentDeliveryFailure,
    TransientDeliveryFailure,
)
from tests.helpers.mail import Mailbox, smtp_server
from tests.helpers.ports import free_port

SENDER = "县信访局 <xfj@qingshui.example>"


def slip(address: str) -> Outgoing:
    return Outgoing(
        notice_id=12,
        channel=DeliveryChannel.EMAIL,
        address=address,
        subject="【督办单】信访事项 XF-2026-000012",
        text="督办单\n请东关镇分管领导于三日内落实办理。",
        dedup_key="12:email",
    )


def sender_on(port: int) -> EmailSender:
    return EmailSender(SmtpServer.from_url(f"smtp://127.0.0.1:{port}", timeout=5), SENDER)


async def test_a_slip_goes_out_as_utf8_mail_with_the_notice_s_message_id() -> None:
    mailbox = Mailbox()
    with smtp_server(mailbox) as port:
        sent_id = await sender_on(port).send(slip("sup@dongguan.example"))
    [mail] = mailbox.messages
    assert mail["To"] == "sup@dongguan.example"
    assert mail["Subject"] == "【督办单】信访事项 XF-2026-000012"
    assert "请东关镇分管领导于三日内落实办理" in mail.get_content()
    assert mail["From"].addresses[0].display_name == "县信访局"
    # The same notice on the same channel always carries the same Message-ID.
    assert str(mail["Message-ID"]) == sent_id == message_id("12:email", SENDER)
    assert sent_id == "<petitionflow.12-email@qingshui.example>"


async def test_a_refused_address_is_a_permanent_failure() -> None:
    mailbox = Mailbox()
    mailbox.refused.add("nobody@dongguan.example")
    with smtp_server(mailbox) as port, pytest.raises(PermanentDeliveryFailure, match="550"):
        await sender_on(port).send(slip("nobody@dongguan.example"))
    assert mailbox.messages == []
    with pytest.raises(PermanentDeliveryFailure):
        await sender_on(port).send(slip("not-an-address"))


async def test_a_server_away_is_a_transient_failure() -> None:
    with pytest.raises(TransientDeliveryFailure):
        await sender_on(free_port()).send(slip("sup@dongguan.example"))


def test_the_smtp_url_names_the_server_sign_in_and_tls() -> None:
    plain = SmtpServer.from_url("smtp://xfj%40qingshui:p%3Ass@mail.qingshui.example:587")
    assert (plain.host, plain.port, plain.username, plain.password) == (
        "mail.qingshui.example",
        587,
        "xfj@qingshui",
        "p:ss",
    )
    assert (plain.use_tls, plain.starttls) == (False, None)
    assert SmtpServer.from_url("smtp://h:25", starttls=True).starttls is True
    implicit = SmtpServer.from_url("smtps://mail.qingshui.example")
    assert (implicit.port, implicit.use_tls, implicit.starttls) == (465, True, False)
    with pytest.raises(ValueError, match="smtp://"):
        SmtpServer.from_url("http://mail.qingshui.example")
