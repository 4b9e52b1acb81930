"""The notices' sends in a worker process of their own (issue 11): ``python -m worker --queues
petitions`` writes the slips and sends nothing; ``--queues notices``, started beside it, mails
them, each once, niced so that the chain's workflow tasks go first."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import func, select, text
from temporalio.testing import WorkflowEnvironment

from domain.notice_delivery import DELIVER_NOTICES
from store.db import dispose
from store.models import Notice, NoticeDelivery
from tests.helpers.fleet import mailing_fleet, quiet_county, start_petitions, thread_niceness
from tests.helpers.mail import Mailbox, smtp_server
from tests.helpers.store import Templates, open_store
from tests.helpers.temporal import temporal_address
from tests.helpers.waiting import eventually

SLIPS = 3


async def test_the_sends_run_in_a_process_of_their_own(
    dev_env: WorkflowEnvironment, templates: Templates, tmp_path: Path
) -> None:
    settings = await quiet_county(templates, tmp_path)
    sessions = await open_store(settings)
    async with sessions() as session:
        await session.execute(text("UPDATE people SET email = id || '@qingshui.example'"))
        await session.commit()

    async def count(model: type[Notice] | type[NoticeDelivery]) -> int:
        async with sessions() as session:
            return int((await session.execute(select(func.count(model.id)))).scalar_one())

    mailbox = Mailbox()
    with smtp_server(mailbox) as port:
        fleet = mailing_fleet(tmp_path, settings, temporal_address(dev_env), port)
        try:
            chain = await fleet.worker("petitions", "--queues", "petitions")
            pids = await start_petitions(dev_env.client, sessions, settings, SLIPS)
            await eventually(lambda: count(Notice), lambda n: n >= SLIPS, timeout=120)

            async def sends_waiting() -> int:
                """Notices in the outbox (the patch deliveries-outboxed) that the notices'
                process has yet to route and send."""
                async with sessions() as session:
                    query = select(func.count()).where(Notice.to_route.is_(True))
                    return int((await session.execute(query)).scalar_one())

            async def sends_scheduled() -> int:
                """Send activities scheduled by the petitions' workflows (none: outboxed)."""
                scheduled = 0
                for pid in pids:
                    history = await dev_env.client.get_workflow_handle(pid).fetch_history()
                    scheduled += sum(
                        e.activity_task_scheduled_event_attributes.activity_type.name
                        == DELIVER_NOTICES
                        for e in history.events
                    )
                return scheduled

            # Every slip's send is waiting in the outbox, yet none has begun: the chain's
            # process sends nothing, and its workflows run no send.
            await eventually(sends_waiting, lambda n: n >= SLIPS, timeout=120)
            assert mailbox.messages == [] and await sends_scheduled() == 0
            assert await count(NoticeDelivery) == 0  # routed by the notices' process only
            sender = await fleet.worker("notices", "--queues", "notices")
            assert f"polling task queue '{settings.notice_queue()}'" in sender.output()
            # Every thread of the sends' process (the SDK's included) yields to the chain's.
            ours = os.nice(0)
            assert thread_niceness(sender.proc.pid) == {min(ours + 10, 19)}
            assert thread_niceness(chain.proc.pid) == {ours}
            await eventually(lambda: _sent(mailbox), lambda n: n >= SLIPS, timeout=120)
            fleet.assert_running()
        finally:
            fleet.stop()
    await dispose(sessions)
    ids = mailbox.message_ids()
    assert len(ids) == len(set(ids)) == SLIPS


async def _sent(mailbox: Mailbox) -> int:
    return len(mailbox.messages)
