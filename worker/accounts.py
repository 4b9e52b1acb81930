"""Operators' account commands, on the server: ``python -m worker.accounts set-password NAME``.

Outside dev mode no account has a password until one is set, and only the bureau sets them
through the API, so the first bureau account gets its password here, from a shell on the
machine that reaches the database (the same ``PETITIONFLOW_*`` settings as the API). Auditors
are appointed, dismissed and given passwords here only: the bureau they audit cannot. So are
integrations' service accounts (服务账号) created, the only accounts an API key acts as."""

from __future__ import annotations

import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from core.database import prepare_store
from core.passwords import hash_password, password_problem
from core.settings import Settings
from domain.vocabulary import Role
from store import accounts, directory
from store.db import dispose

app = typer.Typer(no_args_is_help=True, add_completion=False)
out = Console()
err = Console(stderr=True)
T = TypeVar("T")


@app.callback()
def main() -> None:
    """Accounts of the org directory (组织名录): set passwords, list who can sign in."""


async def _committed(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in one session of the store the settings name, and commit it.
    prepare_store migrates and loads the directory into an empty database, so the first
    password can be set before the API has ever started."""
    sessions = await prepare_store(settings)
    try:
        async with sessions() as session:
            done = await work(session)
            await session.commit()
            return done
    finally:
        await dispose(sessions)


async def _set_password(settings: Settings, username: str, password_hash: str) -> bool:
    async def work(session: AsyncSession) -> bool:
        person = await accounts.by_username(session, username)
        if person is not None:
            await accounts.set_password(session, person, password_hash)
        return person is not None

    return await _committed(settings, work)


@app.command("set-password")
def set_password(
    username: Annotated[str, typer.Argument(help="the account's username, e.g. demo-bureau")],
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin", help="read the password from the first line of standard input"
        ),
    ] = False,
) -> None:
    """Set an account's password (asked twice, never echoed). Every session of the old one
    ends. Exit status 1: no such account; 2: the password is refused."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    problem = password_problem(password, username)
    if problem:
        err.print(f"[red]refused:[/red] {problem}")
        raise typer.Exit(2)
    if not asyncio.run(_set_password(Settings(), username, hash_password(password))):
        err.print(f"[red]no account {username!r}[/red]: see `python -m worker.accounts list`")
        raise typer.Exit(1)
    out.print(f"password set for [bold]{username}[/bold]")


async def _auditor(settings: Settings, person_id: str, appoint: bool) -> str:
    """Appoint ``person_id`` auditor at the bureau, or end their auditor term; what was done."""
    sessions = await prepare_store(settings)
    try:
        async with sessions() as session:
            bureau = await directory.bureau_unit_id(session)
            if bureau is None:
                raise directory.NotInDirectory("the directory has no bureau")
            if appoint:
                await directory.appoint(session, bureau, Role.AUDITOR, person_id)
                done = f"{person_id} appointed auditor"
            else:
                terms = await directory.post_history(
                    session, bureau, Role.AUDITOR.value, person_id, False, None
                )
                if not terms:
                    raise directory.NotInDirectory(f"{person_id} is not an auditor")
                for term, _ in terms:
                    await directory.end_term(session, term.id)
                done = f"{person_id} is no longer an auditor"
            await session.commit()
            return done
    finally:
        await dispose(sessions)


def _run_auditor(person_id: str, appoint: bool) -> None:
    try:
        out.print(asyncio.run(_auditor(Settings(), person_id, appoint)))
    except directory.DirectoryError as exc:
        err.print(f"[red]refused:[/red] {exc}")
        raise typer.Exit(1) from exc


@app.command("appoint-auditor")
def appoint_auditor(
    person_id: Annotated[str, typer.Argument(help="the directory person's id, e.g. audit-02")],
) -> None:
    """Appoint an auditor (审计) at the bureau: they read every petition and the audit trail.
    Then give them a password with set-password. Exit status 1: refused."""
    _run_auditor(person_id, appoint=True)


@app.command("dismiss-auditor")
def dismiss_auditor(
    person_id: Annotated[str, typer.Argument(help="the directory person's id")],
) -> None:
    """End a person's auditor term. Exit status 1: they are not an auditor."""
    _run_auditor(person_id, appoint=False)


@app.command("add-service-account")
def add_service_account(
    account_id: Annotated[str, typer.Argument(help="the account's id, e.g. svc-online")],
    name: Annotated[str, typer.Option("--name", help="the integration, e.g. 网上信访平台")],
) -> None:
    """Create an integration's service account (服务账号, role integration: it registers
    petitions, nothing else). It holds no post and never signs in; only its API keys act as it.
    Exit status 1: the id is taken."""
    try:
        asyncio.run(
            _committed(
                Settings(),
                lambda session: accounts.create_service_account(
                    session, account_id, name, Role.INTEGRATION
                ),
            )
        )
    except ValueError as exc:
        err.print(f"[red]refused:[/red] {exc}")
        raise typer.Exit(1) from exc
    out.print(f"service account [bold]{account_id}[/bold] created (integration)")


@app.command("issue-api-key")
def issue_api_key(
    account_id: Annotated[str, typer.Argument(help="the service account's id, e.g. svc-12345")],
    name: Annotated[str, typer.Option("--name", help="what the key is for, e.g. 12345热线")],
) -> None:
    """Issue an API key acting as a service account; the key is printed once (only its hash
    is kept). Exit status 1: not a service account (never a person's key)."""
    try:
        # The audit trail names the issuer beside every use of the key: the operator here.
        issuer = f"operator:{getpass.getuser()}"[:64]
        row, key = asyncio.run(
            _committed(
                Settings(),
                lambda session: accounts.issue_api_key(session, account_id, name, issuer),
            )
        )
    except accounts.NotServiceAccount as exc:
        err.print(f"[red]refused:[/red] {exc}")
        raise typer.Exit(1) from exc
    err.print(f"API key {row.id} of {account_id} (shown once; send it as X-API-Key):")
    print(key)  # alone on standard output, for a script to capture


async def _accounts(settings: Settings) -> list[tuple[str, str, str, str]]:
    sessions = await prepare_store(settings)
    try:
        async with sessions() as session:
            everyone = await directory.people(session)
    finally:
        await dispose(sessions)
    return [
        (
            person.username,
            person.name,
            ", ".join(f"{p.role}@{p.unit_id}" for p in posts) or "-",
            "demo (dev mode)"
            if person.default_password
            else ("set" if person.password_hash else "none"),
        )
        for person, posts in everyone
        if person.username
    ]


@app.command("list")
def list_accounts() -> None:
    """Everyone with a username: their posts, and whether they have a password."""
    table = Table("username", "name", "posts", "password")
    for row in asyncio.run(_accounts(Settings())):
        table.add_row(*row)
    out.print(table)


if __name__ == "__main__":
    app()
