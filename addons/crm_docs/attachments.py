"""Files on any record: the Attachments panel on every record page of every enabled
addon (through the core's hook ``record.panels``, so no addon is named here), and the
addresses behind it: upload, preview, download, remove.

Who may read a record may read its files; who may change it may add and remove them.
The record is always read through core.record.find, within the user's record rules,
so these addresses need no Document rights at all: a salesperson with no documents
group attaches files to their own quotes. A file of a record the user may not read
answers 404, as a record that does not exist does.

Merging two records moves their files (the generic reference registered below).
A record deleted leaves its files' rows (the core publishes no "record deleted" event
to follow); nothing shows or serves them any more, as their record cannot be read.
"""
from flask import (abort, current_app, flash, has_app_context, redirect,
                   render_template, request, url_for)
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import delete, event, func, select
from sqlalchemy.orm import Session

from addons.crm_docs import documents
from addons.crm_docs.models import Document, IssuedDocument
from core import files, hooks, merge
from core import record as record_page
from core.admin import ModelView, deny
from core.db import db
from core.i18n import model_class
from core.models import User

PANEL_ROWS = 100   # a record with more shows its newest
ICONS = {"pdf": "fa-file-pdf-o", "png": "fa-file-image-o", "jpeg": "fa-file-image-o",
         "gif": "fa-file-image-o", "webp": "fa-file-image-o", "bmp": "fa-file-image-o",
         "text": "fa-file-text-o", "zip": "fa-file-archive-o"}

# Merging two customers (or any records) moves what is attached to them and issued from
# them. Registered at import, so it holds while crm_docs is disabled too.
merge.register_generic(Document.__table__, "record_model", "record_id")
merge.register_generic(IssuedDocument.__table__, "record_model", "record_id")


@event.listens_for(Session, "before_flush")
def remove_with_their_record(session, _context, _instances):
    """A record deleted takes its files with it (their contents stay in the store until
    the core purges what nothing names): left behind, they would show on a later record
    that gets the same id. The PDFs issued from it stay, as issued."""
    gone = {}
    for record in session.deleted:
        if attachable(type(record)) and getattr(record, "id", None) is not None:
            gone.setdefault(type(record).__name__, []).append(record.id)
    if not gone or not has_app_context() or "crm" not in current_app.extensions \
            or __package__.rsplit(".", 1)[-1] not in current_app.extensions["crm"].enabled:
        return
    for model_name, ids in gone.items():
        session.execute(delete(Document).where(Document.record_model == model_name,
                                               Document.record_id.in_(ids)))


def attachable(model):
    """May records of ``model`` carry files? Those of the addons' models, but not the
    core's (users, groups) nor this addon's own (a document on a document)."""
    module = getattr(model, "__module__", "")
    return module.startswith("addons.") and not module.startswith(f"{__package__}.")


# -- the panel ----------------------------------------------------------------------------

@hooks.connect("record.panels")
def attachments_panel(model_name, record):
    """The record's files, newest first, with their uploaders' names: one query."""
    if not attachable(type(record)):
        return None
    rows = db.session.execute(
        select(Document, User.full_name, User.username)
        .outerjoin(User, User.id == func.coalesce(Document.created_by_id, Document.owner_id))
        .where(Document.record_model == type(record).__name__,
               Document.record_id == record.id)
        .order_by(Document.created_at.desc(), Document.id.desc()).limit(PANEL_ROWS + 1)).all()
    attached = [{"document": document, "by": full_name or username,
                 "preview": files.kind_named(document.kind).inline,
                 "icon": ICONS.get(document.kind, "fa-file-o"),
                 "size": files.size_text(document.size),
                 "when": record_page.text_of(document.created_at)}
                for document, full_name, username in rows[:PANEL_ROWS]]
    html = render_template("crm_docs/panel_attachments.html", attached=attached,
                           more=len(rows) > PANEL_ROWS, record=record,
                           reference=record_page.reference(record),
                           may_change=documents.may_attach(record, current_user),
                           limit_mb=files.max_bytes() // 2 ** 20)
    title = _("Attachments") + (f" ({len(rows)})" if attached and len(rows) <= PANEL_ROWS
                                else "")
    return {"title": title, "order": 90, "html": Markup(html)}


# -- the addresses behind it --------------------------------------------------------------

class AttachmentView(ModelView):
    """Not a screen of its own (no menu entry, no card on the home page): the addresses
    the panel's links and forms go to. Its list leads to the library, and it has no
    forms; its own endpoints are checked against the attached record's rights."""

    allow_create = allow_edit = allow_delete = allow_export = allow_import = False
    can_view_details = False
    form_ajax_refs = {}
    # {endpoint: the letter it needs on the attached record's model}; each takes the
    # record as ?record=Model:id, or a file as <id>. The permission matrix finds these
    # at run time and checks each for every group and model (attaches_to).
    record_endpoints = {"upload": "w", "preview": "r", "download": "r", "remove": "w"}
    record_columns = ("record_model", "record_id")

    def is_visible(self):
        return False

    def attaches_to(self, model):
        return attachable(model)

    def is_accessible(self):
        # Reached only at its own addresses; elsewhere (the menu, the home page,
        # core.record.screen_of choosing Document's screen) it is not there.
        return (request.endpoint or "").startswith(f"{self.endpoint}.") \
            and super().is_accessible()

    def _handle_view(self, name, **kwargs):
        if name in self.record_endpoints:
            # Only signed in: each endpoint reads the record within the user's rules.
            return None if current_user.is_authenticated else deny()
        return super()._handle_view(name, **kwargs)

    @expose("/")
    def index_view(self):
        return redirect(url_for("document.index_view"))

    @expose("/upload/", methods=("POST",))
    def upload(self):
        """Add the chosen files to the record: all of them, or (one refused) none."""
        record = _record_named(request.args.get("record", ""))
        if not documents.may_attach(record, current_user):
            abort(403)
        # A file input left empty sends one part with no file name.
        uploads = [upload for upload in request.files.getlist("files") if upload.filename]
        if not uploads:
            flash(_("Choose a file first."), "error")
            return _back_to(record)
        current = uploads[0]
        try:
            for current in uploads:
                documents.add(current, current_user, record=record)
            db.session.commit()
        except (files.FileRefused, documents.Refused) as exc:
            db.session.rollback()
            flash(_("Nothing was added: %(name)s: %(reason)s",
                    name=current.filename, reason=str(exc)), "error")
            return _back_to(record)
        flash(ngettext("%(num)d file added.", "%(num)d files added.", len(uploads)), "success")
        return _back_to(record)

    @expose("/<int:id>/preview/")
    def preview(self, id):
        """A PDF or an image shown in the browser; any other file downloaded."""
        document, _record = _attachment(id)
        return files.response(document.sha256, document.name, document.file_kind, inline=True,
                              size=document.size)

    @expose("/<int:id>/download/")
    def download(self, id):
        document, _record = _attachment(id)
        return files.response(document.sha256, document.name, document.file_kind,
                              size=document.size)

    @expose("/<int:id>/remove/", methods=("POST",))
    def remove(self, id):
        document, record = _attachment(id)
        if not documents.may_write(document, current_user):
            abort(403)
        name = document.name
        documents.remove(document, current_user)
        db.session.commit()
        flash(_("%(name)s removed.", name=name), "success")
        return _back_to(record)


def _record_named(reference):
    """The record a form names ("Quote:5"), within the user's rules; 404 if it is not
    there, the user may not read it, or its records carry no files."""
    name = reference.partition(":")[0]
    model = model_class(name)
    if model is None or not attachable(model):
        abort(404)
    record = record_page.find(reference)
    if record is None:
        abort(404)
    return record


def _attachment(document_id):
    """(attached document, its record) for an id; 404 for a library document, or a
    file of a record the user may not read."""
    document = db.session.get(Document, document_id)
    if document is None or not document.record_model:
        abort(404)
    record = _record_named(f"{document.record_model}:{document.record_id}")
    return document, record


def _back_to(record):
    """Back to the record's page (found by the app, never taken from the request)."""
    url = record_page.url_of(record)
    if url is None:   # the user may read the record but has no screen for it
        return redirect(url_for("admin.index"))
    return redirect(url + "#attachments")

