"""Dashboard figures kept, so that a dashboard over millions of records opens at once.

Every view of a dashboard counts its reports for the user. When that took longer than
KEEP_AFTER seconds (an administrator's year over millions of orders, say), the figures
are kept for the user, the filters and the language, and shown from there for the rest
of the day with the time they were counted; a "Count again" on the page forgets them.
Each night a job counts the kept dashboards of the year so far again, for the users who
opened them in the last KEEP_DAYS days, so that the morning's first view is quick too.
A small site never waits that long, so it always sees figures counted at the moment.

Kept figures are shown only to a user with the same rights as when they were counted
(the same groups' access and the same teams): figures never outlive a change of rights.
"""
import hashlib
import json
import logging
import time
from datetime import date, timedelta

from flask_babel import force_locale, get_locale
from sqlalchemy import delete, select, update

from addons.crm_reports import blocks
from addons.crm_reports.models import KeptFigures
from addons.crm_reports.schedules import contents
from core import permissions, reports
from core.db import db
from core.models import User, team_members, utcnow

log = logging.getLogger(__name__)

KEEP_AFTER = 0.2    # seconds
KEEP_DAYS = 30


def rights_mark(user):
    """A fingerprint of what the user may read: their access and scopes, and teams."""
    teams = db.session.scalars(select(team_members.c.team_id)
                               .where(team_members.c.user_id == user.id)).all()
    facts = (user.is_admin, sorted(permissions.rights(user).items()), sorted(teams))
    return hashlib.sha1(repr(facts).encode()).hexdigest()


def _matching(user, source, filters, language):
    return (KeptFigures.user_id == user.id, KeptFigures.source == source,
            KeptFigures.language == language, KeptFigures.start == filters.start,
            KeptFigures.end == filters.end,
            KeptFigures.owner_id.is_(None) if filters.owner_id is None
            else KeptFigures.owner_id == filters.owner_id,
            KeptFigures.team_id.is_(None) if filters.team_id is None
            else KeptFigures.team_id == filters.team_id)


def count(keys, filters):
    """{report key: Result} of the reports the user may read, each cut to the rows a
    page shows."""
    available = reports.available()
    found = {}
    for key in keys:
        result = blocks.run(available.get(key), filters)
        if result is not None:
            found[key] = result.first(blocks.MAX_ROWS)
    return found


def figures(source, keys, filters):
    """({report key: Result}, when they were counted if they are kept, else None) of a
    dashboard for the filters' user: kept ones of today when there are, else counted
    now, and kept when that took long."""
    user, language, today = filters.user, str(get_locale()), date.today()
    mark = rights_mark(user)
    kept = db.session.execute(select(KeptFigures.id, KeptFigures.counted_at,
                                     KeptFigures.viewed_on, KeptFigures.results).where(
        *_matching(user, source, filters, language), KeptFigures.rights == mark,
        KeptFigures.counted_on == today).order_by(KeptFigures.id.desc()).limit(1)).first()
    if kept is not None:
        if kept.viewed_on != today:
            db.session.execute(update(KeptFigures).where(KeptFigures.id == kept.id)
                               .values(viewed_on=today))
            db.session.commit()
        results = {key: reports.Result.from_json(data)
                   for key, data in json.loads(kept.results).items()}
        return results, kept.counted_at
    started = time.perf_counter()
    results = count(keys, filters)
    seconds = time.perf_counter() - started
    if seconds <= KEEP_AFTER:
        return results, None
    counted_at = keep(source, filters, language, mark, results, seconds, today, today)
    db.session.commit()
    return results, counted_at


def keep(source, filters, language, mark, results, seconds, today, viewed_on):
    """Keep a dashboard's figures (in place of those of the same filters); returns when
    they were counted."""
    counted_at = utcnow()
    db.session.execute(delete(KeptFigures).where(
        *_matching(filters.user, source, filters, language)))
    db.session.add(KeptFigures(
        user_id=filters.user.id, source=source, language=language, start=filters.start,
        end=filters.end, owner_id=filters.owner_id, team_id=filters.team_id, rights=mark,
        counted_at=counted_at, counted_on=today, viewed_on=viewed_on, seconds=seconds,
        results=json.dumps({key: result.to_json() for key, result in results.items()})))
    return counted_at


def forget(user, source):
    """Forget the user's kept figures of a dashboard: the next view counts them anew."""
    db.session.execute(delete(KeptFigures).where(KeptFigures.user_id == user.id,
                                                 KeptFigures.source == source))
    db.session.commit()


def count_again(today=None):
    """The nightly job: count again, for today's year so far, each dashboard of the
    year so far kept for a user who opened it in the last KEEP_DAYS days; forget the
    rest of the days before. Returns how many were counted."""
    today = today or date.today()
    start, end = blocks.default_period(today)
    earlier = db.session.execute(select(
        KeptFigures.user_id, KeptFigures.source, KeptFigures.language, KeptFigures.owner_id,
        KeptFigures.team_id, KeptFigures.start, KeptFigures.end, KeptFigures.counted_on,
        KeptFigures.viewed_on).where(
        KeptFigures.counted_on < today,
        KeptFigures.viewed_on >= today - timedelta(days=KEEP_DAYS))
        .order_by(KeptFigures.viewed_on.desc())).all()
    counted, done = 0, set()
    for old in earlier:
        key = (old.user_id, old.source, old.language, old.owner_id, old.team_id)
        year_so_far = (old.start, old.end) == blocks.default_period(old.counted_on)
        user = db.session.get(User, old.user_id)
        found = contents(old.source)
        if not year_so_far or key in done or found is None or not user.is_active:
            continue
        done.add(key)
        filters = reports.Filters(user, start, end, old.owner_id, old.team_id)
        with force_locale(old.language):
            started = time.perf_counter()
            results = count(found[1], filters)
            keep(old.source, filters, old.language, rights_mark(user), results,
                 time.perf_counter() - started, today, old.viewed_on)
        db.session.commit()
        counted += 1
    db.session.execute(delete(KeptFigures).where(KeptFigures.counted_on < today))
    db.session.commit()
    log.info("dashboards counted again: %s", counted)
    return counted
