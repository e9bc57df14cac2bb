"""The mailing screens: write a mailing (subject and body as templates, checked with
their line when saved), preview it for any recipient, send it (its segment is
evaluated then: one row per distinct address not on the suppression list), follow
its figures and recipients, pause, resume or cancel it.

Sending itself is sender.py's: rows are only queued here, in the same transaction
as the mailing's move to "sending"."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import exists, func, insert, literal, select
from wtforms.validators import ValidationError

from addons.crm_marketing import mailtext, segments
from addons.crm_marketing.models import Mailing, Recipient, Suppression, address_key
from core import workflow
from core.admin import ModelView
from core.db import db
from core.models import utcnow

STARTED_CAMPAIGN_STATES = ("approved", "running")


def template_problem(mailing_or_form):
    """The first problem of a mailing's templates (an SMS has a body only), or None."""
    channel = _value(mailing_or_form, "channel")
    if channel == "SMS":
        return mailtext.check_sms(_value(mailing_or_form, "body"))
    return mailtext.check(_value(mailing_or_form, "subject"), _value(mailing_or_form, "body"))


def _value(mailing_or_form, name):
    value = getattr(mailing_or_form, name)
    return getattr(value, "data", value)


def send_condition(mailing, _target):
    """The workflow's condition on "send": a segment that reaches someone, templates
    that render, and a campaign (when it has one) approved or running."""
    if mailing.segment is None:
        return _("Choose the segment to send to.")
    problem = template_problem(mailing)
    if problem is not None:
        return problem.text
    if mailing.campaign is not None and mailing.campaign.state not in STARTED_CAMPAIGN_STATES:
        return _("The campaign %(name)s is not approved yet.", name=mailing.campaign.name)
    return None


def queue(mailing):
    """Queue one recipient row per distinct address the segment reaches now, leaving
    out suppressed addresses; returns (queued, suppressed)."""
    if mailing.channel == "SMS":
        return queue_sms(mailing)
    people = segments.audience(mailing.segment, mailing.audience).subquery()
    key = func.lower(func.trim(people.c.address))
    ranked = select(people.c.customer_id, people.c.contact_id, people.c.name,
                    people.c.address, key.label("address_key"),
                    func.row_number().over(partition_by=key, order_by=(
                        people.c.contact_id, people.c.customer_id)).label("rank")).subquery()
    suppressed = exists().where(Suppression.address == ranked.c.address_key)
    chosen = select(literal(mailing.id), ranked.c.customer_id, ranked.c.contact_id,
                    func.substr(ranked.c.name, 1, 200), func.trim(ranked.c.address),
                    ranked.c.address_key, literal("queued"), literal(0)) \
        .where(ranked.c.rank == 1, ~suppressed)
    db.session.execute(insert(Recipient).from_select(
        ["mailing_id", "customer_id", "contact_id", "name", "email", "address_key", "state",
         "attempts"], chosen))
    left_out = db.session.scalar(select(func.count()).where(ranked.c.rank == 1, suppressed))
    return _queued(mailing), left_out or 0


def queue_sms(mailing):
    """As queue, for mobile numbers: compared by their national digits (normalise.phone),
    which SQL cannot compute, so in batches here."""
    people = db.session.execute(segments.audience(mailing.segment, mailing.audience, "SMS")
                                .order_by("contact_id", "customer_id")).all()
    suppressed = set(db.session.scalars(select(Suppression.address).where(
        ~Suppression.address.contains("@"))))
    chosen, left_out = {}, set()
    for person in people:
        key = address_key(person.address)
        if not key or key in chosen:
            continue
        if key in suppressed:
            left_out.add(key)
            continue
        chosen[key] = {"mailing_id": mailing.id, "customer_id": person.customer_id,
                       "contact_id": person.contact_id, "name": (person.name or "")[:200],
                       "phone": person.address.strip()[:40], "address_key": key,
                       "state": "queued", "attempts": 0}
    rows = list(chosen.values())
    for start in range(0, len(rows), 5000):
        db.session.execute(insert(Recipient), rows[start:start + 5000])
    return _queued(mailing), len(left_out)


def _queued(mailing):
    return db.session.scalar(select(func.count()).where(Recipient.mailing_id == mailing.id))


def figures(mailing_id):
    """{state: count} of a mailing's recipients, with "opened" and "clicked" (dates
    set, whatever came later) and "total"."""
    rows = db.session.execute(select(Recipient.state, func.count(), func.count(Recipient.opened_at),
                                     func.count(Recipient.clicked_at))
                              .where(Recipient.mailing_id == mailing_id)
                              .group_by(Recipient.state)).all()
    found = {state: count for state, count, _opened, _clicked in rows}
    found["opened"] = sum(row[2] for row in rows)
    found["clicked"] = sum(row[3] for row in rows)
    found["total"] = sum(count for _state, count, _o, _c in rows)
    return found


def preview(mailing, address=None):
    """What the recipient with ``address`` in the segment (else its first, else a sample
    person) will read, or a Problem: {"subject", "html" or "text", "to", and for an SMS
    "size": (characters, parts)}."""
    problem = template_problem(mailing)
    if problem is not None:
        return problem
    person = None
    if mailing.segment is not None:
        people = segments.audience(mailing.segment, mailing.audience, mailing.channel) \
            .subquery()
        query = select(people)
        if address:
            query = query.where(func.lower(people.c.address) == address.strip().lower())
        person = db.session.execute(query.limit(1)).first()
    # A link as long as the real ones (an SMS's parts depend on it), to no one.
    link = mailtext.unsubscribe_link(9999999)
    if person is None:
        values = dict(mailtext.sample_values(), unsubscribe_url=link)
    else:
        values = values_of(person.customer_id, person.contact_id, person.name, person.address,
                           link)
    if mailing.channel == "SMS":
        text = mailtext.render_sms(mailing.body, values)
        return {"to": person.address if person else _("a sample person"), "text": text,
                "size": mailtext.sms_size(text)}
    subject, html = mailtext.render(mailing.subject, mailing.body, values)
    return {"to": values["email"], "subject": subject, "html": html}


def values_of(customer_id, contact_id, name, email, unsubscribe_url="#"):
    from addons.crm_contacts.models import Contact, Customer
    customer = db.session.get(Customer, customer_id) if customer_id else None
    contact = db.session.get(Contact, contact_id) if contact_id else None
    return mailtext.values_for(name, email, customer.name if customer else "",
                               contact.title if contact else "",
                               customer.city if customer else "", unsubscribe_url)


def fields_help():
    """The body's help: the fields a template may use, written as code (they are)."""
    names = Markup(", ").join(Markup("<code>{{{{ {} }}}}</code>").format(name)
                              for name in mailtext.FIELDS)
    return Markup(_("An e-mail's body is HTML; an SMS's is plain text. Fields: %(fields)s. "
                    "An unsubscribe link is added at the end of every message.",
                    fields=names))


class MailingView(ModelView):
    column_list = ["name", "channel", "campaign", "segment", "state", "queued_at", "owner"]
    column_searchable_list = ["name", "subject"]
    column_filters = ["channel", "state", "campaign.name", "segment.name", "owner.username",
                      "queued_at"]
    column_default_sort = ("id", True)
    form_columns = ["name", "channel", "campaign", "segment", "audience", "subject", "body"]
    column_details_list = ["name", "channel", "campaign", "segment", "audience", "subject",
                           "state",
                           "queued_at", "finished_at", "problem", "owner"]
    state_field = "state"
    form_widget_args = {"body": {"rows": 16, "class": "form-control text-monospace"}}
    form_args = {
        "body": {"description": LazyString(lambda: fields_help())},
        "subject": {"description": _l("E-mail only.")},
        "audience": {"description": _l("For a filter segment: whom of each customer to "
                                       "write to. A static list reaches its members.")},
    }
    form_ajax_refs = {"campaign": {"fields": ["name"], "page_size": 10}}
    allow_import = False

    def validate_form(self, form):
        valid = super().validate_form(form)
        if not valid or request.method != "POST" or "subject" not in form:
            return valid
        problem = template_problem(form)
        if problem is not None:
            getattr(form, problem.where).errors = [problem.text]
            return False
        return True

    def on_model_change(self, form, model, is_created):
        if model.state not in (None, "draft"):
            raise ValidationError(_("A mailing already sent cannot be changed."))
        super().on_model_change(form, model, is_created)

    # -- the page ----------------------------------------------------------------------------

    def detail_buttons(self, mailing):
        if mailing.state != "draft" or not self.can_edit:
            return []
        return [{"label": _("Send…"), "icon": "fa-paper-plane", "style": "btn-success",
                 "url": url_for(".send_view", id=mailing.id)}]

    def detail_panels(self, mailing):
        panels = []
        if mailing.state != "draft":
            panels.append({"title": _("Figures"), "order": 10, "html": Markup(render_template(
                "crm_marketing/mailing_figures.html", figures=figures(mailing.id))),
                "link": url_for("mailing_recipient.index_view",
                                flt0_mailing_mkt_mailing_name_equals=mailing.name),
                "link_text": _("Recipients")})
        shown = preview(mailing, request.args.get("preview"))
        panels.append({"title": _("Preview"), "order": 20, "width": "col-12",
                       "html": Markup(render_template("crm_marketing/mailing_preview.html",
                                                      preview=shown, mailing=mailing,
                                                      asked=request.args.get("preview", "")))})
        return panels + super().detail_panels(mailing)

    @expose("/send/", methods=("GET", "POST"))
    def send_view(self):
        """What a send will do (addresses, suppressed, the preview), then the send."""
        mailing = self.get_one(request.values.get("id", ""))
        if mailing is None or not self.can_edit:
            abort(404 if mailing is None else 403)
        back = url_for(".details_view", id=mailing.id)
        problem = workflow.refusal(mailing, workflow.of(Mailing).transitions["send"],
                                   current_user)
        if request.method == "POST" and problem is None:
            try:
                workflow.move(mailing, "send", current_user)
            except workflow.Refused as refused:
                flash(str(refused), "error")
                return redirect(back)
            mailing.queued_at, mailing.problem = utcnow(), None
            queued, suppressed = queue(mailing)
            if not queued:
                db.session.rollback()
                flash(_("Nobody to send to: the segment reaches no address that is not "
                        "suppressed."), "error")
                return redirect(back)
            db.session.commit()
            flash(_("%(count)s recipients queued; %(left)s suppressed addresses left out.",
                    count=queued, left=suppressed), "success")
            return redirect(back)
        customers = addresses = 0
        if mailing.segment is not None:
            customers, addresses = segments.counts(mailing.segment, mailing.audience,
                                                   mailing.channel)
        return self.render("crm_marketing/send.html", mailing=mailing, problem=problem,
                           customers=customers, addresses=addresses,
                           preview=preview(mailing), back=back)


class RecipientView(ModelView):
    """Who a mailing reached and what happened to each (read only)."""
    column_list = ["mailing", "email", "phone", "name", "customer", "state", "sent_at",
                   "opened_at", "clicked_at", "error"]
    column_searchable_list = ["email", "phone", "name"]
    column_filters = ["mailing.name", "state", "sent_at", "opened_at", "clicked_at"]
    column_default_sort = ("id", False)
    simple_list_pager = True
    allow_create = allow_edit = allow_delete = allow_import = False
    column_details_list = column_list + ["attempts"]
