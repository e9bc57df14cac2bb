"""Scheduled backups: an archive of the whole site (core.backup) every day at [backup]
time, written to [backup] folder, verified at once, and the old ones removed
grandfather-father-son style. Settings > Backups lists them, backs up now, verifies and
downloads them.

Archives are named ``crm-YYYYMMDD-HHMMSS.zip`` (the server's local time). The result of
checking one is kept beside it in ``<archive>.json``, so that the list never reads the
archives themselves. Retention removes only files of that name: never a restore's
safety backup (``before-restore-*.zip``), nor anything else in the folder.

One backup or check runs at a time, across processes: they hold a lock file in the
instance folder, whose text says what holds it (the screen shows "a backup is
running"). A failed backup tells every active administrator, under the bell and by
email, and leaves no partial file.
"""
import fcntl
import json
import logging
import os
import re
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from core import backup, files, notifications
from core.config import ConfigError
from core.db import db
from core.i18n import mark
from core.models import ADMIN_GROUP, Group, User

log = logging.getLogger(__name__)

JOB = {"id": "core.backup", "label": mark("Back up the site"),
       "func": "core.backups.scheduled_backup", "trigger": "cron"}
NAME = re.compile(r"crm-(\d{8}-\d{6})\.zip")              # ours: retention may remove them
SAFETY = re.compile(r"before-restore-(\d{8}-\d{6})(?:-\d+)?\.zip")  # a restore's: listed, never removed
STAMP = "%Y%m%d-%H%M%S"
LOCK_FILE = ".backup.lock"
WAIT_FOR_CHECK_SECONDS = 15 * 60   # the job waits this long for a check to end
STALE_PARTIAL_SECONDS = 60 * 60


class Busy(Exception):
    """Another backup or check holds the lock; ``task`` says which ({"task": ...})."""

    def __init__(self, task):
        super().__init__(f"busy: {task}")
        self.task = task


# -- settings ------------------------------------------------------------------------------

@dataclass
class Plan:
    """[backup] of config.ini: where archives go, when, and how many are kept."""
    folder: Path
    hour: int = 2
    minute: int = 30
    keep_daily: int = 7
    keep_weekly: int = 4
    keep_monthly: int = 12

    @property
    def time(self):
        return f"{self.hour:02d}:{self.minute:02d}"


def plan(settings):
    """The Plan of ``settings``; ConfigError naming the file and key when a value is wrong."""
    where = f"{settings.config_file}: [backup]"
    folder = settings.get("backup", "folder", "").strip()
    if folder:   # relative to config.ini, like every path there
        folder = Path(folder).expanduser()
        if not folder.is_absolute():
            folder = (Path(settings.config_file).parent / folder).resolve()
    else:
        folder = Path(settings.instance_path) / "backups"
    text = settings.get("backup", "time", "02:30").strip()
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ConfigError(f"{where} time: {text!r} is not a time of day (HH:MM, 00:00-23:59)")
    keep = {}
    for key, default in (("keep_daily", 7), ("keep_weekly", 4), ("keep_monthly", 12)):
        value = settings.get("backup", key, str(default)).strip()
        if not value.isdigit():
            raise ConfigError(f"{where} {key}: {value!r} is not a whole number")
        keep[key] = int(value)
    if keep["keep_daily"] < 1:   # the archive just made is its day's: it must stay
        raise ConfigError(f"{where} keep_daily: keep at least 1")
    return Plan(folder=folder, hour=int(match[1]), minute=int(match[2]), **keep)


def job(settings):
    """The core.backup job of the scheduler, at the plan's time each day."""
    schedule = plan(settings)
    return dict(JOB, hour=schedule.hour, minute=schedule.minute)


# -- retention -----------------------------------------------------------------------------

PERIODS = (("keep_daily", lambda moment: moment.date()),
           ("keep_weekly", lambda moment: moment.isocalendar()[:2]),   # ISO year and week
           ("keep_monthly", lambda moment: (moment.year, moment.month)))


def to_keep(moments, keep_daily, keep_weekly, keep_monthly):
    """The moments (of archives) retention keeps: the newest of each of the
    ``keep_daily`` most recent days that have an archive, likewise of ISO weeks and
    months. One archive may be kept for several reasons (the newest of its day and of
    its week). Counting days that have an archive, not calendar days, means that
    backups that stopped for a while never make the last good ones go."""
    counts = {"keep_daily": keep_daily, "keep_weekly": keep_weekly,
              "keep_monthly": keep_monthly}
    newest_first = sorted(set(moments), reverse=True)
    kept = set()
    for key, period_of in PERIODS:
        periods = set()
        for moment in newest_first:
            period = period_of(moment)
            if period in periods:
                continue          # an older archive of a period already kept
            if len(periods) == counts[key]:
                break
            periods.add(period)
            kept.add(moment)
    return kept


def prune(folder, schedule):
    """Remove the archives of ``folder`` that retention does not keep (and their check
    results); returns their names. Only files named as ours are looked at."""
    ours = {}
    for path in Path(folder).iterdir():
        match = NAME.fullmatch(path.name)
        if match and path.is_file():
            ours[datetime.strptime(match[1], STAMP)] = path
    kept = to_keep(ours, schedule.keep_daily, schedule.keep_weekly, schedule.keep_monthly)
    removed = []
    for moment, path in sorted(ours.items()):
        if moment not in kept:
            path.unlink(missing_ok=True)
            sidecar(path).unlink(missing_ok=True)
            removed.append(path.name)
    for check_file in Path(folder).glob("crm-*.zip.json"):   # of archives removed by hand
        if NAME.fullmatch(check_file.name[:-len(".json")]) and not check_file.with_suffix("").exists():
            check_file.unlink(missing_ok=True)
    return removed


# -- the archives in the folder ------------------------------------------------------------

@dataclass
class Archive:
    name: str
    path: Path
    made: datetime          # server local time, from the name
    size: int
    safety: bool            # a restore's safety backup, not one of ours
    check: dict = None      # the last check: {"verified_at", "ok", "message", ...}

    @property
    def state(self):
        """"ok", "damaged" or "unchecked"."""
        if not self.check:
            return "unchecked"
        return "ok" if self.check.get("ok") else "damaged"


def sidecar(path):
    return Path(path).with_name(Path(path).name + ".json")


def archives(folder):
    """The archives in ``folder``, newest first; [] when there is no folder yet."""
    found = []
    try:
        paths = list(Path(folder).iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    for path in paths:
        match = NAME.fullmatch(path.name) or SAFETY.fullmatch(path.name)
        if not match or not path.is_file():
            continue
        try:
            size = path.stat().st_size
        except FileNotFoundError:   # removed by retention meanwhile
            continue
        try:
            check = json.loads(sidecar(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            check = None
        found.append(Archive(name=path.name, path=path, size=size,
                             made=datetime.strptime(match[1], STAMP),
                             safety=bool(SAFETY.fullmatch(path.name)), check=check))
    return sorted(found, key=lambda archive: (archive.made, archive.name), reverse=True)


def find(folder, name):
    """The archive of the listing named ``name``, else None: nothing else in or out of
    the folder can be reached by a name (no ../, no other file)."""
    return next((archive for archive in archives(folder) if archive.name == name), None)


def check(path):
    """Verify an archive (every member, every table's checksum), record the result
    beside it, and return it: {"verified_at", "ok", "message", "tables", "rows"}."""
    path = Path(path)
    try:
        _manifest, tables = backup.verify(path)
        result = {"ok": True, "message": "", "tables": len(tables),
                  "rows": sum(rows for _table, rows, _checksum in tables)}
    except backup.BackupError as exc:
        # The reason without the server's path: the screen names the archive.
        result = {"ok": False, "message": str(exc).replace(str(path), path.name)}
    result["verified_at"] = datetime.now().isoformat(timespec="seconds")
    _write_json(sidecar(path), result)
    return result


def _write_json(path, data):
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


# -- one at a time ------------------------------------------------------------------------

_held = threading.local()   # the lock this thread holds (handed over by start())


def lock_path():
    return Path(current_app.instance_path) / LOCK_FILE


def acquire(task, wait=0):
    """Take the lock for ``task`` ({"task": "backup"} or {"task": "check", "name": ...});
    returns the open lock file (release() it). Busy when another holds it after
    ``wait`` seconds."""
    path = lock_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+", encoding="utf-8")
    # running() holds it shared for a moment: try for a second at least.
    deadline = time.monotonic() + max(wait, 1)
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                holder = _read_task(handle)
                handle.close()
                raise Busy(holder) from None
            time.sleep(0.1)
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps(dict(task, started_at=datetime.now().isoformat(timespec="seconds"))))
    handle.flush()
    return handle


def release(handle):
    handle.seek(0)
    handle.truncate()
    handle.flush()
    fcntl.flock(handle, fcntl.LOCK_UN)
    handle.close()


@contextmanager
def exclusive(task, wait=0):
    """Hold the lock for the block, unless this thread holds it already."""
    if getattr(_held, "handle", None) is not None:
        yield
        return
    handle = acquire(task, wait)
    try:
        yield
    finally:
        release(handle)


def running():
    """What holds the lock ({"task": ..., "started_at": ...}), or None."""
    path = lock_path()
    if not path.exists():
        return None
    with open(path, encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_task(handle) or {"task": "backup"}
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


def _read_task(handle):
    try:
        handle.seek(0)
        return json.loads(handle.read() or "null")
    except (OSError, ValueError):
        return None


_threads = []


def start(app, task, work):
    """Run ``work()`` in a thread of its own, in an app context, holding the lock for
    ``task`` (taken here, so that the next page already shows it running, and two
    clicks cannot start two). Busy when another backup or check is running."""
    handle = acquire(task)

    def run():
        _held.handle = handle
        try:
            with app.app_context():
                try:
                    work()
                except Exception:   # recorded by the work itself; never kill the process
                    log.exception("background %s failed", task["task"])
                finally:
                    db.session.remove()
        finally:
            _held.handle = None
            release(handle)

    thread = threading.Thread(target=run, name=f"crm-{task['task']}", daemon=True)
    _threads[:] = [t for t in _threads if t.is_alive()] + [thread]
    thread.start()
    return thread


def wait(timeout=120):
    """Wait for the background backups and checks of this process (tests, shutdown)."""
    for thread in list(_threads):
        thread.join(timeout)


# -- the job ----------------------------------------------------------------------------

def scheduled_backup():
    """The core.backup job: write, verify and record an archive, then apply retention.
    A failure tells the administrators and is raised (the job reports an error)."""
    schedule = plan(current_app.extensions["crm"].settings)
    try:
        with exclusive({"task": "backup"}, wait=0):
            return make(schedule)
    except Busy as busy:
        if (busy.task or {}).get("task") == "backup":
            return "a backup was already running: none made now"
    # A check is running: wait for it (a day's backup is worth a wait).
    try:
        handle = acquire({"task": "backup"}, wait=WAIT_FOR_CHECK_SECONDS)
    except Busy as busy:
        tell_administrators(RuntimeError(
            f"a check of an archive ran for more than {WAIT_FOR_CHECK_SECONDS // 60} minutes"))
        raise busy
    try:
        return make(schedule)
    finally:
        release(handle)


def make(schedule):
    """Write, verify and record one archive; remove the old ones. Returns what was done."""
    path = None
    try:
        folder = schedule.folder
        folder.mkdir(parents=True, exist_ok=True)
        remove_stale_partials(folder)
        path = folder / f"crm-{datetime.now():{STAMP}}.zip"
        while path.exists():   # two in one second: the next second's name
            time.sleep(0.2)
            path = folder / f"crm-{datetime.now():{STAMP}}.zip"
        state = current_app.extensions["crm"]
        backup.backup(db.engine, state.registry, current_app.instance_path, path)
        result = check(path)
        if not result["ok"]:
            raise backup.BackupError(f"the archive is damaged: {result['message']}")
    except Exception as exc:
        if path is not None:   # never keep a damaged archive: it would count as the day's
            path.unlink(missing_ok=True)
            sidecar(path).unlink(missing_ok=True)
        tell_administrators(exc)
        raise
    removed = prune(schedule.folder, schedule)
    return (f"{path.name}: {files.size_text(path.stat().st_size)}, verified ({result['tables']} "
            f"tables, {result['rows']} rows); removed {len(removed)} old archives")


def remove_stale_partials(folder):
    """Remove what a backup killed mid-way left (a growing file is touched all the time:
    one untouched for an hour is no one's)."""
    for partial in folder.glob(".crm-*.zip.partial"):
        try:
            if time.time() - partial.stat().st_mtime > STALE_PARTIAL_SECONDS:
                partial.unlink()
        except FileNotFoundError:
            pass


def reason_of(error):
    if isinstance(error, OSError) and error.strerror:
        return f"{error.strerror}: {error.filename}" if error.filename else error.strerror
    return str(error) or type(error).__name__


def tell_administrators(error):
    """Every active administrator, under the bell and by email, in their language."""
    db.session.rollback()   # the failure may have left the session unusable
    reason = reason_of(error)
    when = datetime.now()
    admins = db.session.scalars(select(User).join(User.groups).where(
        Group.code == ADMIN_GROUP, User.active.is_(True))).unique().all()
    try:
        link = current_app.url_map.bind("localhost").build("backups.index")
        notifications.notify_each(
            admins, lambda: _("The backup failed"),
            body=lambda: _("The backup of %(time)s was not made: %(reason)s",
                           time=when.strftime("%Y-%m-%d %H:%M"), reason=reason),
            link=link, key=f"backup:failed:{when.isoformat()}", email=True)
        db.session.commit()
    except Exception:   # the database itself may be what failed: the log has it
        db.session.rollback()
        log.exception("administrators could not be told that the backup failed")
