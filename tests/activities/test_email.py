"""The email channel against a real local SMTP server (aiosmtpd): a Chinese slip as UTF-8 mail
with a Message-ID fixed by its notice, a refused address permanent, a server away transient;
connections reused from message to message, a dropped one replaced without a second message."""

from __future__ import annotations

import asyncio

import pytest
from aiosmtplib import SMTP

from activities.channels.email import EmailSender, SmtpServer, compose, message_id
from activities.channels.smtp_pool import SmtpPool
from domain.delivery import (
    DeliveryChannel,
    Outgoing,
    PermanentDeliveryFailure,
    TransientDeliveryFailure,
)
from tests.helpers.mail import Mailbox, smtp_server
from tests.helpers.ports import free_port
from tests.helpers.waiting import eventually

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


async def test_several_messages_go_over_fewer_connections_than_messages() -> None:
    mailbox = Mailbox()
    with smtp_server(mailbox) as port:
        sender = EmailSender(
            SmtpServer.from_url(f"smtp://127.0.0.1:{port}", timeout=5), SENDER, connections=2
        )
        for n in range(3):  # one after another: one connection
            await sender.send(slip(f"sup{n}@dongguan.example"))
        # At once: no more connections than the pool's size.
        await asyncio.gather(*(sender.send(slip(f"h{n}@dongguan.example")) for n in range(6)))
        sender.close()
    assert len(mailbox.messages) == 9
    assert len(set(mailbox.peers)) == sender.connections.opened <= 2


@pytest.mark.parametrize("drop_with", ["close", "421"])
async def test_a_server_that_drops_the_connection_between_messages_gets_each_once(
    drop_with: str,
) -> None:
    mailbox = Mailbox()
    mailbox.drop_after, mailbox.drop_with = 2, drop_with
    with smtp_server(mailbox) as port:
        sender = sender_on(port)
        addresses = [f"sup{n}@dongguan.example" for n in range(5)]
        for address in addresses:
            await sender.send(slip(address))
    assert [m["To"] for m in mailbox.messages] == addresses
    # Two messages a session: the third and fifth each went over a new connection.
    assert sender.connections.opened == len(set(mailbox.peers)) == 3


async def test_a_refusal_keeps_its_class_on_a_reused_connection() -> None:
    mailbox = Mailbox()
    mailbox.refused.add("nobody@dongguan.example")
    with smtp_server(mailbox) as port:
        sender = sender_on(port)
        await sender.send(slip("sup@dongguan.example"))
        with pytest.raises(PermanentDeliveryFailure, match="550"):
            await sender.send(slip("nobody@dongguan.example"))
        await sender.send(slip("sup@dongguan.example"))
    assert len(mailbox.messages) == 2


async def test_idle_connections_are_closed() -> None:
    mailbox = Mailbox()
    with smtp_server(mailbox) as port:
        server = SmtpServer.from_url(f"smtp://127.0.0.1:{port}", timeout=5)
        pool = SmtpPool(server, 2, idle_seconds=0.05)
        mail = compose(slip("sup@dongguan.example"), SENDER)
        await pool.send(mail)
        [idle] = pool.idle()

        async def still_idle() -> list[SMTP]:
            return pool.idle()

        await eventually(still_idle, lambda left: left == [], timeout=10)
        assert not idle.is_connected
        await pool.send(mail)
    assert pool.opened == 2 and len(set(mailbox.peers)) == 2


async def test_a_long_chinese_subject_and_sender_name_arrive_whole() -> None:
    """Folded over several encoded lines, they read back as written."""
    mailbox = Mailbox()
    sender = "青川县人民政府信访局（县信访局）办公室 <xfj@qingshui.example>"
    subject = "【督办单】信访事项 XF-2026-000012 " + "请东关镇分管领导落实办理" * 6
    with smtp_server(mailbox) as port:
        email = EmailSender(SmtpServer.from_url(f"smtp://127.0.0.1:{port}", timeout=5), sender)
        await email.send(slip("sup@dongguan.example").model_copy(update={"subject": subject}))
    [mail] = mailbox.messages
    assert mail["Subject"] == subject
    assert mail["From"].addresses[0].display_name == "青川县人民政府信访局（县信访局）办公室"
