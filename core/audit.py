"""The audit trail and the automatic owner/created/updated fields.

Both hang on SQLAlchemy's session events, so every way of saving a record (a screen,
an import, a job, the command line) is covered, and the audit rows are written in the
same transaction as the change they describe.
"""
import json
from datetime import date, datetime
from decimal import Decimal
from functools import cache

from flask import g, has_app_context, has_request_context
from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import get_history
from sqlalchemy.orm.base import NO_VALUE, PASSIVE_NO_INITIALIZE

from core.i18n import mark
from core.models import AuditEntry, OwnedMixin, User, utcnow

ACTIONS = (mark("create"), mark("update"), mark("delete"))  # shown translated
BOOKKEEPING = {"created_at", "created_by_id", "updated_at", "updated_by_id"}
SECRET_SUFFIXES = ("password_hash",)   # recorded as changed, never with the value
UNRECORDED_SUFFIXES = ("_token",)      # session tokens: noise, and secret
EMPTY = (None, "", [])   # no value, whichever way a field holds none
# One encoder for every row: json.dumps with options builds a new one per call.
JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True)


def acting_token():
    """The name of the API token the request came with (core.api), or None."""
    token = g.get("crm_api_token") if has_request_context() else None
    return token.name if token is not None else None


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
    if isinstance(value, (set, frozenset)):
        return sorted(str(item) for item in value)
    if isinstance(value, (list, tuple)):   # in its order: several choices as chosen
        return [str(item) for item in value]
    return str(value)


@cache
def _recorded_columns(mapper):
    """(key, is the primary key, is a secret) of each column the trail records; worked
    out once per model, as an import records thousands of records of one. A column
    with ``info={"audit": False}`` is the application's bookkeeping (a document's text
    read for search): neither recorded nor a change of the record's "updated"."""
    return [(attr.key, attr.columns[0].primary_key, attr.key.endswith(SECRET_SUFFIXES))
            for attr in mapper.column_attrs
            if attr.key not in BOOKKEEPING and not attr.key.endswith(UNRECORDED_SUFFIXES)
            and attr.columns[0].info.get("audit", True)]


def forget_columns():
    """After fields were added to models (core.customise)."""
    _recorded_columns.cache_clear()


def _has_recorded_changes(obj):
    """Does this flush change a recorded column (or a many-to-one, such as the owner,
    whose column is set later in the flush)?"""
    mapper = inspect(obj).mapper
    keys = [key for key, _primary, _secret in _recorded_columns(mapper)] + [
        rel.key for rel in mapper.relationships if not rel.uselist]
    return any(get_history(obj, key, PASSIVE_NO_INITIALIZE).has_changes() for key in keys)


def changes_of(obj, action):
    """{field: [old, new]} for what this flush writes (secrets masked).

    Values and histories are read directly, not through state.attrs, which makes an
    object for every attribute first: an import audits 100,000 records at once."""
    state = inspect(obj)
    columns, values = _recorded_columns(state.mapper), state.dict
    if action == "create":   # every value written; cheaper than its history
        changes = {key: [None, ("***" if value else None) if secret else _plain(value)]
                   for key, primary, secret in columns
                   if not primary and (value := values.get(key)) is not None}
    else:
        changes = {}
        for key, _primary, secret in columns:
            if action == "delete":
                old, new = values.get(key, NO_VALUE), None
                if old is NO_VALUE:  # never loaded; nothing to record
                    continue
            else:
                history = get_history(obj, key, PASSIVE_NO_INITIALIZE)
                old = history.deleted[0] if history.deleted else None
                new = history.added[0] if history.added else None
                # (An empty box saved over a value never given is no change to read.)
                if not history.has_changes() or old == new or (
                        old in EMPTY and new in EMPTY):
                    continue
            if secret:   # that it changed, never the value
                old, new = ("***" if old else None), ("***" if new else None)
            changes[key] = [_plain(old), _plain(new)]
    for rel in state.mapper.relationships:
        # Links (many-to-many) are the record's own; a one-to-many collection is the
        # other records' foreign keys, recorded on them.
        if rel.secondary is None or action == "delete":
            continue
        history = get_history(obj, rel.key, PASSIVE_NO_INITIALIZE)
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
        if isinstance(obj, OwnedMixin) and _has_recorded_changes(obj):
            obj.updated_by_id = user_id
            obj.updated_at = now


def entry(obj, action, user_id, now):
    """The audit row of one change (a dict of AuditEntry's columns), or None for an
    update that changed nothing recorded."""
    changes = changes_of(obj, action)
    if action == "update" and not changes:
        return None
    return {"at": now, "user_id": user_id, "model": type(obj).__name__, "record_id": obj.id,
            "action": action, "changes": JSON.encode(changes), "api_token": acting_token()}


@event.listens_for(Session, "after_flush")
def _write_audit_rows(session, _context):
    user_id = acting_user_id()
    now = utcnow()
    rows = []
    for action, objects in (("create", session.new), ("update", session.dirty),
                            ("delete", session.deleted)):
        for obj in objects:
            row = entry(obj, action, user_id, now) if is_audited(obj) else None
            if row is not None:
                rows.append(row)
    if rows:
        session.connection().execute(insert(AuditEntry), rows)
