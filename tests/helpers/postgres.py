"""A throwaway PostgreSQL cluster from the machine's PostgreSQL binaries, for the store, API and
migration tests, and its databases: empty ones, and copies of a migrated template.

``make test`` installs Debian's postgresql package when no binaries are found. The cluster
lives in a temporary folder, trusts local connections, skips fsync (it is thrown away) and is
removed when the test session ends."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg

from tests.helpers.ports import free_port


def _bindir() -> Path:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not candidates:
        raise RuntimeError(
            "PostgreSQL binaries (initdb, pg_ctl) not found: `make test` installs Debian's "
            "postgresql package; or install it yourself"
        )
    return Path(candidates[-1]).parent


@contextmanager
def postgres_cluster() -> Iterator[str]:
    """Start a cluster; yield the asyncpg DSN of its ``postgres`` database."""
    bindir = _bindir()
    base = Path(tempfile.mkdtemp(prefix="petitionflow-pg-"))
    data, sockets, log = base / "data", base / "sockets", base / "postgres.log"
    sockets.mkdir()
    # PostgreSQL refuses to run as root: as root, run it as the postgres user.
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(sockets, "postgres")
        base.chmod(0o755)
        as_user = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"

    def run(*args: str) -> None:
        subprocess.run([*as_user, *args], check=True, capture_output=True, timeout=120)

    run(
        str(bindir / "initdb"),
        "-D",
        str(data),
        "-U",
        "postgres",
        "--auth=trust",
        "-E",
        "UTF8",
        "--no-locale",
    )
    run(str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "start")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


def url_of(admin_dsn: str, name: str) -> str:
    """The SQLAlchemy URL of database ``name`` on the cluster."""
    server = admin_dsn.replace("postgresql://", "postgresql+asyncpg://").rsplit("/", 1)[0]
    return f"{server}/{name}"


async def new_database(
    admin_dsn: str, *, template: str | None = None, name: str | None = None
) -> str:
    """A new database on the cluster (``name``, or a random one), empty or a copy of
    ``template``; returns its URL.

    Copying a migrated template is a file copy inside the server (milliseconds), where running
    the migrations again would take the better part of a second per test."""
    name = name or f"t_{uuid.uuid4().hex[:12]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    connection = await asyncpg.connect(admin_dsn)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"{copy}')
    finally:
        await connection.close()
    return url_of(admin_dsn, name)
