"""What the end-to-end tests of the benchmark scripts share: a database of the test's
own (PostgreSQL when CRM_TEST_DATABASE_URL names a server, else the script's SQLite),
and running a script as a person does, without the test run's CRM_ settings."""
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from core.config import normalise_database_url

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def own_database(prefix):
    """None (SQLite), or the URL of the PostgreSQL database <prefix>_<pid> on the test
    server, dropped afterwards (the script creates it)."""
    url = os.environ.get("CRM_TEST_DATABASE_URL")
    if not url:
        yield None
        return
    target = make_url(normalise_database_url(url)).set(database=f"{prefix}_{os.getpid()}")
    try:
        yield target.render_as_string(hide_password=False)
    finally:
        server = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        server.dispose()


def run_script(script, *args, database=None, timeout=900):
    """``python bench/<script> ARGS [--database-url database]``; its output, once it has
    exited 0 (else the test fails with the end of its errors)."""
    command = [sys.executable, str(ROOT / "bench" / script), *args]
    if database:
        command += ["--database-url", database]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              env={k: v for k, v in os.environ.items()
                                   if not k.startswith("CRM_")})
    assert finished.returncode == 0, finished.stderr[-3000:]
    return finished.stdout
