"""Sales at scale: the kanban board with 10,000 open opportunities, and quote PDFs of
one page and of ten pages of lines.

    python bench/sales.py [--opportunities 10000] [--database-url URL] [--runs 30]

Requests go through the real WSGI application (run:app's Dispatcher) in this process,
signed in as a salesperson (sales_user, record rule "own") who owns every opportunity.
Each measure: warm-up requests, then --runs timed ones; median and 95th percentile,
and SQL statements per request. The page count of each PDF is checked, not assumed.
"""
import argparse
import io
import json
import os
import platform
import sys
import tempfile
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.customers import measure, signed_in_client  # noqa: E402
from bench.startup import RESULTS, run_cli, site_environment  # noqa: E402

PASSWORD = "bench password 1"
CUSTOMERS = 1000


def load(db, opportunities):
    """A salesperson, 1,000 customers, ``opportunities`` open deals across the open
    stages, and two quotes: 8 lines and 250 lines."""
    from addons.crm_contacts.models import Customer
    from addons.crm_sales.models import Opportunity, Product, Quote, QuoteLine, Stage
    from core.models import Group, User

    groups = db.session.scalars(db.select(Group).where(
        Group.code.in_(["sales_user", "contacts_user"]))).all()
    user = User(username="seller", full_name="销售 Seller", groups=list(groups))
    user.set_password(PASSWORD)
    db.session.add(user)
    db.session.flush()
    stamp = datetime(2026, 1, 1)
    db.session.execute(Customer.__table__.insert(), [
        {"code": f"B{n:07d}", "kind": "company", "name": f"客户 {n} 有限公司",
         "name_key": f"客户{n}", "stage": "active", "is_key": False, "is_supplier": False,
         "phone_key": "", "email_key": "", "owner_id": user.id, "created_at": stamp,
         "updated_at": stamp} for n in range(1, CUSTOMERS + 1)])
    customer_ids = db.session.scalars(db.select(Customer.id).order_by(Customer.id)).all()
    stages = db.session.scalars(db.select(Stage).where(Stage.kind == "open")
                                .order_by(Stage.sequence)).all()
    today = date.today()
    rows = [{"name": f"商机 Deal {n}", "customer_id": customer_ids[n % len(customer_ids)],
             "amount": Decimal(1000 + n % 97 * 250), "currency": "CNY",
             "stage_id": stages[n % len(stages)].id, "probability": stages[n % len(stages)].probability,
             "expected_close": today + timedelta(days=n % 365), "owner_id": user.id,
             "created_at": stamp, "updated_at": stamp} for n in range(opportunities)]
    for start in range(0, len(rows), 5000):
        db.session.execute(Opportunity.__table__.insert(), rows[start:start + 5000])
    products = [Product(code=f"P{n:04d}", name=f"产品 Product {n} 规格 {n % 7 + 1}",
                        unit="台", price=Decimal(100 + n), cost=Decimal(50), tax_rate=13)
                for n in range(50)]
    db.session.add_all(products)
    quotes = {}
    for lines in (8, 250):
        quote = Quote(customer_id=customer_ids[0], owner_id=user.id,
                      valid_until=today + timedelta(days=30),
                      terms="报价有效期 30 天。价格含 13% 增值税。\nPrices include 13 % VAT.")
        quote.lines = [QuoteLine(sequence=n, product=products[n % 50],
                                 description=products[n % 50].name, quantity=Decimal(n % 9 + 1),
                                 unit_price=products[n % 50].price, discount=Decimal(n % 3 * 5),
                                 tax_rate=Decimal(13)) for n in range(lines)]
        db.session.add(quote)
        quotes[lines] = quote
    db.session.commit()
    return {lines: quote.id for lines, quote in quotes.items()}


def pdf_pages(data):
    from pypdf import PdfReader
    return len(PdfReader(io.BytesIO(data)).pages)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opportunities", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    db_name = "postgresql" if args.database_url else "sqlite"
    results = []
    with tempfile.TemporaryDirectory() as folder:
        env = site_environment(folder, [ROOT / "addons"], ["crm_sales"], args.database_url)
        os.environ.update(env)
        run_cli(env, "init")
        from core.app import Dispatcher
        from core.db import db
        dispatcher = Dispatcher()
        with dispatcher.app.app_context():
            quote_ids = load(db, args.opportunities)
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(db.text("VACUUM ANALYZE" if args.database_url else "ANALYZE"))

        client = signed_in_client(dispatcher, "seller", PASSWORD)
        checks = [
            (f"kanban board, {args.opportunities:,} open opportunities", "/admin/pipeline/",
             args.opportunities),
            ("quote PDF, 8 lines", f"/admin/quote/pdf/?id={quote_ids[8]}", 8),
            ("quote PDF, 250 lines", f"/admin/quote/pdf/?id={quote_ids[250]}", 250),
        ]
        for name, path, rows in checks:
            figures = measure(client, dispatcher._engine, path, args.runs)
            if "PDF" in name:
                pages = pdf_pages(client.get(path).get_data())
                name = f"{name} ({pages} page{'s' if pages > 1 else ''})"
            results.append({"name": name, "db": db_name, "rows": rows, **figures})
            print(f"| {name} | {db_name} | {figures['median_ms']} ms | {figures['p95_ms']} ms | "
                  f"{figures['queries']} |", flush=True)
        dispatcher._engine.dispose()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"sales-{db_name}.json").write_text(json.dumps(results, indent=1))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
