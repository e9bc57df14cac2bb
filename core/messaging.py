"""Screens for reminders and messages: Today, announcements, the outbox and the jobs."""

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_admin import BaseView, expose
from flask_admin.actions import action
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import insert, select
from wtforms import SelectField
from wtforms.validators import ValidationError

from core import files, notifications, webhooks
from core.db import db
from core.i18n import label, mark, model_label

JOB_STATUSES = (mark("ok"), mark("error"))  # shown translated
from core.models import (Announcement, JobState, MailReceived, Message, Webhook,
                         WebhookDelivery, announcement_reads, utcnow)
from core.notifications import announcements_for
from core.scheduler import job_specs, queue_again, run_job
from core.util import int_ids
from core.views import (SETTINGS, AdminOnly, CoreModelView, ReadOnlyView, SignedIn,
                        lines_markup)


class TodayView(SignedIn, BaseView):
    """Today's and overdue reminders, and what each enabled addon has for today."""

    @expose("/")
    def index(self):
        state = current_app.extensions["crm"]
        return self.render("core/today.html", today=utcnow().date(),
                           reminders=notifications.today_and_overdue(current_user.id),
                           sections=state.hooks.call("today.sections", current_user))

    @expose("/read", methods=("POST",))
    def read(self):
        ids = int_ids(request.form.getlist("id"))
        notifications.mark_read(current_user.id, None if request.form.get("all") else ids)
        db.session.commit()
        return redirect(url_for(".index"))

    @expose("/announcement/<int:announcement_id>/read", methods=("POST",))
    def read_announcement(self, announcement_id):
        if announcement_id in {a.id for a in announcements_for(current_user)}:
            db.session.execute(insert(announcement_reads).values(
                announcement_id=announcement_id, user_id=current_user.id))
            db.session.commit()
        return redirect(url_for("admin.index"))


class AnnouncementView(CoreModelView):
    column_list = ["title", "starts_on", "ends_on", "groups"]
    form_columns = ["title", "body", "starts_on", "ends_on", "groups"]
    column_default_sort = ("starts_on", True)
    column_labels = {"groups": _l("Audience (empty: everyone)")}

    def on_model_change(self, form, model, is_created):
        if model.ends_on and model.ends_on < model.starts_on:
            raise ValidationError(_("The end date comes before the start date."))


def _format_log(view, context, message, name):
    return lines_markup(message.delivery_log.splitlines())


def record_cell(model, record_id):
    """A record by its kind and number, linked to its page (when a screen shows it)."""
    if not model or not record_id:
        return ""
    text = f"{model_label(model)} #{record_id}"
    link = notifications.record_link(model, record_id)
    return Markup('<a href="{}">{}</a>').format(link, text) if link else text


def _format_related(view, context, message, name):
    """The record the message was sent from."""
    return record_cell(message.related_model, message.related_id)


class OutboxView(ReadOnlyView):
    """Every email and SMS, with its delivery state. Read only, but for Resend."""

    column_list = ["created_at", "channel", "recipients", "subject", "status", "attempts",
                   "next_attempt_at", "sent_at", "last_error"]
    column_filters = ["status", "channel", "created_at", "related_model"]
    column_searchable_list = ["recipients", "subject"]
    column_details_list = ["channel", "recipients", "subject", "body_text", "status",
                           "attempts", "next_attempt_at", "sent_at", "last_error",
                           "related_model", "created_at", "delivery_log"]
    column_formatters_detail = {"delivery_log": _format_log, "related_model": _format_related}
    column_default_sort = ("id", True)
    allowed_actions = ("resend",)

    @action("resend", _l("Send again"), _l("Send the selected messages again?"))
    def action_resend(self, ids):
        for message in self.get_query().filter(Message.id.in_(ids)):
            queue_again(message)
        db.session.commit()
        flash(_("%(count)d messages queued again.", count=len(ids)), "success")


def _model_name(view, context, row, name):
    """A webhook's records by their screen's name (as the form offers them)."""
    return dict(webhooks.model_choices()).get(row.model, row.model)


class WebhookView(CoreModelView):
    """Webhooks (core.webhooks): what is sent where, and its state. The page of one
    shows its signing secret, its latest deliveries and "Send a test event"."""

    column_list = ["name", "model", "url", "active", "failures", "created_at"]
    column_searchable_list = ["name", "url"]
    column_filters = ["active", "model"]
    column_details_list = ["name", "url", "model", "on_created", "on_updated", "on_deleted",
                           "on_state_changed", "allow_private", "active", "paused_reason",
                           "failures", "created_at"]
    form_columns = ["name", "url", "model", "on_created", "on_updated", "on_deleted",
                    "on_state_changed", "allow_private", "active"]
    column_formatters = {"model": _model_name}
    column_formatters_detail = column_formatters
    form_overrides = {"model": SelectField}
    form_args = {"model": {"choices": webhooks.model_choices}}
    column_descriptions = {
        "on_state_changed": _l("For records with a workflow: a deal moved to another stage, "
                               "a quote accepted."),
        "allow_private": _l("Off: an address in a private network or on this server is "
                            "refused (it would let the webhook reach inside)."),
        "active": _l("A webhook pauses itself after %(count)d failed attempts in a row; "
                     "tick this to send its waiting events.", count=webhooks.PAUSE_AFTER),
    }
    column_default_sort = ("id", True)
    # Its import is how the API creates webhooks (POST /api/v1/webhooks), through the
    # checks below; a file of them imports as well.
    allow_import = True

    def on_model_change(self, form, model, is_created):
        refusal = webhooks.url_refusal(model.url, model.allow_private)
        if refusal:
            form.url.errors.append(refusal)
            raise ValidationError(refusal)
        if not any(getattr(model, column) for column in webhooks.EVENTS.values()):
            form.on_created.errors.append(_("Choose at least one event."))
            raise ValidationError(_("Choose at least one event."))
        was_active = db.inspect(model).attrs.active.history.deleted
        if not is_created and model.active and was_active == [False]:
            webhooks.resume(model)

    def detail_buttons(self, record):
        return [{"label": _("Send a test event"), "post": True, "icon": "fa-paper-plane",
                 "url": self.get_url(".ping", id=record.id)},
                {"label": _("Webhook deliveries"), "icon": "fa-list",
                 "url": url_for("webhook_deliveries.index_view",
                                **{WEBHOOK_FILTER: record.id})}]

    def detail_panels(self, record):
        deliveries = db.session.scalars(select(WebhookDelivery).where(
            WebhookDelivery.webhook_id == record.id).order_by(WebhookDelivery.id.desc())
            .limit(10)).all()
        html = render_template("core/webhook_panel.html", webhook=record,
                                    deliveries=deliveries)
        return [{"title": _("Signing and latest deliveries"), "html": Markup(html), "width": 12}]

    @expose("/ping", methods=("POST",))
    def ping(self):
        record = self.requested_record()
        webhooks.queue_ping(record)
        db.session.commit()
        flash(_("A test event is queued: it is sent within a minute (see its delivery "
                "below)."), "success")
        return redirect(self.get_url(".details_view", id=record.id))


WEBHOOK_FILTER = "flt0_webhook_webhook_name_equals"   # the delivery list, of one webhook


def _format_delivery_record(view, context, row, name):
    return record_cell(view_model_name(row.model), row.record_id)


def view_model_name(api_name):
    screen = current_app.extensions["crm"].api_screens.get(api_name)
    return screen.model.__name__ if screen is not None else api_name


class WebhookDeliveryView(ReadOnlyView):
    """Every event sent (or to send) to a webhook, with the receiver's answer. Read
    only, but for Send again."""

    column_list = ["created_at", "webhook", "event", "record_id", "status", "attempts",
                   "response_code", "next_attempt_at", "last_error"]
    column_filters = ["webhook.name", "status", "event", "created_at"]
    column_details_list = ["webhook", "event", "record_id", "status", "attempts",
                           "next_attempt_at", "sent_at", "response_code", "response_body",
                           "last_error", "created_at", "body", "delivery_log"]
    column_formatters = {"record_id": _format_delivery_record,
                         "event": lambda v, c, row, n: label(row.event),
                         "status": lambda v, c, row, n: label(row.status)}
    column_formatters_detail = {**column_formatters, "delivery_log": _format_log,
                                "body": lambda v, c, row, n: Markup("<pre>{}</pre>").format(
                                    row.body)}
    column_default_sort = ("id", True)
    allowed_actions = ("resend",)

    @action("resend", _l("Send again"), _l("Send the selected deliveries again?"))
    def action_resend(self, ids):
        for delivery in self.get_query().filter(WebhookDelivery.id.in_(ids)):
            queue_again(delivery)
        db.session.commit()
        flash(_("%(count)d deliveries queued again.", count=len(ids)), "success")


def _format_filed_on(view, context, row, name):
    """The record the gateway filed a received message on."""
    return record_cell(row.model, row.record_id)


MAIL_SOURCES = {"pipe": _l("Mail server (pipe)"), "imap": _l("Mailbox (IMAP)")}


class ReceivedMailView(ReadOnlyView):
    """Every message the incoming mail gateway took in (core.mailgate), and what became
    of it. Read only: the log."""

    column_list = ["received_at", "from_address", "subject", "outcome", "model",
                   "automatic", "source", "size"]
    column_filters = ["outcome", "source", "received_at"]
    column_searchable_list = ["from_address", "subject", "message_id"]
    column_details_list = ["received_at", "message_id", "from_address", "subject", "outcome",
                           "model", "automatic", "source", "size"]
    column_formatters = {"model": _format_filed_on,
                         "source": lambda v, c, row, n: MAIL_SOURCES.get(row.source, row.source),
                         "size": lambda v, c, row, n: files.size_text(row.size)}
    column_formatters_detail = column_formatters
    column_default_sort = ("id", True)


class JobsView(AdminOnly, BaseView):
    """The scheduled jobs, how they last ran, and Run now."""

    @expose("/")
    def index(self):
        specs = job_specs(current_app.extensions["crm"])
        states = {row.id: row for row in db.session.scalars(select(JobState))}
        return self.render("core/jobs.html", specs=specs.values(), states=states)

    @expose("/run/<job_id>", methods=("POST",))
    def run(self, job_id):
        spec = job_specs(current_app.extensions["crm"]).get(job_id)
        if spec is None:
            abort(404)
        status, message = run_job(spec)
        flash(_("%(job)s: %(status)s %(message)s", job=spec.title(), status=label(status),
                message=message), "success" if status == "ok" else "error")
        return redirect(url_for(".index"))


def add_messaging_views(admin):
    admin.add_view(TodayView(name=mark("Today"), endpoint="today", url="/admin/today",
                             menu_icon_type="fa", menu_icon_value="fa-calendar-check-o"))


def add_messaging_settings(admin):
    for view in (
        AnnouncementView(Announcement, db, name=mark("Announcements"), category=SETTINGS,
                         endpoint="announcements", url="/admin/announcements"),
        OutboxView(Message, db, name=mark("Outbox"), category=SETTINGS, endpoint="outbox",
                   url="/admin/outbox"),
        WebhookView(Webhook, db, name=mark("Webhooks"), category=SETTINGS, endpoint="webhooks",
                    url="/admin/webhooks"),
        WebhookDeliveryView(WebhookDelivery, db, name=mark("Webhook deliveries"),
                            category=SETTINGS, endpoint="webhook_deliveries",
                            url="/admin/webhook-deliveries"),
        ReceivedMailView(MailReceived, db, name=mark("Received mail"), category=SETTINGS,
                         endpoint="received_mail", url="/admin/received-mail"),
        JobsView(name=mark("Scheduled jobs"), category=SETTINGS, endpoint="jobs",
                 url="/admin/jobs"),
    ):
        admin.add_view(view)
