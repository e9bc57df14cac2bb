"""The admin screens: one base view that every generated screen extends, the home
page, the Addons page, and the assembly of menus from the enabled manifests."""
from flask import abort, current_app, flash, redirect, request, url_for
from flask_admin import AdminIndexView, BaseView, expose
from flask_admin.actions import action
from flask_admin.babel import lazy_gettext as admin_gettext
from flask_admin.contrib import sqla
from flask_admin.form import BaseForm
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import Boolean, Date, DateTime, Enum, Numeric, Integer, String, Text, inspect

from core import exporting, permissions
from core.db import DISPLAY_ATTRIBUTES, db
from core.registry import AddonError


class AdminForm(BaseForm, FlaskForm):
    """Flask-Admin's form base with Flask-WTF's CSRF token: one form base for both,
    so the app-wide CSRF protection and the admin forms agree."""


# Which access letter each Flask-Admin endpoint needs. Checked before every request to
# a screen, whatever flags a subclass sets, so no addon can publish an unchecked path.
ENDPOINT_LETTERS = {
    "index_view": "r", "details_view": "r", "ajax_lookup": "r",
    "create_view": "c", "edit_view": "w", "ajax_update": "w",
    "delete_view": "d", "export": "x",
}
ACTION_LETTERS = {"delete": "d"}  # other bulk actions change records: "w"

LIST_COLUMN_LIMIT = 8
SEARCH_COLUMN_LIMIT = 5


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
    can_view_details = True
    export_types = ["csv", "xlsx"]
    can_set_page_size = True
    named_filter_urls = True  # flt0_priority_greater_than=1: readable, stable links
    page_size_options = (20, 50, 100)
    # What the screen offers at all; the user's rights narrow it further. A subclass may
    # still set Flask-Admin's can_create etc. to False to switch a button off for all.
    allow_create = allow_edit = allow_delete = allow_export = True

    def __init__(self, model, session=None, **kwargs):
        self._configure_from_model(model)
        super().__init__(model, session or db, **kwargs)

    # -- permissions -------------------------------------------------------------

    @property
    def permission_model(self):
        return self.model.__name__

    def permits(self, letter):
        return permissions.permits(current_user, self.permission_model, letter)

    def is_accessible(self):
        return current_user.is_authenticated and self.permits("r")

    def inaccessible_callback(self, name, **kwargs):
        return deny()

    def _handle_view(self, name, **kwargs):
        if not current_user.is_authenticated:
            return deny()
        letter = ENDPOINT_LETTERS.get(name, "r")
        if name == "action_view":
            letter = ACTION_LETTERS.get(request.form.get("action"), "w")
        if not self.permits("r") or not self.permits(letter):
            return deny()
        return None

    def is_action_allowed(self, name):
        return self.permits(ACTION_LETTERS.get(name, "w")) and super().is_action_allowed(name)

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

    def get_one(self, id):
        # Through get_query, so whatever narrows the list narrows single records too.
        ids = self.ids_of([id])
        if not ids:
            return None
        return self.get_query().filter(self.model.id == ids[0]).one_or_none()

    def ids_of(self, ids):
        """Row ids from a form as the primary key's type (PostgreSQL will not compare
        an integer column with text); ids that are not numbers are dropped."""
        return [int(i) for i in ids if str(i).isdigit()]

    @action("delete", admin_gettext("Delete"),
            admin_gettext("Are you sure you want to delete selected records?"))
    def action_delete(self, ids):
        return super().action_delete(self.ids_of(ids))

    # -- export, streamed -------------------------------------------------------------

    @expose("/export/<export_type>/")
    def export(self, export_type):
        if export_type not in self.export_types:
            abort(404)
        view_args = self._get_list_extra_args()
        sort = self._get_column_by_idx(view_args.sort)
        _count, query = self.get_list(None, sort[0] if sort else None, view_args.sort_desc,
                                      view_args.search, view_args.filters, execute=False,
                                      page_size=0)
        columns = self.get_export_columns()
        headers = [name for name, _label in columns]
        rows = ([self.get_export_value(record, name) for name, _label in columns]
                for record in query.yield_per(1000))
        filename = self.get_export_name(export_type)
        return exporting.response(export_type, filename, headers, rows)

    # -- defaults from the model --------------------------------------------------------

    def _configure_from_model(self, model):
        """Fill, on this instance, the options the class did not set."""
        mapper = inspect(model)
        columns = [c for c in mapper.columns if not c.primary_key and not c.foreign_keys
                   and not _is_secret(c.key)]
        short_text = [c.key for c in columns
                      if isinstance(c.type, String) and not isinstance(c.type, Text)]
        many_to_one = [r for r in mapper.relationships if r.direction.name == "MANYTOONE"]
        defaults = {
            "column_list": ([c.key for c in columns if not isinstance(c.type, Text)]
                            + [r.key for r in many_to_one])[:LIST_COLUMN_LIMIT],
            "column_searchable_list": short_text[:SEARCH_COLUMN_LIMIT],
            "column_filters": [c.key for c in columns if isinstance(
                c.type, (Boolean, Date, DateTime, Enum, Integer, Numeric))]
                + short_text + [r.key for r in many_to_one],
            "form_ajax_refs": {r.key: {"fields": fields[:1], "page_size": 10}
                               for r in many_to_one
                               for fields in [_display_columns(r.mapper)] if fields},
            "column_default_sort": ("id", True) if "id" in mapper.columns else None,
            "form_excluded_columns": [c.key for c in mapper.columns if _is_secret(c.key)],
        }
        for option, value in defaults.items():
            if getattr(self, option, None) is None:
                setattr(self, option, value)
        labels = {c.key: c.info["label"] for c in mapper.columns if "label" in c.info}
        self.column_labels = {**labels, **(getattr(self, "column_labels", None) or {})}


def _is_secret(name):
    return name.endswith(("password_hash", "_token"))


def _display_columns(mapper):
    return [a for a in DISPLAY_ATTRIBUTES if a in mapper.columns
            and isinstance(mapper.columns[a].type, String)]


class HomeView(AdminIndexView):
    """The dashboard every user lands on."""

    def is_accessible(self):
        return current_user.is_authenticated

    def inaccessible_callback(self, name, **kwargs):
        return deny()

    @expose("/")
    def index(self):
        state = current_app.extensions["crm"]
        screens = [v for v in self.admin._views
                   if isinstance(v, ModelView) and v.is_accessible()]
        return self.render("core/home.html", screens=screens, state=state,
                           panels=state.hooks.call("dashboard.panels"))


class AddonsView(BaseView):
    """Enable and disable addons at run time. Administrators only."""

    def is_accessible(self):
        return current_user.is_authenticated and current_user.is_admin

    def inaccessible_callback(self, name, **kwargs):
        return deny()

    @expose("/")
    def index(self):
        state = current_app.extensions["crm"]
        return self.render("core/addons.html", registry=state.registry,
                           states=state.registry.states(db.session))

    @expose("/<action>/<addon>", methods=("POST",))
    def change(self, action, addon):
        registry = current_app.extensions["crm"].registry
        try:
            if action == "enable":
                done = registry.enable(db.session, addon)
                message = _("Enabled: %(names)s.", names=", ".join(done) or addon)
            elif action == "disable":
                registry.disable(db.session, addon)
                message = _("Disabled %(name)s. Its records are kept.", name=addon)
            else:
                abort(404)
            db.session.commit()
            flash(message, "success")
        except AddonError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        return redirect(url_for(".index"))

    @expose("/rescan", methods=("POST",))
    def rescan(self):
        # Every process rebuilds (and so re-reads the addon folders) on a new revision.
        current_app.extensions["crm"].registry.bump_revision(db.session)
        db.session.commit()
        flash(_("Addon folders scanned again."), "success")
        return redirect(url_for(".index"))


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
    added = set()
    for addon_name, view in entries:
        *path, label = view["menu"].split("/")
        for depth in range(len(path)):
            category = path[depth]
            if category not in added:
                icon = menu_options.get(category, {}).get("icon")
                if depth == 0:
                    admin.add_category(category, icon_type="fa" if icon else None,
                                       icon_value=icon)
                else:
                    admin.add_sub_category(category, path[depth - 1])
                added.add(category)
        model = view["_model"]
        endpoint = view.get("endpoint") or model.__name__.lower()
        screen = view["_class"](
            model, db, name=_l(label), category=path[-1], endpoint=endpoint,
            url=f"/admin/{endpoint.replace('_', '-')}",
            menu_icon_type="fa" if view.get("icon") else None,
            menu_icon_value=view.get("icon"))
        if "page_size" not in type(screen).__dict__:  # the class did not choose its own
            screen.page_size = state.settings.page_size
        admin.add_view(screen)
