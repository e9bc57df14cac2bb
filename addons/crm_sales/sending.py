"""Sending a printed document by email, as quotes and purchase orders are sent: a page
with the recipients, subject and text; then, in one transaction, the document marked
sent through its workflow, the email with the PDF into the outbox and the PDF issued
(crm_docs keeps it). The document's page shows when it went and how the email fared."""
from flask import abort, flash, request
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup, escape

from core import outbox, pdf, workflow
from core.db import db
from core.i18n import label
from core.record import EMAIL_STYLES


def sent_text(record):
    """When ``record`` was sent (its ``sent_at``) and, if by email, how the email fared:
    queued, retrying, delivered or failed, with the reason."""
    if record.sent_at is None:
        return ""
    when = escape(f"{record.sent_at:%Y-%m-%d %H:%M}")
    found = outbox.messages_for(type(record).__name__, record.id, limit=1)
    if not found:
        return when
    email = found[0]
    style = EMAIL_STYLES.get(email["state"], "secondary")
    text = Markup('{} · {} <span class="badge badge-{} crm-delivery crm-delivery-{}">{}</span>'
                  ).format(when, _("email to %(to)s", to=email["recipients"]), style,
                           email["state"], label(email["state"]))
    if email["state"] in ("failed", "retrying") and email["error"]:
        text += Markup(' <small class="text-muted">{}</small>').format(
            outbox.error_text(email["error"]))
    return text


def mark_sent(record, set_sent_at):
    """Through the workflow's "send" while ``record`` is not sent yet; a sent one, emailed
    again, only gets its time of sending (``set_sent_at``, the transition's effect).
    Raises workflow.Refused."""
    if record.state == "sent":
        set_sent_at(record, current_user)
    else:
        workflow.move(record, "send", current_user)


class SendByEmail:
    """The "Send by email" page (/send/?id=) of a document's ModelView. The view sets
    ``pdf_kind`` (its manifest ``pdf`` key), ``sent_effect`` (the "send" transition's
    effect, see mark_sent), ``document_pdf(record)`` and ``pdf_filename(record)``, and
    defines:

    - ``_printed(lock)``: the record of ?id= with what its PDF prints;
    - ``sending_problem(record)``: why it cannot be sent now, or None;
    - ``email_defaults(record)``: {"to", "subject", "text"} first shown;
    - ``sending_texts(record)``: {"heading", "intro", "no_address"} of the page and
      "missing" (the error when no address is given) and "queued" (of the recipients);
    - ``_back(record)`` and ``_refuse(record, message)``."""

    @expose("/send/", methods=("GET", "POST"))
    def send(self):
        if not self.permits("w"):
            abort(403)
        record = self._printed(lock=request.method == "POST")
        problem = self.sending_problem(record)
        if problem:
            return self._refuse(record, problem)
        texts = self.sending_texts(record)
        values, errors = self.email_defaults(record), {}
        if request.method == "POST":
            values, recipients, errors = outbox.read_email_form(request.form, values,
                                                                texts["missing"])
            if not errors:
                try:
                    mark_sent(record, self.sent_effect)
                except workflow.Refused as refused:
                    return self._refuse(record, str(refused))
                data, filename = self.document_pdf(record), self.pdf_filename(record)
                message = outbox.send_email(
                    recipients, values["subject"][:255], values["text"],
                    attachments=[(filename, data, "application/pdf")], related=record)
                pdf.issue(record, self.pdf_kind, data, filename, event="sent",
                          recipients=recipients, message=message)
                db.session.commit()
                flash(texts["queued"](", ".join(recipients)), "success")
                return self._back(record)
            db.session.rollback()
        return self.render("crm_sales/document_send.html", texts=texts, values=values,
                           errors=errors, filename=self.pdf_filename(record),
                           back=self.get_url(".details_view", id=record.id),
                           no_mail_server=not outbox.mail_configured())
