"""A throwaway PostgreSQL cluster from the machine's PostgreSQL binaries, for the store tests.

``make test`` installs Debian's postgresql package when no binaries are found. The cluster
lives in a temporary folder, trusts local connections, skips fsync (it is thrown away) and is
removed when the test session ends."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg


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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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
    port = _free_port()
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


async def new_database(admin_dsn: str) -> str:
    """A fresh, empty database on the cluster; returns its SQLAlchemy URL."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(admin_dsn)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return (
        admin_dsn.replace("postgresql://", "postgresql+asyncpg://").rsplit("/", 1)[0] + "/" + name
    )
