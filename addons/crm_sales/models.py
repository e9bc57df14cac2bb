"""Sales: the catalogue, leads, the pipeline, quotes, contracts, orders with their
deliveries, returns and payments, and expenses.

Money is Numeric (Decimal in Python), computed in money.py with half-up rounding to
cents; quantities carry three decimals. Document numbers (Q2026-00042) come from the
core's Sequence, one counter per kind and year, given in before_flush so that every way
of saving (screen, import, job, demo) numbers its records."""
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session, declared_attr

from addons.crm_contacts.models import (GRADES, Competitor, Contact, Customer, Region,
                                        Source, choice)
from addons.crm_sales import money
from core.company import DEFAULT_CURRENCY
from core.db import db, link_table
from core.i18n import mark
from core.models import (ApprovalDecision, ApprovalRequest, Group, OwnedMixin, Sequence, Team,
                         User, utcnow)

MONEY = db.Numeric(14, 2)
QUANTITY = db.Numeric(12, 3)
PERCENT = db.Numeric(5, 2)

LEAD_STATES = (mark("new"), mark("qualified"), mark("disqualified"), mark("converted"))
STAGE_KINDS = (mark("open"), mark("won"), mark("lost"))
QUOTE_STATES = (mark("draft"), mark("sent"), mark("accepted"), mark("rejected"),
                mark("expired"), mark("revised"))
APPROVAL_STATES = (mark("not needed"), mark("pending"), mark("approved"), mark("refused"))
CONTRACT_STATES = (mark("draft"), mark("active"), mark("expired"), mark("terminated"),
                   mark("renewed"))
ORDER_STATES = (mark("open"), mark("done"), mark("cancelled"))
PAYMENT_METHODS = (mark("bank transfer"), mark("cash"), mark("cheque"), mark("card"),
                   mark("alipay"), mark("wechat pay"), mark("other"))
EXPENSE_KINDS = (mark("expense"), mark("income"))
EXPENSE_STATES = (mark("draft"), mark("submitted"), mark("approved"), mark("refused"))
PRODUCT_KINDS = (mark("goods"), mark("service"))


def amount_column(label, readonly=False, **kwargs):
    return db.Column(MONEY, nullable=False, default=0, info=readonly_info(label, readonly),
                     **kwargs)


def readonly_info(label, readonly=True):
    """A column's info: ``readonly``, set by the application (a workflow step, an
    approval, a computed total), never by a form or an import."""
    return {"label": label, "readonly": True} if readonly else {"label": label}


# -- the catalogue ------------------------------------------------------------------------

class ProductCategory(db.Model):
    __tablename__ = "sale_product_category"
    __label__ = mark("Product category")
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(100), nullable=False, unique=True, info={"label": _l("Name")})


class Product(db.Model):
    __tablename__ = "sale_product"
    __label__ = mark("Product")
    __audit__ = True
    id = db.Column(db.Integer, primary_key=True)
    code = db.Column(db.String(40), nullable=False, unique=True, info={"label": _l("Code")})
    name = db.Column(db.String(200), nullable=False, index=True, info={"label": _l("Name")})
    category_id = db.Column(db.ForeignKey("sale_product_category.id"), index=True)
    category = db.relationship(ProductCategory, info={"label": _l("Category")})
    unit = db.Column(db.String(20), nullable=False, default="pcs", info={"label": _l("Unit")})
    # Goods are delivered from stock (when an addon keeps stock); services and licences
    # are not.
    kind = db.Column(choice(*PRODUCT_KINDS, name="sale_product_kind"), nullable=False,
                     default="goods", server_default="goods", index=True,
                     info={"label": _l("Kind"),
                           "description": _l("Services are not kept in stock.")})
    price = amount_column(_l("Price"))
    cost = amount_column(_l("Cost"))
    tax_rate = db.Column(PERCENT, nullable=False, default=13,
                         info={"label": _l("Tax rate %")})
    active = db.Column(db.Boolean, nullable=False, default=True, index=True,
                       info={"label": _l("Active")})
    description = db.Column(db.Text, info={"label": _l("Description")})

    def __str__(self):
        return f"{self.code} {self.name}"


class PriceList(db.Model):
    """Special prices for the customers of one grade, or for one customer, between two
    dates. A customer's own list wins over its grade's; the product's price applies
    where neither has the product."""

    __tablename__ = "sale_price_list"
    __label__ = mark("Price list")
    __audit__ = True
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(100), nullable=False, info={"label": _l("Name")})
    grade = db.Column(choice(*GRADES, name="sale_price_list_grade"), index=True,
                      info={"label": _l("Customer grade")})
    customer_id = db.Column(db.ForeignKey("crm_customer.id"), index=True)
    customer = db.relationship(Customer, info={"label": _l("Customer")})
    valid_from = db.Column(db.Date, index=True, info={"label": _l("Valid from")})
    valid_to = db.Column(db.Date, index=True, info={"label": _l("Valid until")})
    active = db.Column(db.Boolean, nullable=False, default=True,
                       info={"label": _l("Active")})
    items = db.relationship("PriceListItem", back_populates="price_list",
                            cascade="all, delete-orphan", info={"label": _l("Prices")})


class PriceListItem(db.Model):
    __tablename__ = "sale_price_list_item"
    __label__ = mark("Price list entry")
    __table_args__ = (db.UniqueConstraint("price_list_id", "product_id"),)
    id = db.Column(db.Integer, primary_key=True)
    price_list_id = db.Column(db.ForeignKey("sale_price_list.id", ondelete="CASCADE"),
                              nullable=False, index=True)
    price_list = db.relationship(PriceList, back_populates="items")
    product_id = db.Column(db.ForeignKey("sale_product.id"), nullable=False, index=True)
    product = db.relationship(Product, info={"label": _l("Product")})
    price = amount_column(_l("Price"))


# -- leads --------------------------------------------------------------------------------

class WebForm(db.Model):
    """A web-to-lead form on the company's website: it posts to /public/lead/<token>."""

    __tablename__ = "sale_web_form"
    __label__ = mark("Web-to-lead form")
    __audit__ = True
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(100), nullable=False, info={"label": _l("Name")})
    token = db.Column(db.String(64), nullable=False, unique=True, info={"derived": True})
    source_id = db.Column(db.ForeignKey("crm_source.id"), index=True)
    source = db.relationship(Source, info={"label": _l("Source")})
    team_id = db.Column(db.ForeignKey("core_team.id"), index=True)
    team = db.relationship(Team, info={"label": _l("Team")})
    thanks_url = db.Column(db.String(500), info={
        "label": _l("Page after sending"),
        "description": _l("Where the visitor goes after sending; empty: a thank-you page.")})
    active = db.Column(db.Boolean, nullable=False, default=True, info={"label": _l("Active")})


class AssignmentRule(db.Model):
    """Who gets a new lead: the first active rule (by sequence) whose region and source
    match gives it to its user, or in turn to the members of its team."""

    __tablename__ = "sale_assignment_rule"
    __label__ = mark("Lead assignment rule")
    __audit__ = True
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(100), nullable=False, info={"label": _l("Name")})
    sequence = db.Column(db.Integer, nullable=False, default=10, index=True,
                         info={"label": _l("Sequence")})
    region_id = db.Column(db.ForeignKey("crm_region.id"), index=True)
    region = db.relationship(Region, info={"label": _l("Region")})
    source_id = db.Column(db.ForeignKey("crm_source.id"), index=True)
    source = db.relationship(Source, info={"label": _l("Source")})
    user_id = db.Column(db.ForeignKey("core_user.id"), index=True)
    user = db.relationship(User, info={"label": _l("Salesperson")})
    team_id = db.Column(db.ForeignKey("core_team.id"), index=True)
    team = db.relationship(Team, info={"label": _l("Team (in turn)")})
    active = db.Column(db.Boolean, nullable=False, default=True, info={"label": _l("Active")})


class Lead(OwnedMixin, db.Model):
    """A possible sale not yet qualified: a name and a way to reach them."""

    __tablename__ = "sale_lead"
    __label__ = mark("Lead")
    __table_args__ = (db.Index("ix_sale_lead_owner_recent", "owner_id", "id"),)
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(100), nullable=False, index=True,
                     info={"label": _l("Contact name")})
    company = db.Column(db.String(200), index=True, info={"label": _l("Company name")})
    title = db.Column(db.String(100), info={"label": _l("Job title")})
    phone = db.Column(db.String(40), index=True, info={"label": _l("Phone")})
    email = db.Column(db.String(254), index=True, info={"label": _l("Email")})
    source_id = db.Column(db.ForeignKey("crm_source.id"), index=True)
    source = db.relationship(Source, info={"label": _l("Source")})
    region_id = db.Column(db.ForeignKey("crm_region.id"), index=True)
    region = db.relationship(Region, info={"label": _l("Region")})
    province = db.Column(db.String(50), info={"label": _l("Province / state")})
    city = db.Column(db.String(50), info={"label": _l("City")})
    status = db.Column(choice(*LEAD_STATES, name="sale_lead_status"), nullable=False,
                       default="new", index=True, info=readonly_info(_l("Status")))
    estimated_amount = db.Column(MONEY, info={"label": _l("Estimated amount")})
    description = db.Column(db.Text, info={"label": _l("Description")})
    web_form_id = db.Column(db.ForeignKey("sale_web_form.id"), index=True)
    web_form = db.relationship(WebForm, info={"label": _l("Web form")})
    customer_id = db.Column(db.ForeignKey("crm_customer.id"), index=True)
    customer = db.relationship(Customer, info={"label": _l("Customer")})
    converted_at = db.Column(db.DateTime, info=readonly_info(_l("Converted at")))

    def __str__(self):
        return f"{self.name} ({self.company})" if self.company else self.name


# -- the pipeline -----------------------------------------------------------------------

class Stage(db.Model):
    """A column of the pipeline. ``group``: only its members may move deals here (a
    stage only managers may close, say)."""

    __tablename__ = "sale_stage"
    __label__ = mark("Stage")
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(100), nullable=False, unique=True, info={"label": _l("Name")})
    sequence = db.Column(db.Integer, nullable=False, default=10, index=True,
                         info={"label": _l("Sequence")})
    probability = db.Column(db.Integer, nullable=False, default=10,
                            info={"label": _l("Default probability %")})
    kind = db.Column(choice(*STAGE_KINDS, name="sale_stage_kind"), nullable=False,
                     default="open", index=True, info={"label": _l("Kind")})
    group_id = db.Column(db.ForeignKey("core_group.id"), index=True)
    group = db.relationship(Group, info={"label": _l("Only members of")})

    def __str__(self):
        return self.name


class LostReason(db.Model):
    __tablename__ = "sale_lost_reason"
    __label__ = mark("Lost reason")
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(100), nullable=False, unique=True, info={"label": _l("Name")})


opportunity_competitors = link_table(
    "sale_opportunity_competitor",
    ("opportunity_id", "sale_opportunity.id"),
    ("competitor_id", "crm_competitor.id"))


class Opportunity(OwnedMixin, db.Model):
    __tablename__ = "sale_opportunity"
    __label__ = mark("Opportunity")
    __table_args__ = (
        db.Index("ix_sale_opportunity_owner_recent", "owner_id", "id"),
        # The kanban's columns and the forecast: open deals by stage and close month.
        db.Index("ix_sale_opportunity_stage_close", "stage_id", "expected_close"),
    )
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(200), nullable=False, index=True, info={"label": _l("Name")})
    customer_id = db.Column(db.ForeignKey("crm_customer.id"), nullable=False, index=True)
    customer = db.relationship(Customer, info={"label": _l("Customer")})
    contact_id = db.Column(db.ForeignKey("crm_contact.id"), index=True)
    contact = db.relationship(Contact, info={"label": _l("Contact")})
    lead_id = db.Column(db.ForeignKey("sale_lead.id"), index=True)
    lead = db.relationship(Lead, info={"label": _l("Lead")})
    amount = amount_column(_l("Amount"))
    currency = db.Column(db.String(3), nullable=False, default=DEFAULT_CURRENCY,
                         info={"label": _l("Currency")})
    stage_id = db.Column(db.ForeignKey("sale_stage.id"), nullable=False, index=True)
    stage = db.relationship(Stage, info={"label": _l("Stage")})
    probability = db.Column(db.Integer, nullable=False, default=0,
                            info={"label": _l("Probability %")})
    expected_close = db.Column(db.Date, index=True, info={"label": _l("Expected close")})
    closed_on = db.Column(db.Date, index=True, info=readonly_info(_l("Closed on")))
    competitors = db.relationship(Competitor, secondary=opportunity_competitors,
                                  info={"label": _l("Competitors")})
    lost_reason_id = db.Column(db.ForeignKey("sale_lost_reason.id"), index=True)
    lost_reason = db.relationship(LostReason, info={"label": _l("Lost reason")})
    description = db.Column(db.Text, info={"label": _l("Description")})


class StageChange(db.Model):
    """Every move of a deal from one stage to another: the funnel is read from these."""

    __tablename__ = "sale_stage_change"
    __label__ = mark("Stage change")
    __table_args__ = (db.Index("ix_sale_stage_change_opportunity_at", "opportunity_id", "at"),)
    id = db.Column(db.Integer, primary_key=True)
    opportunity_id = db.Column(db.ForeignKey("sale_opportunity.id", ondelete="CASCADE"),
                               nullable=False)
    opportunity = db.relationship(Opportunity, backref=db.backref(
        "stage_changes", lazy="dynamic", cascade="all, delete-orphan", passive_deletes=True))
    from_stage_id = db.Column(db.ForeignKey("sale_stage.id"), index=True)
    from_stage = db.relationship(Stage, foreign_keys=[from_stage_id],
                                 info={"label": _l("From stage")})
    to_stage_id = db.Column(db.ForeignKey("sale_stage.id"), nullable=False, index=True)
    to_stage = db.relationship(Stage, foreign_keys=[to_stage_id], info={"label": _l("To stage")})
    user_id = db.Column(db.ForeignKey("core_user.id"), index=True)
    user = db.relationship(User, info={"label": _l("By")})
    at = db.Column(db.DateTime, nullable=False, index=True, info={"label": _l("When")})


# -- documents with lines: quotes and orders -------------------------------------------

class LineMixin:
    """A priced line: quantity x unit price, less a discount, plus tax (money.py)."""

    sequence = db.Column(db.Integer, nullable=False, default=10)
    description = db.Column(db.String(500), nullable=False, default="",
                            info={"label": _l("Description")})
    quantity = db.Column(QUANTITY, nullable=False, default=1, info={"label": _l("Quantity")})
    unit_price = amount_column(_l("Unit price"))
    discount = db.Column(PERCENT, nullable=False, default=0, info={"label": _l("Discount %")})
    tax_rate = db.Column(PERCENT, nullable=False, default=0, info={"label": _l("Tax rate %")})
    subtotal = amount_column(_l("Subtotal"), readonly=True)
    tax = amount_column(_l("Tax"), readonly=True)
    total = amount_column(_l("Total"), readonly=True)


class Quote(OwnedMixin, db.Model):
    __tablename__ = "sale_quote"
    __label__ = mark("Quote")
    __table_args__ = (db.UniqueConstraint("number", "version"),
                      db.Index("ix_sale_quote_owner_recent", "owner_id", "id"),
                      db.Index("ix_sale_quote_state_valid", "state", "valid_until"))
    id = db.Column(db.Integer, primary_key=True)
    number = db.Column(db.String(20), nullable=False, index=True,
                       info=readonly_info(_l("Number")))
    version = db.Column(db.Integer, nullable=False, default=1,
                        info=readonly_info(_l("Version")))
    previous_id = db.Column(db.ForeignKey("sale_quote.id"), index=True)
    previous = db.relationship("Quote", remote_side=[id],
                               info={"label": _l("Previous version")})
    customer_id = db.Column(db.ForeignKey("crm_customer.id"), nullable=False, index=True)
    customer = db.relationship(Customer, info={"label": _l("Customer")})
    contact_id = db.Column(db.ForeignKey("crm_contact.id"), index=True)
    contact = db.relationship(Contact, info={"label": _l("Contact")})
    opportunity_id = db.Column(db.ForeignKey("sale_opportunity.id"), index=True)
    opportunity = db.relationship(Opportunity, info={"label": _l("Opportunity")})
    state = db.Column(choice(*QUOTE_STATES, name="sale_quote_state"), nullable=False,
                      default="draft", index=True, info=readonly_info(_l("State")))
    quote_date = db.Column(db.Date, nullable=False, default=date.today,
                           info={"label": _l("Date")})
    valid_until = db.Column(db.Date, info={"label": _l("Valid until")})
    currency = db.Column(db.String(3), nullable=False, default=DEFAULT_CURRENCY,
                         info={"label": _l("Currency")})
    terms = db.Column(db.Text, info={"label": _l("Terms")})
    notes = db.Column(db.Text, info={"label": _l("Internal notes")})
    subtotal = amount_column(_l("Subtotal"), readonly=True)
    tax = amount_column(_l("Tax"), readonly=True)
    total = amount_column(_l("Total"), readonly=True)
    approval = db.Column(choice(*APPROVAL_STATES, name="sale_quote_approval"),
                         nullable=False, default="not needed", index=True,
                         info=readonly_info(_l("Approval")))
    approved_by_id = db.Column(db.ForeignKey("core_user.id"), index=True,
                               info={"readonly": True})
    approved_by = db.relationship(User, foreign_keys=[approved_by_id],
                                  info={"label": _l("Approved by")})
    approved_at = db.Column(db.DateTime, info=readonly_info(_l("Approved at")))
    sent_at = db.Column(db.DateTime, info=readonly_info(_l("Sent at")))
    lines = db.relationship("QuoteLine", back_populates="quote", order_by="QuoteLine.sequence",
                            cascade="all, delete-orphan", info={"label": _l("Lines")})
    # What an approval policy's conditions may test besides the columns.
    __approval_values__ = {"largest_discount": _l("Largest discount %")}

    @property
    def largest_discount(self):
        return money.largest_discount(self)

    @property
    def title(self):
        return f"{self.number}" + (f" v{self.version}" if self.version > 1 else "")

    def __str__(self):
        return self.title


class QuoteLine(LineMixin, db.Model):
    __tablename__ = "sale_quote_line"
    __label__ = mark("Quote line")
    id = db.Column(db.Integer, primary_key=True)
    quote_id = db.Column(db.ForeignKey("sale_quote.id", ondelete="CASCADE"), nullable=False,
                         index=True)
    quote = db.relationship(Quote, back_populates="lines")
    product_id = db.Column(db.ForeignKey("sale_product.id"), index=True)
    product = db.relationship(Product, info={"label": _l("Product")})


class SalesOrder(OwnedMixin, db.Model):
    __tablename__ = "sale_order"
    __label__ = mark("Sales order")
    __table_args__ = (db.Index("ix_sale_order_owner_recent", "owner_id", "id"),)
    id = db.Column(db.Integer, primary_key=True)
    number = db.Column(db.String(20), nullable=False, unique=True,
                       info=readonly_info(_l("Number")))
    customer_id = db.Column(db.ForeignKey("crm_customer.id"), nullable=False, index=True)
    customer = db.relationship(Customer, info={"label": _l("Customer")})
    quote_id = db.Column(db.ForeignKey("sale_quote.id"), index=True)
    quote = db.relationship(Quote, backref="orders", info={"label": _l("Quote")})
    order_date = db.Column(db.Date, nullable=False, default=date.today, index=True,
                           info={"label": _l("Order date")})
    state = db.Column(choice(*ORDER_STATES, name="sale_order_state"), nullable=False,
                      default="open", index=True, info=readonly_info(_l("State")))
    currency = db.Column(db.String(3), nullable=False, default=DEFAULT_CURRENCY,
                         info={"label": _l("Currency")})
    notes = db.Column(db.Text, info={"label": _l("Notes")})
    subtotal = amount_column(_l("Subtotal"), readonly=True)
    tax = amount_column(_l("Tax"), readonly=True)
    total = amount_column(_l("Total"), readonly=True)
    lines = db.relationship("OrderLine", back_populates="order", order_by="OrderLine.sequence",
                            cascade="all, delete-orphan", info={"label": _l("Lines")})

    def __str__(self):
        return self.number or _l("New order")


class OrderLine(LineMixin, db.Model):
    __tablename__ = "sale_order_line"
    __label__ = mark("Order line")
    id = db.Column(db.Integer, primary_key=True)
    order_id = db.Column(db.ForeignKey("sale_order.id", ondelete="CASCADE"), nullable=False,
                         index=True)
    order = db.relationship(SalesOrder, back_populates="lines")
    product_id = db.Column(db.ForeignKey("sale_product.id"), index=True)
    product = db.relationship(Product, info={"label": _l("Product")})
    # Kept current by deliveries and returns (orders.py), for "what is left to deliver".
    delivered = db.Column(QUANTITY, nullable=False, default=0, info={"label": _l("Delivered")})
    returned = db.Column(QUANTITY, nullable=False, default=0, info={"label": _l("Returned")})

    def __str__(self):
        return self.description or str(self.product or "")


class OrderLineQuantityMixin:
    """So much of one order line: a line of a delivery or of a customer return."""

    quantity = db.Column(QUANTITY, nullable=False, info={"label": _l("Quantity")})

    @declared_attr
    def order_line_id(cls):
        return db.Column(db.ForeignKey("sale_order_line.id"), nullable=False, index=True)

    @declared_attr
    def order_line(cls):
        return db.relationship(OrderLine, info={"label": _l("Order line")})


class Delivery(OwnedMixin, db.Model):
    """Goods sent for an order: all of it, or part (then more deliveries follow)."""

    __tablename__ = "sale_delivery"
    __label__ = mark("Delivery")
    id = db.Column(db.Integer, primary_key=True)
    number = db.Column(db.String(20), nullable=False, unique=True,
                       info=readonly_info(_l("Number")))
    order_id = db.Column(db.ForeignKey("sale_order.id"), nullable=False, index=True)
    order = db.relationship(SalesOrder, backref=db.backref("deliveries", lazy="dynamic"),
                            info={"label": _l("Order")})
    delivery_date = db.Column(db.Date, nullable=False, default=date.today, index=True,
                              info={"label": _l("Date")})
    carrier = db.Column(db.String(100), info={"label": _l("Carrier")})
    tracking = db.Column(db.String(100), info={"label": _l("Tracking number")})
    notes = db.Column(db.Text, info={"label": _l("Notes")})
    lines = db.relationship("DeliveryLine", back_populates="delivery",
                            cascade="all, delete-orphan", info={"label": _l("Lines")})

    def __str__(self):
        return self.number or _l("New delivery")


class DeliveryLine(OrderLineQuantityMixin, db.Model):
    __tablename__ = "sale_delivery_line"
    __label__ = mark("Delivery line")
    id = db.Column(db.Integer, primary_key=True)
    delivery_id = db.Column(db.ForeignKey("sale_delivery.id", ondelete="CASCADE"),
                            nullable=False, index=True)
    delivery = db.relationship(Delivery, back_populates="lines")


class CustomerReturn(OwnedMixin, db.Model):
    """Goods a customer sent back; their value (with tax) is credited to the order."""

    __tablename__ = "sale_return"
    __label__ = mark("Customer return")
    id = db.Column(db.Integer, primary_key=True)
    number = db.Column(db.String(20), nullable=False, unique=True,
                       info=readonly_info(_l("Number")))
    order_id = db.Column(db.ForeignKey("sale_order.id"), nullable=False, index=True)
    order = db.relationship(SalesOrder, backref=db.backref("returns", lazy="dynamic"),
                            info={"label": _l("Order")})
    return_date = db.Column(db.Date, nullable=False, default=date.today, index=True,
                            info={"label": _l("Date")})
    reason = db.Column(db.Text, info={"label": _l("Reason")})
    amount = amount_column(_l("Credited amount"))
    lines = db.relationship("ReturnLine", back_populates="customer_return",
                            cascade="all, delete-orphan", info={"label": _l("Lines")})

    def __str__(self):
        return self.number or _l("New return")


class ReturnLine(OrderLineQuantityMixin, db.Model):
    __tablename__ = "sale_return_line"
    __label__ = mark("Return line")
    id = db.Column(db.Integer, primary_key=True)
    return_id = db.Column(db.ForeignKey("sale_return.id", ondelete="CASCADE"),
                          nullable=False, index=True)
    customer_return = db.relationship(CustomerReturn, back_populates="lines")


class Payment(OwnedMixin, db.Model):
    """Money received from a customer, against one order or on account."""

    __tablename__ = "sale_payment"
    __label__ = mark("Payment")
    __table_args__ = (db.Index("ix_sale_payment_customer_date", "customer_id", "payment_date"),)
    id = db.Column(db.Integer, primary_key=True)
    number = db.Column(db.String(20), nullable=False, unique=True,
                       info=readonly_info(_l("Number")))
    customer_id = db.Column(db.ForeignKey("crm_customer.id"), nullable=False, index=True)
    customer = db.relationship(Customer, info={"label": _l("Customer")})
    order_id = db.Column(db.ForeignKey("sale_order.id"), index=True)
    order = db.relationship(SalesOrder, backref=db.backref("payments", lazy="dynamic"),
                            info={"label": _l("Order")})
    payment_date = db.Column(db.Date, nullable=False, default=date.today,
                             info={"label": _l("Date")})
    amount = amount_column(_l("Amount"))
    method = db.Column(choice(*PAYMENT_METHODS, name="sale_payment_method"), nullable=False,
                       default="bank transfer", info={"label": _l("Method")})
    reference = db.Column(db.String(100), info={"label": _l("Reference")})
    notes = db.Column(db.Text, info={"label": _l("Notes")})

    def __str__(self):
        return self.number or _l("New payment")


# -- contracts ----------------------------------------------------------------------------

class Contract(OwnedMixin, db.Model):
    __tablename__ = "sale_contract"
    __label__ = mark("Contract")
    __table_args__ = (db.Index("ix_sale_contract_status_end", "status", "end_date"),)
    id = db.Column(db.Integer, primary_key=True)
    number = db.Column(db.String(20), nullable=False, unique=True,
                       info=readonly_info(_l("Number")))
    title = db.Column(db.String(200), nullable=False, info={"label": _l("Title")})
    customer_id = db.Column(db.ForeignKey("crm_customer.id"), nullable=False, index=True)
    customer = db.relationship(Customer, info={"label": _l("Customer")})
    quote_id = db.Column(db.ForeignKey("sale_quote.id"), index=True)
    quote = db.relationship(Quote, info={"label": _l("Quote")})
    order_id = db.Column(db.ForeignKey("sale_order.id"), index=True)
    order = db.relationship(SalesOrder, info={"label": _l("Order")})
    start_date = db.Column(db.Date, nullable=False, default=date.today,
                           info={"label": _l("Start")})
    end_date = db.Column(db.Date, info={"label": _l("End")})
    signed_on = db.Column(db.Date, info={"label": _l("Signed on")})
    value = amount_column(_l("Value"))
    currency = db.Column(db.String(3), nullable=False, default=DEFAULT_CURRENCY,
                         info={"label": _l("Currency")})
    payment_terms = db.Column(db.String(200), info={"label": _l("Payment terms")})
    status = db.Column(choice(*CONTRACT_STATES, name="sale_contract_status"), nullable=False,
                       default="draft", index=True, info={"label": _l("Status")})
    auto_renew = db.Column(db.Boolean, nullable=False, default=False,
                           info={"label": _l("Renews automatically")})
    renewal_of_id = db.Column(db.ForeignKey("sale_contract.id"), index=True)
    renewal_of = db.relationship("Contract", remote_side=[id],
                                 info={"label": _l("Renewal of")})
    terms = db.Column(db.Text, info={"label": _l("Terms")})

    def __str__(self):
        return f"{self.number} {self.title}" if self.number else self.title


# -- expenses -----------------------------------------------------------------------------

class ExpenseCategory(db.Model):
    __tablename__ = "sale_expense_category"
    __label__ = mark("Expense category")
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(100), nullable=False, unique=True, info={"label": _l("Name")})
    kind = db.Column(choice(*EXPENSE_KINDS, name="sale_expense_category_kind"),
                     nullable=False, default="expense", info={"label": _l("Kind")})


class Expense(OwnedMixin, db.Model):
    """A sales expense (travel, entertainment, samples) or other income or expense,
    approved by a manager."""

    __tablename__ = "sale_expense"
    __label__ = mark("Expense")
    __table_args__ = (db.Index("ix_sale_expense_owner_date", "owner_id", "expense_date"),)
    id = db.Column(db.Integer, primary_key=True)
    expense_date = db.Column(db.Date, nullable=False, default=date.today, index=True,
                             info={"label": _l("Date")})
    kind = db.Column(choice(*EXPENSE_KINDS, name="sale_expense_kind"), nullable=False,
                     default="expense", index=True, info={"label": _l("Kind")})
    category_id = db.Column(db.ForeignKey("sale_expense_category.id"), nullable=False,
                            index=True)
    category = db.relationship(ExpenseCategory, info={"label": _l("Category")})
    amount = amount_column(_l("Amount"))
    customer_id = db.Column(db.ForeignKey("crm_customer.id"), index=True)
    customer = db.relationship(Customer, info={"label": _l("Customer")})
    opportunity_id = db.Column(db.ForeignKey("sale_opportunity.id"), index=True)
    opportunity = db.relationship(Opportunity, info={"label": _l("Opportunity")})
    description = db.Column(db.String(500), nullable=False, info={"label": _l("Description")})
    state = db.Column(choice(*EXPENSE_STATES, name="sale_expense_state"), nullable=False,
                      default="draft", index=True, info=readonly_info(_l("State")))
    approved_by_id = db.Column(db.ForeignKey("core_user.id"), index=True,
                               info={"readonly": True})
    approved_by = db.relationship(User, foreign_keys=[approved_by_id],
                                  info={"label": _l("Approved by")})
    approved_at = db.Column(db.DateTime, info=readonly_info(_l("Approved at")))
    # The receipt: a file kept under instance/attachments/, named by this token.
    attachment_name = db.Column(db.String(255), info={"label": _l("Attachment")})
    attachment_token = db.Column(db.String(80), info={"derived": True})

    def __str__(self):
        return self.description


# -- numbers --------------------------------------------------------------------------------

# Prefix of each numbered document; the counter restarts every year: Q2026-00042.
NUMBERS = {Quote: "Q", SalesOrder: "SO", Delivery: "DN", CustomerReturn: "RT",
           Payment: "RC", Contract: "CT"}


def next_number(session, model, on=None):
    year = (on or date.today()).year
    prefix = NUMBERS[model]
    value = Sequence.next_value(session, f"crm_sales.{prefix}.{year}")
    return f"{prefix}{year}-{value:05d}"


@event.listens_for(Session, "before_flush")
def _number_and_total_documents(session, _context, _instances):
    """A new document without a number gets the next one (one UPDATE ... RETURNING
    each: unique under concurrent creation, on PostgreSQL as on SQLite). A quote or
    order whose lines changed gets its totals again, however it was saved."""
    for record in list(session.new):
        if type(record) in NUMBERS and not record.number:
            record.number = next_number(session, type(record))
    documents = set()
    for record in list(session.new) + list(session.dirty) + list(session.deleted):
        if isinstance(record, (Quote, SalesOrder)):
            documents.add(record)
        parent = getattr(record, "quote", None) if isinstance(record, QuoteLine) \
            else getattr(record, "order", None) if isinstance(record, OrderLine) else None
        if parent is not None:
            documents.add(parent)
    for document in documents:
        if document not in session.deleted:
            money.compute(document)


@event.listens_for(Session, "before_flush")
def _quote_approver(session, _context, _instances):
    """The approval engine keeps a quote's ``approval`` as its request stands; who
    approved it, and when, come from the request's last approval."""
    for record in list(session.dirty):
        if not isinstance(record, Quote) or not inspect(record).attrs.approval.history.has_changes():
            continue
        if record.approval != "approved":
            record.approved_by, record.approved_at = None, None
            continue
        with session.no_autoflush:
            user_id = session.scalar(
                select(ApprovalDecision.user_id)
                .join(ApprovalRequest, ApprovalRequest.id == ApprovalDecision.request_id)
                .where(ApprovalRequest.model == "Quote", ApprovalRequest.record_id == record.id,
                       ApprovalDecision.decision == "approve")
                .order_by(ApprovalDecision.id.desc()).limit(1))
            record.approved_by = session.get(User, user_id) if user_id else None
        record.approved_at = utcnow()
