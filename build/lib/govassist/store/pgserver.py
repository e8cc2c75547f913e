"""A local PostgreSQL with pgvector for trying the database store out and for tests, from the `pgserver` package
(PostgreSQL 16 binaries and the pgvector extension in one wheel; Apache-2.0, bundling PostgreSQL under the
PostgreSQL License and pgvector under the PostgreSQL License). Production uses a managed PostgreSQL instead."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError

DATABASE = "govassist"


@dataclass(frozen=True)
class ServerState:
    """Whether the local server runs, and the URL to give GOVASSIST_DATABASE_URL."""

    pgdata: Path
    running: bool
    url: str
    pid: int | None = None


def _quiet_import() -> None:
    """Import pgserver without its platformdirs warning about XDG_RUNTIME_DIR (it falls back to /tmp)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver  # noqa: F401


def url_for(base: str, database: str) -> str:
    """pgserver's URI (unix socket in the data folder) pointed at another database."""
    head, _, query = base.partition("?")
    return f"{head.rsplit('/', 1)[0]}/{database}" + (f"?{query}" if query else "")


def status(pgdata: Path) -> ServerState:
    """Read the server's state from its data folder without starting it."""
    _quiet_import()
    from pgserver.utils import PostmasterInfo

    pgdata = pgdata.expanduser().resolve()
    info = PostmasterInfo.read_from_pgdata(pgdata) if (pgdata / "PG_VERSION").exists() else None
    if info is None or not info.is_running():
        return ServerState(pgdata, False, "")
    return ServerState(pgdata, True, url_for(info.get_uri(), DATABASE), info.pid)


def start(pgdata: Path) -> ServerState:
    """Initialise the data folder if new, start the server (it keeps running after this process exits),
    and create the `govassist` database with the vector extension."""
    _quiet_import()
    import pgserver
    import psycopg

    pgdata = pgdata.expanduser().resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    try:
        server = pgserver.get_server(pgdata, cleanup_mode=None)
    except Exception as exc:  # pgserver raises bare subprocess/OS errors
        raise ConfigError(f"could not start PostgreSQL in {pgdata}: {exc}; see {pgdata / 'log'}") from exc
    base = server.get_uri()
    with psycopg.connect(base, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone():
            conn.execute(f'CREATE DATABASE "{DATABASE}"')
    url = url_for(base, DATABASE)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    return ServerState(pgdata, True, url, server.get_pid())


def stop(pgdata: Path) -> ServerState:
    """Stop the local server (fast shutdown: open sessions are closed)."""
    _quiet_import()
    from pgserver._commands import pg_ctl

    state = status(pgdata)
    if state.running:
        user = "pgserver" if os.geteuid() == 0 else None  # pgserver runs postgres as this user under root
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=state.pgdata, user=user)
    return status(pgdata)
