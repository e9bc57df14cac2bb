"""Issued documents: every PDF the suite sends or makes final, kept as it left.

An addon that sends or finalises a PDF calls ``core.pdf.issue`` (hook
``document.issued``); here its bytes go into the file store once, and a row says what it
was (kind, template and the template's version), who issued it, when, to whom and with
which outbox message. Rows are never changed or removed through the application (a flush
guard refuses it), so what a customer received can always be shown again, byte for
byte; "Resend" sends those stored bytes, never a new rendering.

The PDF templates edited in the screens (templates.py) are answered here too (hook
``pdf.template_source``): this module is imported at start-up in every process, so a
job that prints sees the edited templates as the web pages do."""

from flask import abort, flash, g, has_app_context, redirect, render_template, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import and_, event, func, select
from sqlalchemy.orm import Session, joinedload

from addons.crm_docs.models import ISSUE_EVENTS, IssuedDocument, TemplateVersion
from core import dates, files, hooks, outbox, pdf, permissions
from core.admin import ModelView
from core.audit import acting_user_id
from core.db import db
from core.i18n import label, mark, model_class, model_label
from core.record import find, screen_of, user_name
from core.util import int_ids

PANEL_ROWS = 50
MENU_LABEL = mark("Issued documents")   # the screen's menu entry, shown through label()


class Immutable(RuntimeError):
    """Something tried to change or remove an issued document."""


# -- the templates edited in the screens -----------------------------------------------------

def current_templates():
    """{template path: (newest version number, its text or None for "the file")}: read
    once per request (or app context), in one query, whatever the number of templates a
    PDF includes."""
    if "crm_doc_templates" not in g:
        newest = (select(TemplateVersion.template, func.max(TemplateVersion.number)
                         .label("number")).group_by(TemplateVersion.template).subquery())
        rows = db.session.execute(
            select(TemplateVersion.template, TemplateVersion.number, TemplateVersion.source)
            .join(newest, and_(TemplateVersion.template == newest.c.template,
                               TemplateVersion.number == newest.c.number)))
        g.crm_doc_templates = {template: (number, source) for template, number, source in rows}
    return g.crm_doc_templates


def forget_templates():
    """After a save: the next PDF of this request reads the versions again."""
    g.pop("crm_doc_templates", None)


@hooks.connect("pdf.template_source")
def template_source(name):
    return current_templates().get(name, (None, None))[1]


def template_version(template):
    """The version of ``template`` PDFs render from now; None: the template file."""
    number, source = current_templates().get(template, (None, None))
    return number if source is not None else None


# -- keeping what was issued -------------------------------------------------------------------

@hooks.connect("document.issued")
def keep(issued):
    """Store an issued PDF (pdf.Issued) and its row, in the caller's transaction."""
    stored = files.save_bytes(issued.data, issued.filename)
    kind = pdf.kinds().get(issued.kind)
    template = kind.template if kind is not None else ""
    message_id = None
    if issued.message is not None:
        if issued.message.id is None:
            db.session.flush()
        message_id = issued.message.id
    row = IssuedDocument(
        record_model=type(issued.record).__name__, record_id=issued.record.id,
        kind=issued.kind, event=issued.event, filename=stored.name, sha256=stored.sha256,
        size=stored.size, template=template, template_version=template_version(template),
        recipients=", ".join(issued.recipients), message_id=message_id,
        issued_by_id=acting_user_id())
    db.session.add(row)
    return row


@event.listens_for(Session, "before_flush")
def refuse_changes(session, _context, _instances):
    """An issued document is evidence of what was sent: never changed, never removed."""
    for record in session.deleted:
        if isinstance(record, IssuedDocument):
            raise Immutable("an issued document is never removed")
    for record in session.dirty:
        if isinstance(record, IssuedDocument) and session.is_modified(record):
            raise Immutable("an issued document is never changed")


# -- the panel on the record's page --------------------------------------------------------------

def kind_label(kind):
    found = pdf.kinds().get(kind)
    return label(found.label) if found is not None else kind


@hooks.connect("record.panels")
def issued_panel(model_name, record):
    """The PDFs issued from this record, newest first (one query; no panel if none)."""
    rows = db.session.scalars(
        select(IssuedDocument).options(joinedload(IssuedDocument.issued_by))
        .where(IssuedDocument.record_model == model_name,
               IssuedDocument.record_id == record.id)
        .order_by(IssuedDocument.issued_at.desc(), IssuedDocument.id.desc())
        .limit(PANEL_ROWS)).all()
    if not rows:
        return None
    html = render_template("crm_docs/issued_panel.html", rows=rows, kind_label=kind_label,
                           shown=dates.shown, user_name=user_name,
                           may_resend=permissions.permits(current_user, model_name, "w"))
    return {"title": _("Issued documents"), "html": Markup(html), "order": 60,
            "width": "col-12"}


# -- the screen: a read-only list for document managers, download and resend for all -----------

def record_link(_view, _context, row, _name):
    model = model_class(row.record_model)
    screen = screen_of(model) if model is not None else None
    text = model_label(row.record_model)
    if screen is None:
        return text
    return Markup('<a href="{}">{}</a>').format(
        url_for(f"{screen.endpoint}.details_view", id=row.record_id), text)


def kind_options():
    """The documents the enabled addons print, for the filter (read again on every
    list page: see IssuedView.index_view; none while the screen is being built)."""
    if not has_app_context():
        return []
    return [(name, label(kind.label)) for name, kind in sorted(pdf.kinds().items())]


class IssuedView(ModelView):
    """Issued documents. The list is for those with read access to IssuedDocument
    (document managers); downloading and resending one are for whoever may read the
    record it was issued from, checked by each of those endpoints."""

    allow_create = allow_edit = allow_delete = allow_import = False
    can_view_details = False
    column_list = ("issued_at", "kind", "event", "record_model", "filename", "issued_by",
                   "recipients", "sha256", "download")
    column_export_list = ("issued_at", "kind", "event", "record_model", "record_id", "filename",
                          "issued_by", "recipients", "sha256", "size", "template",
                          "template_version")
    column_labels = {"download": "", "record_model": _l("Record"), "record_id": _l("Record id"),
                     "issued_by.username": _l("Issued by")}
    column_filters = (
        FilterEqual(IssuedDocument.kind, _l("Document"), options=kind_options),
        FilterEqual(IssuedDocument.event, _l("Issued as"), options=lambda: [
            (event_name, label(event_name)) for event_name in ISSUE_EVENTS]),
        "issued_at", "issued_by.username")
    column_display_actions = False
    column_searchable_list = ("filename", "recipients", "sha256")
    column_default_sort = ("issued_at", True)
    column_formatters = {
        "kind": lambda view, context, row, name: kind_label(row.kind),
        "event": lambda view, context, row, name: label(row.event),
        "issued_at": lambda view, context, row, name: dates.shown(row.issued_at),
        "issued_by": lambda view, context, row, name: user_name(row.issued_by) or "",
        "sha256": lambda view, context, row, name: Markup(
            '<code title="{}">{}</code>').format(row.sha256, row.sha256[:12]),
        "record_model": record_link,
        "download": lambda view, context, row, name: Markup(
            '<a href="{}"><i class="fa fa-download"></i> {}</a>').format(
                url_for(".download", id=row.id), _("Download")),
    }
    RECORD_ENDPOINTS = ("download", "resend")

    @expose("/")
    def index_view(self):
        self._refresh_filters_cache()   # the kinds of documents of the enabled addons
        return super().index_view()

    def _handle_view(self, name, **kwargs):
        if name in self.RECORD_ENDPOINTS and current_user.is_authenticated:
            return None   # checked by the endpoint, against the record
        return super()._handle_view(name, **kwargs)

    def _issued(self, need_record=False):
        """The issued document of ?id= and its record, or 404: the user must be able to
        read the record (a document manager may download any)."""
        ids = int_ids([request.args.get("id", "")])
        row = db.session.get(IssuedDocument, ids[0]) if ids else None
        if row is None:
            abort(404)
        record = find(f"{row.record_model}:{row.record_id}")
        if record is None and (need_record or not self.permits("r")):
            abort(404)
        return row, record

    @expose("/download/")
    def download(self):
        row, _record = self._issued()
        return files.response(row.sha256, row.filename, files.PDF,
                              inline=request.args.get("inline") == "1", size=row.size)

    @expose("/resend/", methods=("GET", "POST"))
    def resend(self):
        """Send the stored bytes again (never a new rendering), and keep that too."""
        row, record = self._issued(need_record=True)
        if not permissions.permits(current_user, row.record_model, "w"):
            abort(404)
        record_screen = screen_of(type(record))
        back = url_for(f"{record_screen.endpoint}.details_view", id=record.id)
        stem = row.filename[:-4] if row.filename.lower().endswith(".pdf") else row.filename
        values = {"to": row.recipients, "subject": stem,
                  "text": _("Please find attached %(name)s, as issued on %(date)s.",
                            name=row.filename, date=dates.shown(row.issued_at))}
        errors = {}
        if request.method == "POST":
            values, recipients, errors = outbox.read_email_form(
                request.form, values, _("Enter at least one email address."))
            if not errors:
                resent(row, record, recipients, values["subject"][:255], values["text"])
                db.session.commit()
                flash(_("%(name)s queued for %(to)s, exactly as it was issued.",
                        name=row.filename, to=", ".join(recipients)), "success")
                return redirect(back)
        return self.render("crm_docs/issued_resend.html", row=row, values=values,
                           errors=errors, back=back, shown=dates.shown,
                           record_label=label(record),
                           no_mail_server=not outbox.mail_configured())


def resent(row, record, recipients, subject, text):
    """Queue the stored bytes of ``row`` by email and keep the sending as issued too."""
    data = files.read(row.sha256)
    message = outbox.send_email(recipients, subject, text, related=record,
                                attachments=[(row.filename, data, "application/pdf")])
    db.session.flush()
    again = IssuedDocument(
        record_model=row.record_model, record_id=row.record_id, kind=row.kind, event="resent",
        filename=row.filename, sha256=row.sha256, size=row.size, template=row.template,
        template_version=row.template_version, recipients=", ".join(recipients),
        message_id=message.id, issued_by_id=current_user.id)
    db.session.add(again)
    return again
