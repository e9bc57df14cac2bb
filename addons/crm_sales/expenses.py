"""Expenses and other income, with a receipt, approved by a manager.

draft -> submitted (by the owner, or an administrator) -> approved or refused: the
manifest's workflow, whose "submit" opens an approval request (core/approvals.py). By
default a sales manager who can see the expense decides, never on their own expense.
Submitted and approved expenses are no longer edited; a refused one may be corrected
and submitted again."""
from datetime import date

from flask import abort, g, has_request_context, request, send_file
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import extract, func, select
from sqlalchemy.orm import joinedload
from wtforms import FileField
from wtforms.validators import ValidationError

from addons.crm_sales.models import Expense, ExpenseCategory
from addons.crm_sales.money import amount_text
from addons.crm_sales.orders import keep_an_owner, more_than_zero
from core import permissions, uploads
from core.admin import ModelView
from core.db import db
from core.i18n import label
from core.models import utcnow
from core.util import int_ids

AREA = "attachments"                        # instance/attachments/<random token>
RECEIPT_TYPES = ("pdf", "png", "jpg", "jpeg")
LOCKED = ("submitted", "approved")          # states in which an expense is not edited


# -- the workflow's condition and effect (the manifest's "workflows") -----------------------

def submit_condition(expense, _target):
    """Only its owner submits an expense (or an administrator, for them)."""
    if not has_request_context() or not current_user.is_authenticated:
        return None   # the application
    if expense.owner_id == current_user.id or current_user.is_admin:
        return None
    return _("Only its owner may submit an expense.")


def set_approver(expense, user):
    """The last approver (passed by the approval engine) and when."""
    expense.approved_by = user
    expense.approved_at = utcnow()


def category_of_kind(form, field):
    """An income needs an income category, an expense an expense category."""
    category, kind = field.data, form.kind.data
    if category is not None and kind and category.kind != kind:
        raise ValidationError(_("%(category)s is a category of %(kind)s entries.",
                                category=label(category.name), kind=label(category.kind)))


def opportunity_of_customer(form, field):
    opportunity, customer = field.data, form.customer.data
    if opportunity is not None and customer is not None \
            and opportunity.customer_id != customer.id:
        raise ValidationError(_("This opportunity is another customer's."))


def receipt_file():
    """The uploaded receipt of this request, or None when no file was chosen."""
    file = request.files.get("receipt")
    return file if file is not None and file.filename else None


def acceptable_receipt(form, field):
    file = receipt_file()
    if file is not None:
        try:
            uploads.check(file, RECEIPT_TYPES)
        except uploads.UploadRefused as refused:
            raise ValidationError(str(refused)) from None


class ExpenseView(ModelView):
    column_list = ["expense_date", "kind", "category", "amount", "description", "customer",
                   "state", "owner"]
    column_sortable_list = ["expense_date", "kind", ("category", "category.name"), "amount",
                            "state", ("owner", "owner.username")]
    column_searchable_list = ["description"]
    column_filters = ["expense_date", "kind", "state", "amount", "category.name",
                      "customer.name", "owner.username"]
    column_details_list = ["expense_date", "kind", "category", "amount", "description",
                           "customer", "opportunity", "attachment_name", "state", "owner",
                           "approved_by", "approved_at", "created_at"]
    column_export_list = ["expense_date", "kind", "category", "amount", "description",
                          "customer", "opportunity", "state", "owner", "approved_by",
                          "approved_at"]
    column_labels = {"attachment_name": _l("Receipt")}
    column_default_sort = ("expense_date", True)
    form_columns = ["expense_date", "kind", "category", "amount", "customer", "opportunity",
                    "description", "owner", "receipt"]
    form_extra_fields = {"receipt": FileField(
        _l("Receipt"), validators=[acceptable_receipt],
        description=_l("PDF, PNG or JPEG. A new file replaces the one kept."))}
    form_args = {"amount": {"validators": [more_than_zero(_l("The amount must be more than 0."))]},
                 "category": {"validators": [category_of_kind]},
                 "opportunity": {"validators": [opportunity_of_customer]}}
    # Categories are few: a plain select, which the page narrows to the chosen kind.
    form_ajax_refs = {"customer": {"fields": ["name"], "page_size": 10},
                      "opportunity": {"fields": ["name"], "page_size": 10},
                      "owner": {"fields": ["username"], "page_size": 10}}
    list_template = "crm_sales/expense_list.html"
    create_template = "crm_sales/expense_create.html"
    edit_template = "crm_sales/expense_edit.html"

    column_formatters = {
        "amount": lambda view, context, expense, name: amount_text(expense.amount),
    }
    column_formatters_detail = {
        **column_formatters,
        "attachment_name": lambda view, context, expense, name: view.receipt_link(expense),
    }

    def get_query(self):
        return super().get_query().options(joinedload(Expense.category),
                                           joinedload(Expense.owner))

    def receipt_link(self, expense):
        if not expense.attachment_token:
            return ""
        return Markup('<a href="{}" class="crm-receipt"><i class="fa fa-paperclip"></i> {}</a>').format(
            self.get_url(".attachment_view", id=expense.id), escape(expense.attachment_name))

    def render(self, template, **kwargs):
        if template in (self.create_template, self.edit_template):
            kwargs["category_kinds"] = {str(row.id): row.kind for row in db.session.execute(
                select(ExpenseCategory.id, ExpenseCategory.kind))}
        return super().render(template, **kwargs)

    # -- editing: not once submitted; the receipt kept under a random name ------------------

    def edit_refusal(self, expense):
        if expense.state in LOCKED:
            return _("This expense is %(state)s: it can no longer be changed.",
                     state=label(expense.state))
        return None

    def on_model_change(self, form, model, is_created):
        file = receipt_file()
        if file is not None:
            g.expense_old_receipt = None if is_created else model.attachment_token
            # Written now, named by a random token; removed again if the save fails.
            model.attachment_token = g.expense_new_receipt = uploads.store(
                file, RECEIPT_TYPES, area=AREA)
            model.attachment_name = (file.filename or "").replace("\\", "/").rsplit("/", 1)[-1][:255]
        if model.opportunity is not None and model.customer is None:
            model.customer = model.opportunity.customer
        keep_an_owner(model)

    def after_model_change(self, form, model, is_created):
        old = g.pop("expense_old_receipt", None)
        g.pop("expense_new_receipt", None)
        if old:
            _discard(old)

    def create_model(self, form):
        return self._removing_receipt_on_failure(super().create_model(form))

    def update_model(self, form, model):
        return self._removing_receipt_on_failure(super().update_model(form, model))

    @staticmethod
    def _removing_receipt_on_failure(result):
        new = g.pop("expense_new_receipt", None)
        if not result and new:
            _discard(new)
        return result

    def on_model_delete(self, model):
        if model.state in LOCKED:
            raise ValidationError(_("This expense is %(state)s: it cannot be deleted.",
                                    state=label(model.state)))

    def after_model_delete(self, model):
        if model.attachment_token:
            _discard(model.attachment_token)

    @expose("/attachment/")
    def attachment_view(self):
        """The receipt, to users who may read the expense (404 to anyone else)."""
        expense = self.get_one(request.args.get("id", ""))
        if not expense.attachment_token:
            abort(404)
        try:
            path = uploads.path_of(expense.attachment_token, area=AREA)
        except uploads.UploadRefused:
            abort(404)
        return send_file(path, mimetype=uploads.mimetype_of(expense.attachment_token),
                         as_attachment=True,
                         download_name=expense.attachment_name or path.name)

    # -- totals of approved entries per month and category --------------------------------------

    @expose("/summary/")
    def summary_view(self):
        year = next(iter(int_ids([request.args.get("year", "")])), None) or date.today().year
        year_of, month_of = extract("year", Expense.expense_date), extract("month", Expense.expense_date)
        statement = permissions.apply_rules(
            select(month_of.label("month"), ExpenseCategory.kind, ExpenseCategory.name,
                   func.sum(Expense.amount).label("total"))
            .join(Expense.category)
            .where(Expense.state == "approved", year_of == year)
            .group_by(month_of, ExpenseCategory.kind, ExpenseCategory.name)
            .order_by(ExpenseCategory.kind, ExpenseCategory.name, month_of), Expense)
        table = {}
        for month, kind, name, total in db.session.execute(statement):
            row = table.setdefault((kind, name), [0] * 13)
            row[int(month) - 1] += total
            row[12] += total
        kinds = {kind: [sum(row[index] for (k, _n), row in table.items() if k == kind)
                        for index in range(13)] for kind in ("expense", "income")}
        return self.render("crm_sales/expense_summary.html", year=year, table=table,
                           kinds=kinds, amount=amount_text)


def _discard(token):
    try:
        uploads.discard(token, area=AREA)
    except uploads.UploadRefused:
        pass   # already gone
