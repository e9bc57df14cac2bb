"""The command line: ``python run.py COMMAND``. Each command is one transaction.

Addons add commands of their own (manifest key ``commands``: click commands or groups,
``"module.attribute"``); the ``cli`` group finds them in the addon folders on
``[addons] paths`` when asked, without a database, and runs one only while its addon is
enabled. Such a command opens the database with ``app_context()``, as the core's do."""
import copy
import importlib
import logging
import re
import secrets
import sys
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

import click
from flask import g, has_app_context
from sqlalchemy import func as sa_func
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from core import backup, customise, exporting, mailgate, migrating, neutral, outbox, reassign
from core import transfer
from core.admin import ModelView, import_limits
from core.app import Dispatcher
from core.auth import password_problem
from core.config import ConfigError, load_settings
from core.db import db
from core.manifest import MANIFEST_FILE
from core.models import (ADMIN_GROUP, ADMIN_GROUP_NAME, INTEGRATION_GROUP,
                         INTEGRATION_GROUP_NAME, Group, Sequence, User)
from core.registry import AddonError, Registry, run_data_modules
from core.scheduler import Scheduler, job_specs, run_job

INITIALISED = "core.initialised"
log = logging.getLogger(__name__)
# The app an addon's command runs in: opened by the check that its addon is enabled,
# and used by the command's own app_context() rather than building a second one.
_command_app = ContextVar("command_app", default=None)


def migrate(registry, branches):
    """Bring ``branches`` to their heads, in the session's transaction."""
    try:
        return migrating.upgrade(db.session.connection(), registry, branches)
    except migrating.MigrationError as exc:
        fail(str(exc))


@contextmanager
def app_context():
    running = _command_app.get()
    if running is not None:   # an addon's command, inside _enabled_only's context
        yield running
        return
    try:
        app = _site_dispatcher(load_settings()).app
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()   # a command's connections end with the command


# The site of the last command this process ran and its Dispatcher (see below).
_last_site = {}


def _site_dispatcher(settings):
    """The Dispatcher of the last command this process ran, while the site, its
    settings and its addon folders are the same: a process that runs several commands
    (a shell's, the tests') builds one app per addon revision, as a web process does,
    not one per command; a command still sees an addon put in a folder since the last."""
    site = (settings.database_url, str(settings.config_file),
            repr({name: dict(section) for name, section in settings.raw.items()}),
            tuple((str(manifest), manifest.stat().st_mtime_ns)
                  for folder in settings.addon_paths
                  for manifest in sorted(Path(folder).glob(f"*/{MANIFEST_FILE}"))))
    if site not in _last_site:
        _last_site.clear()
        _last_site[site] = Dispatcher(settings)
    return _last_site[site]


def is_initialised():
    try:
        return Sequence.current(db.session, INITIALISED) > 0
    except DBAPIError:  # no core tables at all
        db.session.rollback()
        return False


def require_initialised():
    if not is_initialised():
        fail("the database is not initialised; run `python run.py init` first")


def fail(message):
    if has_app_context():
        db.session.rollback()
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


class SuiteCommands(click.Group):
    """The core's commands, and those the installable addons on the configured paths
    add (their manifests' ``commands``). Found when click asks for them, so `python
    run.py --help` reads the addon folders and needs no database."""

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(addon_commands(ctx)))

    def get_command(self, ctx, name):
        return super().get_command(ctx, name) or addon_commands(ctx).get(name)


def addon_commands(ctx):
    """{name: command} of the installable addons, found once per invocation. A core
    command keeps its name; an unreadable config adds none (the core's commands say
    what is wrong with it)."""
    meta = ctx.find_root().meta
    if "crm.addon_commands" not in meta:
        try:
            settings = load_settings()
        except ConfigError:
            meta["crm.addon_commands"] = {}
            return {}
        found = {}
        for addon in Registry(settings.addon_paths).addons.values():
            if addon.installable:
                for target in addon.manifest["commands"]:
                    command = _addon_command(addon, target)
                    if command is not None:
                        found.setdefault(command.name, _enabled_only(addon.name, command))
        meta["crm.addon_commands"] = found
    return meta["crm.addon_commands"]


def _addon_command(addon, target):
    """The click command ``target`` ("module.attribute") of ``addon``, or None (logged)
    when it cannot be loaded: a broken addon never stops the others' commands."""
    module_name, attribute = target.rsplit(".", 1)
    try:
        command = getattr(importlib.import_module(f"{addon.package}.{module_name}"),
                          attribute, None)
    except Exception:
        log.warning("%s: commands: %s cannot be loaded", addon.name, target, exc_info=True)
        return None
    if not isinstance(command, click.Command):
        log.warning("%s: commands: %s is not a click command or group", addon.name, target)
        return None
    return command


def _enabled_only(addon_name, command):
    """``command`` (a copy) whose commands first check, in the app they then run in,
    that the addon is enabled; a group's subcommands are guarded one by one, so that
    --help at any level needs no database."""
    guarded = copy.copy(command)
    if isinstance(command, click.Group):
        guarded.commands = {name: _enabled_only(addon_name, sub)
                            for name, sub in command.commands.items()}
        return guarded

    def invoke(ctx):
        with app_context() as app:
            require_initialised()
            if addon_name not in app.extensions["crm"].enabled:
                fail(f"addon {addon_name} is not enabled")
            token = _command_app.set(app)
            try:
                return command.invoke(ctx)
            finally:
                _command_app.reset(token)

    guarded.invoke = invoke
    return guarded


@click.group(cls=SuiteCommands)
@click.option("-v", "--verbose", is_flag=True, help="Log more.")
def cli(verbose):
    """The CRM suite."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@cli.command()
@click.option("--host", default=None, help="Address to listen on (config.ini [server] host).")
@click.option("--port", default=None, type=int, help="Port (config.ini [server] port).")
def serve(host, port):
    """Serve the suite with the built-in server (use gunicorn run:app in production)."""
    from werkzeug.serving import run_simple
    settings = load_settings()
    host = host or settings.get("server", "host", "127.0.0.1")
    port = port or int(settings.get("server", "port", "5000"))
    dispatcher = Dispatcher(settings)
    scheduler = None
    if settings.get("scheduler", "run_in_web", "true").lower() == "true":
        scheduler = Scheduler(dispatcher, sync_seconds=sync_seconds(settings))
        scheduler.start()
        click.echo("Scheduled jobs run in this process ([scheduler] run_in_web).")
    click.echo(f"Serving on http://{host}:{port}/")
    try:
        run_simple(host, port, dispatcher, threaded=True)
    finally:
        if scheduler:
            scheduler.shutdown()


def sync_seconds(settings):
    return int(settings.get("scheduler", "sync_seconds", "10"))


@cli.command()
def scheduler():
    """Run the scheduled jobs of the core and of every enabled addon, until stopped."""
    settings = load_settings()
    runner = Scheduler(Dispatcher(settings), blocking=True,
                       sync_seconds=sync_seconds(settings))
    click.echo("Scheduler running; Ctrl+C stops it.")
    try:
        runner.start()
    except (KeyboardInterrupt, SystemExit):
        pass


@cli.command("run-job")
@click.argument("job_id")
def run_job_command(job_id):
    """Run one scheduled job once, now (for cron, or to try a job)."""
    with app_context() as app:
        require_initialised()
        spec = job_specs(app.extensions["crm"]).get(job_id)
        if spec is None:
            fail(f"no job {job_id} (jobs: {', '.join(sorted(job_specs(app.extensions['crm'])))})")
        status, message = run_job(spec)
        click.echo(f"{job_id}: {status} {message}".rstrip())
        if status == "error":     # "skipped" on a test copy is not a failure
            sys.exit(1)


@cli.command("mail-test")
@click.option("--to", "address", required=True, help="Where to send the test email.")
def mail_test(address):
    """Send a test email through the outbox now and report what happened."""
    with app_context():
        require_initialised()
        if neutral.is_neutralised(db.session):
            fail("this is a test copy of the site (restored with --neutralise): it sends nothing")
        message = outbox.send_email([address], "CRM test message",
                                    "This is a test message from the CRM suite's outbox.")
        message.status = "sending"
        db.session.commit()
        if outbox.deliver(message):
            click.echo(f"sent to {address} (outbox message {message.id})")
        else:
            later = "will be tried again" if message.status == "queued" else "failed for good"
            fail(f"not sent: {message.last_error} (outbox message {message.id} {later})")


# The exit statuses an MTA understands (sysexits.h): refuse for good, or try again later.
EX_DATAERR, EX_TEMPFAIL = 65, 75


@cli.command("mail-in")
def mail_in():
    """Take in one email from standard input (for the mail server's pipe or alias).
    Exits 0 when it was taken in or deliberately dropped, 65 when it cannot be taken
    (too large, not an email), 75 when it should be tried again (a database error)."""
    try:
        with app_context():
            if not is_initialised():
                raise RuntimeError("the database is not initialised")
            # As the fetch job runs it: an app context, no request. One byte more than
            # allowed is enough to know a message is too large.
            raw = sys.stdin.buffer.read(mailgate.max_bytes() + 1)
            outcome = mailgate.receive(raw, source="pipe")
    except Exception as exc:  # the MTA keeps the message and tries again: never lost
        click.echo(f"error: temporary failure, try again later: {exc}", err=True)
        sys.exit(EX_TEMPFAIL)
    if outcome.status == "refused":
        click.echo(f"error: message refused: {outcome.message}", err=True)
        sys.exit(EX_DATAERR)


@cli.command()
@click.option("--demo", is_flag=True, help="Also load demo records of the enabled addons.")
def init(demo):
    """Create the database on first run: core tables, default addons, first admin.

    Safe to run again: an initialised database is left as it is."""
    with app_context() as app:
        state = app.extensions["crm"]
        if is_initialised():
            click.echo("Database already initialised; nothing to do "
                       "(`python run.py upgrade` brings it up to this version).")
            return
        migrate(state.registry, [migrating.CORE])
        Sequence.next_value(db.session, INITIALISED)
        admin_group(db.session)
        db.session.flush()   # the Administrator group first (its id 1, as ever)
        customise.seed_customiser_group(db.session.connection())
        enabled = []
        try:
            for name in state.settings.default_addons:
                enabled += state.registry.enable(db.session, name)
        except AddonError as exc:
            fail(f"[addons] enabled in {state.settings.config_file}: {exc}")
        if demo:
            for name in enabled:
                run_data_modules(state.registry.addons[name], "demo", db.session)
        integration_group(db.session)
        password = None
        # No administrator yet (demo data may have brought users, never an admin).
        if db.session.scalar(select(User.id).join(User.groups)
                             .where(Group.code == ADMIN_GROUP).limit(1)) is None:
            password = secrets.token_urlsafe(12)
            add_admin(db.session, "admin", password, must_change=True)
        db.session.commit()
        click.echo(f"Database initialised; addons enabled: {', '.join(enabled) or 'none'}.")
        if password:
            click.echo(f"Administrator login (shown once): admin / {password}")


def integration_group(session):
    """The built-in group of integration users (core.models.INTEGRATION_GROUP), made by
    ``init`` and ``upgrade``, not by a migration (a restore runs the migrations, then
    loads the archive's groups); a row of the system's, so not in the audit trail (as the
    Customiser group)."""
    if session.scalar(select(Group.id).where(Group.code == INTEGRATION_GROUP)) is None:
        session.execute(Group.__table__.insert().values(code=INTEGRATION_GROUP,
                                                        name=INTEGRATION_GROUP_NAME))


def admin_group(session):
    """The built-in Administrator group, made on first use."""
    group = session.scalar(select(Group).where(Group.code == ADMIN_GROUP))
    if group is None:
        group = Group(code=ADMIN_GROUP, name=ADMIN_GROUP_NAME)
        session.add(group)
    return group


def add_admin(session, username, password, must_change=False):
    administrators = admin_group(session)
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        user = User(username=username, full_name=username)
        session.add(user)
    user.set_password(password)
    user.must_change_password = must_change
    user.active = True
    if administrators not in user.groups:
        user.groups.append(administrators)
    return user


def check_password(username, password):
    problem = password_problem(username, password)
    if problem:
        fail(f"--password: {problem}")


@cli.command("create-admin")
@click.option("--username", required=True)
@click.option("--password", required=True)
def create_admin(username, password):
    """Create an administrator, or reset an existing user's password and make it one."""
    with app_context():
        require_initialised()
        check_password(username, password)
        add_admin(db.session, username.strip(), password)
        db.session.commit()
        click.echo(f"Administrator {username} saved.")


@cli.command("create-user")
@click.option("--username", required=True)
@click.option("--password", default=None, help="Not for an integration user (--api-only).")
@click.option("--groups", default="", help="Group codes, comma-separated.")
@click.option("--full-name", default="")
@click.option("--email", default="")
@click.option("--api-only", is_flag=True, help="An integration user (its group besides "
              "--groups): the API only (tokens: api-token), never the screens.")
def create_user(username, password, groups, full_name, email, api_only):
    """Create a user (or update an existing one) in the given groups."""
    with app_context():
        require_initialised()
        username = username.strip()
        if password is None and not api_only:
            fail("--password: give one (or --api-only for an integration user)")
        if password is not None:
            check_password(username, password)
        codes = [code.strip() for code in groups.split(",") if code.strip()]
        if api_only:
            integration_group(db.session)
            codes.append(INTEGRATION_GROUP)
        found = {group.code: group for group in db.session.scalars(
            select(Group).where(Group.code.in_(codes)))}
        missing = [code for code in codes if code not in found]
        if missing:
            known = ", ".join(db.session.scalars(select(Group.code).order_by(Group.code)))
            fail(f"--groups: no group {', '.join(missing)} (groups: {known})")
        user = db.session.scalar(select(User).where(User.username == username))
        if user is None:
            user = User(username=username)
            db.session.add(user)
        user.full_name, user.email = full_name or user.full_name or username, email or user.email
        # An integration user's password is one nobody knows: it never signs in.
        user.set_password(password or secrets.token_urlsafe(32))
        user.groups = [found[code] for code in codes]
        db.session.commit()
        click.echo(f"User {username} saved, groups: {', '.join(codes) or 'none'}.")


@cli.command("api-token")
@click.option("--user", "username", required=True)
@click.option("--name", required=True, help="What the token is for, to know it by later.")
@click.option("--write", is_flag=True, help="It may write (else it only reads).")
@click.option("--models", default="", help="Model names, comma-separated (none: all).")
@click.option("--days", type=click.IntRange(1), default=None, help="Expires after (none: never).")
def api_token(username, name, write, models, days):
    """Make an API token for a user (an integration user, say); its key is printed once."""
    from core import api
    with app_context() as app:
        require_initialised()
        user = db.session.scalar(select(User).where(User.username == username.strip()))
        if user is None or not user.active:
            fail(f"--user: no active user {username}")
        chosen = [model.strip() for model in models.split(",") if model.strip()]
        known = {view.permission_model for view in app.extensions["crm"].api_screens.values()}
        if set(chosen) - known:
            fail(f"--models: no model {', '.join(sorted(set(chosen) - known))} "
                 f"(models: {', '.join(sorted(known))})")
        _token, key = api.make_token(user, name.strip()[:100], chosen, days, writes=write)
        db.session.commit()
        click.echo(key)


@cli.command("reassign")
@click.option("--from-user", "from_username", required=True)
@click.option("--to-user", "to_username", required=True)
@click.option("--dry-run", is_flag=True, help="Only count what would move.")
def reassign_records(from_username, to_username, dry_run):
    """Move every record owned by one user to another, in every enabled addon."""
    with app_context() as app:
        require_initialised()
        users = {name: db.session.scalar(select(User).where(User.username == name))
                 for name in (from_username, to_username)}
        for option, name in (("--from-user", from_username), ("--to-user", to_username)):
            if users[name] is None:
                fail(f"{option}: no user {name}")
        if from_username == to_username:
            fail("--to-user: must differ from --from-user")
        models = reassign.owned_models(app.extensions["crm"])
        source, target = users[from_username].id, users[to_username].id
        counts = (reassign.preview(db.session, models, source) if dry_run
                  else reassign.reassign(db.session, models, source, target))
        db.session.commit()
        for model, count in counts.items():
            click.echo(f"{model}\t{count}")
        click.echo(f"{'would move' if dry_run else 'moved'}: {sum(counts.values())} records")


@cli.command()
def upgrade():
    """Bring the tables of the core and of every installed addon (enabled or not) to
    what the code expects, and add the groups, rights and records the enabled addons
    now declare: run after every update of the code."""
    with app_context() as app:
        registry = app.extensions["crm"].registry
        require_initialised()
        branches = migrating.installed(db.session.connection(), registry)
        done = migrate(registry, branches)
        states = registry.states(db.session)
        for name in registry.enabled(db.session):
            registry.refresh(db.session, name, states[name])
        # A bridge new in this version of the code, between addons already enabled.
        bridges = registry.enable_bridges(db.session)
        customise.seed_customiser_group(db.session.connection())   # new in core_0005
        integration_group(db.session)   # new with the API's integration users
        db.session.commit()
        click.echo(f"applied: {', '.join(done)}" if done else "The database is up to date.")
        if bridges:
            click.echo(f"enabled: {', '.join(bridges)}")


@cli.command("backup")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False))
@click.option("--verify", is_flag=True, help="Check the archive FILE instead of writing one.")
def backup_command(path, verify):
    """Write an archive of the whole site (every table of every installed addon, the
    uploaded files, a manifest) to FILE, while the site keeps running; or, with
    --verify, check one without restoring it."""
    if verify:
        try:
            manifest, tables = backup.verify(path)
        except backup.BackupError as exc:
            fail(str(exc))
        for table, rows, checksum in tables:
            click.echo(f"{table}\t{rows} rows\t{checksum}\tok")
        click.echo(f"{path}: intact; {len(manifest['members'])} members, made "
                   f"{manifest['created_at']} from {manifest['database']} by version "
                   f"{manifest['suite_version']}")
        return
    with app_context() as app:
        require_initialised()
        manifest = backup.backup(db.engine, app.extensions["crm"].registry,
                                 app.instance_path, path)
        rows = sum(table["rows"] for table in manifest["tables"].values())
        click.echo(f"{path}: {len(manifest['tables'])} tables, {rows} rows, "
                   f"{len(manifest['members']) - len(manifest['tables'])} files")
        missing = manifest["files"].get("missing", [])
        if missing:
            click.echo(f"warning: {len(missing)} stored files are missing from the folder and "
                       f"not in the archive ({missing[0]}, ...); see `python run.py files "
                       "check`", err=True)


@cli.command("restore")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False))
@click.option("--replace", is_flag=True,
              help="Replace the site in a database that is not empty (a safety backup of "
                   "it is written first).")
@click.option("--neutralise", is_flag=True,
              help="Make a test copy: nothing is sent, no scheduled job runs, every page "
                   "says it is a copy.")
def restore_command(path, replace, neutralise):
    """Restore the archive FILE into this site's database (empty, of either kind) and
    folders; all of it, or, on any fault, nothing."""
    with app_context() as app:
        try:
            results, safety = backup.restore(
                db.engine, app.extensions["crm"].registry, app.instance_path, path,
                replace=replace, neutralise=neutralise, progress=click.echo)
        except (backup.BackupError, migrating.MigrationError) as exc:
            fail(f"{exc}; nothing was restored")
        _last_site.clear()   # the next command builds its app for the site restored
        rows = sum(result[1] for result in results)
        click.echo(f"restored {len(results)} tables, {rows} rows; every checksum matches"
                   + (" (neutralised copy)" if neutralise else ""))
        if safety:
            click.echo(f"the replaced site is in {safety}")


@cli.command()
@click.argument("branch", metavar="ADDON")
@click.option("-m", "--message", required=True, help="What the revision changes.")
def revision(branch, message):
    """Write a migration for ADDON (or "core") from what its models have that the
    database lacks; upgrade the database first."""
    with app_context() as app:
        registry = app.extensions["crm"].registry
        if branch not in migrating.folders(registry):
            fail(f"{branch}: not an addon with a migrations folder (or core)")
        lagging = migrating.behind(db.session.connection(), registry)
        if lagging:
            fail(f"the database is behind the code ({', '.join(lagging)}); "
                 "run `python run.py upgrade` first")
        path = migrating.new_revision(db.session.connection(), registry, branch, message)
        db.session.rollback()
        click.echo(f"written: {path}" if path else "No difference between the models and "
                   "the database: nothing written.")


@cli.group()
def addons():
    """List, enable and disable addons."""


@addons.command("list")
def addons_list():
    """One addon a line: name, state, version (and the error of a broken one)."""
    with app_context() as app:
        registry = app.extensions["crm"].registry
        states = registry.states(db.session) if is_initialised() else {}
        for name, addon in registry.addons.items():
            if not addon.installable:
                state = "not installable"
            else:
                state = "enabled" if name in states and states[name].enabled else "disabled"
            version = addon.manifest["version"] if addon.manifest else "-"
            click.echo(f"{name}\t{state}\t{version}")
            if addon.error:
                click.echo(f"    {addon.error}")
        lagging, newer = (migrating.standing(db.session.connection(), registry) if states
                          else ([], []))
        if newer:
            click.echo(f"The database was made by a newer version (revisions "
                       f"{', '.join(newer)}): run that version, or restore a backup.")
        if lagging:
            click.echo(f"The database is behind the code ({', '.join(lagging)}): "
                       "run `python run.py upgrade`.")


@addons.command("enable")
@click.argument("name")
def addons_enable(name):
    """Enable NAME and what it depends on."""
    done = _change_addon("enable", name)
    click.echo(f"enabled: {', '.join(done)}" if done else f"{name} was already enabled")


@addons.command("disable")
@click.argument("name")
def addons_disable(name):
    """Disable NAME; its records are kept."""
    done = _change_addon("disable", name)   # with the bridges that needed it
    click.echo(f"disabled: {', '.join(done)}" if done else f"{name} was already disabled")


def _change_addon(action, name):
    with app_context() as app:
        require_initialised()
        registry = app.extensions["crm"].registry
        try:
            result = getattr(registry, action)(db.session, name)
        except AddonError as exc:
            fail(str(exc))
        db.session.commit()
        return result


def find_model(state, name):
    """A model of an enabled addon by class name (SalesHistory, saleshistory or
    sales_history) or table name, any case."""
    wanted = name.strip().lower()
    models = {}
    for addon in state.enabled:
        for model in state.registry.addons[addon].models.values():
            models[model.__name__.lower()] = model
            models[re.sub(r"(?<!^)(?=[A-Z])", "_", model.__name__).lower()] = model
            models[model.__table__.name.lower()] = model
    if wanted not in models:
        names = sorted({m.__name__.lower() for m in models.values()})
        fail(f"no model {name} in the enabled addons (models: {', '.join(names) or 'none'})")
    return models[wanted]


@cli.command("import")
@click.argument("model_name", metavar="MODEL")
@click.argument("path", metavar="FILE", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check every row; write nothing.")
@click.option("--skip-bad", is_flag=True,
              help="Write the rows without problems and report the others, instead of "
                   "writing nothing while any row is wrong.")
@click.option("--rejected", "rejected_path", type=click.Path(dir_okay=False), default=None,
              help="With --skip-bad: write the rows not imported, with an Error column, to "
                   "this .csv or .xlsx file.")
@click.option("--user", "username", default=None,
              help="Import as this user: their rights, record rules and ownership. "
                   "Without it, as the first administrator.")
def import_records(model_name, path, dry_run, skip_bad, rejected_path, username):
    """Import records of MODEL from a .csv or .xlsx FILE: all rows or none (or with
    --skip-bad, the good ones). The rows go through the checks of MODEL's import
    screen, as if uploaded there; its columns are named as that screen's export names
    them, or by field name."""
    if rejected_path and (not skip_bad or transfer.format_of(rejected_path) not in
                          transfer.FORMATS):
        fail("--rejected needs --skip-bad and a .csv or .xlsx file name")
    with app_context() as app:
        require_initialised()
        screen = import_screen(app, find_model(app.extensions["crm"], model_name))
        with app.test_request_context(f"{screen.url}/import/", method="POST"):
            g._login_user = acting_user(username)
            if not screen.can_import:
                fail(f"{username} may not import {screen.model.__name__} records")
            try:
                header, rows = transfer.read_rows(path, transfer.format_of(path),
                                                  import_limits())
                # Columns an export writes that no import sets (a state, totals): said.
                left_out = [c for c, target in screen.import_mapping(header).items()
                            if target == ""]
                if left_out:
                    click.echo(f"{path}: left out, an import does not set them: "
                               f"{', '.join(left_out)}", err=True)
                checked = screen.check_import(header, rows)
            except transfer.ImportRefused as exc:
                fail(f"{path}: {exc}")
            for warning in checked.warnings:
                click.echo(f"{path}: warning: {warning}", err=True)
            count = len(checked.records)
            for problem in checked.problems:
                click.echo(f"{path}: {problem}", err=True)
            if not checked.ok and not skip_bad:
                fail(f"{len(checked.problems)} problems in {count} rows; nothing written")
            good, bad = transfer.split(checked)
            if dry_run:
                db.session.rollback()
                click.echo(f"{len(good.records)} rows are valid; nothing written (--dry-run)")
                return
            transfer.write(good)
            db.session.commit()
            click.echo(f"{len(good.records)} {screen.model.__name__} records imported")
            if bad:
                click.echo(f"{len(bad)} rows not imported (--skip-bad)")
            if bad and rejected_path:
                header, rows = transfer.read_rows(path, transfer.format_of(path),
                                                  import_limits())
                exporting.write(transfer.format_of(rejected_path),
                                *transfer.rejected_rows(header, rows, checked.problems,
                                                        screen.import_mapping(header)),
                                rejected_path)
                click.echo(f"rejected rows written to {rejected_path}")


def import_screen(app, model):
    """The screen that imports records of ``model``: its checks are the import's."""
    admin = app.extensions["admin"][0]
    screen = next((view for view in admin._views if isinstance(view, ModelView)
                   and view.model is model and view.allow_import and view.allow_create), None)
    if screen is None:
        fail(f"{model.__name__} records are not imported: no screen imports them")
    return screen


def acting_user(username):
    """The user a command acts as: the one named, or the first administrator."""
    if username is None:
        user = db.session.scalar(select(User).join(User.groups).where(
            Group.code == ADMIN_GROUP, User.active.is_(True)).order_by(User.id).limit(1))
        if user is None:
            fail("no active administrator to act as; name a user with --user")
    else:
        user = db.session.scalar(select(User).where(User.username == username))
        if user is None or not user.active:
            fail(f"--user: no active user {username}")
    g.acting_user_id = user.id
    return user


@cli.command("export")
@click.argument("model_name", metavar="MODEL")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False))
def export_records(model_name, path):
    """Export every record of MODEL to FILE (.csv or .xlsx), in importable columns."""
    with app_context() as app:
        require_initialised()
        model = find_model(app.extensions["crm"], model_name)
        fmt = transfer.format_of(path)
        if fmt not in transfer.FORMATS:
            fail(f"{path}: use a .csv or .xlsx file name")
        header, rows = transfer.export_rows(model)
        counted = _counting(rows)
        exporting.write(fmt, header, counted, path)
        click.echo(f"{counted.count} {model.__name__} records written to {path}")


class _counting:
    """Rows passed through, counted."""

    def __init__(self, rows):
        self.rows, self.count = rows, 0

    def __iter__(self):
        for row in self.rows:
            self.count += 1
            yield row


def acted_record(app, model_name, record_id, username):
    """The record MODEL ID as ``username`` may read it (their record rules), in a request
    of theirs: what `transition` and `approval` act on. Fails when they may not read it."""
    from core import permissions
    user = acting_user(username)
    g._login_user = user
    model = find_model(app.extensions["crm"], model_name)
    record = db.session.scalar(permissions.apply_rules(
        select(model).where(model.id == record_id), model, user).with_for_update())
    if record is None:
        fail(f"no {model.__name__} {record_id} that {user.username} may read")
    return user, record


@cli.command("transition")
@click.argument("model_name", metavar="MODEL")
@click.argument("record_id", metavar="ID", type=int)
@click.argument("name", metavar="NAME")
@click.option("--user", "username", required=True, help="Act as this user: their rights.")
def transition_command(model_name, record_id, name, username):
    """Take the action NAME of MODEL's workflow on record ID, as USER would on its page
    (the same checks); prints the new state."""
    from core import workflow
    from core.i18n import label
    with app_context() as app:
        require_initialised()
        with app.test_request_context("/"):
            user, record = acted_record(app, model_name, record_id, username)
            try:
                workflow.move(record, name, user)
                db.session.commit()
            except workflow.Refused as exc:
                fail(str(exc))
            flow = workflow.of(type(record))
            click.echo(f"{label(record)}: {workflow.state_text(flow, record)}")


@cli.command("approval")
@click.argument("decision", type=click.Choice(["approve", "reject"]))
@click.argument("model_name", metavar="MODEL")
@click.argument("record_id", metavar="ID", type=int)
@click.option("--user", "username", required=True, help="Decide as this user.")
@click.option("--comment", default="", help="Why (needed to reject).")
def approval_command(decision, model_name, record_id, username, comment):
    """Approve or reject the approval of record ID of MODEL that waits for USER."""
    from core import approvals, workflow
    from core.i18n import label
    with app_context() as app:
        require_initialised()
        with app.test_request_context("/"):
            user, record = acted_record(app, model_name, record_id, username)
            try:
                found = approvals.decide(record, user, decision, comment, via="cli")
                db.session.commit()
            except workflow.Refused as exc:
                fail(str(exc))
            click.echo(f"{label(record)}: {label(found.state)}")


@cli.group("files")
def files_group():
    """The stored files (documents, attachments, issued PDFs): check and purge."""


@files_group.command("check")
def files_check():
    """Read every stored content again: its SHA-256 and size must match. Lists each
    problem and exits 1 when there is one."""
    from core import files
    with app_context():
        require_initialised()
        problems = 0
        for sha256, problem in files.check():
            click.echo(f"{sha256}\t{problem}")
            problems += 1
        total = db.session.scalar(select(sa_func.count()).select_from(files.Blob))
        if problems:
            fail(f"{problems} of {total} stored files have problems")
        where = files.root() if files.storage() == "folder" else "the database"
        click.echo(f"{total} stored files in {where}, every one intact")


@files_group.command("purge")
@click.option("--older-than", "hours", default=24, show_default=True, type=click.IntRange(0),
              help="Spare what was stored (or stored again) within this many hours.")
def files_purge(hours):
    """Remove the stored contents nothing refers to (no document version, no issued
    document...), even of addons now disabled."""
    from core import files
    with app_context():
        require_initialised()
        try:
            result = files.purge(older_than_hours=hours)
        except files.PurgeRefused as exc:
            fail(str(exc))
        click.echo(f"removed {result.contents} stored files ({result.size} bytes) and "
                   f"{result.stray} stray files")


@cli.group("customisations")
def customisations_group():
    """The fields added on Settings > Customise, as a client addon."""


@customisations_group.command("export")
@click.argument("folder", metavar="DIR", type=click.Path(file_okay=False))
@click.option("--name", default="client_customisations", show_default=True,
              help="The addon's name (its folder in DIR, its migrations' branch).")
def customisations_export(folder, name):
    """Write the site's fields and field rules (where each shows, who sees it) as the
    addon DIR/NAME: manifest, migrations, Chinese catalog. Put DIR on an [addons] paths and in the client's git repository; enabling
    the addon on another site makes the same fields there. Exported again into the same
    DIR, the fields added since get a new migration."""
    from pathlib import Path
    from core import customise_export
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        fail(f"{name}: an addon's name is lower-case letters, digits and underscores")
    with app_context() as app:
        require_initialised()
        state = app.extensions["crm"]
        addon, fields, revision = customise_export.export(
            db.session, state.registry, Path(folder), name, state.settings.site_name)
        click.echo(f"{addon}: {len(fields)} fields"
                   + (f"; new migration {revision}" if revision else "; no new migration"))
