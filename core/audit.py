"""The audit trail and the automatic owner/created/updated fields.

Both hang on SQLAlchemy's session events, so every way of saving a record (a screen,
an import, a job, the command line) is covered, and the audit rows are written in the
same transaction as the change they describe.
"""
import json
from datetime import date, datetime
from decimal import Decimal

from flask import g, has_app_context, has_request_context
from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session
from sqlalchemy.orm.base import NO_VALUE

from core.i18n import mark
from core.models import AuditEntry, OwnedMixin, User, utcnow

ACTIONS = (mark("create"), mark("update"), mark("delete"))  # shown translated
BOOKKEEPING = {"created_at", "created_by_id", "updated_at", "updated_by_id"}
SECRET_SUFFIXES = ("password_hash",)   # recorded as changed, never with the value
UNRECORDED_SUFFIXES = ("_token",)      # session tokens: noise, and secret


def acting_user_id():
    """The signed-in user, or the user a command or job acts for (g.acting_user_id).

    Reads the user Flask-Login has already loaded for this request and never loads one:
    loading queries the database, which would flush, which would call this again."""
    if not has_app_context():
        return None
    user = g.get("_login_user") if has_request_context() else None
    if user is not None and user.is_authenticated:
        return user.id
    return g.get("acting_user_id")


def is_audited(obj):
    return getattr(type(obj), "__audit__", False)


def _plain(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple, set)):
        return sorted(str(item) for item in value)
    return str(value)


def changes_of(obj, action):
    """{field: [old, new]} for what this flush writes (secrets masked)."""
    state = inspect(obj)
    changes = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in BOOKKEEPING or key.endswith(UNRECORDED_SUFFIXES):
            continue
        if action == "create":   # every value written; cheaper than its history
            if attr.columns[0].primary_key:
                continue
            old, new = None, state.dict.get(key)
        elif action == "delete":
            old, new = state.attrs[key].loaded_value, None
            if old is NO_VALUE:  # never loaded; nothing to record
                continue
        else:
            history = state.attrs[key].history
            if not history.has_changes():
                continue
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
        if (action == "create" and new is None) or (action == "update" and old == new):
            continue
        if key.endswith(SECRET_SUFFIXES):   # that it changed, never the value
            old, new = ("***" if old else None), ("***" if new else None)
        changes[key] = [_plain(old), _plain(new)]
    for rel in state.mapper.relationships:
        # Links (many-to-many) are the record's own; a one-to-many collection is the
        # other records' foreign keys, recorded on them.
        if rel.secondary is None or action == "delete":
            continue
        history = state.attrs[rel.key].history
        if history.added or history.deleted:
            before = list(history.unchanged) + list(history.deleted)
            after = list(history.unchanged) + list(history.added)
            changes[rel.key] = [_plain(before), _plain(after)]
    return changes


@event.listens_for(Session, "before_flush")
def _stamp_owned_records(session, _context, _instances):
    user_id = acting_user_id()
    now = utcnow()
    for obj in session.new:
        if isinstance(obj, OwnedMixin):
            obj.created_by_id = obj.created_by_id or user_id
            obj.updated_by_id = user_id
            if obj.owner_id is None and obj.owner is None and user_id is not None:
                # Through the relationship: a form may have set owner = None, which
                # would otherwise overwrite a plain owner_id during the flush.
                obj.owner = session.get(User, user_id)
    for obj in session.dirty:
        if isinstance(obj, OwnedMixin) and session.is_modified(obj, include_collections=False):
            obj.updated_by_id = user_id
            obj.updated_at = now


@event.listens_for(Session, "after_flush")
def _write_audit_rows(session, _context):
    rows = []
    user_id = acting_user_id()
    now = utcnow()
    for action, objects in (("create", session.new), ("update", session.dirty),
                            ("delete", session.deleted)):
        for obj in objects:
            if not is_audited(obj):
                continue
            changes = changes_of(obj, action)
            if action == "update" and not changes:
                continue
            rows.append({"at": now, "user_id": user_id, "model": type(obj).__name__,
                         "record_id": obj.id, "action": action,
                         "changes": json.dumps(changes, ensure_ascii=False, sort_keys=True)})
    if rows:
        session.connection().execute(insert(AuditEntry), rows)
