"""The one base view every generated screen extends, and the assembly of the enabled
addons' screens into one menu tree.

Security by construction: the base view checks the user's access letters before every
request to a screen and narrows every query it makes (list rows and counts, single
records, bulk actions, exports, look-ups of related records) by the record rules.
"""
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import parse_qsl, urlencode

from flask import (
    abort,
    current_app,
    flash,
    g,
    has_request_context,
    redirect,
    request,
    session,
    url_for,
)
from flask_admin import babel as admin_babel
from flask_admin import expose
from flask_admin.menu import SubMenuCategory
from flask_admin.actions import action
from flask_admin.contrib import sqla
from flask_admin.contrib.sqla.ajax import QueryAjaxModelLoader
from flask_admin.contrib.sqla.form import AdminModelConverter
from flask_admin.contrib.sqla.typefmt import DEFAULT_FORMATTERS
from flask_admin.form import BaseForm, Select2Field
from flask_admin.helpers import get_redirect_target
from flask_admin.model.fields import AjaxSelectField
from flask_admin.model.form import converts
from flask_babel import gettext as _
from flask_babel import get_locale, ngettext
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_login import current_user
from flask_wtf import FlaskForm
from jinja2 import pass_context
from markupsafe import Markup, escape
from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Enum,
    Integer,
    Numeric,
    String,
    Text,
    false,
    func,
    inspect,
    literal_column,
    or_,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Query, aliased, joinedload, selectinload, undefer
from flask_admin.contrib.sqla.validators import Unique
from flask_admin.model import BaseModelView
from flask_admin.model.base import filter_char_re, filter_compact_re
from wtforms.fields import SelectMultipleField
from wtforms.fields.core import UnboundField
from wtforms.validators import (
    AnyOf,
    DataRequired,
    InputRequired,
    Length,
    Optional,
    StopValidation,
    ValidationError,
)

from core import (approvals, customise, dates, exporting, layout, merge, permissions, transfer,
                  uploads)
from core import workflow
from core import record as record_page
from core.audit import BOOKKEEPING
from core.db import DISPLAY_ATTRIBUTES, LINKED_TO_ITSELF, among, db
from core.i18n import LazyLabel, label, lazy_label
from core.models import OwnedMixin, RecordNote, SavedFilter, User
from core.security import local_path
from core.util import int_ids


class AdminForm(BaseForm, FlaskForm):
    """Flask-Admin's form base with Flask-WTF's CSRF token: one form base for both,
    so the app-wide CSRF protection and the admin forms agree."""

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators=extra_validators)
        # Flask-Admin shows under a field only the errors that are str; a validator's
        # lazy_gettext message would be dropped without a word.
        for form_field in self:
            if isinstance(form_field.errors, list):
                form_field.errors = [str(error) if isinstance(error, LazyString) else error
                                     for error in form_field.errors]
        return valid


# Which access letter each Flask-Admin endpoint needs. Checked before every request to
# a screen, whatever flags a subclass sets, so no addon can publish an unchecked path.
ENDPOINT_LETTERS = {
    "index_view": "r", "details_view": "r", "ajax_lookup": "r",
    "create_view": "c", "edit_view": "w", "ajax_update": "w",
    "delete_view": "d", "export": "x", "import_view": "c",
    # Saved filters are the user's own settings: reading the list is enough.
    "save_filter": "r", "delete_filter": "r",
    # Merging deletes the records merged away (and writes to the kept one).
    "merge_view": "d",
    # A note on the feed changes nothing of the record: whoever may read it may post.
    "add_note": "r",
    # Transitions and requests change the record; deciding an approval needs only to
    # see it: the approval engine checks that the user is an approver of the step.
    "transition_view": "w", "request_approval": "w", "approve": "r", "refuse": "r",
}
LIST_ARGS = ("search", "sort", "desc", "page_size")  # what a saved filter keeps, with flt*
ACTION_LETTERS = {"delete": "d", "reassign": "w", "merge": "d"}  # others: "w"

CONFIRM_FIELD = "crm_confirmed"   # "Save anyway" after form warnings
LIST_COLUMN_LIMIT = 8
SEARCH_COLUMN_LIMIT = 5
# A list counts its rows up to here, or to PAGES_PAST pages past the one shown, and
# then says "10000+": counting every match of a broad search reads the whole table.
COUNT_LIMIT = 10_000
# A searched or filtered list counts to here ("1000+"): its matches are found by reading
# the rows in turn (a search inside names has no index under three characters), and
# whoever meets more than a thousand narrows the search rather than pages through them.
NARROWED_COUNT_LIMIT = 1_000
# A search's matches in the site's fields named in the list's statements, up to this many
# (with_custom_search); more are looked up by each statement.
NAMED_MATCHES = 1_000
PAGES_PAST = 4


class AtLeast(int):
    """A count that stopped at its limit: there are more."""

    def __str__(self):
        return f"{int(self)}+"


class CountUpTo(Query):
    """A list's count query that stops after ``g.crm_count_limit`` rows (COUNT_LIMIT):
    scalar() gives the count, or AtLeast(limit) when there are more."""

    def scalar(self):
        limit = g.get("crm_count_limit", COUNT_LIMIT)
        rows = self.with_entities(literal_column("1")).limit(limit + 1).subquery()
        found = self.session.query(func.count()).select_from(rows).scalar()
        return AtLeast(limit) if found > limit else found


def restrict_fields(form, record, hidden, readonly):
    """Leave the ``hidden`` fields out of the page and show the ``readonly`` ones
    disabled; neither is read from what is posted, nor checked."""
    for name in (hidden | readonly) & set(form._fields):
        # Kept in the form, holding the record's value, for the screen's own checks
        # (a duplicate search reads the phone), but never read from the request.
        field = form[name]
        field.data = getattr(record, name, None) if record is not None else None
        field.flags.required = False
        field.validate = lambda *_args, **_kwargs: True
        field.populate_obj = lambda *_args: None
        if name in hidden:
            field.widget = NOT_SHOWN
        else:
            field.render_kw = {**(field.render_kw or {}), "disabled": True}


class RestrictedLines:
    """The widget of a form's lines whose fields have rules: the blank line that "Add"
    copies (made as the list is drawn) restricted as the lines are."""

    def __init__(self, widget, hidden, readonly):
        self.widget, self.hidden, self.readonly = widget, hidden, readonly

    def __call__(self, field, template=None, **kwargs):
        if template is not None:
            restrict_fields(template.form, None, self.hidden, self.readonly)
        return self.widget(field, template=template, **kwargs)


class NotShown:
    """The widget of a field hidden from the user: Flask-Admin's form lays out no
    hidden input, and this one writes nothing (no value in the page)."""

    input_type = "hidden"

    def __call__(self, field, **kwargs):
        return Markup("")


NOT_SHOWN = NotShown()


@dataclass
class FormWarning:
    """Something the user should see before saving, but may override ("Save anyway"):
    a possible duplicate, an overlapping appointment. ``links``: (label, url) pairs."""

    text: str
    links: list = field(default_factory=list)


def reading(method):
    """Mark a bulk action that changes nothing (printing, say): it needs only "r"."""
    method.access_letter = "r"
    return method


def deny():
    """Anonymous visitors go to the login page; signed-in users get 403."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path))
    abort(403)


class ModelView(sqla.ModelView):
    """The base of every generated screen.

    Anything a subclass leaves unset (columns, search, filters, labels, look-ups) is
    derived from the model, so an addon can declare a screen with no code at all.
    """

    form_base_class = AdminForm
    model_form_converter = None  # set below: ScopedConverter
    filter_converter = dates.DateFilterConverter()  # dates typed as the inputs take them
    can_view_details = True
    export_types = ["csv", "xlsx"]
    can_set_page_size = True
    named_filter_urls = True  # flt0_priority_greater_than=1: readable, stable links
    page_size_options = (20, 50, 100)
    # What the screen offers at all; the user's rights narrow it further. A subclass may
    # still set Flask-Admin's can_create etc. to False to switch a button off for all.
    allow_create = allow_edit = allow_delete = allow_export = allow_import = True
    allow_merge = False   # a screen for records that may have duplicates sets it
    list_template = "admin/crm_list.html"

    def __init__(self, model, session=None, custom_fields=(), field_rules=None,
                 sections_as_tabs=False, **kwargs):
        # The site's fields of this model (core.customise), removed ones left out, and
        # its rules of who sees which field where, and whether on tabs (core.layout).
        self.custom_fields = [f for f in custom_fields if f.removed_at is None]
        self.field_rules = field_rules or {}
        self.sections_as_tabs = sections_as_tabs
        self._configure_from_model(model)
        super().__init__(model, session or db, **kwargs)
        offered = set(form_field_names(self._create_form_class)) | set(
            form_field_names(self._edit_form_class))
        if offered & readonly_fields(model):
            # Workflow steps, approvals and computed totals are set by the application:
            # a form (and so an import) that set them would skip their rules.
            raise TypeError(f"{type(self).__name__} offers read-only fields in its forms: "
                            f"{', '.join(sorted(offered & readonly_fields(model)))}")

    # -- permissions -------------------------------------------------------------

    @property
    def permission_model(self):
        return self.model.__name__

    def permits(self, letter, user=None):
        """May ``user`` (the signed-in one when not given) do ``letter`` here?"""
        return permissions.permits(user or current_user, self.permission_model, letter)

    def is_accessible(self):
        return current_user.is_authenticated and self.permits("r")

    def inaccessible_callback(self, name, **kwargs):
        return deny()

    def _handle_view(self, name, **kwargs):
        if not current_user.is_authenticated or not self.is_accessible():
            return deny()
        # An endpoint a subclass adds needs "w" to change anything, "r" to look.
        letter = ENDPOINT_LETTERS.get(name, "r" if request.method in ("GET", "HEAD") else "w")
        if name == "action_view":
            letter = self.action_letter(request.form.get("action"))
        if not self.permits("r") or not self.permits(letter):
            return deny()
        return None

    # Buttons follow the user's rights; _handle_view checks again on every request.
    @property
    def can_create(self):
        return self.allow_create and self.permits("c")

    @property
    def can_edit(self):
        return self.allow_edit and self.permits("w")

    @property
    def can_delete(self):
        return self.allow_delete and self.permits("d")

    @property
    def can_export(self):
        return self.allow_export and self.permits("x")

    @property
    def can_merge(self):   # and "d", checked for the merge endpoint and action
        return self.allow_merge and self.permits("w")

    @property
    def can_import(self):
        return self.allow_import and self.allow_create and self.permits("c")

    # -- fields hidden or read-only for the user (core.layout), on every path -----------

    def restricted(self):
        """(hidden, read-only) field names for the current user."""
        return layout.restricted(current_user, self.model.__name__, self.field_rules)

    def grouped_by_fields(self):
        """The site's fields the current user may group this model's records by."""
        hidden = set(self.restricted()[0])
        return [field for field in self.custom_fields
                if field.kind in customise.GROUPED and field.name not in hidden]

    def _visible(self, columns):
        hidden = self.restricted()[0]
        return [column for column in columns if column[0] not in hidden] if hidden else columns

    # Flask-Admin reads these attributes on every list, record page and search: the user's
    # own narrowing of what the screen was built with.
    _list_columns = property(lambda self: self._visible(self.__dict__["_list_columns"]),
                             lambda self, value: self.__dict__.update(_list_columns=value))
    _details_columns = property(
        lambda self: self._visible(self.__dict__.get("_details_columns", [])),
        lambda self, value: self.__dict__.update(_details_columns=value))
    _search_fields = property(lambda self: self._searched_now(),
                              lambda self, value: self.__dict__.update(_search_fields=value))

    def _searched_now(self):
        """The columns this request's search looks in: not the user's hidden fields, and
        the site's fields only for a search of customise.SEARCHED_LENGTH characters or
        more (as with_custom_search)."""
        hidden = set(self.restricted()[0])
        if has_request_context() and \
                len(request.args.get("search", "").strip()) < customise.SEARCHED_LENGTH:
            hidden |= {f.name for f in self.custom_fields}
        stored = self.__dict__.setdefault("_search_fields", [])
        if not hidden:   # the list itself (Flask-Admin appends to it as it builds it)
            return stored
        return [(column, path) for column, path in stored
                if self._field_of(column, path) not in hidden]

    def _apply_search(self, query, count_query, joins, count_joins, search):
        if not self._search_fields:   # all hidden from the user: nothing is found
            return (query.filter(false()), count_query.filter(false())
                    if count_query is not None else None, joins, count_joins)
        return super()._apply_search(query, count_query, joins, count_joins, search)

    def get_export_columns(self):
        return self._visible(super().get_export_columns())

    def layout_fields(self):
        """{field: label} of every field the screen shows somewhere, to anyone (what
        Settings > Customise > Layout arranges)."""
        shown = [name for key in ("_details_columns", "_list_columns")
                 for name, _label in self.__dict__.get(key, ())]
        names = shown + form_field_names(self._create_form_class) + form_field_names(
            self._edit_form_class)
        return {name: record_page.field_label(self, name) for name in dict.fromkeys(names)
                if name not in BOOKKEEPING and name != "id"}

    def required_fields(self):
        """The fields a new record's form may not leave empty."""
        form = self._create_form_class(formdata=None, meta={"csrf": False})
        return {field.name for field in form if field.flags.required}

    def _field_of(self, column, path):
        """The field of this model a search column or filter reads: its own column's
        key, or the relation it goes through."""
        if path:
            return path[0].key
        return getattr(column, "key", None)

    def _filter_field(self, flt):
        return getattr(flt, "crm_field", None) or self._field_of(getattr(flt, "column", None), ())

    def _get_list_filter_args(self):
        hidden = self.restricted()[0]
        found = super()._get_list_filter_args()
        if not hidden or not found:
            return found
        return [(idx, name, value) for idx, name, value in found
                if self._filter_field(self._filters[idx]) not in hidden]

    def _get_filter_groups(self):
        # Flask-Admin turns every filter's lazy texts into strings at every page; they
        # are made once (with their options) when the view is, so once per language
        # here (20 custom fields' filters cost a tenth of the list page). Each page gets
        # its own copies: a screen sets the options it reads per user in them.
        language = str(get_locale())
        cache = self.__dict__.setdefault("_crm_filter_groups", {})
        if language not in cache:
            cache[language] = super()._get_filter_groups()
        if not cache[language]:
            return cache[language]
        hidden = self.restricted()[0]
        kept = ((key, [dict(item) for item in items
                       if self._filter_field(self._filters[item["index"]]) not in hidden])
                for key, items in cache[language].items())
        return type(cache[language])((key, items) for key, items in kept if items)

    def create_form(self, obj=None):
        return self._restrict_form(super().create_form(obj), obj)

    def edit_form(self, obj=None):
        form = self._restrict_form(super().edit_form(obj), obj)
        if obj is not None:   # its look-ups of its own kind do not offer the record
            for name in self._links_to_itself(form):
                form[name].render_kw = {**(form[name].render_kw or {}), "data-url": url_for(
                    ".ajax_lookup", name=name, leave_out=obj.id)}
        return form

    def _links_to_itself(self, form):
        """The form's look-ups of records of the screen's own model."""
        return [name for name, loader in getattr(self, "_form_ajax_refs", {}).items()
                if loader.model is self.model and name in form]

    def _restrict_form(self, form, record):
        """The form with the fields hidden from the user left out of the page and their
        read-only ones shown disabled: neither is read from what is posted, nor checked.
        Its lines (inline models) follow their own screen's rules."""
        restrict_fields(form, record, *self.restricted())
        relationships = inspect(self.model).relationships
        for inline in self.inline_models or ():
            line_model = self._inline_class(inline)
            hidden, readonly = layout.restricted_here(line_model.__name__)
            for name in [r.key for r in relationships
                         if r.mapper.class_ is line_model and r.key in form]:
                lines = form[name]
                for entry in lines.entries:   # the record's lines, and those posted
                    restrict_fields(entry.form, entry.object_data, hidden, readonly)
                if hidden or readonly:        # and the blank line "Add" copies
                    lines.widget = RestrictedLines(lines.widget, hidden, readonly)
        return form

    # -- record rules on every query ---------------------------------------------------

    def scaffold_auto_joins(self):
        # Flask-Admin joins every related column of the list; a joined collection
        # multiplies rows and cannot stream (exports). Collections load in get_query.
        return [j for j in super().scaffold_auto_joins() if not j.property.uselist]

    def get_query(self):
        return permissions.apply_rules(
            self._with_collections(super().get_query(), self._listed_columns()), self.model)

    def with_custom_search(self, condition, text):
        """A screen's own search ``condition`` widened to the site's text fields (the
        other screens search them with their searchable columns): the records whose
        fields hold the text are found through the fields' own indexes (db.among)."""
        hidden = self.restricted()[0]
        searched = [f.name for f in customise.searched(self.custom_fields) if f.name not in hidden]
        if not searched or len(text.strip()) < customise.SEARCHED_LENGTH:
            return condition
        # The model again under another name (not the list's own table, which a subquery
        # would correlate to), made once: a new one took 3 ms per search to set up.
        if "_crm_searched_alias" not in self.__dict__:
            self._crm_searched_alias = aliased(self.model)
        found = self._crm_searched_alias
        fields = [getattr(found, name) for name in searched]
        pattern = "%" + "".join("\\" + c if c in "%_\\" else c for c in text.strip()) + "%"
        # ILIKE on PostgreSQL, which its trigram index serves (icontains would not: lower())
        holding = select(found.id).where(or_(*[field.ilike(pattern, escape="\\")
                                              for field in fields]))
        # Looked up once, before the list's count and page, which then name the few
        # records found (or none): the two statements each looking in the fields again
        # took a third longer to plan and run on a million customers.
        ids = db.session.scalars(holding.limit(NAMED_MATCHES + 1)).all()
        if len(ids) > NAMED_MATCHES:
            return or_(condition, among(db.session, self.model.id, holding))
        return or_(condition, self.model.id.in_(ids)) if ids else condition

    def _with_custom_fields(self, query, listed_only=False):
        """The query reading the site's fields too (deferred: see core.customise): all
        of them, or those the list shows."""
        fields = [f for f in self.custom_fields if f.in_list or not listed_only]
        if not fields:
            return query
        return query.options(*[undefer(getattr(self.model, customise.column_key(f)))
                               for f in fields])

    def _listed_columns(self):
        return self._list_columns + (getattr(self, "_export_columns", None) or [])

    def _with_collections(self, query, columns):
        """The query loading the collections among ``columns`` (each in one more query),
        each narrowed to the related records the user may read: a competitor's list
        of customers shows only the user's own. The lines edited on the record's own
        form (its inline models) are parts of it with no rights of their own: they come
        whole with the record, or saving its form would delete the ones left out."""
        relationships = inspect(self.model).relationships
        parts = {self._inline_class(inline) for inline in self.inline_models or ()}
        for name in dict.fromkeys(name for name, _label in columns):
            relation = relationships.get(name)
            if relation is not None and relation.uselist:
                attribute = getattr(self.model, name)
                condition = None if relation.mapper.class_ in parts \
                    else permissions.rule_filter(relation.mapper.class_)
                query = query.options(selectinload(
                    attribute if condition is None else attribute.and_(condition)))
        return query

    @staticmethod
    def _inline_class(inline):
        """The model of an entry of ``inline_models`` (a model, a (model, options) pair,
        or an InlineFormAdmin)."""
        if isinstance(inline, tuple):
            return inline[0]
        return getattr(inline, "model", inline)

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True,
                 page_size=None):
        limit = NARROWED_COUNT_LIMIT if search or filters else COUNT_LIMIT
        g.crm_count_limit = max(limit, ((page or 0) + 1 + PAGES_PAST)
                                * (page_size or self.page_size))
        count, query = super().get_list(page, sort_column, sort_desc, search, filters,
                                        execute=False, page_size=page_size)
        if not execute:
            return count, query
        # The page's ids first, then its rows: the ids of a deep page come from the
        # indexes alone (owner, sort column, id), without reading every row skipped.
        ids = [row[0] for row in query.with_entities(self.model.id)]
        if not ids:
            return count, []
        rows = self._with_custom_fields(self.get_query(), listed_only=True) \
            .filter(self.model.id.in_(ids))
        for join in self._auto_joins:
            rows = rows.options(joinedload(join))
        by_id = {row.id: row for row in rows}
        return count, [by_id[i] for i in ids if i in by_id]

    def get_count_query(self):
        return permissions.apply_rules(
            CountUpTo([func.count("*")], db.session()).select_from(self.model), self.model)

    def get_one(self, id):
        # Through get_query, so whatever narrows the list narrows single records too. A
        # record outside the rules answers 404, exactly like one that does not exist.
        ids = int_ids([id])
        checked = g.pop("crm_checked_record", None)   # (edit_view has just read it)
        if checked is not None and ids and checked.id == ids[0]:
            return checked
        listed = self._listed_columns()
        query = self._with_collections(self._with_custom_fields(self.get_query()), [
            column for column in getattr(self, "_details_columns", None) or []
            if column not in listed])
        record = query.filter(self.model.id == ids[0]).one_or_none() if ids else None
        if record is None:
            abort(404)
        return record

    def edit_refusal(self, record):
        """Why the user may not change ``record`` now (its state has locked it, someone
        else has it checked out), or None. The edit screen and the API both ask."""
        return None

    @expose("/edit/", methods=("GET", "POST"))
    def edit_view(self):
        ids = int_ids([request.args.get("id", "")])
        if ids:
            record = self.get_one(ids[0])
            refusal = self.edit_refusal(record)
            if refusal:
                flash(refusal, "error")
                return redirect(self.get_url(".details_view", id=record.id)
                                if self.can_view_details else self.get_url(".index_view"))
            g.crm_checked_record = record
        return super().edit_view()

    def _on_model_change(self, form, model, is_created):
        # The state first: a query below would flush its change unchecked, which the
        # workflow's guard refuses.
        with db.session.no_autoflush:
            self._workflow_refusal(form, model, is_created, settle=False)
        # Here rather than in on_model_change, which subclasses override.
        refusal = self._owner_refusal(model)
        if refusal:
            if "owner" in form:
                form["owner"].errors.append(refusal)
            raise ValidationError(refusal)
        super()._on_model_change(form, model, is_created)
        self._workflow_refusal(form, model, is_created)

    def _workflow_refusal(self, form, record, is_created, settle=True):
        """A form or an import row that sets the state must make one of the user's
        transitions; one that changes what an approval covers must wait for it, or
        starts it again (core.workflow, core.approvals)."""
        try:
            workflow.check_form_change(record, current_user, is_created)
            if settle and not is_created:
                approvals.settle(record, current_user)
        except workflow.Refused as exc:
            flow = workflow.of(self.model)
            if flow is not None and flow.field in form:
                form[flow.field].errors.append(str(exc))
            raise ValidationError(str(exc)) from None

    def _owner_refusal(self, record):
        """Why the user may not give ``record`` to its owner, or None."""
        if not isinstance(record, OwnedMixin):
            return None
        owner_id = record.owner.id if record.owner is not None else record.owner_id
        if owner_id is None or permissions.may_own(current_user, self.model, owner_id):
            return None
        return _("You may not give this record to that owner.")

    def edited_record(self):
        """The record the submitted form edits: on the edit screen, ?id= read through
        get_one (the record rules apply); None when creating or importing, whatever id
        the request carries."""
        if request.endpoint != f"{self.endpoint}.edit_view":
            return None
        return self.get_one(request.args.get("id", ""))

    def _create_ajax_loader(self, name, options):
        return ScopedAjaxLoader(name, self.session, self.model, options)

    def init_actions(self):
        super().init_actions()
        # The letter each bulk action needs: the core's table, else what the action says
        # (@reading for one that changes nothing), else "w".
        self._action_letters = {
            name: ACTION_LETTERS.get(name) or getattr(handler, "access_letter", "w")
            for name, (handler, _text, _confirmation) in self._actions_data.items()}
        for name, (handler, text, confirmation) in list(self._actions_data.items()):
            self._actions_data[name] = (self._on_visible_rows(handler), text, confirmation)

    def _on_visible_rows(self, handler):
        """Every bulk action, an addon's own included, receives only the ids of rows
        the user may see (as integers), whatever ids the form posted."""
        def run(ids):
            wanted = int_ids(ids)
            visible = self.get_query().filter(self.model.id.in_(wanted)).all() if wanted else []
            return handler([record.id for record in visible])
        return run

    @action("reassign", _l("Reassign to another owner"))
    def action_reassign(self, ids):
        return redirect(url_for("reassign.index", model=self.model.__name__,
                                ids=",".join(map(str, ids))))

    @action("merge", _l("Merge into one"))
    def action_merge(self, ids):
        return redirect(self.get_url(".merge_view", ids=",".join(map(str, ids))))

    def _is_action_allowed(self, name):
        if name == "reassign" and not (issubclass(self.model, OwnedMixin) and current_user.is_admin):
            return False
        if name == "merge" and not self.can_merge:
            return False
        return self.permits(self.action_letter(name)) and super().is_action_allowed(name)

    def action_letter(self, name):
        return self._action_letters.get(name, "w")

    # -- warnings the user may override before saving -----------------------------------

    create_template = "admin/crm_create.html"
    edit_template = "admin/crm_edit.html"

    def form_warnings(self, form, record_id):
        """FormWarnings shown above a valid form before it is saved; the user saves
        anyway or changes the form. ``record_id`` is None on create. Subclasses add
        theirs (possible duplicates, overlapping appointments)."""
        return []

    def validate_form(self, form):
        if not super().validate_form(form) or not self._not_linked_to_itself(form):
            return False
        saving = request.endpoint in (f"{self.endpoint}.create_view", f"{self.endpoint}.edit_view")
        if saving and request.method == "POST" and not request.form.get(CONFIRM_FIELD):
            record_id = next(iter(int_ids([request.args.get("id", "")])), None)
            warnings = self.form_warnings(form, record_id)
            if warnings:
                g.crm_form_warnings = warnings
                return False
        return True

    def _not_linked_to_itself(self, form):
        """A record linked to itself (its own parent company) is a form error."""
        edited = next(iter(int_ids([request.args.get("id", "")])), None) \
            if request.endpoint == f"{self.endpoint}.edit_view" else None
        linked = [] if edited is None else [
            name for name in self._links_to_itself(form)
            if getattr(form[name].data, "id", None) == edited]
        for name in linked:
            form[name].errors = [*form[name].errors, str(LINKED_TO_ITSELF)]
        return not linked

    # -- the record page: header, fields, panels from any enabled addon, and the feed -------

    details_template = "admin/crm_details.html"
    details_sections = None   # [(title or None, [field, ...])]: see core/record.py
    state_field = None        # the field shown as a status bar; False for none
    return_to_origin = False  # after saving, back to the record page the form came from

    def render(self, template, **kwargs):
        if g.get("crm_form_warnings"):
            # Flask-Admin flashes "Failed to ..." for a form that did not pass; this one
            # is valid and only waits for "Save anyway".
            session["_flashes"] = [f for f in session.get("_flashes", []) if f[0] != "danger"]
        record = kwargs.get("model")
        if template == self.details_template and record is not None:
            kwargs["buttons"] = (self.detail_buttons(record) + self.workflow_buttons(record)
                                 + self._hooked_buttons(record))
            kwargs["approval"] = self.approval_box(record)
            kwargs["panels"] = self.detail_panels(record)
            feed_page = next(iter(int_ids([request.args.get("feed_page", "1")])), 1)
            kwargs["record_page"] = record_page.page(self, record, feed_page)
        if template in (self.create_template, self.edit_template) and "form" in kwargs:
            kwargs["form_page"] = record_page.form_page(self, kwargs["form"])
        kwargs["crm_admin_gettext"] = admin_gettext       # see crm_list.html
        kwargs["crm_admin_ngettext"] = admin_ngettext
        return super().render(template, **kwargs)

    def detail_buttons(self, record):
        """Buttons in a record's header, for what can be done with it now: each a
        dict with ``label`` and ``url``, and optionally ``post`` (True: a form with the
        CSRF token, for anything that changes data), ``icon``, ``style`` (a Bootstrap
        button class) and ``confirm`` (a question asked first). The endpoints behind
        them go through the same access checks as every other."""
        return []

    def _hooked_buttons(self, record):
        """Buttons other addons add: to this model's records (hook ``actions.<Model>``,
        called with the record) and to any record (``record.actions``, called with the
        model's name and the record). Each handler returns a list of buttons or None."""
        hooks = current_app.extensions["crm"].hooks
        found = hooks.call(f"actions.{self.model.__name__}", record) + hooks.call(
            "record.actions", self.model.__name__, record)
        return [button for buttons in found for button in buttons]

    def detail_panels(self, record):
        """Panels that enabled addons add to this model's detail page through the hook
        ``details.<Model>`` (called with the record), or to any record's through
        ``record.panels`` (called with the model's name and the record): each a dict
        with title, html and optional order, width and link."""
        hooks = current_app.extensions["crm"].hooks
        panels = hooks.call(f"details.{self.model.__name__}", record) + hooks.call(
            "record.panels", self.model.__name__, record)
        return sorted(panels, key=lambda panel: panel.get("order", 100))

    # -- workflow: transitions and approvals (core/workflow.py, core/approvals.py) ----------

    def workflow_buttons(self, record):
        """A button for each declared transition the user may make now, and "Request
        approval" where a policy asks for one."""
        buttons = [{"label": t.title(), "url": self.get_url(".transition_view",
                                                            transition=t.name, id=record.id),
                    "post": True, "icon": t.icon, "style": t.style,
                    "confirm": label(t.confirm) if t.confirm else None}
                   for t in workflow.available(record, current_user)]
        if approvals.config(self.model) and approvals.may_request(record, current_user) is None:
            buttons.append({"label": _("Request approval"), "post": True,
                            "icon": "fa-hand-paper-o", "style": "btn-outline-primary",
                            "url": self.get_url(".request_approval", id=record.id)})
        return buttons

    def approval_box(self, record):
        """What the record page shows of its approval: the request, its steps, who
        decided, and the approve/reject form for an approver of the current step."""
        if not approvals.config(self.model):
            return None
        found = approvals.latest(record)
        if found is None:
            return None
        return {"request": found, "steps": approvals.progress(found),
                "may_decide": approvals.may_decide(found, current_user),
                "approve_url": self.get_url(".approve", id=record.id),
                "refuse_url": self.get_url(".refuse", id=record.id)}

    def requested_record(self, lock=False, options=()):
        """The record of ?id= (404 outside the rules). ``lock``: its row locked first, so
        that two clicks at once wait for each other and the second sees the first's
        work; ``options``: what to load with it (what a PDF prints, say)."""
        ids = int_ids([request.args.get("id", "")])
        query = self.get_query().filter(self.model.id == (ids[0] if ids else 0))
        if lock and query.with_entities(self.model.id).with_for_update().first() is None:
            abort(404)
        record = query.options(*options).populate_existing().one_or_none()
        if record is None:
            abort(404)
        return record

    def locked_record(self):
        return self.requested_record(lock=True)

    def _after_action(self, record, work, success):
        """Run ``work`` (which raises Refused), then commit, or roll back and say why."""
        try:
            work()
            db.session.commit()
            flash(success(), "success")
        except workflow.Refused as exc:
            db.session.rollback()
            flash(str(exc), "error")
        return redirect(self.get_url(".details_view", id=record.id))

    # (not <name>: Flask-Admin passes the endpoint's name as "name")
    @expose("/transition/<transition>/", methods=("POST",))
    def transition_view(self, transition):
        """A transition's button. Those without one (made by a page of their own, such
        as sending a quote by email) are not made here."""
        name = transition
        flow = workflow.of(self.model)
        transition = flow.transitions.get(name) if flow is not None else None
        if transition is None or not transition.button:
            abort(404)
        record = self.locked_record()
        return self._after_action(
            record, lambda: workflow.move(record, name, current_user),
            lambda: _("%(record)s is now %(state)s.", record=label(record),
                      state=workflow.state_text(flow, record)))

    @expose("/request-approval/", methods=("POST",))
    def request_approval(self):
        record = self.locked_record()
        return self._after_action(
            record, lambda: approvals.request_approval(record, current_user),
            lambda: _("Approval requested."))

    @expose("/approve/", methods=("POST",))
    def approve(self):
        return self._decide("approve")

    @expose("/refuse/", methods=("POST",))
    def refuse(self):
        return self._decide("reject")

    def _decide(self, decision):
        record = self.locked_record()
        comment = request.form.get("comment", "")[:4000]
        return self._after_action(
            record, lambda: approvals.decide(record, current_user, decision, comment),
            lambda: _("Approved.") if decision == "approve" else _("Rejected."))

    def get_actions_list(self):
        self._add_transition_actions()
        return super().get_actions_list()

    def handle_action(self, return_view=None):
        self._add_transition_actions()
        return super().handle_action(return_view)

    def _add_transition_actions(self):
        """A bulk action for each declared transition with a button; added on first
        use, since the workflows are the running app's."""
        if getattr(self, "_transition_actions", None) is not None:
            return
        flow = workflow.of(self.model)
        self._transition_actions = {}
        for transition in (flow.transitions.values() if flow is not None else ()):
            if not transition.button or transition.target == workflow.ANY:
                continue
            name = f"transition:{transition.name}"
            self._transition_actions[name] = transition
            self._actions.append((name, lazy_label(transition.label)))
            self._actions_data[name] = (self._on_visible_rows(self._bulk_move(transition)),
                                        lazy_label(transition.label),
                                        lazy_label(transition.confirm) if transition.confirm
                                        else None)
            self._action_letters[name] = "w"

    def _bulk_move(self, transition):
        def run(ids):
            records = self.get_query().filter(self.model.id.in_(ids)).order_by(
                self.model.id).with_for_update(of=self.model).all() if ids else []
            refused = []
            for record in records:
                try:
                    workflow.move(record, transition.name, current_user)
                except workflow.Refused as exc:
                    refused.append(str(exc))
            if refused:   # all or nothing: one user action, one transaction
                db.session.rollback()
                flash(_("Nothing was changed: %(reasons)s", reasons=" ".join(refused[:5])),
                      "error")
            else:
                db.session.commit()
                flash(ngettext("%(num)d record done: %(action)s.",
                               "%(num)d records done: %(action)s.", len(records),
                               action=transition.title()), "success")
            return redirect(get_redirect_target() or self.get_url(".index_view"))
        return run

    def is_action_allowed(self, name):
        transition = (getattr(self, "_transition_actions", None) or {}).get(name)
        if transition is not None:
            return workflow.user_may(current_user, transition)
        return self._is_action_allowed(name)

    @expose("/note/", methods=("POST",))
    def add_note(self):
        """A note on the record's feed: anyone who may read the record may post one."""
        record = self.get_one(request.args.get("id", ""))
        body = request.form.get("body", "").strip()
        if not body:
            flash(_("Write the note first."), "error")
        elif len(body) > record_page.NOTE_MAX_CHARACTERS:
            flash(_("A note may have at most %(num)d characters.",
                    num=record_page.NOTE_MAX_CHARACTERS), "error")
        else:
            db.session.add(RecordNote(user_id=current_user.id, model=self.model.__name__,
                                record_id=record.id, body=body))
            db.session.commit()
            flash(_("Note posted."), "success")
        return redirect(self.get_url(".details_view", id=record.id) + "#feed")

    def get_save_return_url(self, model, is_created=False):
        """Save stays on the record (as in Odoo). A screen with ``return_to_origin``
        (activities logged from a deal's page, say) goes back to the record page the
        form was opened from instead."""
        target = local_path(get_redirect_target())
        if self.return_to_origin and target and "/details/" in target:
            return target
        return self.get_url(".details_view", id=self.get_pk_value(model),
                            url=target or self.get_url(".index_view"))

    # -- export, streamed -------------------------------------------------------------

    @expose("/export/<export_type>/")
    def export(self, export_type):
        if export_type not in self.export_types:
            abort(404)
        if not self.can_export:
            abort(403)
        view_args = self._get_list_extra_args()
        sort = self._get_column_by_idx(view_args.sort)
        _count, query = self.get_list(None, sort[0] if sort else None, view_args.sort_desc,
                                      view_args.search, view_args.filters, execute=False,
                                      page_size=0)
        columns, query = self.export_columns(query)
        fields = transfer.fields_of(self.model)

        def rows():
            # Streamed after the request has ended and its session was closed: the query
            # opens that session again, and nothing else would close it (its connection
            # would wait for the garbage collector).
            try:
                for record in query.yield_per(1000):
                    yield [self.export_value(record, name, fields) for name in columns]
            finally:
                query.session.close()
        filename = self.get_export_name(export_type)
        return exporting.response(export_type, filename, self.export_headers(columns), rows())

    def export_columns(self, query):
        """The list's export columns, then what else the screen's import sets (so that
        the file holds the records as an import makes them: a lost deal's reason, say),
        and the query loading their related records with the rows (not one by one)."""
        columns = [name for name, _label in self.get_export_columns()]
        if self.allow_import:
            columns += [name for name in self.import_fields(read_only_too=True)
                        if name not in columns]
        relations = inspect(self.model).relationships
        joined = [joinedload(getattr(self.model, name)) for name in columns
                  if name in relations and not relations[name].uselist]
        query = self._with_custom_fields(query)
        return columns, query.options(*joined) if joined else query

    def export_headers(self, columns):
        """The columns' labels, as the list heads them (an import knows them too)."""
        headers = []
        for name in columns:
            text = str(record_page.field_label(self, name))
            headers.append(name if text in headers else text)
        return headers

    def export_value(self, record, name, fields):
        """A cell of the export: a field as the import reads it back (related records
        by the key it takes), anything else as the list shows it, in plain text."""
        if name in fields:
            return transfer.field_value(record, name, fields[name], translated=True)
        value = self.get_export_value(record, name)
        return value.striptags() if isinstance(value, Markup) else value

    # -- saved filters ---------------------------------------------------------------------

    @staticmethod
    def list_args(query_string):
        """The part of a list's query string that says which records it shows (its
        filters and search, its sort and page size): what a saved filter keeps."""
        args = parse_qsl((query_string or "").lstrip("?"))
        return urlencode([(key, value) for key, value in args
                          if key in LIST_ARGS or key.startswith("flt")])

    def matching(self, query_string):
        """The ids (a select) of the records this list shows for ``query_string``, its
        filters and search applied and no record rule: a segment of customers, built
        on the list by someone, evaluated later (at send time) for no one in
        particular. Filters the list no longer has are left out."""
        args = dict(parse_qsl((query_string or "").lstrip("?")))
        filters = []
        for key, value in args.items():
            position, _sep, name = key[3:].partition("_")
            if key.startswith("flt") and name in (self._filter_args or {}):
                index, flt = self._filter_args[name]
                if flt.validate(value):
                    filters.append((position, (index, flt.name, value)))
        query, joins = db.session.query(self.model.id), {}
        if args.get("search") and self._search_supported:
            query, _count, joins, _ = self._apply_search(query, None, joins, {}, args["search"])
        if filters:
            query, _count, joins, _ = self._apply_filters(
                query, None, joins, {}, [flt for _pos, flt in sorted(filters)])
        # A filter on a collection (tags) joins it: a record would come once per match.
        return (query.distinct() if joins else query).subquery().select()

    def save_targets(self):
        """Where else this list's filters may be saved (a marketing segment, say): the
        (label, url) pairs the hook ``list.save_as`` gives for this screen, each url
        taking a POST of ``query`` and ``name``."""
        return current_app.extensions["crm"].hooks.call("list.save_as", self)

    def saved_filters(self):
        return db.session.scalars(
            select(SavedFilter).where(SavedFilter.user_id == current_user.id,
                                      SavedFilter.endpoint == self.endpoint)
            .order_by(SavedFilter.name)).all()

    @expose("/saved-filters/", methods=("POST",))
    def save_filter(self):
        name = request.form.get("name", "").strip()[:100]
        kept = self.list_args(request.form.get("query"))
        if name:
            existing = db.session.scalar(select(SavedFilter).where(
                SavedFilter.user_id == current_user.id, SavedFilter.endpoint == self.endpoint,
                SavedFilter.name == name))
            saved = existing or SavedFilter(user_id=current_user.id, endpoint=self.endpoint,
                                            name=name)
            saved.query = kept[:2000]
            db.session.add(saved)
            db.session.commit()
            flash(_("Filter %(name)s saved.", name=name), "success")
        else:
            flash(_("Give the filter a name."), "error")
        return redirect(self.get_url(".index_view") + ("?" + kept if kept else ""))

    @expose("/saved-filters/<int:filter_id>/delete", methods=("POST",))
    def delete_filter(self, filter_id):
        db.session.query(SavedFilter).filter(
            SavedFilter.id == filter_id, SavedFilter.user_id == current_user.id,
            SavedFilter.endpoint == self.endpoint).delete(synchronize_session=False)
        db.session.commit()
        return redirect(self.get_url(".index_view"))

    # -- merging duplicates ----------------------------------------------------------------

    @expose("/merge/", methods=("GET", "POST"))
    def merge_view(self):
        """Choose which of the selected records to keep; the others are merged into it."""
        if not self.can_merge:
            abort(403)
        ids = int_ids(request.values.get("ids", "").split(","))
        records = self.get_query().filter(self.model.id.in_(ids)).order_by(self.model.id).all() \
            if ids else []
        if len(records) < 2:
            flash(_("Select at least two records to merge."), "error")
            return redirect(self.get_url(".index_view"))
        if request.method == "POST":
            keep = next((r for r in records if str(r.id) == request.form.get("keep")), None)
            if keep is None:
                flash(_("Choose the record to keep."), "error")
            else:
                return self._merge(keep, [r for r in records if r is not keep])
        references = merge.counts(db.session, self.model, [r.id for r in records])
        return self.render("core/merge.html", records=records, columns=self._list_columns,
                           references=references,
                           reference_labels=sorted({label for counts in references.values()
                                                    for label in counts}),
                           get_value=lambda record, name: self.get_list_value(None, record, name))

    def _merge(self, keep, others):
        try:
            moved = merge.merge(db.session, self.model, keep, others)
            db.session.commit()
        except IntegrityError as exc:
            db.session.rollback()
            flash(_("The records cannot be merged: %(error)s", error=exc.orig), "error")
            return redirect(self.get_url(".index_view"))
        flash(ngettext("%(num)d record merged into %(record)s.",
                       "%(num)d records merged into %(record)s.", len(others), record=keep)
              + " " + ngettext("%(num)d related row moved.", "%(num)d related rows moved.",
                               sum(moved.values())), "success")
        return redirect(self.get_url(".details_view", id=keep.id))

    # -- import: upload, map columns, check, then write all or nothing -------------------
    #
    # An import is a form submitted once per row: it sets only what this screen's create
    # form sets (narrowed by ``import_columns``), names related records within the
    # user's rules, and runs the form's validators and this screen's own checks
    # (validate_form, on_model_change) on every row. The command line imports through
    # the same screen, so no import can skip what the form checks.

    import_columns = None   # a screen may import fewer fields than its form has

    @expose("/import/", methods=("GET", "POST"))
    def import_view(self):
        if not self.can_import:
            abort(403)
        if request.method == "GET" and "rejected" in request.args:
            return self._rejected_file(request.args["rejected"], request.args.get("format"))
        fields = self.import_fields()
        page = {"fields": fields, "labels": {name: record_page.field_label(self, name)
                                             for name in fields},
                "token": None, "header": [], "mapping": {}, "checked": None, "error": None,
                "rejected": None, "rejected_count": 0}
        try:
            if "file" in request.files:
                page["token"] = self._receive_upload(request.files["file"])
            elif request.method == "POST":
                page["token"] = uploads.existing(request.form.get("token", ""))
            if page["token"]:
                header, rows = transfer.read_rows(uploads.path_of(page["token"]),
                                                  transfer.PARSED)
                page["header"] = header
                known = self.import_mapping(header)
                page["mapping"] = {column: request.form.get(f"map:{index}", known[column] or "")
                                   for index, column in enumerate(header)}
                # Problems are named by the file's columns, as the user knows them.
                page["columns"] = {target: column for column, target in page["mapping"].items()
                                   if target}
                step = request.form.get("step")
                if step in ("check", "commit", "commit_good"):
                    checked = page["checked"] = self.check_import(header, rows, page["mapping"])
                    # Both ways write in one transaction what the same checks passed:
                    # every row, or (commit_good) the rows without problems.
                    if step == "commit_good" or (step == "commit" and checked.ok):
                        good, bad = transfer.split(checked)
                        count = transfer.write(good)
                        db.session.commit()
                        if bad:
                            page["rejected"] = self._keep_rejected(page["token"],
                                                                   checked.problems,
                                                                   page["mapping"])
                        uploads.discard(page["token"])
                        flash(ngettext("%(num)d record imported.", "%(num)d records imported.",
                                       count), "success")
                        if not bad:
                            return redirect(self.get_url(".index_view"))
                        page.update(token=None, rejected_count=len(bad))
                        return self.render("core/import.html", **page)
                    # Nothing is written: the unsaved records leave the related ones
                    # they were attached to as they were.
                    db.session.rollback()
        except (transfer.ImportRefused, uploads.UploadRefused) as exc:
            db.session.rollback()
            page["error"] = str(exc)
        return self.render("core/import.html", **page)

    def _keep_rejected(self, token, problems, mapping):
        """The rows not imported, with their errors, kept for the user to download."""
        header, rows = transfer.read_rows(uploads.path_of(token), transfer.PARSED)
        header, rows = transfer.rejected_rows(header, rows, problems, mapping)
        kept = uploads.new_token(transfer.PARSED)
        transfer.write_parsed(header, rows, uploads.folder() / kept)
        return kept

    def _rejected_file(self, token, fmt):
        """The rejected rows as CSV or XLSX (kept until the uploads' clean-up)."""
        if fmt not in transfer.FORMATS or not token.endswith("." + transfer.PARSED):
            abort(404)
        try:
            header, rows = transfer.read_rows(uploads.path_of(token), transfer.PARSED)
        except (uploads.UploadRefused, transfer.ImportRefused):
            abort(404)
        return exporting.response(fmt, f"{self.endpoint}_rejected.{fmt}", header, rows)

    def _receive_upload(self, file):
        """Keep the upload read once, as transfer.PARSED; a file refused is not kept."""
        original = uploads.store(file, transfer.FORMATS)
        parsed = uploads.new_token(transfer.PARSED)
        try:
            transfer.parse_upload(uploads.path_of(original), transfer.format_of(original),
                                  uploads.folder() / parsed, import_limits())
        except transfer.ImportRefused:
            uploads.discard(parsed, missing_ok=True)
            raise
        finally:
            uploads.discard(original)
        return parsed

    def import_fields(self, read_only_too=False, editing=False):
        """{column in files: column or relation} this screen's import may set (and
        those read-only for the user, which an export holds); ``editing``: those its
        edit form may change (the API's PATCH)."""
        form_fields = set(form_field_names(
            self._edit_form_class if editing else self._create_form_class))
        names = self.import_columns if self.import_columns is not None and not editing \
            else form_fields
        hidden, readonly = self.restricted()
        left_out = hidden if read_only_too else hidden | readonly
        return {name: target for name, target in transfer.fields_of(self.model).items()
                if name in names and name in form_fields and name not in left_out}

    def importing(self):
        """Is the request an import (the screen's, the command line's, or records created
        through the API)? For what a form does only for a record entered by hand."""
        return request.endpoint == f"{self.endpoint}.import_view" or request.blueprint == "api"

    def import_mapping(self, header):
        """{column of a file: the field it fills, "" to leave it out, None if unknown}.
        A column is known by its field's name or label in either language, so that
        this list's export imports back; its columns that no import sets are left out."""
        fields = self.import_fields()
        shown = [name for name, _label in self.get_export_columns() if name not in fields]
        return transfer.header_mapping(
            header, {name: record_page.field_label(self, name) for name in fields},
            {name: record_page.field_label(self, name) for name in shown})

    def check_import(self, header, rows, mapping=None):
        """Rows as unsaved records, or their problems, as this screen's form sees them.
        Without ``mapping``, the header's columns as import_mapping knows them."""
        if mapping is None:   # a column not known is refused by name
            mapping = {column: column if target is None else target
                       for column, target in self.import_mapping(header).items()}
        return transfer.check(self.model, header, rows, mapping, fields=self.import_fields(),
                              visible=lambda related: scoped_query(related, self.model),
                              validate=self._row_checks())

    # -- writes without the screen's forms (core.api) ------------------------------------

    def create_records(self, items):
        """New records from ``items`` ([{field: value}]: text as a file holds it, or JSON's
        numbers, true/false, a list of choices, a related record's id), checked as the
        import checks a file's rows: this screen's create form and checks, the workflow,
        the owner. Written together or not at all; the caller commits.
        (records, [(item's index, field, message)])."""
        required = [name for name, target in self.import_fields().items()
                    if transfer.is_required(target)]
        header = list(dict.fromkeys([*required, *(name for item in items for name in item)]))
        checked = self.check_import(header, [[item.get(name, "") for name in header]
                                             for item in items],
                                    mapping={name: name for name in header})
        if checked.problems:
            return [], [(problem.row - 2, problem.column, problem.message)
                        for problem in checked.problems]
        transfer.write(checked)
        return checked.records, []

    def change_record(self, record, values):
        """``values`` ({field: value}, as create_records takes them) set on ``record``
        after the checks of its edit form and this screen's (edit_refusal, the workflow,
        approvals, the owner). [(field, message)]: the problems, when the caller must
        roll back; a ValidationError when the record cannot be changed now (edit_refusal).
        Once it commits, the caller calls after_model_change (with no form)."""
        refusal = self.edit_refusal(record)
        if refusal:
            raise ValidationError(refusal)
        fields = self.import_fields(editing=True)
        converting = transfer.converters(db.session, fields, values,
                                         visible=lambda related: scoped_query(related, self.model))
        problems = []
        with db.session.no_autoflush:
            for name, value in values.items():
                try:
                    setattr(record, name, converting[name](value))
                except ValueError as exc:
                    problems.append((name, str(exc)))
            if problems:
                return problems
            form = RowForm(self._edit_form_class(formdata=None, obj=record,
                                                 meta={"csrf": False}), fields)
            form.load(record, values)
            if not self.validate_form(form):
                return form.problems()
            try:
                self._on_model_change(form, record, False)
            except ValidationError as exc:
                return form.problems() or [("", str(exc))]
        return []

    def delete_record(self, record):
        """Delete ``record`` as the screen's Delete does (its on_model_delete may refuse:
        ValidationError); the caller commits, then calls after_model_delete."""
        self.on_model_delete(record)
        db.session.flush()
        db.session.delete(record)
        db.session.flush()

    def _row_checks(self):
        form = RowForm(self._create_form_class(formdata=None, meta={"csrf": False}),
                       self.import_fields())
        screen_checks = (type(self).validate_form is not ModelView.validate_form
                         or type(self).on_model_change is not BaseModelView.on_model_change
                         or workflow.of(self.model) is not None)

        def validate(record, raw):
            if not screen_checks and not form.has_validators(raw):
                # Neither the screen nor the form's fields add to what the conversion
                # checked: only the owner is left (_on_model_change), without the form.
                refusal = self._owner_refusal(record)
                return [("owner", refusal)] if refusal else []
            form.load(record, raw)
            if self.validate_form(form):
                try:
                    with db.session.no_autoflush:
                        self._on_model_change(form, record, True)
                    return []
                except ValidationError as exc:
                    refusal = str(exc)
                    problems = form.problems()
                    if refusal not in (message for _name, message in problems):
                        problems.append(("", refusal))
                    return problems
            return form.problems()
        return validate

    # -- defaults from the model --------------------------------------------------------

    def scaffold_filters(self, name):
        """Filters on a related record's column read "Owner", not Flask-Admin's "owner /
        Core User / Username"; their links keep the name made from that (a label on
        "customer.name" would rename flt0_customer_crm_customer_name_equals)."""
        filters = super().scaffold_filters(name)
        for flt in filters or []:   # the field it reads, hidden with it (core.layout)
            flt.crm_field = name.split(".")[0] if isinstance(name, str) else None
        label = self._related_labels.get(name) if isinstance(name, str) else None
        if label is not None:
            for flt in filters or []:
                flt.crm_url_name, flt.name = flt.name, label
        field = name.split(".")[0] if isinstance(name, str) else None
        if field in {f.name for f in self.custom_fields}:
            for flt in filters or []:   # by its key: a site may rename its label
                flt.crm_url_name = field
        return filters

    def search_placeholder(self):
        """What the search looks in, by labels ("Number, Customer", not "customer.name")."""
        hidden = self.restricted()[0]
        names = [key for name in self.column_searchable_list or []
                 for key in [getattr(name, "key", name)] if key.split(".")[0] not in hidden]
        return ", ".join(str(self.column_labels.get(name) or self._related_labels.get(name)
                             or name) for name in names) or None

    def get_filter_arg(self, index, flt):
        if not self.named_filter_urls or not hasattr(flt, "crm_url_name"):
            return super().get_filter_arg(index, flt)
        operation = flt.operation()
        operation = getattr(operation, "_args", [operation])[0]   # a lazy text's English
        name = f"{flt.crm_url_name} {operation}".lower()
        return filter_compact_re.sub("_", filter_char_re.sub("", name))

    @pass_context
    def get_list_value(self, context, model, name):
        value = super().get_list_value(context, model, name)
        return "" if value is None else value   # an empty choice: Flask-Admin says "None"

    def _get_list_value(self, context, model, name, column_formatters,
                        column_type_formatters, choices=None):
        # Flask-Admin's, with two look-ups made once instead of at every cell: a choice's
        # text in the reader's language (a lazy text, translated again each time it was
        # read: twice a cell), and the formatter of a type of value (it tried each).
        formatter = column_formatters.get(name)
        value = formatter(self, context, model, name) if formatter is not None \
            else self._get_field_value(model, name)
        shown = (self._choices_shown() if choices is None else choices).get(name)
        if shown:
            return shown.get(value) or value
        type_formatter = self._formatter_of(type(value), column_type_formatters)
        return value if type_formatter is None else type_formatter(self, value, name)

    def _choices_shown(self):
        """{column: {stored value: its text in the reader's language}}, made once per
        language from Flask-Admin's map of lazy texts."""
        language = str(get_locale())
        cache = self.__dict__.setdefault("_crm_choices_shown", {})
        if language not in cache:
            cache[language] = {name: {value: str(text) for value, text in choices.items()}
                               for name, choices in self._column_choices_map.items()}
        return cache[language]

    def _formatter_of(self, kind, formatters):
        """The first of ``formatters`` ({type: formatter}, in order) for values of
        ``kind``, or None."""
        cache = self.__dict__.setdefault("_crm_formatter_of", {})
        key = (id(formatters), kind)
        if key not in cache:
            cache[key] = next((formatter for typeobj, formatter in formatters.items()
                               if issubclass(kind, typeobj)), None)
        return cache[key]

    @pass_context
    def list_cells(self, context, row, columns):
        """The cells of one row of the list (crm_list.html), as get_list_value makes
        them, in one call, with the choices' texts looked up once for the row."""
        choices, formatters = self._choices_shown(), self.column_formatters
        type_formatters = self.column_type_formatters
        cells = ((name, self._get_list_value(context, row, name, formatters, type_formatters,
                                             choices)) for name, _label in columns)
        return Markup("".join(
            f'<td class="col-{escape(name)}">{"" if value is None else escape(value)}</td>'
            for name, value in cells))

    def _configure_from_model(self, model):
        """Fill, on this instance, the options the class did not set."""
        mapper = inspect(model)
        columns = [c for c in mapper.columns if not c.primary_key and not c.foreign_keys
                   and not _is_hidden(c) and c.key not in BOOKKEEPING
                   and not customise.is_custom(c)]
        short_text = [c.key for c in columns
                      if isinstance(c.type, String) and not isinstance(c.type, Text)]
        many_to_one = [r for r in mapper.relationships if r.direction.name == "MANYTOONE"
                       and not r.info.get("custom")]
        hidden = [c.key for c in mapper.columns if _is_hidden(c)]
        defaults = {
            "column_list": ([c.key for c in columns if not isinstance(c.type, Text)]
                            + [r.key for r in many_to_one])[:LIST_COLUMN_LIMIT],
            "column_searchable_list": short_text[:SEARCH_COLUMN_LIMIT],
            # A related record is filtered on its display column only: a filter on the
            # whole relation would offer every column of it (a user's password hash).
            "column_filters": [c.key for c in columns if isinstance(
                c.type, (Boolean, Date, DateTime, Enum, Integer, Numeric))]
                + short_text + [f"{r.key}.{fields[0]}" for r in many_to_one
                                for fields in [_display_columns(r.mapper)] if fields],
            "form_ajax_refs": {r.key: {"fields": fields[:1], "page_size": 10}
                               for r in many_to_one
                               for fields in [_display_columns(r.mapper)] if fields},
            "column_default_sort": ("id", True) if "id" in mapper.columns else None,
            "form_excluded_columns": [c.key for c in mapper.columns
                                      if _is_hidden(c) or c.key in BOOKKEEPING]
                + sorted(readonly_fields(model)),
            "column_choices": {c.key: translated_choices(c) for c in columns
                               if isinstance(c.type, Enum)},
            "column_details_exclude_list": hidden,
            "column_export_exclude_list": hidden,
        }
        for option, value in defaults.items():
            if getattr(self, option, None) is None:
                setattr(self, option, value)
        labels = {prop.key: prop.info["label"] for prop in [*mapper.columns, *mapper.relationships]
                  if "label" in prop.info}
        self.column_labels = {**labels, **(getattr(self, "column_labels", None) or {})}
        self._related_labels = _related_labels(
            mapper, [*(self.column_filters or []), *(self.column_searchable_list or [])],
            self.column_labels)
        if self.column_type_formatters is DEFAULT_FORMATTERS:   # the class chose none
            self.column_type_formatters = LIST_FORMATTERS
        self._add_custom_fields(mapper)

    def _add_custom_fields(self, mapper):
        """The site's fields of this model on every part of the screen (lists copied
        before they are extended: the class's own are shared by every app), and the
        fields other sites' databases mapped in this process left out of all."""
        active = {key for f in self.custom_fields for key in (f.name, customise.column_key(f))}
        foreign = [prop.key for prop in mapper.attrs
                   if customise.is_custom_property(prop) and prop.key not in active]
        for option in ("form_excluded_columns", "column_details_exclude_list",
                       "column_export_exclude_list"):
            setattr(self, option, list(getattr(self, option) or ()) + foreign)
        if not self.custom_fields:
            return
        names = [f.name for f in self.custom_fields]
        listed = [f.name for f in self.custom_fields if f.in_list]
        for option, added in (("form_columns", names), ("column_details_list", names),
                              ("column_list", listed)):
            if getattr(self, option, None) is not None:
                setattr(self, option, list(getattr(self, option)) + added)
        # A link sorts and filters on its record's display column ("parent.name").
        shown = {f.name: f"{f.name}.{columns[0]}" for f in self.custom_fields
                 if f.kind == "link"
                 for columns in [_display_columns(mapper.relationships[f.name].mapper)]
                 if columns}
        if self.column_sortable_list is not None:
            self.column_sortable_list = list(self.column_sortable_list) + [
                (f.name, shown[f.name]) if f.name in shown else f.name
                for f in self.custom_fields if f.in_list and (f.kind != "link" or f.name in shown)]
        self.column_filters = list(self.column_filters or ())
        for f in self.custom_fields:
            if f.kind in customise.CHOOSING:
                self.column_filters += customise.choice_filters(f, getattr(mapper.class_, f.name))
            elif f.kind != "link":
                self.column_filters.append(f.name)
            elif f.name in shown:
                self.column_filters.append(shown[f.name])
        self.column_searchable_list = list(self.column_searchable_list or ()) + [
            f.name for f in customise.searched(self.custom_fields)]
        # A link is chosen by typing (a look-up), as the built-in ones: a select box of
        # every record would load a large table's whole.
        self.form_ajax_refs = {**(self.form_ajax_refs or {}), **{
            name: {"fields": [column.split(".", 1)[1]], "page_size": 10}
            for name, column in shown.items()}}
        self.column_labels = {**self.column_labels,
                              **{f.name: customise.field_label(f) for f in self.custom_fields}}
        self.column_descriptions = {**(self.column_descriptions or {}), **{
            f.name: customise.field_help(f) for f in self.custom_fields if f.help_en}}
        self.column_choices = {**(self.column_choices or {}), **{
            f.name: customise.options_of(f) for f in self.custom_fields if f.kind == "choice"}}
        self.form_args = {**(self.form_args or {}), **{
            f.name: customise.form_args(f) for f in self.custom_fields}}
        self.form_overrides = {**(self.form_overrides or {}), **{
            f.name: Select2Field if f.kind == "choice" else SelectMultipleField
            for f in self.custom_fields if f.kind in customise.CHOOSING}}
        self.column_formatters = {**(self.column_formatters or {}), **{
            f.name: customise.choices_formatter(f) for f in self.custom_fields
            if f.kind == "choices"}}
        if self.details_sections is not None:
            self.details_sections = customise.with_sections(self.details_sections,
                                                            self.custom_fields)
        self._related_labels = {**self._related_labels, **_related_labels(
            mapper, self.column_filters, self.column_labels)}


def admin_gettext(string, **variables):
    """Flask-Admin's gettext, but for the page size ("20 items"), which its Chinese
    catalog calls 项目 ("projects")."""
    if string == "items":
        return _("items")
    return admin_babel.gettext(string, **variables)


def admin_ngettext(singular, plural, num, **variables):
    """Flask-Admin's ngettext, but for the page sizes, whose message it formats before
    asking for it ("20 items"), so that no catalog has it."""
    if singular == f"{num} item":
        return ngettext("%(num)d item", "%(num)d items", num)
    return admin_babel.ngettext(singular, plural, num, **variables)


def yes_no(_view, value, _name):
    """A yes/no column in a list, in words (Flask-Admin shows an icon titled "true")."""
    return record_page.text_of(bool(value))


def shown_name(value):
    """A record or stored text as a list or a pick-list shows it: a name the suite
    declared (a default expense category, "Travel") translated, any other as it is."""
    return label(str(value))


# Lists: yes/no in words, declared names translated (the related record's too). They
# also see what a column formatter made: its markup is kept as it is.
LIST_FORMATTERS = {
    **DEFAULT_FORMATTERS, bool: yes_no,
    datetime: lambda _view, value, _name: dates.shown(value),   # no seconds, no microseconds
    Markup: lambda _view, value, _name: value,
    str: lambda _view, value, _name: label(value),
    db.Model: lambda _view, value, _name: shown_name(value),
    list: lambda _view, values, _name: ", ".join(shown_name(value) for value in values),
}


def _related_labels(mapper, names, labels):
    """Labels of a related record's columns ("owner.username") that a screen filters or
    searches on: the relation's label ("Owner"), with the column's where it is not the
    record's name. Flask-Admin would show "owner / Core User / Username"."""
    found = {}
    for name in names:
        relation_name, _dot, column_name = name.partition(".") if isinstance(name, str) \
            else ("", "", "")
        relation = mapper.relationships.get(relation_name)
        if relation is None or not column_name or relation_name not in labels:
            continue
        column = relation.mapper.columns.get(column_name)
        if column_name in _display_columns(relation.mapper)[:1] or column is None \
                or "label" not in column.info:
            found[name] = labels[relation_name]
        else:
            found[name] = LazyString(lambda a, b: f"{a} / {b}", labels[relation_name],
                                     column.info["label"])
    return found


def translated_choices(column):
    """(value, label) pairs of an Enum column, labels translated when shown (in English
    capitalised, as the state bar shows them: "Open", not "open")."""
    return [(value, LazyLabel(record_page.choice_text, value)) for value in column.type.enums]


def _is_hidden(column):
    """Secrets, and columns the model derives itself (``info={"derived": True}``, such as
    a normalised copy for searching): never in forms, details, exports or imports."""
    return _is_secret(column.key) or column.info.get("derived", False)


def readonly_fields(model):
    """The columns (and the relations over them) that only the application sets:
    ``info={"readonly": True}``."""
    mapper = inspect(model)
    columns = {c.key for c in mapper.columns if c.info.get("readonly")}
    return columns | {r.key for r in mapper.relationships if r.local_columns
                      and all(c.info.get("readonly") for c in r.local_columns)}


def _is_secret(name):
    return name.endswith(("password_hash", "_token"))


def _display_columns(mapper):
    return [a for a in DISPLAY_ATTRIBUTES if a in mapper.columns
            and isinstance(mapper.columns[a].type, String)]


class ScopedAjaxLoader(QueryAjaxModelLoader):
    """Look-ups of related records (and the check of a submitted id) see only what the
    user may read of the related model. Owners offered are those the user may assign."""

    def __init__(self, name, session, parent_model, options):
        self.parent_model = parent_model
        # Flask-Admin's own placeholder reads "Please select model".
        options = {"placeholder": _l("Choose…"), **options}
        related = getattr(parent_model, name).property.mapper.class_
        super().__init__(name, session, related, **options)

    def get_query(self):
        query = scoped_query(self.model, self.parent_model)
        # The edit form of a record linking to its own kind leaves the record out
        # (ModelView.edit_form; _not_linked_to_itself refuses it too).
        left_out = int_ids([request.args.get("leave_out", "")]) if has_request_context() else []
        if left_out and self.model is self.parent_model:
            query = query.filter(self.model.id != left_out[0])
        return query

    def format(self, model):
        return None if model is None else (getattr(model, self.pk), shown_name(model))

    def get_one(self, pk):
        ids = int_ids([pk])
        if not ids:
            return None
        with db.session.no_autoflush:
            return self.get_query().filter(self.model.id == ids[0]).one_or_none()


def scoped_query(model, parent_model):
    """What a form may offer of ``model`` on a screen of ``parent_model``."""
    query = db.session.query(model)
    if model is User and issubclass(parent_model, OwnedMixin):
        condition = permissions.owner_condition(current_user, parent_model.__name__, User.id)
        return query.filter(User.active.is_(True) if condition is None else condition)
    return permissions.apply_rules(query, model)


class StrictAjaxSelectField(AjaxSelectField):
    """An id that the look-up does not offer (guessed, or out of the user's reach) is a
    form error, not a silent blank."""

    def pre_validate(self, form):
        submitted = self._formdata if hasattr(self, "_formdata") else None
        if submitted and self.data is None:
            raise ValidationError(_("Not a valid choice."))
        super().pre_validate(form)


def form_field_names(form_class):
    """The names of a form class's fields (its unbound fields)."""
    return [name for name in dir(form_class)
            if not name.startswith("_") and isinstance(getattr(form_class, name), UnboundField)]


class RowForm:
    """One import row in the shape of a screen's create form. Each row's values go into
    the fields of one form, built once: the form's validators and the screen's checks
    read them as they read a submitted form's. (A form built per row would take a
    thousandth of a second: minutes for a large file.)"""

    def __init__(self, form, fields):
        self._form = form
        self._fields = fields   # {name: column or relation} of transfer.fields_of
        # (only the fields a row may set: an edit form's lines take no data back)
        self._initial = {field.name: (field.data, field.raw_data) for field in form
                         if field.name in fields}
        self._names = []
        self._touched = set(self._initial)   # fields to put back before the next row
        self._chains = {}
        self._any_validator = {}

    def __getattr__(self, name):
        return getattr(self._form, name)

    def __getitem__(self, name):
        return self._form[name]

    def __iter__(self):
        return iter(self._form)

    def __contains__(self, name):
        return name in self._form

    def load(self, record, raw):
        """The row's values (those of ``record``, as ``raw`` names them) in the fields;
        every other field as the form was built."""
        for name in self._touched:
            field = self._form[name]
            field.data, field.raw_data = self._initial[name]
            field.errors = []
        self._names = [name for name in raw if name in self._form]
        for name in self._names:
            field, text = self._form[name], str(raw[name])
            field.data = getattr(record, name)
            field.raw_data = [text] if text.strip() else []
        self._touched = set(self._names)

    def validate(self, extra_validators=None):
        """The validators of the row's fields, as Form.validate runs them. The field's
        own parsing is the import's conversion; a unique value is checked for the whole
        file at once."""
        valid = True
        for name in self._names:
            field = self._form[name]
            for validator in self._chain(name):
                try:
                    validator(self, field)
                except StopValidation as stop:
                    if stop.args and stop.args[0]:
                        field.errors.append(stop.args[0])
                        valid = False
                    break
                except ValidationError as error:
                    field.errors.append(error.args[0])
                    valid = False
        return valid

    def has_validators(self, raw):
        """Has any field of the row (``raw`` names them) a validator to run?"""
        names = tuple(raw)
        if names not in self._any_validator:
            self._any_validator[names] = any(self._chain(name) for name in names
                                             if name in self._form)
        return self._any_validator[names]

    def _chain(self, name):
        """The field's validators, less those that only restate its column (required,
        length, choices, unique): the import's conversion has checked those for the
        whole file already. Optional stays where validators follow it: an empty cell
        ends the chain, as on the form."""
        if name not in self._chains:
            inline = getattr(type(self._form), f"validate_{name}", None)
            chain = [v for v in self._form[name].validators
                     if not restates_column(v, self._fields[name])]
            chain += [inline] if inline is not None else []
            while chain and isinstance(chain[-1], Optional):
                chain.pop()
            self._chains[name] = chain
        return self._chains[name]

    @property
    def errors(self):
        found = {field.name: field.errors for field in self._form if field.errors}
        self._touched.update(found)   # a check may have marked any field
        return found

    def problems(self):
        return [(name, str(message)) for name, messages in self.errors.items()
                for message in messages]


def restates_column(validator, target):
    """Does ``validator`` (as the model converter adds them) check only what the column
    or relation ``target`` itself says, which an import's conversion checks?"""
    kind = getattr(target, "type", None)
    if isinstance(validator, Unique):
        return True
    if isinstance(validator, (InputRequired, DataRequired)):
        return transfer.is_required(target)
    if isinstance(validator, Length):
        return validator.min in (-1, 0) and validator.max == getattr(kind, "length", None)
    if isinstance(validator, AnyOf):   # the choices of a nullable column include None
        return isinstance(kind, Enum) and set(validator.values) - {None, ""} == set(kind.enums)
    return False


def import_limits():
    return transfer.Limits.from_settings(current_app.extensions["crm"].settings)


class ScopedConverter(AdminModelConverter):
    """Select boxes of related records offer only what the user may read; choices of a
    fixed list (an Enum column) are shown translated, stored as they are."""

    def _get_label(self, name, field_args):
        # The lines of a form (an inline model) have no screen's labels: their model's,
        # before Flask-Admin's English made from the field's name.
        labels = getattr(self.view, "column_labels", None) or {}
        if "label" not in field_args and name not in labels \
                and not isinstance(self.view, BaseModelView):
            prop = inspect(self.view.model).attrs.get(name)
            info = (prop.columns[0].info if hasattr(prop, "columns") else prop.info) \
                if prop is not None else {}
            if info.get("label"):
                return info["label"]
        return super()._get_label(name, field_args)

    @converts("sqlalchemy.sql.sqltypes.Enum")
    def convert_enum(self, column, field_args, **extra):
        field = super().convert_enum(column, field_args, **extra)
        field.kwargs["choices"] = translated_choices(column)
        return field

    # Dates and date-times: text boxes that take typing and pasting, with the core's
    # picker (core/dates.py), instead of Flask-Admin's picker that rewrites the text.
    @converts("Date")
    def convert_date(self, field_args, **extra):
        return dates.DateField(**field_args)

    @converts("DateTime")
    def convert_datetime(self, field_args, **extra):
        return dates.DateTimeField(**field_args)

    def _model_select_field(self, prop, multiple, remote_model, **kwargs):
        parent = self.view.model
        loader = getattr(self.view, "_form_ajax_refs", {}).get(prop.key)
        if loader and not multiple:
            return StrictAjaxSelectField(loader, **kwargs)
        if not loader:
            kwargs.setdefault("query_factory", lambda: scoped_query(remote_model, parent))
            kwargs.setdefault("get_label", shown_name)
        return super()._model_select_field(prop, multiple, remote_model, **kwargs)


ModelView.model_form_converter = ScopedConverter


def _add_menu_path(admin, path, menu_options):
    """The categories of a menu path ("Sales/Configuration"), each known by its whole
    path: Sales' and Marketing's "Configuration" are two submenus, each under its own
    parent. Shown by their last part."""
    for depth in range(len(path)):
        key = "/".join(path[:depth + 1])
        if admin.get_category_menu_item(key) is not None:
            continue
        if depth == 0:
            icon = menu_options.get(key, {}).get("icon")
            admin.add_category(key, icon_type="fa" if icon else None, icon_value=icon)
        else:
            category = SubMenuCategory(path[depth])
            admin._menu_categories[key] = category
            admin.get_category_menu_item("/".join(path[:depth])).add_child(category)


def add_addon_views(admin, state):
    """Add the screens of every enabled addon, merged into one ordered menu tree."""
    entries = []
    menu_options = {}
    for name in state.enabled:
        manifest = state.registry.addons[name].manifest
        for category, options in manifest["menus"].items():
            menu_options.setdefault(category, options)
        for view in manifest["views"]:
            entries.append((name, view))

    first_seen = {}
    for _addon, view in entries:
        first_seen.setdefault(view["menu"].split("/")[0], len(first_seen))

    def sort_key(numbered):
        index, (_addon, view) = numbered
        category = view["menu"].split("/")[0]
        # Explicit orders first; otherwise the order in which manifests declare them.
        return (menu_options.get(category, {}).get("order", 100), first_seen[category],
                view.get("order", 100), index)

    entries = [entry for _index, entry in sorted(enumerate(entries), key=sort_key)]
    for addon_name, view in entries:
        *path, label = view["menu"].split("/")
        _add_menu_path(admin, path, menu_options)
        model = view["_model"]
        endpoint = view.get("endpoint") or model.__name__.lower()
        screen = view["_class"](
            model, db, custom_fields=[f for f in state.custom_fields
                                      if f.model == model.__name__],
            field_rules=state.field_rules.get(model.__name__),
            sections_as_tabs=model.__name__ in state.tabbed,
            name=lazy_label(label), category="/".join(path), endpoint=endpoint,
            url=f"/admin/{endpoint.replace('_', '-')}",
            menu_icon_type="fa" if view.get("icon") else None,
            menu_icon_value=view.get("icon"))
        # Filters other addons add to this model's lists (hook ``filters.<Model>``, called
        # with the screen; each handler returns a list of Flask-Admin filters).
        added = [flt for found in state.hooks.call(f"filters.{model.__name__}", screen)
                 for flt in found]
        if added:
            screen.column_filters = list(screen.column_filters or ()) + added
            screen._refresh_filters_cache()
        if "page_size" not in type(screen).__dict__:  # the class did not choose its own
            screen.page_size = state.settings.page_size
        admin.add_view(screen)
