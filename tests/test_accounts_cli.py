"""``python -m worker.accounts``: the operators' way to give the first account a password outside
dev mode, hashed so that sign-in verifies it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.database import prepare_store
from core.passwords import hash_public_password, passwords
from core.settings import DEV_PASSWORD, Settings
from store import accounts
from store.db import dispose
from store.models import Person
from worker.accounts import app

FULL_COST = "$argon2id$v=19$m=65536,t=3,p=4$"  # argon2-cffi's default (RFC 9106's second)


def test_only_the_public_demo_password_is_hashed_cheaply() -> None:
    """Dev mode's demo password is known to everyone: its hash costs next to nothing to check,
    and still verifies as Argon2 with the one hasher, which refuses any other password."""
    demo = hash_public_password(DEV_PASSWORD)
    assert demo.startswith("$argon2id$v=19$m=1024,t=1,p=1$"), demo
    assert passwords.verify(DEV_PASSWORD, demo)
    assert not passwords.verify("demo1234", demo)


@pytest.fixture
def production(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A machine outside dev mode, whose database the CLI finds through the settings."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'petitionflow.db'}"
    monkeypatch.setenv("PETITIONFLOW_DATABASE_URL", url)
    monkeypatch.setenv("PETITIONFLOW_DEV_MODE", "false")
    return Settings()


def stored_hash(settings: Settings, username: str) -> str | None:
    async def read() -> str | None:
        sessions = await prepare_store(settings)
        try:
            async with sessions() as session:
                person = await accounts.by_username(session, username)
                return person.password_hash if person else None
        finally:
            await dispose(sessions)

    return asyncio.run(read())


def test_set_password_from_stdin_and_from_the_prompt(production: Settings) -> None:
    runner = CliRunner()
    # A fresh machine: no account can sign in yet.
    listed = runner.invoke(app, ["list"])
    assert listed.exit_code == 0, listed.output
    assert "demo-bureau" in listed.output and "set" not in listed.output

    piped = runner.invoke(
        app, ["set-password", "demo-bureau", "--password-stdin"], input="信访局-first-2026\n"
    )
    assert piped.exit_code == 0, piped.output
    stored = stored_hash(production, "demo-bureau")
    assert stored is not None and passwords.verify("信访局-first-2026", stored)
    assert stored.startswith(FULL_COST), stored  # not the demo password's cheap hash

    asked = runner.invoke(app, ["set-password", "bureau-02"], input="second-pass\nsecond-pass\n")
    assert asked.exit_code == 0, asked.output
    assert "second-pass" not in asked.output  # never echoed
    stored = stored_hash(production, "bureau-02")
    assert stored is not None and passwords.verify("second-pass", stored)


def test_an_unknown_account_or_a_weak_password_is_refused(production: Settings) -> None:
    runner = CliRunner()
    unknown = runner.invoke(
        app, ["set-password", "nobody", "--password-stdin"], input="long-enough\n"
    )
    assert unknown.exit_code == 1
    weak = runner.invoke(app, ["set-password", "demo-bureau", "--password-stdin"], input="demo\n")
    assert weak.exit_code == 2
    assert stored_hash(production, "demo-bureau") is None


def test_operators_appoint_and_dismiss_auditors(production: Settings) -> None:
    runner = CliRunner()
    appointed = runner.invoke(app, ["appoint-auditor", "bureau-02"])
    assert appointed.exit_code == 0, appointed.output
    assert "auditor@bureau" in runner.invoke(app, ["list"]).output.replace("\n", "")
    again = runner.invoke(app, ["appoint-auditor", "bureau-02"])
    assert again.exit_code == 1 and "already" in again.output
    dismissed = runner.invoke(app, ["dismiss-auditor", "bureau-02"])
    assert dismissed.exit_code == 0, dismissed.output
    assert runner.invoke(app, ["dismiss-auditor", "bureau-02"]).exit_code == 1
    # An auditor's password is set here, by the rules: never the username, never a common one.
    for weak in ("audit-01-2026", "12345678"):
        refused = runner.invoke(
            app, ["set-password", "audit-01", "--password-stdin"], input=f"{weak}\n"
        )
        assert refused.exit_code == 2, refused.output


def test_operators_create_service_accounts_and_issue_their_keys(production: Settings) -> None:
    """Issue 10, item 11: an integration's key acts as its service account, never a person."""
    runner = CliRunner()
    made = runner.invoke(app, ["add-service-account", "svc-online", "--name", "网上信访平台"])
    assert made.exit_code == 0, made.output
    again = runner.invoke(app, ["add-service-account", "svc-online", "--name", "x"])
    assert again.exit_code == 1 and "exists" in again.output
    issued = runner.invoke(app, ["issue-api-key", "svc-online", "--name", "网上信访平台"])
    assert issued.exit_code == 0, issued.output
    key = issued.stdout.strip().splitlines()[-1]
    assert key.startswith("pf_")

    async def stored() -> tuple[str, str | None, str | None]:
        sessions = await prepare_store(production)
        try:
            async with sessions() as session:
                row = await accounts.api_key(session, key)
                assert row is not None
                account = await session.get(Person, row.person_id)
                assert account is not None
                return row.person_id, row.issued_by, account.service_role
        finally:
            await dispose(sessions)

    person_id, issuer, role = asyncio.run(stored())
    assert (person_id, role) == ("svc-online", "integration")
    assert issuer is not None and issuer.startswith("operator:")
    for person in ("bureau-02", "dongguan-head", "nobody"):
        refused = runner.invoke(app, ["issue-api-key", person, "--name", "x"])
        assert refused.exit_code == 1 and "pf_" not in refused.output, person
