"""The stock ledger: every way stock changes (a receipt, a delivery, a return, a count)
posts moves here, and only here.

    from addons.crm_purchase import stock
    stock.post_moves([stock.Move(product_id, warehouse_id, "receipt", Decimal(5),
                                 unit_cost=Decimal("12.50"), origin=receipt)])

Each call locks the stock_level rows it touches (in one order, so two posters never
deadlock), appends the moves and updates the levels, in the caller's transaction: when
the caller rolls back, nothing of it stays; when two post at once, the second waits for
the first and sees its quantities, so stock is never lost and never goes below zero
unless the setting allows it.

Costs follow the moving average, in the order moves are posted:
- a move in (receipt, customer return, positive adjustment) comes in at its own unit
  cost (a receipt's price; a customer return's delivery cost; an adjustment at the
  average), and the average becomes the new value over the new quantity;
- a move out leaves at the average, except a return to the supplier, which leaves at the
  unit cost of the receipt it returns (so the value taken out is what was paid);
- a level's value is always the sum of its moves' values, which `stock check` proves.

A correction dated in the past is a new move with that date: it changes the levels now
and never rewrites or revalues what was posted before it (no "repost" of history). A
document deleted after it moved stock is undone the same way (``reverse``): new moves
the other way, at the same costs, each naming the move it corrects. The session refuses
to change or delete a move once written."""
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import gettext as _
from sqlalchemy import and_, event, func, or_, select, tuple_, update
from sqlalchemy.orm import aliased, object_session

from core import options
from core.db import db, dialect_insert
from core.models import utcnow

from .models import StockLevel, StockMove

ADDON = "crm_purchase"
COST_PLACES = Decimal("0.0001")
QUANTITY_PLACES = Decimal("0.001")
HALF_COST, HALF_QUANTITY = Decimal("0.00005"), Decimal("0.0005")


class StockError(ValueError):
    """A move refused: str() says why, in the user's words; ``move`` is the position of
    the refused move in the list posted (a page shows the message on its line).
    Nothing is written."""

    def __init__(self, message, move=None):
        super().__init__(message)
        self.move = move


@dataclass
class Move:
    """A move to post. ``quantity`` is signed (in positive, out negative); ``unit_cost``
    None means at the current average. ``origin`` is the document (any record with an
    id; its ``number`` becomes the reference)."""

    product_id: int
    warehouse_id: int
    kind: str
    quantity: Decimal
    unit_cost: Decimal | None = None
    move_date: date | None = None
    origin: object = None
    reference: str | None = None
    corrects_id: int | None = None
    note: str | None = None


def allow_negative():
    return options.get(ADDON, "allow_negative_stock")


def costs(value):
    return Decimal(value).quantize(COST_PLACES, rounding=ROUND_HALF_UP)


def post_moves(moves, user=None, product_names=None):
    """Append ``moves`` to the ledger and update the levels; returns the StockMove rows
    (flushed, with ids). Raises StockError, having written nothing, when a quantity is
    zero or a move out would leave less than nothing (unless allowed). The caller
    commits or rolls back."""
    if not moves:
        return []
    for position, move in enumerate(moves):
        move.quantity = Decimal(move.quantity).quantize(QUANTITY_PLACES)
        if move.quantity == 0:
            raise StockError(_("A stock move needs a quantity other than zero."), position)
    levels = lock_levels({(m.product_id, m.warehouse_id) for m in moves})
    negative_ok = allow_negative()
    posted_at = utcnow()
    rows = []
    for position, move in enumerate(moves):
        level = levels[(move.product_id, move.warehouse_id)]
        cost = level.average_cost if move.unit_cost is None else costs(move.unit_cost)
        if move.quantity < 0 and level.quantity + move.quantity < 0 and not negative_ok:
            raise StockError(_(
                "Only %(on_hand)s of %(product)s in stock: %(wanted)s cannot go out.",
                on_hand=_number(level.quantity),
                product=_product_name(move.product_id, product_names),
                wanted=_number(-move.quantity)), position)
        value = (move.quantity * cost).quantize(COST_PLACES, rounding=ROUND_HALF_UP)
        level.quantity += move.quantity
        level.value += value
        if move.quantity > 0 and level.quantity > 0:
            level.average_cost = costs(level.value / level.quantity)
        elif level.quantity > 0 and move.unit_cost is not None:
            # Out at another cost than the average (a return at the receipt's price):
            # what stays is worth what is left of the value.
            level.average_cost = costs(level.value / level.quantity)
        level.last_move_at = posted_at
        rows.append(StockMove(
            product_id=move.product_id, warehouse_id=move.warehouse_id, kind=move.kind,
            quantity=move.quantity, unit_cost=cost, value=value,
            move_date=move.move_date or date.today(), posted_at=posted_at,
            origin=type(move.origin).__name__ if move.origin is not None else None,
            origin_id=getattr(move.origin, "id", None),
            reference=move.reference or getattr(move.origin, "number", None),
            corrects_id=move.corrects_id, user_id=getattr(user, "id", None),
            note=move.note))
    db.session.add_all(rows)
    db.session.execute(update(StockLevel), [
        {"id": level.id, "quantity": level.quantity, "value": level.value,
         "average_cost": level.average_cost, "last_move_at": level.last_move_at}
        for level in levels.values()])
    db.session.flush()
    return rows


class _Level:
    """A level row as read under its lock, changed in Python and written back at once."""

    __slots__ = ("id", "quantity", "value", "average_cost", "last_move_at")

    def __init__(self, row):
        self.id, self.quantity, self.value, self.average_cost, self.last_move_at = row


def lock_levels(pairs):
    """{(product_id, warehouse_id): _Level} for these pairs, each row made if missing
    and locked until the transaction ends (FOR UPDATE on PostgreSQL; on SQLite the
    INSERT has already taken the database's write lock)."""
    pairs = sorted(pairs)
    db.session.execute(
        dialect_insert(StockLevel).values([
            {"product_id": p, "warehouse_id": w, "quantity": 0, "value": 0,
             "average_cost": 0} for p, w in pairs])
        .on_conflict_do_nothing(index_elements=["product_id", "warehouse_id"]))
    statement = (select(StockLevel.product_id, StockLevel.warehouse_id, StockLevel.id,
                        StockLevel.quantity, StockLevel.value, StockLevel.average_cost,
                        StockLevel.last_move_at)
                 .where(_pairs_condition(pairs))
                 .order_by(StockLevel.product_id, StockLevel.warehouse_id)
                 .with_for_update())
    return {(row[0], row[1]): _Level(row[2:]) for row in db.session.execute(statement)}


def _pairs_condition(pairs):
    if db.session.get_bind().dialect.name == "postgresql":
        return tuple_(StockLevel.product_id, StockLevel.warehouse_id).in_(pairs)
    return or_(*(and_(StockLevel.product_id == p, StockLevel.warehouse_id == w)
                 for p, w in pairs))


def _number(value):
    text = f"{Decimal(value):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _product_name(product_id, names):
    if names and product_id in names:
        return names[product_id]
    from addons.crm_sales.models import Product
    product = db.session.get(Product, product_id)
    return str(product) if product else str(product_id)


def reverse(origin, user=None, note=None, product_names=None):
    """Undo what ``origin`` (a document being deleted) moved: a new move the other way
    for each of its moves not undone yet, at that move's unit cost, naming it in
    ``corrects_id``. Returns the new StockMove rows; raises StockError like post_moves
    (putting back a return would leave less than nothing, say)."""
    name, origin_id = type(origin).__name__, origin.id
    other = aliased(StockMove)
    same_origin = and_(other.origin == name, other.origin_id == origin_id)
    undone = select(other.id).where(other.corrects_id == StockMove.id, same_origin).exists()
    undoing = select(other.id).where(other.id == StockMove.corrects_id, same_origin).exists()
    moves = db.session.scalars(select(StockMove).where(
        StockMove.origin == name, StockMove.origin_id == origin_id, ~undone, ~undoing)
        .order_by(StockMove.id)).all()
    return post_moves([
        Move(move.product_id, move.warehouse_id, move.kind, -move.quantity,
             unit_cost=move.unit_cost, origin=origin, reference=move.reference,
             corrects_id=move.id, note=note)
        for move in moves], user=user, product_names=product_names)


def on_hand(product_id, warehouse_id):
    return db.session.scalar(select(StockLevel.quantity).where(
        StockLevel.product_id == product_id, StockLevel.warehouse_id == warehouse_id)) \
        or Decimal(0)


def differences():
    """Every (product, warehouse) whose level differs from the sums of its moves:
    [(product_id, warehouse_id, level quantity, ledger quantity, level value, ledger
    value)], in one pass of each table."""
    ledger = (select(StockMove.product_id, StockMove.warehouse_id,
                     func.sum(StockMove.quantity).label("quantity"),
                     func.sum(StockMove.value).label("value"))
              .group_by(StockMove.product_id, StockMove.warehouse_id).subquery())
    level = StockLevel.__table__
    found = []
    joined = level.outerjoin(ledger, and_(ledger.c.product_id == level.c.product_id,
                                          ledger.c.warehouse_id == level.c.warehouse_id))
    ledger_quantity = func.coalesce(ledger.c.quantity, 0)
    ledger_value = func.coalesce(ledger.c.value, 0)
    # Only the rows that differ come back (a million levels stay in the database); at
    # least half the last decimal apart, since SQLite sums these columns as floats.
    differing = or_(func.abs(level.c.quantity - ledger_quantity) >= HALF_QUANTITY,
                    func.abs(level.c.value - ledger_value) >= HALF_COST)
    for row in db.session.execute(select(
            level.c.product_id, level.c.warehouse_id, level.c.quantity, ledger_quantity,
            level.c.value, ledger_value).select_from(joined).where(differing)
            .order_by(level.c.product_id, level.c.warehouse_id)):
        difference = _difference(*row)
        if difference:
            found.append(difference)
    # Moves of a pair that has no level at all.
    orphan = select(ledger.c.product_id, ledger.c.warehouse_id, ledger.c.quantity,
                    ledger.c.value).where(~select(level.c.id).where(
                        level.c.product_id == ledger.c.product_id,
                        level.c.warehouse_id == ledger.c.warehouse_id).exists())
    for product_id, warehouse_id, quantity, value in db.session.execute(orphan):
        found.append(_difference(product_id, warehouse_id, 0, quantity, 0, value, True))
    return found


def levels_count():
    return db.session.scalar(select(func.count()).select_from(StockLevel)) or 0


def _difference(product_id, warehouse_id, quantity, ledger_quantity, value, ledger_value,
                always=False):
    """The row as Decimals at the columns' scales, or None when level and ledger agree.
    (SQLite sums Numeric columns as floats: 0.1 + 0.2 must still equal 0.3.)"""
    figures = [_scaled(quantity, QUANTITY_PLACES), _scaled(ledger_quantity, QUANTITY_PLACES),
               _scaled(value, COST_PLACES), _scaled(ledger_value, COST_PLACES)]
    if not always and figures[0] == figures[1] and figures[2] == figures[3]:
        return None
    return (product_id, warehouse_id, *figures)


def _scaled(value, places):
    return Decimal(str(value or 0)).quantize(places, rounding=ROUND_HALF_UP)


@event.listens_for(StockMove, "before_update")
@event.listens_for(StockMove, "before_delete")
def _ledger_is_append_only(_mapper, _connection, move):
    """A written move is never changed or deleted, whatever the path: a correction is
    another move. (Only a programming error gets here; users never see it.)"""
    session = object_session(move)
    if move in session.deleted or session.is_modified(move, include_collections=False):
        raise RuntimeError("the stock ledger is append-only: post a new move instead")
