"""Fixtures of the monitoring tests: a store on SQLite and on a real PostgreSQL server, and a real browser.

PostgreSQL is Debian's package (``apt-get install postgresql``; ``.ci/run`` installs it): the
fixture runs ``initdb`` and ``pg_ctl`` on a temporary folder and a free port, as the
``postgres`` user when the tests run as root (both refuse root), and stops it at the end.
Without the package (a user's laptop) those tests skip; under CI (``CI`` set) they fail instead,
so a green CI always ran them.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import free_port


def _missing(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} is not installed; .ci/run installs it", pytrace=False)
    pytest.skip(f"{what} is not installed")


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory):
    """``postgresql+psycopg://...`` of a fresh server with an empty database, for this test session."""
    bin_dir = _pg_bin()
    if bin_dir is None:
        _missing("PostgreSQL (Debian package postgresql)")
    root = os.geteuid() == 0
    base = tmp_path_factory.mktemp("pg")
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    as_user: list[str] = []
    if root:  # initdb and postgres refuse to run as root
        import pwd

        try:
            pwd.getpwnam("postgres")
        except KeyError:
            _missing("the postgres system user")
        subprocess.run(["chown", "-R", "postgres:postgres", str(base)], check=True)
        os.chmod(base, 0o755)
        for parent in base.parents:  # the server user must reach its folder
            if parent == Path("/"):
                break
            os.chmod(parent, os.stat(parent).st_mode | 0o011)
        as_user = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    run = dict(check=True, capture_output=True, text=True)
    subprocess.run(
        [
            *as_user,
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-instructions",
        ],
        **run,
    )
    log = base / "server.log"
    subprocess.run(
        [
            *as_user,
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(log),
            "-w",
            "-t",
            "60",
            "-o",
            f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        ],
        **run,
    )
    try:
        import psycopg

        deadline = time.time() + 30
        while True:
            try:
                with psycopg.connect(
                    f"host=127.0.0.1 port={port} user=postgres dbname=postgres", autocommit=True
                ) as conn:
                    conn.execute("CREATE DATABASE veganalign_test")
                break
            except psycopg.OperationalError:
                if time.time() > deadline:
                    raise
                time.sleep(0.3)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/veganalign_test"
    finally:
        subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"], capture_output=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    """A store URL on each backend; the PostgreSQL one gets a clean schema per test."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'monitor.db'}"
    url = request.getfixturevalue("postgres_url")
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as db:
        db.execute(text("DROP SCHEMA public CASCADE"))
        db.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def chromium_path() -> str:
    for candidate in ("/usr/bin/chromium", "/usr/bin/chromium-browser", shutil.which("chromium") or ""):
        if candidate and Path(candidate).exists():
            return candidate
    _missing("chromium (Debian package chromium)")
    return ""
