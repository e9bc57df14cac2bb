"""Login throttling, after OWASP's authentication cheat sheet: wrong passwords are
counted per (username, client address) pair, with a higher cap per address (an office
behind one NAT shares one) and a slow cap per username over all addresses. So one
address guessing at the administrator locks itself out, not the administrator.

Each failure is a row of core_login_failure (LoginFailure): every worker and host sees
the same counts with no Redis, and an administrator can list the locks and clear them.
A lock holds until enough of its failures have left their (moving) window.
"""
import math
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select

from core.db import db
from core.models import LoginFailure, utcnow

USER_WINDOW = timedelta(days=1)


@dataclass(frozen=True)
class Rule:
    keys: tuple        # the columns a count is kept by: username, address or both
    cap: int           # failures allowed within the window
    window: timedelta


@dataclass(frozen=True)
class Lock:
    username: str      # None: every username (a lock of the address)
    address: str       # None: every address (a lock of the username)
    failures: int
    until: object      # datetime, UTC


def normalise(username):
    return username.strip().lower()[:64]


class LoginThrottle:
    def __init__(self, attempts=5, window_minutes=15, per_address=50, per_user=100):
        window = timedelta(minutes=window_minutes)
        self.rules = (Rule(("username", "address"), attempts, window),
                      Rule(("address",), per_address, window),
                      Rule(("username",), per_user, USER_WINDOW))

    @classmethod
    def from_settings(cls, settings):
        def number(key, default):
            return max(1, int(settings.get("security", key, str(default))))
        return cls(number("login_attempts", 5), number("login_window_minutes", 15),
                   number("login_attempts_per_address", 50),
                   number("login_attempts_per_user", 100))

    def wait_seconds(self, username, address):
        """0 when a password may be tried; else the seconds until it may."""
        values = {"username": normalise(username), "address": address}
        now = utcnow()
        waits = [(until - now).total_seconds() for until in
                 (self._locked_until(rule, values, now) for rule in self.rules) if until]
        return max(0, math.ceil(max(waits, default=0)))

    def _locked_until(self, rule, values, now):
        # The cap-th newest failure in the window: the lock lifts when it leaves.
        at = db.session.scalar(
            select(LoginFailure.at)
            .where(LoginFailure.at > now - rule.window,
                   *(getattr(LoginFailure, key) == values[key] for key in rule.keys))
            .order_by(LoginFailure.at.desc()).offset(rule.cap - 1).limit(1))
        return at + rule.window if at else None

    def failed(self, username, address):
        """Counts a wrong password, and forgets failures too old for any window."""
        now = utcnow()
        oldest = now - max(rule.window for rule in self.rules)
        db.session.execute(delete(LoginFailure).where(LoginFailure.at < oldest))
        db.session.add(LoginFailure(username=normalise(username), address=address, at=now))
        db.session.commit()

    def succeeded(self, username, address):
        """The right password clears the pair's count (not the address's others)."""
        self.clear(normalise(username), address)

    def clear(self, username=None, address=None):
        """Forgets the failures of a username, an address, or the pair."""
        conditions = [column == value for column, value in
                      ((LoginFailure.username, username), (LoginFailure.address, address))
                      if value is not None]
        if conditions:
            db.session.execute(delete(LoginFailure).where(*conditions))
            db.session.commit()

    def locks(self):
        """Every lock in force now, the longest first."""
        now = utcnow()
        found = [lock for rule in self.rules for lock in self._locks_of(rule, now)]
        return sorted(found, key=lambda lock: lock.until, reverse=True)

    def _locks_of(self, rule, now):
        columns = [getattr(LoginFailure, key) for key in rule.keys]
        ranked = (select(*columns, LoginFailure.at,
                         func.row_number().over(partition_by=columns,
                                                order_by=LoginFailure.at.desc()).label("n"),
                         func.count().over(partition_by=columns).label("failures"))
                  .where(LoginFailure.at > now - rule.window).subquery())
        rows = db.session.execute(select(ranked).where(ranked.c.n == rule.cap)).mappings()
        return [Lock(username=row.get("username"), address=row.get("address"),
                     failures=row["failures"], until=row["at"] + rule.window) for row in rows]
