"""Money arithmetic of quotes and orders, in Decimal, rounded half-up to cents.

Each line: net = quantity x unit price x (1 - discount / 100), rounded to cents; tax =
net x tax rate / 100, rounded to cents; total = net + tax. A document's subtotal, tax and
total are the sums of its lines' (as on a Chinese VAT invoice, tax is worked out line by
line, so the printed lines always add up to the printed totals)."""
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
HUNDRED = Decimal(100)


def to_decimal(value):
    """A Decimal from a number or text (floats through their text, so 0.1 stays 0.1)."""
    if isinstance(value, Decimal):
        return value
    if value is None or value == "":
        return Decimal(0)
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None


def cents(value):
    return to_decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def line_amounts(quantity, unit_price, discount=0, tax_rate=0):
    """(subtotal, tax, total) of one line."""
    quantity, unit_price = to_decimal(quantity), to_decimal(unit_price)
    discount, tax_rate = to_decimal(discount), to_decimal(tax_rate)
    subtotal = cents(quantity * unit_price * (HUNDRED - discount) / HUNDRED)
    tax = cents(subtotal * tax_rate / HUNDRED)
    return subtotal, tax, subtotal + tax


def compute(document):
    """Fill the amounts of each of a document's lines and its totals; returns the
    document. Works on any record with ``lines`` of LineMixin rows."""
    subtotal = tax = Decimal(0)
    for line in document.lines:
        line.subtotal, line.tax, line.total = line_amounts(
            line.quantity, line.unit_price, line.discount, line.tax_rate)
        subtotal += line.subtotal
        tax += line.tax
    document.subtotal, document.tax, document.total = subtotal, tax, subtotal + tax
    return document


def largest_discount(document):
    return max((to_decimal(line.discount) for line in document.lines), default=Decimal(0))
