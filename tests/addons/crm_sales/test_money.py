"""Money: line amounts and document totals in Decimal, half-up to cents; the same
through the quote form, stored exactly; quote numbers unique under concurrent creation."""
import threading
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from addons.crm_sales import money
from addons.crm_sales.models import Quote, QuoteLine
from tests.addons.crm_sales.quote_helpers import create_customer, create_quote, page_text
from tests.conftest import PG_URL

# quantity, unit price, discount %, tax rate %  ->  subtotal, tax, total
LINES = [
    ("1", "100", "0", "0", "100.00", "0.00", "100.00"),
    ("1", "100", "0", "13", "100.00", "13.00", "113.00"),
    ("1", "100", "0", "6", "100.00", "6.00", "106.00"),
    # Half-up at .005: 10.005 -> 10.01 (banker's rounding would give 10.00).
    ("0.5", "20.01", "0", "0", "10.01", "0.00", "10.01"),
    ("0.5", "20.03", "0", "0", "10.02", "0.00", "10.02"),
    ("1", "1.15", "50", "0", "0.58", "0.00", "0.58"),         # 0.575 (a float gives 0.57)
    ("1", "0.50", "0", "13", "0.50", "0.07", "0.57"),         # tax 0.065 -> 0.07
    ("1", "0.03", "0", "13", "0.03", "0.00", "0.03"),         # tax 0.0039 -> 0.00
    ("10", "0.125", "0", "6", "1.25", "0.08", "1.33"),        # tax 0.075 -> 0.08
    ("3", "33.33", "12.5", "13", "87.49", "11.37", "98.86"),  # 87.49125 -> 87.49
    ("2.5", "19.99", "10", "13", "44.98", "5.85", "50.83"),   # 44.9775 -> 44.98
    ("2", "50", "100", "13", "0.00", "0.00", "0.00"),          # a free line
    ("1.5", "3200", "0", "6", "4800.00", "288.00", "5088.00"),
    ("0.333", "3", "0", "0", "1.00", "0.00", "1.00"),          # 0.999
    ("123.456", "78.9", "7.25", "6", "9034.48", "542.07", "9576.55"),
    ("7", "1.43", "0", "13", "10.01", "1.30", "11.31"),
    ("1000", "999999.99", "0", "13", "999999990.00", "129999998.70", "1129999988.70"),
    ("999999", "999999.99", "12.5", "13", "874999116250.01", "113749885112.50",
     "988749001362.51"),
]


@pytest.mark.parametrize("quantity, price, discount, tax_rate, subtotal, tax, total", LINES)
def test_line_amounts(quantity, price, discount, tax_rate, subtotal, tax, total):
    assert money.line_amounts(quantity, price, discount, tax_rate) == (
        Decimal(subtotal), Decimal(tax), Decimal(total))


def document(*lines):
    return SimpleNamespace(lines=[SimpleNamespace(quantity=q, unit_price=p, discount=d,
                                                  tax_rate=t) for q, p, d, t in lines])


def test_totals_are_the_sums_of_the_rounded_lines():
    # Tax is worked out per line: a hundred lines of 0.05 at 13 % are 0.01 tax each,
    # so 1.00 in all (0.65 if it were worked out on the total).
    many = money.compute(document(*[("1", "0.05", "0", "13")] * 100))
    assert (many.subtotal, many.tax, many.total) == (Decimal("5.00"), Decimal("1.00"),
                                                     Decimal("6.00"))
    assert all(line.tax == Decimal("0.01") for line in many.lines)
    mixed = money.compute(document(("3", "12800", "12.5", "13"), ("25", "980", "0", "6"),
                                   ("1.5", "3200", "0", "6"), ("1", "99.99", "100", "13")))
    # 33600 + 24500 + 4800 + 0; tax 4368 (13 %) + 1470 + 288 (6 %)
    assert (mixed.subtotal, mixed.tax, mixed.total) == (Decimal("62900.00"),
                                                        Decimal("6126.00"),
                                                        Decimal("69026.00"))
    empty = money.compute(document())
    assert (empty.subtotal, empty.tax, empty.total) == (0, 0, 0)


def test_largest_discount_and_conversions():
    assert money.largest_discount(document(("1", "1", "12.5", "0"), ("1", "1", "20", "0"))) \
        == Decimal(20)
    assert money.largest_discount(document()) == 0
    assert money.to_decimal(0.1) == Decimal("0.1")
    assert money.cents("2.675") == Decimal("2.68")
    with pytest.raises(ValueError):
        money.to_decimal("abc")


@pytest.mark.parametrize("amount, words", [
    ("0", "零元整"), ("0.05", "伍分"), ("0.50", "伍角整"), ("1.05", "壹元零伍分"),
    ("10", "壹拾元整"), ("1010", "壹仟零壹拾元整"), ("10001", "壹万零壹元整"),
    ("100100", "壹拾万零壹佰元整"), ("100010000", "壹亿零壹万元整"),
    ("1234567.89", "壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分"),
])
def test_amount_in_chinese_words(amount, words):
    assert money.in_chinese_words(amount) == words


def stored_totals(suite, quote):
    row = suite.sql("SELECT subtotal, tax, total FROM sale_quote WHERE id = :id", id=quote)[0]
    return tuple(Decimal(str(value)).quantize(Decimal("0.01")) for value in row)


def test_quote_form_stores_exact_totals(sales_suite):
    admin = sales_suite.admin_client()
    customer = create_customer(admin, sales_suite, "Exact Ltd")
    # Every case whose price a price column holds (two decimals), on one quote.
    cases = [case for case in LINES[:-1] if Decimal(case[1]).as_tuple().exponent >= -2]
    lines = [{"description": f"Line {index}", "quantity": q, "unit_price": p, "discount": d,
              "tax_rate": t} for index, (q, p, d, t, *_expected) in enumerate(cases)]
    quote = create_quote(admin, sales_suite, customer, lines)
    expected = [tuple(Decimal(v) for v in case[4:]) for case in cases]
    assert stored_totals(sales_suite, quote) == tuple(
        sum(column) for column in zip(*expected))
    rows = sales_suite.sql("SELECT subtotal, tax, total FROM sale_quote_line "
                           "WHERE quote_id = :id ORDER BY sequence", id=quote)
    assert [tuple(Decimal(str(v)).quantize(Decimal("0.01")) for v in row) for row in rows] \
        == expected
    # The largest line the columns hold, to the cent.
    big = create_quote(admin, sales_suite, customer, [
        {"description": "Plant", "quantity": "999999", "unit_price": "999999.99",
         "discount": "12.5", "tax_rate": "13"}])
    assert stored_totals(sales_suite, big) == (Decimal("874999116250.01"),
                                               Decimal("113749885112.50"),
                                               Decimal("988749001362.51"))
    page = page_text(admin.get(f"/admin/quote/details/?id={big}"))
    assert "988,749,001,362.51" in page


@pytest.mark.skipif(not (PG_URL or "").startswith("postgresql"),
                    reason="concurrent numbering is a PostgreSQL test")
def test_concurrent_quotes_get_distinct_numbers(sales_suite):
    """20 transactions at once, each on its own connection, numbered by the models'
    before_flush listener: 20 different numbers, none lost to a conflict."""
    assert sales_suite.database_url.startswith("postgresql")
    admin = sales_suite.admin_client()
    customer = create_customer(admin, sales_suite, "Busy Buyer")
    engine = create_engine(sales_suite.database_url, pool_size=20, max_overflow=0)
    start = threading.Barrier(20)
    numbers, errors = [], []

    def create_one(index):
        try:
            with Session(engine) as session:
                quote = Quote(customer_id=customer, lines=[QuoteLine(
                    description=f"Item {index}", quantity=1, unit_price=10, discount=0,
                    tax_rate=13)])
                session.add(quote)
                start.wait(timeout=30)
                session.commit()
                numbers.append(quote.number)
        except Exception as exc:   # reported below, with the others
            errors.append(exc)

    threads = [threading.Thread(target=create_one, args=(index,)) for index in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    engine.dispose()
    assert errors == []
    assert len(numbers) == 20 and len(set(numbers)) == 20
    assert sales_suite.sql("SELECT COUNT(DISTINCT number) FROM sale_quote")[0][0] == 20
