"""Settings > Customise: the fields a site adds to its addons' models (core.customise),
and where each field shows and who sees it (core.layout), for administrators and the
Customiser group."""
from functools import partial

from flask import abort, current_app, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from core import customise, layout, permissions, transfer
from core import record as record_page
from core.admin import ModelView, deny
from core.db import db
from core.i18n import label, model_label
from core.models import ADMIN_GROUP, CustomField, Group
from core.util import folded, int_ids

TEXTS = ("name", "kind", "target", "label_en", "label_zh", "help_en", "help_zh", "default",
         "options", "section")
FLAGS = ("required", "is_unique", "indexed", "in_list")


def screens():
    """{model name: its first screen} of the enabled addons' models, in menu order."""
    found = {}
    for view in current_app.extensions["admin"][0]._views:
        if isinstance(view, ModelView) and not getattr(view, "core_screen", False) \
                and view.model.__module__.split(".")[0] != "core":
            found.setdefault(view.model.__name__, view)
    return found


def by_menu(models):
    """[(menu title, {model name: screen})] of screens(), each under the top menu it is
    in, as the menu bar orders them: the same order in either language (labels sorted
    by their Chinese characters would be in no order a reader knows)."""
    menus = {}
    for name, view in models.items():
        menus.setdefault((view.category or "").split("/")[0], {})[name] = view
    return [(label(menu) if menu else "", found) for menu, found in menus.items()]


def section_choices(view):
    """(key, title) of the screen's record page sections, and a section of its own."""
    # The class's sections: the instance's have the site's fields' own added.
    declared = getattr(type(view), "details_sections", None) or [(None, [])]
    choices = [(customise.section_key(title), label(title) if title is not None
                else _("The first section")) for title, _names in declared]
    return choices + [("-", label(customise.MORE))]


def labels_of(view):
    """The labels of the screen's fields in every language, folded as an import's
    header is read (core.transfer): what a new field's label may not be."""
    names = dict.fromkeys(view.layout_fields())   # (hidden ones too)
    names.update(dict.fromkeys(name for name, _label in view.get_export_columns()))
    names.update(dict.fromkeys(view.import_fields()))
    spellings = transfer.in_every_language(
        [record_page.field_label(view, name) for name in names])
    return frozenset(folded(text) for said in spellings for text in said)


SAME_PLACE = "="   # a field's section as the screen has it (not a section's key)


def groups():
    """The groups a field may be read-only or hidden for (administrators see all)."""
    found = db.session.scalars(select(Group).where(Group.code != ADMIN_GROUP)).all()
    return sorted(found, key=lambda group: str(label(group.name)))


class CustomiseView(BaseView):
    def is_accessible(self):
        return current_user.is_authenticated and permissions.permits(
            current_user, CustomField.__name__, "w")

    def inaccessible_callback(self, name, **kwargs):
        return deny()

    @expose("/")
    def index(self):
        models = screens()
        counts = {}
        for field in current_app.extensions["crm"].custom_fields:
            if field.removed_at is None:
                counts[field.model] = counts.get(field.model, 0) + 1
        return self.render("core/customise.html", menus=by_menu(models), counts=counts,
                           model_label=model_label)

    @expose("/<model_name>/", methods=("GET", "POST"))
    def model_page(self, model_name):
        models = screens()
        view = models.get(model_name) or abort(404)
        values = {key: "" for key in TEXTS} | {key: False for key in FLAGS} | {
            "kind": "text", "section": "-"}
        errors = {}
        if request.method == "POST":
            values = {key: request.form.get(key, "").strip() for key in TEXTS} | {
                key: bool(request.form.get(key)) for key in FLAGS}
            done, errors = self._declare(model_name, lambda: customise.add_field(
                db.session, view.model, values, current_app.extensions["crm"].registry,
                taken=labels_of(view)), lambda text: _(
                    "Field added: %(label)s. Every screen shows it from the next page "
                    "opened on.", label=text))
            if done:
                return done
        fields = db.session.scalars(select(CustomField).where(
            CustomField.model == model_name).order_by(CustomField.position)).all()
        return self.render(
            "core/customise_model.html", view=view, model_name=model_name,
            model_label=model_label, fields=fields, values=values, errors=errors,
            kinds=customise.KINDS, targets=models, target_menus=by_menu(models),
            sections=section_choices(view),
            field_label=customise.field_label, arranged=self._arranged(view))

    def _arranged(self, view):
        """[(field, label, section title or None, [(group name, access)], hidden)] of
        the screen's fields, with their rules as saved."""
        rules = view.field_rules
        sections = dict(section_choices(view))
        names = {group.code: label(group.name) for group in groups()}
        rows = []
        for name, text in view.layout_fields().items():
            rule = rules.get(name, layout.Rule())
            rows.append((name, text, sections.get(rule.section),
                         [(names.get(code, code), label(layout.ACCESS[access]))
                          for code, access in rule.groups.items() if access in layout.ACCESS],
                         rule.hidden))
        return rows

    @expose("/<model_name>/layout/<field>/", methods=("GET", "POST"))
    def field_layout(self, model_name, field):
        """Where one field shows, and who may see or change it."""
        view = screens().get(model_name) or abort(404)
        fields = view.layout_fields()
        if field not in fields:
            abort(404)
        rule = view.field_rules.get(field, layout.Rule())
        known = groups()
        values = {"section": SAME_PLACE if rule.section is None else rule.section,
                  "hidden": rule.hidden, "groups": dict(rule.groups)}
        errors = {}
        if request.method == "POST":
            values = {"section": request.form.get("section", SAME_PLACE),
                      "hidden": bool(request.form.get("hidden")),
                      "groups": {group.code: request.form.get(f"group-{group.code}", layout.EDIT)
                                 for group in known}}
            if values["section"] not in dict(section_choices(view)):
                values["section"] = SAME_PLACE
            errors = layout.check_rule(field in view.required_fields(), values["hidden"],
                                       values["groups"], {group.code for group in known})
            if not errors:
                layout.save_rule(db.session, model_name, field,
                                 None if values["section"] == SAME_PLACE else values["section"],
                                 values["hidden"], values["groups"],
                                 current_app.extensions["crm"].registry)
                db.session.commit()
                flash(_("Saved: %(label)s. Every screen follows it from the next page opened "
                        "on.", label=fields[field]), "success")
                return redirect(url_for(".model_page", model_name=model_name) + "#layout")
            flash(_("Nothing was saved: correct the fields marked below."), "error")
        return self.render(
            "core/customise_layout.html", view=view, model_name=model_name,
            model_label=model_label, field=field, field_text=fields[field], values=values,
            errors=errors, groups=known, access=layout.ACCESS, same_place=SAME_PLACE,
            sections=section_choices(view))

    @expose("/<model_name>/tabs/", methods=("POST",))
    def tabs(self, model_name):
        """Show the model's sections as tabs, or one under the other."""
        screens().get(model_name) or abort(404)
        tabs = bool(request.form.get("tabs"))
        layout.save_tabs(db.session, model_name, tabs, current_app.extensions["crm"].registry)
        db.session.commit()
        flash(_("Saved: the sections after the first show as tabs.") if tabs else
              _("Saved: the sections show one under the other."), "success")
        return redirect(url_for(".model_page", model_name=model_name) + "#layout")

    @expose("/<model_name>/field/<int:field_id>/", methods=("GET", "POST"))
    def change_field(self, model_name, field_id):
        """Change a field's labels, help, options and choices; not its name or kind."""
        view = screens().get(model_name) or abort(404)
        field = self._field(model_name, str(field_id))
        if field.removed_at is not None:
            abort(404)
        values = {key: getattr(field, key) or "" for key in TEXTS} | {
            key: getattr(field, key) for key in FLAGS} | {
            "name": field.name[len(customise.PREFIX):], "options": customise.options_text(field)}
        errors = {}
        if request.method == "POST":
            values = values | {key: request.form.get(key, "").strip() for key in TEXTS
                               if key not in ("name", "kind", "target")} | {
                key: bool(request.form.get(key)) for key in FLAGS}
            own = {folded(field.label_en), folded(field.label_zh)}
            done, errors = self._declare(model_name, lambda: customise.change_field(
                db.session, field, values, current_app.extensions["crm"].registry,
                taken=labels_of(view) - own), lambda text: _(
                    "Field saved: %(label)s. Every screen shows it so from the next page "
                    "opened on.", label=text))
            if done:
                return done
        return self.render(
            "core/customise_field.html", view=view, model_name=model_name, field=field,
            model_label=model_label, values=values, errors=errors, kinds=customise.KINDS,
            target_menus=by_menu(screens()), sections=section_choices(view),
            field_label=customise.field_label)

    @expose("/<model_name>/remove/", methods=("POST",))
    def remove(self, model_name):
        return self._switch(model_name, customise.remove_field,
                            _("Field removed: its data is kept, and it can be restored."))

    @expose("/<model_name>/restore/", methods=("POST",))
    def restore(self, model_name):
        return self._switch(model_name, partial(customise.remove_field, removed=False),
                            _("Field restored."))

    @expose("/<model_name>/purge/", methods=("GET", "POST"))
    def purge(self, model_name):
        """Delete a removed field's column and data, for administrators, after a page
        naming how many records hold a value (posted back: a count changed meanwhile
        asks again)."""
        if not current_user.is_admin:
            abort(403)
        field = self._field(model_name, request.values.get("id"))
        if field.removed_at is None:
            abort(404)
        count = customise.held_count(db.session, field)
        if request.method == "POST":
            if request.form.get("count") == str(count):
                customise.purge_field(db.session, field, current_app.extensions["crm"].registry)
                db.session.commit()
                flash(ngettext("Field purged: %(label)s, with the value of %(num)d record.",
                               "Field purged: %(label)s, with the values of %(num)d records.",
                               count, label=customise.field_label(field)), "success")
                return redirect(url_for(".model_page", model_name=model_name))
            flash(_("The number of records holding a value has changed; check it again."),
                  "error")
        return self.render("core/customise_purge.html", field=field, count=count,
                           model_name=model_name, view=screens().get(model_name),
                           model_label=model_label, field_label=customise.field_label)

    def _declare(self, model_name, work, message):
        """``work`` (adding or changing a field) in one transaction: (the redirect to the
        type's page, with ``message`` of the field's label flashed, {}), or (None, the
        problems it was refused for), nothing saved."""
        try:
            field = work()
        except customise.FieldRefused as exc:
            db.session.rollback()
            flash(_("Nothing was saved: correct the fields marked below."), "error")
            return None, exc.problems
        db.session.commit()
        flash(message(customise.field_label(field)), "success")
        return redirect(url_for(".model_page", model_name=model_name)), {}

    def _field(self, model_name, field_id):
        return db.session.scalar(select(CustomField).where(
            CustomField.model == model_name,
            CustomField.id == next(iter(int_ids([field_id or ""])), 0))) or abort(404)

    def _switch(self, model_name, change, message):
        field = self._field(model_name, request.form.get("id"))
        change(db.session, field, current_app.extensions["crm"].registry)
        db.session.commit()
        flash(message, "success")
        return redirect(url_for(".model_page", model_name=model_name))
