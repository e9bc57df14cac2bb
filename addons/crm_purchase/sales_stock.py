"""Stock follows Sales' deliveries and customer returns (Sales knows nothing of stock:
it calls the core hooks below in the transaction that saves or deletes the document,
and rolls it back when a handler refuses).

- a delivery takes each line's product out of the default warehouse, at the average
  cost ("delivery" moves);
- a customer return puts it back at what its delivery took it out at: the unit cost of
  the latest delivery move of that order line's product, else the average ("customer
  return" moves, each naming that delivery move);
- deleting either posts the moves the other way (stock.reverse); nothing is rewritten.

Lines without a product, or of a service, move no stock. A move that would leave less than nothing (with
negative stock not allowed) refuses the whole document, with the reason."""
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from addons.crm_sales.models import Delivery, DeliveryLine
from core import hooks
from core.db import db

from . import stock
from .models import StockMove, Warehouse


def stocked(lines):
    """The lines whose product is kept in stock (goods, not services)."""
    return [line for line in lines if line.order_line.product is not None
            and line.order_line.product.kind == "goods"]


@hooks.connect("sales.delivery_posted")
def take_out_delivered(delivery):
    lines = stocked(delivery.lines)
    if not lines:
        return
    warehouse_id = delivery_warehouse()
    _post([stock.Move(line.order_line.product_id, warehouse_id, "delivery", -line.quantity,
                      move_date=delivery.delivery_date, origin=delivery)
           for line in lines], lines)


@hooks.connect("sales.return_posted")
def put_back_returned(customer_return):
    lines = stocked(customer_return.lines)
    if not lines:
        return
    warehouse_id = delivery_warehouse()
    moves = []
    for line in lines:
        product_id = line.order_line.product_id
        delivered = latest_delivery_move(line.order_line_id, product_id)
        moves.append(stock.Move(
            product_id, warehouse_id, "customer return", line.quantity,
            unit_cost=delivered.unit_cost if delivered is not None else None,
            move_date=customer_return.return_date, origin=customer_return,
            corrects_id=delivered.id if delivered is not None else None))
    _post(moves, lines)


@hooks.connect("sales.delivery_deleted")
def undo_delivery(delivery):
    _reverse(delivery, _("Delivery %(number)s deleted.", number=delivery.number))


@hooks.connect("sales.return_deleted")
def undo_return(customer_return):
    _reverse(customer_return, _("Customer return %(number)s deleted.",
                                number=customer_return.number))


def delivery_warehouse():
    """The id of the default warehouse for deliveries (the oldest, should two be
    marked); refuses when there is none."""
    found = db.session.scalar(select(Warehouse.id).where(
        Warehouse.is_default.is_(True), Warehouse.active.is_(True))
        .order_by(Warehouse.id).limit(1))
    if found is None:
        raise hooks.Refused(_("No warehouse is the default for deliveries: an "
                              "administrator chooses one under Stock > Configuration > "
                              "Warehouses."))
    return found


def latest_delivery_move(order_line_id, product_id):
    """The latest delivery move of ``product_id`` made by a delivery of this order line
    (its unit cost is what a return of it comes back at), or None."""
    deliveries = select(DeliveryLine.delivery_id).where(
        DeliveryLine.order_line_id == order_line_id)
    return db.session.scalar(select(StockMove).where(
        StockMove.origin == Delivery.__name__, StockMove.origin_id.in_(deliveries),
        StockMove.product_id == product_id, StockMove.kind == "delivery",
        StockMove.quantity < 0).order_by(StockMove.id.desc()).limit(1))


def _post(moves, lines):
    try:
        stock.post_moves(moves, user=_user(), product_names=_names(lines))
    except stock.StockError as refused:
        raise hooks.Refused(str(refused)) from None


def _reverse(document, note):
    try:
        stock.reverse(document, user=_user(), note=note)
    except stock.StockError as refused:
        raise hooks.Refused(str(refused)) from None


def _names(lines):
    """{product id: name} for messages, from the lines already loaded."""
    return {line.order_line.product_id: str(line.order_line.product) for line in lines}


def _user():
    return current_user if current_user and current_user.is_authenticated else None

