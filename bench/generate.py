"""A seeded, deterministic data generator for benchmarks: users and teams, customers
with their contacts and activities, leads, opportunities, and quotes with lines.

    python bench/generate.py --database-url URL --customers 1000000 [--seed 7] [--users 50]
                             [--init]

The database must be initialised (``python run.py init`` with crm_contacts and
crm_sales enabled); ``--init`` does that first: it drops and creates the PostgreSQL
database named in URL (or removes the SQLite file) and runs ``run.py init`` on a
temporary site with both addons enabled. After loading, PostgreSQL tables are ANALYZEd.

As a library, for bench scripts::

    from bench.generate import generate
    counts = generate(db.session, customers=100_000, seed=7, users=50)   # or a Connection

``generate`` adds to what the database holds, inside the caller's transaction (the
caller commits), and returns ``{table: rows added}``.

What is made, per customer: a name (Chinese or English words, a number, a company
suffix), code B<id, 7 digits>, grade, lifecycle stage, phone, email, city and province,
an owner (the users in turn), the *_key columns exactly as the app computes them
(addons.crm_contacts.normalise); 1-3 contacts (2 on average) and 1-5 activities (3);
a lead for 1 customer in 5; an opportunity for 1 in 2, in the stages of sale_stage with
their probability; for 1 opportunity in 5 (0.1 per customer) a quote of 3-8 lines,
numbered Q<year>-<nnnnn> version 1, amounts from addons/crm_sales/money.py. Users
``bench_<id>`` (password "bench password 1", groups sales_user and contacts_user) in
teams of 10, the first member leading; 50 products for the quote lines.

The core's counters crm_sales.Q.<year> are moved past the quote numbers generated, so
numbers the app gives later do not collide; crm_contacts.customer_code is moved up by
the number of customers too (the app's codes, C<6 digits>, cannot meet the B codes).

Deterministic: one random.Random(seed), dates fixed relative to 2026-01-01; on an
empty installation, the same seed and scale give the same rows (ids included).
Rows go in by chunks of customers: COPY (psycopg 3) on PostgreSQL with explicit ids,
then each table's id sequence is set past them; executemany on SQLite.
"""
import argparse
import os
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BASE = datetime(2026, 1, 1)
BASE_DAY = BASE.date()
PASSWORD = "bench password 1"
CHUNK = 20_000          # customers per chunk: rows are made then written chunk by chunk
TEAM_SIZE = 10
PRODUCTS = 50

CN_WORDS = ["明远", "华信", "西湖", "精密", "南方", "创新", "金陵", "港通", "海天", "天府",
            "长江", "海润", "鹭岛", "古城", "太湖", "湘江", "科大", "浦江", "燕山", "顺德"]
CN_TRADES = ["贸易", "科技", "电子", "机械", "医疗", "软件", "食品", "物流", "塑料", "教育"]
CN_SUFFIXES = ["有限公司", "股份有限公司", "有限责任公司", "集团公司", ""]
EN_WORDS = ["Northwind", "Acme", "Harbor", "Maple", "Sunrise", "Redwood", "Alpine", "Coral",
            "Greenfield", "Atlas", "Summit", "Blue River", "Pioneer", "Silverline", "Orchid"]
EN_TRADES = ["Trading", "Software", "Logistics", "Foods", "Devices", "Machinery", "Medical",
             "Plastics"]
EN_SUFFIXES = ["Co., Ltd.", "Ltd.", "Inc.", "GmbH", "Corp.", ""]
CITIES = [("上海", "上海市"), ("北京", "北京市"), ("浙江", "杭州市"), ("江苏", "苏州市"),
          ("广东", "深圳市"), ("广东", "广州市"), ("四川", "成都市"), ("湖北", "武汉市"),
          ("山东", "青岛市"), ("福建", "厦门市")]
AREA_CODES = ["021", "010", "0571", "0512", "0755", "020", "028", "027", "0532", "0592"]
SURNAMES = "王李张刘陈杨黄赵周吴徐孙马朱胡郭何林罗高"
GIVEN = ["伟", "芳", "娜", "敏", "静", "强", "磊", "洋", "艳", "军", "杰", "涛", "明", "超", "霞"]
EN_FIRST = ["Anna", "Ben", "Chloe", "David", "Emma", "Frank", "Grace", "Henry", "Iris", "Jack"]
EN_LAST = ["Smith", "Brown", "Miller", "Wilson", "Taylor", "Clark", "Lewis", "Walker"]
TITLES = ["总经理", "采购经理", "技术总监", "财务", "Purchasing Manager", "CTO", "Engineer"]
GRADES = "AABBBCCCDD"
STAGES = ["prospect", "active", "active", "active", "dormant", "lost"]
ACTIVITY_KINDS = ["call", "call", "visit", "meeting", "email", "task", "plan"]
SUBJECTS = ["回访", "产品演示", "报价跟进", "拜访客户", "Follow-up call", "Demo", "Send brochure"]
LEAD_STATES = ["new", "new", "qualified", "disqualified", "converted"]
QUOTE_STATES = ["draft", "sent", "sent", "accepted", "rejected", "expired"]
PRODUCT_WORDS = ["服务器", "交换机", "传感器", "控制器", "Pump", "Valve", "Motor", "License"]
UNITS = ["台", "个", "套", "pcs", "set"]

# Columns of each table filled (every NOT NULL one is given; nullable ones left out are NULL).
OWNED = ("owner_id", "created_by_id", "updated_by_id", "created_at", "updated_at")
COLUMNS = {
    "core_user": ("id", "username", "full_name", "email", "password_hash", "language",
                  "active", "must_change_password", "notify_by_email", "session_token",
                  "created_at"),
    "core_user_group": ("user_id", "group_id"),
    "core_team": ("id", "name", "leader_id"),
    "core_team_member": ("team_id", "user_id"),
    "sale_product": ("id", "code", "name", "unit", "price", "cost", "tax_rate", "active"),
    "crm_customer": ("id", "code", "kind", "name", "name_key", "grade", "is_key", "stage",
                     "phone", "phone_key", "email", "email_key", "province", "city",
                     "country", "is_supplier") + OWNED,
    "crm_contact": ("id", "customer_id", "name", "title", "mobile", "email",
                    "is_primary") + OWNED,
    "crm_activity": ("id", "kind", "subject", "customer_id", "contact_id", "start_at",
                     "end_at", "status", "next_follow_up") + OWNED,
    "sale_lead": ("id", "name", "company", "title", "phone", "email", "province", "city",
                  "status", "estimated_amount", "customer_id", "converted_at") + OWNED,
    "sale_opportunity": ("id", "name", "customer_id", "contact_id", "amount", "currency",
                         "stage_id", "probability", "expected_close", "closed_on",
                         "lost_reason_id") + OWNED,
    "sale_quote": ("id", "number", "version", "customer_id", "contact_id", "opportunity_id",
                   "state", "quote_date", "valid_until", "currency", "subtotal", "tax",
                   "total", "approval", "sent_at") + OWNED,
    "sale_quote_line": ("id", "quote_id", "product_id", "sequence", "description",
                        "quantity", "unit_price", "discount", "tax_rate", "subtotal", "tax",
                        "total"),
}
# The order rows are written in (parents first).
TABLES = list(COLUMNS)
LINK_TABLES = {"core_user_group", "core_team_member"}


def _connection(session_or_connection):
    """The SQLAlchemy Connection of a Session (its current transaction), or itself."""
    if hasattr(session_or_connection, "exec_driver_sql"):
        return session_or_connection
    return session_or_connection.connection()


class Writer:
    """Rows into the tables of ``columns`` ({table: column names}): COPY on PostgreSQL,
    executemany on SQLite; counts the rows and times each table."""

    def __init__(self, connection, columns=COLUMNS):
        from sqlalchemy import MetaData, Table
        self.connection = connection
        self.columns = columns
        self.postgresql = connection.dialect.name == "postgresql"
        self.counts = dict.fromkeys(columns, 0)
        self.seconds = dict.fromkeys(columns, 0.0)
        if not self.postgresql:
            metadata = MetaData()
            self.tables = {name: Table(name, metadata, autoload_with=connection)
                           for name in columns}

    def write(self, table, rows):
        if not rows:
            return
        started = time.perf_counter()
        columns = self.columns[table]
        if self.postgresql:
            raw = self.connection.connection.driver_connection
            names = ", ".join(f'"{column}"' for column in columns)    # "end" is a keyword
            with raw.cursor() as cursor:
                with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        else:
            statement = self.tables[table].insert()
            for start in range(0, len(rows), CHUNK):
                self.connection.execute(statement, [dict(zip(columns, row))
                                                    for row in rows[start:start + CHUNK]])
        self.counts[table] += len(rows)
        self.seconds[table] += time.perf_counter() - started

    def next_ids(self):
        """{table: the first id free} of the tables with an id (link tables have none)."""
        return {table: (_scalar(self.connection, f"SELECT max(id) FROM {table}") or 0) + 1
                for table in self.columns if table not in LINK_TABLES}

    def move_sequences(self):
        """PostgreSQL: each id sequence past the ids written explicitly."""
        if not self.postgresql:
            return
        for table, count in self.counts.items():
            if table not in LINK_TABLES and count:
                self.connection.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))")


def _scalar(connection, sql, **params):
    from sqlalchemy import text
    return connection.execute(text(sql), params).scalar()


def _raise_counter(connection, name, value):
    """Move a core_sequence counter up to ``value`` (never down)."""
    from sqlalchemy import text
    bigger = "GREATEST" if connection.dialect.name == "postgresql" else "MAX"
    connection.execute(text(
        "INSERT INTO core_sequence (name, value) VALUES (:name, :value) "
        f"ON CONFLICT (name) DO UPDATE SET value = {bigger}(core_sequence.value, excluded.value)"),
        {"name": name, "value": value})


def _counter(connection, name):
    return _scalar(connection, "SELECT value FROM core_sequence WHERE name = :name",
                   name=name) or 0


def company_name(rng, number):
    if rng.random() < 0.6:
        return (f"{rng.choice(CN_WORDS)}{rng.choice(CN_WORDS)}{rng.choice(CN_TRADES)}"
                f"{number}{rng.choice(CN_SUFFIXES)}")
    suffix = rng.choice(EN_SUFFIXES)
    return (f"{rng.choice(EN_WORDS)} {rng.choice(EN_TRADES)} {number}"
            + (f" {suffix}" if suffix else ""))


def person_name(rng):
    if rng.random() < 0.75:
        return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))
    return f"{rng.choice(EN_FIRST)} {rng.choice(EN_LAST)}"


def mobile(rng):
    return f"1{rng.randint(3, 9)}{rng.randint(0, 999_999_999):09d}"


def stamp(rng, days_back=730):
    """A moment within ``days_back`` days before 2026-01-01, whole seconds."""
    return BASE - timedelta(seconds=rng.randrange(days_back * 86400))


def generate(session_or_connection, customers, seed=7, users=50, progress=None,
             timings=None):
    """Add the benchmark data to an initialised database; returns {table: rows added}.

    Runs in the caller's transaction; the caller commits. ``progress``: a callable
    given a line of text after each chunk (None: silent). ``timings``: a dict that
    receives the seconds spent writing each table, and "total"."""
    from addons.crm_contacts import normalise
    from addons.crm_sales.money import line_amounts
    from werkzeug.security import generate_password_hash

    connection = _connection(session_or_connection)
    writer = Writer(connection)
    rng = random.Random(seed)
    ids = writer.next_ids()
    started = time.perf_counter()

    groups = [_scalar(connection, "SELECT id FROM core_group WHERE code = :code", code=code)
              for code in ("sales_user", "contacts_user")]
    if None in groups:
        raise SystemExit("the database has no sales_user / contacts_user group: "
                         "run `python run.py init` with crm_contacts and crm_sales enabled")
    from sqlalchemy import text
    stages = connection.execute(text(
        "SELECT id, probability, kind FROM sale_stage ORDER BY sequence, id")).all()
    lost_reasons = list(connection.scalars(text("SELECT id FROM sale_lost_reason ORDER BY id")))
    # Open deals more often than closed ones.
    stage_choices = [s for s in stages for _ in range(3 if s.kind == "open" else 2)]

    # -- users, teams, products ------------------------------------------------------
    # One hash for every bench user: hashing is slow on purpose and salted (not
    # deterministic), so it is computed once and not part of the compared data.
    password_hash = generate_password_hash(PASSWORD)
    user_ids = list(range(ids["core_user"], ids["core_user"] + users))
    writer.write("core_user", [
        (uid, f"bench_{uid}", f"{person_name(rng)} {uid}", f"bench_{uid}@example.com",
         password_hash, "", True, False, False, f"bench-{seed}-{uid}-{rng.getrandbits(64):x}",
         BASE - timedelta(days=800)) for uid in user_ids])
    writer.write("core_user_group", [(uid, gid) for uid in user_ids for gid in groups])
    teams, members = [], []
    for index in range(0, users, TEAM_SIZE):
        tid = ids["core_team"] + len(teams)
        team_users = user_ids[index:index + TEAM_SIZE]
        teams.append((tid, f"Bench team {tid}", team_users[0]))
        members += [(tid, uid) for uid in team_users]
    writer.write("core_team", teams)
    writer.write("core_team_member", members)
    products = []
    for n in range(PRODUCTS):
        pid = ids["sale_product"] + n
        price = Decimal(rng.randint(5, 2000) * 10)
        label = f"{rng.choice(PRODUCT_WORDS)} {rng.choice('ABCDEFX')}{rng.randint(100, 999)}"
        products.append((pid, f"BENCH-{pid:05d}", label, rng.choice(UNITS), price,
                         price * Decimal("0.6"), Decimal(rng.choice([13, 13, 9, 6])), True))
    writer.write("sale_product", products)

    # -- customers and what hangs off them, by chunks ----------------------------------
    next_id = {t: ids[t] for t in ("crm_contact", "crm_activity", "sale_lead",
                                   "sale_opportunity", "sale_quote", "sale_quote_line")}
    quote_numbers = {}            # year -> last number given
    for year in (2025, 2026):
        quote_numbers[year] = _counter(connection, f"crm_sales.Q.{year}")
    first_customer = ids["crm_customer"]
    for chunk_start in range(0, customers, CHUNK):
        rows = {t: [] for t in TABLES}
        for index in range(chunk_start, min(customers, chunk_start + CHUNK)):
            cid = first_customer + index
            owner = user_ids[index % users]
            created = stamp(rng)
            updated = created + timedelta(seconds=rng.randrange(86400 * 30))
            owned = (owner, owner, owner, created, updated)
            name = company_name(rng, cid)
            province, city = rng.choice(CITIES)
            if rng.random() < 0.8:
                phone = mobile(rng)
            else:
                phone = f"{rng.choice(AREA_CODES)}-{rng.randint(1000_0000, 9999_9999)}"
            email = f"{rng.choice(['info', 'Sales', 'contact'])}{cid}@Example.com"
            rows["crm_customer"].append((
                cid, f"B{cid:07d}", "company" if rng.random() < 0.9 else "individual", name,
                normalise.name(name), rng.choice(GRADES), rng.random() < 0.05,
                rng.choice(STAGES), phone, normalise.phone(phone), email,
                normalise.email(email), province, city, "中国", rng.random() < 0.03) + owned)

            contacts = []
            for n in range(rng.randint(1, 3)):
                contact_id = next_id["crm_contact"]
                next_id["crm_contact"] += 1
                contacts.append(contact_id)
                rows["crm_contact"].append((
                    contact_id, cid, person_name(rng), rng.choice(TITLES), mobile(rng),
                    f"p{contact_id}@example.com", n == 0) + owned)

            for _ in range(rng.randint(1, 5)):
                start = BASE + timedelta(minutes=rng.randrange(-365 * 1440, 90 * 1440))
                past = start < BASE
                rows["crm_activity"].append((
                    next_id["crm_activity"], rng.choice(ACTIVITY_KINDS),
                    f"{rng.choice(SUBJECTS)} {name[:20]}", cid, rng.choice(contacts), start,
                    start + timedelta(minutes=rng.choice([15, 30, 60, 120])),
                    ("done" if rng.random() < 0.9 else "cancelled") if past else "planned",
                    (start + timedelta(days=rng.randint(7, 30))).date() if rng.random() < 0.3
                    else None) + owned)
                next_id["crm_activity"] += 1

            if rng.random() < 0.2:
                status = rng.choice(LEAD_STATES)
                converted = status == "converted"
                rows["sale_lead"].append((
                    next_id["sale_lead"], person_name(rng), name, rng.choice(TITLES),
                    mobile(rng), f"lead{next_id['sale_lead']}@example.com", province, city,
                    status, Decimal(rng.randint(1, 500) * 1000), cid if converted else None,
                    updated if converted else None) + owned)
                next_id["sale_lead"] += 1

            if rng.random() < 0.5:
                opportunity_id = next_id["sale_opportunity"]
                next_id["sale_opportunity"] += 1
                stage = rng.choice(stage_choices)
                close = BASE_DAY + timedelta(days=rng.randint(-180, 365))
                closed = stage.kind != "open"
                rows["sale_opportunity"].append((
                    opportunity_id, f"{name[:60]} - {rng.choice(PRODUCT_WORDS)}", cid,
                    contacts[0], Decimal(rng.randint(10, 5000) * 100), "CNY", stage.id,
                    stage.probability, close, min(close, BASE_DAY) if closed else None,
                    rng.choice(lost_reasons) if stage.kind == "lost" and lost_reasons
                    else None) + owned)

                if rng.random() < 0.2:
                    quote_id = next_id["sale_quote"]
                    next_id["sale_quote"] += 1
                    quote_day = BASE_DAY - timedelta(days=rng.randint(-180, 364))
                    quote_numbers[quote_day.year] = quote_numbers.get(quote_day.year, 0) + 1
                    number = f"Q{quote_day.year}-{quote_numbers[quote_day.year]:05d}"
                    subtotal = tax = Decimal(0)
                    for n in range(rng.randint(3, 8)):
                        product = rng.choice(products)
                        quantity = Decimal(rng.randint(1, 20))
                        discount = Decimal(rng.choice([0, 0, 0, 5, 10]))
                        amounts = line_amounts(quantity, product[4], discount, product[6])
                        subtotal += amounts[0]
                        tax += amounts[1]
                        rows["sale_quote_line"].append((
                            next_id["sale_quote_line"], quote_id, product[0], (n + 1) * 10,
                            product[2], quantity, product[4], discount, product[6]) + amounts)
                        next_id["sale_quote_line"] += 1
                    state = rng.choice(QUOTE_STATES)
                    sent = None if state == "draft" else datetime.combine(
                        quote_day, datetime.min.time()) + timedelta(hours=10)
                    rows["sale_quote"].append((
                        quote_id, number, 1, cid, contacts[0], opportunity_id, state,
                        quote_day, quote_day + timedelta(days=30), "CNY", subtotal, tax,
                        subtotal + tax, "not needed", sent) + owned)
        for table in TABLES:
            writer.write(table, rows[table])
        if progress:
            progress(f"  {min(customers, chunk_start + CHUNK):,} customers "
                     f"({time.perf_counter() - started:.1f} s)")

    # -- counters and id sequences -------------------------------------------------------
    for year, value in quote_numbers.items():
        if value:
            _raise_counter(connection, f"crm_sales.Q.{year}", value)
    _raise_counter(connection, "crm_contacts.customer_code",
                   _counter(connection, "crm_contacts.customer_code") + customers)
    writer.move_sequences()
    if timings is not None:
        timings.update(writer.seconds, total=time.perf_counter() - started)
    return dict(writer.counts)


def initialise(url):
    """Drop and create the database (PostgreSQL) or remove the file (SQLite), then run
    ``run.py init`` with crm_contacts and crm_sales enabled on a temporary site."""
    from bench.startup import run_cli, site_environment
    postgresql = url.startswith(("postgresql", "postgres"))
    with tempfile.TemporaryDirectory(prefix="crm-generate-") as folder:
        env = site_environment(folder, [ROOT / "addons"], ["crm_contacts", "crm_sales"],
                               url if postgresql else None)
        if not postgresql:
            path = url.split("///", 1)[1]
            if os.path.exists(path):
                os.remove(path)
            env["CRM_DATABASE_URL"] = url
        run_cli(env, "init")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--init", action="store_true",
                        help="drop and create the database and run `run.py init` first")
    args = parser.parse_args()
    if args.init:
        started = time.perf_counter()
        initialise(args.database_url)
        print(f"initialised in {time.perf_counter() - started:.1f} s", flush=True)

    from sqlalchemy import create_engine
    from core.config import normalise_database_url

    engine = create_engine(normalise_database_url(args.database_url))
    overall = time.perf_counter()
    seconds = {}
    with engine.begin() as connection:
        counts = generate(connection, args.customers, args.seed, args.users,
                          progress=lambda line: print(line, flush=True), timings=seconds)
    committed = time.perf_counter() - overall
    print(f"{'table':<20} {'rows':>12} {'write s':>9}")
    for table, count in counts.items():
        print(f"{table:<20} {count:>12,} {seconds[table]:>9.1f}")
    written = sum(seconds[table] for table in counts)
    print(f"{'all tables':<20} {sum(counts.values()):>12,} {written:>9.1f}")
    print(f"generated and written in {seconds['total']:.1f} s, committed at {committed:.1f} s")
    if engine.dialect.name == "postgresql":
        started = time.perf_counter()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("ANALYZE")
        print(f"ANALYZE in {time.perf_counter() - started:.1f} s")
    print(f"total {time.perf_counter() - overall:.1f} s")
    engine.dispose()


if __name__ == "__main__":
    main()
