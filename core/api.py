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
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from flask import Blueprint, Response, current_app, g, request, url_for
from flask_login import current_user
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from limits import RateLimitItemPerMinute
from sqlalchemy import (BigInteger, Boolean, DateTime, Float, Integer, Numeric, and_, delete,
                        inspect, or_, select)
from sqlalchemy.exc import IntegrityError
from wtforms.validators import ValidationError

from core import approvals, customise, permissions, ratelimit, workflow
from core.db import db
from core.i18n import label
from core.audit import _plain
from core.models import ApiIdempotency, ApiToken, User, utcnow
from core.sessions import _digest
from core.transfer import largest

PREFIX = "/api/v1"
KEY_START = "crm_"
PAGE_SIZE, MAX_PAGE_SIZE = 50, 500
TOUCH_EVERY = timedelta(minutes=1)   # a token's last use is written at most this often
EXPIRY_DAYS = (30, 90, 365)          # offered on the account page, and "never"
REQUESTS_PER_MINUTE = 600            # per token, unless [api] requests_per_minute says
IDEMPOTENCY_KEY_LENGTH = 200
IDEMPOTENCY_KEPT = timedelta(days=1)  # a POST's answer, for its retries

blueprint = Blueprint("api", __name__, url_prefix=PREFIX)


# -- tokens ----------------------------------------------------------------------------

def make_token(user, name, models=(), days=None, writes=False):
    """A new token of ``user`` (added to the session, not committed) and its key, the only
    time the key exists: crm_<prefix>_<secret>. It reads only, unless ``writes``."""
    prefix = secrets.token_hex(4)
    key = f"{KEY_START}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken(user_id=user.id, name=name, prefix=prefix, digest=_digest(key),
                     models=",".join(models), writes=writes, created_at=utcnow(),
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


def per_minute():
    """Requests one token may make a minute ([api] requests_per_minute)."""
    return max(1, int(current_app.extensions["crm"].settings.get(
        "api", "requests_per_minute", REQUESTS_PER_MINUTE)))


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
    wait = ratelimit.counted(RateLimitItemPerMinute(per_minute()), "api", token.id)
    if wait is not None:
        response = problem(429, _("Too many requests with this token: wait a little."),
                           _("A token may make %(count)d requests a minute.",
                             count=per_minute()))
        response.headers["Retry-After"] = str(wait)
        return response
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


def embeddable(view):
    """{link name: (its id field, the linked records' screen)} that ``?embed=`` may ask
    for: the record's links to one record (``customer`` for ``customer_id``) that the
    user sees, whose records have a screen the user may read."""
    fields = record_fields(view)
    found = {}
    for relation in inspect(view.model).relationships:
        if relation.uselist or len(relation.local_columns) != 1:
            continue
        key = next(iter(relation.local_columns)).key
        screen = next((screen for screen in screens().values()
                       if screen.model is relation.mapper.class_ and screen.permits("r")), None)
        if key in fields and screen is not None:
            found[relation.key] = (key, screen)
    return found


def embedded(view, rows):
    """[(link name, its id field, {id: the linked record as JSON})] that ``?embed=a,b``
    asks for, for ``rows``: one statement per link, through the linked screen (its
    record rules and fields: a record the user may not read is not there)."""
    asked = [name.strip() for name in request.args.get("embed", "").split(",")
             if name.strip()]
    if not asked:
        return []
    offered = embeddable(view)
    unknown = [name for name in asked if name not in offered]
    if unknown:
        raise Refused(400, _("Some of the records asked for cannot be embedded."), errors=[
            {"field": "embed", "message": _("%(name)s: no such link, or not one you may read.",
                                            name=name)} for name in unknown])
    found = []
    for name in dict.fromkeys(asked):
        key, screen = offered[name]
        ids = {getattr(row, key) for row in rows} - {None}
        linked = screen_query(screen).filter(screen.model.id.in_(ids)).all() if ids else []
        fields = record_fields(screen)
        found.append((name, key, {record.id: record_json(record, fields) for record in linked}))
    return found


def with_embedded(row, data, links):
    """A record's JSON with the linked records asked for (null: none, or not readable)."""
    for name, key, linked in links:
        data[name] = linked.get(getattr(row, key))
    return data


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
    # "Empty last" and the id only where needed: an ORDER BY an index cannot give (id IS
    # NULL, id) sorts every record the user may read before the first page is out.
    order = [column.desc() if descending else column.asc()]
    if column.nullable and not column.primary_key:
        order.insert(0, empty)
    if not column.primary_key:
        order.append(key.desc() if descending else key.asc())
    ordered = query.order_by(*order)
    if cursor is None:
        return ordered
    was_empty, value, record_id = cursor
    if column.primary_key:
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


@blueprint.route("/openapi.json")
def openapi():
    """The OpenAPI 3.1 document of what this token may read and write."""
    from core.api_schema import document
    return document(screens())


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
    links = embedded(view, rows)
    return {"data": [with_embedded(row, record_json(row, shown), links) for row in rows],
            "next": following}


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
    return record_response(view, found_record(view, record_id))


def found_record(view, record_id):
    found = screen_query(view).filter(view.model.id == record_id).first() \
        if record_id <= largest(view.model.__table__.c.id) else None   # (none larger kept)
    if found is None:
        raise Refused(404, _("There is no such record, or you may not read it."))
    return found


def etag_of(record, fields):
    """The record's version as this user reads it: a hash of all its fields they see
    (whatever ``fields=`` a request asks for)."""
    text = json.dumps(record_json(record, fields), ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def record_response(view, record, status=200):
    fields = record_fields(view)
    data = with_embedded(record, record_json(record, chosen_fields(fields)),
                         embedded(view, [record]))
    response = Response(json.dumps(data, ensure_ascii=False), status=status,
                        mimetype="application/json")
    response.set_etag(etag_of(record, fields))
    return response


# -- writing ---------------------------------------------------------------------------
# Every write goes through the screen's own checks (core.admin.ModelView.create_records,
# change_record, delete_record): its form's validators, the workflow, approvals, the
# owner, the fields hidden or read-only for the user's groups. Nothing is checked here
# but the shape of the request.

WRITES = {   # letter: (the screen's allow_/can_ name, its page, what a refusal says)
    "c": ("create", "create_view", _l("These records cannot be created through the API.")),
    "w": ("edit", "edit_view", _l("These records cannot be changed through the API.")),
    "d": ("delete", "delete_view", _l("These records cannot be deleted through the API.")),
}


def makes(view, letter):
    """Does the screen make this kind of write from values? Not where it makes none, or
    makes it on a page of its own (a receipt from an order's lines) rather than its
    form; and it creates records as its import does, so only where it imports."""
    from core.admin import ModelView
    kind, page, _refusal = WRITES[letter]
    return (getattr(view, "allow_" + kind)
            and getattr(type(view), page) is getattr(ModelView, page)
            and (letter != "c" or view.allow_import))


def writable(name, letter):
    """The screen named ``name``, if the token's user may make this kind of write
    through it: 405 where the screen does not (makes), 403 where the user or the token
    may not."""
    view = screen_for(name)
    kind, _page, refusal = WRITES[letter]
    if not makes(view, letter):
        raise Refused(405, str(refusal), detail=_(
            "This kind of record is made and changed on its own screen."))
    if not getattr(view, "can_" + kind):
        raise Refused(403, _("This token may not do that to these records."), detail=name)
    return view


def json_body():
    """The request's JSON (amounts as exact decimals), or a problem."""
    if not request.is_json:
        raise Refused(415, _("Send the record as JSON (Content-Type: application/json)."))
    try:
        return json.loads(request.get_data(), parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Refused(400, _("The body is not valid JSON."), detail=str(exc)) from None


def write_fields(view, editing=False):
    """{name in JSON: (the field the screen's form sets, its column or relation)}: the
    names a record is read with (a link by its id column, ``customer_id``)."""
    found = {}
    for name, target in view.import_fields(editing=editing).items():
        if hasattr(target, "type"):
            found[name] = (name, target)
        elif not target.uselist and len(target.local_columns) == 1:
            found[next(iter(target.local_columns)).key] = (name, target)
    return found


def kind_refusal(target, value):
    """Why ``value`` (as JSON gives it) cannot be the field's, or None; the field's own
    conversion (core.transfer) then checks the value itself."""
    kind = getattr(target, "type", None)
    number = isinstance(value, (int, Decimal)) and not isinstance(value, bool)
    if value is None:
        return None
    if kind is None:
        return None if isinstance(value, int) and not isinstance(value, bool) else _(
            "Give the linked record's id, a whole number.")
    if hasattr(kind, "from_text"):
        return None if isinstance(value, list) and all(isinstance(v, str) for v in value) \
            else _("Give a list of choices.")
    if isinstance(kind, Boolean):
        return None if isinstance(value, bool) else _("Give true or false.")
    if isinstance(kind, (Integer, BigInteger)):
        return None if number else _("Give a whole number.")
    if isinstance(kind, (Numeric, Float)):
        return None if number or isinstance(value, str) else _("Give a number.")
    return None if isinstance(value, str) else _("Give text.")


def cell_of(target, value):
    """A JSON value as the field's conversion takes it."""
    kind = getattr(target, "type", None)
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(value)
    if isinstance(kind, DateTime) and isinstance(value, str):
        try:   # the API's times are UTC ("Z"); one with another offset is moved to UTC
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value   # (the conversion says what is wrong with it)
        return moment if moment.tzinfo is None else \
            moment.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def values_of(item, fields, index=None):
    """``item`` as {field: cell} for the screen; its problems named by field."""
    if not isinstance(item, dict):
        return {}, [error("", _("Each record must be a JSON object."), index)]
    values, problems = {}, []
    for key, value in item.items():
        if key not in fields:
            problems.append(error(key, _("No such field, or not one you may set."), index))
            continue
        name, target = fields[key]
        refusal = kind_refusal(target, value)
        if refusal:
            problems.append(error(key, refusal, index))
        else:
            values[name] = cell_of(target, value)
    return values, problems


@contextmanager
def committed(clash=None, refusal=None):
    """The request's write, committed; or rolled back, and refused with a problem: 409
    with ``clash`` when the database refuses it (a unique value, a link), or with
    ``refusal`` and the screen's words when the screen's own check does."""
    try:
        yield
        db.session.commit()
    except Refused:
        db.session.rollback()
        raise
    except ValidationError as exc:
        db.session.rollback()
        raise Refused(409, str(refusal or _("The record was not saved.")), detail=str(exc)) \
            from None
    except IntegrityError:
        db.session.rollback()
        raise Refused(409, str(clash or _(
            "The record was not saved: it clashes with one already saved (a value that "
            "must be unique, or a link)."))) from None


def error(field, message, index=None):
    found = {"field": field, "message": str(message)}
    if index is not None:
        found["index"] = index
    return found


def invalid(problems):
    return Refused(422, _("The record was not saved: some fields are not right."),
                   errors=problems)


def json_name(fields, name):
    """A field of the screen's form by its name in JSON."""
    return next((key for key, (field, _target) in fields.items() if field == name), name)


@blueprint.route("/<name>", methods=["POST"])
def create(name):
    """A new record from a JSON object, or several from an array (all saved, or none):
    201 with the record (or {"data": [...]})."""
    view = writable(name, "c")
    body = json_body()
    several = isinstance(body, list)
    items = body if several else [body]
    if several and not 1 <= len(items) <= MAX_PAGE_SIZE:
        raise Refused(400, _("Send from 1 to %(most)d records at a time.", most=MAX_PAGE_SIZE))
    fields = write_fields(view)
    converted, problems = [], []
    for index, item in enumerate(items):
        values, found = values_of(item, fields, index if several else None)
        converted.append(values)
        problems += found
    if problems:
        raise invalid(problems)
    with committed():
        claimed = claim(request.headers.get("Idempotency-Key"))
        if isinstance(claimed, Response):
            return claimed   # the answer to the same request, made before
        records, found = view.create_records(converted)
        if found:
            raise invalid([error(json_name(fields, field), message, index if several else None)
                           for index, field, message in found])
        # Answered from the records as saved, before the commit expires them (read
        # again, each would take a statement).
        if several:
            shown = chosen_fields(record_fields(view))
            response = Response(json.dumps({"data": [record_json(record, shown)
                                                     for record in records]},
                                           ensure_ascii=False),
                                status=201, mimetype="application/json")
        else:
            response = record_response(view, records[0], status=201)
            response.headers["Location"] = url_for(".record", name=name,
                                                   record_id=records[0].id)
        if claimed is not None:   # kept with the records, in their transaction
            claimed.status, claimed.body = response.status_code, response.get_data(as_text=True)
            claimed.location = response.headers.get("Location")
            claimed.etag = response.get_etag()[0]
    return response


def claim(key):
    """For a POST with an Idempotency-Key: its row, new in the transaction, when the key
    is new; the kept answer (a Response) when the same request came before with it; a
    problem when another request did. Of two identical requests at once, the second
    waits at the row's unique key until the first commits, then answers as it did."""
    if key is None:
        return None
    if not key.strip() or len(key) > IDEMPOTENCY_KEY_LENGTH:
        raise Refused(400, _("An Idempotency-Key is 1 to %(most)d characters.",
                             most=IDEMPOTENCY_KEY_LENGTH),
                      errors=[{"field": "Idempotency-Key", "message": _("Not a valid key.")}])
    token_id = g.crm_api_token.id
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode()
                            + request.get_data()).hexdigest()
    db.session.execute(delete(ApiIdempotency).where(
        ApiIdempotency.created_at < utcnow() - IDEMPOTENCY_KEPT))
    kept = select(ApiIdempotency).where(ApiIdempotency.token_id == token_id,
                                        ApiIdempotency.key == key)
    found = db.session.scalar(kept)
    if found is None:
        row = ApiIdempotency(token_id=token_id, key=key, request_digest=digest,
                             created_at=utcnow())
        db.session.add(row)
        try:
            db.session.flush()
            return row
        except IntegrityError:   # the same key, committed by a request at the same time
            db.session.rollback()
            found = db.session.scalar(kept)
    if found is None or found.request_digest != digest:
        raise Refused(422, _("This Idempotency-Key was sent before with another request."),
                      errors=[{"field": "Idempotency-Key", "message": _(
                          "Use a new key for each new request.")}])
    response = Response(found.body, status=found.status, mimetype="application/json")
    if found.location:
        response.headers["Location"] = found.location
    if found.etag:
        response.set_etag(found.etag)
    response.headers["Idempotent-Replayed"] = "true"
    return response


def checked_version(view, record):
    """The request's If-Match must be the record's ETag: 428 without one, 412 when the
    record has changed since the client read it (no lost update)."""
    if not request.if_match:
        raise Refused(428, _("Send If-Match with the record's ETag, from reading it."))
    if not request.if_match.contains(etag_of(record, record_fields(view))):
        raise Refused(412, _("The record has changed since you read it: read it again."))


@blueprint.route("/<name>/<int:record_id>", methods=["PATCH"])
def update(name, record_id):
    """The fields a JSON object gives, changed (If-Match required): 200 with the record."""
    view = writable(name, "w")
    record = found_record(view, record_id)
    checked_version(view, record)
    body = json_body()
    fields = write_fields(view, editing=True)
    values, problems = values_of(body, fields)
    if problems:
        raise invalid(problems)
    with committed(refusal=_("The record cannot be changed now.")):
        found = view.change_record(record, values)
        if found:
            raise invalid([error(json_name(fields, field), message) for field, message in found])
    view.after_model_change(None, record, False)
    return record_response(view, found_record(view, record_id))


@blueprint.route("/<name>/<int:record_id>", methods=["DELETE"])
def remove(name, record_id):
    """The record deleted (If-Match required), as its screen's Delete would: 204."""
    view = writable(name, "d")
    record = found_record(view, record_id)
    checked_version(view, record)
    with committed(_("The record was not deleted: other records still use it."),
                   _("The record was not deleted.")):
        view.delete_record(record)
    view.after_model_delete(record)
    return Response(status=204)


# -- actions: a workflow's transitions ---------------------------------------------------

# The approval engine's steps, as the record page's approval buttons (core.approvals);
# named with a dot, which no transition's name has (a quote has a transition "reject").
APPROVAL_ACTIONS = {"approval.request": _l("Request approval"),
                    "approval.approve": _l("Approve"), "approval.reject": _l("Reject")}


@blueprint.route("/<name>/<int:record_id>/actions")
def actions(name, record_id):
    """What the user may do to the record now, as its page's buttons: the workflow's
    transitions, and requesting or deciding its approval."""
    view = screen_for(name)
    record = found_record(view, record_id)
    found = [{"name": transition.name, "label": str(transition.title()),
              "to": None if transition.target == workflow.ANY
              else json_value(transition.target)}
             for transition in workflow.available(record, current_user)]
    found += [{"name": action, "label": str(APPROVAL_ACTIONS[action]), "to": None}
              for action in approval_actions(record)]
    return {"actions": found}


def approval_actions(record):
    """The approval actions the user may take on ``record`` now."""
    if not approvals.config(type(record)):
        return []
    found = []
    if approvals.may_request(record, current_user) is None:
        found.append("approval.request")
    if approvals.may_decide(approvals.latest(record), current_user):
        found += ["approval.approve", "approval.reject"]
    return found


@blueprint.route("/<name>/<int:record_id>/actions/<action>", methods=["POST"])
def act(name, record_id, action):
    """Make a transition (If-Match required), as its button on the record's page does:
    the same engine (core.workflow.move) and checks. A transition that lets the user
    pick where to (a deal's stage) takes {"to": id or value}. 200 with the record."""
    view = screen_for(name)
    flow = workflow.of(view.model)
    transition = flow.transitions.get(action) if flow is not None else None
    deciding = action in ("approval.approve", "approval.reject")
    if action in APPROVAL_ACTIONS and approvals.config(view.model):
        transition = None
    elif transition is None or not transition.button:   # (others have a page of their own)
        raise Refused(404, _("There is no such action on these records."), detail=action)
    # Deciding needs only to see the record (the engine checks the approver), as on its
    # page; but through the API, only with a token that may write.
    if not view.permits("r" if deciding else "w") or not permissions.token_allows(
            view.permission_model, "w"):
        raise Refused(403, _("This token may not do that to these records."), detail=name)
    found = screen_query(view).filter(view.model.id == record_id)
    if record_id > largest(view.model.__table__.c.id) or \
            found.with_entities(view.model.id).with_for_update().first() is None:   # (in turn)
        raise Refused(404, _("There is no such record, or you may not read it."))
    record = found.populate_existing().one()
    checked_version(view, record)
    body = json_body() if request.get_data() else {}
    with committed():
        try:
            if transition is None:
                approval_step(record, action, body)
            else:
                workflow.move(record, action, current_user, target=target_of(
                    view, flow, body) if transition.target == workflow.ANY else None)
        except workflow.Refused as exc:
            raise Refused(409, _("The action was not done."), detail=str(exc)) from None
    return record_response(view, found_record(view, record_id))


def approval_step(record, action, body):
    """Request approval of ``record``, or decide it (``{"comment": ...}``; a rejection
    says why), through the approval engine. Raises workflow.Refused."""
    if action == "approval.request":
        approvals.request_approval(record, current_user)
        return
    comment = body.get("comment", "") if isinstance(body, dict) else ""
    approvals.decide(record, current_user, action.removeprefix("approval."),
                     str(comment)[:4000], via="api")


def target_of(view, flow, body):
    """Where a transition to a state of the user's choosing goes: ``to``, a related
    record's id among those the user may read (a stage), or a value."""
    from core.admin import scoped_query
    to = body.get("to") if isinstance(body, dict) else None
    if flow.relation:
        related = inspect(view.model).relationships[flow.field].mapper.class_
        found = None if not isinstance(to, int) or isinstance(to, bool) else \
            scoped_query(related, view.model).filter(related.id == to).first()
    else:
        found = to if isinstance(to, str) and to else None
    if found is None:
        raise Refused(422, _("The action was not done."),
                      errors=[error("to", _("Choose where to move it."))])
    return found


def init_app(app, admin, csrf):
    """The API's routes, and its screens: the model screens of ``admin`` by endpoint."""
    from core.admin import ModelView
    app.extensions["crm"].api_screens = {
        view.endpoint: view for view in admin._views if isinstance(view, ModelView)}
    csrf.exempt(blueprint)
    app.register_blueprint(blueprint)
