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


def amount_text(value, currency=None):
    """12345.6 -> "12,345.60" (with the currency code in front when given); None -> "0.00"."""
    text = f"{cents(value):,.2f}"
    return f"{currency} {text}" if currency else text


def number_text(value):
    """A quantity or a percentage as people read it, without useless zeros: 2.000 -> "2",
    12.50 -> "12.5", 12000 -> "12,000". (For a form's input, orders.quantity_text.)"""
    value = to_decimal(value)
    if value == value.to_integral_value():
        return f"{value.quantize(Decimal(1)):,}"
    return f"{value.normalize():,f}"


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


# The amount in Chinese capital numerals (大写), as printed on Chinese business papers
# next to the figures, so that no one can alter them: 12,345.60 -> 壹万贰仟叁佰肆拾伍元陆角整.
DIGITS = "零壹贰叁肆伍陆柒捌玖"
SMALL_UNITS = ("", "拾", "佰", "仟")
LARGE_UNITS = ("", "万", "亿", "万亿")


def in_chinese_words(amount):
    value = cents(amount)
    sign = "负" if value < 0 else ""
    yuan, fen_total = divmod(int(abs(value) * 100), 100)
    jiao, fen = divmod(fen_total, 10)
    words = _integer_in_words(yuan) + "元" if yuan else ""
    if not jiao and not fen:
        return sign + (words or "零元") + "整"
    if jiao:
        words += DIGITS[jiao] + "角"
    elif yuan:
        words += "零"            # 壹元零伍分
    words += DIGITS[fen] + "分" if fen else "整"
    return sign + words


def _integer_in_words(number):
    """Digits with their units, one 零 for any run of zeros inside the number, and 万 /
    亿 after each group of four that is not all zeros."""
    digits = str(number)
    words, zero_pending, group_has_digits = "", False, False
    for index, character in enumerate(digits):
        position = len(digits) - 1 - index
        digit = int(character)
        if digit == 0:
            zero_pending = True
        else:
            if zero_pending and words:
                words += "零"
            zero_pending = False
            words += DIGITS[digit] + SMALL_UNITS[position % 4]
            group_has_digits = True
        if position % 4 == 0 and position > 0:
            if group_has_digits:
                words += LARGE_UNITS[position // 4]
            group_has_digits = False
    return words
