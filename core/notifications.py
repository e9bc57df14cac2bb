"""Reminders for users: the bell in the top bar and the Today page.

    from core import notifications
    notifications.notify(user_id, "Call back Li Lei", link="/admin/customer/details/?id=7",
                         due_at=when, key="activity:42:follow-up")

A reminder job may run many times a day; the ``key`` makes each reminder once per user.
For reminders by the thousand, ``notify_from_select`` writes them in one statement.
Users who opted in (``notify_by_email``) get each reminder by email too, through the
outbox; ``email=True`` emails one whatever the choice (a request waiting for someone),
``email=False`` never (the outbox's own failure notices).

Several users, each in their own language (the text is stored as written):

    notifications.notify_each(managers, lambda: _("Approval requested: %(quote)s", ...),
                              link=notifications.record_link("Quote", 42), email=True)
"""
from contextlib import contextmanager
from datetime import date, datetime, time

from flask import current_app
from flask_babel import force_locale
from itsdangerous import BadSignature
from sqlalchemy import and_, exists, func, literal, or_, select, true

from core import outbox
from core.db import db, dialect_insert, insert_new
from core.i18n import LANGUAGES
from core.models import (
    Announcement,
    Group,
    Notification,
    User,
    announcement_reads,
    utcnow,
)

COLUMNS = ("user_id", "title", "body", "link", "due_at", "key", "created_at")


def notify(user_id, title, body="", link=None, due_at=None, key=None, email=None):
    """Remind one user; with a key, at most once. Returns True when it is new.
    ``email``: None as the user chose (notify_by_email), True always, False never."""
    row = {"user_id": user_id, "title": title[:255], "body": body, "link": link,
           "due_at": due_at or utcnow(), "key": key, "created_at": utcnow()}
    created = db.session.execute(
        dialect_insert(Notification).values(**row).on_conflict_do_nothing().returning(Notification.id)).first()
    if created and email is not False:
        _email_copy([row], always=email is True)
    return created is not None


def notify_each(users, title, body=None, link=None, key=None, email=None):
    """Remind several users, each in their own language: ``title`` and ``body`` are
    functions that return the text (called with that user's language in force)."""
    notify_many([(users, title, body, link, key)], email=email)


def notify_many(reminders, email=None):
    """``notify_each`` for many reminders at once (a job's thousands): ``reminders`` are
    (users, title, body, link, key), ``title`` and ``body`` functions as for notify_each.
    The texts are made one language at a time (switching language costs more than the
    text) and written in one statement, not one a user.
    Returns how many reminders were written (a (user, key) already there is skipped)."""
    by_language = {}
    for users, title, body, link, key in reminders:
        for user in users:
            by_language.setdefault(language_of(user), []).append((user, title, body, link, key))
    now = utcnow()
    rows = {}   # by (user, key): the same reminder twice in a batch is written once
    for language, wanted in by_language.items():
        with force_locale(language):
            for user, title, body, link, key in wanted:
                rows.setdefault((user.id, key) if key is not None else object(), {
                    "user_id": user.id, "title": title()[:255], "body": body() if body else "",
                    "link": link, "due_at": now, "key": key, "created_at": now})
    if not rows:
        return 0
    written = {tuple(row) for row in insert_new(
        Notification.__table__, list(rows.values()), (Notification.user_id, Notification.key))}
    fresh = [row for row in rows.values()
             if row["key"] is None or (row["user_id"], row["key"]) in written]
    if fresh and email is not False:
        _email_copy(fresh, always=email is True)
    return len(fresh)


def language_of(user):
    """The language ``user`` reads (the site's default when they chose none)."""
    language = getattr(user, "language", None)
    if language not in LANGUAGES:
        language = current_app.extensions["crm"].settings.default_language
    return language


@contextmanager
def in_language(user):
    """Translations in ``user``'s language (the site's default when they chose none)."""
    with force_locale(language_of(user)):
        yield


def record_link(model_name, record_id):
    """The path of a record's page ("/admin/quote/details/?id=42"), found from the
    screens of the running app, so that a job (no request) can link to it too; None when
    no screen shows that model."""
    for admin in current_app.extensions.get("admin", []):
        for view in admin._views:
            model = getattr(view, "model", None)
            if model is not None and model.__name__ == model_name:
                adapter = current_app.url_map.bind("localhost")
                return adapter.build(f"{view.endpoint}.details_view", {"id": record_id})
    return None


def notify_from_select(query):
    """Remind many users in one statement. ``query`` selects, in this order, user_id,
    title, body, link, due_at and key; rows whose (user, key) exists are skipped.
    Returns how many reminders were written."""
    now = utcnow()
    # WHERE true: SQLite cannot otherwise tell the upsert's ON CONFLICT from a join's ON.
    statement = dialect_insert(Notification).from_select(list(COLUMNS), select(
        *query.subquery().c, literal(now).label("created_at")).where(true())
    ).on_conflict_do_nothing().returning(Notification.id)
    # Counted from RETURNING: drivers disagree on rowcount for INSERT ... SELECT.
    written = sum(1 for _row in db.session.execute(statement))
    if written:   # email copies, for those who asked, of the reminders written just now
        fresh = db.session.execute(
            select(*[getattr(Notification, c) for c in COLUMNS]).join(User)
            .where(Notification.created_at == now, User.notify_by_email.is_(True)))
        _email_copy(list(fresh.mappings()))
    return written


def _email_copy(rows, always=False):
    users = {}
    for row in rows:
        user = users.get(row["user_id"]) or db.session.get(User, row["user_id"])
        users[row["user_id"]] = user
        if user and (always or user.notify_by_email) and user.email and user.active:
            link = row.get("link") or ""
            if link.startswith("/"):
                # The configured address, never the request's Host header, which a
                # visitor chooses.
                link = public_url() + link
            outbox.send_email([user.email], row["title"],
                              "\n\n".join(part for part in (row.get("body"), link) if part))


def public_url():
    return current_app.extensions["crm"].settings.get("server", "public_url",
                                                      "http://127.0.0.1:5000").rstrip("/")


TOKEN_LENGTH = 200            # longer than any token the site signs


def signed_link(endpoint, signer, payload, **values):
    """The absolute address of a page of ours whose <token> is ``payload`` signed by
    ``signer`` (an itsdangerous serializer): the links of our e-mails, built without a
    request (a job, the mail gateway). ``values``: the endpoint's other arguments."""
    path = current_app.url_map.bind("localhost").build(
        endpoint, {"token": signer.dumps(payload), **values})
    return public_url() + path


def unsigned(signer, token, **checks):
    """What a link's token carries, or BadSignature (SignatureExpired, one of them, for
    a timed ``signer`` given max_age): altered, or too long to be one of ours."""
    if len(token) > TOKEN_LENGTH:
        raise BadSignature("too long")
    return signer.loads(token, **checks)


def unread_count(user_id):
    return db.session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)))


def today_and_overdue(user_id, limit=200):
    """Unread reminders due by the end of today, oldest first."""
    end_of_today = datetime.combine(utcnow().date(), time.max)
    return db.session.scalars(
        select(Notification).where(Notification.user_id == user_id,
                                   Notification.read_at.is_(None),
                                   Notification.due_at <= end_of_today)
        .order_by(Notification.due_at).limit(limit)).all()


def mark_read(user_id, ids=None):
    """Mark some (or all) of a user's reminders read; other users' are never touched."""
    condition = and_(Notification.user_id == user_id, Notification.read_at.is_(None))
    if ids is not None:
        condition = and_(condition, Notification.id.in_(ids))
    db.session.query(Notification).filter(condition).update(
        {"read_at": utcnow()}, synchronize_session=False)


def announcements_for(user):
    """Notices running today for the user's audience that the user has not read."""
    today = date.today()
    group_ids = [group.id for group in user.groups]
    unread = ~exists().where(announcement_reads.c.announcement_id == Announcement.id,
                             announcement_reads.c.user_id == user.id)
    audience = or_(~Announcement.groups.any(), Announcement.groups.any(Group.id.in_(group_ids)))
    return db.session.scalars(
        select(Announcement).where(Announcement.starts_on <= today,
                                   or_(Announcement.ends_on.is_(None),
                                       Announcement.ends_on >= today),
                                   unread, audience)
        .order_by(Announcement.starts_on.desc(), Announcement.id.desc())).all()
