"""Shared fixtures. Every test gets its own empty database: a SQLite file, or, when
CRM_TEST_DATABASE_URL is set (make test-pg), its own schema in that PostgreSQL database."""
import json
import os
import re
import shutil
import sqlite3
import tempfile
import uuid
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.test import Client

from core.app import Dispatcher
from core.cli import cli
from core.config import load_settings, normalise_database_url
from tests.pg_schemas import SchemaDump, drop_spares, give_back, on_pg

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_ADDONS = ROOT / "tests" / "fixtures" / "addons"
PG_URL = os.environ.get("CRM_TEST_DATABASE_URL")
ADMIN_PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True, scope="session")
def quick_password_hashing():
    """The same algorithm (scrypt) with a small work factor: signing in dozens of test
    users at full strength would cost most of the suite's time."""
    import core.models
    original = core.models.generate_password_hash
    core.models.generate_password_hash = lambda password: original(
        password, method="scrypt:1024:8:1")
    yield
    core.models.generate_password_hash = original


def pytest_configure(config):
    config.addinivalue_line("markers", "own_process: run each test in a process of its own "
                            "(forked), which takes what it changed in the process with it")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    """Tests marked own_process run in a fork: set-up, test and tear-down there, their
    reports sent back through a pipe. (A custom field maps a column onto its model class
    for the whole process, which other tests' databases lack: see core/customise.py.)"""
    if item.get_closest_marker("own_process") is None:
        return None
    from _pytest.runner import runtestprotocol
    hook = item.config.hook
    item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            reports = [hook.pytest_report_to_serializable(config=item.config, report=report)
                       for report in runtestprotocol(item, log=False, nextitem=None)]
            with os.fdopen(write, "w", encoding="utf-8") as pipe:
                json.dump(reports, pipe)
        finally:
            os._exit(0)   # no clean-up of the parent's state (its databases, its channels)
    os.close(write)
    with os.fdopen(read, encoding="utf-8") as pipe:
        sent = pipe.read()
    os.waitpid(pid, 0)
    if not sent:
        pytest.fail(f"{item.nodeid}: its process ended without a report")
    for data in json.loads(sent):
        item.ihook.pytest_runtest_logreport(
            report=hook.pytest_report_from_serializable(config=item.config, data=data))
    item.session._setupstate.teardown_exact(nextitem)
    item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    return True


def pytest_report_header(config):
    return f"database: {'PostgreSQL ' + PG_URL if PG_URL else 'SQLite (a file per test)'}"


@pytest.fixture(scope="session")
def pg_base_url():
    """The test database, created when absent."""
    url = make_url(normalise_database_url(PG_URL))
    server = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with server.connect() as lock:
        # Test processes start together: one at a time creates what is missing.
        lock.execute(text("SELECT pg_advisory_lock(20261204)"))
        exists = lock.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                             {"name": url.database})
        if not exists:
            lock.execute(text(f'CREATE DATABASE "{url.database}"'))
        with engine.connect() as connection:
            # Extensions live in public, which every test schema's search path ends with.
            connection.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public"))
        lock.execute(text("SELECT pg_advisory_unlock(20261204)"))
    server.dispose()
    # Schemas an interrupted run left behind: those of test processes no longer
    # running (a schema is named test_<pid>_...), so that runs side by side on one
    # machine leave each other's schemas alone.
    with engine.connect() as connection:
        for schema in connection.scalars(text(
                "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'test\\_%'")):
            if not _process_alive(schema.split("_")[1]):
                try:   # another test process may be dropping it at the same moment
                    connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
                except DBAPIError:
                    pass
    engine.dispose()
    yield url
    drop_spares(url)


def _process_alive(pid):
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@pytest.fixture
def database_url(new_database):
    """The test's own empty database: a SQLite file, or a schema of its own."""
    return new_database("postgresql" if PG_URL else "sqlite")


@pytest.fixture
def new_database(tmp_path, request):
    """A maker of empty databases, each dropped after the test: new_database("sqlite")
    is a file in tmp_path, new_database("postgresql") a schema of its own in the test
    database (CRM_TEST_DATABASE_URL)."""
    schemas, files = [], []

    def make(kind):
        if kind == "sqlite":
            files.append(f"crm-{len(files)}.db" if files else "crm.db")
            return f"sqlite:///{tmp_path / files[-1]}"
        base = request.getfixturevalue("pg_base_url")
        schema = f"test_{os.getpid()}_{uuid.uuid4().hex[:12]}"
        on_pg(base, f"CREATE SCHEMA {schema}")
        schemas.append((base, schema))
        # (A test's commits need not wait for the disk: nothing outlives the run.)
        return base.update_query_dict(
            {"options": f"-csearch_path={schema},public -csynchronous_commit=off"}) \
            .render_as_string(hide_password=False)

    yield make
    for base, schema in schemas:
        if give_back(base, schema):
            continue
        try:
            # A connection a failed test left open may hold locks: then leave the schema
            # to the next run's clean-up rather than wait.
            on_pg(base, "SET LOCAL lock_timeout = '5s'", f"DROP SCHEMA {schema} CASCADE")
        except OperationalError:
            pass


def write_config(folder, addon_paths, enabled=(), extra=""):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.ini"
    path.write_text(
        "[core]\ninstance_path = instance\n"
        f"[addons]\npaths = {', '.join(str(p) for p in addon_paths)}\n"
        f"enabled = {', '.join(enabled)}\n{extra}", encoding="utf-8")
    return path


class Suite:
    """One installation under test: its config, database, CLI and web clients."""

    def __init__(self, config_path, database_url):
        self.config_path = config_path
        self.database_url = database_url
        self.env = {"CRM_CONFIG": str(config_path), "CRM_DATABASE_URL": database_url}
        self.dispatchers = []
        self._engine = None
        self._web = None

    def settings(self):
        return load_settings(self.config_path, self.database_url)

    def run(self, *args):
        """Run a CLI command in this process; returns click's Result."""
        return CliRunner().invoke(cli, list(args), env=self.env, catch_exceptions=False)

    def dispatcher(self):
        """A web process of its own: a new Dispatcher on the same database."""
        dispatcher = Dispatcher(self.settings())
        self.dispatchers.append(dispatcher)
        return dispatcher

    def web(self):
        """The installation's usual web process: clients and code run in its app share
        one (building an app costs a quarter of a second)."""
        if self._web is None:
            self._web = self.dispatcher()
        return self._web

    def app(self):
        """The usual web process's app, as it is now (built again when the addon
        revision has moved since)."""
        return self.web().app

    def client(self, dispatcher=None):
        """A browser of its own (cookies), served by the installation's usual web
        process unless ``dispatcher`` names another."""
        return WebClient(dispatcher or self.web())

    def admin_client(self, dispatcher=None):
        client = self.client(dispatcher)
        client.login("admin", ADMIN_PASSWORD)
        return client

    def sql(self, statement, **params):
        """Run SQL on the database directly, behind the app's back: what a test sets up
        or checks. Returns the rows of a query, None otherwise."""
        if self._engine is None:
            self._engine = create_engine(self.database_url)
        with self._engine.begin() as connection:
            result = connection.execute(text(statement), params)
            return result.all() if result.returns_rows else None

    def close(self):
        if self._engine is not None:
            self._engine.dispose()
        for dispatcher in self.dispatchers:
            if dispatcher._engine is not None:
                dispatcher._engine.dispose()


class WebClient(Client):
    """werkzeug's test client, plus sign-in and CSRF tokens read from the pages."""

    def open(self, *args, **kwargs):
        # Read every response to its end, as a real server does, so that a streamed
        # export closes its database cursor and transaction.
        kwargs.setdefault("buffered", True)
        return super().open(*args, **kwargs)

    def csrf_token(self, path="/login"):
        page = self.get(path).get_data(as_text=True)
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or \
            re.search(r'value="([^"]+)"[^>]*name="csrf_token"', page)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def login(self, username, password):
        token = self.csrf_token("/login")
        response = self.post("/login", data={"username": username, "password": password,
                                             "csrf_token": token})
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        return response

    def queries(self, path, **kwargs):
        """The SQL statements one GET of ``path`` (with ``kwargs``: headers) runs, after
        a warm-up request."""
        assert self.get(path, **kwargs).status_code == 200
        engine = self.application._engine
        statements = []

        def listener(*args):
            statements.append(args[2])

        event.listen(engine, "before_cursor_execute", listener)
        try:
            assert self.get(path, **kwargs).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return statements

    def post_form(self, path, data, token_from=None):
        """POST with the CSRF token a real browser would send (read from a page)."""
        data = dict(data, csrf_token=self.csrf_token(token_from or "/admin/"))
        return self.post(path, data=data)


# Databases as `init` and `create-admin` leave them, per installation shape, kept by
# each test process: a test of the same shape starts from a copy (init takes most of a
# test's set-up). SQLite: a copy of the file; PostgreSQL: see SchemaDump.
_initialised = {}
PG_TOOLS = shutil.which("pg_dump") and shutil.which("psql")


def make_suite(tmp_path, database_url, addon_paths=(FIXTURE_ADDONS,), enabled=(), demo=False,
               extra="", prepare=None):
    """An initialised installation with an admin. ``prepare(suite)``, when given, runs
    next, and what it leaves in the database is kept with the rest for the next test of
    the same shape (enabling every addon and making a user per group takes a minute)."""
    config = write_config(tmp_path / "site", list(addon_paths), enabled, extra)
    suite = Suite(config, database_url)
    sqlite_file = database_url[len("sqlite:///"):] if database_url.startswith("sqlite:///") \
        else None
    copies = sqlite_file or PG_TOOLS
    shape = (bool(sqlite_file), tuple(map(str, addon_paths)), tuple(enabled), demo, extra,
             prepare and f"{prepare.__module__}.{prepare.__qualname__}")
    if copies and shape in _initialised:
        if sqlite_file:
            _copy_sqlite(_initialised[shape], sqlite_file)
        else:
            _initialised[shape].lend(database_url)
        return suite
    result = suite.run("init", *(["--demo"] if demo else []))
    assert result.exit_code == 0, result.output
    result = suite.run("create-admin", "--username", "admin", "--password", ADMIN_PASSWORD)
    assert result.exit_code == 0, result.output
    if prepare is not None:
        prepare(suite)
    if sqlite_file:
        kept = Path(tempfile.mkdtemp(prefix="crm-initialised-")) / "crm.db"
        _copy_sqlite(sqlite_file, kept)
        _initialised[shape] = kept
    elif copies:
        _initialised[shape] = SchemaDump(database_url)
    return suite


def _copy_sqlite(source, target):
    """A consistent copy of a SQLite database (its write-ahead log included)."""
    with closing(sqlite3.connect(source)) as original, closing(sqlite3.connect(target)) as copy:
        original.backup(copy)


@pytest.fixture
def suite(tmp_path, database_url):
    """An initialised installation with the fixture addon on its paths, disabled."""
    installation = make_suite(tmp_path, database_url)
    yield installation
    installation.close()


@pytest.fixture
def notes_suite(tmp_path, database_url):
    """An initialised installation with the fixture addon enabled and its demo data."""
    installation = make_suite(tmp_path, database_url, enabled=["fixture_notes"], demo=True)
    yield installation
    installation.close()


@pytest.fixture
def smtp():
    """A local SMTP server; what it receives is in the returned inbox."""
    from aiosmtpd.controller import Controller
    from tests.core.test_outbox import Inbox, free_port
    port = free_port()
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    inbox.port = port
    yield inbox
    controller.stop()
