"""A seeded generator of purchasing and stock data for benchmarks (crm_purchase):
products, warehouses, suppliers and their prices, purchase orders with lines (the older
ones received, some in part), their receipts, the stock ledger with the levels that are
its sums, reorder rules, and open sales orders (what is still to deliver).

    python bench/purchase_generate.py --database-url URL [--products 100000]
        [--moves 5000000] [--orders 200000] [--rules 100000] [--suppliers 2000]
        [--sales-orders 20000] [--seed 17] [--today 2026-12-05] [--init]

``--init`` drops and creates the PostgreSQL database (or removes the SQLite file) and
runs ``run.py init`` with crm_contacts, crm_sales and crm_purchase first. As a library::

    from bench.purchase_generate import generate_purchase
    counts = generate_purchase(connection_or_session, products=5_000, moves=200_000,
                               orders=10_000, rules=5_000)

It adds to an initialised database, inside the caller's transaction (the caller
commits), and returns ``{table: rows added}``.

The big tables are made by set-based SQL, never row by row: ``INSERT ... SELECT`` over
``generate_series`` on PostgreSQL (a recursive CTE on SQLite), every value a function
of the row's number (a multiplicative hash for the random-looking ones), so the same
seed, scale and --today give the same rows on an empty installation. The few rows with
names to normalise (users, supplier and customer companies, warehouses) go through
bench/generate.py's Writer (COPY on PostgreSQL). On PostgreSQL the secondary indexes of
stock_move, pur_order, pur_order_line and pur_receipt_line are dropped during the load and made
again after it (a fraction of the time of maintaining them row by row).

What is made:
- users: a purchase manager ``purchase_manager_<id>``, ``buyers`` buyers ``buyer_<id>``
  (group purchase_user) who own the orders, a warehouse keeper ``stock_keeper_<id>``
  (stock_user); password "bench password 1";
- two warehouses beside the default one; ``products`` products (codes PB0000123, costs
  1.00-499.99, price cost x 1.4, VAT 13 % or 9 %); ``suppliers`` suppliers (each a
  company of crm_customer flagged as supplier, with its supplier record); two supplier
  prices per product: the preferred supplier (number j % suppliers) at the cost, a
  second one 5 % dearer;
- ``orders`` purchase orders over the last two years, oldest first, 1-9 lines (5 on
  average) of their supplier's products, numbered PO<year>-<nnnnn>: of the older 80 %,
  70 % closed, 22 % received, 8 % cancelled; of the newest 20 %, drafts, waiting for
  approval, approved, sent, partly received (every line half received), received and
  cancelled. Each received, closed or partly received order has one receipt (GR<year>-
  <nnnnn>) whose lines posted one receipt move each at the line's price;
- the stock ledger of ``moves`` moves in all (the receipts' included): every product in
  the main warehouse, one in two in the second, one in five in the third; each such
  level begins with an opening adjustment large enough that no level ever goes below
  zero, then deliveries (1-10 out), customer returns (1-3 in) and small adjustments,
  at the product's cost; each stock_level row is then set to the sums of its moves
  (quantity, value, the average cost value / quantity, the last move), so that
  ``stock check`` holds;
- ``rules`` reorder rules, one per level, the main warehouse's first: a quarter of them
  with a minimum above what is on hand (so the reorder job has work), one in ten
  naming a supplier, one in fifty inactive; multiples of 1, 5, 10 or 12;
- ``sales_orders`` open sales orders of 1-5 lines, some half delivered, for
  ``sales_orders // 50`` customers (at least 20): what the reorder job counts as going
  out.

The core's counters (crm_purchase.PO.<year>, crm_purchase.GR.<year>,
crm_sales.SO.<year>) are moved past the numbers generated; on PostgreSQL each id
sequence is set past the ids written.
"""
import argparse
import random
import sys
import time
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import startup  # noqa: E402
from bench.generate import (CITIES, COLUMNS, PASSWORD, Writer, _connection,  # noqa: E402
                            _counter, _raise_counter, _scalar, company_name, mobile,
                            person_name)

HISTORY_DAYS = 730
LINES_AT_MOST = 9            # purchase order lines: 1-9
SALES_LINES_AT_MOST = 5
DELIVERY_AT_MOST = 10        # the largest quantity a generated delivery takes out
ITEM_WORDS = ["轴承", "螺栓", "电机", "传感器", "阀门", "水泵", "控制器", "继电器", "Cable",
              "Bearing", "Filter", "Gear", "Valve", "Relay", "Switch", "Gasket"]
SERIES_LETTERS = ["A", "B", "C", "K", "M", "X"]
UNITS = ["pcs", "台", "个", "套", "kg"]
WAREHOUSES = [("SH", "上海仓 Shanghai"), ("GZ", "广州仓 Guangzhou")]
# Tables whose ids are written explicitly (each sequence is moved past them).
SQL_TABLES = ("sale_product", "pur_supplier_price", "stock_level", "pur_order",
              "pur_order_line", "pur_receipt", "stock_move", "pur_receipt_line",
              "stock_reorder_rule", "sale_order", "sale_order_line")
# Loaded without their secondary indexes on PostgreSQL.
BIG_TABLES = ("stock_move", "pur_order", "pur_order_line", "pur_receipt_line")
RECEIVED_STATES = ("partly received", "received", "closed")

WRITER_COLUMNS = {
    "core_user": COLUMNS["core_user"], "core_user_group": COLUMNS["core_user_group"],
    "stock_warehouse": ("id", "code", "name", "address", "is_default", "active"),
    "crm_customer": COLUMNS["crm_customer"],
    "pur_supplier": ("id", "customer_id", "code", "payment_days", "lead_time_days",
                     "currency", "purchaser_id", "active"),
}


class Sql:
    """The SQL of one dialect for what both need: a series of integers, a hash, dates."""

    def __init__(self, connection, seed, today):
        self.connection = connection
        self.postgresql = connection.dialect.name == "postgresql"
        self.seed = seed
        self.today = f"DATE '{today.isoformat()}'" if self.postgresql \
            else f"'{today.isoformat()}'"

    def run(self, statement):
        from sqlalchemy import text
        return self.connection.execute(text(statement))

    def series(self, count, name="s"):
        """(WITH clause or "", FROM item): the integers 1..count as ``name.i``."""
        if self.postgresql:
            return "", f"generate_series(1, {int(count)}) AS {name}(i)"
        return (f"WITH RECURSIVE {name}(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM {name} "
                f"WHERE i < {int(count)}) ", name)

    def rnd(self, expression, salt, modulo):
        """A number in 0..modulo-1 that looks random, the same for the same expression,
        salt and seed (Knuth's multiplicative hash, its middle bits). ``modulo`` may be
        an SQL expression."""
        offset = salt * 7919 + self.seed * 104729
        modulo = modulo if isinstance(modulo, str) else int(modulo)
        return (f"(((({expression}) + {offset}) * 2654435761 % 4294967296) / 256 "
                f"% {modulo})")

    def choice(self, values, expression, salt):
        cases = " ".join(f"WHEN {n} THEN {quoted(value)}" for n, value in enumerate(values))
        return f"(CASE {self.rnd(expression, salt, len(values))} {cases} END)"

    def days_after(self, day, days):
        if self.postgresql:
            return f"(({day}) + CAST({days} AS INTEGER))"
        return f"date({day}, CAST({days} AS TEXT) || ' days')"

    def at(self, day, seconds):
        """The moment ``seconds`` after the start of ``day``."""
        if self.postgresql:
            return f"(CAST({day} AS TIMESTAMP) + CAST({seconds} AS INTEGER) * INTERVAL '1 second')"
        return f"datetime({day}, CAST({seconds} AS TEXT) || ' seconds')"

    def year(self, day):
        if self.postgresql:
            return f"CAST(EXTRACT(YEAR FROM {day}) AS INTEGER)"
        return f"CAST(strftime('%Y', {day}) AS INTEGER)"

    def padded(self, number, width):
        """``number`` with leading zeros to ``width`` digits (more when it has more)."""
        if self.postgresql:
            text = f"CAST({number} AS TEXT)"
            return f"lpad({text}, GREATEST({width}, length({text})), '0')"
        return f"printf('%0{width}d', {number})"

    def earlier(self, first, second):
        return f"{'LEAST' if self.postgresql else 'MIN'}({first}, {second})"

    def big(self, number):
        """An integer literal that PostgreSQL multiplies as a bigint."""
        return f"CAST({int(number)} AS BIGINT)" if self.postgresql else str(int(number))


def quoted(value):
    return "'" + str(value).replace("'", "''") + "'"


# -- what each product is, as SQL of its id --------------------------------------------------

def cost_cents(sql, product_id):
    return f"({sql.rnd(product_id, 1, 49_900)} + 100)"


def tax_rate(sql, product_id):
    return f"(CASE {sql.rnd(product_id, 2, 4)} WHEN 0 THEN 9 ELSE 13 END)"


def product_name(sql, product_id):
    return (f"{sql.choice(ITEM_WORDS, product_id, 3)} || ' ' || "
            f"{sql.choice(SERIES_LETTERS, product_id, 4)} || "
            f"CAST({sql.rnd(product_id, 5, 900)} + 100 AS TEXT) || '-' || "
            f"CAST({product_id} AS TEXT)")


def cents(expression):
    return f"(({expression}) / 100.0)"


# -- the steps --------------------------------------------------------------------------------

def add_people_and_places(writer, rng, ids, buyers, suppliers, customers, seed):
    """Users, warehouses, supplier and customer companies, suppliers: {name: ids}."""
    from werkzeug.security import generate_password_hash

    from addons.crm_contacts import normalise
    connection = writer.connection
    groups = {code: _scalar(connection, "SELECT id FROM core_group WHERE code = :code",
                            code=code)
              for code in ("purchase_manager", "purchase_user", "stock_user")}
    if None in groups.values():
        raise SystemExit("no purchase groups: run `python run.py init` with crm_purchase "
                         "enabled")
    password_hash = generate_password_hash(PASSWORD)
    first = ids["core_user"]
    manager, keeper = first, first + 1
    buyer_ids = list(range(first + 2, first + 2 + buyers))
    names = [(manager, f"purchase_manager_{manager}", "purchase_manager"),
             (keeper, f"stock_keeper_{keeper}", "stock_user")] + \
        [(uid, f"buyer_{uid}", "purchase_user") for uid in buyer_ids]
    created = datetime(2024, 1, 1)
    writer.write("core_user", [
        (uid, username, f"{person_name(rng)} {uid}", f"{username}@example.com", password_hash,
         "", True, False, False, f"pur-{seed}-{uid}-{rng.getrandbits(64):x}", created)
        for uid, username, _group in names])
    writer.write("core_user_group", [(uid, groups[group]) for uid, _name, group in names])

    main = _scalar(connection, "SELECT id FROM stock_warehouse WHERE is_default = "
                               f"{'true' if writer.postgresql else '1'} ORDER BY id LIMIT 1")
    others = [ids["stock_warehouse"] + n for n in range(len(WAREHOUSES))]
    writer.write("stock_warehouse", [
        (wid, f"{code}{wid}", f"{name} {wid}", None, False, True)
        for wid, (code, name) in zip(others, WAREHOUSES)])

    companies, supplier_rows = [], []
    first_customer = ids["crm_customer"]
    for n in range(suppliers + customers):
        cid = first_customer + n
        name = company_name(rng, cid)
        phone = mobile(rng)
        email = f"{'sales' if n < suppliers else 'buyer'}{cid}@example.com"
        province, city = rng.choice(CITIES)
        owned = (manager, manager, manager, created, created)
        companies.append((cid, f"V{cid:07d}", "company", name, normalise.name(name), "B",
                          False, "active", phone, normalise.phone(phone), email,
                          normalise.email(email), province, city, "中国", n < suppliers)
                         + owned)
        if n < suppliers:
            sid = ids["pur_supplier"] + n
            supplier_rows.append((sid, cid, f"SUP{sid:05d}", rng.choice((30, 30, 45, 60)),
                                  rng.randint(3, 21), "CNY", buyer_ids[n % buyers], True))
    writer.write("crm_customer", companies)
    writer.write("pur_supplier", supplier_rows)
    return {"manager": manager, "keeper": keeper, "buyers": buyer_ids,
            "warehouses": [main] + others, "suppliers": ids["pur_supplier"],
            "customers": first_customer + suppliers}


def add_products(sql, first, count):
    with_clause, source = sql.series(count)
    pid = "p.id"
    return sql.run(f"""
        INSERT INTO sale_product (id, code, name, unit, price, cost, tax_rate, active)
        {with_clause}SELECT {pid}, 'PB' || {sql.padded(pid, 7)}, {product_name(sql, pid)},
               {sql.choice(UNITS, pid, 6)}, {cents(f"{cost_cents(sql, pid)} * 14 / 10")},
               {cents(cost_cents(sql, pid))}, {tax_rate(sql, pid)}, TRUE
        FROM (SELECT {first} - 1 + s.i AS id FROM {source}) p""").rowcount


def add_prices(sql, first_id, first_product, products, first_supplier, suppliers):
    """Two prices a product: its preferred supplier's at cost (sequence 10), and the
    next supplier's 5 % dearer (sequence 20)."""
    added = 0
    for rank, (sequence, markup, shift) in enumerate(((10, 100, 0), (20, 105, 1))):
        added += sql.run(f"""
            INSERT INTO pur_supplier_price (id, supplier_id, product_id, supplier_product_code,
                                            price, min_quantity, sequence)
            SELECT {first_id} + (p.id - {first_product}) * 2 + {rank},
                   {first_supplier} + (p.id - {first_product} + {shift}) % {suppliers}, p.id,
                   'SPC-' || CAST(p.id AS TEXT),
                   {cents(f"{cost_cents(sql, 'p.id')} * {markup} / 100")}, 1, {sequence}
            FROM sale_product p
            WHERE p.id >= {first_product} AND p.id < {first_product + products}""").rowcount
    return added


def level_layout(products):
    """(first index of each warehouse's levels, count): every product in the main
    warehouse, even ones in the second, every fifth in the third."""
    counts = [products, (products + 1) // 2, (products + 4) // 5]
    starts = [0, counts[0], counts[0] + counts[1]]
    return list(zip(starts, counts))


def add_levels(sql, first_id, first_product, products, warehouses):
    """Empty levels, ids in the order main warehouse, second, third (by product)."""
    added = 0
    for (start, _count), warehouse, step in zip(level_layout(products), warehouses, (1, 2, 5)):
        added += sql.run(f"""
            INSERT INTO stock_level (id, product_id, warehouse_id, quantity, value,
                                     average_cost)
            SELECT {first_id + start} + (p.id - {first_product}) / {step}, p.id, {warehouse},
                   0, 0, 0
            FROM sale_product p
            WHERE p.id >= {first_product} AND p.id < {first_product + products}
              AND (p.id - {first_product}) % {step} = 0""").rowcount
    return added


def order_state(sql, index, count):
    """The state of the order of number ``index`` (1 = the oldest) out of ``count``."""
    r = sql.rnd(index, 10, 100)
    return f"""(CASE WHEN {index} * 10 <= {count} * 8 THEN
                  (CASE WHEN {r} < 70 THEN 'closed' WHEN {r} < 92 THEN 'received'
                        ELSE 'cancelled' END)
                ELSE (CASE WHEN {r} < 15 THEN 'draft' WHEN {r} < 20 THEN 'waiting for approval'
                           WHEN {r} < 33 THEN 'approved' WHEN {r} < 58 THEN 'sent'
                           WHEN {r} < 78 THEN 'partly received' WHEN {r} < 95 THEN 'received'
                           ELSE 'cancelled' END) END)"""


def year_offsets(connection, sql, key, today):
    """SQL of the counter's value for a year (the years generated: the last three)."""
    cases = " ".join(
        f"WHEN {year} THEN {_counter(connection, f'{key}.{year}')}"
        for year in range(today.year - 2, today.year + 1))
    return lambda day: f"(CASE {sql.year(day)} {cases} ELSE 0 END)"


def number(sql, prefix, offsets, day, order_by):
    """PO2026-00042: the prefix, the year, the counter's value plus the row's rank in
    its year."""
    rank = f"ROW_NUMBER() OVER (PARTITION BY {sql.year(day)} ORDER BY {order_by})"
    return (f"'{prefix}' || CAST({sql.year(day)} AS TEXT) || '-' || "
            f"{sql.padded(f'{offsets(day)} + {rank}', 5)}")


def add_orders(sql, first_id, count, people, suppliers, today):
    offsets = year_offsets(sql.connection, sql, "crm_purchase.PO", today)
    with_clause, source = sql.series(count)
    days_ago = f"({sql.big(count)} - s.i) * {HISTORY_DAYS} / {count}"
    buyers = people["buyers"]
    sent = "o.state IN ('sent', 'partly received', 'received', 'closed')"
    return sql.run(f"""
        INSERT INTO pur_order (id, number, supplier_id, warehouse_id, order_date,
                               expected_date, state, currency, supplier_reference, subtotal,
                               tax, total, sent_at, owner_id, created_by_id, updated_by_id,
                               created_at, updated_at)
        {with_clause}SELECT o.id, {number(sql, "PO", offsets, "o.order_date", "o.id")},
               o.supplier_id, {people["warehouses"][0]}, o.order_date,
               {sql.days_after("o.order_date", sql.rnd("o.id", 11, 15) + " + 7")}, o.state,
               'CNY', CASE WHEN o.id % 3 = 0 THEN 'SO-' || CAST(o.id AS TEXT) END, 0, 0, 0,
               CASE WHEN {sent} THEN {sql.at("o.order_date", "36000 + " + sql.rnd("o.id", 12, 20000))} END,
               o.owner_id, o.owner_id, o.owner_id,
               {sql.at("o.order_date", "32400 + " + sql.rnd("o.id", 13, 3600))},
               {sql.at("o.order_date", "32400 + " + sql.rnd("o.id", 13, 3600))}
        FROM (SELECT {first_id} - 1 + s.i AS id,
                     {people["suppliers"]} + s.i % {suppliers} AS supplier_id,
                     {buyers[0]} + s.i % {len(buyers)} AS owner_id,
                     {sql.days_after(sql.today, f"-({days_ago})")} AS order_date,
                     {order_state(sql, "s.i", count)} AS state
              FROM {source}) o""").rowcount


def add_order_lines(sql, first_id, first_order, people, first_product, products, suppliers):
    """1-9 lines an order, products of its supplier (product j is preferred from
    supplier j % suppliers), at that supplier's price (the cost)."""
    with_clause, source = sql.series(LINES_AT_MOST, "k")
    per_supplier = products // suppliers
    line = "o.id * 16 + k.i"
    received = ("CASE WHEN x.state IN ('received', 'closed') THEN x.q "
                "WHEN x.state = 'partly received' THEN x.q / 2 ELSE 0 END")
    return sql.run(f"""
        INSERT INTO pur_order_line (id, order_id, product_id, sequence, description, quantity,
                                    unit_price, discount, tax_rate, subtotal, tax, total,
                                    received, returned, billed)
        {with_clause}SELECT {first_id} - 1 + ROW_NUMBER() OVER (ORDER BY x.order_id, x.k),
               x.order_id, x.product_id, x.k * 10, x.name, x.q, {cents("x.c")}, 0, x.t,
               {cents("x.q * x.c")}, {cents("(x.q * x.c * x.t + 50) / 100")},
               {cents("x.q * x.c + (x.q * x.c * x.t + 50) / 100")}, {received}, 0, 0
        FROM (SELECT y.*, {cost_cents(sql, "y.product_id")} AS c,
                     {tax_rate(sql, "y.product_id")} AS t,
                     {product_name(sql, "y.product_id")} AS name
              FROM (SELECT o.id AS order_id, o.state, k.i AS k,
                           {first_product} + (o.supplier_id - {people["suppliers"]})
                             + {suppliers} * {sql.rnd(line, 21, per_supplier)} AS product_id,
                           10 + {sql.rnd(line, 22, 91)} AS q
                    FROM pur_order o CROSS JOIN {source}
                    WHERE o.id >= {first_order}
                      AND k.i <= 1 + {sql.rnd("o.id", 20, LINES_AT_MOST)}) y) x""").rowcount


def add_order_totals(sql, table, line_table, first_order):
    sql.run(f"""
        UPDATE {table} SET subtotal = t.subtotal, tax = t.tax, total = t.subtotal + t.tax
        FROM (SELECT order_id, SUM(subtotal) AS subtotal, SUM(tax) AS tax FROM {line_table}
              WHERE order_id >= {first_order} GROUP BY order_id) t
        WHERE {table}.id = t.order_id""")


def add_receipts(sql, first_id, first_order, today):
    """One receipt an order received (in part or whole), 3-14 days after the order."""
    offsets = year_offsets(sql.connection, sql, "crm_purchase.GR", today)
    states = ", ".join(quoted(state) for state in RECEIVED_STATES)
    received_on = sql.earlier(sql.days_after("o.order_date", "3 + " + sql.rnd("o.id", 30, 12)),
                              sql.today)
    return sql.run(f"""
        INSERT INTO pur_receipt (id, number, order_id, warehouse_id, receipt_date,
                                 delivery_note, owner_id, created_by_id, updated_by_id,
                                 created_at, updated_at)
        SELECT r.id, {number(sql, "GR", offsets, "r.receipt_date", "r.id")}, r.order_id,
               r.warehouse_id, r.receipt_date, 'DN-' || CAST(r.order_id AS TEXT), r.owner_id,
               r.owner_id, r.owner_id, {sql.at("r.receipt_date", 50400)},
               {sql.at("r.receipt_date", 50400)}
        FROM (SELECT {first_id} - 1 + ROW_NUMBER() OVER (ORDER BY o.id) AS id,
                     o.id AS order_id, o.warehouse_id, o.owner_id, {received_on} AS receipt_date
              FROM pur_order o WHERE o.id >= {first_order} AND o.state IN ({states})) r
        """).rowcount


def add_receipt_moves_and_lines(sql, first_move, first_line, first_order, keeper):
    """A receipt move for each order line received, then the receipt line that
    points at it (the same rank in both)."""
    source = (f"FROM pur_order_line l JOIN pur_receipt r ON r.order_id = l.order_id "
              f"WHERE l.order_id >= {first_order} AND l.received > 0")
    rank = "ROW_NUMBER() OVER (ORDER BY l.id)"
    moves = sql.run(f"""
        INSERT INTO stock_move (id, product_id, warehouse_id, kind, quantity, unit_cost, value,
                                move_date, posted_at, origin, origin_id, reference, user_id)
        SELECT {first_move} - 1 + {rank}, l.product_id, r.warehouse_id, 'receipt',
               l.received, l.unit_price, l.received * l.unit_price, r.receipt_date,
               {sql.at("r.receipt_date", 50400)}, 'Receipt', r.id, r.number, {keeper}
        {source}""").rowcount
    lines = sql.run(f"""
        INSERT INTO pur_receipt_line (id, receipt_id, order_line_id, quantity, unit_cost,
                                      returned, billed, move_id)
        SELECT {first_line} - 1 + {rank}, r.id, l.id, l.received, l.unit_price, 0, 0,
               {first_move} - 1 + {rank}
        {source}""").rowcount
    return moves, lines


def add_other_moves(sql, first_id, count, first_level, levels, keeper):
    """``count`` moves spread over the levels in turn (move i on level i % levels,
    dated in order): each level's first an opening adjustment larger than all the
    deliveries that follow, then deliveries, customer returns, small adjustments."""
    if count <= 0:
        return 0
    with_clause, source = sql.series(count)
    opening = DELIVERY_AT_MOST * (-(-count // levels) + 1) + 50
    days_ago = f"({sql.big(count)} - x.i) * {HISTORY_DAYS} / {count}"
    r = "x.r"
    kind = (f"CASE WHEN x.k = 0 THEN 'adjustment' WHEN {r} < 4 THEN 'customer return' "
            f"WHEN {r} < 6 THEN 'adjustment' ELSE 'delivery' END")
    quantity = (f"CASE WHEN x.k = 0 THEN {opening} + {sql.rnd('x.i', 42, 500)} "
                f"WHEN {r} < 4 THEN 1 + {sql.rnd('x.i', 43, 3)} "
                f"WHEN {r} < 6 THEN -(1 + {sql.rnd('x.i', 44, 2)}) "
                f"ELSE -(1 + {sql.rnd('x.i', 45, DELIVERY_AT_MOST)}) END")
    return sql.run(f"""
        INSERT INTO stock_move (id, product_id, warehouse_id, kind, quantity, unit_cost, value,
                                move_date, posted_at, user_id, note)
        {with_clause}SELECT {first_id} - 1 + m.i, m.product_id, m.warehouse_id, m.kind, m.q,
               {cents("m.c")}, {cents("m.q * m.c")}, m.move_date,
               {sql.at("m.move_date", "28800 + " + sql.rnd("m.i", 41, 36000))},
               CASE WHEN m.kind = 'adjustment' THEN {keeper} END,
               CASE WHEN m.k = 0 THEN 'Opening stock 期初库存' END
        FROM (SELECT x.i, x.k, x.product_id, x.warehouse_id, {kind} AS kind,
                     {quantity} AS q, {cost_cents(sql, "x.product_id")} AS c,
                     {sql.days_after(sql.today, f"-({days_ago})")} AS move_date
              FROM (SELECT s.i, (s.i - 1) / {levels} AS k, {sql.rnd("s.i", 40, 100)} AS r,
                           l.product_id, l.warehouse_id
                    FROM {source} JOIN stock_level l
                      ON l.id = {first_level} + (s.i - 1) % {levels}) x) m""").rowcount


def set_levels(sql, first_level):
    """Each level the sums of its moves: quantity, value, average cost, last move."""
    sql.run(f"""
        UPDATE stock_level SET quantity = a.q, value = a.v,
               average_cost = CASE WHEN a.q > 0 THEN ROUND(a.v / a.q, 4) ELSE 0 END,
               last_move_at = a.m
        FROM (SELECT product_id, warehouse_id, SUM(quantity) AS q, SUM(value) AS v,
                     MAX(posted_at) AS m
              FROM stock_move GROUP BY product_id, warehouse_id) a
        WHERE stock_level.product_id = a.product_id
          AND stock_level.warehouse_id = a.warehouse_id AND stock_level.id >= {first_level}""")


def add_rules(sql, first_id, first_level, count, first_product, first_supplier, suppliers):
    """A rule on each of the first ``count`` levels (the main warehouse's first)."""
    minimum = (f"CASE WHEN {sql.rnd('l.id', 50, 100)} < 25 "
               f"THEN l.quantity + 20 + {sql.rnd('l.id', 51, 100)} "
               f"ELSE CAST(l.quantity / 3 AS INTEGER) END")
    multiple = f"(CASE {sql.rnd('l.id', 52, 5)} WHEN 0 THEN 5 WHEN 1 THEN 10 WHEN 2 THEN 12 ELSE 1 END)"
    supplier = (f"CASE WHEN {sql.rnd('l.id', 53, 10)} = 0 THEN {first_supplier} + "
                f"(l.product_id - {first_product} + 1) % {suppliers} END")
    return sql.run(f"""
        INSERT INTO stock_reorder_rule (id, product_id, warehouse_id, minimum, maximum,
                                        multiple, supplier_id, active)
        SELECT {first_id} + x.id - {first_level}, x.product_id, x.warehouse_id, x.minimum,
               x.minimum * 2 + 50, x.multiple, x.supplier_id, x.active
        FROM (SELECT l.id, l.product_id, l.warehouse_id, {minimum} AS minimum,
                     {multiple} AS multiple, {supplier} AS supplier_id,
                     {sql.rnd('l.id', 54, 50)} <> 0 AS active
              FROM stock_level l
              WHERE l.id >= {first_level} AND l.id < {first_level + count}) x""").rowcount


def add_sales_orders(sql, first_id, count, first_customer, customers, today, days=30,
                     state="open", skewed=False):
    """``count`` orders over the ``days`` before today, of the customers in turn, or
    ``skewed``: customer k of n about log(n / k) times as often as the last (some buy
    often, most seldom, as in a real customer base)."""
    offsets = year_offsets(sql.connection, sql, "crm_sales.SO", today)
    customer = (sql.rnd("s.i", 65, f"(1 + {sql.rnd('s.i', 66, customers)})") if skewed
                else f"s.i % {customers}")
    with_clause, source = sql.series(count)
    return sql.run(f"""
        INSERT INTO sale_order (id, number, customer_id, order_date, state, currency,
                                subtotal, tax, total, created_at, updated_at)
        {with_clause}SELECT o.id, {number(sql, "SO", offsets, "o.order_date", "o.id")},
               o.customer_id, o.order_date, '{state}', 'CNY', 0, 0, 0,
               {sql.at("o.order_date", 36000)}, {sql.at("o.order_date", 36000)}
        FROM (SELECT {first_id} - 1 + s.i AS id,
                     {first_customer} + {customer} AS customer_id,
                     {sql.days_after(sql.today, "-" + sql.rnd("s.i", 60, days))} AS order_date
              FROM {source}) o""").rowcount


def add_sales_lines(sql, first_id, first_order, first_product, products):
    """1-5 lines an open sales order at the product's price; one in three half
    delivered."""
    with_clause, source = sql.series(SALES_LINES_AT_MOST, "k")
    line = "o.id * 8 + k.i"
    price = f"{cost_cents(sql, 'x.product_id')} * 14 / 10"
    return sql.run(f"""
        INSERT INTO sale_order_line (id, order_id, product_id, sequence, description, quantity,
                                     unit_price, discount, tax_rate, subtotal, tax, total,
                                     delivered, returned)
        {with_clause}SELECT {first_id} - 1 + ROW_NUMBER() OVER (ORDER BY y.order_id, y.k),
               y.order_id, y.product_id, y.k * 10, y.name, y.q, {cents("y.c")}, 0, y.t,
               {cents("y.q * y.c")}, {cents("(y.q * y.c * y.t + 50) / 100")},
               {cents("y.q * y.c + (y.q * y.c * y.t + 50) / 100")},
               CASE WHEN y.half = 0 THEN y.q / 2 ELSE 0 END, 0
        FROM (SELECT x.*, {price} AS c, {tax_rate(sql, "x.product_id")} AS t,
                     {product_name(sql, "x.product_id")} AS name
              FROM (SELECT o.id AS order_id, k.i AS k,
                           {first_product} + {sql.rnd(line, 62, products)} AS product_id,
                           1 + {sql.rnd(line, 63, 20)} AS q, {sql.rnd(line, 64, 3)} AS half
                    FROM sale_order o CROSS JOIN {source}
                    WHERE o.id >= {first_order}
                      AND k.i <= 1 + {sql.rnd("o.id", 61, SALES_LINES_AT_MOST)}) x) y
        """).rowcount


def raise_counters(sql, table, date_column, key, first_id, today):
    """Each year's counter moved past the numbers given (its value plus the rows)."""
    rows = sql.run(f"SELECT {sql.year(date_column)}, count(*) FROM {table} "
                   f"WHERE id >= {first_id} GROUP BY {sql.year(date_column)}").all()
    for year, rows_of_year in rows:
        name = f"{key}.{year}"
        _raise_counter(sql.connection, name, _counter(sql.connection, name) + rows_of_year)


@contextmanager
def indexes_dropped(sql, tables):
    """PostgreSQL: the tables' secondary indexes (not those of constraints) dropped while
    the block loads them, made again after it (in the same transaction)."""
    if not sql.postgresql:
        yield
        return
    found = sql.run(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
        f"AND tablename IN ({', '.join(quoted(t) for t in tables)}) AND indexname NOT IN "
        "(SELECT conname FROM pg_constraint)").all()
    for name, _definition in found:
        sql.run(f'DROP INDEX "{name}"')
    yield
    for _name, definition in found:
        sql.run(definition)


def next_id(sql, table):
    return (_scalar(sql.connection, f"SELECT max(id) FROM {table}") or 0) + 1


def generate_purchase(session_or_connection, products, moves, orders, rules, suppliers=None,
                      buyers=10, sales_orders=None, seed=17, today=None, progress=None):
    """Add the purchasing and stock data to an initialised database with crm_purchase;
    returns {table: rows added}. In the caller's transaction (the caller commits)."""
    connection = _connection(session_or_connection)
    today = today or date.today()
    suppliers = suppliers or max(10, products // 50)
    sales_orders = products // 5 if sales_orders is None else sales_orders
    if products < suppliers:
        raise ValueError("at least as many products as suppliers are needed")
    sql = Sql(connection, seed, today)
    writer = Writer(connection, WRITER_COLUMNS)
    rng = random.Random(seed)
    started = time.perf_counter()
    counts = {}

    def step(table, rows):
        counts[table] = counts.get(table, 0) + rows
        if progress:
            progress(f"  {table}: {rows:,} ({time.perf_counter() - started:.1f} s)")

    if sql.postgresql:
        sql.run("SET LOCAL maintenance_work_mem = '256MB'")
        sql.run("SET LOCAL work_mem = '64MB'")
    people = add_people_and_places(writer, rng, writer.next_ids(), buyers, suppliers,
                                   max(20, sales_orders // 50), seed)
    counts.update({table: rows for table, rows in writer.counts.items() if rows})
    first = {table: next_id(sql, table) for table in SQL_TABLES}

    step("sale_product", add_products(sql, first["sale_product"], products))
    step("pur_supplier_price", add_prices(sql, first["pur_supplier_price"],
                                          first["sale_product"], products,
                                          people["suppliers"], suppliers))
    levels = add_levels(sql, first["stock_level"], first["sale_product"], products,
                        people["warehouses"])
    step("stock_level", levels)
    with indexes_dropped(sql, BIG_TABLES):
        step("pur_order", add_orders(sql, first["pur_order"], orders, people, suppliers,
                                     today))
        step("pur_order_line", add_order_lines(sql, first["pur_order_line"],
                                               first["pur_order"], people,
                                               first["sale_product"], products, suppliers))
        add_order_totals(sql, "pur_order", "pur_order_line", first["pur_order"])
        step("pur_receipt", add_receipts(sql, first["pur_receipt"], first["pur_order"], today))
        received = _scalar(connection, "SELECT count(*) FROM pur_order_line "
                                       f"WHERE order_id >= {first['pur_order']} "
                                       "AND received > 0")
        step("stock_move", add_other_moves(sql, first["stock_move"], moves - received,
                                           first["stock_level"], levels, people["keeper"]))
        receipt_moves, receipt_lines = add_receipt_moves_and_lines(
            sql, next_id(sql, "stock_move"), first["pur_receipt_line"], first["pur_order"],
            people["keeper"])
        step("stock_move", receipt_moves)
        step("pur_receipt_line", receipt_lines)
    if progress:
        progress(f"  indexes made again ({time.perf_counter() - started:.1f} s)")
    set_levels(sql, first["stock_level"])
    step("stock_reorder_rule", add_rules(sql, first["stock_reorder_rule"],
                                         first["stock_level"], min(rules, levels),
                                         first["sale_product"], people["suppliers"],
                                         suppliers))
    if sales_orders:
        step("sale_order", add_sales_orders(sql, first["sale_order"], sales_orders,
                                            people["customers"],
                                            max(20, sales_orders // 50), today))
        step("sale_order_line", add_sales_lines(sql, first["sale_order_line"],
                                                first["sale_order"], first["sale_product"],
                                                products))
        add_order_totals(sql, "sale_order", "sale_order_line", first["sale_order"])

    raise_counters(sql, "pur_order", "order_date", "crm_purchase.PO", first["pur_order"],
                   today)
    raise_counters(sql, "pur_receipt", "receipt_date", "crm_purchase.GR",
                   first["pur_receipt"], today)
    raise_counters(sql, "sale_order", "order_date", "crm_sales.SO", first["sale_order"],
                   today)
    writer.move_sequences()
    if sql.postgresql:
        for table in SQL_TABLES:
            if counts.get(table):
                sql.run(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))")
    if progress:
        progress(f"  done ({time.perf_counter() - started:.1f} s)")
    return counts


# -- the command ------------------------------------------------------------------------------

ADDONS = ["crm_contacts", "crm_sales", "crm_purchase"]


def initialise(url):
    """A fresh database with crm_contacts, crm_sales and crm_purchase."""
    import os
    import tempfile

    from bench.startup import fresh_database, run_cli, site_environment
    with tempfile.TemporaryDirectory(prefix="crm-purchase-generate-") as folder:
        env = site_environment(folder, [ROOT / "addons"], ADDONS)
        if url.startswith(("postgresql", "postgres")):
            fresh_database(url)
        elif os.path.exists(url.split("///", 1)[1]):
            os.remove(url.split("///", 1)[1])
        env["CRM_DATABASE_URL"] = url
        run_cli(env, "init")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--moves", type=int, default=5_000_000)
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--rules", type=int, default=100_000)
    parser.add_argument("--suppliers", type=int, default=None,
                        help="default: one for 50 products")
    parser.add_argument("--buyers", type=int, default=50)
    parser.add_argument("--sales-orders", type=int, default=None,
                        help="open sales orders (default: one for 5 products)")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--today", type=date.fromisoformat, default=None)
    parser.add_argument("--init", action="store_true",
                        help="drop and create the database and run `run.py init` first")
    args = parser.parse_args()
    overall = time.perf_counter()
    if args.init:
        initialise(args.database_url)
        print(f"initialised in {time.perf_counter() - overall:.1f} s", flush=True)

    from sqlalchemy import create_engine

    from core.config import normalise_database_url
    engine = create_engine(normalise_database_url(args.database_url))
    with engine.begin() as connection:
        counts = generate_purchase(connection, args.products, args.moves, args.orders,
                                   args.rules, args.suppliers, args.buyers,
                                   args.sales_orders, args.seed, args.today,
                                   progress=lambda line: print(line, flush=True))
    print(f"generated and committed in {time.perf_counter() - overall:.1f} s")
    for table, count in counts.items():
        print(f"{table:<22} {count:>12,}")
    started = time.perf_counter()
    startup.analyse_tables(engine)
    print(f"ANALYZE in {time.perf_counter() - started:.1f} s; "
          f"total {time.perf_counter() - overall:.1f} s")
    engine.dispose()


if __name__ == "__main__":
    main()
