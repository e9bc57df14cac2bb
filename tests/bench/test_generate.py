"""bench/generate.py: the benchmark data generator, on a small scale. Its rows are
deterministic, consistent with what the app computes, and the app works on them."""
from decimal import Decimal

from sqlalchemy import create_engine, text

from addons.crm_contacts import normalise
from addons.crm_sales.money import line_amounts
from bench.generate import generate
from core.config import normalise_database_url
from tests.addons.conftest import sales_suite  # noqa: F401
from tests.addons.crm_contacts.helpers import create_customer

CUSTOMERS = 200
USERS = 20
TABLES = ["core_user", "core_team", "sale_product", "crm_customer", "crm_contact",
          "crm_activity", "sale_lead", "sale_opportunity", "sale_quote", "sale_quote_line"]


def snapshot(connection):
    """What the same seed must give again: customers, opportunities and quotes."""
    return [connection.execute(text(sql)).all() for sql in (
        "SELECT id, code, name, name_key, phone_key, email_key, owner_id, created_at "
        "FROM crm_customer ORDER BY id",
        "SELECT id, customer_id, stage_id, amount, probability FROM sale_opportunity ORDER BY id",
        "SELECT id, number, total FROM sale_quote ORDER BY id",
        "SELECT count(*) FROM sale_quote_line")]


def money(value):
    return Decimal(str(value)).quantize(Decimal("0.01"))


def test_generate(sales_suite):  # noqa: F811
    suite = sales_suite
    engine = create_engine(normalise_database_url(suite.database_url))
    # The same seed twice on the same database gives the same rows: the first run is
    # rolled back, the second kept.
    with engine.connect() as connection:
        with connection.begin() as transaction:
            first_counts = generate(connection, CUSTOMERS, seed=7, users=USERS)
            first = snapshot(connection)
            transaction.rollback()
        with connection.begin():
            counts = generate(connection, CUSTOMERS, seed=7, users=USERS)
            assert snapshot(connection) == first
            assert counts == first_counts
    engine.dispose()

    # Counts: as returned, and in the proportions the generator promises.
    for table in TABLES + ["core_user_group", "core_team_member"]:
        extra = 1 if table in ("core_user", "core_user_group") else 0   # the admin
        assert suite.sql(f"SELECT count(*) FROM {table}")[0][0] == counts[table] + extra, table
    assert counts["crm_customer"] == CUSTOMERS
    assert counts["core_user"] == USERS and counts["core_team"] == USERS // 10
    assert counts["core_user_group"] == 2 * USERS and counts["core_team_member"] == USERS
    assert 1.5 * CUSTOMERS <= counts["crm_contact"] <= 2.5 * CUSTOMERS
    assert 2.5 * CUSTOMERS <= counts["crm_activity"] <= 3.5 * CUSTOMERS
    assert 0.1 * CUSTOMERS <= counts["sale_lead"] <= 0.3 * CUSTOMERS
    assert 0.4 * CUSTOMERS <= counts["sale_opportunity"] <= 0.6 * CUSTOMERS
    assert 0.03 * CUSTOMERS <= counts["sale_quote"] <= 0.2 * CUSTOMERS
    assert 3 * counts["sale_quote"] <= counts["sale_quote_line"] <= 8 * counts["sale_quote"]

    # Keys as the app computes them; codes B0000001...
    for code, name, name_key, phone, phone_key, email, email_key in suite.sql(
            "SELECT code, name, name_key, phone, phone_key, email, email_key "
            "FROM crm_customer"):
        assert name_key == normalise.name(name)
        assert phone_key == normalise.phone(phone)
        assert email_key == normalise.email(email)
    codes = [row[0] for row in suite.sql("SELECT code FROM crm_customer ORDER BY id")]
    assert codes == [f"B{n:07d}" for n in range(1, CUSTOMERS + 1)]

    # Opportunities carry their stage's probability.
    assert suite.sql("SELECT count(*) FROM sale_opportunity o JOIN sale_stage s "
                     "ON s.id = o.stage_id WHERE o.probability <> s.probability")[0][0] == 0

    # Quote lines computed as money.py does; a quote's totals are the sums of its lines.
    lines = {}
    for quote_id, quantity, price, discount, rate, subtotal, tax, total in suite.sql(
            "SELECT quote_id, quantity, unit_price, discount, tax_rate, subtotal, tax, total "
            "FROM sale_quote_line"):
        expected = line_amounts(money(quantity), money(price), money(discount), money(rate))
        assert (money(subtotal), money(tax), money(total)) == expected
        sums = lines.setdefault(quote_id, [Decimal(0)] * 3)
        for index, value in enumerate(expected):
            sums[index] += value
    quotes = suite.sql("SELECT id, number, version, subtotal, tax, total FROM sale_quote")
    assert len({number for _id, number, *_rest in quotes}) == len(quotes)
    for quote_id, number, version, subtotal, tax, total in quotes:
        assert version == 1 and number.startswith("Q202")
        assert [money(subtotal), money(tax), money(total)] == lines[quote_id]
    # The app's quote counters are past the numbers generated.
    for year in ("2025", "2026"):
        last = max([int(n[6:]) for _id, n, *_rest in quotes if n[1:5] == year], default=0)
        counter = suite.sql("SELECT value FROM core_sequence WHERE name = :n",
                            n=f"crm_sales.Q.{year}")
        assert (counter[0][0] if counter else 0) >= last

    # The app works on the data, and the next customer gets a code of its own.
    client = suite.admin_client()
    assert client.get("/admin/customer/").status_code == 200
    assert client.get("/admin/pipeline/").status_code == 200
    assert create_customer(client, name="新客户 After Generate 有限公司").status_code == 302
    code = suite.sql("SELECT code FROM crm_customer WHERE name = :n",
                     n="新客户 After Generate 有限公司")[0][0]
    assert code and suite.sql("SELECT count(*) FROM crm_customer WHERE code = :c",
                              c=code)[0][0] == 1
