"""Purchasing and stock: suppliers and their prices, purchase orders, receipts and
returns to the supplier, supplier bills and payments made, warehouses, the stock
ledger, stock-takes and reorder rules.

The stock ledger (stock_move) is append-only: every change of stock is a new move with
its quantity (positive in, negative out) and unit cost; a correction is another move,
never an edit. stock_level keeps the on-hand quantity, value and moving-average cost of
each product in each warehouse, updated in the same transaction as each move
(stock.py), so that `python run.py stock check` can prove it equals the ledger's sums.

Money is Numeric (Decimal), rounded half-up to cents as in crm_sales; costs carry four
decimals, quantities three. Document numbers (PO2026-00001) come from the core's
Sequence, given in before_flush so that every way of saving numbers its records."""
from datetime import date
from functools import partial

from flask_babel import lazy_gettext as _l
from sqlalchemy import event
from sqlalchemy.orm import Session

from addons.crm_contacts.models import Customer, choice
from addons.crm_sales import money
from addons.crm_sales.models import (QUANTITY, LineMixin, Product, amount_column,
                                     readonly_info)
from core.company import DEFAULT_CURRENCY
from core.db import db
from core.i18n import label, mark
from core.models import OwnedMixin, Sequence, User, utcnow

COST = db.Numeric(16, 4)          # a unit cost: the moving average needs more than cents
VALUE = db.Numeric(18, 4)         # a stock value, before it is shown in cents

ORDER_STATES = (mark("draft"), mark("waiting for approval"), mark("approved"), mark("sent"),
                mark("partly received"), mark("received"), mark("closed"), mark("cancelled"))
MOVE_KINDS = (mark("receipt"), mark("delivery"), mark("customer return"),
              mark("supplier return"), mark("adjustment"))
BILL_BASES = (mark("received quantities"), mark("ordered quantities"))
BILL_STATES = (mark("open"), mark("partly paid"), mark("paid"), mark("cancelled"))
PAYMENT_METHODS = (mark("bank transfer"), mark("cash"), mark("cheque"), mark("card"),
                   mark("alipay"), mark("wechat pay"), mark("other"))
TAKE_STATES = (mark("counting"), mark("waiting for approval"), mark("approved"),
               mark("posted"), mark("cancelled"))
SUGGESTION_STATES = (mark("open"), mark("ordered"), mark("dismissed"))

# Long enough for "waiting for approval" and "received quantities".
purchase_choice = partial(choice, length=24)


# -- suppliers ----------------------------------------------------------------------------

class Supplier(db.Model):
    """A customer the company buys from: the supplier's terms beside its customer
    record (one each), so that one company is one record whichever way goods go."""

    __tablename__ = "pur_supplier"
    __label__ = mark("Supplier")
    __audit__ = True
    id = db.Column(db.Integer, primary_key=True)
    customer_id = db.Column(db.ForeignKey("crm_customer.id"), nullable=False, unique=True)
    customer = db.relationship(Customer, info={"label": _l("Company")})
    code = db.Column(db.String(40), nullable=False, unique=True,
                     info={"label": _l("Supplier code")})
    payment_days = db.Column(db.Integer, nullable=False, default=30,
                             info={"label": _l("Payment terms (days)"),
                                   "description": _l("Days from a bill's date to its due date.")})
    payment_terms = db.Column(db.String(200), info={"label": _l("Payment terms")})
    lead_time_days = db.Column(db.Integer, nullable=False, default=7,
                               info={"label": _l("Lead time (days)")})
    currency = db.Column(db.String(3), nullable=False, default=DEFAULT_CURRENCY,
                         info={"label": _l("Currency")})
    purchaser_id = db.Column(db.ForeignKey("core_user.id"), index=True)
    purchaser = db.relationship(User, info={"label": _l("Purchaser")})
    active = db.Column(db.Boolean, nullable=False, default=True, index=True,
                       info={"label": _l("Active")})
    notes = db.Column(db.Text, info={"label": _l("Notes")})
    prices = db.relationship("SupplierPrice", back_populates="supplier",
                             cascade="all, delete-orphan", info={"label": _l("Prices")})

    def __str__(self):
        return f"{self.code} {self.customer.name}" if self.customer else self.code or ""


class SupplierPrice(db.Model):
    """What a supplier charges for a product from a quantity on, between two dates.
    The lowest ``sequence`` among the valid prices makes the preferred supplier."""

    __tablename__ = "pur_supplier_price"
    __label__ = mark("Supplier price")
    __table_args__ = (db.Index("ix_pur_supplier_price_product_sequence", "product_id",
                               "sequence"),)
    id = db.Column(db.Integer, primary_key=True)
    supplier_id = db.Column(db.ForeignKey("pur_supplier.id", ondelete="CASCADE"),
                            nullable=False, index=True)
    supplier = db.relationship(Supplier, back_populates="prices",
                               info={"label": _l("Supplier")})
    product_id = db.Column(db.ForeignKey("sale_product.id"), nullable=False, index=True)
    product = db.relationship(Product, info={"label": _l("Product")})
    supplier_product_code = db.Column(db.String(60),
                                      info={"label": _l("Supplier's product code")})
    price = amount_column(_l("Price"))
    min_quantity = db.Column(QUANTITY, nullable=False, default=1,
                             info={"label": _l("Minimum quantity")})
    valid_from = db.Column(db.Date, index=True, info={"label": _l("Valid from")})
    valid_to = db.Column(db.Date, index=True, info={"label": _l("Valid until")})
    sequence = db.Column(db.Integer, nullable=False, default=10,
                         info={"label": _l("Priority"),
                               "description": _l("The lowest number is the preferred supplier.")})

    def __str__(self):
        return f"{self.product} @ {self.price}"


# -- warehouses and the stock ledger ------------------------------------------------------

class Warehouse(db.Model):
    __tablename__ = "stock_warehouse"
    __label__ = mark("Warehouse")
    __audit__ = True
    id = db.Column(db.Integer, primary_key=True)
    code = db.Column(db.String(20), nullable=False, unique=True, info={"label": _l("Code")})
    name = db.Column(db.String(100), nullable=False, info={"label": _l("Name")})
    address = db.Column(db.String(300), info={"label": _l("Address")})
    # Deliveries of crm_sales (which knows no warehouse) take from the default one.
    is_default = db.Column(db.Boolean, nullable=False, default=False,
                           info={"label": _l("Default for deliveries")})
    active = db.Column(db.Boolean, nullable=False, default=True, info={"label": _l("Active")})

    def __str__(self):
        return label(self.name)       # the one made on install is named in both languages


class StockLevel(db.Model):
    """On hand, value and moving-average cost of one product in one warehouse: kept by
    stock.post_move in the same transaction as each move, under a row lock."""

    __tablename__ = "stock_level"
    __label__ = mark("Stock on hand")
    __table_args__ = (db.UniqueConstraint("product_id", "warehouse_id"),
                      db.Index("ix_stock_level_warehouse_product", "warehouse_id",
                               "product_id"))
    id = db.Column(db.Integer, primary_key=True)
    product_id = db.Column(db.ForeignKey("sale_product.id"), nullable=False, index=True)
    product = db.relationship(Product, info={"label": _l("Product")})
    warehouse_id = db.Column(db.ForeignKey("stock_warehouse.id"), nullable=False, index=True)
    warehouse = db.relationship(Warehouse, info={"label": _l("Warehouse")})
    quantity = db.Column(QUANTITY, nullable=False, default=0,
                         info=readonly_info(_l("On hand")))
    value = db.Column(VALUE, nullable=False, default=0, info=readonly_info(_l("Value")))
    average_cost = db.Column(COST, nullable=False, default=0,
                             info=readonly_info(_l("Average cost")))
    last_move_at = db.Column(db.DateTime, info=readonly_info(_l("Last move")))


class StockMove(db.Model):
    """One line of the stock ledger, never changed once written. ``move_date`` is the
    day the goods moved (a correction may be dated in the past); ``posted_at`` when it
    was written, which is the order the average cost follows."""

    __tablename__ = "stock_move"
    __label__ = mark("Stock move")
    __table_args__ = (
        db.Index("ix_stock_move_product_warehouse_id", "product_id", "warehouse_id", "id"),
        db.Index("ix_stock_move_origin", "origin", "origin_id"),
    )
    id = db.Column(db.Integer, primary_key=True)
    product_id = db.Column(db.ForeignKey("sale_product.id"), nullable=False, index=True)
    product = db.relationship(Product, info={"label": _l("Product")})
    warehouse_id = db.Column(db.ForeignKey("stock_warehouse.id"), nullable=False, index=True)
    warehouse = db.relationship(Warehouse, info={"label": _l("Warehouse")})
    kind = db.Column(purchase_choice(*MOVE_KINDS, name="stock_move_kind"), nullable=False,
                     index=True, info={"label": _l("Kind")})
    quantity = db.Column(QUANTITY, nullable=False, info={"label": _l("Quantity")})
    unit_cost = db.Column(COST, nullable=False, default=0, info={"label": _l("Unit cost")})
    value = db.Column(VALUE, nullable=False, default=0, info={"label": _l("Value")})
    move_date = db.Column(db.Date, nullable=False, default=date.today, index=True,
                          info={"label": _l("Date")})
    posted_at = db.Column(db.DateTime, nullable=False, default=utcnow,
                          info={"label": _l("Posted at")})
    # The document that made the move: its model's name and id, and its number to show.
    origin = db.Column(db.String(60), info={"derived": True})
    origin_id = db.Column(db.Integer, info={"derived": True})
    reference = db.Column(db.String(60), index=True, info={"label": _l("Reference")})
    # A supplier return leaves at the cost of the receipt it returns; a customer return
    # comes back at the cost of the delivery.
    corrects_id = db.Column(db.ForeignKey("stock_move.id"), index=True)
    corrects = db.relationship("StockMove", remote_side=[id],
                               info={"label": _l("Returns or corrects")})
    user_id = db.Column(db.ForeignKey("core_user.id"), index=True)
    user = db.relationship(User, info={"label": _l("By")})
    note = db.Column(db.String(300), info={"label": _l("Note")})


# -- purchase orders, receipts and returns ------------------------------------------------

class PurchaseOrder(OwnedMixin, db.Model):
    __tablename__ = "pur_order"
    __label__ = mark("Purchase order")
    __table_args__ = (db.Index("ix_pur_order_owner_recent", "owner_id", "id"),
                      db.Index("ix_pur_order_supplier_state", "supplier_id", "state"))
    id = db.Column(db.Integer, primary_key=True)
    number = db.Column(db.String(20), nullable=False, unique=True,
                       info=readonly_info(_l("Number")))
    supplier_id = db.Column(db.ForeignKey("pur_supplier.id"), nullable=False, index=True)
    supplier = db.relationship(Supplier, info={"label": _l("Supplier")})
    warehouse_id = db.Column(db.ForeignKey("stock_warehouse.id"), nullable=False, index=True)
    warehouse = db.relationship(Warehouse, info={"label": _l("Deliver to")})
    order_date = db.Column(db.Date, nullable=False, default=date.today, index=True,
                           info={"label": _l("Order date")})
    expected_date = db.Column(db.Date, index=True, info={"label": _l("Expected on")})
    state = db.Column(purchase_choice(*ORDER_STATES, name="pur_order_state"), nullable=False,
                      default="draft", index=True, info=readonly_info(_l("State")))
    currency = db.Column(db.String(3), nullable=False, default=DEFAULT_CURRENCY,
                         info={"label": _l("Currency")})
    supplier_reference = db.Column(db.String(60), info={"label": _l("Supplier's reference")})
    terms = db.Column(db.Text, info={"label": _l("Terms")})
    notes = db.Column(db.Text, info={"label": _l("Internal notes")})
    subtotal = amount_column(_l("Subtotal"), readonly=True)
    tax = amount_column(_l("Tax"), readonly=True)
    total = amount_column(_l("Total"), readonly=True)
    sent_at = db.Column(db.DateTime, info=readonly_info(_l("Sent at")))
    lines = db.relationship("PurchaseOrderLine", back_populates="order",
                            order_by="PurchaseOrderLine.sequence",
                            cascade="all, delete-orphan", info={"label": _l("Lines")})

    def __str__(self):
        return self.number or _l("New purchase order")


class PurchaseOrderLine(LineMixin, db.Model):
    __tablename__ = "pur_order_line"
    __label__ = mark("Purchase order line")
    id = db.Column(db.Integer, primary_key=True)
    order_id = db.Column(db.ForeignKey("pur_order.id", ondelete="CASCADE"), nullable=False,
                         index=True)
    order = db.relationship(PurchaseOrder, back_populates="lines")
    product_id = db.Column(db.ForeignKey("sale_product.id"), nullable=False, index=True)
    product = db.relationship(Product, info={"label": _l("Product")})
    # Kept current by receipts, returns and bills (what is left to receive or to bill).
    received = db.Column(QUANTITY, nullable=False, default=0,
                         info=readonly_info(_l("Received")))
    returned = db.Column(QUANTITY, nullable=False, default=0,
                         info=readonly_info(_l("Returned")))
    billed = db.Column(QUANTITY, nullable=False, default=0, info=readonly_info(_l("Billed")))

    def __str__(self):
        return self.description or str(self.product or "")


class Receipt(OwnedMixin, db.Model):
    """Goods received against a purchase order, all of it or part (the rest stays open:
    the backorder), into a warehouse."""

    __tablename__ = "pur_receipt"
    __label__ = mark("Receipt")
    id = db.Column(db.Integer, primary_key=True)
    number = db.Column(db.String(20), nullable=False, unique=True,
                       info=readonly_info(_l("Number")))
    order_id = db.Column(db.ForeignKey("pur_order.id"), nullable=False, index=True)
    order = db.relationship(PurchaseOrder, backref=db.backref("receipts", lazy="dynamic"),
                            info={"label": _l("Purchase order")})
    warehouse_id = db.Column(db.ForeignKey("stock_warehouse.id"), nullable=False, index=True)
    warehouse = db.relationship(Warehouse, info={"label": _l("Warehouse")})
    receipt_date = db.Column(db.Date, nullable=False, default=date.today, index=True,
                             info={"label": _l("Date")})
    delivery_note = db.Column(db.String(100), info={"label": _l("Supplier's delivery note")})
    notes = db.Column(db.Text, info={"label": _l("Notes")})
    lines = db.relationship("ReceiptLine", back_populates="receipt",
                            cascade="all, delete-orphan", info={"label": _l("Lines")})

    def __str__(self):
        return self.number or _l("New receipt")


class ReceiptLine(db.Model):
    __tablename__ = "pur_receipt_line"
    __label__ = mark("Receipt line")
    id = db.Column(db.Integer, primary_key=True)
    receipt_id = db.Column(db.ForeignKey("pur_receipt.id", ondelete="CASCADE"),
                           nullable=False, index=True)
    receipt = db.relationship(Receipt, back_populates="lines")
    order_line_id = db.Column(db.ForeignKey("pur_order_line.id"), nullable=False, index=True)
    order_line = db.relationship(PurchaseOrderLine, info={"label": _l("Order line")})
    quantity = db.Column(QUANTITY, nullable=False, info={"label": _l("Quantity")})
    # The order line's net unit price (after discount, before tax): what the goods cost.
    unit_cost = db.Column(COST, nullable=False, default=0, info={"label": _l("Unit cost")})
    returned = db.Column(QUANTITY, nullable=False, default=0,
                         info=readonly_info(_l("Returned")))
    billed = db.Column(QUANTITY, nullable=False, default=0, info=readonly_info(_l("Billed")))
    move_id = db.Column(db.ForeignKey("stock_move.id"), index=True)
    move = db.relationship(StockMove)


class SupplierReturn(OwnedMixin, db.Model):
    """Goods sent back to the supplier against a receipt, at that receipt's cost."""

    __tablename__ = "pur_return"
    __label__ = mark("Return to supplier")
    id = db.Column(db.Integer, primary_key=True)
    number = db.Column(db.String(20), nullable=False, unique=True,
                       info=readonly_info(_l("Number")))
    receipt_id = db.Column(db.ForeignKey("pur_receipt.id"), nullable=False, index=True)
    receipt = db.relationship(Receipt, backref=db.backref("returns", lazy="dynamic"),
                              info={"label": _l("Receipt")})
    return_date = db.Column(db.Date, nullable=False, default=date.today, index=True,
                            info={"label": _l("Date")})
    reason = db.Column(db.Text, info={"label": _l("Reason")})
    amount = amount_column(_l("Value returned"), readonly=True)
    lines = db.relationship("SupplierReturnLine", back_populates="supplier_return",
                            cascade="all, delete-orphan", info={"label": _l("Lines")})

    def __str__(self):
        return self.number or _l("New return")


class SupplierReturnLine(db.Model):
    __tablename__ = "pur_return_line"
    __label__ = mark("Return line")
    id = db.Column(db.Integer, primary_key=True)
    return_id = db.Column(db.ForeignKey("pur_return.id", ondelete="CASCADE"), nullable=False,
                          index=True)
    supplier_return = db.relationship(SupplierReturn, back_populates="lines")
    receipt_line_id = db.Column(db.ForeignKey("pur_receipt_line.id"), nullable=False,
                                index=True)
    receipt_line = db.relationship(ReceiptLine, info={"label": _l("Receipt line")})
    quantity = db.Column(QUANTITY, nullable=False, info={"label": _l("Quantity")})
    unit_cost = db.Column(COST, nullable=False, default=0, info={"label": _l("Unit cost")})
    move_id = db.Column(db.ForeignKey("stock_move.id"), index=True)
    move = db.relationship(StockMove)


# -- payables -----------------------------------------------------------------------------

class SupplierBill(OwnedMixin, db.Model):
    """A supplier's invoice, entered against a purchase order: by default for what was
    received and not yet billed."""

    __tablename__ = "pur_bill"
    __label__ = mark("Supplier bill")
    __table_args__ = (db.Index("ix_pur_bill_supplier_due", "supplier_id", "due_date"),)
    id = db.Column(db.Integer, primary_key=True)
    number = db.Column(db.String(20), nullable=False, unique=True,
                       info=readonly_info(_l("Number")))
    supplier_id = db.Column(db.ForeignKey("pur_supplier.id"), nullable=False, index=True)
    supplier = db.relationship(Supplier, info={"label": _l("Supplier")})
    order_id = db.Column(db.ForeignKey("pur_order.id"), index=True)
    order = db.relationship(PurchaseOrder, backref=db.backref("bills", lazy="dynamic"),
                            info={"label": _l("Purchase order")})
    supplier_invoice = db.Column(db.String(60), index=True,
                                 info={"label": _l("Supplier's invoice number")})
    bill_date = db.Column(db.Date, nullable=False, default=date.today, index=True,
                          info={"label": _l("Bill date")})
    due_date = db.Column(db.Date, index=True, info={"label": _l("Due date")})
    basis = db.Column(purchase_choice(*BILL_BASES, name="pur_bill_basis"), nullable=False,
                      default="received quantities", info={"label": _l("Billed on")})
    state = db.Column(purchase_choice(*BILL_STATES, name="pur_bill_state"), nullable=False,
                      default="open", index=True, info=readonly_info(_l("State")))
    subtotal = amount_column(_l("Subtotal"), readonly=True)
    tax = amount_column(_l("Tax"), readonly=True)
    total = amount_column(_l("Total"), readonly=True)
    paid = amount_column(_l("Paid"), readonly=True)
    notes = db.Column(db.Text, info={"label": _l("Notes")})
    lines = db.relationship("SupplierBillLine", back_populates="bill",
                            order_by="SupplierBillLine.sequence",
                            cascade="all, delete-orphan", info={"label": _l("Lines")})

    def __str__(self):
        return self.number or _l("New bill")


class SupplierBillLine(LineMixin, db.Model):
    __tablename__ = "pur_bill_line"
    __label__ = mark("Bill line")
    id = db.Column(db.Integer, primary_key=True)
    bill_id = db.Column(db.ForeignKey("pur_bill.id", ondelete="CASCADE"), nullable=False,
                        index=True)
    bill = db.relationship(SupplierBill, back_populates="lines")
    order_line_id = db.Column(db.ForeignKey("pur_order_line.id"), index=True)
    order_line = db.relationship(PurchaseOrderLine, info={"label": _l("Order line")})
    product_id = db.Column(db.ForeignKey("sale_product.id"), index=True)
    product = db.relationship(Product, info={"label": _l("Product")})


class SupplierPayment(OwnedMixin, db.Model):
    """Money paid to a supplier: against one bill (partial payments add up) or on
    account."""

    __tablename__ = "pur_payment"
    __label__ = mark("Payment made")
    __table_args__ = (db.Index("ix_pur_payment_supplier_date", "supplier_id", "payment_date"),)
    id = db.Column(db.Integer, primary_key=True)
    number = db.Column(db.String(20), nullable=False, unique=True,
                       info=readonly_info(_l("Number")))
    supplier_id = db.Column(db.ForeignKey("pur_supplier.id"), nullable=False, index=True)
    supplier = db.relationship(Supplier, info={"label": _l("Supplier")})
    bill_id = db.Column(db.ForeignKey("pur_bill.id"), index=True)
    bill = db.relationship(SupplierBill, backref=db.backref("payments", lazy="dynamic"),
                           info={"label": _l("Bill")})
    payment_date = db.Column(db.Date, nullable=False, default=date.today, index=True,
                             info={"label": _l("Date")})
    amount = amount_column(_l("Amount"))
    method = db.Column(purchase_choice(*PAYMENT_METHODS, name="pur_payment_method"),
                       nullable=False, default="bank transfer", info={"label": _l("Method")})
    reference = db.Column(db.String(100), info={"label": _l("Reference")})
    notes = db.Column(db.Text, info={"label": _l("Notes")})

    def __str__(self):
        return self.number or _l("New payment")


# -- stock-takes and reorder rules --------------------------------------------------------

class StockTake(OwnedMixin, db.Model):
    """A count of one warehouse, whole or for chosen products (a cycle count): its
    lines keep what the books said when the sheet was made and what was counted; the
    approved differences are posted as adjustments, all in one transaction."""

    __tablename__ = "stock_take"
    __label__ = mark("Stock-take")
    id = db.Column(db.Integer, primary_key=True)
    number = db.Column(db.String(20), nullable=False, unique=True,
                       info=readonly_info(_l("Number")))
    warehouse_id = db.Column(db.ForeignKey("stock_warehouse.id"), nullable=False, index=True)
    warehouse = db.relationship(Warehouse, info={"label": _l("Warehouse")})
    take_date = db.Column(db.Date, nullable=False, default=date.today, index=True,
                          info={"label": _l("Count date")})
    state = db.Column(purchase_choice(*TAKE_STATES, name="stock_take_state"), nullable=False,
                      default="counting", index=True, info=readonly_info(_l("State")))
    variance_value = amount_column(_l("Variance value"), readonly=True)
    posted_at = db.Column(db.DateTime, info=readonly_info(_l("Posted at")))
    notes = db.Column(db.Text, info={"label": _l("Notes")})
    lines = db.relationship("StockTakeLine", back_populates="take",
                            order_by="StockTakeLine.id",
                            cascade="all, delete-orphan", info={"label": _l("Lines")})

    def __str__(self):
        return self.number or _l("New stock-take")


class StockTakeLine(db.Model):
    __tablename__ = "stock_take_line"
    __label__ = mark("Stock-take line")
    __table_args__ = (db.UniqueConstraint("take_id", "product_id"),)
    id = db.Column(db.Integer, primary_key=True)
    take_id = db.Column(db.ForeignKey("stock_take.id", ondelete="CASCADE"), nullable=False,
                        index=True)
    take = db.relationship(StockTake, back_populates="lines")
    product_id = db.Column(db.ForeignKey("sale_product.id"), nullable=False, index=True)
    product = db.relationship(Product, info={"label": _l("Product")})
    expected = db.Column(QUANTITY, nullable=False, default=0,
                         info=readonly_info(_l("On the books")))
    counted = db.Column(QUANTITY, info={"label": _l("Counted")})
    unit_cost = db.Column(COST, nullable=False, default=0,
                          info=readonly_info(_l("Unit cost")))


class ReorderRule(db.Model):
    """Keep a product between a minimum and a maximum in a warehouse, ordering in
    multiples of a pack size."""

    __tablename__ = "stock_reorder_rule"
    __label__ = mark("Reorder rule")
    __audit__ = True
    __table_args__ = (db.UniqueConstraint("product_id", "warehouse_id"),)
    id = db.Column(db.Integer, primary_key=True)
    product_id = db.Column(db.ForeignKey("sale_product.id"), nullable=False, index=True)
    product = db.relationship(Product, info={"label": _l("Product")})
    warehouse_id = db.Column(db.ForeignKey("stock_warehouse.id"), nullable=False, index=True)
    warehouse = db.relationship(Warehouse, info={"label": _l("Warehouse")})
    minimum = db.Column(QUANTITY, nullable=False, default=0, info={"label": _l("Minimum")})
    maximum = db.Column(QUANTITY, nullable=False, default=0, info={"label": _l("Maximum")})
    multiple = db.Column(QUANTITY, nullable=False, default=1,
                         info={"label": _l("Order in multiples of")})
    # Empty: the product's preferred supplier (the supplier price of lowest priority).
    supplier_id = db.Column(db.ForeignKey("pur_supplier.id"), index=True)
    supplier = db.relationship(Supplier, info={"label": _l("Supplier")})
    active = db.Column(db.Boolean, nullable=False, default=True, index=True,
                       info={"label": _l("Active")})


class ReorderSuggestion(db.Model):
    """What the daily reorder job proposes for one rule, with its reasons."""

    __tablename__ = "stock_reorder_suggestion"
    __label__ = mark("Reorder suggestion")
    __table_args__ = (db.Index("ix_stock_reorder_suggestion_state_supplier", "state",
                               "supplier_id"),)
    id = db.Column(db.Integer, primary_key=True)
    rule_id = db.Column(db.ForeignKey("stock_reorder_rule.id", ondelete="CASCADE"),
                        nullable=False, index=True)
    rule = db.relationship(ReorderRule, info={"label": _l("Rule")})
    product_id = db.Column(db.ForeignKey("sale_product.id"), nullable=False, index=True)
    product = db.relationship(Product, info={"label": _l("Product")})
    warehouse_id = db.Column(db.ForeignKey("stock_warehouse.id"), nullable=False, index=True)
    warehouse = db.relationship(Warehouse, info={"label": _l("Warehouse")})
    supplier_id = db.Column(db.ForeignKey("pur_supplier.id"), index=True)
    supplier = db.relationship(Supplier, info={"label": _l("Supplier")})
    on_hand = db.Column(QUANTITY, nullable=False, default=0, info={"label": _l("On hand")})
    incoming = db.Column(QUANTITY, nullable=False, default=0,
                         info={"label": _l("Incoming (open orders)")})
    outgoing = db.Column(QUANTITY, nullable=False, default=0,
                         info={"label": _l("Outgoing (open deliveries)")})
    quantity = db.Column(QUANTITY, nullable=False, default=0,
                         info={"label": _l("Suggested quantity")})
    computed_on = db.Column(db.Date, nullable=False, default=date.today, index=True,
                            info={"label": _l("Computed on")})
    state = db.Column(purchase_choice(*SUGGESTION_STATES, name="stock_suggestion_state"),
                      nullable=False, default="open", index=True,
                      info=readonly_info(_l("State")))
    order_id = db.Column(db.ForeignKey("pur_order.id"), index=True)
    order = db.relationship(PurchaseOrder, info={"label": _l("Purchase order")})


# -- numbers and totals ---------------------------------------------------------------------

# Prefix of each numbered document; the counter restarts every year: PO2026-00001.
NUMBERS = {PurchaseOrder: "PO", Receipt: "GR", SupplierReturn: "PR", SupplierBill: "BL",
           SupplierPayment: "PM", StockTake: "ST"}


def next_number(session, model, on=None):
    year = (on or date.today()).year
    prefix = NUMBERS[model]
    value = Sequence.next_value(session, f"crm_purchase.{prefix}.{year}")
    return f"{prefix}{year}-{value:05d}"


@event.listens_for(Session, "before_flush")
def _number_and_total_documents(session, _context, _instances):
    """A new document without a number gets the next one (unique under concurrent
    creation: one upsert on the core's counter). An order or bill whose lines changed
    gets its totals again, however it was saved (money.py of crm_sales)."""
    for record in list(session.new):
        if type(record) in NUMBERS and not record.number:
            record.number = next_number(session, type(record))
    documents = set()
    for record in list(session.new) + list(session.dirty) + list(session.deleted):
        if isinstance(record, (PurchaseOrder, SupplierBill)):
            documents.add(record)
        elif isinstance(record, PurchaseOrderLine) and record.order is not None:
            documents.add(record.order)
        elif isinstance(record, SupplierBillLine) and record.bill is not None:
            documents.add(record.bill)
    for document in documents:
        if document not in session.deleted:
            money.compute(document)
