"""The REST API, /api/v1: the records of every screen of the enabled addons as JSON, for
a website, a shop or a BI tool.

A request carries an API token (``Authorization: Bearer crm_…``) that a user made on
their account page, and acts as that user: the same access letters and record rules
(core.permissions, which also narrows a token to reading and to the models it names),
through the same screen (its query, its search and filters by their list names, its
fields hidden from the user's groups). Nothing here decides who may see what.

Errors are problem documents (RFC 9457, ``application/problem+json``), in the token
user's language.
"""
import base64
import binascii
import hashlib
import hmac
import json
import secrets
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask import Blueprint, Response, current_app, g, request, url_for
from flask_babel import gettext as _
from sqlalchemy import and_, inspect, or_, select

from core import customise
from core.db import db
from core.i18n import label
from core.audit import _plain
from core.models import ApiToken, User, utcnow
from core.sessions import _digest

PREFIX = "/api/v1"
KEY_START = "crm_"
PAGE_SIZE, MAX_PAGE_SIZE = 50, 500
TOUCH_EVERY = timedelta(minutes=1)   # a token's last use is written at most this often
EXPIRY_DAYS = (30, 90, 365)          # offered on the account page, and "never"

blueprint = Blueprint("api", __name__, url_prefix=PREFIX)


# -- tokens ----------------------------------------------------------------------------

def make_token(user, name, models=(), days=None):
    """A new token of ``user`` (added to the session, not committed) and its key, the only
    time the key exists: crm_<prefix>_<secret>."""
    prefix = secrets.token_hex(4)
    key = f"{KEY_START}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken(user_id=user.id, name=name, prefix=prefix, digest=_digest(key),
                     models=",".join(models), created_at=utcnow(),
                     expires_at=utcnow() + timedelta(days=days) if days else None)
    db.session.add(token)
    return token, key


def token_of(key):
    """The token whose key this is, if it still holds (not revoked, not expired, its user
    active), else None."""
    prefix, _sep, secret = key.removeprefix(KEY_START).partition("_")
    if not key.startswith(KEY_START) or len(prefix) != 8 or not secret:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.prefix == prefix))
    if token is None or not hmac.compare_digest(token.digest, _digest(key)):
        return None
    now = utcnow()
    if token.revoked_at is not None or (token.expires_at is not None and token.expires_at <= now):
        return None
    user = db.session.get(User, token.user_id)
    return token if user is not None and user.active else None


# -- problems --------------------------------------------------------------------------

def is_api_request():
    return request.path == PREFIX or request.path.startswith(PREFIX + "/")


def problem(status, title, detail=None, errors=None):
    """An RFC 9457 problem document; ``errors``: [{"field", "message"}]."""
    body = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    return Response(json.dumps(body, ensure_ascii=False), status=status,
                    mimetype="application/problem+json")


class Refused(Exception):
    """A request the API answers with a problem document."""

    def __init__(self, status, title, detail=None, errors=None):
        super().__init__(title)
        self.response = problem(status, title, detail, errors)


@blueprint.errorhandler(Refused)
def refused(exc):
    return exc.response


def unauthorised(title, detail=None):
    response = problem(401, title, detail)
    response.headers["WWW-Authenticate"] = 'Bearer realm="api"'   # (RFC 6750)
    return response


@blueprint.before_request
def authenticate():
    """The request acts as the token's user, or is refused; a browser's signed-in session
    is not used here (its requests carry no CSRF token)."""
    g._login_user = current_app.login_manager.anonymous_user()
    header = request.headers.get("Authorization", "")
    scheme, _space, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return unauthorised(_("An API token is needed."), _(
            "Send it as \"Authorization: Bearer <token>\". A token is made on your "
            "account page."))
    token = token_of(key.strip())
    if token is None:
        return unauthorised(_("This API token is unknown, expired or revoked."))
    g._login_user, g.crm_api_token = db.session.get(User, token.user_id), token
    if token.last_used_at is None or token.last_used_at < utcnow() - TOUCH_EVERY:
        token.last_used_at = utcnow()
        db.session.commit()


# -- records as JSON -------------------------------------------------------------------

def screens():
    """{name in the URL: the screen (core.admin.ModelView)} of the enabled addons."""
    return current_app.extensions["crm"].api_screens


def screen_for(name):
    """The screen named ``name``, if the token's user may read its records; else a
    problem (404: no such screen or its addon is disabled; 403: not for this token)."""
    view = screens().get(name)
    if view is None:
        raise Refused(404, _("There is no model of that name here, or its addon is not "
                             "enabled."), detail=name)
    if not view.permits("r"):
        raise Refused(403, _("This token may not read these records."), detail=name)
    return view


def record_fields(view):
    """{field name: column} that the API gives for the screen's records: the model's
    columns, less secrets, derived ones, custom fields removed from the site, and the
    fields hidden from the user's groups."""
    from core.admin import _is_hidden
    hidden = set(view.restricted()[0])
    active = {field.name for field in view.custom_fields}
    fields = {}
    for column in inspect(view.model).columns:
        name = column.key
        if _is_hidden(column) or name in hidden:
            continue
        if customise.is_custom(column) and name not in active:
            continue
        fields[name] = column
    return fields


def json_value(value):
    """As the audit trail keeps a value (amounts as exact strings, dates ISO), but a
    time as UTC with a "Z": it is stored in UTC."""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds") + "Z"
    return _plain(value)


def record_json(record, fields):
    return {name: json_value(getattr(record, name)) for name in fields}


def chosen_fields(fields):
    """The fields ``?fields=a,b`` asks for (id always), or all."""
    asked = [name.strip() for name in request.args.get("fields", "").split(",") if name.strip()]
    unknown = [name for name in asked if name not in fields]
    if unknown:
        raise Refused(400, _("Unknown fields asked for."), errors=[
            {"field": name, "message": _("No such field, or not one you may see.")}
            for name in unknown])
    if not asked:
        return fields
    return {name: fields[name] for name in ["id", *asked] if name in fields}


# -- paging by cursor ------------------------------------------------------------------

def encode_cursor(values):
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def decode_cursor(text, column):
    """(is the sort value empty, the value, the id) of a ``next`` cursor, checked."""
    try:
        padded = text + "=" * (-len(text) % 4)
        empty, value, record_id = json.loads(base64.urlsafe_b64decode(padded))
        if not isinstance(record_id, int) or not isinstance(empty, bool):
            raise ValueError
        return empty, None if empty else python_value(column, value), record_id
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise Refused(400, _("This cursor is not one this list gave."),
                      errors=[{"field": "cursor", "message": _("Not a valid cursor.")}]) \
            from None


def python_value(column, value):
    kind = column.type.python_type
    if kind is datetime:
        return datetime.fromisoformat(value.rstrip("Z"))
    if kind is date:
        return date.fromisoformat(value)
    if kind is Decimal:
        return Decimal(value)
    return value


def sort_of(fields):
    """(column, descending) from ``?sort=name`` or ``?sort=-name``; newest first when not
    asked."""
    asked = request.args.get("sort", "-id").strip()
    name = asked.lstrip("-")
    if name not in fields:
        raise Refused(400, _("This list cannot be sorted by that."), errors=[
            {"field": "sort", "message": _("No such field, or not one you may see.")}])
    return fields[name], asked.startswith("-")


def page_after(query, model, column, descending, cursor):
    """The query ordered by ``column`` (empty values last), then id, from after the
    cursor: every record once, however the list changes between pages."""
    key = model.id
    empty = column.is_(None)
    later = (lambda a, b: a < b) if descending else (lambda a, b: a > b)
    ordered = query.order_by(empty, column.desc() if descending else column.asc(),
                             key.desc() if descending else key.asc())
    if cursor is None:
        return ordered
    was_empty, value, record_id = cursor
    if column is key:
        return ordered.filter(later(key, record_id))
    if was_empty:
        return ordered.filter(and_(empty, later(key, record_id)))
    return ordered.filter(or_(empty, later(column, value),
                              and_(column == value, later(key, record_id))))


def page_size():
    try:
        size = int(request.args.get("limit", PAGE_SIZE))
    except ValueError:
        size = 0
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise Refused(400, _("The page size must be a whole number from 1 to %(most)d.",
                             most=MAX_PAGE_SIZE), errors=[
            {"field": "limit", "message": _("Not a valid page size.")}])
    return size


# -- the endpoints ---------------------------------------------------------------------

@blueprint.route("/")
def index():
    """The models this token may read, with their list's address."""
    found = [{"name": name, "label": label(view.name),
              "url": url_for(".records", name=name, _external=True)}
             for name, view in sorted(screens().items()) if view.permits("r")]
    return {"models": found}


@blueprint.route("/<name>")
def records(name):
    """A page of the records the user may read, newest first unless ``sort`` says,
    searched (``search``) and filtered (``flt0_<field>_<operation>``) as the list
    screen is, and ``next``: the cursor of the next page, or null."""
    view = screen_for(name)
    fields = record_fields(view)
    shown = chosen_fields(fields)
    column, descending = sort_of(fields)
    size = page_size()
    cursor = request.args.get("cursor")
    query = filtered(view, screen_query(view))
    query = page_after(query, view.model, column, descending,
                       decode_cursor(cursor, column) if cursor else None)
    rows = query.limit(size + 1).all()
    more = len(rows) > size
    rows = rows[:size]
    following = None
    if more:
        last = getattr(rows[-1], column.key)
        following = encode_cursor([last is None, json_value(last), rows[-1].id])
    return {"data": [record_json(row, shown) for row in rows], "next": following}


def screen_query(view):
    """The records the screen lists to this user, with its custom fields loaded at once
    (not a statement per record)."""
    return view._with_custom_fields(view.get_query())


def filtered(view, query):
    """The query searched and filtered by the request as the list screen would be
    (``search``, ``flt0_<field>_<operation>``); a filter the user may not use (unknown,
    or on a field hidden from them) or a value it cannot take is refused."""
    search = request.args.get("search", "").strip()
    if search:
        query = view._apply_search(query, None, {}, {}, search)[0]
    filters = filters_asked(view)
    if filters:
        query = view._apply_filters(query, None, {}, {}, filters)[0]
    return query


def filters_asked(view):
    """[(index, name, value)] of the request's filters, in their numbers' order, as
    Flask-Admin's list takes them."""
    hidden = set(view.restricted()[0])
    found, problems = [], []
    for key, value in request.args.items():
        if not key.startswith("flt"):
            continue
        position, _sep, name = key[3:].partition("_")
        index, flt = (view._filter_args or {}).get(name, (None, None))
        if flt is None or view._filter_field(flt) in hidden:
            problems.append({"field": key, "message": _(
                "No such filter, or not one you may use.")})
        elif not flt.validate(value):
            problems.append({"field": key, "message": _("Not a value this filter takes.")})
        else:
            found.append((int(position) if position.isdigit() else 0, (index, flt.name, value)))
    if problems:
        raise Refused(400, _("Some filters cannot be used."), errors=problems)
    return [entry for _position, entry in sorted(found, key=lambda item: item[0])]


@blueprint.route("/<name>/<int:record_id>")
def record(name, record_id):
    """One record the user may read (404 for one they may not: its existence is not
    told), with its ETag."""
    view = screen_for(name)
    found = screen_query(view).filter(view.model.id == record_id).first()
    if found is None:
        raise Refused(404, _("There is no such record, or you may not read it."))
    body = json.dumps(record_json(found, chosen_fields(record_fields(view))),
                      ensure_ascii=False, sort_keys=True)
    response = Response(body, mimetype="application/json")
    response.set_etag(hashlib.sha256(body.encode()).hexdigest()[:32])
    return response


def init_app(app, admin, csrf):
    """The API's routes, and its screens: the model screens of ``admin`` by endpoint."""
    from core.admin import ModelView
    app.extensions["crm"].api_screens = {
        view.endpoint: view for view in admin._views if isinstance(view, ModelView)}
    csrf.exempt(blueprint)
    app.register_blueprint(blueprint)
