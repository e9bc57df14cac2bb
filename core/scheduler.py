"""Scheduled jobs: the core's own and those the enabled addons declare.

One scheduler runs them: inside `python run.py serve` by default, or as its own process
(`python run.py scheduler`) in production, where web workers run none. Jobs must be
safe to run twice at once (two scheduler processes by mistake, or "Run now" while the
scheduler runs it): they claim their rows with ``claim()`` so that no row is worked on
twice. A failing job is logged with its traceback and simply runs again next time.
"""
import importlib
import logging
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError

from core import i18n, neutral
from core.db import db, dialect_insert
from core.i18n import mark
from core.models import JobState, utcnow

log = logging.getLogger(__name__)
SYNC_JOB = "core.scheduler.sync"
SKIPPED = mark("skipped")   # a job's last status, beside "ok" and "error"

# The core's own jobs; addons declare theirs in their manifests.
CORE_JOBS = [
    {"id": "core.outbox", "label": mark("Send the outbox"), "func": "core.outbox.deliver_due",
     "trigger": "interval", "seconds": 30},
    # Webhooks' events (core.webhooks): soon after the change, retried with growing waits.
    {"id": "core.webhooks", "label": mark("Send webhooks"), "func": "core.webhooks.deliver_due",
     "trigger": "interval", "seconds": 10},
    {"id": "core.clean_uploads", "label": mark("Clear abandoned uploads"),
     "func": "core.uploads.clean_abandoned", "trigger": "interval", "hours": 1},
    # Incoming mail from the IMAP mailbox set on Settings > Mail server (off until then).
    {"id": "core.fetch_mail", "label": mark("Fetch incoming mail"),
     "func": "core.mail_fetch.fetch_job", "trigger": "interval", "minutes": 1},
    {"id": "core.approval_deadlines", "label": mark("Tell leaders of overdue approvals"),
     "func": "core.approvals.remind_overdue", "trigger": "interval", "minutes": 15},
    # Contents nothing refers to any more (a document deleted, a version purged): kept a
    # day at least, then removed; at night, after the backup has saved them once more.
    {"id": "core.purge_files", "label": mark("Remove stored files nothing uses"),
     "func": "core.files.purge_job", "trigger": "cron", "hour": 4, "minute": 15},
]


@dataclass
class JobSpec:
    id: str
    func: str                      # dotted path of the function
    trigger: str
    args: dict = field(default_factory=dict)
    addon: str = None              # None for the core's own jobs
    label: str = None              # what people read (a manifest's "label", marked)

    def title(self):
        """The job as people read it: its label translated (its id when it has none)."""
        return i18n.label(self.label) if self.label else self.id

    def schedule(self):
        """When the job runs, in words: "Every 30 seconds", "Every day at 07:30"."""
        if self.trigger == "interval":
            for unit, words in INTERVAL_WORDS.items():
                if unit in self.args:
                    return words(int(self.args[unit]))
        elif set(self.args) <= {"hour", "minute"}:
            return _("Every day at %(time)s", time="%02d:%02d" % (
                int(self.args.get("hour", 0)), int(self.args.get("minute", 0))))
        return str(self.make_trigger())   # a rarer schedule: as APScheduler says it

    def make_trigger(self):
        kind = CronTrigger if self.trigger == "cron" else IntervalTrigger
        return kind(**self.args)

    def callable(self):
        module, name = self.func.rsplit(".", 1)
        return getattr(importlib.import_module(module), name)

    def next_run(self, now=None):
        now = now or datetime.now(timezone.utc)
        return self.make_trigger().get_next_fire_time(None, now)


def job_specs(state):
    """The jobs of the core and of every enabled addon, by id."""
    from core import backups   # (it sends through the outbox, which imports this module)
    specs = [_spec(job, None) for job in CORE_JOBS + [backups.job(state.settings)]]
    for name in state.enabled:
        addon = state.registry.addons[name]
        for job in addon.manifest["jobs"]:
            specs.append(_spec(dict(job, func=f"{addon.package}.{job['func']}"), name))
    return {spec.id: spec for spec in specs}


def _spec(job, addon):
    args = {k: v for k, v in job.items() if k not in ("id", "func", "trigger", "label")}
    return JobSpec(id=job["id"], func=job["func"], trigger=job["trigger"], args=args,
                   addon=addon, label=job.get("label"))


INTERVAL_WORDS = {
    "weeks": lambda num: ngettext("Every week", "Every %(num)d weeks", num),
    "days": lambda num: ngettext("Every day", "Every %(num)d days", num),
    "hours": lambda num: ngettext("Every hour", "Every %(num)d hours", num),
    "minutes": lambda num: ngettext("Every minute", "Every %(num)d minutes", num),
    "seconds": lambda num: ngettext("Every second", "Every %(num)d seconds", num),
}


def run_job(spec):
    """Run one job in the current app context; record how it went. Never raises.
    A neutralised copy (core.neutral) runs none: each is recorded as skipped."""
    started = time.monotonic()
    try:
        if neutral.is_neutralised(db.session):
            db.session.rollback()
            _record(spec.id, SKIPPED, "test copy: scheduled jobs do not run", 0)
            return SKIPPED, "test copy: scheduled jobs do not run"
    except SQLAlchemyError:   # the database is down: the job itself will say so
        db.session.rollback()
    try:
        result = spec.callable()()
        db.session.commit()
        status, message = "ok", "" if result is None else str(result)
    except Exception as exc:  # a job's failure must not stop the scheduler
        db.session.rollback()
        log.error("job %s failed:\n%s", spec.id, traceback.format_exc())
        status = "error"
        message = traceback.format_exception_only(type(exc), exc)[-1].strip()
    _record(spec.id, status, message, int((time.monotonic() - started) * 1000))
    return status, message


def _record(job_id, status, message, duration_ms):
    """Upsert the job's last run: two processes may finish the same job together."""
    values = {"id": job_id, "last_run_at": utcnow(), "last_status": status,
              "last_message": message[:2000], "last_duration_ms": duration_ms}
    statement = dialect_insert(JobState).values(**values)
    db.session.execute(statement.on_conflict_do_update(
        index_elements=[JobState.id], set_={k: v for k, v in values.items() if k != "id"}))
    db.session.commit()


def claim(session, model, condition, limit, **values):
    """Take up to ``limit`` rows matching ``condition`` for this process, setting
    ``values`` on them (a status, say) in one statement; returns their ids.

    Two processes claiming at the same moment get different rows: on PostgreSQL the
    rows are locked with FOR UPDATE SKIP LOCKED, and the condition is checked again on
    the locked row; SQLite runs one writing statement at a time."""
    candidates = select(model.id).where(condition).order_by(model.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    statement = (update(model).where(model.id.in_(candidates.scalar_subquery()), condition)
                 .values(**values).returning(model.id)
                 .execution_options(synchronize_session=False))
    ids = list(session.scalars(statement))
    session.commit()
    return ids


# -- what jobs deliver and retry (the outbox's messages, webhooks' deliveries) ------------
# Such a row has status (queued, sending, sent, failed), attempts, next_attempt_at,
# last_error and delivery_log.

def log_line(item, text):
    """One line of ``item``'s delivery log, with the time."""
    item.delivery_log += f"{utcnow():%Y-%m-%d %H:%M:%S} {text}\n"


def failed_attempt(item, error, backoff_minutes, for_good=False):
    """Record ``item``'s failed attempt: queued again after the wait of
    ``backoff_minutes`` for this attempt, or failed for good after the last one (or when
    ``for_good``). True when it failed for good."""
    item.last_error = error[:2000]
    if for_good or item.attempts > len(backoff_minutes):
        item.status = "failed"
        log_line(item, f"attempt {item.attempts} failed for good: {item.last_error}")
        return True
    item.status = "queued"
    item.next_attempt_at = utcnow() + timedelta(minutes=backoff_minutes[item.attempts - 1])
    log_line(item, f"attempt {item.attempts} failed, next at {item.next_attempt_at:%H:%M}: "
                   f"{item.last_error}")
    return False


def queue_again(item):
    """Queue ``item`` again now (an administrator's decision, logged)."""
    item.status, item.next_attempt_at, item.attempts = "queued", utcnow(), 0
    log_line(item, "queued again by hand")


class Scheduler:
    """APScheduler, kept in step with the enabled addons.

    The app comes from a Dispatcher, which rebuilds it when the enabled set changes; a
    sync job every few seconds adds the jobs of newly enabled addons and removes those of
    disabled ones (and wakes a blocking scheduler that has nothing else due)."""

    def __init__(self, dispatcher, blocking=False, sync_seconds=10):
        self.dispatcher = dispatcher
        kind = BlockingScheduler if blocking else BackgroundScheduler
        self.scheduler = kind(timezone=timezone.utc, job_defaults={
            "coalesce": True, "max_instances": 1, "misfire_grace_time": 300})
        self.scheduler.add_job(self.sync, IntervalTrigger(seconds=sync_seconds), id=SYNC_JOB)

    def specs(self):
        return job_specs(self.dispatcher.app.extensions["crm"])

    def sync(self):
        specs = self.specs()
        scheduled = {job.id for job in self.scheduler.get_jobs()} - {SYNC_JOB}
        for job_id in scheduled - set(specs):
            self.scheduler.remove_job(job_id)
            log.info("job %s removed (its addon was disabled)", job_id)
        for job_id in set(specs) - scheduled:
            spec = specs[job_id]
            self.scheduler.add_job(self.run, spec.make_trigger(), args=[job_id], id=job_id)
            log.info("job %s scheduled", job_id)

    def run(self, job_id):
        app = self.dispatcher.app
        with app.app_context():
            spec = job_specs(app.extensions["crm"]).get(job_id)
            if spec is None:   # disabled since it was scheduled
                return
            try:
                run_job(spec)
            finally:
                db.session.remove()

    def job_ids(self):
        return sorted(job.id for job in self.scheduler.get_jobs() if job.id != SYNC_JOB)

    def start(self):
        self.sync()
        self.scheduler.start()

    def shutdown(self):
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
