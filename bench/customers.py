"""Customer management at scale: the customer list (first and deep pages, sorted,
filtered, searched), the quick search and the 360° page, as a salesperson whose record
rules show only their own customers; then a CSV import with duplicate checks.

    python bench/customers.py [--customers 200000] [--database-url URL] [--import-rows 100000]

Requests go through the real WSGI application (run:app's Dispatcher) in this process,
signed in as a member of contacts_user. Each measure: warm-up requests, then --runs
timed ones; median and 95th percentile, and SQL statements per request.
"""
import argparse
import csv
import json
import os
import platform
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.startup import RESULTS, run_cli, site_environment  # noqa: E402

USERS = 50
PASSWORD = "bench password 1"
WORDS = ["明远", "华信", "西湖", "精密", "南方", "创新", "金陵", "港通", "海天", "天府", "长江", "海润",
         "鹭岛", "古城", "太湖", "湘江", "科大", "浦江", "燕山", "顺德", "Northwind", "Acme",
         "Harbor", "Maple", "Sunrise", "Redwood", "Alpine", "Coral", "Greenfield", "Atlas"]
TRADES = ["贸易", "科技", "电子", "机械", "医疗", "软件", "食品", "物流", "塑料", "教育", "Trading",
          "Software", "Logistics", "Foods", "Devices", "Machinery"]
SUFFIXES = ["有限公司", "股份有限公司", "Ltd.", "Inc.", "GmbH", ""]
CITIES = [("上海", "上海市"), ("北京", "北京市"), ("浙江", "杭州市"), ("江苏", "苏州市"),
          ("广东", "深圳市"), ("四川", "成都市"), ("湖北", "武汉市"), ("山东", "青岛市")]


def customer_rows(count, user_ids, seed=7, start=1):
    """Deterministic customers, as dicts of column values (keys computed as the app does)."""
    from addons.crm_contacts import normalise
    rng = random.Random(seed)
    stamp = datetime(2026, 1, 1)
    for number in range(start, start + count):
        name = (f"{rng.choice(WORDS)}{rng.choice(WORDS)}{rng.choice(TRADES)}"
                f"{number}{rng.choice(SUFFIXES)}")
        phone = f"1{rng.randint(3, 9)}{rng.randint(0, 999999999):09d}"
        email = f"c{number}@example.com"
        province, city = rng.choice(CITIES)
        yield {"code": f"B{number:07d}", "kind": "company", "name": name,
               "name_key": normalise.name(name), "grade": rng.choice("ABCD"), "is_key": False,
               "stage": rng.choice(["prospect", "active", "dormant", "lost"]),
               "phone": phone, "phone_key": normalise.phone(phone), "email": email,
               "email_key": email, "province": province, "city": city, "is_supplier": False,
               "owner_id": user_ids[number % len(user_ids)], "created_at": stamp,
               "updated_at": stamp}


def load_customers(db, Customer, count, user_ids):
    """Bulk insert: COPY on PostgreSQL, executemany on SQLite."""
    rows = customer_rows(count, user_ids)
    columns = list(next(customer_rows(1, user_ids)).keys())
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        raw = connection.connection.driver_connection
        with raw.cursor() as cursor:
            with cursor.copy(f"COPY crm_customer ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([row[c] for c in columns])
    else:
        batch = []
        for row in rows:
            batch.append(row)
            if len(batch) == 20000:
                db.session.execute(Customer.__table__.insert(), batch)
                batch = []
        if batch:
            db.session.execute(Customer.__table__.insert(), batch)


def add_related(db, Activity, Contact, customer_id, owner_id):
    """One busy customer for the 360° page: 10 contacts and 200 activities."""
    stamp = datetime(2026, 1, 1)
    db.session.execute(Contact.__table__.insert(), [
        {"customer_id": customer_id, "name": f"联系人 {n}", "is_primary": n == 0,
         "owner_id": owner_id, "created_at": stamp, "updated_at": stamp} for n in range(10)])
    db.session.execute(Activity.__table__.insert(), [
        {"customer_id": customer_id, "kind": "call", "subject": f"回访 {n}", "status": "done",
         "start_at": stamp + timedelta(days=n), "owner_id": owner_id, "created_at": stamp,
         "updated_at": stamp} for n in range(200)])


def signed_in_client(dispatcher, username, password):
    """A test client of the WSGI application, signed in through the login form."""
    from werkzeug.test import Client
    client = Client(dispatcher)
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    assert client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token}).status_code == 302
    return client


def measure(client, engine, path, runs):
    from sqlalchemy import event
    for _warm in range(3):
        assert client.get(path).status_code == 200, path
    times, statements = [], []
    listener = lambda *args: statements.append(1)  # noqa: E731
    for index in range(runs):
        if index == 0:
            event.listen(engine, "before_cursor_execute", listener)
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        if index == 0:
            event.remove(engine, "before_cursor_execute", listener)
        assert response.status_code == 200, path
    times.sort()
    return {"median_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)], 1),
            "queries": len(statements)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--import-rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    db_name = "postgresql" if args.database_url else "sqlite"
    results = []
    with tempfile.TemporaryDirectory() as folder:
        env = site_environment(folder, [ROOT / "addons"], ["crm_contacts"], args.database_url)
        os.environ.update(env)
        run_cli(env, "init")
        from core.app import Dispatcher
        from core.db import db
        dispatcher = Dispatcher()
        app = dispatcher.app
        from addons.crm_contacts.models import Activity, Contact, Customer
        from core.models import Group, User
        started = time.perf_counter()
        with app.app_context():
            group = db.session.scalar(db.select(Group).where(Group.code == "contacts_user"))
            users = [User(username=f"sales{n}", full_name=f"Sales {n}", groups=[group])
                     for n in range(USERS)]
            for user in users:
                user.set_password(PASSWORD)
            db.session.add_all(users)
            db.session.flush()
            user_ids = [user.id for user in users]
            load_customers(db, Customer, args.customers, user_ids)
            busy = db.session.scalar(db.select(Customer.id).where(Customer.owner_id == user_ids[0])
                                     .order_by(Customer.id).limit(1))
            add_related(db, Activity, Contact, busy, user_ids[0])
            db.session.commit()
            # What autovacuum does soon after a bulk load on PostgreSQL (statistics and
            # the visibility map, which index-only scans need); statistics on SQLite.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(db.text("VACUUM ANALYZE" if args.database_url else "ANALYZE"))
            sample = db.session.scalar(db.select(Customer.name).where(Customer.id == busy))
        print(f"loaded {args.customers} customers in {time.perf_counter() - started:.0f} s")

        client = signed_in_client(dispatcher, "sales0", PASSWORD)
        own = args.customers // USERS
        word = re.match(r"\D+?(?=\d)", sample).group(0)[:2]
        checks = [
            ("customer list, first page", "/admin/customer/"),
            ("customer list, page size 100", "/admin/customer/?page_size=100"),
            ("customer list, deep page", f"/admin/customer/?page={own // 20 - 2}"),
            ("customer list, sorted by name", "/admin/customer/?sort=1"),
            ("customer list, sorted by name, deep", f"/admin/customer/?sort=1&page={own // 40}"),
            ("customer list, filtered (grade A, Shanghai)",
             "/admin/customer/?flt0_grade_equals=A&flt1_city_equals=上海市"),
            ("customer list, searched", f"/admin/customer/?search={word}"),
            ("quick search, a name", f"/admin/search/?q={word}"),
            ("quick search, a code", "/admin/search/?q=B0000051"),
            ("quick search, a phone number", "/admin/search/?q=13912345678"),
            ("360° customer page (10 contacts, 200 activities)",
             f"/admin/customer/details/?id={busy}"),
        ]
        for name, path in checks:
            engine = dispatcher._engine
            figures = measure(client, engine, path, args.runs)
            results.append({"name": name, "db": db_name, "rows": args.customers, **figures})
            print(f"| {name} | {db_name} | {args.customers:,} | {figures['median_ms']} ms | "
                  f"{figures['p95_ms']} ms | {figures['queries']} |", flush=True)
        engine = dispatcher._engine
        engine.dispose()

        # An import of new customers, checked for duplicates against all the others.
        path = Path(folder) / "import.csv"
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            columns = ["name", "phone", "email", "grade", "province", "city"]
            writer.writerow(columns)
            for row in customer_rows(args.import_rows, [0], seed=11, start=10_000_000):
                writer.writerow([row[c] for c in columns])
        started = time.perf_counter()
        run_cli(env, "import", "customer", str(path))
        elapsed = (time.perf_counter() - started) * 1000
        results.append({"name": f"CSV import of {args.import_rows:,} customers (whole command)",
                        "db": db_name, "rows": args.customers, "median_ms": round(elapsed),
                        "p95_ms": round(elapsed), "queries": None})
        print(f"| CSV import of {args.import_rows:,} customers, duplicate checks | {db_name} | "
              f"{args.customers:,} | {elapsed / 1000:.1f} s | | |")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"customers-{db_name}.json").write_text(json.dumps(results, indent=1))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
