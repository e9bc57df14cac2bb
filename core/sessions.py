"""Server-side sessions: a row of core_session per signed-in browser.

The cookie (Flask's signed session) carries only a random key, through Flask-Login's
``get_id``; the row says whose it is and whether it still holds. Signing out ends the
row, so a copied cookie is worth nothing afterwards; a session also ends after
``[security] session_idle_minutes`` without a request and ``session_lifetime_hours``
after sign-in. A new password or a deactivated account ends all the user's sessions,
however the change was made (a screen, the command line, an import).
"""
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, g, request
from sqlalchemy import delete, event, select, update
from sqlalchemy.orm import Session

from core.db import db
from core.models import INTEGRATION_GROUP, User, UserSession, utcnow

# last_seen_at is written at most this often: not a write per request.
TOUCH_EVERY = timedelta(minutes=1)
MAX_KEY_LENGTH = 100   # a longer "key" in a cookie is not one of ours
# Sessions are kept this long after they start (to look back on who signed in from
# where), then deleted.
HISTORY = timedelta(days=30)


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta
    lifetime: timedelta

    @classmethod
    def from_settings(cls, settings):
        def number(key, default):
            return max(1, int(settings.get("security", key, str(default))))
        return cls(idle=timedelta(minutes=number("session_idle_minutes", 120)),
                   lifetime=timedelta(hours=number("session_lifetime_hours", 12)))


def _policy():
    return current_app.extensions["crm"].sessions


def _digest(key):
    return hashlib.sha256(key.encode()).hexdigest()


def _alive(now):
    """The conditions of a session that still holds."""
    policy = _policy()
    return (UserSession.ended_at.is_(None), UserSession.last_seen_at > now - policy.idle,
            UserSession.created_at > now - policy.lifetime)


def start(user):
    """A new session for ``user``; sets the key Flask-Login puts in the cookie."""
    oldest = utcnow() - max(HISTORY, _policy().lifetime)
    db.session.execute(delete(UserSession).where(UserSession.created_at < oldest))
    key = secrets.token_urlsafe(32)
    db.session.add(UserSession(id=_digest(key), user_id=user.id,
                               remote_addr=(request.remote_addr or "")[:64],
                               user_agent=request.user_agent.string[:200]))
    db.session.commit()
    user.session_key = key


def load(key):
    """The user of a live session, in one query (the user joined to the session)."""
    if not isinstance(key, str) or len(key) > MAX_KEY_LENGTH:
        return None
    now = utcnow()
    with db.session.no_autoflush:   # loading the user must never flush half-made changes
        row = db.session.execute(
            select(User, UserSession.last_seen_at)
            .join(UserSession, UserSession.user_id == User.id)
            .where(UserSession.id == _digest(key), User.active.is_(True), *_alive(now))).first()
    if row is None or row[0].is_integration:   # (never the screens: see INTEGRATION_GROUP)
        return None
    user, g.crm_session_seen = row
    user.session_key = key
    g.crm_session_id = _digest(key)
    return user


def current_id():
    """The stored id of this request's session (compare with UserSession.id), if any."""
    return g.get("crm_session_id")


def touch():
    """Records that the current session is in use, at most once a minute. Called before
    the view runs, so the commit carries nothing but this."""
    now = utcnow()
    if current_id() is None or now - g.crm_session_seen < TOUCH_EVERY:
        return
    db.session.execute(update(UserSession).where(UserSession.id == current_id())
                       .values(last_seen_at=now))
    db.session.commit()
    g.crm_session_seen = now


def end_current():
    session_id = g.pop("crm_session_id", None)
    if session_id is not None:
        db.session.execute(update(UserSession).where(UserSession.id == session_id,
                                                     UserSession.ended_at.is_(None))
                           .values(ended_at=utcnow()))
        db.session.commit()


def end_all(user_id):
    """Ends every session of the user (all browsers, this one included); the caller
    commits."""
    db.session.execute(_end_statement([user_id]))


def _end_statement(user_ids):
    return (update(UserSession.__table__)
            .where(UserSession.user_id.in_(user_ids), UserSession.ended_at.is_(None))
            .values(ended_at=utcnow()))


def active(user_id):
    """The user's sessions that still hold, the most recently used first."""
    return db.session.scalars(select(UserSession)
                              .where(UserSession.user_id == user_id, *_alive(utcnow()))
                              .order_by(UserSession.last_seen_at.desc())).all()


@event.listens_for(Session, "before_flush")
def _end_sessions_on_credential_change(session, _context, _instances):
    """A changed password or a deactivated account ends the user's sessions in the same
    transaction as the change."""
    user_ids = [user.id for user in session.dirty
                if isinstance(user, User) and user.id is not None and _locks_out(user)]
    if user_ids:
        session.execute(_end_statement(user_ids))


def _locks_out(user):
    # "added" only: a value set on an expired object has no "deleted" side.
    attrs = db.inspect(user).attrs
    return bool(attrs.password_hash.history.added) or False in attrs.active.history.added \
        or any(group.code == INTEGRATION_GROUP for group in attrs.groups.history.added)
