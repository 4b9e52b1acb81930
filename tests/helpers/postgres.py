"""A throwaway PostgreSQL cluster from the machine's PostgreSQL binaries, for the store, API and
migration tests, and its databases: empty ones, and copies of a migrated template.

``make test`` installs Debian's postgresql package when no binaries are found. The cluster
lives in a temporary folder, trusts local connections, skips fsync (it is thrown away) and is
removed when the test session ends."""

from __future__ import annotations

import contextlib
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


class Cluster:
    """A throwaway cluster in a temporary folder: started, stopped (the database going away
    under a running API) and started again on the same port and data."""

    def __init__(self) -> None:
        self.bindir = _bindir()
        self.base = Path(tempfile.mkdtemp(prefix="petitionflow-pg-"))
        self.data, sockets = self.base / "data", self.base / "sockets"
        sockets.mkdir()
        # PostgreSQL refuses to run as root: as root, run it as the postgres user.
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres")
            shutil.chown(sockets, "postgres")
            self.base.chmod(0o755)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        port = free_port()
        self.options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.dsn = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
            "--no-locale",
        )  # fmt: skip

    def _run(self, program: str, *args: str) -> None:
        command = [*self.as_user, str(self.bindir / program), *args]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        log = str(self.base / "postgres.log")
        self._run("pg_ctl", "-D", str(self.data), "-o", self.options, "-l", log, "-w", "start")

    def stop(self, mode: str = "immediate") -> None:
        """``immediate``: as if the server died, every connection cut at once."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")


@contextmanager
def stoppable_cluster() -> Iterator[Cluster]:
    """A cluster of one test's own, which it may stop and start; removed after."""
    cluster = Cluster()
    cluster.start()
    try:
        yield cluster
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # stopped already
            cluster.stop()
        remove_later(cluster.base)


def remove_later(folder: Path) -> None:
    """Remove ``folder`` in a process of its own, not waited for. A session's cluster holds a
    database for each PostgreSQL test, some 9 MB each: removing them took 8 to 30 s at the end
    of each pytest process, with every test already done. Renamed first, so the folder is gone
    from its place at once (and its name free) however long the removal takes."""
    doomed = folder.with_name(f"{folder.name}.removing")
    try:
        folder.rename(doomed)
    except OSError:
        return  # never made, or gone already
    subprocess.Popen(
        ["rm", "-rf", str(doomed)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # outlives pytest, and a Ctrl-C of it
    )


@contextmanager
def postgres_cluster() -> Iterator[str]:
    """Start a cluster; yield the asyncpg DSN of its ``postgres`` database."""
    with stoppable_cluster() as cluster:
        yield cluster.dsn


def url_of(admin_dsn: str, name: str) -> str:
    """The SQLAlchemy URL of database ``name`` on the cluster."""
    server = admin_dsn.replace("postgresql://", "postgresql+asyncpg://").rsplit("/", 1)[0]
    return f"{server}/{name}"


async def new_database(
    admin_dsn: str, *, template: str | None = None, name: str | None = None
) -> str:
    """A new database on the cluster (``name``, or a random one), empty or a copy of
    ``template``; returns its URL.

    Copying a migrated template is a file copy inside the server, where running the migrations
    again would take the better part of a second per test. ``FILE_COPY``, not PostgreSQL 15's
    default ``WAL_LOG``, which writes each of the copy's 9 MB to the write-ahead log: measured
    on this cluster (no fsync) 100–110 ms of the server's CPU a copy against 130–260 ms, over
    the suite's 126 PostgreSQL tests."""
    name = name or f"t_{uuid.uuid4().hex[:12]}"
    copy = f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""
    connection = await asyncpg.connect(admin_dsn)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"{copy}')
    finally:
        await connection.close()
    return url_of(admin_dsn, name)
