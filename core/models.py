"""The core's own tables: addon state, counters, users and groups."""
import secrets
from datetime import datetime, timezone

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import UniqueConstraint, update
from sqlalchemy.orm import declared_attr
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
    __audit__ = True
    id = db.Column(db.Integer, primary_key=True)
    code = db.Column(db.String(64), nullable=False, unique=True, info={"label": _l("Code")})
    name = db.Column(db.String(128), nullable=False, info={"label": _l("Name")})


class User(UserMixin, db.Model):
    __tablename__ = "core_user"
    __audit__ = True
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

    def __str__(self):
        return self.full_name or self.username


team_members = db.Table(
    "core_team_member",
    db.Column("team_id", db.ForeignKey("core_team.id", ondelete="CASCADE"), primary_key=True),
    db.Column("user_id", db.ForeignKey("core_user.id", ondelete="CASCADE"), primary_key=True,
              index=True),
)


class Team(db.Model):
    """Sales teams and the like: record rules with scope "team" follow them."""

    __tablename__ = "core_team"
    __audit__ = True
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(128), nullable=False, unique=True, info={"label": _l("Name")})
    leader_id = db.Column(db.ForeignKey("core_user.id"), index=True)
    leader = db.relationship(User, foreign_keys=[leader_id], info={"label": _l("Leader")})
    members = db.relationship(User, secondary=team_members, backref="teams",
                              info={"label": _l("Members")})


class Access(db.Model):
    """What a group may do with a model (letters r w c d x) and which of its records
    (scope own, team or all). Seeded from the manifests, then edited by administrators."""

    __tablename__ = "core_access"
    __audit__ = True
    __table_args__ = (UniqueConstraint("group_id", "model"),)
    id = db.Column(db.Integer, primary_key=True)
    group_id = db.Column(db.ForeignKey("core_group.id", ondelete="CASCADE"), nullable=False,
                         index=True)
    model = db.Column(db.String(64), nullable=False)
    letters = db.Column(db.String(8), nullable=False, default="")
    scope = db.Column(db.String(8), nullable=False, default="all")
    group = db.relationship(Group, backref=db.backref("access", cascade="all, delete-orphan"))


class AuditEntry(db.Model):
    """One create, update or delete of an audited record; written in the same
    transaction as the change. No screen may change or delete these rows."""

    __tablename__ = "core_audit"
    __table_args__ = (db.Index("ix_core_audit_model_record", "model", "record_id"),)
    id = db.Column(db.BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True)
    at = db.Column(db.DateTime, nullable=False, default=utcnow, index=True,
                   info={"label": _l("When")})
    user_id = db.Column(db.ForeignKey("core_user.id"), index=True)
    user = db.relationship(User, info={"label": _l("User")})
    model = db.Column(db.String(64), nullable=False, info={"label": _l("Model")})
    record_id = db.Column(db.Integer, nullable=False, info={"label": _l("Record")})
    action = db.Column(db.String(8), nullable=False, info={"label": _l("Action")})
    changes = db.Column(db.Text, nullable=False, default="{}", info={"label": _l("Changes")})


class OwnedMixin:
    """Owner, created by/at and updated by/at, set by the core on every save.

    Record rules (own / team / all) work on the owner; every change is audited."""

    __audit__ = True

    @declared_attr
    def owner_id(cls):
        return db.Column(db.ForeignKey("core_user.id"), index=True, info={"label": _l("Owner")})

    @declared_attr
    def owner(cls):
        return db.relationship(User, foreign_keys=[cls.owner_id], info={"label": _l("Owner")})

    @declared_attr
    def created_by_id(cls):
        return db.Column(db.ForeignKey("core_user.id"), index=True)

    @declared_attr
    def updated_by_id(cls):
        return db.Column(db.ForeignKey("core_user.id"), index=True)

    @declared_attr
    def created_at(cls):
        return db.Column(db.DateTime, nullable=False, default=utcnow,
                         info={"label": _l("Created at")})

    @declared_attr
    def updated_at(cls):
        return db.Column(db.DateTime, nullable=False, default=utcnow, onupdate=utcnow,
                         info={"label": _l("Updated at")})
