"""Campaigns (with their costs, responses, revenue and return), responses, the
suppression list and the delivery reports kept for review.

A campaign's revenue is what other addons attribute to it through the hook
``marketing.campaign_revenue`` (called with campaign ids, answering {id: amount}):
with Sales enabled, the won deals and paid orders of the leads the campaign produced
(the bridge addon crm_marketing_sales). Without it, revenue is 0 and the page says why.
The list computes a page's costs, responses and revenue in one query each."""
from decimal import Decimal

from flask import current_app, flash, g, url_for
from flask_admin.actions import action
from flask_admin.model.form import InlineFormAdmin
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import func, select
from wtforms.validators import InputRequired, NumberRange

from addons.crm_marketing import returns
from addons.crm_marketing.responses import responded
from addons.crm_marketing.models import (BounceReport, CampaignCost,
                                         CampaignResponse, address_key)
from core.admin import ModelView
from core.db import db
from core.i18n import label, money_text
from core.util import int_ids

LARGEST_AMOUNT = Decimal("999999999999.99")


def campaign_figures(ids):
    """{campaign id: {"cost", "responses", "revenue", "roi"}} for ``ids``: SQL sums,
    and the revenue other addons attribute (the hook)."""
    ids = list(ids)
    if not ids:
        return {}
    costs = dict(db.session.execute(
        select(CampaignCost.campaign_id, func.sum(CampaignCost.amount))
        .where(CampaignCost.campaign_id.in_(ids)).group_by(CampaignCost.campaign_id)).all())
    responses = dict(db.session.execute(
        select(CampaignResponse.campaign_id, func.count())
        .where(CampaignResponse.campaign_id.in_(ids))
        .group_by(CampaignResponse.campaign_id)).all())
    revenue = {}
    for found in current_app.extensions["crm"].hooks.call("marketing.campaign_revenue", ids):
        for campaign_id, amount in found.items():
            revenue[campaign_id] = revenue.get(campaign_id, Decimal(0)) + Decimal(amount or 0)
    figures = {}
    for campaign_id in ids:
        cost = Decimal(costs.get(campaign_id) or 0)
        earned = revenue.get(campaign_id, Decimal(0))
        figures[campaign_id] = {
            "cost": cost, "responses": responses.get(campaign_id, 0), "revenue": earned,
            "roi": (earned - cost) / cost * 100 if cost else None}
    return figures


def revenue_attributed():
    """Does an enabled addon attribute revenue to campaigns (Sales, through the bridge)?"""
    return bool(current_app.extensions["crm"].hooks.handlers("marketing.campaign_revenue"))


def _figure(name):
    def format_cell(view, context, campaign, _name):
        value = view.figures_of(campaign).get(name)
        if name == "roi":
            return "—" if value is None else f"{format_decimal(value, format='#,##0')} %"
        if name == "responses":
            return value or 0
        return money_text(value)
    return format_cell


class CostInline(InlineFormAdmin):
    form_columns = ["id", "spent_on", "description", "amount"]
    form_args = {"spent_on": {"validators": [InputRequired()]},
                 "description": {"validators": [InputRequired()]},
                 "amount": {"validators": [InputRequired(), NumberRange(
                     0, LARGEST_AMOUNT, _l("An amount from 0 to 999,999,999,999.99."))]}}


class CampaignView(ModelView):
    column_list = ["name", "kind", "state", "start_date", "end_date", "budget", "cost",
                   "revenue", "roi", "responses", "owner"]
    column_searchable_list = ["name"]
    column_filters = ["kind", "state", "start_date", "end_date", "owner.username", "budget"]
    column_sortable_list = ["name", "kind", "state", "start_date", "end_date", "budget"]
    column_default_sort = ("id", True)
    column_labels = {"cost": _l("Actual cost"), "revenue": _l("Revenue"),
                     "roi": _l("Return (ROI)"), "responses": _l("Responses")}
    column_formatters = {name: _figure(name) for name in ("cost", "revenue", "roi", "responses")}
    column_formatters["budget"] = lambda view, context, campaign, name: money_text(campaign.budget)
    column_formatters_export = column_formatters
    form_columns = ["name", "kind", "channel", "start_date", "end_date", "budget",
                    "expected_revenue", "plan", "owner"]
    column_details_list = ["name", "kind", "state", "channel", "start_date", "end_date",
                           "budget", "expected_revenue", "plan", "owner"]
    details_sections = [(None, ["kind", "channel", "start_date", "end_date", "owner"]),
                        (_l("Budget"), ["budget", "expected_revenue"]),
                        (_l("Plan"), ["plan"])]
    state_field = "state"
    inline_models = [CostInline(CampaignCost)]
    form_args = {"budget": {"validators": [NumberRange(0, LARGEST_AMOUNT, _l(
        "An amount from 0 to 999,999,999,999.99."))]}}
    form_ajax_refs = {"owner": {"fields": ["username", "full_name"], "page_size": 10}}

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True,
                 page_size=None):
        count, rows = super().get_list(page, sort_column, sort_desc, search, filters,
                                       execute=execute, page_size=page_size)
        if execute:
            g.crm_campaign_figures = campaign_figures(row.id for row in rows)
        return count, rows

    def figures_of(self, campaign):
        """The campaign's figures: from its page's, read together (get_list); a row
        met elsewhere (an export's) reads its own."""
        if "crm_campaign_figures" not in g:
            g.crm_campaign_figures = {}
        if campaign.id not in g.crm_campaign_figures:
            g.crm_campaign_figures.update(campaign_figures([campaign.id]))
        return g.crm_campaign_figures[campaign.id]

    def validate_form(self, form):
        valid = super().validate_form(form)
        start = getattr(form, "start_date", None)
        end = getattr(form, "end_date", None)
        if valid and start is not None and start.data and end.data and end.data < start.data:
            end.errors = [_("The end comes before the start.")]
            return False
        return valid

    def detail_panels(self, campaign):
        found = campaign_figures([campaign.id])[campaign.id]
        budget = Decimal(campaign.budget or 0)
        rows = [(_("Budget"), money_text(budget)), (_("Actual cost"), money_text(found["cost"])),
                (_("Left of the budget"), money_text(budget - found["cost"])),
                (_("Responses"), found["responses"]), (_("Revenue"), money_text(found["revenue"])),
                (_("Return (ROI)"), "—" if found["roi"] is None
                 else f"{format_decimal(found['roi'], format='#,##0.0')} %")]
        note = "" if revenue_attributed() else Markup('<p class="small text-muted mb-0">{}</p>') \
            .format(_("Revenue is counted from the deals and orders of the campaign's leads "
                      "when Sales is enabled."))
        table = Markup("").join(Markup("<tr><th class=\"font-weight-normal\">{}</th>"
                                       "<td class=\"text-right\">{}</td></tr>").format(*row)
                                for row in rows)
        panel = {"title": _("Results"), "order": 10, "html": Markup(
            '<table class="table table-sm mb-1 crm-campaign-results">{}</table>{}').format(
                table, note),
            "link": url_for("campaign_response.index_view",
                            flt0_campaign_mkt_campaign_name_equals=campaign.name),
            "link_text": _("Responses")}
        return [panel] + super().detail_panels(campaign)


class ResponseView(ModelView):
    """Responses to campaigns: made by clicks, registrations and survey answers, or
    entered by hand (a reply by phone, a business card)."""
    column_list = ["campaign", "kind", "responded_at", "name", "email", "customer", "contact"]
    column_searchable_list = ["name", "email", "phone"]
    column_filters = ["campaign.name", "kind", "responded_at", "customer.name"]
    column_default_sort = ("id", True)
    form_columns = ["campaign", "kind", "responded_at", "customer", "contact", "name",
                    "email", "phone", "note"]
    form_ajax_refs = {
        "campaign": {"fields": ["name"], "page_size": 10},
        "customer": {"fields": ["name", "code"], "page_size": 10},
        "contact": {"fields": ["name", "email", "mobile"], "page_size": 10},
    }

    def on_model_change(self, form, response, is_created):
        super().on_model_change(form, response, is_created)
        if is_created:   # with Sales, a lead made in the same transaction
            db.session.add(response)
            db.session.flush()
            responded(response)


class SuppressionView(ModelView):
    """Addresses no marketing e-mail reaches. A manager adds one by hand (a customer
    asked by phone) or removes one (a mistake: the person asked to be reached again)."""
    column_list = ["address", "reason", "added_at", "mailing", "note"]
    column_searchable_list = ["address"]
    column_filters = ["reason", "added_at"]
    column_default_sort = ("id", True)
    form_columns = ["address", "note"]
    simple_list_pager = True

    def on_model_change(self, form, model, is_created):
        model.address = address_key(model.address)
        if is_created:
            model.reason = "added by hand"
        super().on_model_change(form, model, is_created)


class BounceView(ModelView):
    """Delivery reports and complaints: the clear ones applied as they came, the others
    kept to review here ("To review" filter), applied or dismissed by a manager."""
    column_list = ["received_at", "email", "kind", "status", "diagnostic", "decision", "doubt",
                   "recipient"]
    column_searchable_list = ["email"]
    column_filters = ["decision", "kind", "received_at"]
    column_default_sort = ("id", True)
    allow_create = allow_edit = allow_delete = allow_import = False
    simple_list_pager = True
    # Why a report waits is stored in English (returns.py, bounces.py) and shown translated.
    column_formatters = {"doubt": lambda view, context, report, name: label(report.doubt)}

    @action("apply", _l("Apply"), _l("Apply the selected reports (suppress where the rules say)?"))
    def action_apply(self, ids):
        self._decide(ids, "applied")

    @action("dismiss", _l("Dismiss"), _l("Dismiss the selected reports?"))
    def action_dismiss(self, ids):
        self._decide(ids, "dismissed")

    def _decide(self, ids, decision):
        if not self.permits("w"):
            flash(_("You may not change delivery reports."), "error")
            return
        reports = db.session.scalars(select(BounceReport).where(
            BounceReport.id.in_(int_ids(ids)), BounceReport.decision == "to review")).all()
        for report in reports:
            if decision == "applied":
                returns.apply(report)
            else:
                report.decision = "dismissed"
        db.session.commit()
        flash(ngettext("%(num)d report done.", "%(num)d reports done.", len(reports)),
              "success")

