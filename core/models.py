"""The core's own tables: addon state, counters, users and groups."""
import secrets
from datetime import datetime, timezone

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import update
from werkzeug.security import check_password_hash, generate_password_hash

from core.db import db

ADMIN_GROUP = "admin"


def utcnow():
    return datetime.now(timezone.utc).replace(tzinfo=None)


class AddonState(db.Model):
    """Which addons are enabled, shared by every process that uses the database."""

    __tablename__ = "core_addon"
    name = db.Column(db.String(64), primary_key=True)
    enabled = db.Column(db.Boolean, nullable=False, default=False)
    installed_version = db.Column(db.String(32))
    changed_at = db.Column(db.DateTime, nullable=False, default=utcnow, onupdate=utcnow)


class Sequence(db.Model):
    """Named counters, safe under concurrent use (one UPDATE ... RETURNING each)."""

    __tablename__ = "core_sequence"
    name = db.Column(db.String(64), primary_key=True)
    value = db.Column(db.BigInteger, nullable=False, default=0)

    @classmethod
    def next_value(cls, session, name):
        stmt = update(cls).where(cls.name == name).values(value=cls.value + 1).returning(cls.value)
        value = session.execute(stmt).scalar()
        if value is None:
            session.add(cls(name=name, value=1))
            session.flush()
            value = 1
        return value

    @classmethod
    def current(cls, session, name):
        row = session.get(cls, name)
        return row.value if row else 0


user_groups = db.Table(
    "core_user_group",
    db.Column("user_id", db.ForeignKey("core_user.id", ondelete="CASCADE"), primary_key=True),
    db.Column("group_id", db.ForeignKey("core_group.id", ondelete="CASCADE"), primary_key=True,
              index=True),
)


class Group(db.Model):
    __tablename__ = "core_group"
    id = db.Column(db.Integer, primary_key=True)
    code = db.Column(db.String(64), nullable=False, unique=True, info={"label": _l("Code")})
    name = db.Column(db.String(128), nullable=False, info={"label": _l("Name")})


class User(UserMixin, db.Model):
    __tablename__ = "core_user"
    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.String(64), nullable=False, unique=True, info={"label": _l("Username")})
    full_name = db.Column(db.String(128), nullable=False, default="", info={"label": _l("Full name")})
    email = db.Column(db.String(254), nullable=False, default="", info={"label": _l("Email")})
    password_hash = db.Column(db.String(256), nullable=False)
    language = db.Column(db.String(16), nullable=False, default="", info={"label": _l("Language")})
    active = db.Column(db.Boolean, nullable=False, default=True, info={"label": _l("Active")})
    must_change_password = db.Column(db.Boolean, nullable=False, default=False)
    # Flask-Login keeps this in the session instead of the id, so that a new password
    # (which rotates it) ends every other session of the user.
    session_token = db.Column(db.String(64), nullable=False, unique=True,
                              default=lambda: secrets.token_urlsafe(32))
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    groups = db.relationship(Group, secondary=user_groups, lazy="selectin", backref="users")

    def get_id(self):
        return self.session_token

    @property
    def is_active(self):
        return self.active

    @property
    def is_admin(self):
        return any(group.code == ADMIN_GROUP for group in self.groups)

    def set_password(self, password):
        # scrypt, werkzeug's default: salted and memory-hard.
        self.password_hash = generate_password_hash(password)
        self.session_token = secrets.token_urlsafe(32)

    def check_password(self, password):
        return check_password_hash(self.password_hash, password)
