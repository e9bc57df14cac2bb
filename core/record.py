"""The record page every screen's details view renders, in the manner of Odoo's form
view: a header with the record's name, its state as a status bar and the actions that
apply; the fields in two columns, grouped by the sections the view declares; the
panels enabled addons add; and the feed of what happened to the record.

A view declares, it writes no template:

    details_sections = [(None, ["name", "customer", "amount"]),
                         (_l("Description"), ["description"])]
    state_field = "stage"     # an Enum column or a many-to-one relation; False: none

The feed merges, newest first, the record's changes in words (from the audit trail),
the notes users post, and what enabled addons add through the hook ``record.feed``
(activities, emails with their delivery state). Each source answers one page in one or
two queries, whatever the length of the feed.
"""
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from flask import current_app, g, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from wtforms import FieldList
from sqlalchemy import Date, DateTime, Enum, Numeric, Text, inspect, select
from sqlalchemy.orm import joinedload, lazyload

from core import dates, layout, outbox
from core.audit import BOOKKEEPING, SECRET_SUFFIXES
from core.db import db
from core.i18n import label, model_class
from core.models import AuditEntry, RecordNote, User

FEED_PAGE_SIZE = 20
NOTE_MAX_CHARACTERS = 10000
STATE_FIELDS = ("state", "status", "stage")   # looked for when a view names none
DASH = "\u2014"


@dataclass
class FeedItem:
    """One entry of a record's feed. ``lines``: (label, before, after) of a change;
    ``state``: a word shown as a badge (an email's "failed"); ``style``: the badge's
    Bootstrap colour."""

    at: datetime
    kind: str
    title: str
    user: str = None
    body: object = None
    lines: list = field(default_factory=list)
    state: str = None
    style: str = "secondary"
    link: str = None

    @property
    def when(self):
        return text_of(self.at)


# -- values as people read them ------------------------------------------------------------

def text_of(value, column=None, currency=None):
    """A value as a person reads it: Yes/No, dates without seconds, money with its
    currency, a fixed choice translated."""
    if value is None or value == "" or value == []:
        return DASH
    if isinstance(value, list):   # several choices of a site's field
        choices = column.info.get("choices", {}) if column is not None else {}
        return ", ".join(str(choices.get(item, item)) for item in value)
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, datetime):
        return dates.shown(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        scale = getattr(getattr(column, "type", None), "scale", None) or 0
        number = f"{value:,.{scale}f}"
        return f"{number} {currency}" if currency and scale == 2 else number
    if column is not None and isinstance(column.type, Enum):
        return choice_text(value)
    if column is not None and column.info.get("choices"):   # a site's choice field
        return str(column.info["choices"].get(value, value))
    return label(value)   # a name the suite declared (a default stage) translated


def choice_text(value):
    """A fixed choice as a word: translated, or in English capitalised ("prospect" is
    stored, "Prospect" read)."""
    text = str(label(value))
    return text[:1].upper() + text[1:]


def screen_of(model):
    """The screen (a ModelView) of ``model`` the user may read, or None; found once per
    request."""
    screens = g.setdefault("crm_screens", {})
    if model not in screens:
        admin = current_app.extensions["admin"][0]
        screens[model] = next((view for view in admin._views
                               if getattr(view, "model", None) is model
                               and getattr(view, "can_view_details", False)
                               and view.is_accessible()), None)
    return screens[model]


def link_to(record):
    """The record's name, as a link to its page where the user may open it."""
    if record is None:
        return DASH
    url = url_of(record)
    if url is None:
        return escape(label(record))
    return Markup('<a href="{}">{}</a>').format(url, label(record))


def display(view, record, name):
    """The value of field ``name`` of ``record`` on its page, as escaped HTML."""
    formatters = view.column_formatters_detail or view.column_formatters or {}
    if name in formatters:
        return escape(view.get_detail_value(None, record, name)) or DASH
    mapper = inspect(type(record))
    relation = mapper.relationships.get(name)
    value = getattr(record, name, None)
    if relation is not None:
        if relation.uselist:
            items = list(value or [])
            return Markup(", ").join(link_to(item) for item in items) if items else DASH
        return link_to(value)
    choices = (view.column_choices or {}).get(name)
    if choices and value not in (None, ""):
        return escape(str(dict(choices).get(value, value)))
    column = mapper.columns.get(name)
    text = text_of(value, column, getattr(record, "currency", None))
    if column is not None and isinstance(column.type, Text):
        return Markup('<div class="crm-text">{}</div>').format(text)
    return escape(text)


def field_label_of(model, name):
    """A field of ``model`` as its screens label it, wherever no screen is at hand."""
    fields = change_fields(model)
    if name in fields:
        return fields[name][0]
    prop = inspect(model).attrs.get(name)
    if prop is not None and hasattr(prop, "columns"):   # (a column's own info, not its
        prop = prop.columns[0]                            # attribute's)
    info = getattr(prop, "info", {}) if prop is not None else {}
    return info.get("label") or _spelled(name)


def field_label(view, name):
    labels = view.column_labels or {}
    if name in labels:
        return labels[name]
    mapper = inspect(view.model)
    prop = mapper.relationships.get(name) or mapper.columns.get(name)
    info = getattr(prop, "info", {}) or {}
    return info.get("label") or view.get_column_name(name)


# -- the page --------------------------------------------------------------------------------

def sections(view, record):
    """[(title, wide, [(label, html, field)])]: the view's ``details_sections``, or by default
    the short fields in two columns, then each long text under its own heading."""
    shown = [name for name, _label in view._details_columns
             if name not in BOOKKEEPING and name != "id"]
    declared = getattr(view, "details_sections", None)
    if declared is None:
        columns = inspect(view.model).columns
        long = [n for n in shown if n in columns and isinstance(columns[n].type, Text)]
        declared = [(None, [n for n in shown if n not in long])] + [
            (field_label(view, n), [n]) for n in long]
    declared = layout.arranged(declared, getattr(view, "field_rules", {}))
    result = []
    for title, names in declared:
        fields = [(field_label(view, n), display(view, record, n), n)
                  for n in names if n in shown]
        if fields:   # a section headed by its one field's label (a long text): no label
            wide = named_as_its_field(title, [text for text, _html, _name in fields])
            result.append((title, wide, [(None, html, n) for _l, html, n in fields] if wide
                           else fields))
    return result


def form_sections(view, form):
    """[(title, headed, [field])]: the form's fields in the record page's sections, as
    the customiser arranged them (core.layout), so that a field is found where the page
    shows it; a field no section names goes at the end of the section of the form's field
    before it, but lines (a supplier's prices), which are no part of it ("Notes"), go in
    a section of their own after it. A section of one field named as it is not
    ``headed`` (its field's label says it); nor is the form's only section."""
    sections = [(title, names, []) for title, names in layout.arranged(
        getattr(view, "details_sections", None) or [(None, [])],
        getattr(view, "field_rules", {}))]
    home = {}
    for section in sections:
        home.update({name: section for name in section[1] if name not in home})
    current = sections[0]
    fields = [f for f in form if getattr(f.widget, "input_type", None) != "hidden"]
    for each in fields:
        if each.short_name not in home and isinstance(each, FieldList):
            after = next(i for i, section in enumerate(sections) if section is current)
            current = (each.label.text, [each.short_name], [])
            sections.insert(after + 1, current)
        current = home.get(each.short_name, current)
        current[2].append(each)
    for _title, names, group in sections:
        order = {name: position for position, name in enumerate(names)}
        group.sort(key=lambda f: order.get(f.short_name, len(order)))
    found = [(title, title is not None and not named_as_its_field(
        title, [f.label.text for f in group]), group) for title, _names, group in sections
        if group]
    return found if len(found) > 1 else [(None, False, fields)]


def form_page(view, form):
    """What a form's page shows of it: its sections above, those on tabs (each
    (title, headed, [field])), and the tab opened first: the first with a field that
    did not pass, so that the message is seen (the others marked)."""
    above, tabs = in_tabs(view, form_sections(view, form))
    failed = [i for i, (_title, _headed, fields) in enumerate(tabs)
              if any(field.errors for field in fields)]
    return {"sections": above, "tabs": tabs, "open_tab": (failed or [0])[0],
            "failed_tabs": failed}


def in_tabs(view, sections):
    """(above, on tabs): a page's sections as the customiser shows them (core.layout):
    all above; or, for a model shown in tabs, the first above and each other on a tab."""
    if getattr(view, "sections_as_tabs", False):
        return sections[:1], sections[1:]
    return sections, []


def named_as_its_field(title, labels):
    """Is this a section of one field named as the section ("Notes")? Its field's label
    says it: the page and the form give it no heading of its own."""
    return len(labels) == 1 and title is not None and str(title) == str(labels[0])


def statusbar(view, record):
    """The steps of the record's state field, the current one marked; [] if none."""
    name = getattr(view, "state_field", None)
    mapper = inspect(view.model)
    if name is None:
        name = next((n for n in STATE_FIELDS if _is_state(mapper, n)), None)
    if not name or not _is_state(mapper, name):
        return []
    current = getattr(record, name)
    if name in mapper.relationships:
        related = mapper.relationships[name].mapper.class_
        order = [getattr(related, "sequence", related.id), related.id]
        options = [(option, label(option)) for option in
                   db.session.scalars(select(related).order_by(*order).limit(12))]
    else:
        options = [(value, choice_text(value)) for value in mapper.columns[name].type.enums]
    index = next((i for i, (value, _text) in enumerate(options) if value == current), -1)
    return [{"label": text, "current": i == index, "done": i < index}
            for i, (_value, text) in enumerate(options)]


def _is_state(mapper, name):
    relation = mapper.relationships.get(name)
    if relation is not None:
        return relation.direction.name == "MANYTOONE"
    column = mapper.columns.get(name)
    return column is not None and isinstance(column.type, Enum)


def header_facts(record):
    """When the record was created and last changed."""
    facts = []
    if getattr(record, "created_at", None):
        facts.append((_("Created"), escape(text_of(record.created_at))))
    if getattr(record, "updated_at", None) and record.updated_at != record.created_at:
        facts.append((_("Changed"), escape(text_of(record.updated_at))))
    return facts


def page(view, record, feed_page=1):
    """What the record page shows besides the buttons and panels."""
    above, tabs = in_tabs(view, sections(view, record))
    return {"title": label(record), "statusbar": statusbar(view, record),
            "sections": above, "tabs": tabs, "facts": header_facts(record),
            "feed": feed(view, record, feed_page), "note_limit": NOTE_MAX_CHARACTERS}


# -- the feed ----------------------------------------------------------------------------------

def feed(view, record, page_number=1):
    """One page of the record's feed, newest first: {"items", "page", "more"}. Each
    source gives its newest ``page x size + 1`` entries; merged and cut to the page."""
    page_number = max(1, page_number)
    wanted = page_number * FEED_PAGE_SIZE + 1
    model_name = view.model.__name__
    items = (changes(view, record, wanted) + notes(model_name, record.id, wanted)
             + emails(model_name, record.id, wanted)
             + approval_steps(model_name, record.id, wanted))
    hooks = current_app.extensions["crm"].hooks
    for found in hooks.call("record.feed", model_name, record, wanted):
        items.extend(found)
    items.sort(key=lambda item: item.at, reverse=True)
    start = (page_number - 1) * FEED_PAGE_SIZE
    return {"items": items[start:start + FEED_PAGE_SIZE], "page": page_number,
            "more": len(items) > start + FEED_PAGE_SIZE}


def notes(model_name, record_id, limit):
    rows = db.session.scalars(
        select(RecordNote).options(joinedload(RecordNote.user).lazyload(User.groups))
        .where(RecordNote.model == model_name, RecordNote.record_id == record_id)
        .order_by(RecordNote.id.desc()).limit(limit)).all()
    return [FeedItem(at=note.at, kind="note", title=_("Note"), user=user_name(note.user),
                     body=note.body) for note in rows]


EMAIL_STYLES = {"delivered": "success", "failed": "danger", "retrying": "warning"}


def emails(model_name, record_id, limit):
    """Emails sent from the record, with their delivery state as the outbox knows it."""
    rows = outbox.messages_for(model_name, record_id, limit)
    senders = {user.id: user_name(user) for user in db.session.scalars(
        select(User).options(lazyload(User.groups)).where(
            User.id.in_({row["created_by_id"] for row in rows if row["created_by_id"]})))
               } if rows else {}
    items = []
    for row in rows:
        body = _("To %(recipients)s", recipients=row["recipients"])
        if row["error"]:
            body += "\n" + outbox.error_text(row["error"])
        items.append(FeedItem(at=row["created_at"], kind="email",
                              title=_("Email: %(subject)s", subject=row["subject"]),
                              user=senders.get(row["created_by_id"]), body=body,
                              state=choice_text(row["state"]),
                              style=EMAIL_STYLES.get(row["state"], "secondary")))
    return items


APPROVAL_TITLES = {"submit": _l("Submitted for approval"), "approve": _l("Approved"),
                   "reject": _l("Rejected"), "restart": _l("Approval restarted")}
APPROVAL_STYLES = {"approve": "success", "reject": "danger", "submit": "info",
                   "restart": "warning"}


def approval_lines(facts, names):
    """A submission or decision of the audit trail in words: policy, step, on whose
    behalf, comment. ``names``: {user id: name}."""
    lines = [_("Policy: %(policy)s", policy=label(facts.get("policy", ""))),
             _("Step: %(step)s", step=label(facts.get("step", "")))]
    if facts.get("on_behalf_of"):
        lines.append(_("On behalf of %(user)s, who is away",
                       user=names.get(facts["on_behalf_of"], "")))
    if facts.get("comment"):
        lines.append(facts["comment"])
    return lines


def approval_steps(model_name, record_id, limit):
    """Each submission and decision on the record's approvals, from the audit trail."""
    from core import approvals
    entries = approvals.history(model_name, record_id, limit)
    if not entries:
        return []
    ids = {entry.user_id for entry in entries} | {
        json.loads(entry.changes).get("on_behalf_of") for entry in entries}
    names = {user.id: user_name(user) for user in db.session.scalars(
        select(User).options(lazyload(User.groups)).where(User.id.in_(ids - {None})))}
    items = []
    for entry in entries:
        lines = approval_lines(json.loads(entry.changes), names)
        items.append(FeedItem(at=entry.at, kind="approval", title=_("Approval"),
                              user=names.get(entry.user_id), body="\n".join(lines),
                              state=str(APPROVAL_TITLES.get(entry.action, entry.action)),
                              style=APPROVAL_STYLES.get(entry.action, "secondary")))
    return items


def changes(view, record, limit):
    """The record's creation and changes, in words (describe)."""
    entries = db.session.scalars(
        select(AuditEntry).options(joinedload(AuditEntry.user).lazyload(User.groups))
        .where(AuditEntry.model == view.model.__name__, AuditEntry.record_id == record.id,
               AuditEntry.action.in_(("create", "update")))
        .order_by(AuditEntry.id.desc()).limit(limit)).all()
    updates = [entry for entry in entries if entry.action == "update"]
    hidden = hidden_keys(view)
    described = dict(zip((entry.id for entry in updates), describe(
        view.model, [{key: change for key, change in json.loads(entry.changes).items()
                      if key not in hidden} for entry in updates],
        getattr(record, "currency", None))))
    items = []
    for entry in entries:
        user = user_name(entry.user)
        if entry.api_token:
            user = _("%(user)s, through the API (%(token)s)", user=user, token=entry.api_token)
        if entry.action == "create":
            items.append(FeedItem(at=entry.at, kind="create", title=_("Created"), user=user))
        elif described[entry.id]:
            items.append(FeedItem(at=entry.at, kind="change", title=_("Changed"), user=user,
                                  lines=described[entry.id]))
    return items


def hidden_keys(view):
    """The audit keys of the fields hidden from the user on ``view`` (a relation's by
    its foreign key)."""
    hidden = view.restricted()[0] if hasattr(view, "restricted") else frozenset()
    if not hidden:
        return hidden
    return hidden | {column.key for relation in inspect(view.model).relationships
                     if relation.key in hidden for column in relation.local_columns}


def describe(model, found_changes, currency=None):
    """Each of ``found_changes`` ({key: [before, after]}, as the audit trail records
    them) as (label, before, after) lines in words: field labels, names of related
    records, Yes/No, translated choices, money with its currency; internal columns and
    secrets left out. The feed and the audit log both read changes so."""
    fields = change_fields(model)
    names = _related_names(fields, found_changes)
    return [[(fields[key][0], _change_text(fields[key], before, names, currency),
              _change_text(fields[key], after, names, currency))
             for key, (before, after) in sorted(found.items(),
                                                key=lambda item: _order(fields, item[0]))
             if key in fields and "***" not in (before, after)]
            for found in found_changes]


def change_fields(model):
    """{audit key: (label, column or None, related class or None, position)} of what
    people read of a change of ``model``, labelled as its screens label them (a foreign
    key by its relation); worked out once per request."""
    found = g.setdefault("crm_change_fields", {})
    if model in found:
        return found[model]
    labels = {}
    for screen in reversed(current_app.extensions["admin"][0]._views):   # the first wins
        if getattr(screen, "model", None) is model:
            labels.update(screen.column_labels or {})
    mapper = inspect(model)
    fields = {}
    for position, column in enumerate(mapper.columns):
        if (column.primary_key or column.key in BOOKKEEPING or column.info.get("derived")
                or column.key.endswith(SECRET_SUFFIXES)):
            continue
        relation = next((r for r in mapper.relationships
                         if not r.uselist and list(r.local_columns) == [column]), None)
        if column.foreign_keys and relation is None:
            continue   # an id with no relation to name its record by
        prop = relation if relation is not None else column
        fields[column.key] = (labels.get(prop.key) or prop.info.get("label")
                              or _spelled(prop.key), column,
                              relation.mapper.class_ if relation is not None else None,
                              position)
    for relation in mapper.relationships:
        if relation.secondary is not None:
            fields[relation.key] = (labels.get(relation.key) or relation.info.get("label")
                                    or _spelled(relation.key), None, None, 1000)
    fields["merged"] = (_("Merged records"), None, None, 1001)   # core.merge's entry
    found[model] = fields
    return fields


def _spelled(key):
    """A column without a label, spelled as a word ("due_on": "Due on")."""
    return key.replace("_", " ").capitalize()


def _order(fields, key):
    return fields[key][3] if key in fields else 10 ** 6


def _related_names(fields, found_changes):
    """{(class, id): name} of every related record the changes name: those the session
    holds already, then one query per related model for the rest."""
    wanted = {}
    for found in found_changes:
        for key, values in found.items():
            related = fields.get(key, (None, None, None))[2]
            if related is not None:
                wanted.setdefault(related, set()).update(v for v in values if v is not None)
    names = {}
    for related, ids in wanted.items():
        missing = []
        for record_id in ids:
            held = db.session.identity_map.get(db.session.identity_key(related, record_id))
            if held is not None:
                names[(related, record_id)] = label(held)
            else:
                missing.append(record_id)
        if missing:
            for row in db.session.scalars(select(related).where(related.id.in_(missing))):
                names[(related, row.id)] = label(row)
    return names


def _change_text(field_info, value, names, currency):
    _label, column, related, _position = field_info
    if value is None or value == "":
        return DASH
    if related is not None:
        return names.get((related, value)) or _("a deleted record")
    if isinstance(value, list) and column is None:   # the names of linked records
        return ", ".join(label(item) for item in value) or DASH
    if column is not None:
        kind = column.type
        if isinstance(value, str) and isinstance(kind, (Date, DateTime)):
            try:
                parsed = (datetime if isinstance(kind, DateTime) else date).fromisoformat(value)
                return text_of(parsed)
            except ValueError:
                return value
        if isinstance(kind, Numeric) and isinstance(value, (str, int, float)):
            try:
                return text_of(Decimal(str(value)), column, currency)
            except ArithmeticError:
                return str(value)
        return text_of(value, column)
    return str(value)


def user_name(user):
    """How a user is named where people read it: full name, else user name."""
    return (user.full_name or user.username) if user is not None else None


# -- records named by model and id (what an activity or a note is about) -------------------

def reference(record):
    """"Opportunity:5": how a form or a link names a record of any model."""
    return f"{type(record).__name__}:{record.id}"


def find(text):
    """The record ``text`` (a reference) names, read through its screen, so within the
    user's record rules; None if there is none, or the user may not read it."""
    name, _sep, number = (text or "").partition(":")
    model = model_class(name) if number.isdigit() else None
    if model is None:
        return None
    screen = screen_of(model)
    if screen is None:
        return None
    return screen.get_query().filter(model.id == int(number)).one_or_none()


def url_of(record):
    """The address of the record's page, or None where the user has no screen for it."""
    screen = screen_of(type(record))
    return url_for(f"{screen.endpoint}.details_view", id=record.id) if screen else None
