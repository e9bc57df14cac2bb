"""The core's own tables: addon state, counters, users and groups."""
import secrets
from datetime import datetime, timezone
from functools import cache

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import UniqueConstraint, select
from sqlalchemy.orm import declared_attr
from werkzeug.security import check_password_hash, generate_password_hash

from core.db import db, dialect_insert, link_table
from core.i18n import mark

ADMIN_GROUP = "admin"
ADMIN_GROUP_NAME = mark("Administrator")   # stored as it is, shown translated
# Its members are programs (a shop, a telephone system): they act only through API tokens
# an administrator makes for them (core.api), and never sign in to the screens. What they
# may do comes from their other groups.
INTEGRATION_GROUP = "integration"
INTEGRATION_GROUP_NAME = mark("Integration (API only)")


def utcnow():
    return datetime.now(timezone.utc).replace(tzinfo=None)


class AddonState(db.Model):
    """Which addons are enabled, shared by every process that uses the database."""

    __tablename__ = "core_addon"
    __label__ = mark("Addon")
    name = db.Column(db.String(64), primary_key=True)
    enabled = db.Column(db.Boolean, nullable=False, default=False)
    installed_version = db.Column(db.String(32))
    changed_at = db.Column(db.DateTime, nullable=False, default=utcnow, onupdate=utcnow)


class Sequence(db.Model):
    """Named counters, safe under concurrent use (one UPDATE ... RETURNING each)."""

    __tablename__ = "core_sequence"
    __label__ = mark("Counter")
    name = db.Column(db.String(64), primary_key=True)
    value = db.Column(db.BigInteger, nullable=False, default=0)

    @classmethod
    def next_value(cls, session, name, count=1):
        """The next value of the counter; with ``count``, that many values are reserved
        and the last is returned. One statement (an upsert), so it may run inside a
        flush, and two transactions never get the same value."""
        statement = (dialect_insert(cls, session).values(name=name, value=count)
                     .on_conflict_do_update(index_elements=[cls.name],
                                            set_={"value": cls.value + count})
                     .returning(cls.value))
        return session.execute(statement).scalar_one()

    @classmethod
    def current(cls, session, name):
        row = session.get(cls, name)
        return row.value if row else 0


user_groups = link_table("core_user_group", ("user_id", "core_user.id"),
                          ("group_id", "core_group.id"))


class Group(db.Model):
    __tablename__ = "core_group"
    __label__ = mark("Group")
    __audit__ = True
    id = db.Column(db.Integer, primary_key=True)
    code = db.Column(db.String(64), nullable=False, unique=True, info={"label": _l("Code")})
    name = db.Column(db.String(128), nullable=False, info={"label": _l("Name")})


class User(UserMixin, db.Model):
    __tablename__ = "core_user"
    __label__ = mark("User")
    __audit__ = True
    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.String(64), nullable=False, unique=True, info={"label": _l("Username")})
    full_name = db.Column(db.String(128), nullable=False, default="", info={"label": _l("Full name")})
    email = db.Column(db.String(254), nullable=False, default="", info={"label": _l("Email")})
    password_hash = db.Column(db.String(256), nullable=False)
    language = db.Column(db.String(16), nullable=False, default="", info={"label": _l("Language")})
    active = db.Column(db.Boolean, nullable=False, default=True, info={"label": _l("Active")})
    must_change_password = db.Column(db.Boolean, nullable=False, default=False)
    notify_by_email = db.Column(db.Boolean, nullable=False, default=False,
                                info={"label": _l("Reminders by email too")})
    # No longer read: sessions are rows of core_session (UserSession). The column stays
    # because databases made before have it NOT NULL; the first core migration drops it.
    session_token = db.Column(db.String(64), nullable=False, unique=True,
                              default=lambda: secrets.token_urlsafe(32))
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    groups = db.relationship(Group, secondary=user_groups, lazy="selectin", backref="users")
    # The key of the server-side session this object was loaded through (core.sessions);
    # Flask-Login keeps it in the cookie. Not a column.
    session_key = None

    def get_id(self):
        return self.session_key

    @property
    def is_active(self):
        return self.active

    @property
    def is_admin(self):
        return any(group.code == ADMIN_GROUP for group in self.groups)

    @property
    def is_integration(self):
        """A program's user (INTEGRATION_GROUP): the API only, never the screens."""
        return any(group.code == INTEGRATION_GROUP for group in self.groups)

    def set_password(self, password):
        # scrypt, werkzeug's default: salted and memory-hard.
        # A new hash ends the user's sessions (core.sessions, on flush).
        self.password_hash = generate_password_hash(password)

    def check_password(self, password):
        return check_password_hash(self.password_hash, password)

    @staticmethod
    def check_no_password(password):
        """The work of a real check, for a username that is unknown or inactive: the
        answer must take as long as for a real user, or its time tells which exist."""
        check_password_hash(_dummy_hash(), password)

    def __str__(self):
        return self.full_name or self.username


@cache
def _dummy_hash():
    """A hash of a random password with today's algorithm and cost, made once."""
    return generate_password_hash(secrets.token_urlsafe(16))


class UserSession(db.Model):
    """One signed-in browser. The cookie carries a random key; only its SHA-256 is
    stored, so a copy of the database opens no session. Signing out ends the row."""

    __tablename__ = "core_session"
    __label__ = mark("Session")
    id = db.Column(db.String(64), primary_key=True)   # hex SHA-256 of the cookie's key
    user_id = db.Column(db.ForeignKey("core_user.id", ondelete="CASCADE"), nullable=False,
                        index=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow, index=True)
    last_seen_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    ended_at = db.Column(db.DateTime)
    remote_addr = db.Column(db.String(64), nullable=False, default="")
    user_agent = db.Column(db.String(200), nullable=False, default="")


class ApiToken(db.Model):
    """A key to the REST API (core.api) that a user made on their account page. It acts
    as that user, narrowed to reading when it may not write, and to the screens it names
    (their endpoints, comma-separated; empty: every screen). The key is shown once; only
    its SHA-256 is kept, found by the key's first characters (``prefix``)."""

    __tablename__ = "core_api_token"
    __label__ = mark("API token")
    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.ForeignKey("core_user.id", ondelete="CASCADE"), nullable=False,
                        index=True)
    user = db.relationship(User)
    name = db.Column(db.String(100), nullable=False)
    prefix = db.Column(db.String(16), nullable=False, unique=True)
    digest = db.Column(db.String(64), nullable=False)
    writes = db.Column(db.Boolean, nullable=False, default=False)
    models = db.Column(db.String(2000), nullable=False, default="")
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    expires_at = db.Column(db.DateTime)
    revoked_at = db.Column(db.DateTime)
    last_used_at = db.Column(db.DateTime)


class ApiIdempotency(db.Model):
    """The answer to a POST through the API that carried an Idempotency-Key (core.api),
    kept a day, so that a retry of it gets the same answer and creates nothing more. The
    row is written in the same transaction as the records: of two identical requests at
    once, the second waits on the unique key, then answers from this row."""

    __tablename__ = "core_api_idempotency"
    __table_args__ = (UniqueConstraint("token_id", "key"),)
    id = db.Column(db.Integer, primary_key=True)
    token_id = db.Column(db.ForeignKey("core_api_token.id", ondelete="CASCADE"),
                         nullable=False)   # (the unique key's first column serves it)
    key = db.Column(db.String(200), nullable=False)
    request_digest = db.Column(db.String(64), nullable=False)
    status = db.Column(db.Integer, nullable=False, default=0)
    body = db.Column(db.Text, nullable=False, default="")
    location = db.Column(db.String(500))
    etag = db.Column(db.String(100))
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow, index=True)


class Webhook(db.Model):
    """A URL told of changes to one kind of record (core.webhooks): administrators
    subscribe it to some events of one API model. Each delivery is signed with the
    webhook's own secret. ``failures``: failed attempts in a row; past a limit the
    webhook pauses (``active`` off, ``paused_reason`` says why) until resumed."""

    __tablename__ = "core_webhook"
    __label__ = mark("Webhook")
    __audit__ = True
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(100), nullable=False, info={"label": _l("Name")})
    url = db.Column(db.String(2000), nullable=False, info={"label": _l("Address (URL)")})
    model = db.Column(db.String(64), nullable=False, index=True,
                      info={"label": _l("Records")})   # an API model's name (a screen's)
    on_created = db.Column(db.Boolean, nullable=False, default=True,
                           info={"label": _l("When one is created")})
    on_updated = db.Column(db.Boolean, nullable=False, default=True,
                           info={"label": _l("When one is changed")})
    on_deleted = db.Column(db.Boolean, nullable=False, default=True,
                           info={"label": _l("When one is deleted")})
    on_state_changed = db.Column(db.Boolean, nullable=False, default=False,
                                 info={"label": _l("When one moves to another state")})
    allow_private = db.Column(db.Boolean, nullable=False, default=False,
                              info={"label": _l("Allow an address inside our own network")})
    active = db.Column(db.Boolean, nullable=False, default=True, index=True,
                       info={"label": _l("Active")})
    paused_reason = db.Column(db.String(500), nullable=False, default="",
                              info={"label": _l("Paused because"), "readonly": True})
    failures = db.Column(db.Integer, nullable=False, default=0,
                         info={"label": _l("Failed attempts in a row"), "readonly": True})
    # The HMAC-SHA256 key of its signatures. Kept as it is (signing needs it), never
    # exported or audited (the _token suffix); shown on the webhook's page.
    signing_token = db.Column(db.String(100), nullable=False,
                              default=lambda: "whsec_" + secrets.token_urlsafe(32))
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow,
                           info={"label": _l("Created at")})

    def __str__(self):
        return self.name

    @property
    def signing_secret(self):
        return self.signing_token


class WebhookDelivery(db.Model):
    """One event sent (or to send) to a webhook: stored in the transaction of the change
    it tells of, then sent by the job core.webhooks, retried with growing waits."""

    __tablename__ = "core_webhook_delivery"
    __label__ = mark("Webhook delivery")
    __table_args__ = (db.Index("ix_core_webhook_delivery_due", "status", "next_attempt_at"),)
    id = db.Column(db.Integer, primary_key=True)
    webhook_id = db.Column(db.ForeignKey("core_webhook.id", ondelete="CASCADE"),
                           nullable=False, index=True)
    webhook = db.relationship(Webhook, info={"label": _l("Webhook")})
    event = db.Column(db.String(16), nullable=False, info={"label": _l("Event")})
    model = db.Column(db.String(64), nullable=False, info={"label": _l("Records")})
    record_id = db.Column(db.Integer, info={"label": _l("Record")})
    body = db.Column(db.Text, nullable=False, info={"label": _l("Content sent")})
    status = db.Column(db.String(8), nullable=False, default="queued",
                       info={"label": _l("Status")})
    attempts = db.Column(db.Integer, nullable=False, default=0, info={"label": _l("Attempts")})
    next_attempt_at = db.Column(db.DateTime, nullable=False, default=utcnow,
                                info={"label": _l("Next attempt")})
    claimed_at = db.Column(db.DateTime, info={"label": _l("Claimed at")})
    response_code = db.Column(db.Integer, info={"label": _l("Response code")})
    response_body = db.Column(db.Text, nullable=False, default="",
                              info={"label": _l("Response")})
    last_error = db.Column(db.Text, nullable=False, default="", info={"label": _l("Last error")})
    delivery_log = db.Column(db.Text, nullable=False, default="",
                             info={"label": _l("Delivery log")})
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow, index=True,
                           info={"label": _l("Created at")})
    sent_at = db.Column(db.DateTime, info={"label": _l("Sent at")})

    def __str__(self):
        return f"{self.webhook} #{self.id}"


class LoginFailure(db.Model):
    """One wrong password, at sign-in or at the current-password check (core.throttle).
    Rows, not counters in memory, so every worker and host sees the same counts and an
    administrator can list and clear the locks."""

    __tablename__ = "core_login_failure"
    __label__ = mark("Failed sign-in")
    __table_args__ = (db.Index("ix_core_login_failure_pair", "username", "address", "at"),
                      db.Index("ix_core_login_failure_address", "address", "at"))
    id = db.Column(db.BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True)
    username = db.Column(db.String(64), nullable=False)   # lower-cased
    address = db.Column(db.String(64), nullable=False)
    at = db.Column(db.DateTime, nullable=False, default=utcnow, index=True)


team_members = link_table("core_team_member", ("team_id", "core_team.id"),
                           ("user_id", "core_user.id"))


class Team(db.Model):
    """Sales teams and the like: record rules with scope "team" follow them."""

    __tablename__ = "core_team"
    __label__ = mark("Team")
    __audit__ = True
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(128), nullable=False, unique=True, info={"label": _l("Name")})
    leader_id = db.Column(db.ForeignKey("core_user.id"), index=True)
    leader = db.relationship(User, foreign_keys=[leader_id], info={"label": _l("Leader")})
    members = db.relationship(User, secondary=team_members, backref="teams",
                              info={"label": _l("Members")})


def team_memberships():
    """(team_id, user_id) of every member and every leader of a team, as a subquery:
    what "a team's people" means wherever figures are narrowed to a team."""
    return select(team_members.c.team_id, team_members.c.user_id).union(
        select(Team.id, Team.leader_id).where(Team.leader_id.is_not(None))).subquery()


class Access(db.Model):
    """What a group may do with a model (letters r w c d x) and which of its records
    (scope own, team or all). Seeded from the manifests, then edited by administrators."""

    __tablename__ = "core_access"
    __label__ = mark("Access right")
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
    __label__ = mark("Audit entry")
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
    # The name of the API token the change came through (core.api), as it was then.
    api_token = db.Column(db.String(100), info={"label": _l("API token")})


class RecordNote(db.Model):
    """A note a user posts on a record's feed (any model: the record is named by its
    model and id, as in the audit trail)."""

    __tablename__ = "core_note"
    __label__ = mark("Note")
    __table_args__ = (db.Index("ix_core_note_model_record", "model", "record_id", "id"),)
    id = db.Column(db.Integer, primary_key=True)
    at = db.Column(db.DateTime, nullable=False, default=utcnow)
    user_id = db.Column(db.ForeignKey("core_user.id"), index=True)
    user = db.relationship(User)
    model = db.Column(db.String(64), nullable=False)
    record_id = db.Column(db.Integer, nullable=False, info={"label": _l("Record")})
    body = db.Column(db.Text, nullable=False)


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
        return db.Column(db.DateTime, nullable=False, default=utcnow, index=True,
                         info={"label": _l("Created at")})

    @declared_attr
    def updated_at(cls):
        return db.Column(db.DateTime, nullable=False, default=utcnow, onupdate=utcnow,
                         info={"label": _l("Updated at")})


class JobState(db.Model):
    """The last run of each scheduled job, whichever process ran it."""

    __tablename__ = "core_job"
    __label__ = mark("Scheduled job")
    id = db.Column(db.String(128), primary_key=True)
    last_run_at = db.Column(db.DateTime)
    last_status = db.Column(db.String(8))         # ok / error
    last_message = db.Column(db.Text, nullable=False, default="")
    last_duration_ms = db.Column(db.Integer)


CHANNELS = (mark("email"), mark("sms"))   # a message's channel, shown translated


class Message(db.Model):
    """One email or SMS in the outbox: stored first, then delivered by a job."""

    __tablename__ = "core_message"
    __label__ = mark("Message")
    __table_args__ = (db.Index("ix_core_message_due", "status", "next_attempt_at"),
                      db.Index("ix_core_message_related", "related_model", "related_id"))
    id = db.Column(db.Integer, primary_key=True)
    channel = db.Column(db.String(8), nullable=False, info={"label": _l("Channel")})
    recipients = db.Column(db.Text, nullable=False, info={"label": _l("Recipients")})
    subject = db.Column(db.String(255), nullable=False, default="",
                        info={"label": _l("Subject")})
    body_text = db.Column(db.Text, nullable=False, default="", info={"label": _l("Text")})
    body_html = db.Column(db.Text, info={"label": _l("HTML")})
    related_model = db.Column(db.String(64), info={"label": _l("Related to")})
    related_id = db.Column(db.Integer, info={"label": _l("Related record")})
    status = db.Column(db.String(8), nullable=False, default="queued",
                       info={"label": _l("Status")})
    attempts = db.Column(db.Integer, nullable=False, default=0, info={"label": _l("Attempts")})
    next_attempt_at = db.Column(db.DateTime, nullable=False, default=utcnow,
                                info={"label": _l("Next attempt")})
    claimed_at = db.Column(db.DateTime, info={"label": _l("Claimed at")})
    last_error = db.Column(db.Text, nullable=False, default="", info={"label": _l("Last error")})
    # One line per event (attempt, failure, interruption, resend): the trace of delivery.
    delivery_log = db.Column(db.Text, nullable=False, default="",
                             info={"label": _l("Delivery log")})
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow, index=True,
                           info={"label": _l("Created at")})
    sent_at = db.Column(db.DateTime, info={"label": _l("Sent at")})
    created_by_id = db.Column(db.ForeignKey("core_user.id"), index=True)
    # Extra headers as JSON ({"In-Reply-To": "<id>", "References": "<a> <b>"}): a reply
    # threads under the customer's message in their mail program.
    headers = db.Column(db.Text, info={"label": _l("Mail headers")})
    attachments = db.relationship("MessageAttachment", cascade="all, delete-orphan",
                                  order_by="MessageAttachment.id")

    def __str__(self):
        from core.i18n import label
        return f"{label(self.channel)} #{self.id}: {self.subject or self.body_text[:40]}"


class MessageAttachment(db.Model):
    __tablename__ = "core_message_attachment"
    __label__ = mark("Attachment")
    id = db.Column(db.Integer, primary_key=True)
    message_id = db.Column(db.ForeignKey("core_message.id", ondelete="CASCADE"),
                           nullable=False, index=True, info={"label": _l("Message")})
    filename = db.Column(db.String(255), nullable=False)
    content_type = db.Column(db.String(128), nullable=False)
    data = db.Column(db.LargeBinary, nullable=False)


# What the incoming mail gateway did with a message (core.mailgate), shown translated.
MAIL_OUTCOMES = (mark("taken"), mark("automatic"), mark("unhandled"), mark("bounce"),
                 mark("loop"))


class MailReceived(db.Model):
    """One message the incoming mail gateway took in, and what became of it: the log of
    incoming mail, and the guard that a message fetched or piped twice is handled once."""

    __tablename__ = "core_mail_received"
    __label__ = mark("Received mail")
    id = db.Column(db.Integer, primary_key=True)
    message_id = db.Column(db.String(255), nullable=False, unique=True,
                           info={"label": _l("Message-ID")})
    from_address = db.Column(db.String(255), nullable=False, default="", index=True,
                             info={"label": _l("Sender")})
    subject = db.Column(db.String(255), nullable=False, default="",
                        info={"label": _l("Subject")})
    received_at = db.Column(db.DateTime, nullable=False, default=utcnow, index=True,
                            info={"label": _l("Received at")})
    source = db.Column(db.String(8), nullable=False, default="pipe", index=True,
                       info={"label": _l("Received by")})
    outcome = db.Column(db.String(16), nullable=False, index=True,
                        info={"label": _l("Outcome")})
    automatic = db.Column(db.String(64), info={"label": _l("Automatic reply")})
    model = db.Column(db.String(64), info={"label": _l("Filed on")})
    record_id = db.Column(db.Integer, info={"label": _l("Record")})
    size = db.Column(db.Integer, nullable=False, default=0, info={"label": _l("Size")})
    __table_args__ = (db.Index("ix_core_mail_received_record", "model", "record_id"),)


class Notification(db.Model):
    """A reminder for one user, shown under the bell and on the Today page."""

    __tablename__ = "core_notification"
    __label__ = mark("Reminder")
    __table_args__ = (UniqueConstraint("user_id", "key"),
                      db.Index("ix_core_notification_unread", "user_id", "read_at", "due_at"))
    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.ForeignKey("core_user.id", ondelete="CASCADE"), nullable=False)
    title = db.Column(db.String(255), nullable=False)
    body = db.Column(db.Text, nullable=False, default="")
    link = db.Column(db.String(512))
    due_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    read_at = db.Column(db.DateTime)
    # Set by reminder jobs, so that running a job again does not remind twice.
    key = db.Column(db.String(128))
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)


announcement_groups = link_table(
    "core_announcement_group",
    ("announcement_id", "core_announcement.id"),
    ("group_id", "core_group.id"))

announcement_reads = link_table(
    "core_announcement_read",
    ("announcement_id", "core_announcement.id"),
    ("user_id", "core_user.id"))


class Announcement(db.Model):
    """A notice to staff, shown on the dashboard from one date to another, to everyone
    or to some groups, until each reader marks it read."""

    __tablename__ = "core_announcement"
    __label__ = mark("Announcement")
    __audit__ = True
    id = db.Column(db.Integer, primary_key=True)
    title = db.Column(db.String(200), nullable=False, info={"label": _l("Title")})
    body = db.Column(db.Text, nullable=False, default="", info={"label": _l("Text")})
    starts_on = db.Column(db.Date, nullable=False, index=True, info={"label": _l("Shown from")})
    ends_on = db.Column(db.Date, index=True, info={"label": _l("Shown until")})
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    groups = db.relationship(Group, secondary=announcement_groups,
                             info={"label": _l("Audience (empty: everyone)")})


class Option(db.Model):
    """The value an administrator gave one of an addon's settings (manifest key
    ``settings``); a setting with no row has its declared default."""

    __tablename__ = "core_option"
    __label__ = mark("Setting")
    __audit__ = True
    id = db.Column(db.Integer, primary_key=True)
    addon = db.Column(db.String(64), nullable=False)
    key = db.Column(db.String(64), nullable=False)
    value = db.Column(db.Text, nullable=False, default="")
    __table_args__ = (UniqueConstraint("addon", "key"),)


class SavedFilter(db.Model):
    """A user's named search and filters on one list screen."""

    __tablename__ = "core_saved_filter"
    __label__ = mark("Saved filter")
    __table_args__ = (UniqueConstraint("user_id", "endpoint", "name"),)
    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.ForeignKey("core_user.id", ondelete="CASCADE"), nullable=False,
                        index=True)
    endpoint = db.Column(db.String(64), nullable=False)
    name = db.Column(db.String(100), nullable=False)
    query = db.Column(db.String(2000), nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)


# -- workflows and approvals (core/workflow.py, core/approvals.py) ---------------------------

class TransitionRight(db.Model):
    """The groups an administrator narrowed a declared transition to (Settings >
    Workflows); a transition with no row is as its manifest declares it."""

    __tablename__ = "core_transition_right"
    __label__ = mark("Workflow right")
    __table_args__ = (UniqueConstraint("model", "transition"),)
    __audit__ = True
    id = db.Column(db.Integer, primary_key=True)
    model = db.Column(db.String(64), nullable=False)
    transition = db.Column(db.String(64), nullable=False)
    groups = db.Column(db.Text, nullable=False, default="[]")   # JSON list of group codes


class ApprovalPolicy(db.Model):
    """Which records of a model need whose approval: the first active policy (by
    sequence) whose conditions all hold applies. Addons declare defaults (``addon`` and
    ``key`` set); administrators edit them and add their own."""

    __tablename__ = "core_approval_policy"
    __label__ = mark("Approval policy")
    __audit__ = True
    __table_args__ = (UniqueConstraint("addon", "key"),)
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(200), nullable=False, info={"label": _l("Name")})
    model = db.Column(db.String(64), nullable=False, index=True, info={"label": _l("Record type")})
    sequence = db.Column(db.Integer, nullable=False, default=10, info={"label": _l("Sequence")})
    active = db.Column(db.Boolean, nullable=False, default=True, info={"label": _l("Active")})
    fields = db.Column(db.Text, nullable=False, default="[]",
                       info={"label": _l("Fields locked while waiting")})   # JSON list
    self_approval = db.Column(db.Boolean, nullable=False, default=False,
                              info={"label": _l("The submitter may approve")})
    addon = db.Column(db.String(64))
    key = db.Column(db.String(64))

    def __str__(self):
        return self.name


class ApprovalCondition(db.Model):
    """One condition of a policy: field, operator, value (all must hold)."""

    __tablename__ = "core_approval_condition"
    __label__ = mark("Condition")
    __audit__ = True
    id = db.Column(db.Integer, primary_key=True)
    policy_id = db.Column(db.ForeignKey("core_approval_policy.id", ondelete="CASCADE"),
                          nullable=False, index=True)
    policy = db.relationship(ApprovalPolicy, backref=db.backref(
        "conditions", cascade="all, delete-orphan", order_by="ApprovalCondition.id"))
    field = db.Column(db.String(64), nullable=False, info={"label": _l("Field")})
    operator = db.Column(db.String(2), nullable=False, default=">=", info={"label": _l("Operator")})
    value = db.Column(db.String(200), nullable=False, default="", info={"label": _l("Value")})


class ApprovalStep(db.Model):
    """One step of a policy, in sequence: who approves (a group, the record owner's
    team leader, or a named user) and how many of them must."""

    __tablename__ = "core_approval_step"
    __label__ = mark("Approval step")
    __audit__ = True
    id = db.Column(db.Integer, primary_key=True)
    policy_id = db.Column(db.ForeignKey("core_approval_policy.id", ondelete="CASCADE"),
                          nullable=False, index=True)
    policy = db.relationship(ApprovalPolicy, backref=db.backref(
        "steps", cascade="all, delete-orphan",
        order_by="(ApprovalStep.sequence, ApprovalStep.id)"))
    sequence = db.Column(db.Integer, nullable=False, default=10, info={"label": _l("Sequence")})
    approver = db.Column(db.String(16), nullable=False, default="group",
                         info={"label": _l("Approvers")})
    group_id = db.Column(db.ForeignKey("core_group.id", ondelete="SET NULL"), index=True)
    group = db.relationship(Group, info={"label": _l("Group")})
    user_id = db.Column(db.ForeignKey("core_user.id", ondelete="SET NULL"), index=True)
    user = db.relationship(User, info={"label": _l("User")})
    rule = db.Column(db.String(16), nullable=False, default="any", info={"label": _l("Rule")})
    count = db.Column(db.Integer, nullable=False, default=1, info={"label": _l("How many")})
    deadline_hours = db.Column(db.Integer, info={"label": _l("Deadline (hours)")})


class ApprovalRequest(db.Model):
    """One submission of one record for approval. ``steps``: the policy's steps as they
    were when submitted (JSON), so that editing the policy changes no running request;
    ``snapshot``: the covered fields' values then; ``version``: bumped by every
    decision, so that two decisions at the same moment cannot both count."""

    __tablename__ = "core_approval_request"
    __label__ = mark("Approval request")
    __table_args__ = (db.Index("ix_core_approval_request_record", "model", "record_id", "id"),)
    id = db.Column(db.Integer, primary_key=True)
    model = db.Column(db.String(64), nullable=False)
    record_id = db.Column(db.Integer, nullable=False, info={"label": _l("Record")})
    policy_id = db.Column(db.ForeignKey("core_approval_policy.id", ondelete="SET NULL"),
                          index=True)
    policy = db.relationship(ApprovalPolicy)
    policy_name = db.Column(db.String(200), nullable=False, default="")
    state = db.Column(db.String(16), nullable=False, default="pending", index=True)
    step = db.Column(db.Integer, nullable=False, default=0)
    steps = db.Column(db.Text, nullable=False, default="[]")
    snapshot = db.Column(db.Text, nullable=False, default="{}")
    submitted_by_id = db.Column(db.ForeignKey("core_user.id"), index=True)
    submitted_by = db.relationship(User, foreign_keys=[submitted_by_id])
    submitted_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    step_started_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    escalated_step = db.Column(db.Integer)
    decided_at = db.Column(db.DateTime)
    version = db.Column(db.Integer, nullable=False, default=0)


class ApprovalSeat(db.Model):
    """Who may decide a step of a request, resolved when the step starts."""

    __tablename__ = "core_approval_seat"
    __table_args__ = (UniqueConstraint("request_id", "step", "user_id"),)
    id = db.Column(db.Integer, primary_key=True)
    request_id = db.Column(db.ForeignKey("core_approval_request.id", ondelete="CASCADE"),
                           nullable=False, index=True)
    request = db.relationship(ApprovalRequest, backref=db.backref(
        "seats", cascade="all, delete-orphan", passive_deletes=True))
    step = db.Column(db.Integer, nullable=False)
    user_id = db.Column(db.ForeignKey("core_user.id", ondelete="CASCADE"), nullable=False,
                        index=True)
    user = db.relationship(User)


class ApprovalDecision(db.Model):
    """A decision on a step: append-only, never edited. ``approver``: whose seat it
    fills; ``user``: who decided (a delegate, when not the approver)."""

    __tablename__ = "core_approval_decision"
    __label__ = mark("Approval decision")
    __table_args__ = (UniqueConstraint("request_id", "step", "approver_id"),)
    id = db.Column(db.Integer, primary_key=True)
    request_id = db.Column(db.ForeignKey("core_approval_request.id", ondelete="CASCADE"),
                           nullable=False, index=True)
    request = db.relationship(ApprovalRequest, backref=db.backref(
        "decisions", order_by="ApprovalDecision.id", passive_deletes=True))
    step = db.Column(db.Integer, nullable=False)
    approver_id = db.Column(db.ForeignKey("core_user.id"), nullable=False, index=True)
    approver = db.relationship(User, foreign_keys=[approver_id])
    user_id = db.Column(db.ForeignKey("core_user.id"), nullable=False, index=True)
    user = db.relationship(User, foreign_keys=[user_id])
    decision = db.Column(db.String(8), nullable=False)   # approve, reject
    comment = db.Column(db.Text, nullable=False, default="")
    via = db.Column(db.String(8), nullable=False, default="page")   # page, list, email, cli, api
    at = db.Column(db.DateTime, nullable=False, default=utcnow)


class Delegation(db.Model):
    """While ``user`` is away (from ``starts_on`` to ``ends_on``, both included),
    ``delegate`` decides their approvals."""

    __tablename__ = "core_delegation"
    __label__ = mark("Delegation")
    __audit__ = True
    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.ForeignKey("core_user.id", ondelete="CASCADE"), nullable=False,
                        index=True)
    user = db.relationship(User, foreign_keys=[user_id], info={"label": _l("Away")})
    delegate_id = db.Column(db.ForeignKey("core_user.id", ondelete="CASCADE"), nullable=False,
                            index=True)
    delegate = db.relationship(User, foreign_keys=[delegate_id],
                               info={"label": _l("Delegate")})
    starts_on = db.Column(db.Date, nullable=False, info={"label": _l("Away from")})
    ends_on = db.Column(db.Date, nullable=False, info={"label": _l("Away until")})
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)


class ApprovalLink(db.Model):
    """A signed approve/reject link sent by email: used once, until it expires."""

    __tablename__ = "core_approval_link"
    id = db.Column(db.String(32), primary_key=True)
    request_id = db.Column(db.ForeignKey("core_approval_request.id", ondelete="CASCADE"),
                           nullable=False, index=True)
    user_id = db.Column(db.ForeignKey("core_user.id", ondelete="CASCADE"), nullable=False,
                        index=True)
    step = db.Column(db.Integer, nullable=False)
    expires_at = db.Column(db.DateTime, nullable=False)
    used_at = db.Column(db.DateTime)


class Blob(db.Model):
    """One stored content, named by its SHA-256."""

    __tablename__ = "core_blob"
    __label__ = mark("Stored file")
    sha256 = db.Column(db.String(64), primary_key=True)
    size = db.Column(db.BigInteger, nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow, index=True)


class BlobChunk(db.Model):
    """A mebibyte of a content kept in the database (storage = database)."""

    __tablename__ = "core_blob_chunk"
    __label__ = mark("Stored file part")
    sha256 = db.Column(db.ForeignKey("core_blob.sha256", ondelete="CASCADE"),
                       primary_key=True)
    seq = db.Column(db.Integer, primary_key=True, autoincrement=False)
    data = db.Column(db.LargeBinary, nullable=False)


# -- fields a site adds without code (core/customise.py) --------------------------------------

class CustomField(db.Model):
    """A field added to a model on Settings > Customise: its column (``column``, named
    x_...) is added in the same transaction as this row. A removed field keeps its
    column and data (``removed_at``) until an administrator purges it."""

    __tablename__ = "core_custom_field"
    __label__ = mark("Custom field")
    __audit__ = True
    __table_args__ = (UniqueConstraint("model", "name"),)
    id = db.Column(db.Integer, primary_key=True)
    model = db.Column(db.String(64), nullable=False)        # the class's name
    name = db.Column(db.String(40), nullable=False)         # x_..., the field's key
    kind = db.Column(db.String(16), nullable=False)
    label_en = db.Column(db.String(100), nullable=False)
    label_zh = db.Column(db.String(100), nullable=False)
    help_en = db.Column(db.String(255), nullable=False, default="")
    help_zh = db.Column(db.String(255), nullable=False, default="")
    required = db.Column(db.Boolean, nullable=False, default=False)
    is_unique = db.Column(db.Boolean, nullable=False, default=False)
    indexed = db.Column(db.Boolean, nullable=False, default=False)
    in_list = db.Column(db.Boolean, nullable=False, default=False)
    default = db.Column(db.String(255), nullable=False, default="")   # as typed
    options = db.Column(db.Text, nullable=False, default="[]")   # JSON [[value, en, zh]]
    target = db.Column(db.String(64))                       # a link's model
    section = db.Column(db.String(100), nullable=False, default="")
    position = db.Column(db.Integer, nullable=False, default=0)
    removed_at = db.Column(db.DateTime)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    # The client addon that declares it (`customisations export`); None: made here.
    addon = db.Column(db.String(64))


class FieldRule(db.Model):
    """How a screen shows one field of a model (core/layout.py): the record page's section
    it is moved to, hidden from everyone (a built-in field a client does not use), and
    read-only or hidden for some groups (``access``: JSON {group code: "readonly" or
    "hidden"}; by code, so that a client addon can declare it)."""

    __tablename__ = "core_field_rule"
    __label__ = mark("Field layout")
    __audit__ = True
    __table_args__ = (UniqueConstraint("model", "field"),)
    id = db.Column(db.Integer, primary_key=True)
    model = db.Column(db.String(64), nullable=False)        # the class's name
    field = db.Column(db.String(64), nullable=False)        # as the screens name it
    section = db.Column(db.String(100))                     # None: where the screen puts it
    hidden = db.Column(db.Boolean, nullable=False, default=False)
    access = db.Column(db.Text, nullable=False, default="{}")
    # The client addon that declares it (`customisations export`); None: made here.
    addon = db.Column(db.String(64))


class ScreenLayout(db.Model):
    """How a model's record page and form show their sections (core/layout.py): with
    ``tabs``, the first section above and each other section on a tab of its own."""

    __tablename__ = "core_screen_layout"
    __label__ = mark("Screen layout")
    __audit__ = True
    id = db.Column(db.Integer, primary_key=True)
    model = db.Column(db.String(64), nullable=False, unique=True)   # the class's name
    tabs = db.Column(db.Boolean, nullable=False, default=False)
    # The client addon that declares it (`customisations export`); None: made here.
    addon = db.Column(db.String(64))
