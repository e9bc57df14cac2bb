"""Settings > Customise: the fields a site adds to its addons' models (core.customise),
for administrators and the Customiser group."""
from flask import abort, current_app, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from core import customise, permissions, transfer
from core import record as record_page
from core.admin import ModelView, deny
from core.db import db
from core.i18n import label, model_label
from core.models import CustomField
from core.util import int_ids

TEXTS = ("name", "kind", "target", "label_en", "label_zh", "help_en", "help_zh", "default",
         "options", "section")
FLAGS = ("required", "is_unique", "indexed", "in_list")


def screens():
    """{model name: its first screen} of the enabled addons' models, by label."""
    found = {}
    for view in current_app.extensions["admin"][0]._views:
        if isinstance(view, ModelView) and not getattr(view, "core_screen", False) \
                and view.model.__module__.split(".")[0] != "core":
            found.setdefault(view.model.__name__, view)
    return dict(sorted(found.items(), key=lambda item: str(model_label(item[1].model))))


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
    names = dict.fromkeys(name for columns in (view._list_columns, view._details_columns,
                                               view.get_export_columns())
                          for name, _label in columns)
    names.update(dict.fromkeys(view.import_fields()))
    spellings = transfer.in_every_language(
        [record_page.field_label(view, name) for name in names])
    return frozenset(" ".join(text.split()).casefold() for said in spellings for text in said)


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
        return self.render("core/customise.html", models=models, counts=counts,
                           model_label=model_label)

    @expose("/<model_name>/", methods=("GET", "POST"))
    def model_page(self, model_name):
        view = screens().get(model_name) or abort(404)
        values = {key: "" for key in TEXTS} | {key: False for key in FLAGS} | {
            "kind": "text", "section": "-"}
        errors = {}
        if request.method == "POST":
            values = {key: request.form.get(key, "").strip() for key in TEXTS} | {
                key: bool(request.form.get(key)) for key in FLAGS}
            try:
                field = customise.add_field(db.session, view.model, values,
                                            current_app.extensions["crm"].registry,
                                            taken=labels_of(view))
                db.session.commit()
                flash(_("Field added: %(label)s. Every screen shows it from the next page "
                        "opened on.", label=customise.field_label(field)), "success")
                return redirect(url_for(".model_page", model_name=model_name))
            except customise.FieldRefused as exc:
                db.session.rollback()
                errors = exc.problems
                flash(_("Nothing was saved: correct the fields marked below."), "error")
        fields = db.session.scalars(select(CustomField).where(
            CustomField.model == model_name).order_by(CustomField.position)).all()
        return self.render(
            "core/customise_model.html", view=view, model_name=model_name,
            model_label=model_label, fields=fields, values=values, errors=errors,
            kinds=customise.KINDS, targets=screens(), sections=section_choices(view),
            field_label=customise.field_label)

    @expose("/<model_name>/remove/", methods=("POST",))
    def remove(self, model_name):
        return self._switch(model_name, customise.remove_field,
                            _("Field removed: its data is kept, and it can be restored."))

    @expose("/<model_name>/restore/", methods=("POST",))
    def restore(self, model_name):
        return self._switch(model_name, customise.restore_field, _("Field restored."))

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
